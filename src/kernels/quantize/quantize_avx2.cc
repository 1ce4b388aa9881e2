// kernels/quantize/quantize_avx2.cc: 8 floats per step, same sequence as the AVX-512 path
// (divide, round half to even, add the zero point, clamp in float, NaN -> zero point); the
// last n % 8 elements go through the scalar reference.
#include <immintrin.h>

#include <cstring>

#include "kernels/quantize/quantize.h"

namespace lowp {
namespace {

__m256i quantize8(__m256 x, __m256 scale, __m256 zp, __m256 qmin, __m256 qmax) {
  __m256 v =
      _mm256_round_ps(_mm256_div_ps(x, scale), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  v = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(v, zp), qmin), qmax);
  v = _mm256_blendv_ps(zp, v, _mm256_cmp_ps(x, x, _CMP_ORD_Q));
  return _mm256_cvtps_epi32(v);
}

// Eight int32 in [-128, 255] to eight bytes (the values already fit: plain truncation).
std::uint64_t low_bytes(__m256i v) {
  const __m256i pick =
      _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1,
                       -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  __m256i b = _mm256_shuffle_epi8(v, pick);
  std::uint64_t lo = static_cast<std::uint32_t>(_mm256_extract_epi32(b, 0));
  std::uint64_t hi = static_cast<std::uint32_t>(_mm256_extract_epi32(b, 4));
  return lo | (hi << 32);
}

template <class Out>
void quantize(const float* x, std::size_t n, float scale, std::int32_t zero_point, Out* q,
              std::int32_t qmin, std::int32_t qmax) {
  const __m256 s = _mm256_set1_ps(scale), zp = _mm256_set1_ps(static_cast<float>(zero_point));
  const __m256 lo = _mm256_set1_ps(static_cast<float>(qmin));
  const __m256 hi = _mm256_set1_ps(static_cast<float>(qmax));
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t bytes = low_bytes(quantize8(_mm256_loadu_ps(x + i), s, zp, lo, hi));
    std::memcpy(q + i, &bytes, 8);
  }
  for (; i < n; ++i) q[i] = static_cast<Out>(quantize_value(x[i], scale, zero_point, qmin, qmax));
}

}  // namespace

void quantize_u8_avx2(const float* x, std::size_t n, float scale, std::int32_t zero_point,
                      std::uint8_t* q) {
  quantize(x, n, scale, zero_point, q, 0, 255);
}

void quantize_s8_avx2(const float* x, std::size_t n, float scale, std::int32_t zero_point,
                      std::int8_t* q) {
  quantize(x, n, scale, zero_point, q, -128, 127);
}

float absmax_avx2(const float* x, std::size_t n) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 a = _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i));
    m = _mm256_max_ps(a, m);  // vmaxps returns the second operand when the first is NaN
  }
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
  float result = _mm_cvtss_f32(h);
  float tail = absmax_ref(x + i, n - i);
  return tail > result ? tail : result;
}

void dequantize_u8_avx2(const std::uint8_t* q, std::size_t n, float scale, std::int32_t zero_point,
                        float* x) {
  const __m256 s = _mm256_set1_ps(scale);
  const __m256i zp = _mm256_set1_epi32(zero_point);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + i)));
    _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(v, zp)), s));
  }
  for (; i < n; ++i) x[i] = dequantize_value(q[i], scale, zero_point);
}

}  // namespace lowp
