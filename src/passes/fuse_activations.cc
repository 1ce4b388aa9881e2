// passes/fuse_activations.cc: an activation right after a convolution or dense layer runs
// in the GEMM's epilogue. Conv becomes lowp::FusedConv; the activation node goes, and
// the fused node carries activation = relu | clip (activation_min / activation_max).
#include <cmath>
#include <limits>

#include "passes/passes.h"
#include "passes/rewrite_util.h"

namespace lowp::passes {
namespace {

bool is_fusable_producer(const ir::Node& n) {
  if (n.domain.empty()) return n.op_type == "Conv";
  return n.domain == "lowp" && (n.op_type == "FusedConv" || n.op_type == "FusedGemm");
}

// The activation attributes for `act`, or false when it cannot be fused.
bool activation_of(const ir::Node& act, std::map<std::string, ir::Attribute>& attrs) {
  if (!act.domain.empty()) return false;
  if (act.op_type == "Relu") {
    attrs["activation"] = ir::Attribute::of_string("relu");
    return true;
  }
  if (act.op_type == "Gelu" && act.attr_string("approximate", "none") == "none") {
    attrs["activation"] = ir::Attribute::of_string("gelu");
    return true;
  }
  if (act.op_type == "Clip") {
    float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
    for (std::size_t i = 1; i < 3; ++i) {
      if (!act.has_input(i)) continue;
      const Tensor* t = float_constant(act.inputs[i]);
      if (!t || t->elements() != 1) return false;
      (i == 1 ? lo : hi) = t->values<float>()[0];
    }
    if (std::isnan(lo) || std::isnan(hi)) return false;
    attrs["activation"] = ir::Attribute::of_string("clip");
    attrs["activation_min"] = ir::Attribute::of_float(lo);
    attrs["activation_max"] = ir::Attribute::of_float(hi);
    return true;
  }
  return false;
}

}  // namespace

std::size_t fuse_activations(ir::Graph& graph) {
  UseMap uses = graph.uses();
  std::vector<ir::Node*> removed;
  for (const auto& n : graph.nodes()) {
    ir::Node& node = *n;
    if (!is_fusable_producer(node) || node.attr_string("activation", "none") != "none") continue;
    const ir::TensorType& t = node.outputs[0]->type;
    if (t.dtype && *t.dtype != DType::float32) continue;
    ir::Node* act = sole_consumer(graph, uses, node.outputs[0]);
    std::map<std::string, ir::Attribute> attrs;
    if (!act || !activation_of(*act, attrs)) continue;
    if (node.domain.empty()) {
      node.op_type = "FusedConv";
      node.domain = "lowp";
    }
    for (auto& [k, v] : attrs) node.attributes[k] = v;
    absorb_into_producer(node, *act);
    removed.push_back(act);
  }
  graph.remove_nodes(removed);
  return removed.size();
}

}  // namespace lowp::passes
