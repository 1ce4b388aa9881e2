// passes/fold_batch_norm.cc: Conv -> BatchNormalization with constant weights becomes one
// Conv: W'[o] = W[o] * s[o], B'[o] = (B[o] - mean[o]) * s[o] + beta[o], with
// s = gamma / sqrt(var + epsilon) computed in double.
#include <cmath>

#include "passes/passes.h"
#include "passes/rewrite_util.h"

namespace lowp::passes {

std::size_t fold_batch_norm(ir::Graph& graph) {
  UseMap uses = graph.uses();
  std::vector<ir::Node*> removed;
  for (const auto& n : graph.nodes()) {
    ir::Node& bn = *n;
    if (bn.op_type != "BatchNormalization" || !bn.domain.empty() || bn.outputs.size() != 1) continue;
    ir::Node* conv = bn.inputs[0]->producer;
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
