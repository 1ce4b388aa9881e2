// quant/dense_layer.h: the dense layers the weight quantizers rewrite (MatMul by a constant
// 2-D weight, Gemm without transA / alpha / beta), and their weights as [N][K] rows, the
// layout of every weight scheme (quant/weight_quant.h) and of MatMulNBits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace lowp::quant {

// The node's name, or "<op> <first output>" when it has none: what errors and reports show.
std::string node_label(const ir::Node& n);

// Why `n` (a MatMul or Gemm) cannot have its weights quantized, or empty when it can.
// Throws lowp::Error naming the node and the weight on NaN or Inf weights.
std::string dense_layer_problem(const ir::Node& n);

struct DenseShape {
  std::int64_t k = 0, n = 0;  // inputs, outputs
  bool trans_b = false;       // Gemm's weights are stored [N, K]
};
DenseShape dense_shape(const ir::Node& n);

// The weights as rows of K inputs, one per output: [N][K].
std::vector<float> dense_weight_rows(const ir::Node& n);

}  // namespace lowp::quant
