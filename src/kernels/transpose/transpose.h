// kernels/transpose/transpose.h: 2-D transposes of 4-byte elements, the inner step of the
// runtime's Transpose (runtime/ops/shape_ops.cc) whenever a permutation moves the
// innermost axis: attention's K^T, NCHW <-> NHWC, weight layouts.
//
// out[c * out_stride + r] = in[r * in_stride + c] for r < rows, c < cols (strides in
// elements). The bits move untouched (float NaN payloads included), so one kernel serves
// float32, int32 and uint32. Pointers need 4-byte alignment only; rows or cols may be 0.
//
// Variants, best first:
//   x32_transpose_16x16__avx512  16x16 tiles in zmm registers (unpack, shuffle, 128-bit lane moves)
//   x32_transpose_8x8__avx2      8x8 tiles in ymm registers
//   x32_transpose_8x8__scalar    the reference: 8x8 tiles through a local array
// Edges narrower than a tile go through the scalar loop in every variant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernels/dispatch.h"

namespace lowp {

using TransposeX32Fn = void (*)(const std::uint32_t* in, std::uint32_t* out, std::size_t rows, std::size_t cols,
                                std::size_t in_stride, std::size_t out_stride);

// The dispatching entry point (resolved once, on first call).
void transpose_x32(const std::uint32_t* in, std::uint32_t* out, std::size_t rows, std::size_t cols,
                   std::size_t in_stride, std::size_t out_stride);
// The kernel transpose_x32 runs, for `lowp inspect` and op profiles.
const char* transpose_x32_kernel_name();

std::span<const KernelEntry<TransposeX32Fn>> transpose_x32_kernels();

void x32_transpose_8x8__scalar(const std::uint32_t* in, std::uint32_t* out, std::size_t rows, std::size_t cols,
                               std::size_t in_stride, std::size_t out_stride);
void x32_transpose_8x8__avx2(const std::uint32_t* in, std::uint32_t* out, std::size_t rows, std::size_t cols,
                             std::size_t in_stride, std::size_t out_stride);
void x32_transpose_16x16__avx512(const std::uint32_t* in, std::uint32_t* out, std::size_t rows, std::size_t cols,
                                 std::size_t in_stride, std::size_t out_stride);

}  // namespace lowp
