// passes/fuse_layer_norm.cc: LayerNorm as exporters before opset 17 write it,
//   mean = ReduceMean(x, [-1]); d = x - mean; var = ReduceMean(d ^ 2, [-1]);
//   y = d / Sqrt(var + eps) [* gamma] [+ beta]
// becomes one LayerNormalization(x, gamma, beta; axis -1, epsilon) node.
#include <cmath>

#include "passes/passes.h"
#include "passes/rewrite_util.h"

namespace lowp::passes {
namespace {

// ReduceMean over the last axis only, keeping dims.
bool is_last_axis_mean(const ir::Node* n) {
  if (!is_op(n, "ReduceMean") || n->attr_int("keepdims", 1) == 0 || !n->has_input(1)) return false;
  const ir::Value* axes = n->inputs[1];
  const ir::TensorType& x = n->inputs[0]->type;
  if (!axes->is_constant() || axes->constant->dtype() != DType::int64 || axes->constant->elements() != 1) return false;
  std::int64_t a = axes->constant->values<std::int64_t>()[0];
  return a == -1 || (x.dims && a == static_cast<std::int64_t>(x.rank()) - 1);
}

const Tensor* scalar(const ir::Value* v) {
  const Tensor* t = float_constant(v);
  return t && t->elements() == 1 ? t : nullptr;
}

}  // namespace

std::size_t fuse_layer_norm(ir::Graph& graph) {
  UseMap uses = graph.uses();
  std::vector<ir::Node*> removed;
  std::size_t fused = 0;
  auto consumers = [&](const ir::Value* v) -> std::vector<ir::Node*> {
    std::vector<ir::Node*> out;
    if (graph.is_graph_output(v)) return out;
    if (auto it = uses.find(v); it != uses.end()) {
      for (const ir::Use& u : it->second) out.push_back(u.node);
    }
    return out;
  };
  for (const auto& node : graph.nodes()) {
    ir::Node* mean = node.get();
    if (!is_last_axis_mean(mean)) continue;
    ir::Value* x = mean->inputs[0];
    ir::Node* sub = sole_consumer(graph, uses, mean->outputs[0]);
    if (!is_op(sub, "Sub") || sub->inputs[0] != x || sub->inputs[1] != mean->outputs[0]) continue;
    std::vector<ir::Node*> d_users = consumers(sub->outputs[0]);
    if (d_users.size() != 2) continue;
    ir::Node* pow = nullptr;
    ir::Node* div = nullptr;
    for (ir::Node* u : d_users) {
      if (is_op(u, "Pow") && u->inputs[0] == sub->outputs[0]) pow = u;
      if (is_op(u, "Div") && u->inputs[0] == sub->outputs[0]) div = u;
    }
    if (!pow || !div) continue;
    const Tensor* two = scalar(pow->inputs[1]);
    if (!two || two->values<float>()[0] != 2.0f) continue;
    ir::Node* var = sole_consumer(graph, uses, pow->outputs[0]);
    if (!is_last_axis_mean(var)) continue;
    ir::Node* add_eps = sole_consumer(graph, uses, var->outputs[0]);
    if (!is_op(add_eps, "Add") || add_eps->inputs[0] != var->outputs[0]) continue;
    const Tensor* eps = scalar(add_eps->inputs[1]);
    if (!eps) continue;
    ir::Node* sqrt = sole_consumer(graph, uses, add_eps->outputs[0]);
    if (!is_op(sqrt, "Sqrt") || sole_consumer(graph, uses, sqrt->outputs[0]) != div || div->inputs[1] != sqrt->outputs[0]) continue;
    std::vector<ir::Node*> chain = {mean, sub, pow, var, add_eps, sqrt, div};
    ir::Node* last = div;
    ir::Value* gamma = nullptr;
    ir::Value* beta = nullptr;
    ir::Node* mul = sole_consumer(graph, uses, div->outputs[0]);
    if (is_op(mul, "Mul") && mul->inputs[0] == div->outputs[0] && float_constant(mul->inputs[1])) {
      gamma = mul->inputs[1];
      chain.push_back(mul);
      last = mul;
      ir::Node* add = sole_consumer(graph, uses, mul->outputs[0]);
      if (is_op(add, "Add") && add->inputs[0] == mul->outputs[0] && float_constant(add->inputs[1])) {
        beta = add->inputs[1];
        chain.push_back(add);
        last = add;
      }
    }
    const ir::TensorType& xt = x->type;
    if (!xt.dims || xt.rank() == 0 || !xt.dims->back().is_known()) continue;
    std::int64_t cols = xt.dims->back().value;
    auto fits = [&](const ir::Value* v) { return !v || v->constant->elements() == static_cast<std::size_t>(cols); };
    if (!fits(gamma) || !fits(beta)) continue;
    if (!gamma) {
      auto ones = std::make_shared<Tensor>(DType::float32, Shape{cols});
      for (float& v : ones->values<float>()) v = 1.0f;
      gamma = graph.add_constant(graph.unique_name(x->name + "_ln_scale"), ones);
    }
    last->op_type = "LayerNormalization";
    last->inputs = {x, gamma};
    if (beta) last->inputs.push_back(beta);
    last->attributes.clear();
    last->attributes["axis"] = ir::Attribute::of_int(-1);
    last->attributes["epsilon"] = ir::Attribute::of_float(eps->values<float>()[0]);
    for (ir::Node* n : chain) {
      if (n == last) continue;
      for (ir::Value* v : n->outputs) {
        if (v) v->producer = nullptr;
      }
      removed.push_back(n);
    }
    ++fused;
  }
  graph.remove_nodes(removed);
  return fused;
}

}  // namespace lowp::passes
