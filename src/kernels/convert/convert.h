// kernels/convert/convert.h: bulk conversions between fp32 and fp16, bf16, fp8.
//
// The rules (rounding, NaN, Inf, saturation) are those of the scalar types in
// base/float_types.h, which follow ONNX Cast; every variant here gives the same bits as
// those types for every input (tests/exhaustive sweeps all 2^32 fp32 patterns through each
// variant the CPU supports). The dispatching functions pick their variant once, on first
// call, from the family's best-first list (kernels/dispatch.h).
//
// Pointers need only the alignment of their element type; n may be 0. The fp8 `saturate`
// flag is the ONNX Cast attribute (opset 19+): true clamps out-of-range values and Inf to
// the max finite value, false turns them into NaN (E4M3FN) or Inf (E5M2).
//
// Variants, best first in each list:
//   f32 -> f16    avx512 (vcvtps2ph zmm), avx2 (F16C vcvtps2ph ymm), scalar
//   f16 -> f32    avx512 (vcvtph2ps zmm), avx2 (F16C), scalar
//   f32 -> bf16   avx512, avx2: integer round-to-nearest-even, scalar
//   bf16 -> f32   avx512, avx2: shift and quiet NaNs, scalar
//   f32 -> fp8    avx512, avx2: the integer rounding of base/float_types.h, 16 / 8 lanes
//   fp8 -> f32    avx512, avx2: rebias into fp16 bits and F16C vcvtph2ps, scalar
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernels/dispatch.h"

namespace lowp {

using ConvertF32ToF16Fn = void (*)(const float* in, std::uint16_t* out, std::size_t n);
using ConvertF16ToF32Fn = void (*)(const std::uint16_t* in, float* out, std::size_t n);
using ConvertF32ToBF16Fn = void (*)(const float* in, std::uint16_t* out, std::size_t n);
using ConvertBF16ToF32Fn = void (*)(const std::uint16_t* in, float* out, std::size_t n);
using ConvertF32ToF8Fn = void (*)(const float* in, std::uint8_t* out, std::size_t n, bool saturate);
using ConvertF8ToF32Fn = void (*)(const std::uint8_t* in, float* out, std::size_t n);

// Dispatching entry points.
void convert_f32_to_f16(const float* in, std::uint16_t* out, std::size_t n);
void convert_f16_to_f32(const std::uint16_t* in, float* out, std::size_t n);
void convert_f32_to_bf16(const float* in, std::uint16_t* out, std::size_t n);
void convert_bf16_to_f32(const std::uint16_t* in, float* out, std::size_t n);
void convert_f32_to_f8e4m3fn(const float* in, std::uint8_t* out, std::size_t n, bool saturate);
void convert_f8e4m3fn_to_f32(const std::uint8_t* in, float* out, std::size_t n);
void convert_f32_to_f8e5m2(const float* in, std::uint8_t* out, std::size_t n, bool saturate);
void convert_f8e5m2_to_f32(const std::uint8_t* in, float* out, std::size_t n);

// The best-first lists behind them, for tests, benchmarks and `lowp inspect --kernels`.
std::span<const KernelEntry<ConvertF32ToF16Fn>> convert_f32_to_f16_kernels();
std::span<const KernelEntry<ConvertF16ToF32Fn>> convert_f16_to_f32_kernels();
std::span<const KernelEntry<ConvertF32ToBF16Fn>> convert_f32_to_bf16_kernels();
std::span<const KernelEntry<ConvertBF16ToF32Fn>> convert_bf16_to_f32_kernels();
std::span<const KernelEntry<ConvertF32ToF8Fn>> convert_f32_to_f8e4m3fn_kernels();
std::span<const KernelEntry<ConvertF8ToF32Fn>> convert_f8e4m3fn_to_f32_kernels();
std::span<const KernelEntry<ConvertF32ToF8Fn>> convert_f32_to_f8e5m2_kernels();
std::span<const KernelEntry<ConvertF8ToF32Fn>> convert_f8e5m2_to_f32_kernels();

// The variants, one per ISA translation unit (convert_scalar.cc, convert_avx2.cc,
// convert_avx512.cc). Call the dispatching functions above; these are listed for the
// kernel lists and for tests that name a variant directly.
void f32_to_f16_convert__scalar(const float* in, std::uint16_t* out, std::size_t n);
void f32_to_f16_convert__avx2(const float* in, std::uint16_t* out, std::size_t n);
void f32_to_f16_convert__avx512(const float* in, std::uint16_t* out, std::size_t n);
void f16_to_f32_convert__scalar(const std::uint16_t* in, float* out, std::size_t n);
void f16_to_f32_convert__avx2(const std::uint16_t* in, float* out, std::size_t n);
void f16_to_f32_convert__avx512(const std::uint16_t* in, float* out, std::size_t n);
void f32_to_bf16_convert__scalar(const float* in, std::uint16_t* out, std::size_t n);
void f32_to_bf16_convert__avx2(const float* in, std::uint16_t* out, std::size_t n);
void f32_to_bf16_convert__avx512(const float* in, std::uint16_t* out, std::size_t n);
void bf16_to_f32_convert__scalar(const std::uint16_t* in, float* out, std::size_t n);
void bf16_to_f32_convert__avx2(const std::uint16_t* in, float* out, std::size_t n);
void bf16_to_f32_convert__avx512(const std::uint16_t* in, float* out, std::size_t n);
void f32_to_f8e4m3fn_convert__scalar(const float* in, std::uint8_t* out, std::size_t n,
                                     bool saturate);
void f32_to_f8e4m3fn_convert__avx2(const float* in, std::uint8_t* out, std::size_t n,
                                   bool saturate);
void f32_to_f8e4m3fn_convert__avx512(const float* in, std::uint8_t* out, std::size_t n,
                                     bool saturate);
void f8e4m3fn_to_f32_convert__scalar(const std::uint8_t* in, float* out, std::size_t n);
void f8e4m3fn_to_f32_convert__avx2(const std::uint8_t* in, float* out, std::size_t n);
void f8e4m3fn_to_f32_convert__avx512(const std::uint8_t* in, float* out, std::size_t n);
void f32_to_f8e5m2_convert__scalar(const float* in, std::uint8_t* out, std::size_t n,
                                   bool saturate);
void f32_to_f8e5m2_convert__avx2(const float* in, std::uint8_t* out, std::size_t n, bool saturate);
void f32_to_f8e5m2_convert__avx512(const float* in, std::uint8_t* out, std::size_t n,
                                   bool saturate);
void f8e5m2_to_f32_convert__scalar(const std::uint8_t* in, float* out, std::size_t n);
void f8e5m2_to_f32_convert__avx2(const std::uint8_t* in, float* out, std::size_t n);
void f8e5m2_to_f32_convert__avx512(const std::uint8_t* in, float* out, std::size_t n);

}  // namespace lowp
