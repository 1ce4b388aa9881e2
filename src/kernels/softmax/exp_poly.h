// kernels/softmax/exp_poly.h: the constants of the vector exp used by the SIMD softmax.
//
// exp(x) = 2^n * exp(r), n = round(x * log2(e)), r = x - n * ln2 with ln2 split in a high
// part (exact in fp32, so n * ln2_hi has no rounding error for |n| < 2^8) and a low part
// (Cody and Waite). |r| <= ln2 / 2, where a degree-6 Taylor polynomial evaluated by Horner
// is within about 1 ulp; 2^n is built in the exponent field. Inputs below kExpMin give 0
// (softmax subtracts the row maximum, so inputs are <= 0 and only underflow matters).
#pragma once

namespace lowp::exp_poly {

inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = -2.12194440e-4f;
inline constexpr float kExpMin = -87.33654475f;  // ln(FLT_MIN): below, the result is 0
inline constexpr float kC[7] = {1.0f,         1.0f,          0.5f,         1.0f / 6.0f,
                                1.0f / 24.0f, 1.0f / 120.0f, 1.0f / 720.0f};

}  // namespace lowp::exp_poly
