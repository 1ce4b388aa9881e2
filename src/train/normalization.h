// train/normalization.h: BatchNorm (over every axis but the channels, the last axis in
// lowp's NHWC layout: BatchNorm2d on [N, H, W, C], BatchNorm1d on [N, C]) and LayerNorm
// (over the last axis).
//
// Statistics are summed in double, over elements in memory order, on one thread: the same
// bits at any thread count. BatchNorm follows nn.BatchNorm2d: training normalizes by the
// batch's mean and biased variance and moves the running statistics by `momentum` (the
// running variance takes the unbiased batch variance); evaluation uses the running ones.
// Backward (training), with x^ the normalized input and M the elements per channel:
//   dbeta = sum dy,  dgamma = sum dy x^,  dx = gamma / (M sigma) (M dy - dbeta - x^ dgamma)
// LayerNorm's is the same per row with the sums over the row, and gamma inside them.
#pragma once

#include "train/layer.h"

namespace lowp::train {

class BatchNorm final : public Layer {
 public:
  BatchNorm(std::string name, int channels, float eps = 1e-5f, float momentum = 0.1f);

  const char* kind() const override { return "BatchNorm"; }
  std::vector<int> output_shape(std::span<const int> in) const override;
  void forward(const Batch& x, Batch& y, const Context& ctx) override;
  void backward(const Batch& x, const Batch& y, const Batch& dy, Batch* dx,
                const Context& ctx) override;
  std::vector<Param*> params() override { return {&gamma_, &beta_}; }
  std::vector<StateTensor*> states() override { return {&running_mean_, &running_var_}; }
  ir::Value* export_to(ir::Graph& graph, ir::Value* x) const override;
  bool handles_bf16() const override { return true; }

  int channels() const { return channels_; }
  float eps() const { return eps_; }

 private:
  template <class T>
  void normalize(const T* in, T* out, std::size_t rows, ThreadPool* pool) const;
  template <class T>
  void backward_as(const T* xs, const T* gs, T* dxs, std::size_t rows, ThreadPool* pool);

  int channels_;
  float eps_, momentum_;
  Param gamma_, beta_;
  StateTensor running_mean_, running_var_;
  // Of the last forward, per channel: backward recomputes the normalized input
  // x^ = (x - mean) inv_std from them rather than storing a batch-sized copy.
  std::vector<float> mean_;
  std::vector<float> inv_std_;
  bool last_training_ = true;
};

class LayerNorm final : public Layer {
 public:
  LayerNorm(std::string name, int features, float eps = 1e-5f);

  const char* kind() const override { return "LayerNorm"; }
  std::vector<int> output_shape(std::span<const int> in) const override;
  void forward(const Batch& x, Batch& y, const Context& ctx) override;
  void backward(const Batch& x, const Batch& y, const Batch& dy, Batch* dx,
                const Context& ctx) override;
  std::vector<Param*> params() override { return {&gamma_, &beta_}; }
  ir::Value* export_to(ir::Graph& graph, ir::Value* x) const override;

 private:
  int features_;
  float eps_;
  Param gamma_, beta_;
  std::vector<float> xhat_, inv_std_;  // inv_std_: one per row
};

}  // namespace lowp::train
