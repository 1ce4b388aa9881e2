// tests/kernels/gemm_test.cc: every dense-layer variant this CPU runs against the reference
// of gemm.h, for fp32, fp16, bf16 and int4 weights, over sizes around the tiles (rows
// 1..MR+1, outputs around the 16-wide panel and the 64-wide AVX-512 tile, inputs around
// the 4-wide int8 quads and the int4 groups), with bias and ReLU on and off.
//
// Tolerance: the reference and the kernel both sum k products in fp32, in the same order
// but the kernel with fused multiply-adds. Each sum is within gamma_k * S of exact, where
// S = sum |a_k w_k| (+ |bias|) and gamma_k = k u / (1 - k u), u = 2^-24; their difference is
// within 2 gamma_k S, bounded here by (k + 2) * 2^-23 * S. For int4 the per-group partial
// sums are also scaled: S uses |scale_g| * |a_k q_k|.
#include <gtest/gtest.h>

#include <cstring>

#include <cmath>

#include "base/float_types.h"
#include "base/thread_pool.h"
#include "kernel_test_util.h"
#include "kernels/gemm/gemm.h"

namespace lowp {
namespace {

using testing::GuardedBuffer;

struct Case {
  int m, n, k;
};

std::vector<Case> tile_cases() {
  std::vector<Case> cases;
  for (int m : {1, 2, 3, 4, 5, 7, 9})
    for (int n : {1, 10, 15, 16, 17, 33, 50, 63, 64, 65, 100})
      for (int k : {1, 3, 4, 5, 31, 32, 33, 100}) cases.push_back({m, n, k});
  cases.push_back({37, 129, 257});
  cases.push_back({3, 1000, 1003});
  // fp16 matrices of 1 MiB and more are stored in blocks of 4 panels (gemm.h): the batch-1
  // tile of 8 panels, ragged last blocks (1010 outputs: 64 panels, the last 2 wide).
  cases.push_back({1, 1000, 600});
  cases.push_back({9, 1010, 530});
  return cases;
}

// Weights of the given type, their packing, and the reference result.
void check(GemmWeights type, const Case& c, bool use_bias, ActivationParams act, int group = 32) {
  std::uint64_t seed = static_cast<std::uint64_t>(c.m * 1000003 + c.n * 1009 + c.k);
  std::vector<float> a = testing::random_floats(static_cast<std::size_t>(c.m) * c.k, seed);
  std::vector<float> bias = testing::random_floats(static_cast<std::size_t>(c.n), seed + 1);
  std::vector<float> w = testing::random_floats(static_cast<std::size_t>(c.n) * c.k, seed + 2);
  std::vector<float> expected(static_cast<std::size_t>(c.m) * c.n);
  std::vector<float> bound(expected.size());  // the S of the header, per output
  const float* b = use_bias ? bias.data() : nullptr;
  PackedGemmWeights packed;
  std::vector<std::uint16_t> bits(w.size());
  std::vector<float> w_exact(w.size());  // the weights as the kernel sees them
  int groups = (c.k + group - 1) / group;
  std::vector<std::int8_t> q(w.size());
  std::vector<float> scales(static_cast<std::size_t>(c.n) * groups);

  switch (type) {
    case GemmWeights::f32:
      packed = pack_gemm_f32(w.data(), c.n, c.k);
      w_exact = w;
      gemm_f32_ref(c.m, c.n, c.k, a.data(), c.k, w.data(), b, act, expected.data(), c.n);
      break;
    case GemmWeights::f16:
      for (std::size_t i = 0; i < w.size(); ++i) {
        bits[i] = float16::from_float(w[i]).bits();
        w_exact[i] = float16::from_bits(bits[i]).to_float();
      }
      packed = pack_gemm_f16(bits.data(), c.n, c.k);
      EXPECT_EQ(packed.blocked_panels, std::size_t{2} * c.n * c.k >= (std::size_t{1} << 20) ? 4 : 1);
      gemm_f16_ref(c.m, c.n, c.k, a.data(), c.k, bits.data(), b, act, expected.data(), c.n);
      break;
    case GemmWeights::bf16:
      for (std::size_t i = 0; i < w.size(); ++i) {
        bits[i] = bfloat16::from_float(w[i]).bits();
        w_exact[i] = bfloat16::from_bits(bits[i]).to_float();
      }
      packed = pack_gemm_bf16(bits.data(), c.n, c.k);
      gemm_bf16_ref(c.m, c.n, c.k, a.data(), c.k, bits.data(), b, act, expected.data(), c.n);
      break;
    case GemmWeights::q4: {
      std::vector<std::int8_t> r = testing::random_ints<std::int8_t>(w.size(), seed + 3, -8, 7);
      q = r;
      std::vector<float> s = testing::random_floats(scales.size(), seed + 4, 0.01f, 0.2f);
      scales = s;
      for (int j = 0; j < c.n; ++j)
        for (int kk = 0; kk < c.k; ++kk)
          w_exact[static_cast<std::size_t>(j) * c.k + kk] =
              scales[static_cast<std::size_t>(j) * groups + kk / group] *
              q[static_cast<std::size_t>(j) * c.k + kk];
      packed = pack_gemm_q4(q.data(), scales.data(), c.n, c.k, group);
      gemm_q4_ref(c.m, c.n, c.k, group, a.data(), c.k, q.data(), scales.data(), b, act,
                  expected.data(), c.n);
      break;
    }
  }
  for (int i = 0; i < c.m; ++i)
    for (int j = 0; j < c.n; ++j) {
      double s = use_bias ? std::fabs(bias[j]) : 0.0;
      for (int kk = 0; kk < c.k; ++kk)
        s += std::fabs(a[i * c.k + kk] * w_exact[static_cast<std::size_t>(j) * c.k + kk]);
      bound[static_cast<std::size_t>(i) * c.n + j] = static_cast<float>(s);
    }

  for (const auto& variant : testing::variants_to_test(gemm_kernels(type))) {
    // Activations and outputs end against a guard page.
    GuardedBuffer<float> a_guarded(a.size());
    std::copy(a.begin(), a.end(), a_guarded.data());
    GuardedBuffer<float> out(expected.size());
    GemmArgs args;
    args.m = c.m;
    args.a = a_guarded.data();
    args.lda = static_cast<std::size_t>(c.k);
    args.w = &packed;
    args.bias = b;
    args.act = act;
    args.c = out.data();
    args.ldc = static_cast<std::size_t>(c.n);
    gemm_with(variant.fn, args);
    int reported = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      float tol = static_cast<float>(c.k + 2) * std::ldexp(1.0f, -23) * bound[i];
      // gelu and silu: slope at most 1.13, plus their vector forms' 5e-7 (1 + |x|).
      if (!activation_is_exact(act.kind)) tol = 1.2f * tol + 5e-7f * (1.0f + bound[i]);
      if (std::fabs(out[i] - expected[i]) > tol && reported++ < 5) {
        ADD_FAILURE() << variant.name << " m=" << c.m << " n=" << c.n << " k=" << c.k
                      << " act=" << activation_name(act.kind) << " bias=" << use_bias << " at " << i
                      << ": got " << out[i] << ", reference " << expected[i] << ", tol " << tol;
      }
    }
  }
}

class GemmTest : public ::testing::TestWithParam<GemmWeights> {};

TEST_P(GemmTest, EveryVariantMatchesReferenceAroundTiles) {
  for (const Case& c : tile_cases()) {
    check(GetParam(), c, true, Activation::relu);
    check(GetParam(), c, false, Activation::none);
  }
}

TEST_P(GemmTest, ThreadCountDoesNotChangeBits) {
  Case c{67, 50, 100};
  std::vector<float> a = testing::random_floats(static_cast<std::size_t>(c.m) * c.k, 7);
  std::vector<float> w = testing::random_floats(static_cast<std::size_t>(c.n) * c.k, 8);
  std::vector<std::uint16_t> bits(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) bits[i] = float16::from_float(w[i]).bits();
  std::vector<std::int8_t> q = testing::random_ints<std::int8_t>(w.size(), 9, -8, 7);
  std::vector<float> scales(static_cast<std::size_t>(c.n) * 4, 0.05f);
  PackedGemmWeights packed;
  switch (GetParam()) {
    case GemmWeights::f32:
      packed = pack_gemm_f32(w.data(), c.n, c.k);
      break;
    case GemmWeights::f16:
      packed = pack_gemm_f16(bits.data(), c.n, c.k);
      break;
    case GemmWeights::bf16:
      packed = pack_gemm_bf16(bits.data(), c.n, c.k);
      break;
    case GemmWeights::q4:
      packed = pack_gemm_q4(q.data(), scales.data(), c.n, c.k, 32);
      break;
  }
  std::vector<float> one(static_cast<std::size_t>(c.m) * c.n), two(one.size());
  GemmArgs args{c.m,
                a.data(),
                static_cast<std::size_t>(c.k),
                &packed,
                nullptr,
                Activation::relu,
                one.data(),
                static_cast<std::size_t>(c.n),
                {}};
  gemm(args);
  ThreadPool pool(3);
  args.c = two.data();
  gemm(args, &pool);
  EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * sizeof(float)));
}

INSTANTIATE_TEST_SUITE_P(Weights, GemmTest,
                         ::testing::Values(GemmWeights::f32, GemmWeights::f16, GemmWeights::bf16,
                                           GemmWeights::q4),
                         [](const auto& info) { return gemm_weights_name(info.param); });

TEST_P(GemmTest, EveryEpilogueActivation) {
  for (ActivationParams act : {ActivationParams(Activation::clamp, -0.25f, 0.5f),
                               ActivationParams(Activation::gelu), ActivationParams(Activation::silu)}) {
    for (const Case& c : {Case{1, 10, 31}, Case{3, 50, 100}, Case{5, 65, 33}, Case{37, 129, 257}}) {
      check(GetParam(), c, true, act);
    }
  }
}

TEST(GemmQ4, GroupSizesAndShortLastGroup) {
  for (int group : {32, 64, 128})
    for (int k : {1, 31, 64, 100, 129, 300})
      check(GemmWeights::q4, {3, 50, k}, true, Activation::none, group);
}

// Repacking into an existing PackedGemmWeights (a training step's weights): the bytes of a
// fresh pack, in the same buffer when the shape is the same, a new one when it is not.
TEST(Gemm, RepackKeepsTheBufferOfTheSameShape) {
  std::vector<float> a = testing::random_floats(17 * 33, 1), b = testing::random_floats(17 * 33, 2);
  PackedGemmWeights packed;
  pack_gemm_f32(a.data(), 17, 33, packed);
  const std::byte* buffer = packed.data.data();
  pack_gemm_f32(b.data(), 17, 33, packed);
  EXPECT_EQ(packed.data.data(), buffer);
  PackedGemmWeights fresh = pack_gemm_f32(b.data(), 17, 33);
  ASSERT_EQ(packed.data.size(), fresh.data.size());
  EXPECT_EQ(0, std::memcmp(packed.data.data(), fresh.data.data(), fresh.data.size()));
  pack_gemm_f32(b.data(), 33, 17, packed);
  PackedGemmWeights other = pack_gemm_f32(b.data(), 33, 17);
  EXPECT_EQ(packed.n, 33);
  ASSERT_EQ(packed.data.size(), other.data.size());
  EXPECT_EQ(0, std::memcmp(packed.data.data(), other.data.data(), other.data.size()));
}

TEST(Gemm, RejectsBadSizes) {
  float w = 1.0f;
  EXPECT_THROW(pack_gemm_f32(&w, 0, 1), Error);
  EXPECT_THROW(pack_gemm_f32(&w, 1, -1), Error);
  std::int8_t q = 9;
  float s = 1.0f;
  EXPECT_THROW(pack_gemm_q4(&q, &s, 1, 1, 32), Error);  // 9 is outside int4
}

}  // namespace
}  // namespace lowp
