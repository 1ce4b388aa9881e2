// quant/quantize_int4.cc
#include "quant/quantize_int4.h"

#include <cstring>
#include <limits>

#include "base/error.h"
#include "ir/schema.h"
#include "quant/dense_layer.h"

namespace lowp::quant {
namespace {

template <class T>
std::shared_ptr<Tensor> tensor_of(DType dtype, Shape shape, const std::vector<T>& v) {
  auto t = std::make_shared<Tensor>(dtype, std::move(shape));
  LOWP_CHECK(t->bytes() == v.size() * sizeof(T), "internal: {} bytes for {} values", t->bytes(), v.size());
  if (!v.empty()) std::memcpy(t->raw(), v.data(), t->bytes());
  return t;
}

// Gemm's bias C when it is N values ([N] or [1, N]); null when absent. Sets `problem` when
// C has another shape.
ir::Value* gemm_bias(const ir::Node& n, std::int64_t channels, std::string& problem) {
  if (n.op_type != "Gemm" || !n.has_input(2)) return nullptr;
  const Shape& s = n.inputs[2]->constant->shape();
  bool fits = (s.rank() == 1 && s[0] == channels) || (s.rank() == 2 && s[0] == 1 && s[1] == channels);
  if (!fits) problem = fmt::format("bias of shape {} is not [N]", s.str());
  return n.inputs[2];
}

// The layer's inputs over the calibration set, summed as x x^T.
std::vector<double> layer_hessian(const ir::Graph& working, const ir::Node& layer, CalibrationSet& data,
                                  const ModelBackend& backend, std::size_t k) {
  auto graph = working.clone();
  ir::Value* x = graph->find_value(layer.inputs[0]->name);
  LOWP_CHECK(x != nullptr, "internal: no tensor '{}'", layer.inputs[0]->name);
  graph->outputs = {x};
  BatchRunner run = backend.make_runner(std::move(graph));
  HessianAccumulator acc(k);
  for (std::size_t b = 0; b < data.batches(); ++b) {
    Tensor batch = data.batch(b);
    if (batch.shape()[0] == 0) continue;
    std::vector<Tensor> values = run(data.input_name(), batch);
    const Tensor& v = values.at(0);
    LOWP_CHECK(v.dtype() == DType::float32 && v.elements() % k == 0,
               "node '{}': its input '{}' is not float32 rows of {} values during calibration", node_label(layer),
               layer.inputs[0]->name, k);
    acc.add(v.values<float>().data(), v.elements() / k);
  }
  LOWP_CHECK(acc.rows() > 0, "node '{}': no finite calibration rows reached its input '{}' ({} skipped)",
             node_label(layer), layer.inputs[0]->name, acc.skipped());
  return acc.hessian();
}

}  // namespace

std::unique_ptr<ir::Graph> quantize_int4(const ir::Graph& model, const Int4Options& options, QuantizeReport& report,
                                         CalibrationSet* data, const ModelBackend* backend,
                                         const std::function<void(std::size_t, std::size_t)>& progress) {
  if (options.group != 32 && options.group != 64 && options.group != 128)
    throw Error(fmt::format("int4: group {} is not 32, 64 or 128", options.group));
  if (options.accuracy_level != 0 && options.accuracy_level != 4)
    throw Error(fmt::format("int4: accuracy level {} is not 0 (fp32 activations) or 4 (int8 activations)",
                            options.accuracy_level));
  const bool gptq = options.algorithm == Int4Algorithm::gptq;
  if (gptq && (!data || !backend)) throw Error("int4 with GPTQ needs calibration data (--calib)");
  if (gptq && (options.gptq.block < options.group || options.gptq.block % options.group != 0))
    throw Error(fmt::format("int4: the GPTQ block {} must be a multiple of the group {}", options.gptq.block,
                            options.group));

  auto g = model.clone();
  // The float graph the GPTQ Hessians are measured on: layers quantized so far carry their
  // dequantized weights, so each layer sees the error of the ones before it.
  std::unique_ptr<ir::Graph> working = gptq ? model.clone() : nullptr;

  struct Layer {
    ir::Node* node;
    ir::Value* bias;
    std::size_t decision;
  };
  std::vector<Layer> layers;
  for (const auto& n : g->nodes()) {
    if (!n->domain.empty() || (n->op_type != "Gemm" && n->op_type != "MatMul")) continue;
    NodeDecision d{n->name, n->op_type, "fp32", ""};
    ir::Value* bias = nullptr;
    if (!options.op_types.contains(n->op_type)) d.reason = "op type not selected (--op-types)";
    else if (options.exclude.contains(n->name)) d.reason = "excluded (--exclude)";
    else d.reason = dense_layer_problem(*n);
    if (d.reason.empty()) bias = gemm_bias(*n, dense_shape(*n).n, d.reason);
    if (d.reason.empty()) {
      DenseShape s = dense_shape(*n);
      if (s.k > std::numeric_limits<int>::max() || s.n > std::numeric_limits<int>::max())
        d.reason = "weights too large";
    }
    if (d.reason.empty()) {
      d.precision = "int4";
      layers.push_back({n.get(), bias, report.nodes.size()});
    }
    report.nodes.push_back(d);
  }
  if (layers.empty()) {
    report.warnings.push_back("no MatMul or Gemm could be quantized: the model is unchanged");
    return g;
  }

  std::string last_input;
  std::vector<double> hessian;
  auto uses = g->uses();
  std::vector<ir::Node*> absorbed;
  for (std::size_t li = 0; li < layers.size(); ++li) {
    ir::Node* n = layers[li].node;
    if (progress) progress(li, layers.size());
    DenseShape s = dense_shape(*n);
    const int nn = static_cast<int>(s.n), k = static_cast<int>(s.k);
    std::vector<float> rows = dense_weight_rows(*n);
    Int4Weights q;
    NodeDecision& d = report.nodes[layers[li].decision];
    std::string scheme = fmt::format("group {}, {}", options.group, options.zero_point ? "zero points" : "symmetric");
    if (gptq) {
      // Layers reading the same tensor (Q, K, V) share one Hessian: quantizing one of them
      // does not change what the others read.
      if (n->inputs[0]->name != last_input) {
        hessian = layer_hessian(*working, *n, *data, *backend, static_cast<std::size_t>(k));
        last_input = n->inputs[0]->name;
      }
      try {
        q = gptq_int4(rows.data(), nn, k, hessian, options.group, options.zero_point, options.gptq);
      } catch (const Error& e) {
        throw Error(fmt::format("node '{}': {}", node_label(*n), e.what()));
      }
      Int4Weights rtn = quantize_int4_rtn(rows.data(), nn, k, options.group, options.zero_point);
      d.reason = fmt::format("gptq, {}; layer output error {:.3g} (round-to-nearest {:.3g})", scheme,
                             relative_output_error(rows.data(), q, hessian),
                             relative_output_error(rows.data(), rtn, hessian));
      // The working graph's copy of the layer takes the dequantized weights.
      ir::Node* twin = nullptr;
      for (const auto& wn : working->nodes()) {
        if (wn->outputs[0] && wn->outputs[0]->name == n->outputs[0]->name) twin = wn.get();
      }
      LOWP_CHECK(twin != nullptr, "internal: no twin of node '{}'", node_label(*n));
      auto dq = std::make_shared<Tensor>(DType::float32, n->inputs[1]->constant->shape());
      auto dv = dq->values<float>();
      for (int r = 0; r < nn; ++r) {
        for (int c = 0; c < k; ++c) {
          float v = q.dequantized(r, c);
          std::size_t at = s.trans_b ? static_cast<std::size_t>(r) * static_cast<std::size_t>(k) + static_cast<std::size_t>(c)
                                     : static_cast<std::size_t>(c) * static_cast<std::size_t>(nn) + static_cast<std::size_t>(r);
          dv[at] = v;
        }
      }
      twin->inputs[1] = working->add_constant(working->unique_name(n->inputs[1]->name + "_int4"), dq);
    } else {
      q = quantize_int4_rtn(rows.data(), nn, k, options.group, options.zero_point);
      d.reason = "rtn, " + scheme;
    }

    const auto groups = static_cast<std::int64_t>(q.groups());
    std::string stem = n->inputs[1]->name;
    ir::Value* b = g->add_constant(g->unique_name(stem + "_int4"),
                                   tensor_of(DType::uint8, Shape{s.n, groups, options.group / 2}, q.packed_b()));
    ir::Value* sc = g->add_constant(g->unique_name(stem + "_scales"),
                                    tensor_of(DType::float32, Shape{s.n * groups}, q.scales()));
    ir::Value* zp = nullptr;
    if (options.zero_point)
      zp = g->add_constant(g->unique_name(stem + "_zero_points"),
                           tensor_of(DType::uint8, Shape{s.n * ((groups + 1) / 2)}, q.packed_zero_points()));
    // A MatMul's bias Add (a constant of N values) becomes MatMulNBits' bias input.
    if (!layers[li].bias && n->op_type == "MatMul" && !g->is_graph_output(n->outputs[0])) {
      auto it = uses.find(n->outputs[0]);
      ir::Node* add = it != uses.end() && it->second.size() == 1 ? it->second[0].node : nullptr;
      if (add && add->domain.empty() && add->op_type == "Add" && add->inputs.size() == 2) {
        ir::Value* other = add->inputs[0] == n->outputs[0] ? add->inputs[1] : add->inputs[0];
        const Tensor* t = other && other->constant ? other->constant.get() : nullptr;
        if (t && t->dtype() == DType::float32 && t->shape().rank() == 1 && t->shape()[0] == s.n) {
          layers[li].bias = other;
          ir::Value* out = add->outputs[0];
          n->outputs[0]->producer = nullptr;
          add->outputs[0] = nullptr;
          n->outputs[0] = out;
          out->producer = n;
          absorbed.push_back(add);
          d.reason += "; bias Add absorbed";
        }
      }
    }
    ir::Value* bias = nullptr;
    if (layers[li].bias) {
      auto bv = layers[li].bias->constant->values<float>();
      bias = g->add_constant(g->unique_name(layers[li].bias->name + "_n"),
                             tensor_of(DType::float32, Shape{s.n}, std::vector<float>(bv.begin(), bv.end())));
    }
    n->inputs = {n->inputs[0], b, sc, zp, nullptr, bias};
    while (!n->inputs.empty() && !n->inputs.back()) n->inputs.pop_back();
    n->attributes.clear();
    n->attributes["K"] = ir::Attribute::of_int(s.k);
    n->attributes["N"] = ir::Attribute::of_int(s.n);
    n->attributes["bits"] = ir::Attribute::of_int(4);
    n->attributes["block_size"] = ir::Attribute::of_int(options.group);
    n->attributes["accuracy_level"] = ir::Attribute::of_int(options.accuracy_level);
    n->op_type = "MatMulNBits";
    n->domain = "com.microsoft";
  }
  if (progress) progress(layers.size(), layers.size());
  g->remove_nodes(absorbed);
  g->sort_topologically();
  g->remove_unused_values();
  ir::infer_types(*g);
  return g;
}

}  // namespace lowp::quant
