// passes/fold_constants.cc
#include <algorithm>

#include "base/error.h"
#include "ir/schema.h"
#include "passes/passes.h"

namespace lowp::passes {
namespace {

std::shared_ptr<Tensor> int64_vector(const std::vector<std::int64_t>& v) {
  auto t = std::make_shared<Tensor>(DType::int64, Shape{static_cast<std::int64_t>(v.size())});
  std::copy(v.begin(), v.end(), t->values<std::int64_t>().begin());
  return t;
}

// Shape and Size need only their input's type, not its value.
std::shared_ptr<Tensor> fold_shape_query(const ir::Node& node) {
  if (!node.domain.empty() || !node.has_input(0)) return nullptr;
  const ir::TensorType& t = node.inputs[0]->type;
  if (!t.is_concrete()) return nullptr;
  Shape shape = t.concrete_shape();
  if (node.op_type == "Size") {
    auto out = std::make_shared<Tensor>(DType::int64, Shape{});
    out->values<std::int64_t>()[0] = static_cast<std::int64_t>(shape.elements());
    return out;
  }
  if (node.op_type != "Shape") return nullptr;
  // The output type, already inferred, says which slice of dims (start/end).
  const ir::TensorType& o = node.outputs[0]->type;
  if (!o.is_concrete()) return nullptr;
  auto rank = static_cast<std::int64_t>(shape.rank());
  std::int64_t start = node.attr_int("start", 0);
  if (start < 0) start += rank;
  start = std::clamp<std::int64_t>(start, 0, rank);
  std::vector<std::int64_t> dims(shape.dims().begin() + start,
                                 shape.dims().begin() + start + o.concrete_shape().elements());
  return int64_vector(dims);
}

bool outputs_fit(const ir::Node& node, std::size_t limit) {
  std::size_t total = 0;
  for (const ir::Value* v : node.outputs) {
    if (!v) continue;
    if (!v->type.is_concrete() || !v->type.dtype) return false;
    total += dtype_storage_bytes(*v->type.dtype, v->type.concrete_shape().elements());
  }
  return total <= limit;
}

}  // namespace

std::size_t fold_constants(ir::Graph& graph, const NodeEvaluator& evaluate, FoldOptions options) {
  std::vector<ir::Node*> folded;
  for (const auto& n : graph.nodes()) {
    ir::Node& node = *n;
    ir::infer_node(node);
    if (node.outputs.empty() || std::any_of(node.outputs.begin(), node.outputs.end(),
                                            [](const ir::Value* v) { return v == nullptr; })) {
      continue;
    }
    if (auto t = fold_shape_query(node)) {
      node.outputs[0]->constant = std::move(t);
      node.outputs[0]->producer = nullptr;
      folded.push_back(&node);
      continue;
    }
    bool all_constant = std::all_of(node.inputs.begin(), node.inputs.end(),
                                    [](const ir::Value* v) { return !v || v->is_constant(); });
    if (!all_constant || !outputs_fit(node, options.max_output_bytes)) continue;
    std::vector<std::shared_ptr<const Tensor>> values = evaluate(node);
    LOWP_CHECK(values.size() == node.outputs.size(), "internal: folding '{}' gave {} outputs",
               node.label(), values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      ir::Value* v = node.outputs[i];
      v->type = ir::TensorType::of(values[i]->dtype(), values[i]->shape());
      v->constant = std::move(values[i]);
      v->producer = nullptr;
    }
    folded.push_back(&node);
  }
  graph.remove_nodes(folded);
  return folded.size();
}

}  // namespace lowp::passes
