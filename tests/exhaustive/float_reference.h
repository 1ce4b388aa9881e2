// tests/exhaustive/float_reference.h: the plain reference for fp32 <-> narrow floats.
//
// One generic narrowing function for every format, written for obviousness, not speed, and
// independently of base/float_types.h: it decodes the fp32 into sign, a 24-bit integer
// significand and an unbounded exponent (value = significand * 2^exponent, exactly), finds
// the quantum of the target format at that magnitude, divides with integer arithmetic and
// rounds half to even by comparing the remainder with half the quantum, then applies the
// overflow table of the ONNX Cast operator (see base/float_types.h for the rules):
//
//   input NaN                -> NaN
//   input +-Inf or overflow  -> saturate ? +-max finite : (has Inf ? +-Inf : NaN)
//
// where "overflow" is a rounded value above the max finite value. ONNX states saturation
// as clip-to-[-max, max] then round; since max is representable and rounding is monotonic,
// that equals round-then-saturate, which is what this code does.
//
// A NaN result is returned as the format's canonical quiet NaN with the input's sign
// (exponent all ones and the top mantissa bit set; all ones for E4M3FN). The fast types
// may keep payload bits; tests compare NaN-ness and sign, and the documented bits.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace lowp::reference {

enum class NanEncoding {
  ieee,      // exponent all ones, mantissa non-zero; all ones with mantissa 0 is Inf
  all_ones,  // only S.111...1 is NaN; the rest of the top binade holds finite values
};

struct NarrowFormat {
  int exponent_bits;
  int mantissa_bits;
  bool has_infinity;
  NanEncoding nan;
};

inline constexpr NarrowFormat kFloat16{5, 10, true, NanEncoding::ieee};
inline constexpr NarrowFormat kBFloat16{8, 7, true, NanEncoding::ieee};
inline constexpr NarrowFormat kFloat8E4M3FN{4, 3, false, NanEncoding::all_ones};
inline constexpr NarrowFormat kFloat8E5M2{5, 2, true, NanEncoding::ieee};

struct FormatConstants {
  int width;  // total bits
  int bias;
  int max_biased_exp;            // largest biased exponent of a finite value
  std::int64_t max_significand;  // largest significand (implicit bit included) at that exponent
  std::uint32_t sign_bit;
  std::uint32_t max_finite;
  std::uint32_t infinity;  // only meaningful with has_infinity
  std::uint32_t quiet_nan;
};

inline FormatConstants constants(const NarrowFormat& fmt) {
  const int e = fmt.exponent_bits;
  const int m = fmt.mantissa_bits;
  FormatConstants c{};
  c.width = 1 + e + m;
  c.bias = (1 << (e - 1)) - 1;
  const std::uint32_t top_exp = (1u << e) - 1;
  if (fmt.nan == NanEncoding::ieee) {
    c.max_biased_exp = static_cast<int>(top_exp) - 1;
    c.max_significand = (std::int64_t{1} << (m + 1)) - 1;
    c.quiet_nan = (top_exp << m) | (1u << (m - 1));
  } else {
    c.max_biased_exp = static_cast<int>(top_exp);
    c.max_significand = (std::int64_t{1} << (m + 1)) - 2;
    c.quiet_nan = (1u << (e + m)) - 1;
  }
  c.sign_bit = 1u << (e + m);
  c.max_finite = (static_cast<std::uint32_t>(c.max_biased_exp) << m) |
                 static_cast<std::uint32_t>(c.max_significand - (std::int64_t{1} << m));
  c.infinity = top_exp << m;
  return c;
}

inline bool is_nan(const NarrowFormat& fmt, std::uint32_t bits) {
  const FormatConstants c = constants(fmt);
  const std::uint32_t magnitude = bits & (c.sign_bit - 1);
  if (fmt.nan == NanEncoding::all_ones) return magnitude == c.sign_bit - 1;
  return magnitude > c.infinity;
}

// The rows of the ONNX Cast table that an fp32 input falls in.
enum class InputClass { nan, infinity, out_of_range, in_range };

struct Rounded {
  InputClass input_class;
  std::uint32_t bits;  // in_range: the result; otherwise only the sign bit
};

// Rounds an fp32 bit pattern to the format, with an unbounded exponent, and says whether the
// result is in range (at most the max finite value) or which special row applies.
inline Rounded round_to_format(std::uint32_t f32_bits, const NarrowFormat& fmt) {
  const FormatConstants c = constants(fmt);
  const int m = fmt.mantissa_bits;
  const std::uint32_t sign = (f32_bits >> 31) != 0 ? c.sign_bit : 0;
  const int biased = static_cast<int>((f32_bits >> 23) & 0xFF);
  const std::int64_t fraction = f32_bits & 0x7FFFFF;

  if (biased == 255) {
    return {fraction != 0 ? InputClass::nan : InputClass::infinity, sign};
  }

  // value = significand * 2^exponent, exactly.
  std::int64_t significand = 0;
  int exponent = 0;
  if (biased == 0) {
    significand = fraction;
    exponent = -149;
  } else {
    significand = fraction + (std::int64_t{1} << 23);
    exponent = biased - 150;
  }
  if (significand == 0) return {InputClass::in_range, sign};

  // The value lies in [2^k, 2^(k+1)) with k = exponent + (index of the leading bit).
  const int leading = std::bit_width(static_cast<std::uint64_t>(significand)) - 1;
  const int k = exponent + leading;

  // In the target, a value with leading exponent k >= emin is a multiple of 2^(k - m);
  // below emin (subnormal), of 2^(emin - m).
  const int emin = 1 - c.bias;
  int scale = k > emin ? k : emin;
  const int quantum_exp = scale - m;

  // n = value / 2^quantum_exp, rounded half to even.
  const int shift = quantum_exp - exponent;
  std::int64_t n = 0;
  if (shift <= 0) {
    n = significand << -shift;  // exact (the format has at least as many digits here)
  } else if (shift > 40) {
    n = 0;  // significand < 2^24: far below half a quantum
  } else {
    const std::int64_t quotient = significand >> shift;
    const std::int64_t remainder = significand - (quotient << shift);
    const std::int64_t half = std::int64_t{1} << (shift - 1);
    n = quotient;
    if (remainder > half || (remainder == half && (quotient & 1) != 0)) n += 1;
  }

  if (n == 0) return {InputClass::in_range, sign};  // underflow to a zero of x's sign
  if (n == (std::int64_t{1} << (m + 1))) {          // rounding carried into the next binade
    n >>= 1;
    scale += 1;
  }

  if (n < (std::int64_t{1} << m)) {  // subnormal: exponent field 0
    return {InputClass::in_range, sign | static_cast<std::uint32_t>(n)};
  }
  const int biased_out = scale + c.bias;
  if (biased_out > c.max_biased_exp || (biased_out == c.max_biased_exp && n > c.max_significand)) {
    return {InputClass::out_of_range, sign};
  }
  const std::int64_t mantissa = n - (std::int64_t{1} << m);
  return {InputClass::in_range, sign | (static_cast<std::uint32_t>(biased_out) << m) |
                                    static_cast<std::uint32_t>(mantissa)};
}

// The ONNX Cast table, applied to a rounded input. fp16 and bf16 have no saturate
// attribute: call them with saturate = false (IEEE overflow to Inf).
inline std::uint32_t apply_cast_table(const Rounded& r, const NarrowFormat& fmt, bool saturate) {
  const FormatConstants c = constants(fmt);
  switch (r.input_class) {
    case InputClass::nan:
      return r.bits | c.quiet_nan;
    case InputClass::infinity:
    case InputClass::out_of_range:
      if (saturate) return r.bits | c.max_finite;
      return r.bits | (fmt.has_infinity ? c.infinity : c.quiet_nan);
    case InputClass::in_range:
      return r.bits;
  }
  return 0;
}

// fp32 bit pattern -> narrow bit pattern (in the low `width` bits).
inline std::uint32_t narrow(std::uint32_t f32_bits, const NarrowFormat& fmt, bool saturate) {
  return apply_cast_table(round_to_format(f32_bits, fmt), fmt, saturate);
}

// Narrow bit pattern -> fp32 value. NaN gives a quiet NaN with the pattern's sign.
inline float widen(std::uint32_t bits, const NarrowFormat& fmt) {
  const FormatConstants c = constants(fmt);
  const int m = fmt.mantissa_bits;
  const bool negative = (bits & c.sign_bit) != 0;
  const int biased = static_cast<int>((bits >> m) & ((1u << fmt.exponent_bits) - 1));
  const std::int64_t mantissa = bits & ((1u << m) - 1);

  double magnitude = 0.0;
  if (is_nan(fmt, bits)) {
    magnitude = std::numeric_limits<double>::quiet_NaN();
  } else if (fmt.has_infinity && (bits & (c.sign_bit - 1)) == c.infinity) {
    magnitude = std::numeric_limits<double>::infinity();
  } else if (biased == 0) {
    magnitude = std::ldexp(static_cast<double>(mantissa), 1 - c.bias - m);
  } else {
    magnitude =
        std::ldexp(static_cast<double>(mantissa + (std::int64_t{1} << m)), biased - c.bias - m);
  }
  // Every finite value of these formats is exact in fp32, so the cast does not round.
  const float result = static_cast<float>(magnitude);
  return std::copysign(result, negative ? -1.0f : 1.0f);
}

}  // namespace lowp::reference
