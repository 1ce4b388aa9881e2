// train/conv2d.h: 2-D convolution (square kernel, stride, zero padding, groups) on NHWC
// activations, with the weight in ONNX's [out][in / groups][kh][kw] layout.
//
// Forward is lowp's inference convolution (kernels/conv/conv2d.h: implicit GEMM or
// depthwise). Backward:
//  - weight: per group, dW = dy^T cols, where cols is the im2col matrix of the input
//    (rows: output pixels of the whole batch; columns: (kh, kw, c), the order the
//    forward kernels pack weights in): GEMMs over chunks of kPixelChunk pixels, whose
//    im2col rows are written straight in the GEMM's panel layout and stay in cache,
//    chunks dealt to threads, their results added in chunk order; then permuted back to
//    ONNX's layout;
//  - bias: column sums of dy over every output pixel, in order;
//  - input, stride 1 with padding < kernel: the gradient of a stride-1 convolution is
//    itself a convolution of dy with the kernel flipped in space and its in and out
//    channels swapped, padded by kernel - 1 - padding, so it runs the same fast forward
//    kernel;
//  - input, otherwise (stride > 1): dcols = dy W per group (a GEMM), then col2im adds each
//    pixel's row back into the input positions it was gathered from, in pixel order.
#pragma once

#include <cstdint>
#include <vector>

#include "base/random.h"
#include "kernels/conv/conv2d.h"
#include "train/layer.h"
#include "train/matmul.h"

namespace lowp::train {

struct Conv2dOptions {
  int in_channels = 1, out_channels = 1;
  int kernel = 3;
  int stride = 1;
  int padding = 0;
  int groups = 1;
  bool bias = true;
};

class Conv2d final : public Layer {
 public:
  // Weights and bias uniform in +-1/sqrt(fan_in), fan_in = in / groups * kernel^2, as
  // nn.Conv2d initializes them. Throws lowp::Error on sizes < 1, negative padding, or
  // channels not divisible by groups.
  Conv2d(std::string name, const Conv2dOptions& options, Random& rng);

  const char* kind() const override { return "Conv2d"; }
  std::vector<int> output_shape(std::span<const int> in) const override;
  void forward(const Batch& x, Batch& y, const Context& ctx) override;
  void backward(const Batch& x, const Batch& y, const Batch& dy, Batch* dx,
                const Context& ctx) override;
  std::vector<Param*> params() override;
  ir::Value* export_to(ir::Graph& graph, ir::Value* x) const override;
  // Takes bf16 inputs; in bf16 training its output is bf16 whatever the input.
  bool handles_bf16() const override { return true; }

  const Conv2dOptions& options() const { return o_; }

 private:
  Conv2dShape shape_for(std::span<const int> in) const;
  // dx from dy, in fp32 or, when dy_bits is given, on the bf16 kernels (into dx_bits,
  // rounded, when given, else dx).
  void input_gradient_by_conv(const Conv2dShape& s, const float* dy, const std::uint16_t* dy_bits,
                              float* dx, std::uint16_t* dx_bits, const Context& ctx);
  void input_gradient_by_col2im(const Conv2dShape& s, const float* dy, float* dx,
                                std::size_t dx_elements, const Context& ctx);
  // y = conv(x) on the bf16 kernels, weights (ONNX layout, fp32) rounded to bf16: into
  // y_bits rounded to bf16 when given, else into y (fp32).
  void conv_bf16(const Conv2dShape& s, const float* weights, const std::uint16_t* x,
                 const float* bias, float* y, std::uint16_t* y_bits, ThreadPool* pool);
  // values rounded to bf16 into bits; returns bits.data().
  static const std::uint16_t* narrowed(const std::vector<float>& values,
                                       std::vector<std::uint16_t>& bits, ThreadPool* pool);

  Conv2dOptions o_;
  Param weight_, bias_;
  PackedConv2dWeights packed_;
  Conv2dScratch conv_scratch_;
  // bf16: the weights, an fp32 input (kept from forward for the weight gradient) and an
  // fp32 output gradient rounded for the kernels; the kernels' fp32 results before
  // rounding, and a bf16 output gradient widened.
  std::vector<std::uint16_t> weight_bf16_, input_bf16_;
  std::vector<float> out_f32_, grad_f32_;
  PackedConv2dBf16Weights packed_bf16_;
  Conv2dBf16Scratch bf16_scratch_;
  // Pixels per chunk of the weight gradient: the chunk's packed im2col rows (at most
  // 64 x 9 x 256 floats for a 3x3 layer of 64 channels, 590 KB) stay in L2 while the GEMM
  // reads them once per tile of rows.
  static constexpr int kPixelChunk = 256;
  struct ChunkScratch {  // one per thread
    PackedGemmWeights cols;
    std::vector<float> dy_t;
    // bf16: the chunk's im2col rows packed, and dy^T's rows (pixel pairs interleaved).
    PackedBf16DotWeights cols_bf16;
    std::vector<std::uint32_t> dy_pairs;
    std::vector<std::uint16_t> dy_t_bf16;
  };
  std::vector<ChunkScratch> chunk_scratch_;
  std::vector<float> cols_, grad_mat_, partials_, weight_mat_, flipped_;
  MatmulScratch matmul_;
};

// The im2col matrix of one group: row p (output pixel, batch-major) holds the receptive
// field of p in (kh, kw, c) order, zeros where it falls in the padding. cols: [pixels][k].
// The reference of im2col_packed.
void im2col_nhwc(const Conv2dShape& s, int group, const float* x, float* cols);
// Rows [first_pixel, first_pixel + rows) of that matrix: cols [rows][k].
void im2col_rows(const Conv2dShape& s, int group, const float* x, int first_pixel, int rows,
                 float* cols);
// The same rows from a bf16 input, packed as the B operand of the bf16 kernels
// (pack_bf16dot_from_f32_kn's layout: pixels in pairs, k columns).
void im2col_packed_bf16(const Conv2dShape& s, int group, const std::uint16_t* x, int first_pixel,
                        int rows, PackedBf16DotWeights& out);
// Rows [first_pixel, first_pixel + rows) of that matrix written straight into the GEMM's
// panel layout, as pack_gemm_f32_kn would pack them (n = k columns, k = rows): the B
// operand of the weight gradient without a copy in between.
void im2col_packed(const Conv2dShape& s, int group, const float* x, int first_pixel, int rows,
                   PackedGemmWeights& out);

}  // namespace lowp::train
