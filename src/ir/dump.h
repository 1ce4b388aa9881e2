// ir/dump.h: a readable, stable text form of a graph, for golden tests and `--dump`.
//
//   graph main
//     input x: float32[batch, 3, 8, 8]
//     const w: float32[4, 3, 3, 3]
//     conv1 = Conv[group=1, pads=[1, 1, 1, 1]](x, w, b) -> y: float32[batch, 4, 8, 8]
//     output y
//
// Attributes print sorted by name; tensors as dtype and shape only.
#pragma once

#include <string>

#include "ir/graph.h"

namespace lowp::ir {

std::string dump(const Graph& graph);

}  // namespace lowp::ir
