// passes/optimize.cc: the load-time pipeline.
#include "ir/schema.h"
#include "passes/passes.h"

namespace lowp::passes {

std::size_t optimize(ir::Graph& graph, const NodeEvaluator& evaluate) {
  std::size_t total = 0;
  total += lower_float16(graph);
  total += remove_identities(graph);
  total += lower_qdq(graph);
  total += lower_dynamic_quant(graph);
  total += fold_constants(graph, evaluate);
  total += eliminate_dead_nodes(graph);
  total += fold_batch_norm(graph);
  total += fuse_layer_norm(graph);
  total += fuse_gelu(graph);
  total += fuse_attention(graph);
  total += fuse_matmul_bias(graph);
  total += fuse_conv_add(graph);
  total += fuse_activations(graph);
  total += convert_to_nhwc(graph);
  graph.sort_topologically();
  total += cancel_transposes(graph);
  ir::infer_types(graph);
  total += fold_flatten_transpose(graph);
  total += fuse_conv_quantize(graph);
  total += fuse_conv_pool(graph);
  total += eliminate_dead_nodes(graph);
  graph.sort_topologically();
  ir::infer_types(graph);
  return total;
}

}  // namespace lowp::passes
