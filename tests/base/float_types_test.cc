// tests/base/float_types_test.cc: hand-checked values of the low-precision float types.
//
// Each expected bit pattern here was worked out by hand from the format and the rules in
// base/float_types.h (ONNX Cast); tests/exhaustive checks every input against a reference.
#include "base/float_types.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace lowp {
namespace {

float f32(std::uint32_t bits) {
  return std::bit_cast<float>(bits);
}
std::uint32_t bits_of(float x) {
  return std::bit_cast<std::uint32_t>(x);
}

constexpr float kInf = std::numeric_limits<float>::infinity();

std::uint16_t h(float x) {
  return float16::from_float(x).bits();
}
std::uint16_t bf(float x) {
  return bfloat16::from_float(x).bits();
}
std::uint8_t e4(float x, bool saturate) {
  return float8e4m3fn::from_float(x, saturate).bits();
}
std::uint8_t e5(float x, bool saturate) {
  return float8e5m2::from_float(x, saturate).bits();
}

TEST(Float16, FromFloat) {
  EXPECT_EQ(h(1.0f), 0x3C00);
  EXPECT_EQ(h(-2.0f), 0xC000);
  EXPECT_EQ(h(0.0f), 0x0000);
  EXPECT_EQ(h(-0.0f), 0x8000);
  EXPECT_EQ(h(65504.0f), 0x7BFF);    // max finite
  EXPECT_EQ(h(65519.996f), 0x7BFF);  // just below the midpoint to 65536
  EXPECT_EQ(h(65520.0f), 0x7C00);    // the midpoint ties to even: Inf
  EXPECT_EQ(h(-1e6f), 0xFC00);
  EXPECT_EQ(h(kInf), 0x7C00);
  EXPECT_EQ(h(-kInf), 0xFC00);
  EXPECT_EQ(h(1.0f + 0x1p-11f), 0x3C00);             // tie between 1 and 1+2^-10: even is 1
  EXPECT_EQ(h(1.0f + 3 * 0x1p-11f), 0x3C02);         // tie between 0x3C01 and 0x3C02: even
  EXPECT_EQ(h(1.0f + 0x1p-11f + 0x1p-20f), 0x3C01);  // just past the tie
  EXPECT_EQ(h(0x1p-14f), 0x0400);                    // smallest normal
  EXPECT_EQ(h(0x1p-24f), 0x0001);                    // smallest subnormal
  EXPECT_EQ(h(-0x1p-24f), 0x8001);
  EXPECT_EQ(h(0x1p-25f), 0x0000);         // half the smallest subnormal: tie to 0
  EXPECT_EQ(h(-0x1p-25f), 0x8000);        // ... keeping the sign
  EXPECT_EQ(h(0x1.000002p-25f), 0x0001);  // just past it
  EXPECT_EQ(h(3 * 0x1p-25f), 0x0002);     // 1.5 quanta: tie to even 2
  EXPECT_EQ(h(0x1.ff8p-15f), 0x03FF);     // largest subnormal, 1023 * 2^-24
  EXPECT_EQ(h(0x1.ffcp-15f), 0x0400);     // 1023.5 quanta rounds up into the normals
  EXPECT_EQ(h(f32(0x00000001)), 0x0000);  // fp32 subnormals are far below fp16's
  EXPECT_EQ(h(f32(0x80000001)), 0x8000);
}

TEST(Float16, NaN) {
  EXPECT_EQ(h(f32(0x7FC00000)), 0x7E00);  // quiet NaN
  EXPECT_EQ(h(f32(0xFFC00000)), 0xFE00);  // sign kept
  EXPECT_EQ(h(f32(0x7F800001)), 0x7E00);  // signalling, payload below fp16's: quieted
  EXPECT_EQ(h(f32(0x7FA00000)), 0x7F00);  // signalling with top payload bit: kept, quieted
  EXPECT_EQ(h(f32(0x7FFFFFFF)), 0x7FFF);
  EXPECT_TRUE(float16::from_float(std::nanf("")).is_nan());
}

TEST(Float16, ToFloat) {
  EXPECT_EQ(float16::from_bits(0x3C00).to_float(), 1.0f);
  EXPECT_EQ(float16::from_bits(0x7BFF).to_float(), 65504.0f);
  EXPECT_EQ(float16::from_bits(0x0001).to_float(), 0x1p-24f);
  EXPECT_EQ(float16::from_bits(0x03FF).to_float(), 1023 * 0x1p-24f);
  EXPECT_EQ(float16::from_bits(0x0400).to_float(), 0x1p-14f);
  EXPECT_EQ(bits_of(float16::from_bits(0x8000).to_float()), 0x80000000u);
  EXPECT_EQ(float16::from_bits(0x7C00).to_float(), kInf);
  EXPECT_EQ(float16::from_bits(0xFC00).to_float(), -kInf);
  EXPECT_EQ(bits_of(float16::from_bits(0x7E00).to_float()), 0x7FC00000u);
  EXPECT_EQ(bits_of(float16::from_bits(0xFC01).to_float()), 0xFFC02000u);  // quieted
}

TEST(BFloat16, FromFloat) {
  EXPECT_EQ(bf(1.0f), 0x3F80);
  EXPECT_EQ(bf(-1.0f), 0xBF80);
  EXPECT_EQ(bf(-0.0f), 0x8000);
  EXPECT_EQ(bf(1.0f + 0x1p-8f), 0x3F80);                     // tie between 1 and 1+2^-7: even
  EXPECT_EQ(bf(1.0f + 3 * 0x1p-8f), 0x3F82);                 // tie between 0x3F81 and 0x3F82: even
  EXPECT_EQ(bf(1.0f + 0x1p-8f + 0x1p-23f), 0x3F81);          // just past the tie
  EXPECT_EQ(bf(std::numeric_limits<float>::max()), 0x7F80);  // rounds up to Inf
  EXPECT_EQ(bf(f32(0x7F7F7FFF)), 0x7F7F);                    // just below that midpoint
  EXPECT_EQ(bf(-kInf), 0xFF80);
  // fp32 subnormals round like any other value (no flush to zero).
  EXPECT_EQ(bf(f32(0x00000001)), 0x0000);
  EXPECT_EQ(bf(f32(0x00008000)), 0x0000);  // tie to even 0
  EXPECT_EQ(bf(f32(0x00008001)), 0x0001);
  EXPECT_EQ(bf(f32(0x00018000)), 0x0002);  // tie to even 2
  EXPECT_EQ(bf(f32(0x00010000)), 0x0001);  // smallest bf16 subnormal, exact
  EXPECT_EQ(bf(f32(0x807FFFFF)), 0x8080);  // largest fp32 subnormal rounds up to -2^-126
}

TEST(BFloat16, NaN) {
  EXPECT_EQ(bf(f32(0x7FC00000)), 0x7FC0);
  EXPECT_EQ(bf(f32(0xFFC00000)), 0xFFC0);
  EXPECT_EQ(bf(f32(0x7F800001)), 0x7FC0);  // payload lost, quiet bit set, never Inf
  EXPECT_EQ(bf(f32(0xFF800001)), 0xFFC0);
  EXPECT_EQ(bf(f32(0x7FA00000)), 0x7FE0);
  EXPECT_EQ(bf(f32(0xFFFFFFFF)), 0xFFFF);  // would carry into bit 32 if it were rounded
  EXPECT_EQ(bits_of(bfloat16::from_bits(0x7F81).to_float()), 0x7FC10000u);  // quieted
  EXPECT_EQ(bits_of(bfloat16::from_bits(0xFFC0).to_float()), 0xFFC00000u);
  EXPECT_EQ(bfloat16::from_bits(0x7F80).to_float(), kInf);
  EXPECT_EQ(bfloat16::from_bits(0x0001).to_float(), 0x1p-133f);
}

TEST(Float8E4M3FN, FromFloat) {
  for (bool s : {true, false}) {
    SCOPED_TRACE(s ? "saturate=true" : "saturate=false");
    EXPECT_EQ(e4(1.0f, s), 0x38);
    EXPECT_EQ(e4(-1.0f, s), 0xB8);
    EXPECT_EQ(e4(-0.0f, s), 0x80);
    EXPECT_EQ(e4(448.0f, s), 0x7E);  // max finite
    EXPECT_EQ(e4(-448.0f, s), 0xFE);
    EXPECT_EQ(e4(464.0f, s), 0x7E);   // midpoint of 448 and 480: ties to even 448
    EXPECT_EQ(e4(0x1p-6f, s), 0x08);  // smallest normal
    EXPECT_EQ(e4(0x1p-9f, s), 0x01);  // smallest subnormal
    EXPECT_EQ(e4(-0x1p-9f, s), 0x81);
    EXPECT_EQ(e4(0x1p-10f, s), 0x00);  // half of it: tie to 0
    EXPECT_EQ(e4(-0x1p-10f, s), 0x80);
    EXPECT_EQ(e4(0x1.000002p-10f, s), 0x01);
    EXPECT_EQ(e4(3 * 0x1p-10f, s), 0x02);     // 1.5 quanta: tie to even 2
    EXPECT_EQ(e4(7 * 0x1p-9f, s), 0x07);      // largest subnormal
    EXPECT_EQ(e4(7.5f * 0x1p-9f, s), 0x08);   // rounds up into the normals
    EXPECT_EQ(e4(1.0625f, s), 0x38);          // tie between 1 and 1.125: even
    EXPECT_EQ(e4(1.1875f, s), 0x3A);          // tie between 1.125 and 1.25: even
    EXPECT_EQ(e4(f32(0x7FC00000), s), 0x7F);  // NaN in every mode
    EXPECT_EQ(e4(f32(0xFF800001), s), 0xFF);  // signalling NaN too, sign kept
  }
  // Saturating: out of range and Inf clamp to +-448.
  EXPECT_EQ(e4(464.00003f, true), 0x7E);
  EXPECT_EQ(e4(480.0f, true), 0x7E);
  EXPECT_EQ(e4(1e10f, true), 0x7E);
  EXPECT_EQ(e4(-1e10f, true), 0xFE);
  EXPECT_EQ(e4(kInf, true), 0x7E);
  EXPECT_EQ(e4(-kInf, true), 0xFE);
  // Not saturating: they become NaN, keeping the sign.
  EXPECT_EQ(e4(464.00003f, false), 0x7F);
  EXPECT_EQ(e4(480.0f, false), 0x7F);
  EXPECT_EQ(e4(-480.0f, false), 0xFF);
  EXPECT_EQ(e4(kInf, false), 0x7F);
  EXPECT_EQ(e4(-kInf, false), 0xFF);
}

TEST(Float8E4M3FN, ToFloat) {
  EXPECT_EQ(float8e4m3fn::from_bits(0x38).to_float(), 1.0f);
  EXPECT_EQ(float8e4m3fn::from_bits(0x7E).to_float(), 448.0f);
  EXPECT_EQ(float8e4m3fn::from_bits(0xFE).to_float(), -448.0f);
  EXPECT_EQ(float8e4m3fn::from_bits(0x78).to_float(), 256.0f);  // a finite value, not Inf
  EXPECT_EQ(float8e4m3fn::from_bits(0x01).to_float(), 0x1p-9f);
  EXPECT_EQ(float8e4m3fn::from_bits(0x07).to_float(), 7 * 0x1p-9f);
  EXPECT_EQ(float8e4m3fn::from_bits(0x08).to_float(), 0x1p-6f);
  EXPECT_EQ(bits_of(float8e4m3fn::from_bits(0x80).to_float()), 0x80000000u);
  EXPECT_EQ(bits_of(float8e4m3fn::from_bits(0x7F).to_float()), 0x7FC00000u);
  EXPECT_EQ(bits_of(float8e4m3fn::from_bits(0xFF).to_float()), 0xFFC00000u);
  EXPECT_TRUE(float8e4m3fn::from_bits(0xFF).is_nan());
  EXPECT_FALSE(float8e4m3fn::from_bits(0x7E).is_nan());
}

TEST(Float8E5M2, FromFloat) {
  for (bool s : {true, false}) {
    SCOPED_TRACE(s ? "saturate=true" : "saturate=false");
    EXPECT_EQ(e5(1.0f, s), 0x3C);
    EXPECT_EQ(e5(-0.0f, s), 0x80);
    EXPECT_EQ(e5(57344.0f, s), 0x7B);      // max finite
    EXPECT_EQ(e5(61439.996f, s), 0x7B);    // just below the midpoint to 65536
    EXPECT_EQ(e5(0x1p-14f, s), 0x04);      // smallest normal
    EXPECT_EQ(e5(0x1p-16f, s), 0x01);      // smallest subnormal
    EXPECT_EQ(e5(0x1p-17f, s), 0x00);      // tie to 0
    EXPECT_EQ(e5(3 * 0x1p-17f, s), 0x02);  // tie to even 2
    EXPECT_EQ(e5(1.125f, s), 0x3C);        // tie between 1 and 1.25: even
    EXPECT_EQ(e5(1.375f, s), 0x3E);        // tie between 1.25 and 1.5: even
    EXPECT_EQ(e5(f32(0x7FC00000), s), 0x7E);
    EXPECT_EQ(e5(f32(0xFF800001), s), 0xFE);
  }
  EXPECT_EQ(e5(61440.0f, true), 0x7B);  // saturating: out of range and Inf clamp
  EXPECT_EQ(e5(-1e10f, true), 0xFB);
  EXPECT_EQ(e5(kInf, true), 0x7B);
  EXPECT_EQ(e5(-kInf, true), 0xFB);
  EXPECT_EQ(e5(61440.0f, false), 0x7C);  // the midpoint ties to even 65536: Inf
  EXPECT_EQ(e5(-1e10f, false), 0xFC);
  EXPECT_EQ(e5(kInf, false), 0x7C);
  EXPECT_EQ(e5(-kInf, false), 0xFC);
}

TEST(Float8E5M2, ToFloat) {
  EXPECT_EQ(float8e5m2::from_bits(0x3C).to_float(), 1.0f);
  EXPECT_EQ(float8e5m2::from_bits(0x7B).to_float(), 57344.0f);
  EXPECT_EQ(float8e5m2::from_bits(0x01).to_float(), 0x1p-16f);
  EXPECT_EQ(float8e5m2::from_bits(0x7C).to_float(), kInf);
  EXPECT_EQ(float8e5m2::from_bits(0xFC).to_float(), -kInf);
  EXPECT_EQ(bits_of(float8e5m2::from_bits(0x7E).to_float()), 0x7FC00000u);
  EXPECT_EQ(bits_of(float8e5m2::from_bits(0x7D).to_float()), 0x7FE00000u);  // quieted
  EXPECT_EQ(bits_of(float8e5m2::from_bits(0xFF).to_float()), 0xFFE00000u);
}

// The conversions are constexpr.
static_assert(float8e5m2::from_float(57344.0f).bits() == 0x7B);
static_assert(float8e4m3fn::from_float(-448.0f).bits() == 0xFE);
static_assert(float16::from_bits(0x3C00).to_float() == 1.0f);
static_assert(bfloat16::from_float(1.0f + 0x1p-8f).bits() == 0x3F80);

}  // namespace
}  // namespace lowp
