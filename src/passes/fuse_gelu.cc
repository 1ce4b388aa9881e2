// passes/fuse_gelu.cc: the erf GELU that exporters write out,
//   x * 0.5 * (1 + erf(x / sqrt(2)))   (any order of the two multiplies; x * (1/sqrt 2)
//   for the division), becomes one Gelu (opset 20) node, which fuse_activations can then
// fold into the preceding GEMM's epilogue.
#include <cmath>

#include "passes/passes.h"
#include "passes/rewrite_util.h"

namespace lowp::passes {
namespace {

// sqrt(2) and 1 / sqrt(2) are accepted within 1e-3 (relative): an fp16 model stores them
// rounded to fp16 (1.4141 for 1.41421), and that is still the erf GELU to the precision
// such a model has.
constexpr double kSqrt2Tolerance = 1e-3;

bool is_scalar(const ir::Value* v, double value, double tol = 1e-6) {
  const Tensor* t = float_constant(v);
  return t && t->elements() == 1 && std::abs(t->values<float>()[0] - value) <= tol * std::max(1.0, std::abs(value));
}

// The operand of a binary node that is not `v` (nullptr when v is not an operand).
ir::Value* other(const ir::Node& n, const ir::Value* v) {
  if (n.inputs.size() != 2) return nullptr;
  if (n.inputs[0] == v) return n.inputs[1];
  if (n.inputs[1] == v) return n.inputs[0];
  return nullptr;
}

}  // namespace

std::size_t fuse_gelu(ir::Graph& graph) {
  UseMap uses = graph.uses();
  std::vector<ir::Node*> removed;
  std::size_t fused = 0;
  for (const auto& node : graph.nodes()) {
    ir::Node& erf = *node;
    if (!is_op(&erf, "Erf")) continue;
    // a = x / sqrt(2) or x * (1 / sqrt(2))
    ir::Node* scale = erf.inputs[0]->producer;
    if (!scale || sole_consumer(graph, uses, erf.inputs[0]) != &erf) continue;
    ir::Value* x = nullptr;
    if (is_op(scale, "Div") && is_scalar(scale->inputs[1], std::sqrt(2.0), kSqrt2Tolerance)) {
      x = scale->inputs[0];
    } else if (is_op(scale, "Mul")) {
      if (is_scalar(scale->inputs[1], 1.0 / std::sqrt(2.0), kSqrt2Tolerance)) x = scale->inputs[0];
      else if (is_scalar(scale->inputs[0], 1.0 / std::sqrt(2.0), kSqrt2Tolerance)) x = scale->inputs[1];
    }
    if (!x) continue;
    ir::Node* plus = sole_consumer(graph, uses, erf.outputs[0]);
    if (!is_op(plus, "Add") || !is_scalar(other(*plus, erf.outputs[0]), 1.0)) continue;
    ir::Node* m1 = sole_consumer(graph, uses, plus->outputs[0]);
    if (!is_op(m1, "Mul")) continue;
    ir::Value* o = other(*m1, plus->outputs[0]);
    std::vector<ir::Node*> chain = {scale, &erf, plus, m1};
    ir::Node* last = m1;
    if (o == x) {  // (x * (1 + erf)) * 0.5
      ir::Node* half = sole_consumer(graph, uses, m1->outputs[0]);
      if (!is_op(half, "Mul") || !is_scalar(other(*half, m1->outputs[0]), 0.5)) continue;
      chain.push_back(half);
      last = half;
    } else if (o && is_op(o->producer, "Mul") && sole_consumer(graph, uses, o) == m1 &&
               other(*o->producer, x) && is_scalar(other(*o->producer, x), 0.5)) {  // (x * 0.5) * (1 + erf)
      chain.push_back(o->producer);
    } else {
      continue;
    }
    // The last node becomes Gelu(x), keeping its output value.
    last->op_type = "Gelu";
    last->inputs = {x};
    last->attributes.clear();
    for (ir::Node* n : chain) {
      if (n != last) removed.push_back(n);
    }
    ++fused;
  }
  for (ir::Node* n : removed) {
    for (ir::Value* v : n->outputs) {
      if (v) v->producer = nullptr;
    }
  }
  graph.remove_nodes(removed);
  return fused;
}

}  // namespace lowp::passes
