// kernels/conv/conv_implicit.h: the convolution GEMM of conv2d.h with the rows of A read
// in place from the (zero-padded) NHWC input instead of gathered (implicit GEMM).
//
// With one group and no horizontal dilation, the receptive field of output pixel
// (oh, ow) in kernel row kh is one contiguous run of KW x C input elements, starting at
// image[(oh * stride_h + kh * dilation_h) * row_stride + ow * stride_w * C] of the padded
// image. Its GEMM row (k ordered (kh, kw, c), as pack_conv2d_f32 orders the weights) is
// then KH such runs, one per kernel row, `row_stride * dilation_h` apart. A tile keeps one
// pointer per output pixel and walks the runs: no gather, and any tile of pixels, even one
// that spans two output rows.
//
// The weights are conv2d.h's GEMM panels. Each output is summed in k order from zero in
// fp32, then bias, any residual and activation, exactly as the gathered GEMM does with zero padding
// (the padding here is zeros too): the two paths give the same bits. k may be cut into
// chunks whose partial sums go through the output buffer and back (exact in fp32), so the
// result depends neither on chunking nor on how pixels are dealt out to threads.
#pragma once

#include <cstddef>
#include <span>

#include "kernels/dispatch.h"
#include "kernels/gemm/gemm.h"

namespace lowp {

struct Conv2dShape;

struct ImplicitConvArgs {
  const Conv2dShape* shape = nullptr;
  // Input pixel (ih, iw) of the padded image (ih, iw counted from the padded origin) at
  // image + ih * row_stride + iw * in_c.
  const float* image = nullptr;
  std::size_t row_stride = 0;
  const PackedGemmWeights* w = nullptr;  // pack_gemm_f32 of the (kh, kw, c)-ordered weights
  const float* bias = nullptr;           // [out_c] or null
  ActivationParams act = Activation::none;
  float* output = nullptr;             // pixel_begin's output; the next pixels ldc apart
  std::size_t ldc = 0;                 // elements from one output pixel to the next (>= out_c)
  // Added to the sum + bias before the activation (a residual connection), or null:
  // pixel_begin's values, dense (out_c per pixel).
  const float* residual = nullptr;
  int pixel_begin = 0, pixel_end = 0;  // output pixels (oh * out_w + ow) to compute
};
using ImplicitConvFn = void (*)(const ImplicitConvArgs&);

// Whether the runs are contiguous: one group, no horizontal dilation.
bool implicit_conv_applies(const Conv2dShape& s);

std::span<const KernelEntry<ImplicitConvFn>> implicit_conv_kernels();
void implicit_conv_scalar(const ImplicitConvArgs& args);
void implicit_conv_avx2(const ImplicitConvArgs& args);
void implicit_conv_avx512(const ImplicitConvArgs& args);

}  // namespace lowp
