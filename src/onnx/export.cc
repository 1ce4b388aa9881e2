// onnx/export.cc
#include "onnx/export.h"

#include <algorithm>
#include <array>
#include <map>
#include <limits>
#include <set>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "base/error.h"
#include "base/float_types.h"
#include "io/atomic_file.h"
#include "onnx/onnx_pb.h"
#include "onnx/tensor_proto.h"

namespace lowp::onnx_io {
namespace {

namespace fs = std::filesystem;

// Versions of the domains besides ai.onnx that lowp creates nodes of, for a graph that did
// not import them; other domains keep the version the model was imported with.
constexpr std::array<std::pair<std::string_view, int>, 1> kDomainDefaults = {
    {{"com.microsoft", 1}}};

// Attributes of lowp's fused ops that describe the activation; the rest belong to the op
// they are written back as.
constexpr std::array<std::string_view, 3> kActivationAttributes = {"activation", "activation_min",
                                                                   "activation_max"};
// Conv's attributes at opset 21: what a FusedConv may carry besides the activation.
constexpr std::array<std::string_view, 6> kConvAttributes = {
    "auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"};

// A scalar of a float element type, for Clip's bounds.
std::shared_ptr<Tensor> float_scalar(DType dtype, float v, const ir::Node& node) {
  auto t = std::make_shared<Tensor>(dtype, Shape{});
  switch (dtype) {
    case DType::float32:
      t->values<float>()[0] = v;
      break;
    case DType::float64:
      t->values<double>()[0] = v;
      break;
    case DType::float16:
      t->values<std::uint16_t>()[0] = float16::from_float(v).bits();
      break;
    case DType::bfloat16:
      t->values<std::uint16_t>()[0] = bfloat16::from_float(v).bits();
      break;
    default:
      fail(
          "node '{}' ({}): a clip activation on {} has no ONNX form (Clip's bounds need a "
          "float type)",
          node.label(), node.op_type, dtype_name(dtype));
  }
  return t;
}

void write_type(const ir::TensorType& type, onnx::ValueInfoProto& info) {
  auto* tensor = info.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(type.dtype ? static_cast<int>(*type.dtype) : 0);
  if (!type.dims) return;
  auto* shape = tensor->mutable_shape();
  for (const ir::Dim& d : *type.dims) {
    auto* dim = shape->add_dim();
    if (d.is_known()) {
      dim->set_dim_value(d.value);
    } else if (!d.symbol.empty()) {
      dim->set_dim_param(d.symbol);
    }
  }
}

bool has_type_info(const ir::TensorType& type) {
  return type.dtype.has_value() || type.dims.has_value();
}

class Exporter {
 public:
  Exporter(const ir::Graph& graph, const fs::path& out, const ExportOptions& options)
      : graph_(graph), out_(out), options_(options) {}

  ExportSummary run() {
    for (const auto& node : graph_.nodes()) {
      if (!node->name.empty()) graph_node_names_.insert(node->name);
    }
    model_.set_ir_version(kExportIrVersion);
    model_.set_producer_name(options_.producer);
    onnx::GraphProto& g = *model_.mutable_graph();
    g.set_name(graph_.name.empty() ? "main" : graph_.name);
    for (const ir::Value* v : graph_.inputs) {
      auto* info = g.add_input();
      info->set_name(v->name);
      write_type(v->type, *info);
    }
    for (const auto& node : graph_.nodes()) write_node(*node);
    for (const ir::Value* v : graph_.outputs) {
      if (v->is_constant()) use_constant(v);
      auto* info = g.add_output();
      info->set_name(v->name);
      write_type(v->is_constant() ? ir::TensorType::of(v->constant->dtype(), v->constant->shape())
                                  : v->type,
                 *info);
    }
    cancel_transpose_pairs();
    write_value_info();
    write_opsets();
    write_initializers();
    write_files();
    ExportSummary summary;
    summary.nodes = static_cast<std::size_t>(model_.graph().node_size());
    summary.initializers = initializers_.size();
    summary.external_tensors = external_.size();
    summary.external_bytes = external_.empty() ? 0 : data_bytes_;
    return summary;
  }

 private:
  template <class... Args>
  [[noreturn]] void node_error(const ir::Node& n, fmt::format_string<Args...> f,
                               Args&&... args) const {
    fail("{}: node '{}' ({}): {}", out_.string(), n.label(), op_name(n),
         fmt::format(f, std::forward<Args>(args)...));
  }

  static std::string op_name(const ir::Node& n) {
    return n.domain.empty() ? n.op_type : n.domain + "::" + n.op_type;
  }

  // A value name that neither the graph nor this export has used.
  std::string fresh_name(const std::string& stem) {
    std::string name = stem;
    for (int i = 1; graph_.find_value(name) || !new_names_.insert(name).second; ++i) {
      name = fmt::format("{}_{}", stem, i);
    }
    return name;
  }

  void use_constant(const ir::Value* v) {
    if (constants_seen_.insert(v).second) initializers_.push_back({v->name, v->constant});
  }

  std::string input_name(const ir::Value* v) {
    if (!v) return {};
    if (v->is_constant()) use_constant(v);
    return v->name;
  }

  // A node. ONNX Runtime refuses two nodes of one name, so a name already written, or
  // (for the extra nodes an op expands into: `original` false) one that a node of the
  // graph has, gets a suffix.
  onnx::NodeProto& add_node(const std::string& op_type, const std::string& name,
                            const std::string& domain, bool original = false) {
    onnx::NodeProto& p = *model_.mutable_graph()->add_node();
    p.set_op_type(op_type);
    if (!name.empty()) {
      std::string unique = name;
      bool taken =
          node_names_written_.contains(unique) || (!original && graph_node_names_.contains(unique));
      for (int i = 1; taken; ++i) {
        unique = fmt::format("{}_{}", name, i);
        taken = node_names_written_.contains(unique) || graph_node_names_.contains(unique);
      }
      node_names_written_.insert(unique);
      p.set_name(unique);
    }
    if (!domain.empty()) p.set_domain(domain);
    return p;
  }

  void write_attribute(const ir::Node& n, const std::string& key, const ir::Attribute& a,
                       onnx::AttributeProto& p) {
    using A = onnx::AttributeProto;
    p.set_name(key);
    switch (a.kind) {
      case ir::Attribute::Kind::kFloat:
        p.set_type(A::FLOAT);
        p.set_f(a.f);
        break;
      case ir::Attribute::Kind::kInt:
        p.set_type(A::INT);
        p.set_i(a.i);
        break;
      case ir::Attribute::Kind::kString:
        p.set_type(A::STRING);
        p.set_s(a.s);
        break;
      case ir::Attribute::Kind::kTensor:
        p.set_type(A::TENSOR);
        tensor_to_proto(*a.t, *p.mutable_t());
        break;
      case ir::Attribute::Kind::kFloats:
        p.set_type(A::FLOATS);
        for (float f : a.floats) p.add_floats(f);
        break;
      case ir::Attribute::Kind::kInts:
        p.set_type(A::INTS);
        for (std::int64_t i : a.ints) p.add_ints(i);
        break;
      case ir::Attribute::Kind::kStrings:
        p.set_type(A::STRINGS);
        for (const std::string& s : a.strings) p.add_strings(s);
        break;
      case ir::Attribute::Kind::kGraph:
        node_error(n,
                   "attribute '{}' holds a subgraph, which lowp keeps no copy of and cannot write",
                   key);
    }
  }

  void write_node(const ir::Node& n) {
    if (n.domain == "lowp") return write_lowp_node(n);
    if (!n.domain.empty()) domains_used_.insert(n.domain);
    onnx::NodeProto& p = add_node(n.op_type, n.name, n.domain, true);
    // Omitted optional inputs and outputs are "", trailing ones too: the node reads back
    // as it was.
    for (const ir::Value* v : n.inputs) p.add_input(input_name(v));
    for (const ir::Value* v : n.outputs) p.add_output(v ? v->name : "");
    for (const auto& [key, a] : n.attributes) write_attribute(n, key, a, *p.add_attribute());
  }

  // lowp's own ops as the standard ops they stand for. The NHWC forms run the NCHW op
  // between two Transposes (a reader that prefers NCHW cancels the pairs that meet).
  void write_lowp_node(const ir::Node& n) {
    if (n.outputs.size() != 1 || !n.outputs[0] || !n.has_input(0))
      node_error(n, "expects one input X and one output");
    const ir::Value* y = n.outputs[0];
    if (n.op_type == "FusedConv") {
      return write_conv(n, input_name(n.inputs[0]), y->name, y->type,
                        n.has_input(3) ? input_name(n.inputs[3]) : std::string());
    }
    if (n.op_type == "FusedGemm") return write_fused_gemm(n);
    if (n.op_type == "Attention") return write_attention(n);
    if (n.op_type == "QGemm") return write_qgemm(n);
    if (n.op_type == "DynamicQGemm") return write_dynamic_qgemm(n);
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kNhwc = {{
        {"NhwcConv", "Conv"},
        {"NhwcQLinearConv", "QLinearConv"},
        {"NhwcMaxPool", "MaxPool"},
        {"NhwcAveragePool", "AveragePool"},
        {"NhwcGlobalAveragePool", "GlobalAveragePool"},
    }};
    for (const auto& [lowp_op, onnx_op] : kNhwc) {
      if (n.op_type != lowp_op) continue;
      std::string x = fresh_name(y->name + "_nchw_in");
      intermediates_.push_back({x, permuted(n.inputs[0]->type, kNhwcToNchw)});
      write_transpose(n, input_name(n.inputs[0]), x, kNhwcToNchw, "_to_nchw");
      ir::TensorType out_type = permuted(y->type, kNhwcToNchw);
      // A conv that quantizes its output (passes/fuse_conv_quantize.cc): the float result,
      // then QuantizeLinear.
      bool quantized = n.op_type == "NhwcConv" && n.has_attribute("quantize_scale");
      if (quantized) out_type.dtype = DType::float32;
      std::string out = fresh_name(y->name + "_nchw");
      intermediates_.push_back({out, out_type});
      if (onnx_op == "Conv" && n.has_attribute("pool_kernel_shape")) {
        // A conv that max-pools its output (passes/fuse_conv_pool.cc): Conv, then MaxPool
        // (before the QuantizeLinear of a quantizing one: max commutes with it).
        std::string conv_out = fresh_name(y->name + "_unpooled");
        intermediates_.push_back({conv_out, ir::TensorType{out_type.dtype, std::nullopt}});
        write_conv(n, x, conv_out, ir::TensorType{out_type.dtype, std::nullopt});
        onnx::NodeProto& p = add_node("MaxPool", n.name.empty() ? "" : n.name + "_pool", "");
        p.add_input(conv_out);
        p.add_output(out);
        ir::Attribute kernel = ir::Attribute::of_ints(n.attr_ints("pool_kernel_shape"));
        ir::Attribute strides = ir::Attribute::of_ints(n.attr_ints("pool_strides"));
        ir::Attribute pads = ir::Attribute::of_ints(n.attr_ints("pool_pads"));
        write_attribute(n, "kernel_shape", kernel, *p.add_attribute());
        write_attribute(n, "strides", strides, *p.add_attribute());
        write_attribute(n, "pads", pads, *p.add_attribute());
      } else if (onnx_op == "Conv") {
        std::string residual;
        if (n.has_input(3)) {
          residual = fresh_name(y->name + "_residual_nchw");
          intermediates_.push_back({residual, permuted(n.inputs[3]->type, kNhwcToNchw)});
          write_transpose(n, input_name(n.inputs[3]), residual, kNhwcToNchw, "_residual_to_nchw");
        }
        write_conv(n, x, out, out_type, residual);
      } else {
        if (activation_of(n) != "none") node_error(n, "a pool has no activation");
        onnx::NodeProto& p = add_node(std::string(onnx_op), n.name, "", true);
        p.add_input(x);
        for (std::size_t i = 1; i < n.inputs.size(); ++i) p.add_input(input_name(n.inputs[i]));
        p.add_output(out);
        for (const auto& [key, a] : n.attributes) write_attribute(n, key, a, *p.add_attribute());
      }
      if (!quantized) {
        write_transpose(n, out, y->name, kNchwToNhwc, "_to_nhwc");
        return;
      }
      std::string back = fresh_name(y->name + "_float");
      intermediates_.push_back({back, ir::TensorType{DType::float32, y->type.dims}});
      write_transpose(n, out, back, kNchwToNhwc, "_to_nhwc");
      std::string scale = fresh_name(y->name + "_scale"), zero = fresh_name(y->name + "_zero_point");
      initializers_.push_back({scale, float_scalar(DType::float32, n.attr_float("quantize_scale", 1.0f), n)});
      auto zp = std::make_shared<Tensor>(DType::uint8, Shape{});
      zp->values<std::uint8_t>()[0] = static_cast<std::uint8_t>(n.attr_int("quantize_zero_point", 0));
      initializers_.push_back({zero, zp});
      onnx::NodeProto& q = add_node("QuantizeLinear", n.name.empty() ? "" : n.name + "_quantize", "");
      q.add_input(back);
      q.add_input(scale);
      q.add_input(zero);
      q.add_output(y->name);
      return;
    }
    node_error(n, "lowp's own op has no standard ONNX form to export");
  }

  std::map<const ir::Value*, std::string> widened_;  // fp16 / bf16 weight -> its Cast's output
  static constexpr std::array<std::int64_t, 4> kNhwcToNchw = {0, 3, 1, 2};
  static constexpr std::array<std::int64_t, 4> kNchwToNhwc = {0, 2, 3, 1};

  // The type of Transpose(perm) of a value of type t.
  static ir::TensorType permuted(const ir::TensorType& t, std::span<const std::int64_t> perm) {
    if (!t.dims || t.rank() != perm.size()) return ir::TensorType{t.dtype, std::nullopt};
    std::vector<ir::Dim> dims;
    for (std::int64_t a : perm) dims.push_back((*t.dims)[static_cast<std::size_t>(a)]);
    return ir::TensorType{t.dtype, std::move(dims)};
  }

  void write_transpose(const ir::Node& n, const std::string& x, const std::string& y,
                       std::span<const std::int64_t> perm, const char* suffix) {
    added_transposes_.insert(y);
    onnx::NodeProto& p = add_node("Transpose", n.name.empty() ? "" : n.name + suffix, "");
    p.add_input(x);
    p.add_output(y);
    write_attribute(n, "perm", ir::Attribute::of_ints({perm.begin(), perm.end()}),
                    *p.add_attribute());
  }

  // An intermediate named after `final_name` when more nodes follow (`last` false), else
  // final_name itself; intermediates have the final value's type.
  std::string stage_output(const std::string& final_name, const ir::TensorType& type, bool last,
                           const std::string& what) {
    if (last) return final_name;
    std::string name = fresh_name(final_name + "_" + what);
    intermediates_.push_back({name, type});
    return name;
  }

  static std::string activation_of(const ir::Node& n) {
    return n.attr_string("activation", "none");
  }

  // Conv(x, W, B) with the node's Conv attributes, then Add(., residual) when the node has
  // one (passes/fuse_conv_add.cc; `residual` names it in the Conv's layout), then its
  // activation, into `out`.
  void write_conv(const ir::Node& n, const std::string& x, const std::string& out,
                  const ir::TensorType& out_type, const std::string& residual = {}) {
    for (const auto& [key, a] : n.attributes) {
      bool known =
          std::find(kConvAttributes.begin(), kConvAttributes.end(), key) != kConvAttributes.end() ||
          std::find(kActivationAttributes.begin(), kActivationAttributes.end(), key) !=
              kActivationAttributes.end() ||
          key == "quantize_scale" || key == "quantize_zero_point" ||  // written as a Q after
          key == "pool_kernel_shape" || key == "pool_strides" || key == "pool_pads";  // a MaxPool
      if (!known) node_error(n, "attribute '{}' has no meaning in Conv or its activation", key);
    }
    if (!n.has_input(1)) node_error(n, "input W is missing");
    bool act = activation_of(n) != "none";
    if (n.has_input(3) && residual.empty()) node_error(n, "its residual has no name in the exported graph");
    std::string conv_out = stage_output(out, out_type, !act && residual.empty(), "conv");
    std::vector<std::string> operands;  // any Cast of low-precision weights goes first
    for (std::size_t i = 1; i < std::min<std::size_t>(n.inputs.size(), 3); ++i) {
      if (n.has_input(i)) operands.push_back(float_input(n, i));
    }
    onnx::NodeProto& p = add_node("Conv", n.name, "", true);
    p.add_input(x);
    for (const std::string& operand : operands) p.add_input(operand);
    p.add_output(conv_out);
    for (const auto& [key, a] : n.attributes) {
      if (std::find(kConvAttributes.begin(), kConvAttributes.end(), key) != kConvAttributes.end()) {
        write_attribute(n, key, a, *p.add_attribute());
      }
    }
    if (!residual.empty()) {
      std::string sum = stage_output(out, out_type, !act, "residual");
      onnx::NodeProto& add = add_node("Add", n.name.empty() ? "" : n.name + "_residual", "");
      add.add_input(conv_out);
      add.add_input(residual);
      add.add_output(sum);
      conv_out = sum;
    }
    if (act) write_activation(n, conv_out, out, out_type);
  }

  // Input i of a lowp op as a float32 operand: an fp16 / bf16 weight (passes/
  // lower_float16.cc) stays stored in its precision behind one Cast to float, the form
  // ONNX allows for any op (Conv has no bf16 type).
  std::string float_input(const ir::Node& n, std::size_t i) {
    const ir::Value* v = n.inputs[i];
    if (!v || !v->constant || (v->constant->dtype() != DType::float16 && v->constant->dtype() != DType::bfloat16))
      return input_name(v);
    auto it = widened_.find(v);
    if (it != widened_.end()) return it->second;
    std::string name = fresh_name(v->name + "_to_float");
    intermediates_.push_back({name, ir::TensorType{DType::float32, v->type.dims}});
    onnx::NodeProto& p = add_node("Cast", n.name.empty() ? "" : n.name + "_weight_cast", "");
    p.add_input(input_name(v));
    p.add_output(name);
    write_attribute(n, "to", ir::Attribute::of_int(1), *p.add_attribute());
    widened_[v] = name;
    return name;
  }

  // Y = X[..., K] @ W[K, N] (+ bias[N]), then the activation.
  void write_fused_gemm(const ir::Node& n) {
    for (const auto& [key, a] : n.attributes) {
      if (std::find(kActivationAttributes.begin(), kActivationAttributes.end(), key) !=
          kActivationAttributes.end()) {
        continue;
      }
      // Gemm's attributes at their defaults mean the same product; others have no form here.
      bool neutral = ((key == "transA" || key == "transB") && a.kind == ir::Attribute::Kind::kInt &&
                      a.i == 0) ||
                     ((key == "alpha" || key == "beta") && a.kind == ir::Attribute::Kind::kFloat &&
                      a.f == 1.0f);
      if (!neutral)
        node_error(n, "attribute '{}' is not part of FusedGemm (Y = X @ W + bias, activation)",
                   key);
    }
    if (!n.has_input(1)) node_error(n, "input W is missing");
    const ir::Value* y = n.outputs[0];
    bool bias = n.has_input(2);
    bool act = activation_of(n) != "none";
    std::string product = stage_output(y->name, y->type, !bias && !act, "matmul");
    std::string weight = float_input(n, 1);
    onnx::NodeProto& mm = add_node("MatMul", n.name, "", true);
    mm.add_input(input_name(n.inputs[0]));
    mm.add_input(weight);
    mm.add_output(product);
    std::string result = product;
    if (bias) {
      result = stage_output(y->name, y->type, !act, "bias");
      onnx::NodeProto& add = add_node("Add", n.name.empty() ? "" : n.name + "_bias", "");
      add.add_input(product);
      add.add_input(input_name(n.inputs[2]));
      add.add_output(result);
    }
    if (act) write_activation(n, result, y->name, y->type);
  }

  // Attention(Q, KT, V [, mask]; scale) as MatMul, Mul by scale, [Add mask], Softmax on
  // the last axis, MatMul: the chain passes/fuse_attention.cc replaced.
  // lowp::QGemm (passes/lower_qdq.cc) as the QDQ form it came from: DequantizeLinear of
  // X, of W (per column) and of the int32 bias (scale x_scale * w_scales), MatMul (or
  // Gemm with transB), Add, the activation, and QuantizeLinear when it has y_scale.
  void write_qgemm(const ir::Node& n) {
    for (const auto& [key, a] : n.attributes) {
      if (key != "transB" && key != "activation") node_error(n, "attribute '{}' is not part of QGemm", key);
    }
    const ir::Value* y = n.outputs[0];
    bool trans_b = n.attr_int("transB", 0) != 0;
    bool quantized_out = n.has_input(6);
    std::string stem = n.name.empty() ? y->name : n.name;
    auto stage = [&](const std::string& what, DType d) {
      std::string name = fresh_name(y->name + "_" + what);
      intermediates_.push_back({name, ir::TensorType{d, std::nullopt}});
      return name;
    };
    auto node = [&](const char* op, const std::string& suffix, std::vector<std::string> ins, const std::string& out) {
      onnx::NodeProto& p = add_node(op, n.name.empty() ? "" : n.name + suffix, "");
      for (const std::string& i : ins) p.add_input(i);
      p.add_output(out);
      return &p;
    };
    if (!n.inputs[1]->constant || !n.inputs[4]->constant) node_error(n, "x_scale and w_scales must be constants");
    std::string x = stage("x_dequantized", DType::float32);
    node("DequantizeLinear", "_x_dq", {input_name(n.inputs[0]), input_name(n.inputs[1]), input_name(n.inputs[2])}, x);
    std::string w = stage("w_dequantized", DType::float32);
    onnx::NodeProto* wdq = node("DequantizeLinear", "_w_dq", {input_name(n.inputs[3]), input_name(n.inputs[4])}, w);
    write_attribute(n, "axis", ir::Attribute::of_int(trans_b ? 0 : 1), *wdq->add_attribute());
    std::string act = activation_of(n);
    bool more = n.has_input(5) || act != "none" || quantized_out;
    std::string product = more ? stage("product", DType::float32) : y->name;
    onnx::NodeProto* mm = node(trans_b ? "Gemm" : "MatMul", "", {x, w}, product);
    if (trans_b) write_attribute(n, "transB", ir::Attribute::of_int(1), *mm->add_attribute());
    std::string result = product;
    if (n.has_input(5)) {
      // The bias is int32 in the scale x_scale * w_scales[j].
      const Tensor& ws = *n.inputs[4]->constant;
      float xs = n.inputs[1]->constant->values<float>()[0];
      auto bs = std::make_shared<Tensor>(DType::float32, ws.shape());
      for (std::size_t j = 0; j < ws.elements(); ++j) bs->values<float>()[j] = xs * ws.values<float>()[j];
      std::string bias_scale = fresh_name(stem + "_bias_scale");
      initializers_.push_back({bias_scale, bs});
      std::string b = stage("bias_dequantized", DType::float32);
      onnx::NodeProto* bdq = node("DequantizeLinear", "_bias_dq", {input_name(n.inputs[5]), bias_scale}, b);
      write_attribute(n, "axis", ir::Attribute::of_int(0), *bdq->add_attribute());
      bool last = act == "none" && !quantized_out;
      result = last ? y->name : stage("biased", DType::float32);
      node("Add", "_bias", {product, b}, result);
    }
    if (act != "none") {
      if (act != "relu") node_error(n, "activation '{}' has no QDQ form here", act);
      std::string relu_out = quantized_out ? stage("relu", DType::float32) : y->name;
      node("Relu", "_relu", {result}, relu_out);
      result = relu_out;
    }
    if (quantized_out)
      node("QuantizeLinear", "_q", {result, input_name(n.inputs[6]), input_name(n.inputs[7])}, y->name);
  }

  // lowp::DynamicQGemm (passes/lower_dynamic_quant.cc) as the pattern it came from:
  // DynamicQuantizeLinear(X), MatMulInteger(x_q, W, x_zp), Cast to float, Mul by
  // x_scale * w_scales, [Add bias]: the same numbers, op by op.
  void write_dynamic_qgemm(const ir::Node& n) {
    if (!n.attributes.empty()) node_error(n, "DynamicQGemm takes no attributes");
    if (!n.has_input(1) || !n.has_input(2)) node_error(n, "inputs W and w_scales are missing");
    const ir::Value* y = n.outputs[0];
    auto stage = [&](const std::string& what, DType d) {
      std::string name = fresh_name(y->name + "_" + what);
      intermediates_.push_back({name, ir::TensorType{d, std::nullopt}});
      return name;
    };
    auto node = [&](const char* op, const std::string& suffix, std::vector<std::string> ins, std::vector<std::string> outs) {
      onnx::NodeProto& p = add_node(op, n.name.empty() ? "" : n.name + suffix, "");
      for (const std::string& i : ins) p.add_input(i);
      for (const std::string& o : outs) p.add_output(o);
      return &p;
    };
    std::string xq = stage("x_quantized", DType::uint8), xs = stage("x_scale", DType::float32),
                xz = stage("x_zero_point", DType::uint8);
    node("DynamicQuantizeLinear", "_quantize", {input_name(n.inputs[0])}, {xq, xs, xz});
    std::string acc = stage("acc", DType::int32);
    node("MatMulInteger", "", {xq, input_name(n.inputs[1]), xz}, {acc});
    std::string accf = stage("acc_float", DType::float32);
    onnx::NodeProto* cast = node("Cast", "_cast", {acc}, {accf});
    write_attribute(n, "to", ir::Attribute::of_int(1), *cast->add_attribute());
    std::string scale = stage("scale", DType::float32);
    node("Mul", "_scale", {xs, input_name(n.inputs[2])}, {scale});
    bool bias = n.has_input(3);
    std::string scaled = bias ? stage("scaled", DType::float32) : y->name;
    node("Mul", "_dequantize", {accf, scale}, {scaled});
    if (bias) node("Add", "_bias", {scaled, input_name(n.inputs[3])}, {y->name});
  }

  void write_attention(const ir::Node& n) {
    for (const auto& [key, a] : n.attributes) {
      if (key != "scale") node_error(n, "attribute '{}' is not part of Attention", key);
    }
    if (!n.has_input(1) || !n.has_input(2)) node_error(n, "inputs KT and V are missing");
    const ir::Value* y = n.outputs[0];
    ir::TensorType scores_type{DType::float32, std::nullopt};
    std::string stem = n.name.empty() ? "" : n.name;
    auto stage = [&](const char* what) {
      std::string name = fresh_name(y->name + "_" + what);
      intermediates_.push_back({name, scores_type});
      return name;
    };
    auto node = [&](const char* op, const char* suffix, std::vector<std::string> ins, const std::string& out) {
      onnx::NodeProto& p = add_node(op, stem.empty() ? "" : stem + suffix, "");
      for (const std::string& i : ins) p.add_input(i);
      p.add_output(out);
      return &p;
    };
    std::string scores = stage("scores");
    node("MatMul", "_qk", {input_name(n.inputs[0]), input_name(n.inputs[1])}, scores);
    std::string scale = fresh_name(y->name + "_scale");
    initializers_.push_back({scale, float_scalar(DType::float32, n.attr_float("scale", 1.0f), n)});
    std::string scaled = stage("scaled");
    node("Mul", "_scale", {scores, scale}, scaled);
    std::string logits = scaled;
    if (n.has_input(3)) {
      logits = stage("masked");
      node("Add", "_mask", {scaled, input_name(n.inputs[3])}, logits);
    }
    std::string probs = stage("probs");
    onnx::NodeProto* sm = node("Softmax", "_softmax", {logits}, probs);
    write_attribute(n, "axis", ir::Attribute::of_int(-1), *sm->add_attribute());
    node("MatMul", "", {probs, input_name(n.inputs[2])}, y->name);
  }

  // The activation node(s) of a fused node, reading `x` and writing `y`.
  void write_activation(const ir::Node& n, const std::string& x, const std::string& y,
                        const ir::TensorType& type) {
    std::string kind = activation_of(n);
    std::string name = n.name.empty() ? "" : n.name + "_" + kind;
    auto unary = [&](const char* op) -> onnx::NodeProto& {
      onnx::NodeProto& p = add_node(op, name, "");
      p.add_input(x);
      p.add_output(y);
      return p;
    };
    if (kind == "relu") {
      unary("Relu");
    } else if (kind == "sigmoid") {
      unary("Sigmoid");
    } else if (kind == "tanh") {
      unary("Tanh");
    } else if (kind == "hardswish") {
      unary("HardSwish");
    } else if (kind == "gelu") {
      unary("Gelu");
    } else if (kind == "gelu_tanh") {
      onnx::NodeProto& p = unary("Gelu");
      write_attribute(n, "approximate", ir::Attribute::of_string("tanh"), *p.add_attribute());
    } else if (kind == "silu") {  // x * sigmoid(x)
      std::string s = fresh_name(y + "_sigmoid");
      intermediates_.push_back({s, type});
      onnx::NodeProto& sig = add_node("Sigmoid", name.empty() ? "" : name + "_sigmoid", "");
      sig.add_input(x);
      sig.add_output(s);
      onnx::NodeProto& mul = add_node("Mul", name, "");
      mul.add_input(x);
      mul.add_input(s);
      mul.add_output(y);
    } else if (kind == "clip") {
      if (!type.dtype) node_error(n, "output '{}' has no element type for Clip's bounds", y);
      onnx::NodeProto& p = unary("Clip");
      for (const char* key : {"activation_min", "activation_max"}) {
        if (!n.has_attribute(key)) {
          p.add_input("");
          continue;
        }
        std::string bound = fresh_name(y + "_" + std::string(key).substr(11));
        initializers_.push_back({bound, float_scalar(*type.dtype, n.attr_float(key, 0.0f), n)});
        p.add_input(bound);
      }
      while (p.input_size() > 1 && p.input(p.input_size() - 1).empty())
        p.mutable_input()->RemoveLast();
    } else {
      node_error(n,
                 "activation '{}' has no ONNX form here (known: none, relu, clip, sigmoid, tanh, "
                 "hardswish, gelu, gelu_tanh, silu)",
                 kind);
    }
  }

  static std::vector<std::int64_t> perm_of(const onnx::NodeProto& n) {
    for (const auto& a : n.attribute()) {
      if (a.name() == "perm") return {a.ints().begin(), a.ints().end()};
    }
    return {};
  }

  // A Transpose written here (around an NHWC op) that undoes the Transpose feeding it goes,
  // its readers reading the first one's input: between two NHWC ops, and where the layout
  // pass's own Transpose meets one of ours, nothing is left. Pairs in the graph itself stay
  // (import, export and import again gives the same graph). A Transpose left unread by
  // this goes too.
  void cancel_transpose_pairs() {
    if (added_transposes_.empty()) return;
    onnx::GraphProto& g = *model_.mutable_graph();
    const int count = g.node_size();
    std::unordered_map<std::string, int> producer;
    for (int i = 0; i < count; ++i) {
      for (const std::string& o : g.node(i).output()) producer[o] = i;
    }
    std::unordered_set<std::string> outputs;
    for (const auto& o : g.output()) outputs.insert(o.name());
    auto is_transpose = [](const onnx::NodeProto& n) {
      return n.op_type() == "Transpose" && n.domain().empty() && n.input_size() == 1 &&
             n.output_size() == 1;
    };
    std::unordered_map<std::string, std::string> rename;
    std::vector<bool> dead(static_cast<std::size_t>(count), false);
    std::unordered_set<int> emptied;  // producers whose pair was cancelled
    for (int i = 0; i < count; ++i) {
      onnx::NodeProto& n = *g.mutable_node(i);
      for (std::string& in : *n.mutable_input()) {
        if (auto r = rename.find(in); r != rename.end()) in = r->second;
      }
      if (!is_transpose(n) || outputs.contains(n.output(0))) continue;
      auto it = producer.find(n.input(0));
      if (it == producer.end() || !is_transpose(g.node(it->second))) continue;
      const onnx::NodeProto& first = g.node(it->second);
      if (!added_transposes_.contains(n.output(0)) && !added_transposes_.contains(first.output(0)))
        continue;
      std::vector<std::int64_t> p1 = perm_of(first), p2 = perm_of(n);
      bool inverse = !p1.empty() && p1.size() == p2.size();
      for (std::size_t j = 0; inverse && j < p2.size(); ++j) {
        inverse = p2[j] >= 0 && static_cast<std::size_t>(p2[j]) < p1.size() &&
                  p1[static_cast<std::size_t>(p2[j])] == static_cast<std::int64_t>(j);
      }
      if (!inverse) continue;
      rename[n.output(0)] = first.input(0);
      dead[static_cast<std::size_t>(i)] = true;
      emptied.insert(it->second);
    }
    std::unordered_map<std::string, int> readers;
    for (int i = 0; i < count; ++i) {
      if (dead[static_cast<std::size_t>(i)]) continue;
      for (const std::string& in : g.node(i).input()) ++readers[in];
    }
    for (int i : emptied) {
      const std::string& out = g.node(i).output(0);
      if (!readers.contains(out) && !outputs.contains(out))
        dead[static_cast<std::size_t>(i)] = true;
    }
    google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
    for (int i = 0; i < count; ++i) {
      if (!dead[static_cast<std::size_t>(i)]) {
        *kept.Add() = std::move(*g.mutable_node(i));
      } else {
        removed_values_.insert(g.node(i).output(0));
      }
    }
    g.mutable_node()->Swap(&kept);
  }

  // Types of every intermediate value that has any, so a reader need not infer them.
  void write_value_info() {
    onnx::GraphProto& g = *model_.mutable_graph();
    std::unordered_set<const ir::Value*> listed(graph_.inputs.begin(), graph_.inputs.end());
    listed.insert(graph_.outputs.begin(), graph_.outputs.end());
    for (const auto& node : graph_.nodes()) {
      for (const ir::Value* v : node->outputs) {
        if (!v || v->is_constant() || !has_type_info(v->type) || !listed.insert(v).second ||
            removed_values_.contains(v->name)) {
          continue;
        }
        auto* info = g.add_value_info();
        info->set_name(v->name);
        write_type(v->type, *info);
      }
    }
    for (const auto& [name, type] : intermediates_) {
      if (!has_type_info(type) || removed_values_.contains(name)) continue;
      auto* info = g.add_value_info();
      info->set_name(name);
      write_type(type, *info);
    }
  }

  void write_opsets() {
    auto* onnx_opset = model_.add_opset_import();
    onnx_opset->set_domain("");
    onnx_opset->set_version(ir::kIrOpset);
    for (const std::string& domain : domains_used_) {
      int version = 1;
      for (const auto& [name, v] : kDomainDefaults) {
        if (name == domain) version = v;
      }
      auto it = graph_.opsets.find(domain);
      if (it != graph_.opsets.end()) version = it->second;
      auto* o = model_.add_opset_import();
      o->set_domain(domain);
      o->set_version(version);
    }
  }

  void write_initializers() {
    onnx::GraphProto& g = *model_.mutable_graph();
    std::string data_name = external_data_path(out_).filename().string();
    for (const auto& [name, tensor] : initializers_) {
      onnx::TensorProto& p = *g.add_initializer();
      bool external = options_.external_threshold_bytes > 0 && tensor->bytes() > 0 &&
                      tensor->bytes() >= options_.external_threshold_bytes;
      if (!external) {
        tensor_to_proto(*tensor, p);
        p.set_name(name);
        continue;
      }
      p.set_name(name);
      p.set_data_type(static_cast<int>(tensor->dtype()));
      for (std::int64_t d : tensor->shape().dims()) p.add_dims(d);
      p.set_data_location(onnx::TensorProto_DataLocation_EXTERNAL);
      std::size_t offset = (data_bytes_ + kExternalDataAlignment - 1) / kExternalDataAlignment *
                           kExternalDataAlignment;
      auto entry = [&p](const std::string& key, const std::string& value) {
        auto* kv = p.add_external_data();
        kv->set_key(key);
        kv->set_value(value);
      };
      entry("location", data_name);
      entry("offset", std::to_string(offset));
      entry("length", std::to_string(tensor->bytes()));
      external_.push_back({offset, tensor.get()});
      data_bytes_ = offset + tensor->bytes();
    }
  }

  void write_files() {
    std::size_t size = model_.ByteSizeLong();
    LOWP_CHECK(size < static_cast<std::size_t>(std::numeric_limits<int>::max()),
               "{}: the model would be {} bytes; protobuf caps a model at 2 GiB (export with "
               "external data)",
               out_.string(), size);
    std::string bytes;
    LOWP_CHECK(model_.SerializeToString(&bytes), "{}: protobuf could not serialize the model",
               out_.string());
    // The data first: a model file never names data that is not in place.
    if (!external_.empty()) {
      write_file_atomically(external_data_path(out_), [this](const ByteSink& sink) {
        static constexpr std::array<std::byte, kExternalDataAlignment> kZeros{};
        std::size_t at = 0;
        for (const auto& [offset, tensor] : external_) {
          sink(std::span<const std::byte>(kZeros.data(), offset - at));
          sink(std::span<const std::byte>(tensor->raw(), tensor->bytes()));
          at = offset + tensor->bytes();
        }
      });
    }
    write_file_atomically(out_, std::as_bytes(std::span<const char>(bytes.data(), bytes.size())));
  }

  const ir::Graph& graph_;
  fs::path out_;
  ExportOptions options_;
  onnx::ModelProto model_;
  std::set<std::string> new_names_;
  std::set<std::string> graph_node_names_, node_names_written_;
  std::unordered_set<std::string> added_transposes_;  // outputs of the Transposes written here
  std::unordered_set<std::string>
      removed_values_;  // outputs of nodes cancel_transpose_pairs removed
  std::unordered_set<const ir::Value*> constants_seen_;
  std::vector<std::pair<std::string, std::shared_ptr<const Tensor>>> initializers_;
  std::vector<std::pair<std::string, ir::TensorType>> intermediates_;
  std::set<std::string> domains_used_;
  std::vector<std::pair<std::size_t, const Tensor*>> external_;  // offset, tensor
  std::size_t data_bytes_ = 0;
};

}  // namespace

fs::path external_data_path(const fs::path& model) {
  fs::path data = model;
  data += ".data";
  return data;
}

ExportSummary export_model(const ir::Graph& graph, const fs::path& out,
                           const ExportOptions& options) {
  return Exporter(graph, out, options).run();
}

}  // namespace lowp::onnx_io
