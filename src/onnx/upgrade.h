// onnx/upgrade.h: rewrites a node imported at an older opset into the IR's opset
// (ir::kIrOpset), so nothing after the importer knows about versions.
//
// Covered: attributes that became inputs (Squeeze/Unsqueeze/Split 13, Reduce* 13/18,
// Clip 11, Pad 11, Slice 10, Dropout 12, TopK 10), Softmax/LogSoftmax/Hardmax before 13
// (2-D coercion),
// Upsample and Resize 10 (-> Resize 11+ with their coordinate rules), attributes that were
// removed (BatchNormalization's spatial, Dropout's is_test).
#pragma once

#include "ir/graph.h"

namespace lowp::onnx_io {

// `opset` is the version the model imports for the node's domain. May add nodes and
// constants to `graph` (the caller sorts afterwards).
void upgrade_node(ir::Graph& graph, ir::Node& node, int opset);

}  // namespace lowp::onnx_io
