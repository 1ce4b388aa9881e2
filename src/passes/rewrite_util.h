// passes/rewrite_util.h: small helpers the fusion passes share.
#pragma once

#include <unordered_map>
#include <vector>

#include "ir/graph.h"

namespace lowp::passes {

using UseMap = std::unordered_map<const ir::Value*, std::vector<ir::Use>>;

// The one node that reads `v`, when exactly one does and `v` is not a graph output.
ir::Node* sole_consumer(const ir::Graph& graph, const UseMap& uses, const ir::Value* v);

// `absorbed` (which reads `producer`'s output 0 only) is merged into `producer`: the
// producer now writes absorbed's output value, so names that users and graph outputs see
// survive. The caller removes `absorbed` afterwards.
void absorb_into_producer(ir::Node& producer, ir::Node& absorbed);

// lowp::NhwcConv with one output, an fp32 input and constant 4-D weights (fp32, or the fp16 /
// bf16 weights of passes/lower_float16.cc): a conv the runtime can run image by image
// (runtime/ops/conv_ops.cc), so that its only reader can be fused into it
// (fuse_conv_quantize, fuse_conv_pool). Not one that adds a residual.
bool is_per_image_nhwc_conv(const ir::Node& n);

// Whether `n` is the ai.onnx op `op` (null-safe).
inline bool is_op(const ir::Node* n, const char* op) {
  return n && n->domain.empty() && n->op_type == op;
}

// Infers the types of every node whose inputs allow it, in node order, leaving the others
// unknown (a node without a schema is reported later by the session, with all the others):
// the lowering passes, which run before constant folding, read the types of quantized
// values.
void infer_types_where_possible(ir::Graph& graph);

// The float32 values of a constant, or nullptr when `v` is not a float32 constant.
const Tensor* float_constant(const ir::Value* v);

}  // namespace lowp::passes
