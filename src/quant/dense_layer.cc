// quant/dense_layer.cc
#include "quant/dense_layer.h"

#include <cmath>

#include "base/error.h"

namespace lowp::quant {
namespace {

const Tensor* float_constant(const ir::Value* v) {
  return v && v->constant && v->constant->dtype() == DType::float32 ? v->constant.get() : nullptr;
}

}  // namespace

std::string node_label(const ir::Node& n) {
  return n.name.empty() ? n.op_type + " " + (n.outputs.empty() || !n.outputs[0] ? "?" : n.outputs[0]->name)
                        : n.name;
}

std::string dense_layer_problem(const ir::Node& n) {
  const Tensor* w = float_constant(n.has_input(1) ? n.inputs[1] : nullptr);
  if (!w) return "weights are not a float32 constant";
  if (w->shape().rank() != 2) return "weights are not 2-D";
  if (w->elements() == 0) return "weights are empty";
  if (!n.inputs[0]->type.dtype || *n.inputs[0]->type.dtype != DType::float32) return "input is not float32";
  if (n.op_type == "Gemm") {
    if (n.attr_int("transA", 0) != 0 || n.attr_float("alpha", 1.0f) != 1.0f || n.attr_float("beta", 1.0f) != 1.0f)
      return "Gemm with transA, alpha or beta";
    if (n.has_input(2) && !float_constant(n.inputs[2])) return "bias is not a float32 constant";
  } else if (n.op_type != "MatMul") {
    return "not a MatMul or Gemm";
  }
  auto values = w->values<float>();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i]))
      throw Error(fmt::format("node '{}': weight '{}' holds {} at flat index {}; quantization needs finite weights",
                              node_label(n), n.inputs[1]->name, values[i], i));
  }
  return {};
}

DenseShape dense_shape(const ir::Node& n) {
  const Shape& s = n.inputs[1]->constant->shape();
  DenseShape d;
  d.trans_b = n.op_type == "Gemm" && n.attr_int("transB", 0) != 0;
  d.k = d.trans_b ? s[1] : s[0];
  d.n = d.trans_b ? s[0] : s[1];
  return d;
}

std::vector<float> dense_weight_rows(const ir::Node& n) {
  DenseShape d = dense_shape(n);
  auto src = n.inputs[1]->constant->values<float>();
  if (d.trans_b) return {src.begin(), src.end()};
  auto k = static_cast<std::size_t>(d.k), nn = static_cast<std::size_t>(d.n);
  std::vector<float> rows(src.size());
  for (std::size_t kk = 0; kk < k; ++kk)
    for (std::size_t j = 0; j < nn; ++j) rows[j * k + kk] = src[kk * nn + j];
  return rows;
}

}  // namespace lowp::quant
