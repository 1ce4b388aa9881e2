// passes/fuse_conv_add.cc: a residual connection added in the convolution's epilogue.
//
//   Conv(X, W, B) -> Add(., R)      (ResNet's and MobileNetV2's blocks: R is the shortcut)
// becomes
//   lowp::FusedConv(X, W, B, R)
//
// The epilogue computes (sum + bias) + R, rounding as the two ops did, then any activation
// (fuse_activations, run after this pass, takes the Relu that follows the Add), so the
// outputs are the same bits; the sum never goes to memory and back before the Add. Only
// for a float32 Conv without an activation whose output only the Add reads, and an R of
// exactly the output's shape (no broadcast).
#include "passes/passes.h"
#include "passes/rewrite_util.h"

namespace lowp::passes {
namespace {

// Provably the same type: each dimension known and equal, or the same named symbol (the
// batch); an unknown dimension could differ (a broadcast).
bool same_type(const ir::TensorType& a, const ir::TensorType& b) {
  if (!a.dtype || !b.dtype || *a.dtype != *b.dtype || !a.has_rank() || !b.has_rank() || a.rank() != b.rank())
    return false;
  for (std::size_t i = 0; i < a.rank(); ++i) {
    const ir::Dim &x = (*a.dims)[i], &y = (*b.dims)[i];
    if (!(x.is_known() || !x.symbol.empty()) || !(x == y)) return false;
  }
  return true;
}

}  // namespace

std::size_t fuse_conv_add(ir::Graph& graph) {
  UseMap uses = graph.uses();
  std::vector<ir::Node*> removed;
  std::size_t rewrites = 0;
  for (const auto& n : graph.nodes()) {
    ir::Node& conv = *n;
    const bool plain = conv.domain.empty() && conv.op_type == "Conv";
    const bool fused = conv.domain == "lowp" && conv.op_type == "FusedConv";
    if ((!plain && !fused) || conv.outputs.size() != 1 || conv.inputs.size() > 3) continue;
    if (conv.attr_string("activation", "none") != "none") continue;
    const ir::Value* y = conv.outputs[0];
    if (y->type.dtype != DType::float32) continue;
    ir::Node* add = sole_consumer(graph, uses, y);
    // (An Add of two convs' outputs is taken by the first; the other then finds it gone.)
    if (!add || !add->domain.empty() || add->op_type != "Add" || add->inputs.size() != 2 || add->outputs.size() != 1 ||
        !add->outputs[0]) {
      continue;
    }
    ir::Value* residual = add->inputs[0] == y ? add->inputs[1] : add->inputs[0];
    if (!residual || residual == y || !same_type(residual->type, y->type) ||
        !same_type(add->outputs[0]->type, y->type)) {
      continue;
    }
    conv.domain = "lowp";
    conv.op_type = "FusedConv";
    conv.inputs.resize(3, nullptr);  // an omitted bias stays omitted
    conv.inputs.push_back(residual);
    absorb_into_producer(conv, *add);
    removed.push_back(add);
    ++rewrites;
  }
  graph.remove_nodes(removed);
  return rewrites;
}

}  // namespace lowp::passes
