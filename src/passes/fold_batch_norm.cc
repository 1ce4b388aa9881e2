// passes/fold_batch_norm.cc: Conv or Gemm -> BatchNormalization with constant weights
// becomes one Conv or Gemm: W'[o] = W[o] * s[o], B'[o] = (B[o] - mean[o]) * s[o] + beta[o],
// with s = gamma / sqrt(var + epsilon) computed in double and o the output channel (Conv's
// axis 0 of W; Gemm's column of B, BatchNormalization's axis 1 of the [M, N] output).
#include <cmath>

#include "passes/passes.h"
#include "passes/rewrite_util.h"

namespace lowp::passes {
namespace {

// s and the shifted bias of a BatchNormalization over `n` channels, or false when its
// parameters are not constant float32 vectors of n values.
bool bn_factors(const ir::Node& bn, std::size_t n, std::vector<double>& scale, std::vector<double>& shift) {
  const Tensor* gamma = float_constant(bn.inputs[1]);
  const Tensor* beta = float_constant(bn.inputs[2]);
  const Tensor* mean = float_constant(bn.inputs[3]);
  const Tensor* var = float_constant(bn.inputs[4]);
  if (!gamma || !beta || !mean || !var) return false;
  if (gamma->elements() != n || beta->elements() != n || mean->elements() != n || var->elements() != n) return false;
  double eps = bn.attr_float("epsilon", 1e-5f);
  scale.resize(n);
  shift.resize(n);
  for (std::size_t o = 0; o < n; ++o) {
    scale[o] = gamma->values<float>()[o] / std::sqrt(static_cast<double>(var->values<float>()[o]) + eps);
    shift[o] = beta->values<float>()[o] - mean->values<float>()[o] * scale[o];
  }
  return true;
}

bool fold_into_gemm(ir::Graph& graph, const UseMap& uses, ir::Node& gemm, ir::Node& bn) {
  if (sole_consumer(graph, uses, gemm.outputs[0]) != &bn) return false;
  if (gemm.attr_int("transA", 0) != 0 || gemm.attr_float("alpha", 1.0f) != 1.0f || gemm.attr_float("beta", 1.0f) != 1.0f) return false;
  const Tensor* b = float_constant(gemm.inputs[1]);
  if (!b || b->shape().rank() != 2) return false;
  bool tb = gemm.attr_int("transB", 0) != 0;
  auto k = static_cast<std::size_t>(b->shape()[tb ? 1 : 0]);
  auto n = static_cast<std::size_t>(b->shape()[tb ? 0 : 1]);
  const Tensor* c = gemm.has_input(2) ? float_constant(gemm.inputs[2]) : nullptr;
  if (gemm.has_input(2) && (!c || (c->elements() != n && c->elements() != 1))) return false;
  std::vector<double> scale, shift;
  if (!bn_factors(bn, n, scale, shift)) return false;
  auto w = std::make_shared<Tensor>(DType::float32, b->shape());
  auto src = b->values<float>();
  auto dst = w->values<float>();
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      std::size_t at = tb ? j * k + i : i * n + j;
      dst[at] = static_cast<float>(src[at] * scale[j]);
    }
  }
  auto bias = std::make_shared<Tensor>(DType::float32, Shape{static_cast<std::int64_t>(n)});
  for (std::size_t j = 0; j < n; ++j) {
    double cj = c ? c->values<float>()[c->elements() == 1 ? 0 : j] : 0.0;
    bias->values<float>()[j] = static_cast<float>(cj * scale[j] + shift[j]);
  }
  std::string stem = gemm.name.empty() ? gemm.outputs[0]->name : gemm.name;
  gemm.inputs[1] = graph.add_constant(graph.unique_name(stem + "_B_bnfold"), w);
  gemm.inputs.resize(3, nullptr);
  gemm.inputs[2] = graph.add_constant(graph.unique_name(stem + "_C_bnfold"), bias);
  absorb_into_producer(gemm, bn);
  return true;
}

}  // namespace

std::size_t fold_batch_norm(ir::Graph& graph) {
  UseMap uses = graph.uses();
  std::vector<ir::Node*> removed;
  for (const auto& n : graph.nodes()) {
    ir::Node& bn = *n;
    if (bn.op_type != "BatchNormalization" || !bn.domain.empty() || bn.outputs.size() != 1) continue;
    ir::Node* conv = bn.inputs[0]->producer;
    if (conv && conv->op_type == "Gemm" && conv->domain.empty()) {
      if (fold_into_gemm(graph, uses, *conv, bn)) removed.push_back(&bn);
      continue;
    }
    if (!conv || conv->op_type != "Conv" || !conv->domain.empty()) continue;
    if (sole_consumer(graph, uses, conv->outputs[0]) != &bn) continue;
    const Tensor* w = float_constant(conv->inputs[1]);
    const Tensor* b = conv->has_input(2) ? float_constant(conv->inputs[2]) : nullptr;
    if (!w || (conv->has_input(2) && !b)) continue;
    const Tensor* gamma = float_constant(bn.inputs[1]);
    const Tensor* beta = float_constant(bn.inputs[2]);
    const Tensor* mean = float_constant(bn.inputs[3]);
    const Tensor* var = float_constant(bn.inputs[4]);
    if (!gamma || !beta || !mean || !var) continue;
    std::size_t oc = static_cast<std::size_t>(w->shape()[0]);
    if (gamma->elements() != oc || beta->elements() != oc || mean->elements() != oc || var->elements() != oc) continue;
    double eps = bn.attr_float("epsilon", 1e-5f);
    std::size_t per = w->elements() / oc;
    auto w2 = std::make_shared<Tensor>(DType::float32, w->shape());
    auto b2 = std::make_shared<Tensor>(DType::float32, Shape{static_cast<std::int64_t>(oc)});
    auto wv = w->values<float>();
    auto w2v = w2->values<float>();
    for (std::size_t o = 0; o < oc; ++o) {
      double s = gamma->values<float>()[o] / std::sqrt(static_cast<double>(var->values<float>()[o]) + eps);
      for (std::size_t i = 0; i < per; ++i) w2v[o * per + i] = static_cast<float>(wv[o * per + i] * s);
      double bias = b ? b->values<float>()[o] : 0.0;
      b2->values<float>()[o] = static_cast<float>((bias - mean->values<float>()[o]) * s + beta->values<float>()[o]);
    }
    std::string stem = conv->name.empty() ? conv->outputs[0]->name : conv->name;
    conv->inputs[1] = graph.add_constant(graph.unique_name(stem + "_W_bnfold"), w2);
    conv->inputs.resize(3, nullptr);
    conv->inputs[2] = graph.add_constant(graph.unique_name(stem + "_B_bnfold"), b2);
    absorb_into_producer(*conv, bn);
    removed.push_back(&bn);
  }
  graph.remove_nodes(removed);
  return removed.size();
}

}  // namespace lowp::passes
