// tests/kernels/quantize_test.cc: the quantization rule (ties to even, saturation, NaN to
// the zero point) and every SIMD variant equal to the reference bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "kernel_test_util.h"
#include "kernels/quantize/quantize.h"

namespace lowp {
namespace {

TEST(QuantizeValue, FollowsQuantizeLinear) {
  EXPECT_EQ(quantize_value(0.5f, 1.0f, 0, 0, 255), 0);  // tie to even
  EXPECT_EQ(quantize_value(1.5f, 1.0f, 0, 0, 255), 2);
  EXPECT_EQ(quantize_value(2.5f, 1.0f, 0, 0, 255), 2);
  EXPECT_EQ(quantize_value(-2.5f, 1.0f, 0, -128, 127), -2);
  EXPECT_EQ(quantize_value(1.0f, 0.1f, 10, 0, 255), 20);
  EXPECT_EQ(quantize_value(1e9f, 0.1f, 10, 0, 255), 255);  // saturates
  EXPECT_EQ(quantize_value(-1e9f, 0.1f, 10, -128, 127), -128);
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(quantize_value(inf, 1.0f, 3, 0, 255), 255);
  EXPECT_EQ(quantize_value(-inf, 1.0f, 3, 0, 255), 0);
  EXPECT_EQ(quantize_value(std::nanf(""), 1.0f, 3, 0, 255), 3);  // NaN -> zero point
  EXPECT_FLOAT_EQ(dequantize_value(20, 0.1f, 10), 1.0f);
}

std::vector<float> tricky_inputs(std::size_t n) {
  std::vector<float> x = testing::random_floats(n, n + 1, -40.0f, 40.0f);
  const float specials[] = {0.0f,
                            -0.0f,
                            0.5f,
                            1.5f,
                            2.5f,
                            -0.5f,
                            -1.5f,
                            127.5f,
                            128.5f,
                            -128.5f,
                            1e30f,
                            -1e30f,
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::nanf(""),
                            std::numeric_limits<float>::denorm_min(),
                            255.5f,
                            -3.5f};
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 3 == 0) x[i] = specials[(i / 3) % std::size(specials)] * 0.25f;  // scale is 0.25
  }
  return x;
}

TEST(Quantize, EveryVariantBitExact) {
  for (std::size_t n : {0u, 1u, 7u, 8u, 9u, 15u, 16u, 17u, 31u, 33u, 100u, 1001u}) {
    std::vector<float> x = tricky_inputs(n);
    for (std::int32_t zp : {0, 3, 128}) {
      std::vector<std::uint8_t> want_u8(n);
      quantize_u8_scalar(x.data(), n, 0.25f, zp, want_u8.data());
      for (const auto& v : testing::variants_to_test(quantize_u8_kernels())) {
        testing::GuardedBuffer<std::uint8_t> got(n);
        v.fn(x.data(), n, 0.25f, zp, got.data());
        for (std::size_t i = 0; i < n; ++i)
          ASSERT_EQ(got[i], want_u8[i]) << v.name << " n=" << n << " i=" << i << " x=" << x[i];
      }
      std::vector<std::int8_t> want_s8(n);
      quantize_s8_scalar(x.data(), n, 0.25f, zp - 64, want_s8.data());
      for (const auto& v : testing::variants_to_test(quantize_s8_kernels())) {
        testing::GuardedBuffer<std::int8_t> got(n);
        v.fn(x.data(), n, 0.25f, zp - 64, got.data());
        for (std::size_t i = 0; i < n; ++i)
          ASSERT_EQ(got[i], want_s8[i]) << v.name << " n=" << n << " i=" << i << " x=" << x[i];
      }
      std::vector<float> want_f(n);
      dequantize_u8_scalar(want_u8.data(), n, 0.25f, zp, want_f.data());
      for (const auto& v : testing::variants_to_test(dequantize_u8_kernels())) {
        testing::GuardedBuffer<float> got(n);
        v.fn(want_u8.data(), n, 0.25f, zp, got.data());
        for (std::size_t i = 0; i < n; ++i)
          ASSERT_EQ(testing::float_bits(got[i]), testing::float_bits(want_f[i])) << v.name;
      }
    }
  }
}

TEST(QuantizeS8Sums, EveryVariantBitExact) {
  for (std::size_t n : {1u, 15u, 16u, 17u, 31u, 32u, 100u, 4096u})
    for (std::size_t group : {8u, 16u, 32u, 64u, 128u}) {
      std::vector<float> x = tricky_inputs(n);
      std::size_t groups = (n + group - 1) / group;
      std::vector<std::int8_t> want_q(n);
      std::vector<std::int32_t> want_sums(groups);
      quantize_s8_sums_ref(x.data(), n, 0.25f, want_q.data(), group, want_sums.data());
      for (const auto& v : testing::variants_to_test(quantize_s8_sums_kernels())) {
        testing::GuardedBuffer<std::int8_t> q(n);
        testing::GuardedBuffer<std::int32_t> sums(groups);
        v.fn(x.data(), n, 0.25f, q.data(), group, sums.data());
        for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(q[i], want_q[i]) << v.name << " n=" << n;
        for (std::size_t g = 0; g < groups; ++g)
          ASSERT_EQ(sums[g], want_sums[g]) << v.name << " n=" << n << " group=" << group;
      }
    }
}

TEST(AbsMax, EveryVariantExactIgnoringNaN) {
  for (std::size_t n : {0u, 1u, 7u, 8u, 9u, 15u, 16u, 17u, 100u, 1001u}) {
    std::vector<float> x = testing::random_floats(n, n + 3, -5.0f, 5.0f);
    if (n > 2) x[n / 2] = std::nanf("");
    if (n > 3) x[1] = -7.5f;  // the largest magnitude is negative
    float want = absmax_ref(x.data(), n);
    if (n > 3) {
      EXPECT_EQ(want, 7.5f);
    }
    for (const auto& v : testing::variants_to_test(absmax_kernels())) {
      testing::GuardedBuffer<float> in(n);
      std::copy(x.begin(), x.end(), in.data());
      EXPECT_EQ(v.fn(in.data(), n), want) << v.name << " n=" << n;
      if (n > 5) {
        in[n - 1] = -std::numeric_limits<float>::infinity();
        EXPECT_EQ(v.fn(in.data(), n), std::numeric_limits<float>::infinity()) << v.name;
      }
    }
  }
}

}  // namespace
}  // namespace lowp
