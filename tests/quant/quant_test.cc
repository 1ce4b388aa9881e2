// tests/quant/quant_test.cc: observers, the choice of u8 parameters, and the symmetric
// weight schemes (per channel int8, per group int4 with a short last group).
#include <gtest/gtest.h>

#include <cmath>

#include "base/error.h"
#include "kernels/quantize/quantize.h"
#include "quant/observer.h"
#include "quant/weight_quant.h"

namespace lowp {
namespace {

TEST(Observer, RangeSkipsNonFinite) {
  MinMaxObserver o;
  std::vector<float> a = {1.0f, -2.0f, std::nanf(""), 5.0f, INFINITY};
  o.observe(a);
  EXPECT_EQ(o.min(), -2.0f);
  EXPECT_EQ(o.max(), 5.0f);
  EXPECT_EQ(o.non_finite(), 2u);
  EXPECT_EQ(o.seen(), 3u);
}

TEST(ChooseU8, ZeroIsExactAndDegenerateRangesAreSafe) {
  AffineParams p = choose_u8_params(-1.0f, 3.0f);
  EXPECT_FLOAT_EQ(p.scale, 4.0f / 255.0f);
  EXPECT_EQ(p.zero_point, 64);  // round(1 / (4/255)) = round(63.75)
  EXPECT_EQ(quantize_value(0.0f, p.scale, p.zero_point, 0, 255), p.zero_point);
  AffineParams relu = choose_u8_params(0.0f, 6.0f);
  EXPECT_EQ(relu.zero_point, 0);
  AffineParams zero = choose_u8_params(0.0f, 0.0f);
  EXPECT_EQ(zero.scale, 1.0f);
  EXPECT_EQ(zero.zero_point, 0);
  AffineParams positive = choose_u8_params(2.0f, 2.0f);  // constant 2: range [0, 2]
  EXPECT_EQ(dequantize_value(quantize_value(2.0f, positive.scale, positive.zero_point, 0, 255),
                             positive.scale, positive.zero_point),
            2.0f);
  EXPECT_THROW(choose_u8_params(NAN, 1.0f), Error);
}

TEST(WeightQuant, PerChannelInt8) {
  std::vector<float> w = {0.5f, -1.0f, 0.25f, 0.0f, 0.0f, 0.0f, 2.0f, 1.0f, -0.5f};
  QuantizedWeights q = quantize_per_channel_s8(w.data(), 3, 3);
  ASSERT_EQ(q.scales.size(), 3u);
  EXPECT_FLOAT_EQ(q.scales[0], 1.0f / 127.0f);
  EXPECT_EQ(q.scales[1], 1.0f);  // all-zero channel
  EXPECT_EQ(q.q[1], -127);
  EXPECT_EQ(q.q[0], 64);  // 63.5 rounds to even
  EXPECT_EQ(q.q[6], 127);
  for (int i = 3; i < 6; ++i) EXPECT_EQ(q.q[static_cast<std::size_t>(i)], 0);
}

TEST(WeightQuant, GroupwiseInt4WithShortLastGroup) {
  // k = 5, group 2: groups [0, 2), [2, 4), [4, 5).
  std::vector<float> w = {7.0f, -3.5f, 0.7f, 0.1f, -14.0f};
  QuantizedWeights q = quantize_groupwise_s4(w.data(), 1, 5, 2);
  ASSERT_EQ(q.groups(), 3);
  ASSERT_EQ(q.scales.size(), 3u);
  EXPECT_FLOAT_EQ(q.scales[0], 1.0f);
  EXPECT_FLOAT_EQ(q.scales[1], 0.1f);
  EXPECT_FLOAT_EQ(q.scales[2], 2.0f);
  EXPECT_EQ(q.q[0], 7);
  EXPECT_EQ(q.q[1], -4);  // -3.5 to even
  EXPECT_EQ(q.q[2], 7);
  EXPECT_EQ(q.q[3], 1);
  EXPECT_EQ(q.q[4], -7);
  EXPECT_FLOAT_EQ(q.scale_of(0, 4), 2.0f);
  std::vector<float> bad = {1.0f, NAN};
  EXPECT_THROW(quantize_groupwise_s4(bad.data(), 1, 2, 32), Error);
  EXPECT_THROW(quantize_groupwise_s4(w.data(), 1, 5, 0), Error);
}

}  // namespace
}  // namespace lowp
