// passes/remove_identities.cc
#include "passes/passes.h"

namespace lowp::passes {
namespace {

bool is_identity(const ir::Node& n) {
  if (!n.domain.empty() || n.inputs.empty() || !n.inputs[0]) return false;
  const std::string& op = n.op_type;
  if (op == "Identity") return true;
  // Dropout at inference is the identity; its mask output must be unused (checked below).
  if (op == "Dropout") return true;
  const ir::TensorType& in = n.inputs[0]->type;
  const ir::TensorType& out = n.outputs[0]->type;
  bool same = in.dtype && in.dtype == out.dtype && in.is_concrete() && out.is_concrete() &&
              in.concrete_shape() == out.concrete_shape();
  if (op == "Cast") return in.dtype && in.dtype == out.dtype;
  if (op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze" || op == "Expand") return same;
  return false;
}

}  // namespace

std::size_t remove_identities(ir::Graph& graph) {
  auto uses = graph.uses();
  std::vector<ir::Node*> removed;
  for (const auto& n : graph.nodes()) {
    if (!is_identity(*n) || n->outputs.empty() || !n->outputs[0]) continue;
    bool extra_outputs_used = false;
    for (std::size_t i = 1; i < n->outputs.size(); ++i) {
      const ir::Value* v = n->outputs[i];
      if (v && (uses.contains(v) || graph.is_graph_output(v))) extra_outputs_used = true;
    }
    if (extra_outputs_used) continue;
    ir::Value* in = n->inputs[0];
    ir::Value* out = n->outputs[0];
    // A graph output keeps its name: only remove when the output is not one, or the input
    // is an internal value that can take the output's place.
    if (graph.is_graph_output(out)) {
      if (in->producer == nullptr || graph.is_graph_output(in)) continue;
      // Rename: the producer now writes `out` directly.
      ir::Node* producer = in->producer;
      for (ir::Value*& o : producer->outputs) {
        if (o == in) o = out;
      }
      n->outputs[0] = nullptr;
      out->producer = producer;
      in->producer = nullptr;
      graph.replace_all_uses(in, out);
    } else {
      graph.replace_all_uses(out, in);
    }
    removed.push_back(n.get());
  }
  graph.remove_nodes(removed);
  return removed.size();
}

}  // namespace lowp::passes
