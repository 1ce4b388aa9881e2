// ir/verify.h: structural checks of a graph, and the list of ops lowp cannot run.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace lowp::ir {

// Throws lowp::Error naming the first broken rule: a node reading a value nothing defines
// (or defined later: a cycle), a value defined twice, an input or output count outside
// the op's schema, a graph output with no definition.
void verify(const Graph& graph);

// One line per node whose op lowp does not know: "node 'name': Foo (ai.onnx opset 17)".
std::vector<std::string> unsupported_ops(const Graph& graph);
// Throws one lowp::UnsupportedError listing every unsupported node, or returns when there is none.
void require_supported(const Graph& graph, const std::string& source);

}  // namespace lowp::ir
