// kernels/softmax/softmax_avx512.cc: three passes over a row (max, exp and sum, scale), 16
// lanes at a time with masked tails; the lanes are reduced in one fixed order.
#include <immintrin.h>

#include "kernels/activation_avx512.h"  // exp
#include "kernels/softmax/softmax.h"

namespace lowp {
namespace {
__mmask16 tail_mask(std::size_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1u);
}

}  // namespace

void softmax_avx512(const float* x, std::size_t rows, std::size_t cols, float* y) {
  for (std::size_t i = 0; i < rows; ++i) {
    const float* in = x + i * cols;
    float* out = y + i * cols;
    __m512 vmax = _mm512_set1_ps(in[0]);
    for (std::size_t j = 0; j < cols; j += 16) {
      __mmask16 m = tail_mask(cols - j);
      vmax = _mm512_mask_max_ps(vmax, m, vmax, _mm512_maskz_loadu_ps(m, in + j));
    }
    __m512 max = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
    __m512 vsum = _mm512_setzero_ps();
    for (std::size_t j = 0; j < cols; j += 16) {
      __mmask16 m = tail_mask(cols - j);
      __m512 e = exp16_clamped(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, in + j), max));
      e = _mm512_maskz_mov_ps(m, e);
      _mm512_mask_storeu_ps(out + j, m, e);
      vsum = _mm512_add_ps(vsum, e);
    }
    __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vsum));
    for (std::size_t j = 0; j < cols; j += 16) {
      __mmask16 m = tail_mask(cols - j);
      _mm512_mask_storeu_ps(out + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, out + j), inv));
    }
  }
}

}  // namespace lowp
