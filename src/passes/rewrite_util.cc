// passes/rewrite_util.cc
#include "passes/rewrite_util.h"

#include "base/error.h"
#include "ir/schema.h"

namespace lowp::passes {

ir::Node* sole_consumer(const ir::Graph& graph, const UseMap& uses, const ir::Value* v) {
  if (!v || graph.is_graph_output(v)) return nullptr;
  auto it = uses.find(v);
  if (it == uses.end() || it->second.size() != 1) return nullptr;
  return it->second[0].node;
}

void absorb_into_producer(ir::Node& producer, ir::Node& absorbed) {
  ir::Value* old_out = producer.outputs[0];
  ir::Value* new_out = absorbed.outputs[0];
  old_out->producer = nullptr;
  new_out->producer = &producer;
  producer.outputs[0] = new_out;
  absorbed.outputs[0] = nullptr;
}

bool is_per_image_nhwc_conv(const ir::Node& n) {
  if (n.domain != "lowp" || n.op_type != "NhwcConv" || n.outputs.size() != 1 || n.has_input(3)) return false;
  const ir::Value* w = n.has_input(1) ? n.inputs[1] : nullptr;
  if (!w || !w->constant || w->constant->shape().rank() != 4) return false;
  const DType t = w->constant->dtype();
  if (t != DType::float32 && t != DType::float16 && t != DType::bfloat16) return false;
  return n.inputs[0]->type.dtype == DType::float32;
}

void infer_types_where_possible(ir::Graph& graph) {
  for (const auto& n : graph.nodes()) {
    try {
      ir::infer_node(*n);
    } catch (const Error&) {
    }
  }
}

const Tensor* float_constant(const ir::Value* v) {
  if (!v || !v->is_constant() || v->constant->dtype() != DType::float32) return nullptr;
  return v->constant.get();
}

}  // namespace lowp::passes
