// quant/model_runner.h: how the quant layer runs a model without depending on the runtime.
//
// The layers put quant above runtime (a quantizer can be built without the runtime), yet
// calibration, sensitivity and comparison must execute graphs. The runtime supplies this
// backend (runtime/quant_backend.h) and the CLI hands it down.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"
#include "passes/passes.h"

namespace lowp::quant {

// Runs one graph: feeds `input` with a batch, returns the graph's outputs in order.
using BatchRunner = std::function<std::vector<Tensor>(const std::string& input, const Tensor& batch)>;

// Runs one graph on several named inputs (every graph input once); outputs in order.
using NamedTensor = std::pair<std::string, const Tensor*>;
using NamedRunner = std::function<std::vector<Tensor>(const std::vector<NamedTensor>& inputs)>;

struct ModelBackend {
  // Evaluates a node whose inputs are all constant (constant folding).
  passes::NodeEvaluator evaluate;
  // Prepares `graph` (optimized and bound as the runtime does) and returns its runner.
  std::function<BatchRunner(std::unique_ptr<ir::Graph> graph)> make_runner;
  // The same for graphs with several inputs (quant/compare.h).
  std::function<NamedRunner(std::unique_ptr<ir::Graph> graph)> make_named_runner;
};

}  // namespace lowp::quant
