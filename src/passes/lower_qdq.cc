// passes/lower_qdq.cc: QDQ models (QuantizeLinear / DequantizeLinear pairs around float
// ops, the form ONNX Runtime's quantizer and `lowp quantize` write) lowered to integer ops,
// so that a quantized model never runs as float in disguise. It runs before constant
// folding, which would otherwise turn the quantized weights back into fp32 constants.
//
//   Q(Relu?(Conv(DQ(xq), DQ(wq), DQ(bq)?)))           -> QLinearConv(xq, ..., wq, ..., bq)
//   [Q](Relu?(Gemm|MatMul(DQ(xq), DQ(wq), DQ(bq)?)))  -> lowp::QGemm (u8/s8 out, or fp32
//                                                         out when no Q follows)
//   Q(op(DQ(xq))), same scale and zero point, op in {MaxPool, Reshape, Flatten, Transpose,
//                  Squeeze, Unsqueeze}                 -> op(xq): these commute with the
//                                                         monotonic per-tensor map q -> real
//   Q(Concat(DQ(a), DQ(b), ...)), one set of parameters -> Concat(a, b, ...)
//   Q(DQ(xq)), same parameters and type                -> xq
//
// Conditions: activations per-tensor (scalar scale and zero point, constants), weights
// int8 constants with a per-tensor or per-output-channel scale, Gemm with alpha = beta =
// 1 and transA = 0, MatMul weights 2-D. A bias is re-expressed in the accumulator's scale
// x_scale * w_scale[c] (round half to even in double): exact when its DequantizeLinear
// already uses that scale, as QDQ writers do; a float bias is quantized the same way.
//
// Relu: a Relu between the layer and Q is exactly the saturation of Q when Q's zero point
// is the lowest value of its type (u8 with zero point 0, what calibration gives a
// non-negative tensor), since round() is monotonic and maps 0 to 0: it is then dropped;
// otherwise it is kept as the fused op's "activation" (lowp::QGemm) or the conv is not
// lowered. Patterns that do not match stay as they are, and run correctly in float.
#include <cmath>
#include <cstring>
#include <optional>
#include <set>

#include "base/error.h"
#include "ir/schema.h"
#include "passes/passes.h"
#include "passes/rewrite_util.h"

namespace lowp::passes {
namespace {

// A constant with one element, as a float.
std::optional<double> scalar_of(const ir::Value* v) {
  if (!v || !v->constant || v->constant->elements() != 1) return std::nullopt;
  const Tensor& t = *v->constant;
  switch (t.dtype()) {
    case DType::float32:
      return t.values<float>()[0];
    case DType::uint8:
      return t.values<std::uint8_t>()[0];
    case DType::int8:
      return t.values<std::int8_t>()[0];
    case DType::int32:
      return t.values<std::int32_t>()[0];
    default:
      return std::nullopt;
  }
}

// DequantizeLinear of an 8-bit activation with constant per-tensor parameters.
struct ActivationDq {
  ir::Node* node = nullptr;
  ir::Value* q = nullptr;      // u8 or s8
  ir::Value* scale = nullptr;  // float32 scalar constant
  ir::Value* zero_point = nullptr;  // may be null: zero
  float scale_value = 0;
  std::int32_t zero_point_value = 0;
};

bool usable_scale(double s) {
  return std::isfinite(s) && s > 0 && static_cast<float>(s) > 0 &&
         std::isnormal(static_cast<float>(s));
}

std::optional<ActivationDq> activation_dq(const ir::Value* v) {
  if (!v || !is_op(v->producer, "DequantizeLinear")) return std::nullopt;
  ir::Node* dq = v->producer;
  if (dq->attr_int("block_size", 0) != 0) return std::nullopt;
  ir::Value* q = dq->inputs[0];
  if (!q || (q->type.dtype != DType::uint8 && q->type.dtype != DType::int8)) return std::nullopt;
  auto s = scalar_of(dq->inputs[1]);
  if (!s || dq->inputs[1]->type.dtype != DType::float32 || !usable_scale(*s)) return std::nullopt;
  ActivationDq out{dq, q, dq->inputs[1], nullptr, static_cast<float>(*s), 0};
  if (dq->has_input(2)) {
    auto z = scalar_of(dq->inputs[2]);
    if (!z || dq->inputs[2]->type.dtype != q->type.dtype) return std::nullopt;
    out.zero_point = dq->inputs[2];
    out.zero_point_value = static_cast<std::int32_t>(*z);
  }
  return out;
}

// DequantizeLinear of a constant int8 weight, scales per tensor or along `channel_axis`
// (the output channels), zero points all zero or absent.
struct WeightDq {
  ir::Value* q = nullptr;
  ir::Value* scale = nullptr;
  ir::Value* zero_point = nullptr;  // may be null
  std::vector<float> scales;        // one per output channel
};

std::optional<WeightDq> weight_dq(const ir::Value* v, std::size_t channel_axis, std::int64_t channels) {
  if (!v || !is_op(v->producer, "DequantizeLinear")) return std::nullopt;
  const ir::Node* dq = v->producer;
  if (dq->attr_int("block_size", 0) != 0) return std::nullopt;
  ir::Value* q = dq->inputs[0];
  if (!q || !q->constant || q->constant->dtype() != DType::int8) return std::nullopt;
  const Shape& shape = q->constant->shape();
  if (shape.rank() <= channel_axis || shape[channel_axis] != channels) return std::nullopt;
  const ir::Value* s = dq->inputs[1];
  if (!s || !s->constant || s->constant->dtype() != DType::float32) return std::nullopt;
  auto sv = s->constant->values<float>();
  std::vector<float> scales;
  if (sv.size() == 1) {
    scales.assign(static_cast<std::size_t>(channels), sv[0]);
  } else {
    std::int64_t axis = dq->attr_int("axis", 1);
    if (axis < 0) axis += static_cast<std::int64_t>(shape.rank());
    if (axis != static_cast<std::int64_t>(channel_axis) || s->constant->shape().rank() != 1 ||
        sv.size() != static_cast<std::size_t>(channels)) {
      return std::nullopt;
    }
    scales.assign(sv.begin(), sv.end());
  }
  for (float x : scales) {
    if (!usable_scale(x)) return std::nullopt;
  }
  WeightDq out{q, dq->inputs[1], nullptr, std::move(scales)};
  if (dq->has_input(2)) {
    const ir::Value* z = dq->inputs[2];
    if (!z->constant || z->constant->dtype() != DType::int8) return std::nullopt;
    for (std::int8_t x : z->constant->values<std::int8_t>()) {
      if (x != 0) return std::nullopt;
    }
    if (z->constant->elements() != 1 && z->constant->elements() != static_cast<std::size_t>(channels))
      return std::nullopt;
    out.zero_point = dq->inputs[2];
  }
  return out;
}

// The bias in the accumulator's scale x_scale * w_scale[c]: from DQ(int32 constant) or a
// float constant of `channels` values. Null when `v` is neither.
std::shared_ptr<Tensor> accumulator_bias(const ir::Value* v, std::int64_t channels, float x_scale,
                                         const std::vector<float>& w_scales) {
  std::vector<double> real(static_cast<std::size_t>(channels));
  if (is_op(v->producer, "DequantizeLinear")) {
    const ir::Node* dq = v->producer;
    const ir::Value* q = dq->inputs[0];
    const ir::Value* s = dq->inputs[1];
    if (!q->constant || q->constant->dtype() != DType::int32 ||
        q->constant->elements() != real.size() || !s->constant ||
        s->constant->dtype() != DType::float32) {
      return nullptr;
    }
    auto sv = s->constant->values<float>();
    if (sv.size() != 1 && sv.size() != real.size()) return nullptr;
    if (dq->has_input(2)) {
      auto z = dq->inputs[2];
      if (!z->constant || z->constant->dtype() != DType::int32) return nullptr;
      for (std::int32_t x : z->constant->values<std::int32_t>()) {
        if (x != 0) return nullptr;
      }
    }
    auto qv = q->constant->values<std::int32_t>();
    for (std::size_t c = 0; c < real.size(); ++c)
      real[c] = static_cast<double>(qv[c]) * sv[sv.size() == 1 ? 0 : c];
  } else {
    const Tensor* b = float_constant(v);
    if (!b || b->elements() != real.size()) return nullptr;
    auto bv = b->values<float>();
    for (std::size_t c = 0; c < real.size(); ++c) real[c] = bv[c];
  }
  auto out = std::make_shared<Tensor>(DType::int32, Shape{channels});
  auto ov = out->values<std::int32_t>();
  for (std::size_t c = 0; c < real.size(); ++c) {
    double acc_scale = static_cast<double>(x_scale) * static_cast<double>(w_scales[c]);
    double q = std::nearbyint(real[c] / acc_scale);
    if (!std::isfinite(q) || q > 2147483647.0 || q < -2147483648.0) return nullptr;
    ov[c] = static_cast<std::int32_t>(q);
  }
  return out;
}

// QuantizeLinear to u8/s8 with constant per-tensor parameters.
struct OutputQ {
  ir::Node* node = nullptr;
  float scale = 0;
  std::int32_t zero_point = 0;
  DType dtype = DType::uint8;
};

std::optional<OutputQ> output_q(ir::Node* q) {
  if (!is_op(q, "QuantizeLinear") || q->attr_int("block_size", 0) != 0 ||
      q->attr_int("saturate", 1) != 1) {
    return std::nullopt;
  }
  auto s = scalar_of(q->inputs[1]);
  if (!s || q->inputs[1]->type.dtype != DType::float32 || !usable_scale(*s)) return std::nullopt;
  OutputQ out{q, static_cast<float>(*s), 0, DType::uint8};
  if (q->has_input(2)) {
    auto z = scalar_of(q->inputs[2]);
    if (!z) return std::nullopt;
    out.zero_point = static_cast<std::int32_t>(*z);
    out.dtype = q->inputs[2]->type.dtype.value_or(DType::uint8);
  }
  std::int64_t od = q->attr_int("output_dtype", 0);
  if (od != 0) {
    auto d = dtype_from_onnx(static_cast<int>(od));
    if (!d) return std::nullopt;
    out.dtype = *d;
  }
  if (out.dtype != DType::uint8 && out.dtype != DType::int8) return std::nullopt;
  return out;
}

// What follows a layer: [Relu] then [Q], each the sole reader of the value before it.
struct LayerTail {
  ir::Node* relu = nullptr;
  std::optional<OutputQ> q;
  ir::Value* output = nullptr;  // the value the lowered op writes
};

LayerTail layer_tail(const ir::Graph& graph, const UseMap& uses, ir::Node& layer) {
  LayerTail t;
  t.output = layer.outputs[0];
  ir::Node* next = sole_consumer(graph, uses, t.output);
  if (is_op(next, "Relu")) {
    t.relu = next;
    t.output = next->outputs[0];
    next = sole_consumer(graph, uses, t.output);
  }
  if (next) {
    t.q = output_q(next);
    if (t.q) t.output = next->outputs[0];
  }
  return t;
}

bool relu_implied(const OutputQ& q) {
  return q.zero_point == (q.dtype == DType::uint8 ? 0 : -128);
}

// A zero point constant for an activation whose DequantizeLinear had none.
ir::Value* zero_point_or_zero(ir::Graph& graph, const ActivationDq& x, const std::string& stem) {
  if (x.zero_point) return x.zero_point;
  auto t = std::make_shared<Tensor>(*x.q->type.dtype, Shape{});
  std::memset(t->raw(), 0, t->bytes());
  return graph.add_constant(graph.unique_name(stem + "_x_zero_point"), t);
}

ir::Value* scalar_constant(ir::Graph& graph, const std::string& name, float v) {
  auto t = std::make_shared<Tensor>(DType::float32, Shape{});
  t->values<float>()[0] = v;
  return graph.add_constant(graph.unique_name(name), t);
}

ir::Value* zero_point_constant(ir::Graph& graph, const std::string& name, const OutputQ& q) {
  auto t = std::make_shared<Tensor>(q.dtype, Shape{});
  if (q.dtype == DType::uint8) t->values<std::uint8_t>()[0] = static_cast<std::uint8_t>(q.zero_point);
  else t->values<std::int8_t>()[0] = static_cast<std::int8_t>(q.zero_point);
  return graph.add_constant(graph.unique_name(name), t);
}

std::string stem_of(const ir::Node& n) {
  return n.name.empty() ? n.outputs[0]->name : n.name;
}

// Rewires `layer` to write `tail.output` and marks the tail's nodes for removal.
void take_over_tail(ir::Node& layer, const LayerTail& tail, std::vector<ir::Node*>& removed) {
  ir::Value* old = layer.outputs[0];
  if (old != tail.output) {
    old->producer = nullptr;
    layer.outputs[0] = tail.output;
    tail.output->producer = &layer;
  }
  if (tail.relu) removed.push_back(tail.relu);
  if (tail.q) removed.push_back(tail.q->node);
}

bool lower_conv(ir::Graph& graph, const UseMap& uses, ir::Node& conv, std::vector<ir::Node*>& removed) {
  auto x = activation_dq(conv.inputs[0]);
  const ir::Value* w_value = conv.has_input(1) ? conv.inputs[1] : nullptr;
  if (!x || !w_value || !is_op(w_value->producer, "DequantizeLinear")) return false;
  const ir::Value* wq = w_value->producer->inputs[0];
  if (!wq || !wq->constant || wq->constant->shape().rank() < 3) return false;
  std::int64_t out_c = wq->constant->shape()[0];
  auto w = weight_dq(w_value, 0, out_c);
  if (!w) return false;
  LayerTail tail = layer_tail(graph, uses, conv);
  if (!tail.q) return false;
  if (tail.relu && !relu_implied(*tail.q)) return false;
  std::shared_ptr<Tensor> bias;
  if (conv.has_input(2)) {
    bias = accumulator_bias(conv.inputs[2], out_c, x->scale_value, w->scales);
    if (!bias) return false;
  }
  std::string stem = stem_of(conv);
  ir::Value* w_zp = w->zero_point;
  if (!w_zp) {
    auto t = std::make_shared<Tensor>(DType::int8, Shape{});
    t->values<std::int8_t>()[0] = 0;
    w_zp = graph.add_constant(graph.unique_name(stem + "_w_zero_point"), t);
  }
  std::vector<ir::Value*> inputs = {
      x->q, x->scale, zero_point_or_zero(graph, *x, stem), w->q, w->scale, w_zp,
      scalar_constant(graph, stem + "_y_scale", tail.q->scale),
      zero_point_constant(graph, stem + "_y_zero_point", *tail.q)};
  if (bias) inputs.push_back(graph.add_constant(graph.unique_name(stem + "_bias_q"), bias));
  conv.inputs = std::move(inputs);
  conv.op_type = "QLinearConv";
  take_over_tail(conv, tail, removed);
  return true;
}

bool lower_gemm(ir::Graph& graph, const UseMap& uses, ir::Node& node, std::vector<ir::Node*>& removed) {
  bool gemm = node.op_type == "Gemm";
  if (gemm && (node.attr_int("transA", 0) != 0 || node.attr_float("alpha", 1.0f) != 1.0f ||
               node.attr_float("beta", 1.0f) != 1.0f)) {
    return false;
  }
  bool trans_b = gemm && node.attr_int("transB", 0) != 0;
  auto x = activation_dq(node.inputs[0]);
  const ir::Value* w_value = node.inputs[1];
  if (!x || !w_value || !is_op(w_value->producer, "DequantizeLinear")) return false;
  const ir::Value* wq = w_value->producer->inputs[0];
  if (!wq || !wq->constant || wq->constant->shape().rank() != 2) return false;
  std::int64_t n = wq->constant->shape()[trans_b ? 0 : 1];
  auto w = weight_dq(w_value, trans_b ? 0 : 1, n);
  if (!w) return false;
  if (!gemm && (!x->q->type.dims || x->q->type.rank() < 1)) return false;
  std::shared_ptr<Tensor> bias;
  if (gemm && node.has_input(2)) {
    bias = accumulator_bias(node.inputs[2], n, x->scale_value, w->scales);
    if (!bias) return false;
  }
  LayerTail tail = layer_tail(graph, uses, node);
  std::string activation = "none";
  if (tail.relu && !(tail.q && relu_implied(*tail.q))) activation = "relu";
  std::string stem = stem_of(node);
  auto scales = std::make_shared<Tensor>(DType::float32, Shape{n});
  std::memcpy(scales->raw(), w->scales.data(), scales->bytes());
  std::vector<ir::Value*> inputs = {
      x->q, x->scale, zero_point_or_zero(graph, *x, stem), w->q,
      graph.add_constant(graph.unique_name(stem + "_w_scales"), scales),
      bias ? graph.add_constant(graph.unique_name(stem + "_bias_q"), bias) : nullptr};
  if (tail.q) {
    inputs.push_back(scalar_constant(graph, stem + "_y_scale", tail.q->scale));
    inputs.push_back(zero_point_constant(graph, stem + "_y_zero_point", *tail.q));
  }
  node.inputs = std::move(inputs);
  node.attributes.clear();
  node.attributes["transB"] = ir::Attribute::of_int(trans_b ? 1 : 0);
  node.attributes["activation"] = ir::Attribute::of_string(activation);
  node.op_type = "QGemm";
  node.domain = "lowp";
  take_over_tail(node, tail, removed);
  return true;
}

bool same_parameters(const ActivationDq& x, const OutputQ& q) {
  return x.scale_value == q.scale && x.zero_point_value == q.zero_point && *x.q->type.dtype == q.dtype;
}


bool lower_commuting(ir::Graph& graph, const UseMap& uses, ir::Node& op, std::vector<ir::Node*>& removed) {
  if (op.outputs.size() != 1) return false;
  auto x = activation_dq(op.inputs[0]);
  if (!x) return false;
  ir::Node* next = sole_consumer(graph, uses, op.outputs[0]);
  auto q = output_q(next);
  if (!q || !same_parameters(*x, *q)) return false;
  op.inputs[0] = x->q;
  LayerTail tail;
  tail.q = q;
  tail.output = q->node->outputs[0];
  take_over_tail(op, tail, removed);
  return true;
}

// Q(Concat(DQ(a), DQ(b), ...)) with one set of parameters everywhere: Concat(a, b, ...)
// on the stored bytes.
bool lower_concat(ir::Graph& graph, const UseMap& uses, ir::Node& concat, std::vector<ir::Node*>& removed) {
  if (concat.outputs.size() != 1 || concat.inputs.empty()) return false;
  std::vector<ActivationDq> xs;
  for (const ir::Value* v : concat.inputs) {
    auto x = activation_dq(v);
    if (!x) return false;
    xs.push_back(*x);
  }
  auto q = output_q(sole_consumer(graph, uses, concat.outputs[0]));
  if (!q) return false;
  for (const ActivationDq& x : xs) {
    if (!same_parameters(x, *q)) return false;
  }
  for (std::size_t i = 0; i < xs.size(); ++i) concat.inputs[i] = xs[i].q;
  LayerTail tail;
  tail.q = q;
  tail.output = q->node->outputs[0];
  take_over_tail(concat, tail, removed);
  return true;
}

// A quantized model whose constant scale is zero, negative, NaN or infinite describes no
// real number (and ONNX Runtime would run it silently, to NaN or garbage): refused here,
// naming the node, before anything runs.
void check_constant_scales(const ir::Graph& graph) {
  for (const auto& n : graph.nodes()) {
    if (!is_op(n.get(), "QuantizeLinear") && !is_op(n.get(), "DequantizeLinear")) continue;
    const ir::Value* s = n->has_input(1) ? n->inputs[1] : nullptr;
    if (!s || !s->constant || s->constant->dtype() != DType::float32) continue;
    auto values = s->constant->values<float>();
    for (std::size_t i = 0; i < values.size(); ++i) {
      float v = values[i];
      if (!(std::isfinite(v) && v > 0.0f))
        throw Error(fmt::format("node '{}' ({}): scale '{}'[{}] is {}; a quantization scale must be finite and positive",
                                n->label(), n->op_type, s->name, i, v));
    }
  }
}

}  // namespace

bool commutes_with_quantization(const std::string& op_type) {
  static const std::set<std::string> ops = {"MaxPool", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze"};
  return ops.contains(op_type);
}

std::size_t lower_qdq(ir::Graph& graph) {
  check_constant_scales(graph);
  bool any = false;
  for (const auto& n : graph.nodes()) any = any || is_op(n.get(), "DequantizeLinear");
  if (!any) return 0;
  infer_types_where_possible(graph);
  std::size_t rewrites = 0;
  std::vector<ir::Node*> removed;
  std::set<const ir::Node*> gone;
  UseMap uses = graph.uses();
  for (const auto& n : graph.nodes()) {
    ir::Node& node = *n;
    if (!node.domain.empty() || gone.contains(&node)) continue;
    std::size_t before = removed.size();
    bool done = false;
    if (node.op_type == "Conv") done = lower_conv(graph, uses, node, removed);
    else if (node.op_type == "Gemm" || node.op_type == "MatMul") done = lower_gemm(graph, uses, node, removed);
    else if (commutes_with_quantization(node.op_type)) done = lower_commuting(graph, uses, node, removed);
    else if (node.op_type == "Concat") done = lower_concat(graph, uses, node, removed);
    if (!done) continue;
    ++rewrites;
    for (std::size_t i = before; i < removed.size(); ++i) gone.insert(removed[i]);
    uses = graph.uses();
  }
  graph.remove_nodes(removed);
  removed.clear();

  // Q(DQ(xq)) with the same parameters: xq itself.
  uses = graph.uses();
  for (const auto& n : graph.nodes()) {
    auto q = output_q(n.get());
    if (!q || graph.is_graph_output(n->outputs[0])) continue;
    auto x = activation_dq(n->inputs[0]);
    if (!x || !same_parameters(*x, *q)) continue;
    graph.replace_all_uses(n->outputs[0], x->q);
    removed.push_back(n.get());
    ++rewrites;
  }
  graph.remove_nodes(removed);
  if (rewrites) eliminate_dead_nodes(graph);
  return rewrites;
}

}  // namespace lowp::passes
