// base/float_types.h: float16, bfloat16, float8e4m3fn and float8e5m2 scalar value types.
//
// Every low-precision float in lowp is one of these structs: its raw bits, with exact
// conversions to and from fp32. The bulk kernels in kernels/convert use these functions as
// their scalar reference, and tests/exhaustive checks them against a plain, independently
// written reference on all 2^32 fp32 inputs (and all 2^16 / 2^8 narrow bit patterns).
//
// The rules are those of the ONNX Cast operator (opset 19+); its reference implementation
// (onnx/reference/ops/op_cast.py) is numpy/ml_dtypes: saturate=true is np.clip to
// [-max, max] followed by a round-to-nearest-even cast, saturate=false is the bare cast.
//
//   fp32 -> narrow, all types
//     - round to nearest, ties to even, at every magnitude: results that are subnormal in
//       the narrow type are rounded once, to their own (coarser) quantum, never flushed.
//     - fp32 subnormal inputs are values like any other (no DAZ): they round to +-0 in
//       fp16 / fp8 and to the nearest bf16 subnormal in bf16. Zero keeps its sign.
//     - a NaN stays a NaN with the input's sign, and is always a quiet NaN (the top
//       mantissa bit set). fp16 and bf16 keep the top payload bits, as x86 F16C does:
//         fp16:  sign | 0x7E00 | (fp32 mantissa >> 13)        e.g. 0x7FC00000 -> 0x7E00
//         bf16:  (fp32 bits >> 16) | 0x0040                    e.g. 0xFF800001 -> 0xFFC0
//       fp8 has no room for a payload:
//         E4M3FN: 0x7F / 0xFF, its only NaN encodings (S.1111.111)
//         E5M2:   0x7E / 0xFE, the IEEE-style quiet NaN (S.11111.10)
//   fp16, bf16: overflow (|x| that rounds beyond the max finite value, 65504 for fp16,
//     i.e. |x| >= 65520) and +-Inf give +-Inf, as IEEE 754 says.
//   E4M3FN (max 448 = S.1111.110; no Inf):
//     saturate=true:  +-Inf and every |x| > 448 give +-448 (0x7E / 0xFE).
//     saturate=false: x is rounded first, with an unbounded exponent; a result above 448 is
//                     NaN with x's sign (0x7F / 0xFF), and so is +-Inf. Note 464, the
//                     midpoint of 448 and the next step 480, rounds to even, i.e. to 448;
//                     anything above 464 becomes NaN.
//   E5M2 (max 57344 = S.11110.11; has Inf):
//     saturate=true:  +-Inf and every |x| > 57344 give +-57344 (0x7B / 0xFB).
//     saturate=false: +-Inf stays +-Inf (0x7C / 0xFC); |x| >= 61440 (the midpoint of 57344
//                     and 65536, which ties to the even 65536) gives +-Inf.
//   Clip-then-round (ONNX) and round-then-saturate agree, since rounding is monotonic and
//   the max is representable; the code does the latter.
//
//   narrow -> fp32 is exact. A NaN decodes to a quiet fp32 NaN with its sign and payload
//   (fp16: sign | 0x7FC00000 | mantissa << 13, as F16C does; bf16: bits << 16 | 0x00400000;
//   E5M2 decodes as the fp16 with the same top byte; E4M3FN NaN: sign | 0x7FC00000).
//
// Where the older onnx.helper.float32_to_float8e4m3 (ONNX <= 1.14, pure Python) differed
// from ml_dtypes, we follow the spec table and ml_dtypes: it rounded narrow subnormals half
// away from zero, ignored low sticky bits in one rounding test, and let a signalling NaN
// fall into the overflow branch (448 instead of NaN).
//
// The conversions are integer bit manipulation without data-dependent branches (selects
// that compile to cmov or blends), so they do not depend on MXCSR rounding, FTZ or DAZ, and
// are constexpr. The two exceptions multiply a small integer by a power of two, which is
// exact and normal in fp32, so neither rounding mode nor FTZ/DAZ can change the result.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <type_traits>

namespace lowp {

namespace float_detail {

// Rounds the fp32 magnitude `a` (fp32 bits, sign cleared, not NaN) to a binary format with
// `mantissa_bits` stored mantissa bits whose smallest normal number has fp32 biased
// exponent `min_normal_exp`. Returns the narrow magnitude bits (exponent << mantissa_bits |
// mantissa), which for large inputs run past the format's Inf/NaN codes: callers clamp.
//
// Valid only for formats whose smallest subnormal is far above the fp32 subnormals (fp16
// and fp8, not bf16): an fp32 subnormal input is handled as if it had the implicit bit,
// which is harmless because its shift is clamped to 31 and it rounds to zero anyway.
constexpr std::uint32_t round_magnitude(std::uint32_t a, int mantissa_bits,
                                        std::uint32_t min_normal_exp) {
  const std::uint32_t exp = a >> 23;
  const std::uint32_t significand = (a & 0x007FFFFFu) | 0x00800000u;  // 24 bits
  // Normal results drop 23 - mantissa_bits bits; subnormal results one more per binade
  // below the smallest normal. Clamped to 31: a larger shift would also round to 0.
  const std::uint32_t below = min_normal_exp - std::min(exp, min_normal_exp);
  const std::uint32_t shift =
      std::min<std::uint32_t>(static_cast<std::uint32_t>(23 - mantissa_bits) + below, 31);
  // Round half to even: add half - 1, plus 1 when the kept LSB is odd.
  const std::uint32_t half_minus_one = (1u << (shift - 1)) - 1;
  const std::uint32_t odd = (significand >> shift) & 1u;
  const std::uint32_t rounded = (significand + half_minus_one + odd) >> shift;
  // `rounded` still holds the implicit bit (value 1 << mantissa_bits) for normal results,
  // so the exponent field is built from (biased exponent - 1); a rounding carry into the
  // next binade, or from the largest subnormal into the smallest normal, adds itself.
  const std::uint32_t exp_minus_one = std::max(exp, min_normal_exp) - min_normal_exp;
  return (exp_minus_one << mantissa_bits) + rounded;
}

constexpr bool is_nan_f32_bits(std::uint32_t a) {
  return (a & 0x7FFFFFFFu) > 0x7F800000u;
}

}  // namespace float_detail

// IEEE 754 binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Max 65504.
struct float16 {
  static constexpr float16 from_bits(std::uint16_t bits) {
    float16 h;
    h.bits_ = bits;
    return h;
  }

  static constexpr float16 from_float(float x) {
    const std::uint32_t f = std::bit_cast<std::uint32_t>(x);
    const std::uint32_t a = f & 0x7FFFFFFFu;
    // 113 = 127 - 14: fp32 biased exponent of 2^-14, the smallest fp16 normal. Anything
    // that rounds past 0x7BFF lands at or beyond 0x7C00 and is clamped to Inf.
    std::uint32_t h = std::min<std::uint32_t>(float_detail::round_magnitude(a, 10, 113), 0x7C00u);
    h = float_detail::is_nan_f32_bits(a) ? (0x7E00u | ((a >> 13) & 0x01FFu)) : h;
    return from_bits(static_cast<std::uint16_t>(((f >> 16) & 0x8000u) | h));
  }

  constexpr float to_float() const {
    const std::uint32_t sign = static_cast<std::uint32_t>(bits_ & 0x8000u) << 16;
    const std::uint32_t exp = (bits_ >> 10) & 0x1Fu;
    const std::uint32_t mantissa = bits_ & 0x03FFu;
    std::uint32_t f = ((exp + 112) << 23) | (mantissa << 13);  // normal: rebias 15 -> 127
    // Inf, or NaN made quiet with its payload kept.
    f = exp == 0x1F ? (0x7F800000u | (mantissa << 13) | (mantissa != 0 ? 0x00400000u : 0u)) : f;
    // Zero and subnormals: mantissa * 2^-24, exact and normal in fp32.
    f = exp == 0 ? std::bit_cast<std::uint32_t>(static_cast<float>(mantissa) * 0x1p-24f) : f;
    return std::bit_cast<float>(sign | f);
  }

  constexpr std::uint16_t bits() const { return bits_; }
  constexpr bool is_nan() const { return (bits_ & 0x7FFFu) > 0x7C00u; }

 private:
  std::uint16_t bits_ = 0;
};

// bfloat16: the top half of an fp32: 1 sign, 8 exponent (bias 127), 7 mantissa bits.
struct bfloat16 {
  static constexpr bfloat16 from_bits(std::uint16_t bits) {
    bfloat16 b;
    b.bits_ = bits;
    return b;
  }

  static constexpr bfloat16 from_float(float x) {
    const std::uint32_t f = std::bit_cast<std::uint32_t>(x);
    // Same exponent range as fp32, so rounding is one add: half - 1 plus the kept LSB.
    // Subnormals round like normals; a carry out of the mantissa bumps the exponent, and
    // out of the largest finite values gives Inf. NaN must not go through the add (the
    // carry could turn it into Inf or flip the sign).
    const std::uint32_t rounded = (f + 0x7FFFu + ((f >> 16) & 1u)) >> 16;
    const std::uint32_t quiet_nan = (f >> 16) | 0x0040u;
    return from_bits(
        static_cast<std::uint16_t>(float_detail::is_nan_f32_bits(f) ? quiet_nan : rounded));
  }

  constexpr float to_float() const {
    const std::uint32_t f = static_cast<std::uint32_t>(bits_) << 16;
    return std::bit_cast<float>(is_nan() ? (f | 0x00400000u) : f);
  }

  constexpr std::uint16_t bits() const { return bits_; }
  constexpr bool is_nan() const { return (bits_ & 0x7FFFu) > 0x7F80u; }

 private:
  std::uint16_t bits_ = 0;
};

// OCP FP8 E4M3FN: 1 sign, 4 exponent (bias 7), 3 mantissa bits; no Inf, NaN only at
// S.1111.111. Max 448, smallest subnormal 2^-9.
struct float8e4m3fn {
  static constexpr float8e4m3fn from_bits(std::uint8_t bits) {
    float8e4m3fn v;
    v.bits_ = bits;
    return v;
  }

  static constexpr float8e4m3fn from_float(float x, bool saturate = true) {
    const std::uint32_t f = std::bit_cast<std::uint32_t>(x);
    const std::uint32_t a = f & 0x7FFFFFFFu;
    // 121 = 127 - 6: fp32 biased exponent of 2^-6, the smallest E4M3FN normal. Past 0x7E
    // (448) lies NaN (0x7F) and then nothing: clamp to 448 or to NaN. Inf (exponent 255)
    // takes the same path, which is what the ONNX table asks for.
    const std::uint32_t limit = saturate ? 0x7Eu : 0x7Fu;
    std::uint32_t v = std::min(float_detail::round_magnitude(a, 3, 121), limit);
    v = float_detail::is_nan_f32_bits(a) ? 0x7Fu : v;
    return from_bits(static_cast<std::uint8_t>(((f >> 24) & 0x80u) | v));
  }

  constexpr float to_float() const {
    const std::uint32_t sign = static_cast<std::uint32_t>(bits_ & 0x80u) << 24;
    const std::uint32_t exp = (bits_ >> 3) & 0x0Fu;
    const std::uint32_t mantissa = bits_ & 0x07u;
    std::uint32_t f = ((exp + 120) << 23) | (mantissa << 20);  // rebias 7 -> 127
    f = exp == 0 ? std::bit_cast<std::uint32_t>(static_cast<float>(mantissa) * 0x1p-9f) : f;
    f = is_nan() ? 0x7FC00000u : f;
    return std::bit_cast<float>(sign | f);
  }

  constexpr std::uint8_t bits() const { return bits_; }
  constexpr bool is_nan() const { return (bits_ & 0x7Fu) == 0x7Fu; }

 private:
  std::uint8_t bits_ = 0;
};

// OCP FP8 E5M2: 1 sign, 5 exponent (bias 15), 2 mantissa bits; IEEE-style Inf and NaN.
// The top byte of an fp16. Max 57344, smallest subnormal 2^-16.
struct float8e5m2 {
  static constexpr float8e5m2 from_bits(std::uint8_t bits) {
    float8e5m2 v;
    v.bits_ = bits;
    return v;
  }

  static constexpr float8e5m2 from_float(float x, bool saturate = true) {
    const std::uint32_t f = std::bit_cast<std::uint32_t>(x);
    const std::uint32_t a = f & 0x7FFFFFFFu;
    // Same exponent range as fp16 (113 = 127 - 14). Past 0x7B (57344) lies Inf (0x7C).
    // Rounding straight from fp32, not through fp16, which could round twice.
    const std::uint32_t limit = saturate ? 0x7Bu : 0x7Cu;
    std::uint32_t v = std::min(float_detail::round_magnitude(a, 2, 113), limit);
    v = float_detail::is_nan_f32_bits(a) ? 0x7Eu : v;
    return from_bits(static_cast<std::uint8_t>(((f >> 24) & 0x80u) | v));
  }

  constexpr float to_float() const {
    return float16::from_bits(static_cast<std::uint16_t>(bits_ << 8)).to_float();
  }

  constexpr std::uint8_t bits() const { return bits_; }
  constexpr bool is_nan() const { return (bits_ & 0x7Fu) > 0x7Cu; }

 private:
  std::uint8_t bits_ = 0;
};

static_assert(sizeof(float16) == 2 && std::is_trivially_copyable_v<float16>);
static_assert(sizeof(bfloat16) == 2 && std::is_trivially_copyable_v<bfloat16>);
static_assert(sizeof(float8e4m3fn) == 1 && std::is_trivially_copyable_v<float8e4m3fn>);
static_assert(sizeof(float8e5m2) == 1 && std::is_trivially_copyable_v<float8e5m2>);

// Spot checks of the rules above; tests/exhaustive covers every input.
static_assert(float16::from_float(1.0f).bits() == 0x3C00);
static_assert(float16::from_float(65520.0f).bits() == 0x7C00);
static_assert(bfloat16::from_float(1.0f).bits() == 0x3F80);
static_assert(float8e4m3fn::from_float(464.0f, false).bits() == 0x7E);
static_assert(float8e5m2::from_float(61440.0f, false).bits() == 0x7C);

}  // namespace lowp
