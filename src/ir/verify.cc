// ir/verify.cc
#include "ir/verify.h"

#include <unordered_set>

#include "base/error.h"
#include "ir/schema.h"

namespace lowp::ir {

void verify(const Graph& graph) {
  std::unordered_set<const Value*> defined;
  for (const Value* v : graph.inputs) {
    LOWP_CHECK(v != nullptr, "graph '{}': a graph input is missing", graph.name);
    defined.insert(v);
  }
  auto is_defined = [&](const Value* v) { return v->is_constant() || defined.contains(v); };
  for (const auto& n : graph.nodes()) {
    for (std::size_t i = 0; i < n->inputs.size(); ++i) {
      const Value* v = n->inputs[i];
      if (v == nullptr) continue;
      LOWP_CHECK(is_defined(v),
                 "node '{}' ({}): input {} '{}' is not defined before it (undefined value or a "
                 "cycle)",
                 n->label(), n->op_type, i, v->name);
    }
    if (const OpSchema* s = find_schema(n->domain, n->op_type)) {
      auto ins = static_cast<int>(n->inputs.size());
      auto outs = static_cast<int>(n->outputs.size());
      LOWP_CHECK(ins >= s->min_inputs && ins <= s->max_inputs,
                 "node '{}' ({}): {} inputs, the op takes {} to {}", n->label(), n->op_type, ins,
                 s->min_inputs, s->max_inputs);
      LOWP_CHECK(outs >= s->min_outputs && outs <= s->max_outputs,
                 "node '{}' ({}): {} outputs, the op gives {} to {}", n->label(), n->op_type, outs,
                 s->min_outputs, s->max_outputs);
      for (int i = 0; i < s->min_inputs; ++i) {
        LOWP_CHECK(n->inputs[static_cast<std::size_t>(i)] != nullptr,
                   "node '{}' ({}): required input {} is empty", n->label(), n->op_type, i);
      }
    }
    for (const Value* v : n->outputs) {
      if (v == nullptr) continue;
      LOWP_CHECK(!v->is_constant() && defined.insert(v).second,
                 "node '{}' ({}): output '{}' is already defined", n->label(), n->op_type,
                 v->name);
    }
  }
  for (const Value* v : graph.outputs) {
    LOWP_CHECK(v != nullptr && is_defined(v), "graph '{}': output '{}' is never computed",
               graph.name, v ? v->name : std::string("?"));
  }
}

std::vector<std::string> unsupported_ops(const Graph& graph) {
  std::vector<std::string> out;
  for (const auto& n : graph.nodes()) {
    if (find_schema(n->domain, n->op_type)) continue;
    std::string domain = n->domain.empty() ? "ai.onnx" : n->domain;
    auto it = graph.opsets.find(n->domain);
    std::string opset = it == graph.opsets.end() ? "?" : std::to_string(it->second);
    out.push_back(fmt::format("node '{}': {} ({} opset {})", n->label(), n->op_type, domain, opset));
  }
  return out;
}

void require_supported(const Graph& graph, const std::string& source) {
  std::vector<std::string> missing = unsupported_ops(graph);
  if (missing.empty()) return;
  std::string list;
  for (const std::string& m : missing) list += "\n  " + m;
  fail_unsupported("{}: {} node{} use ops lowp does not support:{}", source, missing.size(),
       missing.size() == 1 ? "" : "s", list);
}

}  // namespace lowp::ir
