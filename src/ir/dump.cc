// ir/dump.cc
#include "ir/dump.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

namespace lowp::ir {
namespace {

std::string attribute_text(const Attribute& a) {
  switch (a.kind) {
    case Attribute::Kind::kInt: return std::to_string(a.i);
    case Attribute::Kind::kFloat: return fmt::format("{}", a.f);
    case Attribute::Kind::kString: return fmt::format("\"{}\"", a.s);
    case Attribute::Kind::kInts: return fmt::format("[{}]", fmt::join(a.ints, ", "));
    case Attribute::Kind::kFloats: return fmt::format("[{}]", fmt::join(a.floats, ", "));
    case Attribute::Kind::kStrings: return fmt::format("[{}]", fmt::join(a.strings, ", "));
    case Attribute::Kind::kTensor:
      return fmt::format("tensor {}", TensorType::of(a.t->dtype(), a.t->shape()).str());
    case Attribute::Kind::kGraph: return "graph";
  }
  return "?";
}

}  // namespace

std::string dump(const Graph& graph) {
  std::string out = "graph " + graph.name + "\n";
  for (const Value* v : graph.inputs) out += fmt::format("  input {}: {}\n", v->name, v->type.str());
  // Constants in the order nodes first use them, so the dump does not depend on how the
  // importer stored initializers.
  std::set<const Value*> listed;
  for (const auto& n : graph.nodes()) {
    for (const Value* v : n->inputs) {
      if (v && v->is_constant() && listed.insert(v).second) {
        out += fmt::format("  const {}: {}\n", v->name, v->type.str());
      }
    }
  }
  for (const auto& n : graph.nodes()) {
    std::string op = n->domain.empty() ? n->op_type : n->domain + "::" + n->op_type;
    std::vector<std::string> attrs;
    for (const auto& [key, a] : n->attributes) attrs.push_back(key + "=" + attribute_text(a));
    std::vector<std::string> ins, outs;
    for (const Value* v : n->inputs) ins.push_back(v ? v->name : "<none>");
    for (const Value* v : n->outputs) {
      outs.push_back(v ? v->name + ": " + v->type.str() : "<none>");
    }
    out += fmt::format("  {} = {}{}({}) -> {}\n", n->name.empty() ? "_" : n->name, op,
                       attrs.empty() ? "" : "[" + fmt::format("{}", fmt::join(attrs, ", ")) + "]",
                       fmt::join(ins, ", "), fmt::join(outs, ", "));
  }
  for (const Value* v : graph.outputs) out += fmt::format("  output {}\n", v->name);
  return out;
}

}  // namespace lowp::ir
