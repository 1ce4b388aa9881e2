// train/linear.h: the fully connected layer y = x W^T + b, W [out][in] as PyTorch's
// nn.Linear and ONNX Gemm(transB = 1) hold it. Forward and both gradients are GEMMs on
// lowp's packed kernels (train/matmul.h): dx = dy W, dW = dy^T x, db = column sums of dy.
#pragma once

#include <vector>

#include "base/random.h"
#include "train/layer.h"
#include "train/matmul.h"

namespace lowp::train {

class Linear final : public Layer {
 public:
  // Weights and bias uniform in +-1/sqrt(in), as nn.Linear initializes them.
  Linear(std::string name, int in, int out, Random& rng, bool bias = true);

  const char* kind() const override { return "Linear"; }
  std::vector<int> output_shape(std::span<const int> in) const override;
  void forward(const Batch& x, Batch& y, const Context& ctx) override;
  void backward(const Batch& x, const Batch& y, const Batch& dy, Batch* dx,
                const Context& ctx) override;
  std::vector<Param*> params() override;
  ir::Value* export_to(ir::Graph& graph, ir::Value* x) const override;

  int in() const { return in_; }
  int out() const { return out_; }
  Param& weight() { return weight_; }
  Param& bias() { return bias_; }
  bool has_bias() const { return has_bias_; }
  // Takes bf16 inputs (bf16 training); its output is fp32.
  bool handles_bf16() const override { return true; }

 private:
  int in_, out_;
  bool has_bias_;
  Param weight_, bias_;
  MatmulScratch scratch_;
  std::vector<float> dx_f32_;  // bf16 input: the input gradient before rounding
};

}  // namespace lowp::train
