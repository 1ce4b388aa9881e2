// kernels/quantize/quantize.h: fp32 <-> int8 / uint8 with one scale and zero point.
//
// The one quantization rule of lowp (ONNX QuantizeLinear), used by the runtime, by
// calibration and by the fake quantization of training:
//   q = saturate(round_half_to_even(x / scale) + zero_point)
//   x = (q - zero_point) * scale
// x / scale is a true IEEE division (not a multiply by 1/scale, which rounds differently on
// ties). NaN quantizes to the zero point (it reads back as 0); +-Inf saturate. Every ISA
// path gives the same bits as quantize_value().
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernels/dispatch.h"

namespace lowp {

// The reference, one element. qmin/qmax: the storage range ([0, 255] for u8).
std::int32_t quantize_value(float x, float scale, std::int32_t zero_point, std::int32_t qmin,
                            std::int32_t qmax);
inline float dequantize_value(std::int32_t q, float scale, std::int32_t zero_point) {
  return static_cast<float>(q - zero_point) * scale;
}

using QuantizeU8Fn = void (*)(const float* x, std::size_t n, float scale, std::int32_t zero_point,
                              std::uint8_t* q);
using QuantizeS8Fn = void (*)(const float* x, std::size_t n, float scale, std::int32_t zero_point,
                              std::int8_t* q);
using DequantizeU8Fn = void (*)(const std::uint8_t* q, std::size_t n, float scale,
                                std::int32_t zero_point, float* x);

// The scale of symmetric quantization to [-qmax, qmax] of values whose largest magnitude is
// absmax: absmax / qmax, never below FLT_MIN, and 1 for an all-zero tensor (it then
// round-trips to zeros; never a scale of 0 or NaN). Used for weights and dynamic activations.
float symmetric_scale(float absmax, std::int32_t qmax);

// max |x[i]| over the finite and infinite values, NaN ignored (0 for n = 0): the range of
// symmetric dynamic quantization.
using AbsMaxFn = float (*)(const float* x, std::size_t n);
float absmax_ref(const float* x, std::size_t n);

// quantize_s8 with zero point 0 that also writes the sum of the quantized values of each
// group of `group` consecutive elements (sums[ceil(n / group)]): the activation side of
// the int4 x int8 kernel, which needs those sums for the weights' zero points.
using QuantizeS8SumsFn = void (*)(const float* x, std::size_t n, float scale, std::int8_t* q,
                                  std::size_t group, std::int32_t* sums);
void quantize_s8_sums_ref(const float* x, std::size_t n, float scale, std::int8_t* q,
                          std::size_t group, std::int32_t* sums);
void quantize_s8_sums_avx512(const float* x, std::size_t n, float scale, std::int8_t* q,
                             std::size_t group, std::int32_t* sums);
std::span<const KernelEntry<QuantizeS8SumsFn>> quantize_s8_sums_kernels();
void quantize_s8_sums(const float* x, std::size_t n, float scale, std::int8_t* q, std::size_t group,
                      std::int32_t* sums);

std::span<const KernelEntry<QuantizeU8Fn>> quantize_u8_kernels();
std::span<const KernelEntry<AbsMaxFn>> absmax_kernels();
float absmax(const float* x, std::size_t n);
std::span<const KernelEntry<QuantizeS8Fn>> quantize_s8_kernels();
std::span<const KernelEntry<DequantizeU8Fn>> dequantize_u8_kernels();

// Dispatched to the best path for this CPU. scale must be finite and > 0 (callers validate).
void quantize_u8(const float* x, std::size_t n, float scale, std::int32_t zero_point,
                 std::uint8_t* q);
void quantize_s8(const float* x, std::size_t n, float scale, std::int32_t zero_point,
                 std::int8_t* q);
void dequantize_u8(const std::uint8_t* q, std::size_t n, float scale, std::int32_t zero_point,
                   float* x);

// Variants (internal; listed here for the lists and the tests).
void quantize_u8_scalar(const float*, std::size_t, float, std::int32_t, std::uint8_t*);
void quantize_s8_scalar(const float*, std::size_t, float, std::int32_t, std::int8_t*);
void dequantize_u8_scalar(const std::uint8_t*, std::size_t, float, std::int32_t, float*);
float absmax_avx2(const float*, std::size_t);
float absmax_avx512(const float*, std::size_t);
void quantize_u8_avx2(const float*, std::size_t, float, std::int32_t, std::uint8_t*);
void quantize_s8_avx2(const float*, std::size_t, float, std::int32_t, std::int8_t*);
void dequantize_u8_avx2(const std::uint8_t*, std::size_t, float, std::int32_t, float*);
void quantize_u8_avx512(const float*, std::size_t, float, std::int32_t, std::uint8_t*);
void quantize_s8_avx512(const float*, std::size_t, float, std::int32_t, std::int8_t*);
void dequantize_u8_avx512(const std::uint8_t*, std::size_t, float, std::int32_t, float*);

}  // namespace lowp
