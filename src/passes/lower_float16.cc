// passes/lower_float16.cc: fp16 and bf16 models as lowp runs them on a CPU: low-precision
// storage for the weights, fp32 for the activations and the arithmetic.
//
// Two forms of model arrive (quant/convert_float.h writes both):
//   - a float16 graph: activations and weights fp16, Casts at the graph's edges. x86 CPUs
//     without AVX512-FP16 have no fp16 arithmetic, and a Cast around every op would cost
//     more than it saves, so the whole graph is retyped to fp32: fp16 activations become
//     fp32 values, Cast(to=float16) becomes Cast(to=float) (then removed as an identity),
//     fp16 constants become fp32, except the weights of the layers below;
//   - low-precision weights behind a Cast: Cast(W fp16|bf16 constant, to=float) -> Conv /
//     Gemm / MatMul, the form ONNX allows for bf16 (whose Conv has no bf16 type).
// In both, a Conv, Gemm or MatMul whose weight is an fp16 or bf16 constant becomes
// lowp::FusedConv / lowp::FusedGemm holding that constant as it is, so the bound kernel
// reads the weights in their low precision (fp16: converted to fp32 in the GEMM's inner
// loop, half the bytes of fp32; bf16: the bf16 dot-product kernels, activations rounded to
// bf16 as they are read, fp32 accumulation). A graph input or output typed fp16 keeps its
// type, with a Cast at the edge.
#include <algorithm>
#include <cstring>

#include "base/error.h"
#include "base/float_types.h"
#include "ir/schema.h"
#include "passes/passes.h"
#include "passes/rewrite_util.h"

namespace lowp::passes {
namespace {

bool is_low_float(DType d) {
  return d == DType::float16 || d == DType::bfloat16;
}

std::shared_ptr<Tensor> to_fp32(const Tensor& t) {
  auto out = std::make_shared<Tensor>(DType::float32, t.shape());
  auto dst = out->values<float>();
  auto src = t.values<std::uint16_t>();
  for (std::size_t i = 0; i < src.size(); ++i) {
    dst[i] = t.dtype() == DType::float16 ? float16::from_bits(src[i]).to_float()
                                         : bfloat16::from_bits(src[i]).to_float();
  }
  return out;
}

// The fp16 / bf16 constant behind input `i` of `n`: the input itself, or the constant a
// Cast(to=float) reads.
const ir::Value* low_float_weight(const ir::Node& n, std::size_t i) {
  if (!n.has_input(i)) return nullptr;
  const ir::Value* v = n.inputs[i];
  if (v->constant && is_low_float(v->constant->dtype())) return v;
  if (is_op(v->producer, "Cast") && v->producer->attr_int("to", 0) == 1) {
    const ir::Value* src = v->producer->inputs[0];
    if (src && src->constant && is_low_float(src->constant->dtype())) return src;
  }
  return nullptr;
}

// A float32 constant for input `i` (a low-precision one converted), or null when the input
// is not constant.
ir::Value* fp32_constant_input(ir::Graph& g, const ir::Node& n, std::size_t i) {
  ir::Value* v = n.inputs[i];
  if (v->constant && v->constant->dtype() == DType::float32) return v;
  if (const ir::Value* lp = low_float_weight(n, i))
    return g.add_constant(g.unique_name(lp->name + "_fp32"), to_fp32(*lp->constant));
  return nullptr;
}

// [k][n] from [n][k] 16-bit values.
std::shared_ptr<Tensor> transposed16(const Tensor& t) {
  std::int64_t rows = t.shape()[0], cols = t.shape()[1];
  auto out = std::make_shared<Tensor>(t.dtype(), Shape{cols, rows});
  auto src = t.values<std::uint16_t>();
  auto dst = out->values<std::uint16_t>();
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) dst[static_cast<std::size_t>(c * rows + r)] = src[static_cast<std::size_t>(r * cols + c)];
  return out;
}

// Retypes a float16 graph to fp32 compute (see the file comment). Returns the rewrites.
std::size_t retype_float16_graph(ir::Graph& g) {
  // Only a model with fp16 layers (a Conv / Gemm / MatMul with fp16 constant weights, what
  // fp16 converters write) is retyped: a graph that only moves fp16 data (a Slice, a
  // Gather) runs as it is, bit for bit (the fp32 round trip would quiet signaling NaNs).
  bool layers = false;
  for (const auto& n : g.nodes()) {
    bool layer = is_op(n.get(), "Conv") || is_op(n.get(), "Gemm") || is_op(n.get(), "MatMul");
    const ir::Value* w = layer && n->has_input(1) ? n->inputs[1] : nullptr;
    layers = layers || (w && w->constant && w->constant->dtype() == DType::float16);
  }
  if (!layers) return 0;
  std::size_t rewrites = 0;
  // Graph edges keep their types: an fp16 input is cast once to fp32, an fp16 output is
  // cast back from the fp32 value that now computes it.
  for (ir::Value*& in : g.inputs) {
    if (in->type.dtype != DType::float16) continue;
    ir::Value* inner = g.add_value(g.unique_name(in->name + "_fp32"), in->type);
    inner->type.dtype = DType::float32;
    g.replace_all_uses(in, inner);
    ir::Node* cast = g.add_node("Cast", {in}, {inner}, g.unique_name(in->name + "_to_fp32"));
    cast->attributes["to"] = ir::Attribute::of_int(1);
    ++rewrites;
  }
  for (ir::Value*& out : g.outputs) {
    if (out->type.dtype != DType::float16 || !out->producer) continue;
    ir::Node* producer = out->producer;
    ir::Value* inner = g.add_value(g.unique_name(out->name + "_fp32"), out->type);
    inner->type.dtype = DType::float32;
    for (ir::Value*& o : producer->outputs) {
      if (o == out) o = inner;
    }
    inner->producer = producer;
    out->producer = nullptr;
    for (const auto& n : g.nodes()) {
      for (ir::Value*& v : n->inputs) {
        if (v == out) v = inner;
      }
    }
    ir::Node* cast = g.add_node("Cast", {inner}, {out}, g.unique_name(out->name + "_to_fp16"));
    cast->attributes["to"] = ir::Attribute::of_int(10);
    ++rewrites;
  }
  for (const auto& n : g.nodes()) {
    ir::Node& node = *n;
    bool edge = is_op(&node, "Cast") &&
                ((node.inputs[0] && node.inputs[0]->type.dtype == DType::float16 &&
                  std::find(g.inputs.begin(), g.inputs.end(), node.inputs[0]) != g.inputs.end()) ||
                 g.is_graph_output(node.outputs[0]));
    if (edge) continue;
    if (is_op(&node, "Cast") && node.attr_int("to", 0) == 10) {
      node.attributes["to"] = ir::Attribute::of_int(1);
      ++rewrites;
    }
    if (is_op(&node, "ConstantOfShape")) {
      const ir::Attribute* value = node.find_attribute("value", ir::Attribute::Kind::kTensor);
      if (value && value->t && value->t->dtype() == DType::float16) {
        node.attributes["value"] = ir::Attribute::of_tensor(to_fp32(*value->t));
        ++rewrites;
      }
    }
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
      ir::Value* v = node.inputs[i];
      if (!v || !v->constant || v->constant->dtype() != DType::float16) continue;
      bool weight = i == 1 && (is_op(&node, "Conv") || is_op(&node, "Gemm") || is_op(&node, "MatMul"));
      if (weight) continue;
      node.inputs[i] = g.add_constant(g.unique_name(v->name + "_fp32"), to_fp32(*v->constant));
      ++rewrites;
    }
    for (ir::Value* v : node.outputs) {
      if (v && v->type.dtype == DType::float16 && !g.is_graph_output(v)) {
        v->type.dtype = DType::float32;
        ++rewrites;
      }
    }
  }
  g.sort_topologically();
  return rewrites;
}

}  // namespace

std::size_t lower_float16(ir::Graph& g) {
  std::size_t rewrites = retype_float16_graph(g);
  for (const auto& n : g.nodes()) {
    ir::Node& node = *n;
    bool conv = is_op(&node, "Conv"), gemm = is_op(&node, "Gemm"), matmul = is_op(&node, "MatMul");
    if (!conv && !gemm && !matmul) continue;
    const ir::Value* w = low_float_weight(node, 1);
    if (!w) continue;
    const Tensor& wt = *w->constant;
    std::string stem = node.name.empty() ? node.outputs[0]->name : node.name;
    if (conv) {
      if (wt.shape().rank() < 3) continue;
      ir::Value* bias = nullptr;
      if (node.has_input(2) && !(bias = fp32_constant_input(g, node, 2))) continue;
      node.inputs[1] = const_cast<ir::Value*>(w);
      if (bias) node.inputs[2] = bias;
      node.op_type = "FusedConv";
      node.domain = "lowp";
    } else {
      if (wt.shape().rank() != 2) continue;
      bool trans_b = gemm && node.attr_int("transB", 0) != 0;
      if (gemm && (node.attr_int("transA", 0) != 0 || node.attr_float("alpha", 1.0f) != 1.0f ||
                   node.attr_float("beta", 1.0f) != 1.0f)) {
        continue;
      }
      ir::Value* bias = nullptr;
      std::int64_t cols = wt.shape()[trans_b ? 0 : 1];
      if (gemm && node.has_input(2)) {
        bias = fp32_constant_input(g, node, 2);
        if (!bias || bias->constant->elements() != static_cast<std::size_t>(cols)) continue;
        if (bias->constant->shape().rank() != 1) {
          auto flat = std::make_shared<Tensor>(DType::float32, Shape{cols});
          std::memcpy(flat->raw(), bias->constant->raw(), flat->bytes());
          bias = g.add_constant(g.unique_name(stem + "_bias"), flat);
        }
      }
      ir::Value* weight = const_cast<ir::Value*>(w);
      if (trans_b) weight = g.add_constant(g.unique_name(w->name + "_kn"), transposed16(wt));
      node.inputs = {node.inputs[0], weight};
      if (bias) node.inputs.push_back(bias);
      node.attributes.clear();
      node.op_type = "FusedGemm";
      node.domain = "lowp";
    }
    ++rewrites;
  }
  if (rewrites) eliminate_dead_nodes(g);
  return rewrites;
}

}  // namespace lowp::passes
