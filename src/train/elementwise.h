// train/elementwise.h: layers that act on each element alone: the activations ReLU, GELU
// (erf form, ONNX Gelu), Sigmoid and Tanh, Dropout, and Flatten (which moves elements but
// computes nothing). Their backward passes are element-wise too, so they split over the
// thread pool freely; none reduces.
#pragma once

#include <cstdint>

#include "train/layer.h"

namespace lowp::train {

enum class ActivationKind { relu, gelu, sigmoid, tanh };

class ActivationLayer final : public Layer {
 public:
  ActivationLayer(std::string name, ActivationKind kind) : Layer(std::move(name)), kind_(kind) {}
  const char* kind() const override;
  std::vector<int> output_shape(std::span<const int> in) const override {
    return {in.begin(), in.end()};
  }
  void forward(const Batch& x, Batch& y, const Context& ctx) override;
  // ReLU: dy where y > 0 (the gradient at 0 is taken as 0, as PyTorch does); GELU:
  // dy (Phi(x) + x phi(x)); Sigmoid: dy y (1 - y); Tanh: dy (1 - y^2).
  void backward(const Batch& x, const Batch& y, const Batch& dy, Batch* dx,
                const Context& ctx) override;
  ir::Value* export_to(ir::Graph& graph, ir::Value* x) const override;
  bool handles_bf16() const override { return kind_ == ActivationKind::relu; }

 private:
  ActivationKind kind_;
};

// Inverted dropout: in training each element is zeroed with probability p and the others
// scaled by 1 / (1 - p); at inference the identity (and nothing in the exported graph).
// The mask of a step comes from Random(step_seed ^ salt), so it is reproducible (resume,
// thread counts) and differs between dropout layers of one model.
class Dropout final : public Layer {
 public:
  Dropout(std::string name, float p, std::uint64_t salt);
  const char* kind() const override { return "Dropout"; }
  std::vector<int> output_shape(std::span<const int> in) const override {
    return {in.begin(), in.end()};
  }
  void forward(const Batch& x, Batch& y, const Context& ctx) override;
  void backward(const Batch& x, const Batch& y, const Batch& dy, Batch* dx,
                const Context& ctx) override;
  ir::Value* export_to(ir::Graph&, ir::Value* x) const override { return x; }

 private:
  float p_;
  std::uint64_t salt_;
  std::vector<float> mask_;  // 0 or 1 / (1 - p) per element of the last training step
};

// [N, H, W, C] (NHWC) -> [N, C * H * W] in (c, h, w) order, which is how PyTorch and ONNX
// flatten NCHW; any other rank [N, ...] -> [N, prod(...)] in place order.
class Flatten final : public Layer {
 public:
  explicit Flatten(std::string name) : Layer(std::move(name)) {}
  const char* kind() const override { return "Flatten"; }
  bool handles_bf16() const override { return true; }
  std::vector<int> output_shape(std::span<const int> in) const override;
  void forward(const Batch& x, Batch& y, const Context& ctx) override;
  void backward(const Batch& x, const Batch& y, const Batch& dy, Batch* dx,
                const Context& ctx) override;
  ir::Value* export_to(ir::Graph& graph, ir::Value* x) const override;
};

}  // namespace lowp::train
