// passes/fuse_attention.cc: scaled dot-product attention as exporters write it,
//   P = Softmax(MatMul(Q, KT) {/ c | * c} [+ mask], axis -1);  Y = MatMul(P, V)
// becomes one lowp::Attention(Q, KT, V [, mask]; scale) node, whose kernel keeps each
// head's scores in a cache-resident buffer instead of writing [B, H, S, S] tensors out
// and reading them back three times (runtime/ops/attention.cc).
#include "passes/passes.h"
#include "passes/rewrite_util.h"

namespace lowp::passes {
namespace {

bool float_rank(const ir::Value* v, std::size_t min_rank) {
  return v && v->type.dtype == DType::float32 && v->type.dims && v->type.rank() >= min_rank;
}

}  // namespace

std::size_t fuse_attention(ir::Graph& graph) {
  UseMap uses = graph.uses();
  std::vector<ir::Node*> removed;
  std::size_t fused = 0;
  for (const auto& node : graph.nodes()) {
    ir::Node* qk = node.get();
    if (!is_op(qk, "MatMul")) continue;
    ir::Value* q = qk->inputs[0];
    ir::Value* kt = qk->inputs[1];
    if (!float_rank(q, 3) || !float_rank(kt, 3) || q->type.rank() != kt->type.rank()) continue;
    ir::Node* scale_node = sole_consumer(graph, uses, qk->outputs[0]);
    float scale = 1.0f;
    if (is_op(scale_node, "Div") || is_op(scale_node, "Mul")) {
      if (scale_node->inputs[0] != qk->outputs[0]) continue;
      const Tensor* c = float_constant(scale_node->inputs[1]);
      if (!c || c->elements() != 1 || c->values<float>()[0] == 0.0f) continue;
      scale = scale_node->op_type == "Div" ? 1.0f / c->values<float>()[0] : c->values<float>()[0];
    } else {
      continue;
    }
    ir::Node* next = sole_consumer(graph, uses, scale_node->outputs[0]);
    ir::Value* mask = nullptr;
    ir::Node* add = nullptr;
    if (is_op(next, "Add")) {
      add = next;
      mask = add->inputs[0] == scale_node->outputs[0] ? add->inputs[1] : add->inputs[0];
      if (!mask || mask->type.dtype != DType::float32 || !mask->type.dims || mask->type.rank() > q->type.rank()) continue;
      next = sole_consumer(graph, uses, add->outputs[0]);
    }
    if (!is_op(next, "Softmax")) continue;
    ir::Node* softmax = next;
    std::int64_t axis = softmax->attr_int("axis", -1);
    if (axis != -1 && axis != static_cast<std::int64_t>(q->type.rank()) - 1) continue;
    ir::Node* pv = sole_consumer(graph, uses, softmax->outputs[0]);
    if (!is_op(pv, "MatMul") || pv->inputs[0] != softmax->outputs[0]) continue;
    ir::Value* v = pv->inputs[1];
    if (!float_rank(v, 3) || v->type.rank() != q->type.rank()) continue;
    // The last MatMul becomes the attention node, keeping its output value.
    pv->op_type = "Attention";
    pv->domain = "lowp";
    pv->inputs = {q, kt, v};
    if (mask) pv->inputs.push_back(mask);
    pv->attributes.clear();
    pv->attributes["scale"] = ir::Attribute::of_float(scale);
    for (ir::Node* n : {qk, scale_node, add, softmax}) {
      if (!n) continue;
      for (ir::Value* o : n->outputs) {
        if (o) o->producer = nullptr;
      }
      removed.push_back(n);
    }
    ++fused;
  }
  graph.remove_nodes(removed);
  return fused;
}

}  // namespace lowp::passes
