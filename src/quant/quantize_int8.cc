// quant/quantize_int8.cc
#include "quant/quantize_int8.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/error.h"
#include "ir/schema.h"
#include "kernels/quantize/quantize.h"
#include "passes/passes.h"
#include "passes/rewrite_util.h"
#include "quant/observer.h"
#include "quant/weight_quant.h"

namespace lowp::quant {
namespace {


using passes::float_constant;

// Why `n` cannot be quantized, or empty when it can.
std::string unquantizable(const ir::Node& n) {
  const Tensor* w = float_constant(n.has_input(1) ? n.inputs[1] : nullptr);
  if (!w) return "weights are not a float32 constant";
  if (!n.inputs[0]->type.dtype || *n.inputs[0]->type.dtype != DType::float32) return "input is not float32";
  if (n.has_input(2) && !float_constant(n.inputs[2])) return "bias is not a float32 constant";
  if (n.op_type == "Conv") {
    if (w->shape().rank() < 3) return "weights are not a convolution kernel";
  } else if (n.op_type == "Gemm") {
    if (n.attr_int("transA", 0) != 0 || n.attr_float("alpha", 1.0f) != 1.0f || n.attr_float("beta", 1.0f) != 1.0f)
      return "Gemm with transA, alpha or beta";
    if (w->shape().rank() != 2) return "weights are not 2-D";
  } else {  // MatMul
    if (w->shape().rank() != 2) return "weights are not 2-D";
  }
  for (float x : w->values<float>()) {
    if (!std::isfinite(x)) throw Error(fmt::format("node '{}': weight '{}' holds NaN or Inf", n.label(), n.inputs[1]->name));
  }
  return {};
}

// The output channel axis of the node's weights and their count.
std::pair<std::size_t, std::int64_t> channel_axis(const ir::Node& n) {
  const Shape& s = n.inputs[1]->constant->shape();
  if (n.op_type == "Conv") return {0, s[0]};
  bool trans_b = n.op_type == "Gemm" && n.attr_int("transB", 0) != 0;
  return trans_b ? std::pair<std::size_t, std::int64_t>{0, s[0]} : std::pair<std::size_t, std::int64_t>{1, s[1]};
}

struct QuantizedWeight {
  std::shared_ptr<Tensor> q;       // int8, the weights' shape
  std::vector<float> scales;       // per channel (all equal when per tensor)
};

QuantizedWeight quantize_weight(const Tensor& w, std::size_t axis, std::int64_t channels, bool per_channel) {
  auto src = w.values<float>();
  auto n = static_cast<std::size_t>(channels);
  std::size_t k = src.size() / n;
  // As [n][k] rows (transposed when the channels are the last of two axes).
  std::vector<float> rows(src.size());
  if (axis == 0) {
    std::copy(src.begin(), src.end(), rows.begin());
  } else {
    for (std::size_t kk = 0; kk < k; ++kk)
      for (std::size_t j = 0; j < n; ++j) rows[j * k + kk] = src[kk * n + j];
  }
  QuantizedWeights qw = per_channel ? quantize_per_channel_s8(rows.data(), static_cast<int>(n), static_cast<int>(k))
                                    : quantize_per_channel_s8(rows.data(), 1, static_cast<int>(src.size()));
  QuantizedWeight out;
  out.q = std::make_shared<Tensor>(DType::int8, w.shape());
  auto dst = out.q->values<std::int8_t>();
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t kk = 0; kk < k; ++kk) {
      std::int8_t v = qw.q[j * k + kk];
      if (axis == 0) dst[j * k + kk] = v;
      else dst[kk * n + j] = v;
    }
  }
  out.scales.resize(n);
  for (std::size_t j = 0; j < n; ++j) out.scales[j] = qw.scales[per_channel ? j : 0];
  return out;
}

struct ActivationParams8 {
  float scale = 1;
  std::int32_t zero_point = 0;
  DType dtype = DType::uint8;
};

ActivationParams8 activation_params(const Range& r, bool symmetric) {
  if (symmetric) {
    float absmax = std::max(std::fabs(r.lo), std::fabs(r.hi));
    return {symmetric_scale(absmax, 127), 0, DType::int8};
  }
  AffineParams p = choose_u8_params(r.lo, r.hi);
  return {p.scale, p.zero_point, DType::uint8};
}

std::shared_ptr<Tensor> scalar_f32(float v) {
  auto t = std::make_shared<Tensor>(DType::float32, Shape{});
  t->values<float>()[0] = v;
  return t;
}

std::shared_ptr<Tensor> scalar_zero_point(const ActivationParams8& p) {
  auto t = std::make_shared<Tensor>(p.dtype, Shape{});
  if (p.dtype == DType::uint8) t->values<std::uint8_t>()[0] = static_cast<std::uint8_t>(p.zero_point);
  else t->values<std::int8_t>()[0] = static_cast<std::int8_t>(p.zero_point);
  return t;
}

std::shared_ptr<Tensor> vector_f32(const std::vector<float>& v) {
  auto t = std::make_shared<Tensor>(DType::float32, Shape{static_cast<std::int64_t>(v.size())});
  std::memcpy(t->raw(), v.data(), t->bytes());
  return t;
}

// The single data input of a commuting op (MaxPool's X, Reshape's data...).
ir::Value* commuting_source(const ir::Value* v) {
  if (!v || !v->producer || !v->producer->domain.empty() || !passes::commutes_with_quantization(v->producer->op_type))
    return nullptr;
  const ir::Node* p = v->producer;
  if (p->op_type == "MaxPool" && p->outputs.size() > 1 && p->outputs[1]) return nullptr;
  return p->inputs[0];
}

}  // namespace

namespace {

// The layers `options` selects in `g`, and the activations they quantize: each layer's
// input and its output (after a ReLU that alone reads it) unless that is a graph output;
// inputs behind commuting ops share the parameters of the tensor before them (their
// "root").
struct Int8Selection {
  std::vector<ir::Node*> layers;
  std::vector<ir::Value*> order;  // tensors to quantize, in discovery order
  std::map<const ir::Value*, ir::Value*> root;
  std::vector<std::string> roots() const {
    std::vector<std::string> out;
    for (ir::Value* v : order) {
      if (root.at(v) == v) out.push_back(v->name);
    }
    return out;
  }
};

Int8Selection select_int8(ir::Graph& g_ref, const Int8Options& options, QuantizeReport& report) {
  ir::Graph* g = &g_ref;
  auto uses = g->uses();
  Int8Selection sel;
  std::vector<ir::Node*>& layers = sel.layers;

  // 1. The layers to quantize.
  for (const auto& n : g->nodes()) {
    if (!n->domain.empty() || (n->op_type != "Conv" && n->op_type != "Gemm" && n->op_type != "MatMul")) continue;
    NodeDecision d{n->name, n->op_type, "fp32", ""};
    if (!options.op_types.contains(n->op_type)) d.reason = "op type not selected (--op-types)";
    else if (options.exclude.contains(n->name)) d.reason = "excluded (--exclude)";
    else d.reason = unquantizable(*n);
    if (d.reason.empty() && n->op_type == "Conv" && options.min_conv_depth > 0) {
      const Shape& ws = n->inputs[1]->constant->shape();
      std::int64_t depth = ws[1];
      for (std::size_t i = 2; i < ws.rank(); ++i) depth *= ws[i];
      bool depthwise = n->attr_int("group", 1) > 1 && ws[1] == 1;
      if (!depthwise && depth < options.min_conv_depth)
        d.reason = fmt::format("GEMM depth {} < {}: int8 does not pay on so few products (--min-conv-depth)", depth,
                               options.min_conv_depth);
    }
    if (d.reason.empty()) {
      d.precision = "int8";
      auto [axis, channels] = channel_axis(*n);
      d.reason = options.per_channel ? fmt::format("weights per channel ({} scales)", channels) : "weights per tensor";
      (void)axis;
      layers.push_back(n.get());
    }
    report.nodes.push_back(d);
  }
  std::vector<ir::Value*>& order = sel.order;
  std::map<const ir::Value*, ir::Value*>& root = sel.root;
  auto want = [&](ir::Value* v, ir::Value* r) {
    if (root.contains(v)) return;
    root[v] = r;
    order.push_back(v);
  };
  // Inputs first: a layer input made by Concat passes its parameters on to the Concat's
  // inputs, so that the Concat runs on bytes (each producer requantizes straight into the
  // shared scale, as ONNX Runtime's QDQ rules do); then the layers' outputs.
  for (ir::Node* n : layers) {
    ir::Value* x = n->inputs[0];
    std::vector<ir::Value*> chain = {x};
    while (ir::Value* src = commuting_source(chain.back())) chain.push_back(src);
    for (ir::Value* v : chain) want(v, chain.back());
    const ir::Node* p = chain.back()->producer;
    if (p && p->domain.empty() && p->op_type == "Concat") {
      bool all_float = std::all_of(p->inputs.begin(), p->inputs.end(), [](const ir::Value* v) {
        return v && !v->constant && v->type.dtype == DType::float32;
      });
      if (all_float) {
        for (ir::Value* v : p->inputs) want(v, chain.back());
      }
    }
  }
  for (ir::Node* n : layers) {
    ir::Value* y = n->outputs[0];
    auto it = uses.find(y);
    if (it != uses.end() && it->second.size() == 1 && !g->is_graph_output(y)) {
      const ir::Node* next = it->second[0].node;
      if (next->domain.empty() && next->op_type == "Relu") y = next->outputs[0];
    }
    if (!g->is_graph_output(y)) want(y, y);
  }
  return sel;
}

}  // namespace

std::map<std::string, TensorStats> calibrate_int8(const ir::Graph& model, CalibrationSet& data,
                                                  const ModelBackend& backend, const Int8Options& options,
                                                  const CalibrationProgress& progress) {
  auto g = model.clone();
  QuantizeReport unused;
  Int8Options all = options;
  all.exclude.clear();
  Int8Selection sel = select_int8(*g, all, unused);
  CalibrationOptions copts = options.calibration;
  copts.symmetric = options.symmetric_activations;
  return calibrate(*g, sel.roots(), data, backend, copts, progress);
}

Int8Plan plan_int8(const ir::Graph& model, const Int8Options& options) {
  auto g = model.clone();
  QuantizeReport report;
  Int8Selection sel = select_int8(*g, options, report);
  Int8Plan plan;
  plan.decisions = std::move(report.nodes);
  for (const ir::Node* n : sel.layers) plan.layers.push_back(n->name);
  for (const ir::Value* v : sel.order) plan.tensors.emplace_back(v->name, sel.root.at(v)->name);
  return plan;
}

std::unique_ptr<ir::Graph> quantize_int8_static(const ir::Graph& model, CalibrationSet& data,
                                                const ModelBackend& backend, const Int8Options& options,
                                                QuantizeReport& report, const CalibrationProgress& progress) {
  std::map<std::string, TensorStats> stats = calibrate_int8(model, data, backend, options, progress);
  report.calibration_rows = data.rows();
  report.dropped_rows = data.non_finite_rows();
  if (data.non_finite_rows())
    report.warnings.push_back(fmt::format("{} calibration rows held NaN or Inf and were left out", data.non_finite_rows()));
  return quantize_int8_with(model, stats, options, report);
}

std::unique_ptr<ir::Graph> quantize_int8_with(const ir::Graph& model, const std::map<std::string, TensorStats>& stats,
                                              const Int8Options& options, QuantizeReport& report) {
  auto g = model.clone();
  Int8Selection sel = select_int8(*g, options, report);
  std::vector<ir::Node*>& layers = sel.layers;
  std::vector<ir::Value*>& order = sel.order;
  std::map<const ir::Value*, ir::Value*>& root = sel.root;
  if (layers.empty()) {
    report.warnings.push_back("no Conv, Gemm or MatMul could be quantized: the model is unchanged");
    return g;
  }
  std::map<const ir::Value*, ActivationParams8> params;
  for (ir::Value* v : order) {
    auto found = stats.find(root[v]->name);
    LOWP_CHECK(found != stats.end(), "int8: no calibration range for tensor '{}'", root[v]->name);
    const TensorStats& s = found->second;
    if (s.non_finite)
      report.warnings.push_back(fmt::format("tensor '{}': {} NaN or Inf values during calibration, left out of its range",
                                            root[v]->name, s.non_finite));
    params[v] = activation_params(s.range, options.symmetric_activations);
  }

  std::vector<ActivationParams8> layer_input(layers.size());
  for (std::size_t i = 0; i < layers.size(); ++i) layer_input[i] = params.at(layers[i]->inputs[0]);

  // 3. One Q -> DQ pair per tensor; every reader takes the dequantized value.
  for (ir::Value* v : order) {
    const ActivationParams8& p = params[v];
    std::string stem = v->name;
    ir::Value* scale = g->add_constant(g->unique_name(stem + "_scale"), scalar_f32(p.scale));
    ir::Value* zp = g->add_constant(g->unique_name(stem + "_zero_point"), scalar_zero_point(p));
    ir::Value* q = g->add_value(g->unique_name(stem + "_quantized"));
    ir::Value* dq = g->add_value(g->unique_name(stem + "_dequantized"));
    // Readers first, then the new nodes (which read v themselves).
    for (const auto& n : g->nodes()) {
      for (ir::Value*& in : n->inputs) {
        if (in == v) in = dq;
      }
    }
    g->add_node("QuantizeLinear", {v, scale, zp}, {q}, g->unique_name(stem + "_QuantizeLinear"));
    g->add_node("DequantizeLinear", {q, scale, zp}, {dq}, g->unique_name(stem + "_DequantizeLinear"));
    ++report.quantized_tensors;
  }

  // 4. Weights and biases.
  for (std::size_t li = 0; li < layers.size(); ++li) {
    ir::Node* n = layers[li];
    auto [axis, channels] = channel_axis(*n);
    QuantizedWeight qw = quantize_weight(*n->inputs[1]->constant, axis, channels, options.per_channel);
    std::string stem = n->inputs[1]->name;
    ir::Value* wq = g->add_constant(g->unique_name(stem + "_quantized"), qw.q);
    ir::Value* ws = g->add_constant(g->unique_name(stem + "_scale"),
                                    options.per_channel ? vector_f32(qw.scales) : scalar_f32(qw.scales[0]));
    auto zeros = std::make_shared<Tensor>(DType::int8, options.per_channel ? Shape{channels} : Shape{});
    ir::Value* wz = g->add_constant(g->unique_name(stem + "_zero_point"), zeros);
    ir::Value* wdq = g->add_value(g->unique_name(stem + "_dequantized"));
    ir::Node* d = g->add_node("DequantizeLinear", {wq, ws, wz}, {wdq}, g->unique_name(stem + "_DequantizeLinear"));
    if (options.per_channel) d->attributes["axis"] = ir::Attribute::of_int(static_cast<std::int64_t>(axis));
    n->inputs[1] = wdq;

    // Bias: int32 in the accumulator's scale x_scale * w_scale[c], zero point 0.
    if (n->has_input(2)) {
      QuantizedBias qb = quantize_bias_s32(n->inputs[2]->constant->values<float>(), layer_input[li].scale, qw.scales,
                                           fmt::format("node '{}': bias '{}'", n->label(), n->inputs[2]->name));
      auto bq = std::make_shared<Tensor>(DType::int32, Shape{channels});
      std::copy(qb.q.begin(), qb.q.end(), bq->values<std::int32_t>().begin());
      const std::vector<float>& bscale = qb.scales;
      std::string bstem = n->inputs[2]->name;
      ir::Value* bqc = g->add_constant(g->unique_name(bstem + "_quantized"), bq);
      ir::Value* bsc = g->add_constant(g->unique_name(bstem + "_scale"), vector_f32(bscale));
      ir::Value* bdq = g->add_value(g->unique_name(bstem + "_dequantized"));
      ir::Node* bd = g->add_node("DequantizeLinear", {bqc, bsc}, {bdq}, g->unique_name(bstem + "_DequantizeLinear"));
      bd->attributes["axis"] = ir::Attribute::of_int(0);
      n->inputs[2] = bdq;
    }
  }
  g->sort_topologically();
  ir::infer_types(*g);
  return g;
}

}  // namespace lowp::quant
