// kernels/bf16dot/bf16dot.cc: packing, row conversion, the reference, the scalar variant,
// the list and the driver.
#include "kernels/bf16dot/bf16dot.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <type_traits>
#include <vector>

#include "base/error.h"
#include "kernels/convert/convert.h"
#include "kernels/parallel.h"
#include "kernels/transpose/transpose.h"

namespace lowp {
namespace {

// bf16 bits to fp32 by position (no NaN quieting: the kernels widen by shifting too).
float widen(std::uint16_t bits) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}
constexpr KernelEntry<Bf16DotFn> kBf16Dot[] = {
    {"bf16_gemm_f32acc_bias_act_4x64__avx512bf16", IsaLevel::avx512bf16, bf16dot_avx512bf16},
    {"bf16_gemm_f32acc_bias_act_4x64__avx512", IsaLevel::avx512, bf16dot_avx512},
    {"bf16_gemm_f32acc_bias_act_4x16__avx2", IsaLevel::avx2, bf16dot_avx2},
    {"bf16_gemm_f32acc_bias_act_1x16__scalar", IsaLevel::scalar, bf16dot_scalar},
};

}  // namespace

PackedBf16DotWeights pack_bf16dot(const std::uint16_t* w_bits, int n, int k) {
  LOWP_CHECK(n >= 1 && k >= 1, "bf16 weights: n = {} and k = {} must be at least 1", n, k);
  PackedBf16DotWeights w;
  w.n = n;
  w.k = k;
  w.data = AlignedBuffer<std::uint16_t>(
      checked_mul(static_cast<std::size_t>(w.panels()), w.panel_elements(), "bf16 weights"));
  for (int row = 0; row < n; ++row) {
    std::size_t panel = static_cast<std::size_t>(row / kGemmPanel);
    std::size_t lane = static_cast<std::size_t>(row % kGemmPanel);
    for (int kk = 0; kk < k; ++kk) {
      std::size_t pair = static_cast<std::size_t>(kk / 2);
      w.data[panel * w.panel_elements() + (pair * kGemmPanel + lane) * 2 +
             static_cast<std::size_t>(kk % 2)] = w_bits[static_cast<std::size_t>(row) * k + kk];
    }
  }
  return w;
}

namespace {

// Sizes `out` for n x k (zeroed: lanes past n in the last panel and the pair past an odd k
// must hold zero weights), reusing its buffer when the size is unchanged.
void shape_packed(PackedBf16DotWeights& out, int n, int k) {
  LOWP_CHECK(n >= 1 && k >= 1, "bf16 weights: n = {} and k = {} must be at least 1", n, k);
  const bool same = out.n == n && out.k == k && out.data.size() != 0;
  out.n = n;
  out.k = k;
  if (!same) {
    out.data = AlignedBuffer<std::uint16_t>(
        checked_mul(static_cast<std::size_t>(out.panels()), out.panel_elements(), "bf16 weights"));
  }
}

}  // namespace

void pack_bf16dot_from_f32_nk(const float* w, std::size_t ldw, int n, int k,
                              PackedBf16DotWeights& out) {
  shape_packed(out, n, k);
  const std::size_t pairs = static_cast<std::size_t>(out.padded_k() / 2);
  // One panel's rows in bf16, padded to whole pairs, then transposed as 32-bit pairs:
  // panel[q][j] = row j's pair q.
  std::vector<std::uint16_t> rows(static_cast<std::size_t>(kGemmPanel) * pairs * 2, 0);
  for (int p = 0; p < out.panels(); ++p) {
    const int first = p * kGemmPanel;
    const int count = std::min(kGemmPanel, n - first);
    for (int j = 0; j < count; ++j) {
      convert_f32_to_bf16(w + static_cast<std::size_t>(first + j) * ldw, rows.data() + j * pairs * 2,
                          static_cast<std::size_t>(k));
    }
    std::uint16_t* panel = out.data.data() + static_cast<std::size_t>(p) * out.panel_elements();
    if (count < kGemmPanel) std::fill(panel, panel + out.panel_elements(), std::uint16_t{0});
    transpose_x32(reinterpret_cast<const std::uint32_t*>(rows.data()),
                  reinterpret_cast<std::uint32_t*>(panel), static_cast<std::size_t>(count), pairs,
                  pairs, kGemmPanel);
  }
}

namespace {

// Rows 2q and 2q + 1 of b, as bf16 (rounded from fp32, or copied), interleaved into pair q.
template <class T>
void pack_kn(const T* b, std::size_t ldb, int k, int n, PackedBf16DotWeights& out) {
  shape_packed(out, n, k);
  const std::size_t width = static_cast<std::size_t>(out.panels()) * kGemmPanel;
  std::vector<std::uint16_t> even(width, 0), odd(width, 0);
  auto load = [&](int row, std::uint16_t* dst) {
    const T* src = b + static_cast<std::size_t>(row) * ldb;
    if constexpr (std::is_same_v<T, float>) {
      convert_f32_to_bf16(src, dst, static_cast<std::size_t>(n));
    } else {
      std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(std::uint16_t));
    }
  };
  for (int q = 0; q < out.padded_k() / 2; ++q) {
    load(2 * q, even.data());
    if (2 * q + 1 < k) {
      load(2 * q + 1, odd.data());
    } else {
      std::fill(odd.begin(), odd.end(), std::uint16_t{0});
    }
    for (int p = 0; p < out.panels(); ++p) {
      std::uint16_t* __restrict dst = out.data.data() +
                                      static_cast<std::size_t>(p) * out.panel_elements() +
                                      static_cast<std::size_t>(q) * kGemmPanel * 2;
      const std::uint16_t* __restrict e = even.data() + static_cast<std::size_t>(p) * kGemmPanel;
      const std::uint16_t* __restrict o = odd.data() + static_cast<std::size_t>(p) * kGemmPanel;
      for (int j = 0; j < kGemmPanel; ++j) {
        dst[2 * j] = e[j];
        dst[2 * j + 1] = o[j];
      }
    }
  }
}

}  // namespace

void pack_bf16dot_from_f32_kn(const float* b, std::size_t ldb, int k, int n,
                              PackedBf16DotWeights& out) {
  pack_kn(b, ldb, k, n, out);
}

void pack_bf16dot_from_bf16_kn(const std::uint16_t* b, std::size_t ldb, int k, int n,
                               PackedBf16DotWeights& out) {
  pack_kn(b, ldb, k, n, out);
}

void bf16dot_convert_rows(const float* a, int m, std::size_t lda, int k, std::uint16_t* out,
                          std::size_t ldo) {
  for (int r = 0; r < m; ++r) {
    std::uint16_t* row = out + static_cast<std::size_t>(r) * ldo;
    convert_f32_to_bf16(a + static_cast<std::size_t>(r) * lda, row, static_cast<std::size_t>(k));
    if (k % 2 != 0) row[k] = 0;
  }
}

void bf16dot_gemm_ref(int m, int n, int k, const std::uint16_t* a, std::size_t lda,
                      const std::uint16_t* w, const float* bias, ActivationParams act, float* c,
                      std::size_t ldc) {
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      float sum = 0.0f;
      for (int kk = 0; kk < k; kk += 2) {
        const std::uint16_t* wr = w + static_cast<std::size_t>(j) * k;
        if (kk + 1 < k) sum += widen(a[i * lda + kk + 1]) * widen(wr[kk + 1]);
        sum += widen(a[i * lda + kk]) * widen(wr[kk]);
      }
      c[static_cast<std::size_t>(i) * ldc + j] = act(sum + (bias ? bias[j] : 0.0f));
    }
  }
}

void bf16dot_scalar(const Bf16DotArgs& args) {
  const PackedBf16DotWeights& w = *args.w;
  const int pairs = w.padded_k() / 2;
  for (int i = 0; i < args.m; ++i) {
    const std::uint16_t* a = args.a + static_cast<std::size_t>(i) * args.lda;
    for (int p = args.panels.begin; p < args.panels.end_or(w.panels()); ++p) {
      const std::uint16_t* panel = w.data.data() + static_cast<std::size_t>(p) * w.panel_elements();
      float acc[kGemmPanel] = {};
      // Each pair is read as one 32-bit lane and split as the SIMD paths split it. (The
      // plainer form, two 16-bit loads per pair, came out wrong from GCC 12.2's loop
      // vectorizer at -O3: it paired an activation with the wrong weight.)
      for (int q = 0; q < pairs; ++q) {
        std::uint32_t a_pair;
        std::memcpy(&a_pair, a + 2 * q, 4);
        float a0 = std::bit_cast<float>(a_pair << 16);
        float a1 = std::bit_cast<float>(a_pair & 0xFFFF0000u);
        for (int j = 0; j < kGemmPanel; ++j) {
          std::uint32_t w_pair;
          std::memcpy(&w_pair, panel + (q * kGemmPanel + j) * 2, 4);
          acc[j] += a1 * std::bit_cast<float>(w_pair & 0xFFFF0000u);
          acc[j] += a0 * std::bit_cast<float>(w_pair << 16);
        }
      }
      for (int j = 0; j < kGemmPanel && p * kGemmPanel + j < w.n; ++j) {
        int col = p * kGemmPanel + j;
        args.c[static_cast<std::size_t>(i) * args.ldc + col] =
            args.act(acc[j] + (args.bias ? args.bias[col] : 0.0f));
      }
    }
  }
}

namespace {
constexpr KernelEntry<Bf16ImplicitFn> kBf16Implicit[] = {
    {"bf16_implicit_gemm_f32acc__avx512bf16", IsaLevel::avx512bf16, bf16dot_implicit_avx512bf16},
    {"bf16_implicit_gemm_f32acc__avx512", IsaLevel::avx512, bf16dot_implicit_avx512},
};
}  // namespace

std::span<const KernelEntry<Bf16ImplicitFn>> bf16dot_implicit_kernels() {
  return kBf16Implicit;
}

std::span<const KernelEntry<Bf16DotFn>> bf16dot_kernels() {
  return kBf16Dot;
}
const char* bf16dot_kernel_name() {
  return pick_kernel(bf16dot_kernels(), active_isa()).name;
}

void bf16dot_gemm_with(Bf16DotFn fn, const Bf16DotArgs& args, ThreadPool* pool) {
  LOWP_CHECK(args.w != nullptr && args.a != nullptr && args.c != nullptr,
             "bf16 gemm: null operand");
  LOWP_CHECK(args.lda >= static_cast<std::size_t>(args.w->padded_k()),
             "bf16 gemm: lda {} is smaller than the padded k {}", args.lda, args.w->padded_k());
  LOWP_CHECK(args.ldc >= static_cast<std::size_t>(args.w->n), "bf16 gemm: ldc {} < n {}", args.ldc,
             args.w->n);
  split_rows_or_panels(pool, args.m, args.w->panels(), args.w->k,
                       [&](std::size_t begin, std::size_t end, PanelRange panels) {
                         Bf16DotArgs part = args;
                         part.panels = panels;
                         part.m = static_cast<int>(end - begin);
                         part.a = args.a + begin * args.lda;
                         part.c = args.c + begin * args.ldc;
                         fn(part);
                       });
}

void bf16dot_gemm(const Bf16DotArgs& args, ThreadPool* pool) {
  static const Bf16DotFn fn = pick_kernel(bf16dot_kernels(), active_isa()).fn;
  bf16dot_gemm_with(fn, args, pool);
}

}  // namespace lowp
