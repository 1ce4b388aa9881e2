// runtime/quant_backend.cc
#include "runtime/quant_backend.h"

namespace lowp::runtime {

quant::ModelBackend quant_backend(SessionOptions options) {
  quant::ModelBackend b;
  b.evaluate = [](const ir::Node& node) { return evaluate_node(node); };
  b.make_runner = [options](std::unique_ptr<ir::Graph> graph) -> quant::BatchRunner {
    auto session = std::make_shared<Session>(std::move(graph), options);
    return [session](const std::string& input, const Tensor& batch) {
      return session->run({NamedInput{input, &batch}});
    };
  };
  b.make_named_runner = [options](std::unique_ptr<ir::Graph> graph) -> quant::NamedRunner {
    auto session = std::make_shared<Session>(std::move(graph), options);
    return [session](const std::vector<quant::NamedTensor>& inputs) {
      std::vector<NamedInput> named;
      for (const auto& [name, tensor] : inputs) named.push_back(NamedInput{name, tensor});
      return session->run(named);
    };
  };
  return b;
}

}  // namespace lowp::runtime
