// kernels/gemm/gemm_ref.cc: the reference dense layers, the specification every fast
// kernel is tested against. Plain loops on plain [n][k] weights; no packing, no SIMD.
#include <algorithm>

#include "base/float_types.h"
#include "kernels/gemm/gemm.h"

namespace lowp {
namespace {

template <class WeightToFloat>
void gemm_generic_ref(int m, int n, int k, const float* a, std::size_t lda, WeightToFloat weight,
                      const float* bias, ActivationParams act, float* c, std::size_t ldc) {
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      float sum = 0.0f;
      for (int kk = 0; kk < k; ++kk) sum += a[i * lda + kk] * weight(j, kk);
      if (bias != nullptr) sum += bias[j];
      c[i * ldc + j] = act(sum);
    }
  }
}

}  // namespace

const char* gemm_weights_name(GemmWeights type) {
  switch (type) {
    case GemmWeights::f32:
      return "f32";
    case GemmWeights::f16:
      return "f16";
    case GemmWeights::bf16:
      return "bf16";
    case GemmWeights::q4:
      return "q4";
  }
  return "?";
}

void gemm_f32_ref(int m, int n, int k, const float* a, std::size_t lda, const float* w,
                  const float* bias, ActivationParams act, float* c, std::size_t ldc) {
  gemm_generic_ref(
      m, n, k, a, lda, [&](int j, int kk) { return w[static_cast<std::size_t>(j) * k + kk]; }, bias,
      act, c, ldc);
}

void gemm_f16_ref(int m, int n, int k, const float* a, std::size_t lda, const std::uint16_t* w_bits,
                  const float* bias, ActivationParams act, float* c, std::size_t ldc) {
  gemm_generic_ref(
      m, n, k, a, lda,
      [&](int j, int kk) {
        return float16::from_bits(w_bits[static_cast<std::size_t>(j) * k + kk]).to_float();
      },
      bias, act, c, ldc);
}

void gemm_bf16_ref(int m, int n, int k, const float* a, std::size_t lda,
                   const std::uint16_t* w_bits, const float* bias, ActivationParams act, float* c,
                   std::size_t ldc) {
  gemm_generic_ref(
      m, n, k, a, lda,
      [&](int j, int kk) {
        return bfloat16::from_bits(w_bits[static_cast<std::size_t>(j) * k + kk]).to_float();
      },
      bias, act, c, ldc);
}

void gemm_q4_ref(int m, int n, int k, int group_size, const float* a, std::size_t lda,
                 const std::int8_t* q, const float* scales, const float* bias, ActivationParams act,
                 float* c, std::size_t ldc) {
  int groups = (k + group_size - 1) / group_size;
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      float sum = 0.0f;
      for (int g = 0; g < groups; ++g) {
        float partial = 0.0f;
        for (int kk = g * group_size; kk < std::min(k, (g + 1) * group_size); ++kk) {
          partial += a[i * lda + kk] * static_cast<float>(q[static_cast<std::size_t>(j) * k + kk]);
        }
        sum += partial * scales[static_cast<std::size_t>(j) * groups + g];
      }
      if (bias != nullptr) sum += bias[j];
      c[i * ldc + j] = act(sum);
    }
  }
}

}  // namespace lowp
