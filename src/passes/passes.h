// passes/passes.h: graph rewrites, one file each. Every pass keeps the graph's outputs
// unchanged (tests/passes check golden dumps before and after, and the outputs), leaves
// nodes in topological order, and returns how many rewrites it made.
//
// The passes see only the IR; evaluating a node (for constant folding) is the runtime's
// job, so it arrives as a callback.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "ir/graph.h"

namespace lowp::passes {

// Computes a node whose inputs are all constant and whose outputs have concrete types.
using NodeEvaluator =
    std::function<std::vector<std::shared_ptr<const Tensor>>(const ir::Node& node)>;

struct FoldOptions {
  // A node whose outputs would exceed this stays in the graph (folding it would trade a
  // cheap op for a large constant).
  std::size_t max_output_bytes = std::size_t{64} << 20;
};

// In node order: infers each node's output types, replaces Shape / Size of a concrete
// input by constants, and evaluates nodes whose inputs are all constant. Once a session
// binds concrete input shapes this folds every shape sub-graph.
std::size_t fold_constants(ir::Graph& graph, const NodeEvaluator& evaluate, FoldOptions options = {});

// QuantizeLinear / DequantizeLinear around Conv, Gemm and MatMul (QDQ models) lowered to
// QLinearConv and lowp::QGemm, with the Q/DQ pairs around MaxPool, Reshape and the like
// folded away, so that a quantized model runs on integer kernels. Runs before
// fold_constants, which would turn quantized weights back into fp32.
std::size_t lower_qdq(ir::Graph& graph);

// The ai.onnx ops a per-tensor quantization passes through unchanged (they move or take
// the max of values, and q -> real is monotonic): Q(op(DQ(x))) == op(x) with one set of
// parameters. lower_qdq runs them on bytes; the int8 quantizer gives their output the
// parameters of their input; `lowp inspect --precision int8` counts no Q/DQ around them.
bool commutes_with_quantization(const std::string& op_type);

// fp16 graphs retyped to fp32 compute, and Conv / Gemm / MatMul whose weights are fp16 or
// bf16 constants (directly or through a Cast to float) turned into lowp::FusedConv /
// lowp::FusedGemm holding those weights, so kernels read them in low precision.
std::size_t lower_float16(ir::Graph& graph);

// DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul [-> Add bias] (dynamic int8, as
// `lowp quantize --precision int8-dynamic` and ONNX Runtime's quantize_dynamic write it)
// becomes one lowp::DynamicQGemm, equal to the pattern bit for bit. Runs before
// fold_constants.
std::size_t lower_dynamic_quant(ir::Graph& graph);

// Transpose(NHWC -> NCHW) -> Flatten -> dense layer with constant weights: the transpose
// folded into the weights' row order (passes/fold_flatten_transpose.cc).
std::size_t fold_flatten_transpose(ir::Graph& graph);

// lowp::NhwcConv (fp32) whose only reader is a per-tensor QuantizeLinear to u8 writes the
// u8 tensor itself (passes/fuse_conv_quantize.cc).
std::size_t fuse_conv_quantize(ir::Graph& graph);
// An NHWC convolution (fp32, or quantizing to u8) whose only reader is a plain max pool
// pools its output image by image (passes/fuse_conv_pool.cc). After fuse_conv_quantize.
std::size_t fuse_conv_pool(ir::Graph& graph);
// Conv -> Add(., R) of a same-shaped R becomes lowp::FusedConv(X, W, B, R), R added in the
// epilogue before any activation (passes/fuse_conv_add.cc). Before fuse_activations.
std::size_t fuse_conv_add(ir::Graph& graph);

// Removes nodes none of whose outputs reach a graph output.
std::size_t eliminate_dead_nodes(ir::Graph& graph);

// Removes Identity, Dropout (inference), Cast to the same type, and Reshape / Flatten /
// Squeeze / Unsqueeze / Expand whose output type equals their (concrete) input type.
std::size_t remove_identities(ir::Graph& graph);

// BatchNormalization after a Conv or Gemm with constant weights: folded into the weights
// and bias. A BatchNormalization elsewhere stays.
std::size_t fold_batch_norm(ir::Graph& graph);

// LayerNorm written out as ReduceMean / Sub / Pow / ReduceMean / Add / Sqrt / Div
// [/ Mul / Add] over the last axis becomes one LayerNormalization.
std::size_t fuse_layer_norm(ir::Graph& graph);

// The erf GELU written out (Div / Erf / Add / Mul / Mul) becomes one Gelu.
std::size_t fuse_gelu(ir::Graph& graph);

// Scaled dot-product attention (MatMul / Div or Mul / [Add mask] / Softmax / MatMul)
// becomes one lowp::Attention.
std::size_t fuse_attention(ir::Graph& graph);

// MatMul by a constant 2-D weight followed by Add of a constant bias (over the last axis)
// becomes lowp::FusedGemm; Gemm with constant B becomes lowp::FusedGemm too, so the
// activation fusion sees one form.
std::size_t fuse_matmul_bias(ir::Graph& graph);

// Relu / Clip (constant bounds) / Sigmoid-free activations following Conv or FusedGemm
// are folded into a lowp::FusedConv / lowp::FusedGemm "activation" attribute.
std::size_t fuse_activations(ir::Graph& graph);

// 2-D float convolutions and pools run in NHWC (the layout of lowp's convolution kernels,
// kernels/conv/conv2d.h): each becomes Transpose(NCHW->NHWC) -> lowp::Nhwc* ->
// Transpose(NHWC->NCHW); cancel_transposes then removes the pairs that meet.
std::size_t convert_to_nhwc(ir::Graph& graph);

// Transposes pushed down through element-wise ops (unary; binary when both sides carry the
// same transpose or one side is a constant; Concat) and inverse pairs removed.
std::size_t cancel_transposes(ir::Graph& graph);

// The load-time pipeline, in order; returns the total rewrites.
std::size_t optimize(ir::Graph& graph, const NodeEvaluator& evaluate);

}  // namespace lowp::passes
