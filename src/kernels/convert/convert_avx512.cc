// kernels/convert/convert_avx512.cc: AVX-512 (F, BW, DQ, VL) conversion variants (16 lanes).
//
// The same algorithms as convert_avx2.cc (read its header comment), at twice the width, with
// the tail done by masked loads and stores instead of a padded copy, and the down-conversions
// by vpmovdw / vpmovdb instead of pack-and-shuffle.
//
// bf16 deliberately does not use vcvtneps2bf16 (AVX512-BF16): that instruction treats fp32
// subnormal inputs as zero (and flushes subnormal results), whereas ONNX Cast, and
// bfloat16::from_float, round them like any other value; bf16 has the fp32 exponent range,
// so those inputs have nonzero bf16 results. The integer rounding here costs a few more
// instructions and is exact for every input.
//
// As in convert_avx2.cc, everything is internal or a listed variant, and no inline function
// of a shared header is called from this -mavx512f translation unit.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/convert/convert.h"

namespace lowp {
namespace {

constexpr std::size_t kLanes = 16;

// Runs block(i, mask) over [0, n) in steps of kLanes; the mask covers the lanes below n.
template <class Block>
inline void for_each_block(std::size_t n, const Block& block) {
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) block(i, static_cast<__mmask16>(0xFFFF));
  if (i < n) block(i, static_cast<__mmask16>((1u << (n - i)) - 1));
}

__m512i splat(std::uint32_t v) {
  return _mm512_set1_epi32(static_cast<int>(v));
}

// float_detail::round_magnitude of base/float_types.h on 16 lanes (see convert_avx2.cc).
template <int kMantissaBits, std::uint32_t kMinNormalExp>
__m512i round_magnitude(__m512i a) {
  const __m512i one = splat(1);
  const __m512i min_exp = splat(kMinNormalExp);
  const __m512i exp = _mm512_srli_epi32(a, 23);
  const __m512i significand =
      _mm512_or_si512(_mm512_and_si512(a, splat(0x007FFFFFu)), splat(0x00800000u));
  const __m512i below = _mm512_sub_epi32(min_exp, _mm512_min_epu32(exp, min_exp));
  const __m512i shift =
      _mm512_min_epu32(_mm512_add_epi32(below, splat(23 - kMantissaBits)), splat(31));
  const __m512i half_minus_one =
      _mm512_sub_epi32(_mm512_sllv_epi32(one, _mm512_sub_epi32(shift, one)), one);
  const __m512i odd = _mm512_and_si512(_mm512_srlv_epi32(significand, shift), one);
  const __m512i rounded = _mm512_srlv_epi32(
      _mm512_add_epi32(_mm512_add_epi32(significand, half_minus_one), odd), shift);
  const __m512i exp_minus_one = _mm512_sub_epi32(_mm512_max_epu32(exp, min_exp), min_exp);
  return _mm512_add_epi32(_mm512_slli_epi32(exp_minus_one, kMantissaBits), rounded);
}

template <int kMantissaBits, std::uint32_t kMinNormalExp>
void f32_to_f8(const float* in, std::uint8_t* out, std::size_t n, std::uint32_t limit,
               std::uint32_t nan_code) {
  const __m512i limit_v = splat(limit);
  const __m512i nan_v = splat(nan_code);
  for_each_block(n, [&](std::size_t i, __mmask16 mask) {
    const __m512i f = _mm512_maskz_loadu_epi32(mask, in + i);
    const __m512i a = _mm512_and_si512(f, splat(0x7FFFFFFFu));
    __m512i v = _mm512_min_epu32(round_magnitude<kMantissaBits, kMinNormalExp>(a), limit_v);
    const __mmask16 is_nan = _mm512_cmpgt_epu32_mask(a, splat(0x7F800000u));
    v = _mm512_mask_blend_epi32(is_nan, v, nan_v);
    v = _mm512_or_si512(v, _mm512_srli_epi32(_mm512_andnot_si512(a, f), 24));  // sign
    _mm_mask_storeu_epi8(out + i, mask, _mm512_cvtepi32_epi8(v));
  });
}

}  // namespace

void f32_to_f16_convert__avx512(const float* in, std::uint16_t* out, std::size_t n) {
  for_each_block(n, [&](std::size_t i, __mmask16 mask) {
    const __m256i h =
        _mm512_cvtps_ph(_mm512_maskz_loadu_ps(mask, in + i), _MM_FROUND_TO_NEAREST_INT);
    _mm256_mask_storeu_epi16(out + i, mask, h);
  });
}

void f16_to_f32_convert__avx512(const std::uint16_t* in, float* out, std::size_t n) {
  for_each_block(n, [&](std::size_t i, __mmask16 mask) {
    const __m256i h = _mm256_maskz_loadu_epi16(mask, in + i);
    _mm512_mask_storeu_ps(out + i, mask, _mm512_cvtph_ps(h));
  });
}

void f32_to_bf16_convert__avx512(const float* in, std::uint16_t* out, std::size_t n) {
  for_each_block(n, [&](std::size_t i, __mmask16 mask) {
    const __m512i f = _mm512_maskz_loadu_epi32(mask, in + i);
    const __m512i high = _mm512_srli_epi32(f, 16);
    const __m512i lsb = _mm512_and_si512(high, splat(1));
    const __m512i rounded =
        _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(f, splat(0x7FFFu)), lsb), 16);
    const __m512i a = _mm512_and_si512(f, splat(0x7FFFFFFFu));
    const __mmask16 is_nan = _mm512_cmpgt_epu32_mask(a, splat(0x7F800000u));
    const __m512i r = _mm512_mask_blend_epi32(is_nan, rounded, _mm512_or_si512(high, splat(0x40)));
    _mm256_mask_storeu_epi16(out + i, mask, _mm512_cvtepi32_epi16(r));
  });
}

void bf16_to_f32_convert__avx512(const std::uint16_t* in, float* out, std::size_t n) {
  for_each_block(n, [&](std::size_t i, __mmask16 mask) {
    const __m512i f =
        _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, in + i)), 16);
    const __m512i a = _mm512_and_si512(f, splat(0x7FFFFFFFu));
    const __mmask16 is_nan = _mm512_cmpgt_epu32_mask(a, splat(0x7F800000u));
    const __m512i r = _mm512_mask_or_epi32(f, is_nan, f, splat(0x00400000u));
    _mm512_mask_storeu_epi32(out + i, mask, r);
  });
}

void f32_to_f8e4m3fn_convert__avx512(const float* in, std::uint8_t* out, std::size_t n,
                                     bool saturate) {
  f32_to_f8<3, 121>(in, out, n, saturate ? 0x7Eu : 0x7Fu, 0x7Fu);
}

void f32_to_f8e5m2_convert__avx512(const float* in, std::uint8_t* out, std::size_t n,
                                   bool saturate) {
  f32_to_f8<2, 113>(in, out, n, saturate ? 0x7Bu : 0x7Cu, 0x7Eu);
}

void f8e4m3fn_to_f32_convert__avx512(const std::uint8_t* in, float* out, std::size_t n) {
  for_each_block(n, [&](std::size_t i, __mmask16 mask) {
    const __m128i bytes = _mm_maskz_loadu_epi8(mask, in + i);
    const __m256i x = _mm256_cvtepu8_epi16(bytes);
    // S.EEEE.MMM -> fp16 S.0EEEE.MMM0000000, which is the value * 2^-8.
    const __m256i h =
        _mm256_or_si256(_mm256_slli_epi16(_mm256_and_si256(x, _mm256_set1_epi16(0x7F)), 7),
                        _mm256_slli_epi16(_mm256_and_si256(x, _mm256_set1_epi16(0x80)), 8));
    const __m512 f = _mm512_mul_ps(_mm512_cvtph_ps(h), _mm512_set1_ps(256.0f));
    const __mmask16 is_nan =
        _mm_cmpeq_epi8_mask(_mm_and_si128(bytes, _mm_set1_epi8(0x7F)), _mm_set1_epi8(0x7F));
    const __m512i sign = _mm512_and_si512(_mm512_castps_si512(f), splat(0x80000000u));
    const __m512i r =
        _mm512_mask_or_epi32(_mm512_castps_si512(f), is_nan, sign, splat(0x7FC00000u));
    _mm512_mask_storeu_epi32(out + i, mask, r);
  });
}

void f8e5m2_to_f32_convert__avx512(const std::uint8_t* in, float* out, std::size_t n) {
  for_each_block(n, [&](std::size_t i, __mmask16 mask) {
    const __m256i x = _mm256_cvtepu8_epi16(_mm_maskz_loadu_epi8(mask, in + i));
    _mm512_mask_storeu_ps(out + i, mask, _mm512_cvtph_ps(_mm256_slli_epi16(x, 8)));
  });
}

}  // namespace lowp
