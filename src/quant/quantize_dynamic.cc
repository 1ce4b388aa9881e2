// quant/quantize_dynamic.cc
#include "quant/quantize_dynamic.h"

#include <cstring>
#include <map>

#include "base/error.h"
#include "ir/schema.h"
#include "quant/dense_layer.h"
#include "quant/weight_quant.h"

namespace lowp::quant {
namespace {

std::shared_ptr<Tensor> f32_tensor(const std::vector<float>& v, bool scalar) {
  auto t = std::make_shared<Tensor>(DType::float32, scalar ? Shape{} : Shape{static_cast<std::int64_t>(v.size())});
  std::memcpy(t->raw(), v.data(), t->bytes());
  return t;
}

// The outputs of one DynamicQuantizeLinear of X, shared by the layers that read X.
struct QuantizedInput {
  ir::Value* q = nullptr;
  ir::Value* scale = nullptr;
  ir::Value* zero_point = nullptr;
};

}  // namespace

std::unique_ptr<ir::Graph> quantize_int8_dynamic(const ir::Graph& model, const DynamicOptions& options,
                                                 QuantizeReport& report) {
  auto g = model.clone();
  std::vector<ir::Node*> layers;
  for (const auto& n : g->nodes()) {
    if (!n->domain.empty() || (n->op_type != "Gemm" && n->op_type != "MatMul")) continue;
    NodeDecision d{n->name, n->op_type, "fp32", ""};
    if (!options.op_types.contains(n->op_type)) d.reason = "op type not selected (--op-types)";
    else if (options.exclude.contains(n->name)) d.reason = "excluded (--exclude)";
    else d.reason = dense_layer_problem(*n);
    if (d.reason.empty()) {
      DenseShape s = dense_shape(*n);
      d.precision = "int8";
      d.reason = options.per_channel ? fmt::format("dynamic; weights per channel ({} scales)", s.n)
                                     : "dynamic; weights per tensor";
      layers.push_back(n.get());
    }
    report.nodes.push_back(d);
  }
  if (layers.empty()) {
    report.warnings.push_back("no MatMul or Gemm could be quantized: the model is unchanged");
    return g;
  }

  std::map<const ir::Value*, QuantizedInput> quantized;
  for (ir::Node* n : layers) {
    DenseShape s = dense_shape(*n);
    ir::Value* x = n->inputs[0];
    auto [it, fresh] = quantized.try_emplace(x);
    if (fresh) {
      it->second.q = g->add_value(g->unique_name(x->name + "_quantized"));
      it->second.scale = g->add_value(g->unique_name(x->name + "_scale"));
      it->second.zero_point = g->add_value(g->unique_name(x->name + "_zero_point"));
      g->add_node("DynamicQuantizeLinear", {x}, {it->second.q, it->second.scale, it->second.zero_point},
                  g->unique_name(x->name + "_DynamicQuantizeLinear"));
      ++report.quantized_tensors;
    }
    const QuantizedInput& xq = it->second;

    // Weights: s8 [K, N] (MatMulInteger's B), scales and zero points per column.
    std::vector<float> rows = dense_weight_rows(*n);
    auto nn = static_cast<int>(s.n), k = static_cast<int>(s.k);
    QuantizedWeights qw = options.per_channel ? quantize_per_channel_s8(rows.data(), nn, k)
                                              : quantize_per_channel_s8(rows.data(), 1, nn * k);
    auto wq = std::make_shared<Tensor>(DType::int8, Shape{s.k, s.n});
    auto wv = wq->values<std::int8_t>();
    for (std::size_t j = 0; j < static_cast<std::size_t>(nn); ++j)
      for (std::size_t kk = 0; kk < static_cast<std::size_t>(k); ++kk)
        wv[kk * static_cast<std::size_t>(nn) + j] = qw.q[j * static_cast<std::size_t>(k) + kk];
    auto zeros = std::make_shared<Tensor>(DType::int8, options.per_channel ? Shape{s.n} : Shape{});
    std::string stem = n->inputs[1]->name;
    std::string node_stem = n->name.empty() ? n->outputs[0]->name : n->name;
    ir::Value* w = g->add_constant(g->unique_name(stem + "_quantized"), wq);
    ir::Value* ws = g->add_constant(g->unique_name(stem + "_scale"), f32_tensor(qw.scales, !options.per_channel));
    ir::Value* wz = g->add_constant(g->unique_name(stem + "_zero_point"), zeros);

    ir::Value* scale = g->add_value(g->unique_name(node_stem + "_quant_scales"));
    ir::Value* acc = g->add_value(g->unique_name(n->outputs[0]->name + "_output_quantized"));
    ir::Value* acc_f = g->add_value(g->unique_name(n->outputs[0]->name + "_output_quantized_cast"));
    g->add_node("Mul", {xq.scale, ws}, {scale}, g->unique_name(node_stem + "_quant_scales_mul"));
    g->add_node("MatMulInteger", {xq.q, w, xq.zero_point, wz}, {acc}, g->unique_name(node_stem + "_MatMulInteger"));
    ir::Node* cast = g->add_node("Cast", {acc}, {acc_f}, g->unique_name(node_stem + "_cast"));
    cast->attributes["to"] = ir::Attribute::of_int(1);  // FLOAT

    // The layer's node itself becomes the last step, so its output keeps its name and readers.
    ir::Value* bias = n->op_type == "Gemm" && n->has_input(2) ? n->inputs[2] : nullptr;
    n->attributes.clear();
    if (bias) {
      ir::Value* y = g->add_value(g->unique_name(n->outputs[0]->name + "_unbiased"));
      g->add_node("Mul", {acc_f, scale}, {y}, g->unique_name(node_stem + "_output_scale"));
      n->op_type = "Add";
      n->inputs = {y, bias};
    } else {
      n->op_type = "Mul";
      n->inputs = {acc_f, scale};
    }
  }
  g->sort_topologically();
  ir::infer_types(*g);
  return g;
}

}  // namespace lowp::quant
