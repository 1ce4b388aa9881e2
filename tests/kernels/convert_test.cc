// tests/kernels/convert_test.cc: every conversion variant equal to the scalar one, bit for
// bit, on lengths around the vector widths (8 and 16 lanes), at unaligned addresses, with
// the special values (signed zeros, subnormals, ties, max finite values and the first
// values past them, Inf, NaNs with payloads) mixed into random data. Buffers end against a
// PROT_NONE page (gap 0), where any access past n faults, or are followed by a canary that
// must survive (gaps 1 and 3, which also move the start off the vector alignment).
// tests/exhaustive runs all 2^32 fp32 inputs through the same variants.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/convert/convert.h"

namespace lowp {
namespace {

constexpr std::size_t kSizes[] = {0, 1, 7, 8, 15, 16, 17, 31, 33, 1000};

const std::uint32_t kSpecialFloats[] = {
    0x00000000, 0x80000000,              // +-0
    0x00000001, 0x80000001, 0x007FFFFF,  // fp32 subnormals
    0x00008000, 0x00018000,              // bf16 ties among fp32 subnormals
    0x3F800000, 0xBF800000,              // +-1
    0x3F808000, 0x3F818000, 0x3F808001,  // bf16 ties and just past
    0x3F801000, 0x3F803000,              // fp16 ties at 1
    0x477FE000, 0x477FEFFF, 0x477FF000,  // fp16 65504, below and at the 65520 overflow tie
    0x33000000, 0x33000001, 0x33C00000,  // fp16 2^-25 tie to 0, just above, 1.5 * 2^-24
    0x387FE000, 0x387FF000,              // fp16 largest subnormal, rounding up to min normal
    0x43E00000, 0x43E80000, 0x43E80001,  // e4m3fn 448, 464 (tie to 448), just past
    0x43F00000, 0xC3F00000, 0x44000000,  // e4m3fn 480, -480, 512
    0x3A800000, 0x3A000000, 0x3A400000,  // e4m3fn 2^-10 (tie to 0), 2^-11, 3 * 2^-10
    0x47600000, 0x476FFFFF, 0x47700000,  // e5m2 57344, below 61440, 61440 (tie to Inf)
    0x37800000, 0x37000000, 0x37C00000,  // e5m2 2^-16, 2^-17 tie, 1.5 * 2^-16
    0x7F7FFFFF, 0xFF7FFFFF,              // +-FLT_MAX
    0x7F800000, 0xFF800000,              // +-Inf
    0x7FC00000, 0xFFC00000,              // quiet NaNs
    0x7F800001, 0xFF800001,              // signalling NaNs, smallest payload
    0x7FA00000, 0x7FBFFFFF, 0xFFFFFFFF,  // signalling with top payload, all-ones NaNs
    0x7FC02000, 0x7F802000,              // payload bit kept by fp16
};

// Random bit patterns (every exponent), random values in [-600, 600] (the fp8 ranges), and
// the specials at every third place.
std::vector<float> test_inputs(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> moderate(-600.0f, 600.0f);
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 3 == 0) {
      x[i] = std::bit_cast<float>(kSpecialFloats[(i / 3) % std::size(kSpecialFloats)]);
    } else if (i % 3 == 1) {
      x[i] = std::bit_cast<float>(static_cast<std::uint32_t>(rng()));
    } else {
      x[i] = moderate(rng);
    }
  }
  return x;
}

// Buffers end against a PROT_NONE page (kernel_test_util.h) `gap` elements after the
// data: with gap 0 any access past n faults; gaps 1 and 3 shift the start address off the
// vector alignment, and the gap holds a canary that must survive.
constexpr std::size_t kGaps[] = {0, 1, 3};
constexpr std::uint8_t kCanary = 0xA5;

template <class T>
struct GappedBuffer {
  GappedBuffer(std::size_t n, std::size_t gap) : buffer(n + gap), n(n), gap(gap) {
    std::memset(buffer.data(), kCanary, (n + gap) * sizeof(T));
  }
  T* data() { return buffer.data(); }
  bool gap_intact() const {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(buffer.data() + n);
    for (std::size_t i = 0; i < gap * sizeof(T); ++i) {
      if (bytes[i] != kCanary) return false;
    }
    return true;
  }
  testing::GuardedBuffer<T> buffer;
  std::size_t n, gap;
};

template <class Out, class Fn, class Call>
void check_narrowing(std::span<const KernelEntry<Fn>> list, const Call& call) {
  ASSERT_EQ(list.back().isa, IsaLevel::scalar);
  for (std::size_t n : kSizes) {
    for (std::size_t gap : kGaps) {
      const std::vector<float> x = test_inputs(n, n * 7 + gap);
      GappedBuffer<float> in(n, gap);
      if (n > 0) std::memcpy(in.data(), x.data(), n * sizeof(float));
      std::vector<Out> want(n);
      call(list.back().fn, in.data(), want.data(), n);
      for (const KernelEntry<Fn>& v : testing::variants_to_test(list)) {
        GappedBuffer<Out> out(n, gap);
        call(v.fn, in.data(), out.data(), n);
        for (std::size_t i = 0; i < n; ++i) {
          ASSERT_EQ(out.data()[i], want[i])
              << v.name << " n=" << n << " gap=" << gap << " i=" << i << std::hex << " input=0x"
              << std::bit_cast<std::uint32_t>(x[i]);
        }
        ASSERT_TRUE(out.gap_intact()) << v.name << " wrote past n=" << n;
      }
    }
  }
}

template <class In, class Fn>
void check_widening(std::span<const KernelEntry<Fn>> list) {
  ASSERT_EQ(list.back().isa, IsaLevel::scalar);
  std::mt19937_64 rng(42);
  for (std::size_t n : kSizes) {
    for (std::size_t gap : kGaps) {
      std::vector<In> x(n);
      for (In& v : x) v = static_cast<In>(rng());
      // Specials: zeros, smallest subnormal, Inf and NaN codes of every format involved.
      const In specials[] = {0,
                             static_cast<In>(~In{0}),
                             1,
                             static_cast<In>(0x7F),
                             static_cast<In>(0x80),
                             static_cast<In>(0x7C),
                             static_cast<In>(0x7D)};
      for (std::size_t i = 0; i < n; i += 4) x[i] = specials[(i / 4) % std::size(specials)];
      GappedBuffer<In> in(n, gap);
      if (n > 0) std::memcpy(in.data(), x.data(), n * sizeof(In));
      std::vector<float> want(n);
      list.back().fn(in.data(), want.data(), n);
      for (const KernelEntry<Fn>& v : testing::variants_to_test(list)) {
        GappedBuffer<float> out(n, gap);
        v.fn(in.data(), out.data(), n);
        for (std::size_t i = 0; i < n; ++i) {
          ASSERT_EQ(std::bit_cast<std::uint32_t>(out.data()[i]),
                    std::bit_cast<std::uint32_t>(want[i]))
              << v.name << " n=" << n << " gap=" << gap << " i=" << i << std::hex << " input=0x"
              << static_cast<unsigned>(x[i]);
        }
        ASSERT_TRUE(out.gap_intact()) << v.name << " wrote past n=" << n;
      }
    }
  }
}

TEST(Convert, F32ToF16EveryVariant) {
  check_narrowing<std::uint16_t>(
      convert_f32_to_f16_kernels(),
      [](auto fn, const float* in, std::uint16_t* out, std::size_t n) { fn(in, out, n); });
}

TEST(Convert, F32ToBF16EveryVariant) {
  check_narrowing<std::uint16_t>(
      convert_f32_to_bf16_kernels(),
      [](auto fn, const float* in, std::uint16_t* out, std::size_t n) { fn(in, out, n); });
}

TEST(Convert, F32ToF8E4M3FNEveryVariant) {
  for (bool saturate : {true, false}) {
    SCOPED_TRACE(saturate ? "saturate=true" : "saturate=false");
    check_narrowing<std::uint8_t>(convert_f32_to_f8e4m3fn_kernels(),
                                  [saturate](auto fn, const float* in, std::uint8_t* out,
                                             std::size_t n) { fn(in, out, n, saturate); });
  }
}

TEST(Convert, F32ToF8E5M2EveryVariant) {
  for (bool saturate : {true, false}) {
    SCOPED_TRACE(saturate ? "saturate=true" : "saturate=false");
    check_narrowing<std::uint8_t>(convert_f32_to_f8e5m2_kernels(),
                                  [saturate](auto fn, const float* in, std::uint8_t* out,
                                             std::size_t n) { fn(in, out, n, saturate); });
  }
}

TEST(Convert, F16ToF32EveryVariant) {
  check_widening<std::uint16_t>(convert_f16_to_f32_kernels());
}
TEST(Convert, BF16ToF32EveryVariant) {
  check_widening<std::uint16_t>(convert_bf16_to_f32_kernels());
}
TEST(Convert, F8E4M3FNToF32EveryVariant) {
  check_widening<std::uint8_t>(convert_f8e4m3fn_to_f32_kernels());
}
TEST(Convert, F8E5M2ToF32EveryVariant) {
  check_widening<std::uint8_t>(convert_f8e5m2_to_f32_kernels());
}

// The dispatching functions give the scalar types' results (whichever variant they chose).
TEST(Convert, DispatchMatchesScalarTypes) {
  const std::vector<float> x = test_inputs(100, 5);
  std::vector<std::uint16_t> h(x.size()), b(x.size());
  std::vector<std::uint8_t> e4(x.size()), e5(x.size());
  convert_f32_to_f16(x.data(), h.data(), x.size());
  convert_f32_to_bf16(x.data(), b.data(), x.size());
  convert_f32_to_f8e4m3fn(x.data(), e4.data(), x.size(), false);
  convert_f32_to_f8e5m2(x.data(), e5.data(), x.size(), true);
  std::vector<std::uint16_t> h_want(x.size()), b_want(x.size());
  std::vector<std::uint8_t> e4_want(x.size()), e5_want(x.size());
  f32_to_f16_convert__scalar(x.data(), h_want.data(), x.size());
  f32_to_bf16_convert__scalar(x.data(), b_want.data(), x.size());
  f32_to_f8e4m3fn_convert__scalar(x.data(), e4_want.data(), x.size(), false);
  f32_to_f8e5m2_convert__scalar(x.data(), e5_want.data(), x.size(), true);
  EXPECT_EQ(h, h_want);
  EXPECT_EQ(b, b_want);
  EXPECT_EQ(e4, e4_want);
  EXPECT_EQ(e5, e5_want);

  std::vector<float> back(h.size()), back_want(h.size());
  convert_f16_to_f32(h.data(), back.data(), h.size());
  f16_to_f32_convert__scalar(h.data(), back_want.data(), h.size());
  EXPECT_EQ(0, std::memcmp(back.data(), back_want.data(), back.size() * sizeof(float)));
  convert_bf16_to_f32(b.data(), back.data(), b.size());
  bf16_to_f32_convert__scalar(b.data(), back_want.data(), b.size());
  EXPECT_EQ(0, std::memcmp(back.data(), back_want.data(), back.size() * sizeof(float)));
  convert_f8e4m3fn_to_f32(e4.data(), back.data(), e4.size());
  f8e4m3fn_to_f32_convert__scalar(e4.data(), back_want.data(), e4.size());
  EXPECT_EQ(0, std::memcmp(back.data(), back_want.data(), back.size() * sizeof(float)));
  convert_f8e5m2_to_f32(e5.data(), back.data(), e5.size());
  f8e5m2_to_f32_convert__scalar(e5.data(), back_want.data(), e5.size());
  EXPECT_EQ(0, std::memcmp(back.data(), back_want.data(), back.size() * sizeof(float)));
}

TEST(Convert, EveryListEndsWithScalarAndIsInTheCatalog) {
  const std::vector<KernelFamilyInfo> catalog = kernel_catalog();
  auto in_catalog = [&](const char* family) {
    for (const KernelFamilyInfo& f : catalog) {
      if (f.family == family) return true;
    }
    return false;
  };
  for (const char* family :
       {"convert_f32_to_f16", "convert_f16_to_f32", "convert_f32_to_bf16", "convert_bf16_to_f32",
        "convert_f32_to_f8e4m3fn", "convert_f8e4m3fn_to_f32", "convert_f32_to_f8e5m2",
        "convert_f8e5m2_to_f32"}) {
    EXPECT_TRUE(in_catalog(family)) << family;
  }
  EXPECT_EQ(convert_f32_to_f16_kernels().back().isa, IsaLevel::scalar);
  EXPECT_EQ(convert_f32_to_f8e5m2_kernels().back().isa, IsaLevel::scalar);
}

}  // namespace
}  // namespace lowp
