// runtime/mlp.h: a multi-layer perceptron in fp32, the model of the seed workflow
// (SimpleNet = Linear(100, 50) -> ReLU -> Linear(50, 10)).
//
// Layers hold weights as PyTorch's nn.Linear does, [out][in] row-major, with ReLU after
// every layer but the last. This is the float form that train/ trains and that
// compiled_mlp.h compiles into a fixed-precision network for inference. (The ONNX graph IR
// of later work generalizes it; the MLP stays as the seed workflow's model.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/thread_pool.h"

namespace lowp {

struct LinearLayer {
  int in = 0;
  int out = 0;
  std::vector<float> weight;  // [out][in]
  std::vector<float> bias;    // [out]
};

struct Mlp {
  std::vector<LinearLayer> layers;

  int inputs() const { return layers.front().in; }
  int outputs() const { return layers.back().out; }
  std::size_t parameters() const;
};

// sizes = {inputs, hidden..., outputs}. Initialized as PyTorch's nn.Linear: weights and
// biases uniform in [-1/sqrt(in), 1/sqrt(in)], from the given seed.
Mlp make_mlp(std::span<const int> sizes, std::uint64_t seed);

// Float forward pass of `rows` rows. When layer_inputs is given, it receives the input of
// every layer ([layer][rows * in]), which calibration observes.
void mlp_forward(const Mlp& mlp, const float* x, std::size_t rows, float* logits,
                 ThreadPool* pool = nullptr,
                 std::vector<std::vector<float>>* layer_inputs = nullptr);

// Index of the largest logit of each row.
void argmax_rows(const float* logits, std::size_t rows, int cols, std::int32_t* out);

}  // namespace lowp
