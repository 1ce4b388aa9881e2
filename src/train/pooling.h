// train/pooling.h: MaxPool2d and AvgPool2d on NHWC activations (square window, stride,
// zero padding).
//
// MaxPool's backward gives each output's gradient to the first input of its window, in
// (kh, kw) order, equal to the maximum (the position PyTorch picks; padding never wins),
// found again from the input and output rather than stored by the forward pass (a plain
// max vectorizes; a max with its position did not, and cost 10x). Outputs add in order,
// so overlapping windows sum in one fixed order. AvgPool divides by kernel^2 whatever the padding
// (PyTorch's default count_include_pad = True, exported as ONNX count_include_pad = 1).
#pragma once

#include <cstdint>

#include "train/layer.h"

namespace lowp::train {

struct Pool2dOptions {
  int kernel = 2;
  int stride = 2;
  int padding = 0;
};

class Pool2d final : public Layer {
 public:
  enum class Mode { max, average };
  // Throws lowp::Error on kernel or stride < 1, or padding outside [0, kernel / 2] (ONNX's
  // and PyTorch's rule, which keeps every window partly inside the input).
  Pool2d(std::string name, Mode mode, const Pool2dOptions& options);

  const char* kind() const override { return mode_ == Mode::max ? "MaxPool2d" : "AvgPool2d"; }
  std::vector<int> output_shape(std::span<const int> in) const override;
  void forward(const Batch& x, Batch& y, const Context& ctx) override;
  void backward(const Batch& x, const Batch& y, const Batch& dy, Batch* dx,
                const Context& ctx) override;
  ir::Value* export_to(ir::Graph& graph, ir::Value* x) const override;
  // bf16 batches when the windows tile the input (stride = kernel, no padding): each input
  // gradient is then one product, rounded once. Overlapping windows add into their inputs'
  // gradients, which must not be rounded at every addition: Model gives them fp32.
  bool handles_bf16() const override { return o_.stride == o_.kernel && o_.padding == 0; }

 private:
  template <class T>
  void forward_as(const Batch& x, const T* xs, T* ys, const Context& ctx);
  template <class T>
  void backward_as(const Batch& x, const Batch& y, const T* xs, const T* ys, const T* dys, T* dxs,
                   const Context& ctx);

  Mode mode_;
  Pool2dOptions o_;
};

}  // namespace lowp::train
