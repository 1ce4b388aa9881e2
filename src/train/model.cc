// train/model.cc
#include "train/model.h"

#include <algorithm>
#include <cstring>

#include "base/error.h"
#include "ir/schema.h"
#include "train/conv2d.h"
#include "train/elementwise.h"
#include "train/linear.h"
#include "train/loss_scaler.h"
#include "train/normalization.h"
#include "train/pooling.h"

namespace lowp::train {

std::vector<int> Model::trained_input_shape() const {
  std::vector<int> shape = {1};
  shape.insert(shape.end(), input_shape.begin(), input_shape.end());
  for (const auto& layer : input_transform) shape = layer->output_shape(shape);
  shape.erase(shape.begin());
  return shape;
}

std::vector<int> Model::output_shape() const {
  LOWP_CHECK(!layers.empty(), "model '{}' has no layers", name);
  std::vector<int> shape = {1};
  std::vector<int> in = trained_input_shape();
  shape.insert(shape.end(), in.begin(), in.end());
  for (const auto& layer : layers) shape = layer->output_shape(shape);
  shape.erase(shape.begin());
  return shape;
}

const Batch& Model::forward(const Batch& x, const Context& ctx) {
  outputs_.resize(layers.size());
  staged_.resize(layers.size());
  staged_used_.assign(layers.size(), false);
  forward_overflow_.clear();
  input_ = &x;
  if (ctx.fp16_storage) {
    rounded_input_ = x;
    round_to_fp16(rounded_input_.data, ctx.pool);
    input_ = &rounded_input_;
  }
  const Batch* in = input_;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (in->bf16 && !layers[i]->handles_bf16()) {
      // bf16 training: this layer takes fp32; its fp32 copy of the input is kept for
      // backward.
      convert_batch(*in, staged_[i], false, ctx.pool);
      staged_used_[i] = true;
      in = &staged_[i];
    }
    layers[i]->forward(*in, outputs_[i], ctx);
    if (ctx.fp16_storage) {
      round_to_fp16(outputs_[i].data, ctx.pool);
      if (forward_overflow_.empty() && !all_finite(outputs_[i].data))
        forward_overflow_ = layers[i]->name();
    }
    in = &outputs_[i];
  }
  if (in->bf16) {
    convert_batch(*in, final_output_, false, ctx.pool);
    return final_output_;
  }
  return *in;
}

std::string Model::backward(const Batch& grad_output, const Context& ctx) {
  LOWP_CHECK(input_ != nullptr && outputs_.size() == layers.size(),
             "model '{}': backward without a forward pass", name);
  std::string overflow;
  const Batch* dy = &grad_output;
  for (std::size_t i = layers.size(); i-- > 0;) {
    // dy in the format of the layer's output: a layer after it that took an fp32 copy
    // (or the loss) gave an fp32 gradient.
    if (dy->bf16 != outputs_[i].bf16) {
      Batch* converted = dy == &grad_a_ ? &grad_b_ : &grad_a_;
      convert_batch(*dy, *converted, outputs_[i].bf16, ctx.pool);
      dy = converted;
    }
    const Batch& x = staged_used_[i] ? staged_[i] : (i == 0 ? *input_ : outputs_[i - 1]);
    Batch* dx = i == 0 ? nullptr : (dy == &grad_a_ ? &grad_b_ : &grad_a_);
    layers[i]->backward(x, outputs_[i], *dy, dx, ctx);
    if (ctx.fp16_storage) {
      if (dx != nullptr) round_to_fp16(dx->data, ctx.pool);
      bool finite = dx == nullptr || all_finite(dx->data);
      for (Param* p : layers[i]->params())
        finite = finite && (!p->trainable || all_finite(p->grad));
      if (!finite && overflow.empty()) overflow = layers[i]->name();
    }
    dy = dx;
  }
  return overflow;
}

Batch Model::transform_inputs(const Batch& x, ThreadPool* pool) {
  if (input_transform.empty()) return x;
  Context ctx;
  ctx.pool = pool;
  ctx.training = false;
  std::vector<int> out_shape = {x.rows()};
  std::vector<int> sample = trained_input_shape();
  out_shape.insert(out_shape.end(), sample.begin(), sample.end());
  Batch out;
  out.resize(out_shape);
  const int block = 1024;
  Batch piece, a, b;
  for (int start = 0; start < x.rows(); start += block) {
    const int rows = std::min(block, x.rows() - start);
    std::vector<int> shape = x.shape;
    shape[0] = rows;
    piece.resize(shape);
    std::copy_n(x.data.begin() + static_cast<std::ptrdiff_t>(start * x.per_row()),
                piece.data.size(), piece.data.begin());
    const Batch* in = &piece;
    for (auto& layer : input_transform) {
      Batch* dst = in == &a ? &b : &a;
      layer->forward(*in, *dst, ctx);
      in = dst;
    }
    std::copy(in->data.begin(), in->data.end(),
              out.data.begin() + static_cast<std::ptrdiff_t>(start * out.per_row()));
  }
  return out;
}

std::vector<Param*> Model::params() {
  std::vector<Param*> out;
  for (auto& layer : layers) {
    for (Param* p : layer->params()) out.push_back(p);
  }
  return out;
}

std::vector<StateTensor*> Model::states() {
  std::vector<StateTensor*> out;
  for (auto& layer : layers) {
    for (StateTensor* s : layer->states()) out.push_back(s);
  }
  return out;
}

std::size_t Model::parameter_count() {
  std::size_t n = 0;
  for (Param* p : params()) n += p->value.size();
  return n;
}

std::unique_ptr<ir::Graph> Model::to_graph(std::vector<ir::Value*>* values) const {
  output_shape();  // validates the chain
  auto graph = std::make_unique<ir::Graph>();
  graph->name = name;
  graph->opsets[""] = ir::kIrOpset;
  std::vector<ir::Dim> dims = {ir::Dim::named("N")};
  if (input_shape.size() == 3) {  // NHWC sample -> NCHW input
    for (int axis : {2, 0, 1})
      dims.push_back(ir::Dim::known(input_shape[static_cast<std::size_t>(axis)]));
  } else {
    for (int d : input_shape) dims.push_back(ir::Dim::known(d));
  }
  ir::Value* x = graph->add_value("input", ir::TensorType{DType::float32, dims});
  graph->inputs.push_back(x);
  for (const auto& layer : input_transform) x = layer->export_to(*graph, x);
  if (values) values->assign(1, x);
  for (const auto& layer : layers) {
    x = layer->export_to(*graph, x);
    if (values) values->push_back(x);
  }
  graph->outputs.push_back(x);
  ir::infer_types(*graph);
  return graph;
}

Model make_cnn(Random& rng) {
  Model m;
  m.name = "cnn";
  m.input_shape = {28, 28, 1};
  auto add = [&](std::unique_ptr<Layer> layer) { m.layers.push_back(std::move(layer)); };
  add(std::make_unique<Conv2d>("conv1", Conv2dOptions{1, 32, 3, 1, 1, 1, true}, rng));
  add(std::make_unique<BatchNorm>("bn1", 32));
  add(std::make_unique<ActivationLayer>("relu1", ActivationKind::relu));
  add(std::make_unique<Pool2d>("pool1", Pool2d::Mode::max, Pool2dOptions{2, 2, 0}));
  add(std::make_unique<Conv2d>("conv2", Conv2dOptions{32, 64, 3, 1, 1, 1, true}, rng));
  add(std::make_unique<BatchNorm>("bn2", 64));
  add(std::make_unique<ActivationLayer>("relu2", ActivationKind::relu));
  add(std::make_unique<Pool2d>("pool2", Pool2d::Mode::max, Pool2dOptions{2, 2, 0}));
  add(std::make_unique<Flatten>("flatten"));
  add(std::make_unique<Linear>("fc1", 3136, 128, rng));
  add(std::make_unique<ActivationLayer>("relu3", ActivationKind::relu));
  add(std::make_unique<Linear>("fc2", 128, 10, rng));
  return m;
}

Model make_mlp(int inputs, int classes, Random& rng) {
  Model m;
  m.name = "mlp";
  m.input_shape = {inputs};
  m.layers.push_back(std::make_unique<Linear>("fc1", inputs, 512, rng));
  m.layers.push_back(std::make_unique<ActivationLayer>("relu1", ActivationKind::relu));
  m.layers.push_back(std::make_unique<Linear>("fc2", 512, 512, rng));
  m.layers.push_back(std::make_unique<ActivationLayer>("relu2", ActivationKind::relu));
  m.layers.push_back(std::make_unique<Linear>("fc3", 512, classes, rng));
  return m;
}

Model make_simplenet(const std::vector<float>& components, const std::vector<float>& mean,
                     int inputs, int k, int hidden, int classes, Random& rng) {
  LOWP_CHECK(components.size() == static_cast<std::size_t>(k) * static_cast<std::size_t>(inputs) &&
                 mean.size() == static_cast<std::size_t>(inputs),
             "simplenet: projection of {} values and mean of {} do not fit {} -> {}",
             components.size(), mean.size(), inputs, k);
  Model m;
  m.name = "simplenet";
  m.input_shape = {inputs};
  // (x - mean) P^T = x P^T - (P mean): one Linear with a bias.
  auto pca = std::make_unique<Linear>("pca", inputs, k, rng);
  pca->weight().value = components;
  pca->weight().trainable = false;
  pca->bias().trainable = false;
  for (int j = 0; j < k; ++j) {
    double s = 0.0;
    for (int i = 0; i < inputs; ++i) {
      s += static_cast<double>(components[static_cast<std::size_t>(j) * inputs + i]) *
           mean[static_cast<std::size_t>(i)];
    }
    pca->bias().value[static_cast<std::size_t>(j)] = static_cast<float>(-s);
  }
  m.input_transform.push_back(std::move(pca));
  m.layers.push_back(std::make_unique<Linear>("fc1", k, hidden, rng));
  m.layers.push_back(std::make_unique<ActivationLayer>("relu", ActivationKind::relu));
  m.layers.push_back(std::make_unique<Linear>("fc2", hidden, classes, rng));
  return m;
}

namespace {

std::vector<float> constant_values(const ir::Node& node, std::size_t input,
                                   const std::vector<int>& shape) {
  LOWP_CHECK(node.has_input(input) && node.inputs[input]->is_constant(),
             "node '{}' ({}): input {} must be a constant to be trained", node.label(),
             node.op_type, input);
  const Tensor& t = *node.inputs[input]->constant;
  LOWP_CHECK(t.dtype() == DType::float32, "node '{}' ({}): input {} is {}, not float32",
             node.label(), node.op_type, input, dtype_name(t.dtype()));
  LOWP_CHECK(t.elements() == shape_elements(shape),
             "node '{}' ({}): input {} has shape {}, expected {}", node.label(), node.op_type,
             input, t.shape().str(), shape_str(shape));
  auto v = t.values<float>();
  return {v.begin(), v.end()};
}

// One value per spatial axis, all equal: the square windows the layers implement.
int square_attr(const ir::Node& node, const std::string& key, int fallback) {
  std::vector<std::int64_t> v = node.attr_ints(key);
  if (v.empty()) return fallback;
  for (std::int64_t x : v) {
    LOWP_CHECK(x == v[0],
               "node '{}' ({}): {} {} is not the same on every axis, which training "
               "does not support",
               node.label(), node.op_type, key, fmt::join(v, ","));
  }
  return static_cast<int>(v[0]);
}

// The Add that follows a MatMul with a constant bias of n values, when it is the MatMul
// output's only consumer; else null.
const ir::Node* matmul_bias_add(const ir::Graph& graph, const ir::Node& matmul, int n) {
  const ir::Value* y = matmul.outputs[0];
  if (graph.is_graph_output(y)) return nullptr;
  const ir::Node* add = nullptr;
  for (const auto& other : graph.nodes()) {
    for (const ir::Value* in : other->inputs) {
      if (in != y) continue;
      if (add != nullptr && add != other.get()) return nullptr;  // a second consumer
      add = other.get();
    }
  }
  if (!add || !add->domain.empty() || add->op_type != "Add" || add->inputs.size() != 2)
    return nullptr;
  const ir::Value* b = add->inputs[0] == y ? add->inputs[1] : add->inputs[0];
  if (b == y || !b->is_constant() || b->constant->dtype() != DType::float32) return nullptr;
  const Shape& s = b->constant->shape();
  const bool row = (s.rank() == 1 && s[0] == n) || (s.rank() == 2 && s[0] == 1 && s[1] == n);
  return row ? add : nullptr;
}

}  // namespace

Model model_from_graph(const ir::Graph& graph) {
  LOWP_CHECK(graph.inputs.size() == 1 && graph.outputs.size() == 1,
             "training needs a model with one input and one output; '{}' has {} and {}", graph.name,
             graph.inputs.size(), graph.outputs.size());
  const ir::TensorType& in_type = graph.inputs[0]->type;
  LOWP_CHECK(in_type.is_concrete() || (in_type.has_rank() && in_type.rank() >= 2),
             "input '{}' has no known shape", graph.inputs[0]->name);
  std::vector<int> sample;
  for (std::size_t i = 1; i < in_type.rank(); ++i) {
    const ir::Dim& d = (*in_type.dims)[i];
    LOWP_CHECK(d.is_known(), "input '{}': dimension {} must be known to train",
               graph.inputs[0]->name, i);
    sample.push_back(static_cast<int>(d.value));
  }
  Model m;
  m.name = graph.name.empty() ? "model" : graph.name;
  if (sample.size() == 3) sample = {sample[1], sample[2], sample[0]};  // NCHW -> NHWC
  m.input_shape = sample;
  Random rng(0);
  std::vector<int> shape = {1};
  shape.insert(shape.end(), m.input_shape.begin(), m.input_shape.end());
  const ir::Value* current = graph.inputs[0];
  const ir::Node* absorbed = nullptr;  // a MatMul's bias Add, trained as its Linear's bias
  for (const auto& owned : graph.nodes()) {
    const ir::Node& node = *owned;
    if (&node == absorbed) continue;
    LOWP_CHECK(node.domain.empty(), "node '{}' ({}::{}) has no gradient in lowp's trainer",
               node.label(), node.domain, node.op_type);
    LOWP_CHECK(!node.inputs.empty() && node.inputs[0] == current,
               "node '{}' ({}) does not continue a chain of layers: training takes models "
               "whose nodes each feed the next",
               node.label(), node.op_type);
    const std::string& op = node.op_type;
    const std::string lname =
        node.name.empty() ? fmt::format("{}_{}", op, m.layers.size()) : node.name;
    std::unique_ptr<Layer> layer;
    if (op == "Conv") {
      LOWP_CHECK(shape.size() == 4, "node '{}' (Conv): input rank {} is not 4", node.label(),
                 shape.size());
      const auto& wshape = node.inputs[1]->type;
      LOWP_CHECK(wshape.is_concrete() && wshape.rank() == 4,
                 "node '{}' (Conv): weight shape unknown", node.label());
      Shape ws = wshape.concrete_shape();
      LOWP_CHECK(ws[2] == ws[3], "node '{}' (Conv): kernel {}x{} is not square", node.label(),
                 ws[2], ws[3]);
      LOWP_CHECK(square_attr(node, "dilations", 1) == 1 &&
                     node.attr_string("auto_pad", "NOTSET") == "NOTSET",
                 "node '{}' (Conv): dilation and auto_pad are not supported in training",
                 node.label());
      Conv2dOptions o;
      o.groups = static_cast<int>(node.attr_int("group", 1));
      o.in_channels = shape[3];
      o.out_channels = static_cast<int>(ws[0]);
      o.kernel = static_cast<int>(ws[2]);
      o.stride = square_attr(node, "strides", 1);
      o.padding = square_attr(node, "pads", 0);
      o.bias = node.has_input(2);
      auto conv = std::make_unique<Conv2d>(lname, o, rng);
      std::vector<Param*> ps = conv->params();
      ps[0]->value = constant_values(node, 1, ps[0]->shape);
      if (o.bias) ps[1]->value = constant_values(node, 2, ps[1]->shape);
      layer = std::move(conv);
    } else if (op == "BatchNormalization") {
      const int c = shape.back();
      LOWP_CHECK(shape.size() == 4 || shape.size() == 2, "node '{}': BatchNormalization on rank {}",
                 node.label(), shape.size());
      auto bn = std::make_unique<BatchNorm>(lname, c, node.attr_float("epsilon", 1e-5f),
                                            1.0f - node.attr_float("momentum", 0.9f));
      std::vector<Param*> ps = bn->params();
      std::vector<StateTensor*> ss = bn->states();
      ps[0]->value = constant_values(node, 1, {c});
      ps[1]->value = constant_values(node, 2, {c});
      ss[0]->value = constant_values(node, 3, {c});
      ss[1]->value = constant_values(node, 4, {c});
      layer = std::move(bn);
    } else if (op == "Relu" || op == "Gelu" || op == "Sigmoid" || op == "Tanh") {
      LOWP_CHECK(op != "Gelu" || node.attr_string("approximate", "none") == "none",
                 "node '{}' (Gelu): only approximate = none is trained", node.label());
      ActivationKind k = op == "Relu"      ? ActivationKind::relu
                         : op == "Gelu"    ? ActivationKind::gelu
                         : op == "Sigmoid" ? ActivationKind::sigmoid
                                           : ActivationKind::tanh;
      layer = std::make_unique<ActivationLayer>(lname, k);
    } else if (op == "MaxPool" || op == "AveragePool") {
      LOWP_CHECK(
          node.attr_int("ceil_mode", 0) == 0 && square_attr(node, "dilations", 1) == 1 &&
              node.attr_string("auto_pad", "NOTSET") == "NOTSET" && node.outputs.size() == 1,
          "node '{}' ({}): ceil_mode, dilation, auto_pad and indices are not supported in training",
          node.label(), op);
      Pool2dOptions o{square_attr(node, "kernel_shape", 1), square_attr(node, "strides", 1),
                      square_attr(node, "pads", 0)};
      LOWP_CHECK(op == "MaxPool" || o.padding == 0 || node.attr_int("count_include_pad", 0) == 1,
                 "node '{}' (AveragePool): padding without count_include_pad is not supported",
                 node.label());
      layer = std::make_unique<Pool2d>(
          lname, op == "MaxPool" ? Pool2d::Mode::max : Pool2d::Mode::average, o);
    } else if (op == "Flatten") {
      LOWP_CHECK(node.attr_int("axis", 1) == 1, "node '{}' (Flatten): only axis 1 is supported",
                 node.label());
      layer = std::make_unique<Flatten>(lname);
    } else if (op == "Gemm") {
      LOWP_CHECK(node.attr_int("transA", 0) == 0 && node.attr_float("alpha", 1.0f) == 1.0f &&
                     node.attr_float("beta", 1.0f) == 1.0f && shape.size() == 2,
                 "node '{}' (Gemm): only transA = 0, alpha = beta = 1 on [N, K] is trained",
                 node.label());
      const bool trans_b = node.attr_int("transB", 0) != 0;
      const auto& wt = node.inputs[1]->type;
      LOWP_CHECK(wt.is_concrete() && wt.rank() == 2, "node '{}' (Gemm): weight shape unknown",
                 node.label());
      Shape ws = wt.concrete_shape();
      const int k = shape[1];
      const int n = static_cast<int>(trans_b ? ws[0] : ws[1]);
      auto linear = std::make_unique<Linear>(lname, k, n, rng, node.has_input(2));
      std::vector<float> w =
          constant_values(node, 1, trans_b ? std::vector<int>{n, k} : std::vector<int>{k, n});
      if (!trans_b) {
        std::vector<float> t(w.size());
        for (int i = 0; i < k; ++i) {
          for (int j = 0; j < n; ++j)
            t[static_cast<std::size_t>(j) * k + i] = w[static_cast<std::size_t>(i) * n + j];
        }
        w = std::move(t);
      }
      linear->weight().value = std::move(w);
      if (node.has_input(2)) linear->bias().value = constant_values(node, 2, {n});
      layer = std::move(linear);
    } else if (op == "MatMul") {
      // x W with W [K, N] (and the Add of a constant [N] bias after it, if one follows):
      // a Linear, whose weights are [N, K].
      LOWP_CHECK(shape.size() == 2, "node '{}' (MatMul): only [N, K] inputs are trained",
                 node.label());
      const auto& wt = node.inputs.size() == 2 ? node.inputs[1]->type : ir::TensorType{};
      LOWP_CHECK(wt.is_concrete() && wt.rank() == 2,
                 "node '{}' (MatMul): weights are not a 2-D constant", node.label());
      const int k = shape[1];
      const int n = static_cast<int>(wt.concrete_shape()[1]);
      std::vector<float> w = constant_values(node, 1, {k, n});
      const ir::Node* add = matmul_bias_add(graph, node, n);
      auto linear = std::make_unique<Linear>(lname, k, n, rng, add != nullptr);
      std::vector<float> t(w.size());
      for (int i = 0; i < k; ++i) {
        for (int j = 0; j < n; ++j)
          t[static_cast<std::size_t>(j) * k + i] = w[static_cast<std::size_t>(i) * n + j];
      }
      linear->weight().value = std::move(t);
      if (add) {
        const std::size_t bias_input = add->inputs[0] == node.outputs[0] ? 1 : 0;
        linear->bias().value = constant_values(*add, bias_input, {n});
        absorbed = add;
        shape = linear->output_shape(shape);
        m.layers.push_back(std::move(linear));
        current = add->outputs[0];
        continue;
      }
      layer = std::move(linear);
    } else if (op == "LayerNormalization") {
      LOWP_CHECK(node.attr_int("axis", -1) == -1 ||
                     node.attr_int("axis", -1) == static_cast<std::int64_t>(shape.size()) - 1,
                 "node '{}' (LayerNormalization): only the last axis is trained", node.label());
      const int d = shape.back();
      auto ln = std::make_unique<LayerNorm>(lname, d, node.attr_float("epsilon", 1e-5f));
      std::vector<Param*> ps = ln->params();
      ps[0]->value = constant_values(node, 1, {d});
      if (node.has_input(2)) ps[1]->value = constant_values(node, 2, {d});
      layer = std::move(ln);
    } else if (op == "Dropout" || op == "Identity") {
      current = node.outputs[0];
      continue;
    } else {
      fail(
          "node '{}' (op {}) has no gradient in lowp's trainer (trainable ops: Conv, "
          "BatchNormalization, Relu, Gelu, Sigmoid, Tanh, MaxPool, AveragePool, Flatten, Gemm, "
          "MatMul, LayerNormalization, Dropout, Identity)",
          node.label(), op);
    }
    shape = layer->output_shape(shape);
    m.layers.push_back(std::move(layer));
    current = node.outputs[0];
  }
  LOWP_CHECK(current == graph.outputs[0],
             "the model's output '{}' is not the end of its chain of nodes",
             graph.outputs[0]->name);
  return m;
}

}  // namespace lowp::train
