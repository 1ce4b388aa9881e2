// kernels/softmax/softmax_avx2.cc: the AVX-512 algorithm on 8 lanes; the row tail
// (cols % 8) is handled with masked loads and stores.
#include <immintrin.h>

#include "kernels/activation_avx2.h"  // exp
#include "kernels/softmax/softmax.h"

namespace lowp {
namespace {
__m256i tail_mask(std::size_t left) {
  int count = left >= 8 ? 8 : static_cast<int>(left);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

float reduce_add(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

float reduce_max(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

}  // namespace

void softmax_avx2(const float* x, std::size_t rows, std::size_t cols, float* y) {
  for (std::size_t i = 0; i < rows; ++i) {
    const float* in = x + i * cols;
    float* out = y + i * cols;
    __m256 first = _mm256_set1_ps(in[0]);
    __m256 vmax = first;
    for (std::size_t j = 0; j < cols; j += 8) {
      __m256i m = tail_mask(cols - j);
      // Masked-off lanes read 0; blend in in[0] so they cannot raise the maximum.
      __m256 v = _mm256_blendv_ps(first, _mm256_maskload_ps(in + j, m), _mm256_castsi256_ps(m));
      vmax = _mm256_max_ps(vmax, v);
    }
    __m256 max = _mm256_set1_ps(reduce_max(vmax));
    __m256 vsum = _mm256_setzero_ps();
    for (std::size_t j = 0; j < cols; j += 8) {
      __m256i m = tail_mask(cols - j);
      __m256 e = exp8_clamped(_mm256_sub_ps(_mm256_maskload_ps(in + j, m), max));
      e = _mm256_and_ps(e, _mm256_castsi256_ps(m));
      _mm256_maskstore_ps(out + j, m, e);
      vsum = _mm256_add_ps(vsum, e);
    }
    __m256 inv = _mm256_set1_ps(1.0f / reduce_add(vsum));
    for (std::size_t j = 0; j < cols; j += 8) {
      __m256i m = tail_mask(cols - j);
      _mm256_maskstore_ps(out + j, m, _mm256_mul_ps(_mm256_maskload_ps(out + j, m), inv));
    }
  }
}

}  // namespace lowp
