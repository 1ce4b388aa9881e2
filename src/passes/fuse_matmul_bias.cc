// passes/fuse_matmul_bias.cc: dense layers into one lowp::FusedGemm (X[..., K] x W[K, N]
// + bias[N]) so they run as one GEMM with the bias in its epilogue:
//   MatMul(X, W const 2-D) [-> Add(., b const broadcasting over the last axis)]
//   Gemm(A, B const, C const row or absent; alpha = beta = 1, transA = 0)
#include <cstring>

#include "passes/passes.h"
#include "passes/rewrite_util.h"

namespace lowp::passes {
namespace {

// b as a length-n bias vector when it broadcasts along the last axis only ([n], [1, n],
// [1, 1, n]...).
std::shared_ptr<Tensor> as_bias(const Tensor* b, std::int64_t n) {
  if (!b || b->elements() != static_cast<std::size_t>(n) || b->shape().rank() < 1) return nullptr;
  if (b->shape()[b->shape().rank() - 1] != n) return nullptr;
  auto out = std::make_shared<Tensor>(DType::float32, Shape{n});
  std::memcpy(out->raw(), b->raw(), b->bytes());
  return out;
}

std::string stem_of(const ir::Node& n) {
  return n.name.empty() ? n.outputs[0]->name : n.name;
}

}  // namespace

std::size_t fuse_matmul_bias(ir::Graph& graph) {
  UseMap uses = graph.uses();
  std::vector<ir::Node*> removed;
  std::size_t rewrites = 0;
  for (const auto& n : graph.nodes()) {
    ir::Node& node = *n;
    if (node.domain == "lowp" && node.op_type == "FusedGemm" && node.inputs.size() == 2 &&
        node.inputs[1]->constant && node.inputs[1]->constant->shape().rank() == 2 &&
        !node.has_attribute("activation")) {
      // A FusedGemm made earlier (fp16 / bf16 weights, passes/lower_float16.cc) takes its
      // bias the same way.
      ir::Node* add = sole_consumer(graph, uses, node.outputs[0]);
      if (!add || add->op_type != "Add" || !add->domain.empty()) continue;
      ir::Value* other = add->inputs[0] == node.outputs[0] ? add->inputs[1] : add->inputs[0];
      std::shared_ptr<Tensor> bias = as_bias(float_constant(other), node.inputs[1]->constant->shape()[1]);
      if (!bias) continue;
      node.inputs.push_back(graph.add_constant(graph.unique_name(stem_of(node) + "_bias"), bias));
      absorb_into_producer(node, *add);
      removed.push_back(add);
      ++rewrites;
      continue;
    }
    if (!node.domain.empty()) continue;
    if (node.op_type == "MatMul") {
      const Tensor* w = float_constant(node.inputs[1]);
      const ir::TensorType& x = node.inputs[0]->type;
      if (!w || w->shape().rank() != 2 || !x.dims || x.rank() < 2) continue;
      std::int64_t cols = w->shape()[1];
      node.op_type = "FusedGemm";
      node.domain = "lowp";
      ++rewrites;
      ir::Node* add = sole_consumer(graph, uses, node.outputs[0]);
      if (!add || add->op_type != "Add" || !add->domain.empty()) continue;
      ir::Value* other = add->inputs[0] == node.outputs[0] ? add->inputs[1] : add->inputs[0];
      std::shared_ptr<Tensor> bias = as_bias(float_constant(other), cols);
      if (!bias) continue;
      node.inputs.push_back(graph.add_constant(graph.unique_name(stem_of(node) + "_bias"), bias));
      absorb_into_producer(node, *add);
      removed.push_back(add);
    } else if (node.op_type == "Gemm") {
      const Tensor* b = float_constant(node.inputs[1]);
      if (!b || node.attr_int("transA", 0) != 0 || node.attr_float("alpha", 1.0f) != 1.0f ||
          node.attr_float("beta", 1.0f) != 1.0f) {
        continue;
      }
      bool trans_b = node.attr_int("transB", 0) != 0;
      std::int64_t k = b->shape()[trans_b ? 1 : 0], cols = b->shape()[trans_b ? 0 : 1];
      std::shared_ptr<Tensor> bias;
      if (node.has_input(2)) {
        bias = as_bias(float_constant(node.inputs[2]), cols);
        if (!bias) continue;
      }
      auto w = std::make_shared<Tensor>(DType::float32, Shape{k, cols});
      auto src = b->values<float>();
      auto dst = w->values<float>();
      for (std::int64_t i = 0; i < k; ++i) {
        for (std::int64_t j = 0; j < cols; ++j) {
          dst[static_cast<std::size_t>(i * cols + j)] = trans_b ? src[static_cast<std::size_t>(j * k + i)] : src[static_cast<std::size_t>(i * cols + j)];
        }
      }
      node.inputs.resize(2);
      node.inputs[1] = graph.add_constant(graph.unique_name(stem_of(node) + "_W"), w);
      if (bias) node.inputs.push_back(graph.add_constant(graph.unique_name(stem_of(node) + "_bias"), bias));
      node.attributes.clear();
      node.op_type = "FusedGemm";
      node.domain = "lowp";
      ++rewrites;
    }
  }
  graph.remove_nodes(removed);
  return rewrites;
}

}  // namespace lowp::passes
