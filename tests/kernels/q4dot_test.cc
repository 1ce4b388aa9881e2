// tests/kernels/q4dot_test.cc: every int4 x int8 variant against the reference of q4dot.h,
// symmetric and with zero points, over sizes around the tiles (rows 1..5 and the 3-row
// wide tiles; outputs around the 16-wide panel and the 64-wide tile; inputs around the
// 8-wide octet and the groups).
//
// Tolerance: the integer dot products are exact on every path; what differs is the fp32
// sum over groups (fused multiply-adds in the kernels) and the final row scale and bias.
// With S = sa * sum_g |float(acc_g - zp sum_g) * scale_g| + |bias| and G groups, the two
// results are within (G + 3) * 2^-23 * S.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "base/thread_pool.h"
#include "kernel_test_util.h"
#include "kernels/q4dot/q4dot.h"
#include "kernels/quantize/quantize.h"

namespace lowp {
namespace {

struct Case {
  int m, n, k, group;
  bool zero_points;
};

void check(const Case& c, bool use_bias, Activation act, ThreadPool* pool = nullptr) {
  std::uint64_t seed = static_cast<std::uint64_t>(c.m * 7 + c.n * 131 + c.k * 1031 + c.group);
  const int groups = (c.k + c.group - 1) / c.group;
  std::vector<float> a =
      testing::random_floats(static_cast<std::size_t>(c.m) * c.k, seed, -3.0f, 3.0f);
  if (a.size() > 5) a[5] = std::nanf("");  // quantizes to 0 on every path
  auto u = testing::random_ints<std::uint8_t>(static_cast<std::size_t>(c.n) * c.k, seed + 1, 0, 15);
  std::vector<float> scales =
      testing::random_floats(static_cast<std::size_t>(c.n) * groups, seed + 2, 0.001f, 0.1f);
  auto zps =
      testing::random_ints<std::uint8_t>(static_cast<std::size_t>(c.n) * groups, seed + 3, 0, 15);
  std::vector<float> bias = testing::random_floats(static_cast<std::size_t>(c.n), seed + 4);
  const std::uint8_t* zp = c.zero_points ? zps.data() : nullptr;
  const float* b = use_bias ? bias.data() : nullptr;
  std::vector<float> want(static_cast<std::size_t>(c.m) * c.n);
  q4dot_gemm_ref(c.m, c.n, c.k, c.group, a.data(), static_cast<std::size_t>(c.k), u.data(),
                 scales.data(), zp, b, act, want.data(), static_cast<std::size_t>(c.n));

  // The bound S of the header, from the specification's quantized activations.
  std::vector<float> bound(want.size());
  for (int i = 0; i < c.m; ++i) {
    float absmax = 0.0f;
    for (int kk = 0; kk < c.k; ++kk) {
      float v = a[static_cast<std::size_t>(i) * c.k + kk];
      if (!std::isnan(v)) absmax = std::max(absmax, std::fabs(v));
    }
    float sa = absmax == 0.0f ? 1.0f : absmax / 127.0f;
    for (int j = 0; j < c.n; ++j) {
      double s = use_bias ? std::fabs(bias[static_cast<std::size_t>(j)]) : 0.0;
      for (int g = 0; g < groups; ++g) {
        std::size_t gi = static_cast<std::size_t>(j) * groups + g;
        int z = zp ? zp[gi] : 8;
        double group_sum = 0.0;
        for (int kk = g * c.group; kk < std::min(c.k, (g + 1) * c.group); ++kk) {
          int q = quantize_value(a[static_cast<std::size_t>(i) * c.k + kk], sa, 0, -127, 127);
          group_sum += (u[static_cast<std::size_t>(j) * c.k + kk] - z) * q;
        }
        s += std::fabs(group_sum * scales[gi]) * sa;
      }
      bound[static_cast<std::size_t>(i) * c.n + j] = static_cast<float>(s);
    }
  }

  PackedQ4DotWeights w = pack_q4dot(u.data(), scales.data(), zp, c.n, c.k, c.group);
  for (const auto& variant : testing::variants_to_test(q4dot_kernels())) {
    testing::GuardedBuffer<float> a_guarded(a.size());
    std::copy(a.begin(), a.end(), a_guarded.data());
    testing::GuardedBuffer<float> got(want.size());
    QuantizedRows scratch;
    q4dot_gemm_with(variant.fn, a_guarded.data(), c.m, static_cast<std::size_t>(c.k), w, b, act,
                    got.data(), static_cast<std::size_t>(c.n), scratch, pool);
    int reported = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
      float tol = static_cast<float>(groups + 3) * std::ldexp(1.0f, -23) * bound[i];
      if (!(std::fabs(got[i] - want[i]) <= tol) && reported++ < 5) {
        ADD_FAILURE() << variant.name << " m=" << c.m << " n=" << c.n << " k=" << c.k
                      << " group=" << c.group << " zp=" << c.zero_points << " at " << i << ": got "
                      << got[i] << ", reference " << want[i] << ", tol " << tol;
      }
    }
  }
}

TEST(Q4Dot, EveryVariantMatchesReferenceAroundTiles) {
  for (int m : {1, 2, 3, 4, 5, 7})
    for (int n : {1, 15, 16, 17, 33, 50, 64, 65})
      for (int k : {1, 7, 8, 9, 31, 32, 33, 100}) {
        check({m, n, k, 32, false}, true, Activation::relu);
        check({m, n, k, 32, true}, false, Activation::none);
      }
}

TEST(Q4Dot, GroupSizes) {
  for (int group : {8, 16, 32, 64, 128})
    for (int k : {1, 63, 64, 65, 129, 300}) {
      check({3, 40, k, group, false}, true, Activation::none);
      check({5, 40, k, group, true}, true, Activation::relu);
    }
  check({2, 4096, 4096, 32, false}, true, Activation::none);
}

TEST(Q4Dot, ThreadsGiveTheSameBits) {
  const int m = 37, n = 50, k = 100;
  std::vector<float> a = testing::random_floats(static_cast<std::size_t>(m) * k, 5);
  auto u = testing::random_ints<std::uint8_t>(static_cast<std::size_t>(n) * k, 6, 0, 15);
  std::vector<float> scales(static_cast<std::size_t>(n) * 4, 0.02f);
  PackedQ4DotWeights w = pack_q4dot(u.data(), scales.data(), nullptr, n, k, 32);
  std::vector<float> one(static_cast<std::size_t>(m) * n), two(one.size());
  QuantizedRows scratch;
  q4dot_gemm(a.data(), m, k, w, nullptr, Activation::none, one.data(), n, scratch);
  ThreadPool pool(3);
  q4dot_gemm(a.data(), m, k, w, nullptr, Activation::none, two.data(), n, scratch, &pool);
  EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * sizeof(float)));
}

TEST(Q4Dot, RejectsBadWeights) {
  std::uint8_t u[8] = {16, 0, 0, 0, 0, 0, 0, 0};
  float s = 1.0f;
  EXPECT_THROW(pack_q4dot(u, &s, nullptr, 1, 8, 8), Error);  // 16 is not 4-bit
  u[0] = 1;
  EXPECT_THROW(pack_q4dot(u, &s, nullptr, 1, 8, 12), Error);  // group not a multiple of 8
  std::uint8_t zp = 20;
  EXPECT_THROW(pack_q4dot(u, &s, &zp, 1, 8, 8), Error);
  float bad = -1.0f;
  EXPECT_THROW(pack_q4dot(u, &bad, nullptr, 1, 8, 8), Error);
}

}  // namespace
}  // namespace lowp
