// kernels/conv/depthwise.h: depthwise 2D convolution (one filter per channel, groups =
// channels) in NHWC. The grouped GEMM path would run one GEMM of width 1 per channel;
// here channels are the vector lanes instead: for each output pixel and each window tap,
// one multiply-add of 16 (AVX-512) or 8 (AVX2) channels at once.
#pragma once

#include <span>

#include "kernels/dispatch.h"
#include "kernels/gemm/gemm.h"

namespace lowp {

struct Conv2dShape;

struct DepthwiseArgs {
  const Conv2dShape* shape = nullptr;
  const float* input = nullptr;    // one image [in_h][in_w][c]
  const float* weights = nullptr;  // [kernel_h][kernel_w][c]
  const float* bias = nullptr;     // [c] or null
  ActivationParams act = Activation::none;
  float* output = nullptr;         // one image [out_h][out_w][c]
  int row_begin = 0, row_end = 0;  // output rows to compute
};
using DepthwiseFn = void (*)(const DepthwiseArgs&);

std::span<const KernelEntry<DepthwiseFn>> depthwise_kernels();
void depthwise_scalar(const DepthwiseArgs& args);
void depthwise_avx2(const DepthwiseArgs& args);
void depthwise_avx512(const DepthwiseArgs& args);

}  // namespace lowp
