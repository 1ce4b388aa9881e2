// passes/eliminate_dead_nodes.cc
#include <unordered_set>

#include "passes/passes.h"

namespace lowp::passes {

std::size_t eliminate_dead_nodes(ir::Graph& graph) {
  // Walk backwards from the outputs: a node is live when one of its outputs is needed.
  std::unordered_set<const ir::Value*> needed(graph.outputs.begin(), graph.outputs.end());
  std::vector<ir::Node*> dead;
  const auto& nodes = graph.nodes();
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    ir::Node* n = it->get();
    bool live = false;
    for (const ir::Value* v : n->outputs) live = live || (v && needed.contains(v));
    if (!live) {
      dead.push_back(n);
      continue;
    }
    for (const ir::Value* v : n->inputs) {
      if (v) needed.insert(v);
    }
  }
  graph.remove_nodes(dead);
  return dead.size();
}

}  // namespace lowp::passes
