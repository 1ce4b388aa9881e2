// kernels/conv/qdepthwise.h: int8 depthwise convolution in NHWC, channels in the vector
// lanes: u8 activations with a zero point, s8 weights (one filter per channel, stored
// widened to int16 as [kh][kw][c]), exact int32 sums, then the int8 GEMM's epilogue
// (qgemm.h: one fp32 multiply, the exact activations, fp32 or requantized u8 output), so
// every path equals the reference bit for bit. Padded taps are real zeros: skipped.
#pragma once

#include <cstdint>
#include <span>

#include "kernels/dispatch.h"
#include "kernels/qgemm/qgemm.h"

namespace lowp {

struct Conv2dShape;

struct QDepthwiseArgs {
  const Conv2dShape* shape = nullptr;
  const std::uint8_t* input = nullptr;    // one image [in_h][in_w][c]
  const std::int16_t* weights = nullptr;  // [kernel_h][kernel_w][c]
  const std::int32_t* bias = nullptr;     // [c] in the accumulator's scale (zeros if none)
  const float* scale = nullptr;           // [c] epilogue multipliers
  std::int32_t input_zero_point = 0;
  ActivationParams act;  // exact ones only (relu, clamp)
  QGemmOutput output = QGemmOutput::f32;
  std::int32_t output_zero_point = 0;
  float* output_f32 = nullptr;  // one image [out_h][out_w][c]
  std::uint8_t* output_u8 = nullptr;
  int row_begin = 0, row_end = 0;
};
using QDepthwiseFn = void (*)(const QDepthwiseArgs&);

std::span<const KernelEntry<QDepthwiseFn>> qdepthwise_kernels();
void qdepthwise_scalar(const QDepthwiseArgs& args);
void qdepthwise_avx512(const QDepthwiseArgs& args);

}  // namespace lowp
