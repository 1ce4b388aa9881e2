// kernels/quantize/quantize_avx512.cc: 16 floats per step: divide, round half to even
// (vrndscaleps), add the zero point, clamp in float (so +-Inf saturate before the integer
// conversion), NaN lanes replaced by the zero point, narrow with unsigned/signed
// saturation. The tail uses masked loads and stores: no scalar epilogue to drift from.
#include <immintrin.h>

#include "kernels/quantize/quantize.h"

namespace lowp {
namespace {

__m512i quantize16(__m512 x, __m512 scale, __m512 zp, __m512 qmin, __m512 qmax) {
  __m512 v =
      _mm512_roundscale_ps(_mm512_div_ps(x, scale), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  v = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(v, zp), qmin), qmax);
  __mmask16 is_number = _mm512_cmp_ps_mask(x, x, _CMP_ORD_Q);
  v = _mm512_mask_blend_ps(is_number, zp, v);
  return _mm512_cvtps_epi32(v);
}

template <class Out, class Narrow>
void quantize(const float* x, std::size_t n, float scale, std::int32_t zero_point, Out* q,
              float qmin, float qmax, Narrow narrow) {
  const __m512 s = _mm512_set1_ps(scale), zp = _mm512_set1_ps(static_cast<float>(zero_point));
  const __m512 lo = _mm512_set1_ps(qmin), hi = _mm512_set1_ps(qmax);
  for (std::size_t i = 0; i < n; i += 16) {
    std::size_t left = n - i;
    __mmask16 mask = left >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << left) - 1u);
    __m512 v = _mm512_maskz_loadu_ps(mask, x + i);
    _mm_mask_storeu_epi8(q + i, mask, narrow(quantize16(v, s, zp, lo, hi)));
  }
}

}  // namespace

void quantize_u8_avx512(const float* x, std::size_t n, float scale, std::int32_t zero_point,
                        std::uint8_t* q) {
  quantize(x, n, scale, zero_point, q, 0.0f, 255.0f,
           [](__m512i v) { return _mm512_cvtusepi32_epi8(v); });
}

void quantize_s8_avx512(const float* x, std::size_t n, float scale, std::int32_t zero_point,
                        std::int8_t* q) {
  quantize(x, n, scale, zero_point, q, -128.0f, 127.0f,
           [](__m512i v) { return _mm512_cvtsepi32_epi8(v); });
}

void quantize_s8_sums_avx512(const float* x, std::size_t n, float scale, std::int8_t* q,
                             std::size_t group, std::int32_t* sums) {
  if (group % 16 != 0) {  // chunks of 16 would straddle groups
    quantize_s8_sums_ref(x, n, scale, q, group, sums);
    return;
  }
  const __m512 s = _mm512_set1_ps(scale), zp = _mm512_setzero_ps();
  const __m512 lo = _mm512_set1_ps(-128.0f), hi = _mm512_set1_ps(127.0f);
  for (std::size_t g = 0; g * group < n; ++g) sums[g] = 0;
  for (std::size_t i = 0; i < n; i += 16) {
    std::size_t left = n - i;
    __mmask16 mask = left >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << left) - 1u);
    // Masked-off lanes load 0.0f, which quantizes to 0 and adds nothing to the sum.
    __m512i v = quantize16(_mm512_maskz_loadu_ps(mask, x + i), s, zp, lo, hi);
    _mm_mask_storeu_epi8(q + i, mask, _mm512_cvtsepi32_epi8(v));
    sums[i / group] += _mm512_reduce_add_epi32(v);
  }
}

float absmax_avx512(const float* x, std::size_t n) {
  const __m512 sign = _mm512_set1_ps(-0.0f);
  __m512 m = _mm512_setzero_ps();
  for (std::size_t i = 0; i < n; i += 16) {
    std::size_t left = n - i;
    __mmask16 mask = left >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << left) - 1u);
    __m512 a = _mm512_andnot_ps(sign, _mm512_maskz_loadu_ps(mask, x + i));
    m = _mm512_max_ps(a, m);  // vmaxps returns the second operand when the first is NaN
  }
  return _mm512_reduce_max_ps(m);
}

void dequantize_u8_avx512(const std::uint8_t* q, std::size_t n, float scale,
                          std::int32_t zero_point, float* x) {
  const __m512 s = _mm512_set1_ps(scale);
  const __m512i zp = _mm512_set1_epi32(zero_point);
  for (std::size_t i = 0; i < n; i += 16) {
    std::size_t left = n - i;
    __mmask16 mask = left >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << left) - 1u);
    __m512i v = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, q + i));
    _mm512_mask_storeu_ps(x + i, mask,
                          _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(v, zp)), s));
  }
}

}  // namespace lowp
