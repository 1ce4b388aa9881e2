// train/fake_quant.cc
#include "train/fake_quant.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include "base/error.h"
#include "base/random.h"
#include "kernels/quantize/quantize.h"
#include "quant/quantize_int8.h"
#include "quant/weight_quant.h"
#include "train/normalization.h"

namespace lowp::train {
namespace {

// The epilogue multipliers of lowp::QGemm (runtime/ops/quant.cc): to the output's codes
// (requant_multiplier; the int8 convolution computes the same from its parameters,
// kernels/conv/conv2d.cc epilogue_scale), or to real values (an fp32 output).
float to_codes_multiplier(float x_scale, float w_scale, float y_scale) {
  return static_cast<float>(static_cast<double>(x_scale) * w_scale / y_scale);
}
float to_real_multiplier(float x_scale, float w_scale) {
  return static_cast<float>(static_cast<double>(x_scale) * w_scale);
}

// A layer's [n][k] fp32 weights as the int8 quantizer quantizes them, and their dequantized
// values (q * scale, as the exported DequantizeLinear computes them).
QuantizedWeights quantize_weights(const std::vector<float>& w, int n, int k,
                                  std::vector<float>& dequantized) {
  QuantizedWeights q = quantize_per_channel_s8(w.data(), n, k);
  dequantized.resize(w.size());
  for (int row = 0; row < n; ++row) {
    for (int i = 0; i < k; ++i) {
      const std::size_t at = static_cast<std::size_t>(row) * k + i;
      dequantized[at] = dequantize_value(q.q[at], q.scales[static_cast<std::size_t>(row)], 0);
    }
  }
  return q;
}

// The straight-through mask of a layer's output from its real values y (before output
// quantization): 1 where y lies in the representable range [(0 - zp) s, (255 - zp) s] of
// the output's parameters (none: fp32 output), and y > 0 when a ReLU was absorbed; 0 where
// quantization or the ReLU clamped it.
void output_mask(const std::vector<float>& y, bool relu, const AffineParams* p,
                 std::vector<float>& mask) {
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  if (p != nullptr) {
    lo = dequantize_value(0, p->scale, p->zero_point);
    hi = dequantize_value(255, p->scale, p->zero_point);
  }
  if (relu) lo = std::max(lo, std::nextafter(0.0f, 1.0f));  // y > 0
  mask.resize(y.size());
  const float* __restrict v = y.data();
  float* __restrict m = mask.data();
  for (std::size_t i = 0; i < y.size(); ++i) m[i] = v[i] >= lo && v[i] <= hi ? 1.0f : 0.0f;
}

void apply_mask(const Batch& dy, const std::vector<float>& mask, Batch& out) {
  LOWP_CHECK(mask.size() == dy.data.size(),
             "quantization-aware training: backward without forward");
  out.resize(dy.shape);
  const float* __restrict m = mask.data();
  const float* __restrict g = dy.data.data();
  float* __restrict o = out.data.data();
  for (std::size_t i = 0; i < mask.size(); ++i) o[i] = m[i] * g[i];  // m is 0 or 1
}

// Runs `fn` with `slot` holding `temporary` (the dequantized weights during a float
// backward), restoring it however fn ends.
template <class Fn>
void with_swapped(std::vector<float>& slot, std::vector<float>& temporary, Fn fn) {
  struct Restore {
    std::vector<float>& a;
    std::vector<float>& b;
    ~Restore() { std::swap(a, b); }
  } restore{slot, temporary};
  std::swap(slot, temporary);
  fn();
}

}  // namespace

// ---- RangeObserver ----

RangeObserver::RangeObserver(std::string tensor, float momentum)
    : tensor_(std::move(tensor)), momentum_(momentum) {
  state_ = StateTensor{tensor_ + ".qat_range", {3}, {0.0f, 0.0f, 0.0f}};
}

void RangeObserver::observe(std::span<const float> x, bool relu) {
  // Min and max in 16 lanes (a loop the compiler vectorizes; NaN compares false and is
  // skipped); MinMaxObserver, which also leaves out +-Inf, only when one turned up.
  constexpr std::size_t kLanes = 16;
  float lanes_lo[kLanes], lanes_hi[kLanes];
  std::fill_n(lanes_lo, kLanes, std::numeric_limits<float>::infinity());
  std::fill_n(lanes_hi, kLanes, -std::numeric_limits<float>::infinity());
  const std::size_t whole = x.size() / kLanes * kLanes;
  for (std::size_t i = 0; i < whole; i += kLanes) {
    for (std::size_t j = 0; j < kLanes; ++j) {
      const float v = x[i + j];
      lanes_lo[j] = v < lanes_lo[j] ? v : lanes_lo[j];
      lanes_hi[j] = v > lanes_hi[j] ? v : lanes_hi[j];
    }
  }
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (std::size_t j = 0; j < kLanes; ++j) {
    lo = std::min(lo, lanes_lo[j]);
    hi = std::max(hi, lanes_hi[j]);
  }
  for (std::size_t i = whole; i < x.size(); ++i) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
  if (!std::isfinite(lo) || !std::isfinite(hi)) {
    MinMaxObserver batch;
    batch.observe(x);
    if (batch.seen() == 0) return;
    lo = batch.min();
    hi = batch.max();
  }
  if (relu) {
    lo = std::max(lo, 0.0f);
    hi = std::max(hi, 0.0f);
  }
  std::vector<float>& s = state_.value;
  if (!observed()) {
    s = {lo, hi, 1.0f};
    return;
  }
  s[0] =
      static_cast<float>(s[0] + static_cast<double>(momentum_) * (lo - static_cast<double>(s[0])));
  s[1] =
      static_cast<float>(s[1] + static_cast<double>(momentum_) * (hi - static_cast<double>(s[1])));
}

AffineParams RangeObserver::params() const {
  if (!observed()) return AffineParams{};
  return choose_u8_params(lo(), hi());
}

// ---- FakeQuant ----

FakeQuant::FakeQuant(std::string tensor, float momentum)
    : Layer(tensor + ".fake_quant"), observer_(std::move(tensor), momentum) {}

void FakeQuant::forward(const Batch& x, Batch& y, const Context& ctx) {
  y.resize(x.shape);
  if (ctx.training) observer_.observe(x.data, false);
  const AffineParams p = observer_.params();
  codes_.resize(x.data.size());
  quantize_u8(x.data.data(), x.data.size(), p.scale, p.zero_point, codes_.data());
  dequantize_u8(codes_.data(), codes_.size(), p.scale, p.zero_point, y.data.data());
}

void FakeQuant::backward(const Batch& x, const Batch&, const Batch& dy, Batch* dx, const Context&) {
  if (dx == nullptr) return;
  const AffineParams p = observer_.params();
  const float lo = dequantize_value(0, p.scale, p.zero_point);
  const float hi = dequantize_value(255, p.scale, p.zero_point);
  dx->resize(x.shape);
  const float* __restrict xs = x.data.data();
  const float* __restrict g = dy.data.data();
  float* __restrict d = dx->data.data();
  for (std::size_t i = 0; i < x.data.size(); ++i) d[i] = xs[i] >= lo && xs[i] <= hi ? g[i] : 0.0f;
}

// ---- QatLinear ----

QatLinear::QatLinear(std::unique_ptr<Linear> linear, const RangeObserver* input, QatOutput output)
    : Layer(linear->name()), linear_(std::move(linear)), input_(input), out_(std::move(output)) {
  LOWP_CHECK(input_ != nullptr, "{}: a QAT layer needs its input's range", name());
}

std::vector<int> QatLinear::output_shape(std::span<const int> in) const {
  return linear_->output_shape(in);
}

void QatLinear::forward(const Batch& x, Batch& y, const Context& ctx) {
  y.resize(output_shape(x.shape));
  const int rows = x.rows(), k = linear_->in(), n = linear_->out();
  const AffineParams in = input_->params();
  const QuantizedWeights wq = quantize_weights(linear_->weight().value, n, k, w_dq_);
  packed_ = pack_qgemm(wq.q.data(), n, k);
  std::optional<QuantizedBias> bias;
  if (linear_->has_bias()) {
    bias = quantize_bias_s32(linear_->bias().value, in.scale, wq.scales,
                             fmt::format("{}: bias '{}'", name(), linear_->bias().name));
  }
  offsets_ = qgemm_column_offsets(packed_, in.zero_point, bias ? bias->q.data() : nullptr);

  // Input codes, each row padded to padded_k with zeros (they meet zero weights).
  const std::size_t stride = static_cast<std::size_t>(packed_.padded_k());
  const std::size_t need = std::max<std::size_t>(1, static_cast<std::size_t>(rows) * stride);
  if (rows_.size() != need) rows_ = AlignedBuffer<std::uint8_t>(need);
  for (int r = 0; r < rows; ++r) {
    std::uint8_t* dst = rows_.data() + static_cast<std::size_t>(r) * stride;
    quantize_u8(x.data.data() + static_cast<std::size_t>(r) * k, static_cast<std::size_t>(k),
                in.scale, in.zero_point, dst);
    std::fill(dst + k, dst + stride, std::uint8_t{0});
  }

  scales_ = AlignedBuffer<float>(static_cast<std::size_t>(packed_.panels()) * kGemmPanel);
  QGemmArgs args;
  args.m = rows;
  args.a = rows_.data();
  args.lda = stride;
  args.w = &packed_;
  args.offset = offsets_.data();
  args.scale = scales_.data();
  args.output = QGemmOutput::f32;
  args.c_f32 = y.data.data();
  args.ldc = static_cast<std::size_t>(n);
  const bool relu = out_.relu != nullptr;
  auto real_scales = [&] {
    for (int j = 0; j < n; ++j)
      scales_[static_cast<std::size_t>(j)] = to_real_multiplier(in.scale, wq.scales[j]);
  };
  if (!out_.range) {  // fp32 output: lowp::QGemm without a following Q
    real_scales();
    args.act = relu ? ActivationParams(Activation::relu) : ActivationParams();
    qgemm(args, ctx.pool);
    if (ctx.training) output_mask(y.data, relu, nullptr, mask_);
    return;
  }
  if (ctx.training) {  // the batch's real outputs move the range, and give the mask
    real_scales();
    qgemm(args, ctx.pool);
    out_.range->observe(y.data, relu);
    const AffineParams o = out_.range->params();
    output_mask(y.data, relu, &o, mask_);
  }
  // The codes, as lowp::QGemm writes them: the runtime's multiplier, u8 epilogue.
  const AffineParams o = out_.range->params();
  for (int j = 0; j < n; ++j)
    scales_[static_cast<std::size_t>(j)] = to_codes_multiplier(in.scale, wq.scales[j], o.scale);
  codes_.resize(y.data.size());
  args.act = relu ? ActivationParams(Activation::relu) : ActivationParams();
  args.output = QGemmOutput::u8;
  args.out_zero_point = o.zero_point;
  args.c_f32 = nullptr;
  args.c_u8 = codes_.data();
  qgemm(args, ctx.pool);
  dequantize_u8(codes_.data(), codes_.size(), o.scale, o.zero_point, y.data.data());
}

void QatLinear::backward(const Batch& x, const Batch& y, const Batch& dy, Batch* dx,
                         const Context& ctx) {
  apply_mask(dy, mask_, masked_);
  with_swapped(linear_->weight().value, w_dq_, [&] { linear_->backward(x, y, masked_, dx, ctx); });
}

std::vector<StateTensor*> QatLinear::states() {
  if (out_.range) return {out_.range->state()};
  return {};
}

ir::Value* QatLinear::export_to(ir::Graph& graph, ir::Value* x) const {
  ir::Value* y = linear_->export_to(graph, x);
  return out_.relu ? out_.relu->export_to(graph, y) : y;
}

// ---- QatConv2d ----

QatConv2d::QatConv2d(std::unique_ptr<Conv2d> conv, const RangeObserver* input, QatOutput output)
    : Layer(conv->name()), conv_(std::move(conv)), input_(input), out_(std::move(output)) {
  LOWP_CHECK(input_ != nullptr, "{}: a QAT layer needs its input's range", name());
}

std::vector<int> QatConv2d::output_shape(std::span<const int> in) const {
  return conv_->output_shape(in);
}

void QatConv2d::forward(const Batch& x, Batch& y, const Context& ctx) {
  const std::vector<int> out_shape = output_shape(x.shape);  // validates x
  y.resize(out_shape);
  const Conv2dOptions& opt = conv_->options();
  Conv2dShape s;
  s.batch = x.shape[0];
  s.in_h = x.shape[1];
  s.in_w = x.shape[2];
  s.in_c = opt.in_channels;
  s.out_c = opt.out_channels;
  s.kernel_h = s.kernel_w = opt.kernel;
  s.stride_h = s.stride_w = opt.stride;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = opt.padding;
  s.groups = opt.groups;
  std::vector<Param*> ps = conv_->params();
  Param& weight = *ps[0];
  const int n = opt.out_channels;
  const int k = static_cast<int>(weight.value.size() / static_cast<std::size_t>(n));
  const AffineParams in = input_->params();
  const QuantizedWeights wq = quantize_weights(weight.value, n, k, w_dq_);
  std::optional<QuantizedBias> bias;
  if (opt.bias) {
    bias = quantize_bias_s32(ps[1]->value, in.scale, wq.scales,
                             fmt::format("{}: bias '{}'", name(), ps[1]->name));
  }
  const bool relu = out_.relu != nullptr;
  if (!out_.range) {
    // fp32 output: the runtime keeps DequantizeLinear -> Conv in float, so this is the fp32
    // convolution of the dequantized input, weights and bias (float(q) * scale).
    std::vector<float> b_dq;
    if (bias) {
      b_dq.resize(bias->q.size());
      for (std::size_t c = 0; c < b_dq.size(); ++c)
        b_dq[c] = static_cast<float>(bias->q[c]) * bias->scales[c];
    }
    std::vector<float> unused;
    with_swapped(weight.value, w_dq_, [&] {
      with_swapped(opt.bias ? ps[1]->value : unused, b_dq, [&] { conv_->forward(x, y, ctx); });
    });
    if (relu) {
      for (float& v : y.data) v = std::max(v, 0.0f);
    }
    if (ctx.training) output_mask(y.data, relu, nullptr, mask_);
    return;
  }
  in_codes_.resize(x.data.size());
  quantize_u8(x.data.data(), x.data.size(), in.scale, in.zero_point, in_codes_.data());
  QConv2dParams p;
  p.input_zero_point = in.zero_point;
  p.input_scale = in.scale;
  p.weight_scales = wq.scales.data();
  p.bias = bias ? bias->q.data() : nullptr;
  if (ctx.training) {  // the batch's real outputs move the range, and give the mask
    p.output = QGemmOutput::f32;
    PackedConv2dInt8Weights packed = pack_conv2d_int8(s, wq.q.data(), p);
    conv2d_int8(packed, in_codes_.data(), y.data.data(), nullptr, scratch_, ctx.pool);
    out_.range->observe(y.data, relu);
    const AffineParams o = out_.range->params();
    output_mask(y.data, relu, &o, mask_);
  }
  // The codes, as the runtime's QLinearConv writes them (the same packing and epilogue).
  const AffineParams o = out_.range->params();
  p.output = QGemmOutput::u8;
  p.output_scale = o.scale;
  p.output_zero_point = o.zero_point;
  p.act = relu ? ActivationParams(Activation::relu) : ActivationParams();
  PackedConv2dInt8Weights packed = pack_conv2d_int8(s, wq.q.data(), p);
  out_codes_.resize(y.data.size());
  conv2d_int8(packed, in_codes_.data(), nullptr, out_codes_.data(), scratch_, ctx.pool);
  dequantize_u8(out_codes_.data(), out_codes_.size(), o.scale, o.zero_point, y.data.data());
}

void QatConv2d::backward(const Batch& x, const Batch& y, const Batch& dy, Batch* dx,
                         const Context& ctx) {
  apply_mask(dy, mask_, masked_);
  with_swapped(conv_->params()[0]->value, w_dq_, [&] { conv_->backward(x, y, masked_, dx, ctx); });
}

std::vector<StateTensor*> QatConv2d::states() {
  if (out_.range) return {out_.range->state()};
  return {};
}

ir::Value* QatConv2d::export_to(ir::Graph& graph, ir::Value* x) const {
  ir::Value* y = conv_->export_to(graph, x);
  return out_.relu ? out_.relu->export_to(graph, y) : y;
}

// ---- preparation and export ----

namespace {

// s = gamma / sqrt(var + eps) per channel, in double (passes/fold_batch_norm.cc).
std::vector<double> bn_scale(BatchNorm& bn) {
  const std::vector<float>& gamma = bn.params()[0]->value;
  const std::vector<float>& var = bn.states()[1]->value;
  const double eps = bn.eps();
  std::vector<double> s(gamma.size());
  for (std::size_t o = 0; o < s.size(); ++o)
    s[o] = gamma[o] / std::sqrt(static_cast<double>(var[o]) + eps);
  return s;
}

// Conv -> BatchNorm as one Conv: W'[o] = W[o] s[o], B'[o] = (B[o] - mean[o]) s[o] + beta[o].
std::unique_ptr<Conv2d> fold_into_conv(Conv2d& conv, BatchNorm& bn) {
  Conv2dOptions o = conv.options();
  const bool had_bias = o.bias;
  o.bias = true;
  Random unused(0);
  auto folded = std::make_unique<Conv2d>(conv.name(), o, unused);
  const std::vector<double> s = bn_scale(bn);
  const std::vector<float>& beta = bn.params()[1]->value;
  const std::vector<float>& mean = bn.states()[0]->value;
  const std::vector<float>& w = conv.params()[0]->value;
  std::vector<float>& w2 = folded->params()[0]->value;
  std::vector<float>& b2 = folded->params()[1]->value;
  const std::size_t per = w.size() / s.size();
  for (std::size_t c = 0; c < s.size(); ++c) {
    for (std::size_t i = 0; i < per; ++i)
      w2[c * per + i] = static_cast<float>(w[c * per + i] * s[c]);
    const double b = had_bias ? conv.params()[1]->value[c] : 0.0;
    b2[c] = static_cast<float>((b - mean[c]) * s[c] + beta[c]);
  }
  return folded;
}

// Gemm -> BatchNormalization as one Gemm: W'[j] = W[j] s[j], C'[j] = C[j] s[j] + (beta[j] -
// mean[j] s[j]) (the pass's Gemm form).
std::unique_ptr<Linear> fold_into_linear(Linear& linear, BatchNorm& bn) {
  Random unused(0);
  auto folded = std::make_unique<Linear>(linear.name(), linear.in(), linear.out(), unused, true);
  const std::vector<double> s = bn_scale(bn);
  const std::vector<float>& beta = bn.params()[1]->value;
  const std::vector<float>& mean = bn.states()[0]->value;
  const std::size_t k = static_cast<std::size_t>(linear.in());
  for (std::size_t j = 0; j < s.size(); ++j) {
    for (std::size_t i = 0; i < k; ++i)
      folded->weight().value[j * k + i] =
          static_cast<float>(linear.weight().value[j * k + i] * s[j]);
    const double c = linear.has_bias() ? linear.bias().value[j] : 0.0;
    folded->bias().value[j] = static_cast<float>(c * s[j] + (beta[j] - mean[j] * s[j]));
  }
  return folded;
}

bool is_matrix_op(const ir::Node& n) {
  return n.domain.empty() && (n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul");
}

// The Conv / Gemm node a layer's export ends in (before an absorbed Relu).
const ir::Node* matrix_node(const ir::Value* layer_output, bool relu) {
  const ir::Node* n = layer_output->producer;
  if (relu && n != nullptr) n = n->inputs[0]->producer;
  return n;
}

const QatOutput* qat_output(const Layer& layer) {
  if (auto* l = dynamic_cast<const QatLinear*>(&layer)) return &l->output();
  if (auto* c = dynamic_cast<const QatConv2d*>(&layer)) return &c->output();
  return nullptr;
}

}  // namespace

bool is_qat_model(const Model& model) {
  return std::any_of(model.layers.begin(), model.layers.end(), [](const auto& l) {
    return dynamic_cast<const FakeQuant*>(l.get()) != nullptr || qat_output(*l) != nullptr;
  });
}

QatSummary prepare_qat(Model& model, const QatOptions& options) {
  LOWP_CHECK(options.momentum > 0.0f && options.momentum <= 1.0f,
             "quantization-aware training: the range momentum {} must lie in (0, 1]",
             options.momentum);
  LOWP_CHECK(!is_qat_model(model), "model '{}' is already prepared for quantization-aware training",
             model.name);
  model.output_shape();  // validates the chain
  QatSummary summary;

  // 1. BatchNorm folded into the Conv2d or Linear before it.
  std::vector<std::unique_ptr<Layer>> folded;
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    auto* bn =
        i + 1 < model.layers.size() ? dynamic_cast<BatchNorm*>(model.layers[i + 1].get()) : nullptr;
    if (bn != nullptr) {
      std::unique_ptr<Layer> f;
      if (auto* conv = dynamic_cast<Conv2d*>(model.layers[i].get())) f = fold_into_conv(*conv, *bn);
      if (auto* lin = dynamic_cast<Linear*>(model.layers[i].get())) f = fold_into_linear(*lin, *bn);
      if (f) {
        summary.folded.push_back(fmt::format("{} into {}", bn->name(), f->name()));
        folded.push_back(std::move(f));
        ++i;
        continue;
      }
    }
    folded.push_back(std::move(model.layers[i]));
  }
  model.layers = std::move(folded);

  // 2. Where the int8 quantizer puts its pairs in this model's graph. Matrix nodes that are
  // not trained layers (the input transform) stay fp32.
  std::vector<ir::Value*> values;
  std::unique_ptr<ir::Graph> graph = model.to_graph(&values);
  std::map<std::string, std::string> layer_of_node;  // Conv / Gemm node -> its layer's name
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const Layer* l = model.layers[i].get();
    if (dynamic_cast<const Conv2d*>(l) || dynamic_cast<const Linear*>(l))
      layer_of_node[values[i + 1]->producer->name] = l->name();
  }
  quant::Int8Options io;
  io.min_conv_depth = options.min_conv_depth;
  for (const auto& n : graph->nodes()) {
    if (is_matrix_op(*n) && !layer_of_node.contains(n->name)) io.exclude.insert(n->name);
  }
  quant::Int8Plan plan = quant::plan_int8(*graph, io);
  for (quant::NodeDecision& d : plan.decisions) {  // named after the layers
    if (io.exclude.contains(d.node))
      d.reason = "input transform, applied to the data in fp32";
    else
      d.node = layer_of_node.at(d.node);
  }
  summary.decisions = plan.decisions;
  if (plan.layers.empty()) {
    std::string why;
    for (const quant::NodeDecision& d : plan.decisions)
      why += fmt::format("{}{} stays fp32: {}", why.empty() ? "" : "; ", d.node, d.reason);
    fail(
        "quantization-aware training (--qat int8): model '{}' has nothing that int8 would "
        "quantize: {}",
        model.name, why.empty() ? "it has no Conv or Linear layer" : why);
  }
  std::map<std::string, std::string> root_of(plan.tensors.begin(), plan.tensors.end());
  std::set<std::string> roots;
  for (const auto& [tensor, root] : plan.tensors) roots.insert(root);
  const std::set<std::string> selected(plan.layers.begin(), plan.layers.end());

  // 3. The chain again, with QAT layers and FakeQuants where the pairs will be.
  std::map<std::string, const RangeObserver*> observer_of;  // root tensor -> its range
  std::vector<std::unique_ptr<Layer>> out;
  auto add_fake_quant = [&](const std::string& tensor) {
    auto fq = std::make_unique<FakeQuant>(tensor, options.momentum);
    observer_of[tensor] = &fq->observer();
    summary.quantized_tensors.push_back(tensor);
    out.push_back(std::move(fq));
  };
  if (roots.contains(values[0]->name)) add_fake_quant(values[0]->name);
  const std::size_t count = model.layers.size();
  for (std::size_t i = 0; i < count; ++i) {
    Layer* layer = model.layers[i].get();
    const bool matrix = dynamic_cast<Conv2d*>(layer) || dynamic_cast<Linear*>(layer);
    if (matrix && selected.contains(values[i + 1]->producer->name)) {
      auto in_root = root_of.find(values[i]->name);
      LOWP_CHECK(in_root != root_of.end(), "{}: int8 quantizes it but not its input '{}'",
                 layer->name(), values[i]->name);
      auto in_range = observer_of.find(in_root->second);
      LOWP_CHECK(in_range != observer_of.end(),
                 "{}: its input takes the range of tensor '{}', where training cannot quantize "
                 "(quantization-aware training takes chains whose quantized tensors are layer "
                 "outputs)",
                 layer->name(), in_root->second);
      QatOutput qo;
      std::size_t last = i;
      if (i + 1 < count && std::string(model.layers[i + 1]->kind()) == "ReLU") {
        last = i + 1;
        qo.relu.reset(static_cast<ActivationLayer*>(model.layers[i + 1].release()));
      }
      const std::string& y = values[last + 1]->name;
      if (roots.contains(y)) {
        qo.range.emplace(y, options.momentum);
        summary.quantized_tensors.push_back(y);
      }
      std::unique_ptr<Layer> qat;
      if (dynamic_cast<Conv2d*>(layer)) {
        qat = std::make_unique<QatConv2d>(
            std::unique_ptr<Conv2d>(static_cast<Conv2d*>(model.layers[i].release())),
            in_range->second, std::move(qo));
      } else {
        qat = std::make_unique<QatLinear>(
            std::unique_ptr<Linear>(static_cast<Linear*>(model.layers[i].release())),
            in_range->second, std::move(qo));
      }
      if (const QatOutput* o = qat_output(*qat); o->range) observer_of[y] = &*o->range;
      out.push_back(std::move(qat));
      i = last;
    } else {
      out.push_back(std::move(model.layers[i]));
    }
    // A quantized tensor made by an fp32 layer.
    const std::string& y = values[i + 1]->name;
    if (roots.contains(y) && !observer_of.contains(y)) add_fake_quant(y);
  }
  for (const std::string& r : roots) {
    LOWP_CHECK(observer_of.contains(r),
               "quantization-aware training: int8 quantizes tensor '{}', which no layer of the "
               "chain produces where training can quantize it",
               r);
  }
  model.layers = std::move(out);
  return summary;
}

std::unique_ptr<ir::Graph> export_qat_int8(const Model& model) {
  LOWP_CHECK(is_qat_model(model), "model '{}' was not prepared for quantization-aware training",
             model.name);
  std::vector<ir::Value*> values;
  std::unique_ptr<ir::Graph> graph = model.to_graph(&values);
  std::map<std::string, quant::TensorStats> stats;
  std::set<std::string> qat_nodes;
  auto add_range = [&](const RangeObserver& r, const ir::Value* v) {
    quant::TensorStats s;
    s.min = s.range.lo = r.lo();
    s.max = s.range.hi = r.hi();
    stats[v->name] = s;
  };
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const Layer& l = *model.layers[i];
    const ir::Value* y = values[i + 1];
    if (auto* fq = dynamic_cast<const FakeQuant*>(&l)) {
      add_range(fq->observer(), y);
    } else if (const QatOutput* o = qat_output(l)) {
      qat_nodes.insert(matrix_node(y, o->relu != nullptr)->name);
      if (o->range) add_range(*o->range, y);
    }
  }
  quant::Int8Options io;
  io.min_conv_depth = 0;  // exactly the QAT layers
  for (const auto& n : graph->nodes()) {
    if (is_matrix_op(*n) && !qat_nodes.contains(n->name)) io.exclude.insert(n->name);
  }
  // The quantizer must put its pairs where training quantized: the same layers, and a range
  // for exactly the tensors it quantizes.
  quant::Int8Plan plan = quant::plan_int8(*graph, io);
  std::set<std::string> plan_roots, have;
  for (const auto& [tensor, root] : plan.tensors) plan_roots.insert(root);
  for (const auto& [tensor, s] : stats) have.insert(tensor);
  LOWP_CHECK(std::set<std::string>(plan.layers.begin(), plan.layers.end()) == qat_nodes &&
                 plan_roots == have,
             "quantization-aware training: the int8 export would quantize layers [{}] and "
             "tensors [{}], but training quantized layers [{}] and tensors [{}]",
             fmt::join(plan.layers, ", "), fmt::join(plan_roots, ", "), fmt::join(qat_nodes, ", "),
             fmt::join(have, ", "));
  quant::QuantizeReport report;
  return quant::quantize_int8_with(*graph, stats, io, report);
}

}  // namespace lowp::train
