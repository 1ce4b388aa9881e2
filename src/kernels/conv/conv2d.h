// kernels/conv/conv2d.h: 2D convolution (groups, depthwise, strides, padding, dilation) on
// the GEMM micro-kernels, in NHWC.
//
// Layout: activations are NHWC. A convolution is then one GEMM per group whose rows are
// output pixels: row p of A is the receptive field of pixel p, gathered as KH x KW runs of
// the group's channels (im2col, in blocks of rows so the buffer stays in cache and its
// size bounded), times the weights packed once into the GEMM panel layout with k ordered
// (kh, kw, c) to match. The GEMM's epilogue adds the bias per output channel and applies
// the activation, and writes straight into the NHWC output (ldc = output channels, each
// group at its channel offset). A 1x1 convolution with stride 1 and no padding needs no
// gather at all: the input rows are already A. NCHW (ONNX's layout) would put a channel's
// pixels in a row, so the GEMM would produce NCHW only as the transpose of this one, and
// 1x1 convolutions would need a gather; the graph runtime converts at its boundaries.
//
// Weights arrive in ONNX's layout, [out_channels][in_channels / groups][KH][KW].
//
// Depthwise convolutions (groups = channels) run their own kernel (depthwise.h), with
// channels in the vector lanes, over output rows split across threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/aligned_buffer.h"
#include "base/thread_pool.h"
#include "kernels/bf16dot/bf16dot.h"
#include "kernels/gemm/gemm.h"
#include "kernels/qgemm/qgemm.h"

namespace lowp {

struct Conv2dShape {
  int batch = 1, in_h = 0, in_w = 0, in_c = 0, out_c = 0;
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int dilation_h = 1, dilation_w = 1;
  int groups = 1;

  int out_h() const;
  int out_w() const;
  int group_in_c() const { return in_c / groups; }
  int group_out_c() const { return out_c / groups; }
  int gemm_k() const { return kernel_h * kernel_w * group_in_c(); }
  // One filter per channel: runs the depthwise kernel instead of one GEMM per channel.
  bool is_depthwise() const { return groups == in_c && groups == out_c && groups > 1; }
  // No gather needed: 1x1, stride 1, no padding.
  bool is_pointwise() const;
  // Throws lowp::Error naming the broken rule: sizes < 1, negative padding, channels not
  // divisible by groups, a kernel larger than the padded input, sizes that overflow.
  void validate() const;
};

struct PackedConv2dWeights {
  Conv2dShape shape;
  std::vector<PackedGemmWeights> groups;  // one GEMM weight matrix per group
  AlignedBuffer<float> depthwise;         // depthwise only: [kernel_h][kernel_w][channels]
};

// weights: [out_c][in_c / groups][kernel_h][kernel_w] fp32.
PackedConv2dWeights pack_conv2d_f32(const Conv2dShape& shape, const float* weights);

// Scratch for the gather or the zero-padded input of the implicit GEMM, reused across calls.
struct Conv2dScratch {
  AlignedBuffer<float> rows;
  AlignedBuffer<float> padded;
};

// input: [batch][in_h][in_w][in_c]; output: [batch][out_h][out_w][out_c]; bias: [out_c] or null.
// out_pixel_stride (0: out_c) spaces the output pixels further apart, so that the output
// is a slice of the channels of a wider NHWC tensor (a Concat's inputs written in place);
// the channels between slices are not touched. Not for depthwise convolutions.
// residual (or null), dense [batch][out_h][out_w][out_c], is added to sum + bias before the
// activation: in the implicit GEMM's epilogue, elsewhere in a pass over the output.
void conv2d_f32(const PackedConv2dWeights& w, const float* input, const float* bias,
                ActivationParams act, float* output, Conv2dScratch& scratch,
                ThreadPool* pool = nullptr, std::size_t out_pixel_stride = 0,
                const float* residual = nullptr);

// out = act(out + residual) over `pixels` pixels of `channels` values (out ldc apart,
// residual dense), the activation by the array kernel (kernels/activate/activate.h), as the
// standalone Relu / Gelu ops compute it: the residual of the paths without one in their
// epilogue, with the bits of Add then the activation.
void conv2d_add_residual(float* out, std::size_t ldc, const float* residual, std::size_t pixels, int channels,
                         ActivationParams act, ThreadPool* pool = nullptr);

// One image's output rows on demand, for a consumer that takes them band by band while
// they are in cache (a fused max pool: the feature map never goes out to memory). Applies
// where the implicit GEMM does (conv2d_f32_computes_rows); rows come out with the bits
// conv2d_f32 gives them, however the image is cut.
struct Conv2dImage {
  const float* padded = nullptr;  // the image, or its zero-padded copy in the scratch
  std::size_t row_stride = 0;     // elements per padded input row
};
bool conv2d_f32_computes_rows(const PackedConv2dWeights& w);
// Prepares one NHWC image (the padded copy lives in `scratch` until its next use).
Conv2dImage conv2d_f32_prepare_image(const PackedConv2dWeights& w, const float* image, Conv2dScratch& scratch,
                                     ThreadPool* pool = nullptr);
// Output rows [row_begin, row_end) to `output` (row_begin's first pixel; pixels ldc apart),
// `residual` (or null) holding those rows' residual values densely (out_c per pixel).
void conv2d_f32_rows(const PackedConv2dWeights& w, const Conv2dImage& image, const float* bias,
                     ActivationParams act, int row_begin, int row_end, float* output, std::size_t ldc,
                     ThreadPool* pool = nullptr, const float* residual = nullptr);

// ---- bf16: bf16 activations and weights, fp32 accumulation and output (bf16dot.h). ----
struct PackedConv2dBf16Weights {
  Conv2dShape shape;
  std::vector<PackedBf16DotWeights> groups;
};
// weights: ONNX layout, bf16 bits.
PackedConv2dBf16Weights pack_conv2d_bf16(const Conv2dShape& shape, const std::uint16_t* weights);
struct Conv2dBf16Scratch {
  AlignedBuffer<std::uint16_t> rows;
  AlignedBuffer<std::uint16_t> padded;  // the implicit GEMM's zero-padded image
};
// input: NHWC bf16 bits; output: NHWC fp32.
void conv2d_bf16(const PackedConv2dBf16Weights& w, const std::uint16_t* input, const float* bias,
                 ActivationParams act, float* output, Conv2dBf16Scratch& scratch,
                 ThreadPool* pool = nullptr);
// The same with the output rounded to bf16 (nearest even) block by block, as bf16 training
// passes activations on: conv2d_bf16's results, rounded.
void conv2d_bf16_to_bf16(const PackedConv2dBf16Weights& w, const std::uint16_t* input,
                         const float* bias, ActivationParams act, std::uint16_t* output,
                         Conv2dBf16Scratch& scratch, ThreadPool* pool = nullptr);

// ---- int8: u8 activations (zero point), s8 weights per output channel, int32 bias, and
// the int8 GEMM's epilogue (qgemm.h): fp32 output, or u8 requantized to the next layer. ----
struct QConv2dParams {
  std::int32_t input_zero_point = 0;
  float input_scale = 1.0f;
  const float* weight_scales = nullptr;  // [out_c]
  const std::int32_t* bias = nullptr;    // [out_c] in the scale input_scale * weight_scale, or null
  QGemmOutput output = QGemmOutput::f32;
  float output_scale = 1.0f;           // u8 output
  std::int32_t output_zero_point = 0;  // u8 output
  ActivationParams act = Activation::none;
};
struct PackedConv2dInt8Weights {
  Conv2dShape shape;
  std::vector<PackedQGemmWeights> groups;
  std::vector<AlignedBuffer<std::int32_t>> offsets;  // per group, qgemm_column_offsets
  std::vector<AlignedBuffer<float>> scales;          // per group, the epilogue multipliers
  QGemmOutput output = QGemmOutput::f32;
  std::int32_t input_zero_point = 0, output_zero_point = 0;
  ActivationParams act = Activation::none;
  // Depthwise only (qdepthwise.h): [kh][kw][c] weights, int32 bias, epilogue multipliers.
  AlignedBuffer<std::int16_t> depthwise_weights;
  AlignedBuffer<std::int32_t> depthwise_bias;
  AlignedBuffer<float> depthwise_scale;
};
// weights: ONNX layout, s8. Throws lowp::Error on a non-finite or non-positive scale or a
// zero point outside [0, 255].
PackedConv2dInt8Weights pack_conv2d_int8(const Conv2dShape& shape, const std::int8_t* weights,
                                         const QConv2dParams& params);
struct Conv2dInt8Scratch {
  AlignedBuffer<std::uint8_t> rows;
  AlignedBuffer<std::uint8_t> padded;  // the implicit GEMM's image, padded with the zero point
};
// input: NHWC u8; output: NHWC fp32 (output_f32) or u8 (output_u8), as packed.
void conv2d_int8(const PackedConv2dInt8Weights& w, const std::uint8_t* input, float* output_f32,
                 std::uint8_t* output_u8, Conv2dInt8Scratch& scratch, ThreadPool* pool = nullptr);
// The int8 reference: exact int32 sums of (x - zero point) * w, then qgemm's epilogue.
void conv2d_int8_ref(const Conv2dShape& shape, const std::uint8_t* input,
                     const std::int8_t* weights, const QConv2dParams& params, float* output_f32,
                     std::uint8_t* output_u8);

// The reference: seven plain loops, same layouts, weights in ONNX's layout.
void conv2d_f32_ref(const Conv2dShape& shape, const float* input, const float* weights,
                    const float* bias, ActivationParams act, float* output);

}  // namespace lowp
