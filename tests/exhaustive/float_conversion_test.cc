// tests/exhaustive/float_conversion_test.cc: every fp32 <-> narrow float conversion in lowp,
// on every input.
//
// For fp32 -> fp16, bf16, E4M3FN and E5M2 (fp8 with saturate on and off), one sweep over all
// 2^32 fp32 patterns checks two things, 2^16 inputs at a time:
//   1. the scalar types of base/float_types.h against the plain reference
//      (float_reference.h): the same bits, or where the reference says NaN, a NaN of the
//      same sign with exactly the bits float_types.h documents (written out again here);
//   2. every SIMD variant of the bulk kernels (kernels/convert) that this CPU runs, through
//      its bulk function, against the scalar type's bits, NaNs included.
// One sweep does both because the sweep is the cost: the time budget (~90 s on 2 cores for
// the whole executable) has no room to compute the scalar results twice. narrow -> fp32 is
// checked the same way on all 2^16 / 2^8 narrow patterns. Variants this CPU cannot run are
// named in the output ("[  NOTE    ]").
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "base/float_types.h"
#include "exhaustive/float_reference.h"
#include "exhaustive/sweep.h"
#include "kernels/convert/convert.h"
#include "kernels/kernel_test_util.h"

namespace lowp {
namespace {

using reference::NarrowFormat;
using testing::Mismatches;

constexpr std::uint64_t kAllFp32 = std::uint64_t{1} << 32;
constexpr std::size_t kChunk = std::size_t{1} << 16;

// The NaN bits documented in base/float_types.h, for an fp32 NaN input f.
std::uint32_t documented_f16_nan(std::uint32_t f) {
  return ((f >> 31) << 15) | 0x7E00u | ((f >> 13) & 0x1FFu);
}
std::uint32_t documented_bf16_nan(std::uint32_t f) {
  return (f >> 16) | 0x0040u;
}
std::uint32_t documented_e4m3fn_nan(std::uint32_t f) {
  return ((f >> 31) << 7) | 0x7Fu;
}
std::uint32_t documented_e5m2_nan(std::uint32_t f) {
  return ((f >> 31) << 7) | 0x7Eu;
}

// A SIMD bulk variant, with the fp8 saturate flag bound.
template <class Out>
struct BulkVariant {
  std::string name;
  std::function<void(const float*, Out*, std::size_t)> run;
};

// The runnable non-scalar entries of a list (kernel_test_util.h prints the others).
template <class Out, class Fn, class Bind>
std::vector<BulkVariant<Out>> simd_variants(std::span<const KernelEntry<Fn>> list,
                                            const std::string& suffix, const Bind& bind) {
  std::vector<BulkVariant<Out>> out;
  for (const KernelEntry<Fn>& e : testing::variants_to_test(list)) {
    if (e.isa != IsaLevel::scalar) out.push_back({e.name + suffix, bind(e.fn)});
  }
  return out;
}

// The sweep described at the top. Mode 0 is saturate=false; fp8 (kHasSaturate) adds mode 1,
// saturate=true, checked from the same reference rounding. The format is a template
// argument so that the reference's constants fold away.
template <NarrowFormat kFmt, bool kHasSaturate, class Out, class Fast, class DocumentedNan>
void expect_narrowing_matches(const std::string& what, const Fast& fast,
                              const DocumentedNan& documented_nan,
                              const std::vector<BulkVariant<Out>> (&simd)[2]) {
  constexpr int kModes = kHasSaturate ? 2 : 1;
  const Mismatches found = testing::parallel_sweep(
      kAllFp32, kChunk, [&](std::uint64_t begin, std::uint64_t end, Mismatches& out) {
        thread_local std::vector<float> in(kChunk);
        thread_local std::vector<Out> scalar[2] = {std::vector<Out>(kChunk),
                                                   std::vector<Out>(kChunk)};
        thread_local std::vector<Out> got(kChunk);
        const std::size_t n = static_cast<std::size_t>(end - begin);
        for (std::size_t j = 0; j < n; ++j) {
          const std::uint32_t x = static_cast<std::uint32_t>(begin + j);
          const float value = std::bit_cast<float>(x);
          in[j] = value;
          const reference::Rounded rounded = reference::round_to_format(x, kFmt);
          for (int mode = 0; mode < kModes; ++mode) {
            const bool saturate = mode == 1;
            const std::uint32_t have = fast(value, saturate);
            scalar[mode][j] = static_cast<Out>(have);
            const std::uint32_t want = reference::apply_cast_table(rounded, kFmt, saturate);
            const bool want_nan = reference::is_nan(kFmt, want);
            if (have == want && !want_nan) continue;
            // Where the reference says NaN, exactly the documented NaN (which, like the
            // reference's, has the input's sign).
            if (want_nan && have == documented_nan(x)) continue;
            out.add(x, have, want, saturate ? "scalar type, saturate=true" : "scalar type");
          }
        }
        for (int mode = 0; mode < kModes; ++mode) {
          for (const BulkVariant<Out>& v : simd[mode]) {
            v.run(in.data(), got.data(), n);
            if (std::memcmp(got.data(), scalar[mode].data(), n * sizeof(Out)) == 0) continue;
            for (std::size_t j = 0; j < n; ++j) {
              if (got[j] != scalar[mode][j]) {
                out.add(begin + j, got[j], scalar[mode][j], v.name.c_str());
              }
            }
          }
        }
      });
  testing::report(found, what, 8, (1 + kFmt.exponent_bits + kFmt.mantissa_bits + 3) / 4);
}

template <class Fn>
auto unary_bulk(Fn fn) {
  return [fn](const float* in, auto* out, std::size_t n) { fn(in, out, n); };
}

template <bool kSaturate>
auto fp8_bulk(ConvertF32ToF8Fn fn) {
  return [fn](const float* in, std::uint8_t* out, std::size_t n) { fn(in, out, n, kSaturate); };
}

TEST(FloatConversionExhaustive, Fp32ToFloat16) {
  const std::vector<BulkVariant<std::uint16_t>> simd[2] = {
      simd_variants<std::uint16_t>(convert_f32_to_f16_kernels(), "", unary_bulk<ConvertF32ToF16Fn>),
      {}};
  expect_narrowing_matches<reference::kFloat16, false>(
      "fp32->fp16", [](float x, bool) -> std::uint32_t { return float16::from_float(x).bits(); },
      documented_f16_nan, simd);
}

TEST(FloatConversionExhaustive, Fp32ToBFloat16) {
  const std::vector<BulkVariant<std::uint16_t>> simd[2] = {
      simd_variants<std::uint16_t>(convert_f32_to_bf16_kernels(), "",
                                   unary_bulk<ConvertF32ToBF16Fn>),
      {}};
  expect_narrowing_matches<reference::kBFloat16, false>(
      "fp32->bf16", [](float x, bool) -> std::uint32_t { return bfloat16::from_float(x).bits(); },
      documented_bf16_nan, simd);
}

TEST(FloatConversionExhaustive, Fp32ToFloat8E4M3FN) {
  const auto list = convert_f32_to_f8e4m3fn_kernels();
  const std::vector<BulkVariant<std::uint8_t>> simd[2] = {
      simd_variants<std::uint8_t>(list, " saturate=false", fp8_bulk<false>),
      simd_variants<std::uint8_t>(list, " saturate=true", fp8_bulk<true>)};
  expect_narrowing_matches<reference::kFloat8E4M3FN, true>(
      "fp32->e4m3fn",
      [](float x, bool saturate) -> std::uint32_t {
        return float8e4m3fn::from_float(x, saturate).bits();
      },
      documented_e4m3fn_nan, simd);
}

TEST(FloatConversionExhaustive, Fp32ToFloat8E5M2) {
  const auto list = convert_f32_to_f8e5m2_kernels();
  const std::vector<BulkVariant<std::uint8_t>> simd[2] = {
      simd_variants<std::uint8_t>(list, " saturate=false", fp8_bulk<false>),
      simd_variants<std::uint8_t>(list, " saturate=true", fp8_bulk<true>)};
  expect_narrowing_matches<reference::kFloat8E5M2, true>(
      "fp32->e5m2",
      [](float x, bool saturate) -> std::uint32_t {
        return float8e5m2::from_float(x, saturate).bits();
      },
      documented_e5m2_nan, simd);
}

// Every narrow pattern: to_float() against the reference decode (NaNs: same sign and the
// documented quiet NaN bits), then every SIMD variant of the bulk decode against to_float().
template <class In, class Fn, class Decode, class DocumentedNan>
void expect_widening_matches(const std::string& what, const NarrowFormat& fmt,
                             std::span<const KernelEntry<Fn>> list, const Decode& decode,
                             const DocumentedNan& documented_nan) {
  const std::size_t count = std::size_t{1} << (8 * sizeof(In));
  std::vector<In> in(count);
  std::vector<float> scalar(count), got(count);
  Mismatches found;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint32_t b = static_cast<std::uint32_t>(i);
    in[i] = static_cast<In>(b);
    scalar[i] = decode(in[i]);
    const std::uint32_t have = std::bit_cast<std::uint32_t>(scalar[i]);
    const float want_value = reference::widen(b, fmt);
    const std::uint32_t want = std::bit_cast<std::uint32_t>(want_value);
    if (std::isnan(want_value) ? have != documented_nan(b) || (have >> 31) != (want >> 31)
                               : have != want) {
      found.add(b, have, want, "scalar type");
    }
  }
  for (const KernelEntry<Fn>& e : testing::variants_to_test(list)) {
    e.fn(in.data(), got.data(), count);
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint32_t g = std::bit_cast<std::uint32_t>(got[i]);
      const std::uint32_t w = std::bit_cast<std::uint32_t>(scalar[i]);
      if (g != w) found.add(i, g, w, e.name);
    }
  }
  testing::report(found, what, static_cast<int>(2 * sizeof(In)), 8);
}

TEST(FloatConversionExhaustive, NarrowToFp32) {
  // The quiet NaN each decode documents: sign and payload kept, quiet bit set.
  expect_widening_matches<std::uint16_t>(
      "fp16->fp32", reference::kFloat16, convert_f16_to_f32_kernels(),
      [](std::uint16_t b) { return float16::from_bits(b).to_float(); },
      [](std::uint32_t b) { return ((b >> 15) << 31) | 0x7FC00000u | ((b & 0x3FFu) << 13); });
  expect_widening_matches<std::uint16_t>(
      "bf16->fp32", reference::kBFloat16, convert_bf16_to_f32_kernels(),
      [](std::uint16_t b) { return bfloat16::from_bits(b).to_float(); },
      [](std::uint32_t b) { return (b << 16) | 0x00400000u; });
  expect_widening_matches<std::uint8_t>(
      "e4m3fn->fp32", reference::kFloat8E4M3FN, convert_f8e4m3fn_to_f32_kernels(),
      [](std::uint8_t b) { return float8e4m3fn::from_bits(b).to_float(); },
      [](std::uint32_t b) { return ((b >> 7) << 31) | 0x7FC00000u; });
  expect_widening_matches<std::uint8_t>(
      "e5m2->fp32", reference::kFloat8E5M2, convert_f8e5m2_to_f32_kernels(),
      [](std::uint8_t b) { return float8e5m2::from_bits(b).to_float(); },
      [](std::uint32_t b) { return ((b >> 7) << 31) | 0x7FC00000u | ((b & 0x3u) << 21); });
}

// The round trip narrow -> fp32 -> narrow is the identity on every non-NaN pattern (for
// fp8 in both saturate modes, except E5M2 Inf, which saturation clamps to 57344).
TEST(FloatConversionExhaustive, RoundTripIsIdentity) {
  for (std::uint32_t b = 0; b < 0x10000u; ++b) {
    const auto h = float16::from_bits(static_cast<std::uint16_t>(b));
    if (!h.is_nan()) {
      ASSERT_EQ(float16::from_float(h.to_float()).bits(), b) << std::hex << "fp16 0x" << b;
    }
    const auto bf = bfloat16::from_bits(static_cast<std::uint16_t>(b));
    if (!bf.is_nan()) {
      ASSERT_EQ(bfloat16::from_float(bf.to_float()).bits(), b) << std::hex << "bf16 0x" << b;
    }
  }
  for (std::uint32_t b = 0; b < 0x100u; ++b) {
    for (bool saturate : {false, true}) {
      const auto e4 = float8e4m3fn::from_bits(static_cast<std::uint8_t>(b));
      if (!e4.is_nan()) {
        ASSERT_EQ(float8e4m3fn::from_float(e4.to_float(), saturate).bits(), b)
            << std::hex << "e4m3fn 0x" << b;
      }
      const auto e5 = float8e5m2::from_bits(static_cast<std::uint8_t>(b));
      const bool e5_inf = (b & 0x7Fu) == 0x7Cu;
      if (!e5.is_nan() && !(e5_inf && saturate)) {
        ASSERT_EQ(float8e5m2::from_float(e5.to_float(), saturate).bits(), b)
            << std::hex << "e5m2 0x" << b;
      }
    }
  }
}

}  // namespace
}  // namespace lowp
