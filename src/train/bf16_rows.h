// train/bf16_rows.h: the row loops of bf16 training's BatchNorm, ReLU and max pooling, the memory-bound
// passes that bf16 storage halves. Each element is widened (a shift), computed in fp32 as
// the fp32 layers compute it, and rounded to nearest even once (bfloat16::from_float), so
// a bf16 layer gives the fp32 layer's results on the same values, rounded.
//
// Built twice from one body (bf16_rows_body.h): for the baseline (SSE2, 4 lanes, where
// every widening and rounding costs several instructions) and for AVX-512 (16 lanes),
// picked at run time by the ISA level (LOWP_ISA respected). Both give the same bits: the
// same operations in the same order per element, sums over rows in row order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernels/dispatch.h"

namespace lowp::train {

struct Bf16RowKernels {
  // acc[j] += x, acc[c + j] += x^2 over rows [0, rows) of x [rows][c] (double).
  void (*bn_stats)(const std::uint16_t* x, std::size_t rows, std::size_t c, double* acc);
  // y = bf16(gamma ((x - mean) inv) + beta), per channel j.
  void (*bn_normalize)(const std::uint16_t* x, std::uint16_t* y, std::size_t rows, std::size_t c,
                       const float* mean, const float* inv, const float* gamma,
                       const float* beta);
  // acc[j] += g, acc[c + j] += g x^ (double), x^ = (x - mean) inv.
  void (*bn_grad_sums)(const std::uint16_t* x, const std::uint16_t* g, std::size_t rows,
                       std::size_t c, const float* mean, const float* inv, double* acc);
  // dx = bf16(a g - b - x^ d), per channel j.
  void (*bn_grad_input)(const std::uint16_t* x, const std::uint16_t* g, std::uint16_t* dx,
                        std::size_t rows, std::size_t c, const float* mean, const float* inv,
                        const float* a, const float* b, const float* d);
  // y = x if x > 0 else +0; dx = g if y > 0 else +0 (n elements).
  void (*relu)(const std::uint16_t* x, std::uint16_t* y, std::size_t n);
  void (*relu_grad)(const std::uint16_t* y, const std::uint16_t* g, std::uint16_t* dx,
                    std::size_t n);
  // Max pooling whose kernel x kernel windows tile the input (stride = kernel, no padding),
  // images [b0, b1) of NHWC [.., ih, iw, c] -> [.., oh, ow, c]. Forward: each output the
  // largest input of its window (the first of equals, as the fp32 layer compares).
  // Backward: the first input equal to its window's maximum gets the output gradient's
  // bits, the others +0 (inputs outside every window too).
  void (*max_pool_tiles)(const std::uint16_t* x, std::uint16_t* y, int ih, int iw, int oh, int ow,
                         int c, int kernel, int b0, int b1);
  void (*max_pool_tiles_grad)(const std::uint16_t* x, const std::uint16_t* y,
                              const std::uint16_t* g, std::uint16_t* dx, int ih, int iw, int oh,
                              int ow, int c, int kernel, int b0, int b1);
};

// Best first; and the one this CPU runs.
std::span<const KernelEntry<const Bf16RowKernels*>> bf16_row_kernel_list();
const Bf16RowKernels& bf16_row_kernels();

// The variants (internal).
extern const Bf16RowKernels kBf16RowsBaseline;
extern const Bf16RowKernels kBf16RowsAvx512;

}  // namespace lowp::train
