// kernels/qgemm/qgemm.cc: the best-first list of int8 GEMM kernels and the driver.
#include "kernels/qgemm/qgemm.h"

#include "kernels/parallel.h"
#include "kernels/qgemm/qgemm_variants.h"
#include "kernels/quantize/quantize.h"

namespace lowp {
namespace {

constexpr KernelEntry<QGemmFn> kQGemm[] = {
    {"qu8_qs8_gemm_requant_4x64__avx512vnni", IsaLevel::avx512vnni, qgemm_avx512vnni},
    {"qu8_qs8_gemm_requant_4x32__avx512", IsaLevel::avx512, qgemm_avx512},
    {"qu8_qs8_gemm_requant_2x16__avx2", IsaLevel::avx2, qgemm_avx2},
    {"qu8_qs8_gemm_requant_1x16__scalar", IsaLevel::scalar, qgemm_scalar},
};

const KernelEntry<QGemmFn>& chosen() {
  static const KernelEntry<QGemmFn>& pick = pick_kernel(qgemm_kernels(), active_isa());
  return pick;
}

}  // namespace

std::span<const KernelEntry<QGemmFn>> qgemm_kernels() {
  return kQGemm;
}
const char* qgemm_kernel_name() {
  return chosen().name;
}

void qgemm_with(QGemmFn fn, const QGemmArgs& args, ThreadPool* pool) {
  LOWP_CHECK(args.w != nullptr && (args.a != nullptr || args.rows != nullptr) &&
                 args.offset != nullptr && args.scale != nullptr,
             "int8 gemm: null operand");
  LOWP_CHECK(args.output == QGemmOutput::f32 ? args.c_f32 != nullptr : args.c_u8 != nullptr,
             "int8 gemm: null output");
  if (args.rows != nullptr) {
    bool reads_rows = false;
    for (const KernelEntry<QGemmFn>& e : qgemm_kernels()) {
      if (e.fn == fn) reads_rows = e.isa >= IsaLevel::avx512;
    }
    LOWP_CHECK(reads_rows, "int8 gemm: implicit rows given to a kernel that reads only dense rows");
    LOWP_CHECK(args.run_length > 0 && args.run_length % kQGemmDepth == 0 && args.runs >= 1 &&
                   args.runs * args.run_length == args.w->k,
               "int8 gemm: implicit rows of {} runs of {} do not make k = {} in quads", args.runs,
               args.run_length, args.w->k);
  } else {
    LOWP_CHECK(args.lda >= static_cast<std::size_t>(args.w->padded_k()),
               "int8 gemm: lda {} is smaller than the padded k {}", args.lda, args.w->padded_k());
  }
  LOWP_CHECK(args.ldc >= static_cast<std::size_t>(args.w->n), "int8 gemm: ldc {} < n {}", args.ldc,
             args.w->n);
  LOWP_CHECK(activation_is_exact(args.act.kind),
             "int8 gemm: activation {} is not exact; int8 results are bit-exact, so only relu and "
             "clamp fuse into its epilogue",
             activation_name(args.act.kind));
  LOWP_CHECK(args.out_zero_point >= 0 && args.out_zero_point <= 255,
             "int8 gemm: output zero point {} outside [0, 255]", args.out_zero_point);
  split_rows_or_panels(pool, args.m, args.w->panels(), args.w->k,
                       [&](std::size_t begin, std::size_t end, PanelRange panels) {
                         QGemmArgs part = args;
                         part.panels = panels;
                         part.m = static_cast<int>(end - begin);
                         if (args.rows != nullptr) {
                           part.rows = args.rows + begin;
                         } else {
                           part.a = args.a + begin * args.lda;
                         }
                         if (args.row_scales != nullptr) part.row_scales = args.row_scales + begin;
                         if (args.c_f32 != nullptr) part.c_f32 = args.c_f32 + begin * args.ldc;
                         if (args.c_u8 != nullptr) part.c_u8 = args.c_u8 + begin * args.ldc;
                         fn(part);
                       });
}

bool qgemm_reads_implicit_rows() {
  return chosen().isa >= IsaLevel::avx512;
}

void qgemm(const QGemmArgs& args, ThreadPool* pool) {
  qgemm_with(chosen().fn, args, pool);
}

void qgemm_dynamic(const float* a, int m, std::size_t lda, const PackedQGemmWeights& w,
                   const std::int32_t* offsets, const float* weight_scales, const float* bias,
                   ActivationParams act, float* c, std::size_t ldc, QGemmDynamicScratch& scratch,
                   ThreadPool* pool) {
  LOWP_CHECK(m >= 0 && lda >= static_cast<std::size_t>(w.k), "int8 dynamic gemm: lda {} < k {}",
             lda, w.k);
  const std::size_t stride = static_cast<std::size_t>(w.padded_k());
  const std::size_t rows = static_cast<std::size_t>(m);
  if (scratch.rows.size() < rows * stride)
    scratch.rows = AlignedBuffer<std::uint8_t>(rows * stride);
  if (scratch.row_scales.size() < rows) scratch.row_scales = AlignedBuffer<float>(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = a + r * lda;
    float sa = symmetric_scale(absmax(row, static_cast<std::size_t>(w.k)), 127);
    scratch.row_scales[r] = sa;
    quantize_u8(row, static_cast<std::size_t>(w.k), sa, 128, scratch.rows.data() + r * stride);
  }
  QGemmArgs args;
  args.m = m;
  args.a = scratch.rows.data();
  args.lda = stride;
  args.w = &w;
  args.offset = offsets;
  args.scale = weight_scales;
  args.act = act;
  args.row_scales = scratch.row_scales.data();
  args.bias_f32 = bias;
  args.c_f32 = c;
  args.ldc = ldc;
  qgemm(args, pool);
}

}  // namespace lowp
