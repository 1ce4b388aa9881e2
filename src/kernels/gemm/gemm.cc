// kernels/gemm/gemm.cc: the best-first lists of the dense-layer kernels, and the driver that
// checks arguments and splits rows across threads.
#include "kernels/gemm/gemm.h"

#include "kernels/gemm/gemm_variants.h"
#include "kernels/parallel.h"

namespace lowp {
namespace {

constexpr KernelEntry<GemmFn> kGemmF32[] = {
    {"f32_gemm_bias_act_4x64__avx512", IsaLevel::avx512, gemm_f32_avx512},
    {"f32_gemm_bias_act_4x16__avx2", IsaLevel::avx2, gemm_f32_avx2},
    {"f32_gemm_bias_act_1x16__scalar", IsaLevel::scalar, gemm_packed_scalar},
};
constexpr KernelEntry<GemmFn> kGemmF16[] = {
    {"f32_f16w_gemm_bias_act_4x64__avx512", IsaLevel::avx512, gemm_f16_avx512},
    {"f32_f16w_gemm_bias_act_4x16__avx2", IsaLevel::avx2, gemm_f16_avx2},
    {"f32_f16w_gemm_bias_act_1x16__scalar", IsaLevel::scalar, gemm_packed_scalar},
};
constexpr KernelEntry<GemmFn> kGemmBF16[] = {
    {"f32_bf16w_gemm_bias_act_4x64__avx512", IsaLevel::avx512, gemm_bf16_avx512},
    {"f32_bf16w_gemm_bias_act_4x16__avx2", IsaLevel::avx2, gemm_bf16_avx2},
    {"f32_bf16w_gemm_bias_act_1x16__scalar", IsaLevel::scalar, gemm_packed_scalar},
};
constexpr KernelEntry<GemmFn> kGemmQ4[] = {
    {"f32_q4w_gemm_bias_act_4x32__avx512", IsaLevel::avx512, gemm_q4_avx512},
    {"f32_q4w_gemm_bias_act_2x16__avx2", IsaLevel::avx2, gemm_q4_avx2},
    {"f32_q4w_gemm_bias_act_1x16__scalar", IsaLevel::scalar, gemm_packed_scalar},
};

const KernelEntry<GemmFn>& chosen(GemmWeights type) {
  static const KernelEntry<GemmFn>* picks[] = {
      &pick_kernel(gemm_kernels(GemmWeights::f32), active_isa()),
      &pick_kernel(gemm_kernels(GemmWeights::f16), active_isa()),
      &pick_kernel(gemm_kernels(GemmWeights::bf16), active_isa()),
      &pick_kernel(gemm_kernels(GemmWeights::q4), active_isa()),
  };
  return *picks[static_cast<int>(type)];
}

void check_args(const GemmArgs& args) {
  LOWP_CHECK(args.w != nullptr && args.a != nullptr && args.c != nullptr, "gemm: null operand");
  LOWP_CHECK(args.m >= 0, "gemm: m = {} is negative", args.m);
  LOWP_CHECK(args.lda >= static_cast<std::size_t>(args.w->k), "gemm: lda {} is smaller than k {}",
             args.lda, args.w->k);
  LOWP_CHECK(args.ldc >= static_cast<std::size_t>(args.w->n), "gemm: ldc {} is smaller than n {}",
             args.ldc, args.w->n);
}

}  // namespace

std::span<const KernelEntry<GemmFn>> gemm_kernels(GemmWeights type) {
  switch (type) {
    case GemmWeights::f32:
      return kGemmF32;
    case GemmWeights::f16:
      return kGemmF16;
    case GemmWeights::bf16:
      return kGemmBF16;
    case GemmWeights::q4:
      return kGemmQ4;
  }
  fail("gemm: unknown weight type {}", static_cast<int>(type));
}

const char* gemm_kernel_name(GemmWeights type) {
  return chosen(type).name;
}

void gemm_with(GemmFn fn, const GemmArgs& args, ThreadPool* pool) {
  check_args(args);
  split_rows_or_panels(pool, args.m, args.w->panels(), args.w->k,
                       [&](std::size_t begin, std::size_t end, PanelRange panels) {
                         GemmArgs part = args;
                         part.panels = panels;
                         part.m = static_cast<int>(end - begin);
                         part.a = args.a + begin * args.lda;
                         part.c = args.c + begin * args.ldc;
                         fn(part);
                       });
}

void gemm(const GemmArgs& args, ThreadPool* pool) {
  gemm_with(chosen(args.w->type).fn, args, pool);
}

}  // namespace lowp
