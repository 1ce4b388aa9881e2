// kernels/convert/convert_avx2.cc: AVX2 + F16C conversion variants (8 lanes).
//
// fp16 uses the F16C instructions: vcvtps2ph with _MM_FROUND_TO_NEAREST_INT rounds half to
// even from the immediate (not MXCSR), makes fp16 subnormals and Inf exactly as
// base/float_types.h does, and turns a NaN into sign | 0x7E00 | payload >> 13, the quiet NaN
// float16 documents; vcvtph2ps is exact and quiets NaNs the same way (the exhaustive test
// checks both on every input). bf16 and fp8 have no instruction here, so they are the
// integer algorithms of base/float_types.h, lane-wise: variable shifts (vpsrlvd) make the
// subnormal rounding branch-free. fp8 -> fp32 rebiases the byte into fp16 bits and uses
// vcvtph2ps: E5M2 is exactly the top byte of an fp16, and E4M3FN placed as an fp16 has
// exponent bias 15 instead of 7, which a multiply by 2^8 repairs (exact, and its inputs and
// outputs are fp32 normals, so MXCSR rounding, FTZ and DAZ cannot change it).
//
// Everything here has internal linkage or is a listed variant, and no inline function of a
// shared header is called: an out-of-line copy compiled with -mavx2 could otherwise be the
// one the linker keeps for the baseline code too. A tail shorter than a vector goes through
// the same vector code via a zero-padded copy, so every element takes the SIMD path.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/convert/convert.h"

namespace lowp {
namespace {

constexpr std::size_t kLanes = 8;

// Runs block(in, out) on every full block of kLanes elements, then on a zero-padded copy of
// the tail, writing back only the tail's outputs.
template <class In, class Out, class Block>
inline void for_each_block(const In* in, Out* out, std::size_t n, const Block& block) {
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) block(in + i, out + i);
  if (i < n) {
    In in_tail[kLanes] = {};
    Out out_tail[kLanes];
    std::memcpy(in_tail, in + i, (n - i) * sizeof(In));
    block(in_tail, out_tail);
    std::memcpy(out + i, out_tail, (n - i) * sizeof(Out));
  }
}

__m256i splat(std::uint32_t v) {
  return _mm256_set1_epi32(static_cast<int>(v));
}

// float_detail::round_magnitude of base/float_types.h, on 8 lanes: rounds the fp32
// magnitudes `a` (not NaN) half to even to kMantissaBits bits, with subnormal results below
// fp32 biased exponent kMinNormalExp; returns exponent << kMantissaBits | mantissa, which
// runs past the format's top codes for large inputs (the caller clamps).
template <int kMantissaBits, std::uint32_t kMinNormalExp>
__m256i round_magnitude(__m256i a) {
  const __m256i one = splat(1);
  const __m256i min_exp = splat(kMinNormalExp);
  const __m256i exp = _mm256_srli_epi32(a, 23);
  const __m256i significand =
      _mm256_or_si256(_mm256_and_si256(a, splat(0x007FFFFFu)), splat(0x00800000u));
  const __m256i below = _mm256_sub_epi32(min_exp, _mm256_min_epu32(exp, min_exp));
  const __m256i shift =
      _mm256_min_epu32(_mm256_add_epi32(below, splat(23 - kMantissaBits)), splat(31));
  const __m256i half_minus_one =
      _mm256_sub_epi32(_mm256_sllv_epi32(one, _mm256_sub_epi32(shift, one)), one);
  const __m256i odd = _mm256_and_si256(_mm256_srlv_epi32(significand, shift), one);
  const __m256i rounded = _mm256_srlv_epi32(
      _mm256_add_epi32(_mm256_add_epi32(significand, half_minus_one), odd), shift);
  const __m256i exp_minus_one = _mm256_sub_epi32(_mm256_max_epu32(exp, min_exp), min_exp);
  return _mm256_add_epi32(_mm256_slli_epi32(exp_minus_one, kMantissaBits), rounded);
}

// fp32 -> fp8 on 8 lanes: the 8 result bytes in the low 64 bits.
template <int kMantissaBits, std::uint32_t kMinNormalExp>
__m128i narrow_f8(__m256i f, __m256i limit, __m256i nan_code) {
  const __m256i a = _mm256_and_si256(f, splat(0x7FFFFFFFu));
  __m256i v = _mm256_min_epu32(round_magnitude<kMantissaBits, kMinNormalExp>(a), limit);
  const __m256i is_nan = _mm256_cmpgt_epi32(a, splat(0x7F800000u));  // a >= 0: signed is fine
  v = _mm256_blendv_epi8(v, nan_code, is_nan);
  v = _mm256_or_si256(v, _mm256_srli_epi32(_mm256_andnot_si256(a, f), 24));  // sign
  // Byte 0 of each dword to the low 4 bytes of its 128-bit half, then join the halves.
  const __m256i gather =
      _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1,
                       -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m256i bytes = _mm256_shuffle_epi8(v, gather);
  return _mm_unpacklo_epi32(_mm256_castsi256_si128(bytes), _mm256_extracti128_si256(bytes, 1));
}

template <int kMantissaBits, std::uint32_t kMinNormalExp>
void f32_to_f8(const float* in, std::uint8_t* out, std::size_t n, std::uint32_t limit,
               std::uint32_t nan_code) {
  const __m256i limit_v = splat(limit);
  const __m256i nan_v = splat(nan_code);
  for_each_block(in, out, n, [&](const float* src, std::uint8_t* dst) {
    const __m256i f = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst),
                     narrow_f8<kMantissaBits, kMinNormalExp>(f, limit_v, nan_v));
  });
}

}  // namespace

void f32_to_f16_convert__avx2(const float* in, std::uint16_t* out, std::size_t n) {
  for_each_block(in, out, n, [](const float* src, std::uint16_t* dst) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), h);
  });
}

void f16_to_f32_convert__avx2(const std::uint16_t* in, float* out, std::size_t n) {
  for_each_block(in, out, n, [](const std::uint16_t* src, float* dst) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
    _mm256_storeu_ps(dst, _mm256_cvtph_ps(h));
  });
}

// Round half to even by adding 0x7FFF plus the kept LSB; NaNs take (bits >> 16) | 0x40
// instead (the add could carry a NaN into Inf or into the sign).
void f32_to_bf16_convert__avx2(const float* in, std::uint16_t* out, std::size_t n) {
  for_each_block(in, out, n, [](const float* src, std::uint16_t* dst) {
    const __m256i f = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
    const __m256i high = _mm256_srli_epi32(f, 16);
    const __m256i lsb = _mm256_and_si256(high, splat(1));
    const __m256i rounded =
        _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(f, splat(0x7FFFu)), lsb), 16);
    const __m256i a = _mm256_and_si256(f, splat(0x7FFFFFFFu));
    const __m256i is_nan = _mm256_cmpgt_epi32(a, splat(0x7F800000u));
    const __m256i quiet_nan = _mm256_or_si256(high, splat(0x0040u));
    const __m256i r = _mm256_blendv_epi8(rounded, quiet_nan, is_nan);
    // Lanes hold values <= 0xFFFF, so the unsigned-saturating pack is exact; it packs
    // within 128-bit halves, and r's halves are lanes 0-3 and 4-7.
    const __m256i packed = _mm256_packus_epi32(r, r);
    const __m128i lo = _mm256_castsi256_si128(packed);
    const __m128i hi = _mm256_extracti128_si256(packed, 1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm_unpacklo_epi64(lo, hi));
  });
}

void bf16_to_f32_convert__avx2(const std::uint16_t* in, float* out, std::size_t n) {
  for_each_block(in, out, n, [](const std::uint16_t* src, float* dst) {
    const __m256i b = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src)));
    const __m256i f = _mm256_slli_epi32(b, 16);
    const __m256i a = _mm256_and_si256(f, splat(0x7FFFFFFFu));
    const __m256i is_nan = _mm256_cmpgt_epi32(a, splat(0x7F800000u));
    const __m256i r = _mm256_or_si256(f, _mm256_and_si256(is_nan, splat(0x00400000u)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), r);
  });
}

// E4M3FN: 3 mantissa bits, smallest normal 2^-6 (fp32 biased exponent 121); past 448 (0x7E)
// clamp to 448 or to the NaN 0x7F.
void f32_to_f8e4m3fn_convert__avx2(const float* in, std::uint8_t* out, std::size_t n,
                                   bool saturate) {
  f32_to_f8<3, 121>(in, out, n, saturate ? 0x7Eu : 0x7Fu, 0x7Fu);
}

// E5M2: 2 mantissa bits, smallest normal 2^-14 (113); past 57344 (0x7B) clamp to it or to
// Inf (0x7C). NaN is 0x7E.
void f32_to_f8e5m2_convert__avx2(const float* in, std::uint8_t* out, std::size_t n, bool saturate) {
  f32_to_f8<2, 113>(in, out, n, saturate ? 0x7Bu : 0x7Cu, 0x7Eu);
}

void f8e4m3fn_to_f32_convert__avx2(const std::uint8_t* in, float* out, std::size_t n) {
  for_each_block(in, out, n, [](const std::uint8_t* src, float* dst) {
    const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src));
    const __m128i x = _mm_cvtepu8_epi16(bytes);
    // S.EEEE.MMM -> fp16 S.0EEEE.MMM0000000, which is the value * 2^-8.
    const __m128i h = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(x, _mm_set1_epi16(0x7F)), 7),
                                   _mm_slli_epi16(_mm_and_si128(x, _mm_set1_epi16(0x80)), 8));
    const __m256 f = _mm256_mul_ps(_mm256_cvtph_ps(h), _mm256_set1_ps(256.0f));
    // NaN (S.1111.111) -> sign | 0x7FC00000.
    const __m128i nan8 =
        _mm_cmpeq_epi8(_mm_and_si128(bytes, _mm_set1_epi8(0x7F)), _mm_set1_epi8(0x7F));
    const __m256 is_nan = _mm256_castsi256_ps(_mm256_cvtepi8_epi32(nan8));
    const __m256 sign = _mm256_and_ps(f, _mm256_castsi256_ps(splat(0x80000000u)));
    const __m256 quiet_nan = _mm256_or_ps(sign, _mm256_castsi256_ps(splat(0x7FC00000u)));
    _mm256_storeu_ps(dst, _mm256_blendv_ps(f, quiet_nan, is_nan));
  });
}

void f8e5m2_to_f32_convert__avx2(const std::uint8_t* in, float* out, std::size_t n) {
  for_each_block(in, out, n, [](const std::uint8_t* src, float* dst) {
    const __m128i x = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(src)));
    _mm256_storeu_ps(dst, _mm256_cvtph_ps(_mm_slli_epi16(x, 8)));
  });
}

}  // namespace lowp
