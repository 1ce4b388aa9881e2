// tests/base/base_test.cc: checked arithmetic, ISA resolution with LOWP_ISA, the thread
// pool's static slicing, and the deterministic RNG.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <limits>
#include <vector>

#include "base/checked_math.h"
#include "base/cpu.h"
#include "base/error.h"
#include "base/random.h"
#include "base/thread_pool.h"

namespace lowp {
namespace {

TEST(CheckedMath, OverflowIsAnErrorNamingWhat) {
  const std::size_t max = std::numeric_limits<std::size_t>::max();
  EXPECT_EQ(checked_mul(6, 7, "x"), 42u);
  EXPECT_THROW(checked_mul(max / 2 + 1, 2, "tensor t"), Error);
  EXPECT_THROW(checked_add(max, 1, "x"), Error);
  std::vector<std::int64_t> dims = {1 << 20, 1 << 20, 1 << 20, 1 << 20};
  try {
    checked_product(dims, "weight w");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("weight w"), std::string::npos);
  }
  std::vector<std::int64_t> negative = {3, -1};
  EXPECT_THROW(checked_product(negative, "x"), Error);
  EXPECT_EQ(round_up(13, 4), 16u);
}

TEST(Isa, OverrideLowersNeverRaises) {
  EXPECT_EQ(resolve_isa(IsaLevel::avx512, nullptr), IsaLevel::avx512);
  EXPECT_EQ(resolve_isa(IsaLevel::avx512, ""), IsaLevel::avx512);
  EXPECT_EQ(resolve_isa(IsaLevel::avx512, "avx2"), IsaLevel::avx2);
  EXPECT_EQ(resolve_isa(IsaLevel::avx512, "scalar"), IsaLevel::scalar);
  EXPECT_THROW(resolve_isa(IsaLevel::avx2, "avx512"), Error);  // more than the CPU has
  EXPECT_THROW(resolve_isa(IsaLevel::avx512, "sse9"), Error);  // unknown name
  for (IsaLevel level : kAllIsaLevels) EXPECT_EQ(parse_isa(isa_name(level)), level);
}

TEST(Isa, LevelsFollowFeatures) {
  CpuFeatures f;
  EXPECT_EQ(highest_isa_level(f), IsaLevel::scalar);
  f.avx = f.avx2 = f.fma = f.f16c = true;
  EXPECT_EQ(highest_isa_level(f), IsaLevel::scalar);  // the OS does not save ymm
  f.os_saves_ymm = true;
  EXPECT_EQ(highest_isa_level(f), IsaLevel::avx2);
  f.avx512f = f.avx512bw = f.avx512dq = f.avx512vl = true;
  EXPECT_EQ(highest_isa_level(f), IsaLevel::avx2);  // nor zmm
  f.os_saves_zmm = true;
  EXPECT_EQ(highest_isa_level(f), IsaLevel::avx512);
  f.avx512bf16 = true;  // BF16 without VNNI stays at avx512: levels are cumulative
  EXPECT_EQ(highest_isa_level(f), IsaLevel::avx512);
  f.avx512vnni = true;
  EXPECT_EQ(highest_isa_level(f), IsaLevel::avx512bf16);
}

TEST(ThreadPool, CoversEveryIndexOnceWithFixedSlices) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (std::size_t n : {0u, 1u, 5u, 100u, 1001u}) {
      std::vector<std::atomic<int>> hits(n);
      for (int round = 0; round < 3; ++round) {
        pool.parallel_for(n, 1, [&](std::size_t begin, std::size_t end) {
          for (std::size_t i = begin; i < end; ++i) hits[i]++;
        });
      }
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 3) << threads << " " << n;
    }
  }
  // Slices are contiguous, ordered and near-equal.
  EXPECT_EQ(slice_range(10, 3, 0), (std::pair<std::size_t, std::size_t>{0, 4}));
  EXPECT_EQ(slice_range(10, 3, 1), (std::pair<std::size_t, std::size_t>{4, 7}));
  EXPECT_EQ(slice_range(10, 3, 2), (std::pair<std::size_t, std::size_t>{7, 10}));
  EXPECT_THROW(ThreadPool(0), Error);
}

TEST(Random, IsSpecifiedBitForBit) {
  Random a(42), b(42);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(a.next(), b.next());
  // SplitMix64's first output for seed 0 (the published reference value).
  Random zero(0);
  EXPECT_EQ(zero.next(), 0xE220A8397B1DCDAFull);
  Random r(1);
  for (int i = 0; i < 1000; ++i) {
    float u = r.uniform();
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    ASSERT_LT(r.below(7), 7u);
  }
}

}  // namespace
}  // namespace lowp
