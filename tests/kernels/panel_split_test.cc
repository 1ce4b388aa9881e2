// tests/kernels/panel_split_test.cc: with few rows (batch 1 to 7) the drivers give each
// thread a range of weight panels instead of rows. Every family must then return the same
// bits as on one thread, including at ragged ends (n not a multiple of 16 or 64).
#include <gtest/gtest.h>

#include <cstring>

#include "base/thread_pool.h"
#include "kernel_test_util.h"
#include "kernels/bf16dot/bf16dot.h"
#include "kernels/convert/convert.h"
#include "kernels/gemm/gemm.h"
#include "kernels/q4dot/q4dot.h"
#include "kernels/qgemm/qgemm.h"

namespace lowp {
namespace {

// Large enough that the split happens (>= 2^18 multiply-adds per slice), ragged at the end.
constexpr int kN = 1000, kK = 1536;

void expect_same(const std::vector<float>& one, const std::vector<float>& three, const char* what,
                 int m) {
  EXPECT_EQ(0, std::memcmp(one.data(), three.data(), one.size() * sizeof(float)))
      << what << " m=" << m;
}

TEST(PanelSplit, FloatGemmSameBitsOnThreeThreads) {
  std::vector<float> w = testing::random_floats(static_cast<std::size_t>(kN) * kK, 1);
  PackedGemmWeights packed = pack_gemm_f32(w.data(), kN, kK);
  ThreadPool pool(3);
  for (int m : {1, 3, 7}) {
    std::vector<float> a = testing::random_floats(static_cast<std::size_t>(m) * kK, 2);
    std::vector<float> one(static_cast<std::size_t>(m) * kN), three(one.size());
    GemmArgs args{m, a.data(), kK, &packed, nullptr, Activation::relu, one.data(), kN, {}};
    gemm(args);
    args.c = three.data();
    gemm(args, &pool);
    expect_same(one, three, "f32", m);
  }
}

TEST(PanelSplit, Int8GemmSameBitsOnThreeThreads) {
  auto w = testing::random_ints<std::int8_t>(static_cast<std::size_t>(kN) * kK, 3, -128, 127);
  PackedQGemmWeights packed = pack_qgemm(w.data(), kN, kK);
  AlignedBuffer<std::int32_t> offsets = qgemm_column_offsets(packed, 100, nullptr);
  AlignedBuffer<float> scales(offsets.size());
  std::fill_n(scales.data(), scales.size(), 1e-3f);
  ThreadPool pool(3);
  for (int m : {1, 3}) {
    auto a = testing::random_ints<std::uint8_t>(static_cast<std::size_t>(m) * packed.padded_k(), 4,
                                                0, 255);
    std::vector<float> one(static_cast<std::size_t>(m) * kN), three(one.size());
    QGemmArgs args;
    args.m = m;
    args.a = a.data();
    args.lda = static_cast<std::size_t>(packed.padded_k());
    args.w = &packed;
    args.offset = offsets.data();
    args.scale = scales.data();
    args.c_f32 = one.data();
    args.ldc = kN;
    qgemm(args);
    args.c_f32 = three.data();
    qgemm(args, &pool);
    expect_same(one, three, "int8", m);
  }
}

TEST(PanelSplit, Int4AndBf16SameBitsOnThreeThreads) {
  const int groups = kK / 32;
  auto u = testing::random_ints<std::uint8_t>(static_cast<std::size_t>(kN) * kK, 5, 0, 15);
  std::vector<float> scales =
      testing::random_floats(static_cast<std::size_t>(kN) * groups, 6, 0.01f, 0.1f);
  PackedQ4DotWeights q4 = pack_q4dot(u.data(), scales.data(), nullptr, kN, kK, 32);
  std::vector<float> wf = testing::random_floats(static_cast<std::size_t>(kN) * kK, 7);
  std::vector<std::uint16_t> bits(wf.size());
  convert_f32_to_bf16(wf.data(), bits.data(), bits.size());
  PackedBf16DotWeights bf = pack_bf16dot(bits.data(), kN, kK);
  ThreadPool pool(3);
  QuantizedRows scratch;
  for (int m : {1, 2}) {
    std::vector<float> a = testing::random_floats(static_cast<std::size_t>(m) * kK, 8);
    std::vector<float> one(static_cast<std::size_t>(m) * kN), three(one.size());
    q4dot_gemm(a.data(), m, kK, q4, nullptr, Activation::none, one.data(), kN, scratch);
    q4dot_gemm(a.data(), m, kK, q4, nullptr, Activation::none, three.data(), kN, scratch, &pool);
    expect_same(one, three, "int4", m);
    std::vector<std::uint16_t> a16(static_cast<std::size_t>(m) * kK);
    bf16dot_convert_rows(a.data(), m, kK, kK, a16.data(), kK);
    Bf16DotArgs args{m, a16.data(), kK, &bf, nullptr, Activation::none, one.data(), kN, {}};
    bf16dot_gemm(args);
    args.c = three.data();
    bf16dot_gemm(args, &pool);
    expect_same(one, three, "bf16", m);
  }
}

}  // namespace
}  // namespace lowp
