// quant/convert_float.cc
#include "quant/convert_float.h"

#include <cmath>
#include <map>

#include "base/error.h"
#include "kernels/convert/convert.h"
#include "ir/schema.h"
#include "quant/calibrate.h"

namespace lowp::quant {
namespace {

constexpr std::int64_t kOnnxFloat = 1, kOnnxFloat16 = 10;

bool is_f32(const ir::Value* v) {
  return v && v->type.dtype == DType::float32;
}

std::shared_ptr<Tensor> to_16bit(const Tensor& t, DType d) {
  auto out = std::make_shared<Tensor>(d, t.shape());
  // The conversion kernels: round to nearest even, NaN kept, tested on every fp32 pattern.
  if (d == DType::float16) convert_f32_to_f16(t.values<float>().data(), out->values<std::uint16_t>().data(), t.elements());
  else convert_f32_to_bf16(t.values<float>().data(), out->values<std::uint16_t>().data(), t.elements());
  return out;
}

float abs_max(const Tensor& t) {
  float m = 0;
  for (float v : t.values<float>()) m = std::max(m, std::fabs(v));
  return m;
}

// Inputs that must stay float32 whatever the node computes in (ONNX types them apart).
bool keeps_fp32(const ir::Node& n, std::size_t i) {
  return (n.op_type == "Resize" && i == 2) || (n.op_type == "Upsample" && i == 1);
}

// Does the node compute on floats at all (any float32 input or output)?
bool touches_float(const ir::Node& n) {
  for (const ir::Value* v : n.inputs)
    if (is_f32(v)) return true;
  for (const ir::Value* v : n.outputs)
    if (is_f32(v)) return true;
  return false;
}

}  // namespace

std::unique_ptr<ir::Graph> convert_to_fp16(const ir::Graph& model, CalibrationSet* data,
                                           const ModelBackend& backend, const FloatOptions& options,
                                           QuantizeReport& report) {
  auto g = model.clone();
  // 1. Overflow analysis over the activations, when data is given.
  std::map<std::string, float> peak;
  if (data) {
    std::vector<std::string> names;
    for (const auto& n : g->nodes()) {
      for (const ir::Value* v : n->outputs)
        if (is_f32(v) && !v->constant) names.push_back(v->name);
    }
    CalibrationOptions o;
    o.method = RangeMethod::minmax;
    auto stats = calibrate(*g, names, *data, backend, o);
    for (const auto& [name, s] : stats) {
      peak[name] = std::max(std::fabs(s.min), std::fabs(s.max));
      if (s.non_finite)
        report.warnings.push_back(fmt::format("tensor '{}': {} NaN or Inf values in the fp32 model on the calibration data",
                                              name, s.non_finite));
    }
    report.calibration_rows = data->rows();
    report.dropped_rows = data->non_finite_rows();
  } else {
    report.warnings.push_back("no calibration data: activations were not checked for fp16 overflow (give --calib)");
  }

  // 2. Which nodes compute in fp16.
  std::map<const ir::Node*, bool> half;
  for (const auto& n : g->nodes()) {
    if (!touches_float(*n)) continue;
    NodeDecision d{n->name, n->op_type, "fp16", ""};
    if (options.exclude.contains(n->name)) {
      d.precision = "fp32";
      d.reason = "excluded (--exclude)";
    }
    for (const ir::Value* v : n->outputs) {
      auto it = v ? peak.find(v->name) : peak.end();
      if (d.reason.empty() && it != peak.end() && it->second > kFp16OverflowLimit) {
        d.precision = "fp32";
        d.reason = fmt::format("output '{}' reaches {:.4g} on calibration data (fp16 limit 65504, margin 2x)", v->name, it->second);
      }
    }
    for (const ir::Value* v : n->inputs) {
      if (d.reason.empty() && is_f32(v) && v->constant && abs_max(*v->constant) > 65504.0f) {
        d.precision = "fp32";
        d.reason = fmt::format("constant '{}' holds values beyond fp16's 65504", v->name);
      }
    }
    if (n->op_type == "Cast" || n->op_type == "Shape" || n->op_type == "Size") d.precision = "fp16";
    half[n.get()] = d.precision == "fp16";
    // Data movement and shape ops are not worth a line each.
    static const std::set<std::string> kQuiet = {"Cast", "Shape", "Size", "Reshape", "Flatten", "Squeeze", "Unsqueeze",
                                                  "Transpose", "Concat", "Gather", "Slice", "Identity"};
    if (!kQuiet.contains(n->op_type) || d.precision == "fp32") report.nodes.push_back(d);
  }

  // 3. Rewrite: fp16 nodes write fp16 values; a Cast joins each region boundary once.
  std::map<const ir::Value*, ir::Value*> as_half, as_float, half_constant;
  auto uses = g->uses();
  std::vector<ir::Node*> order;
  for (const auto& n : g->nodes()) order.push_back(n.get());
  // Outputs of fp16 nodes: a new fp16 value; the old (float) name is kept for fp32
  // readers and graph outputs through a Cast back.
  for (ir::Node* n : order) {
    if (!half[n]) continue;
    for (ir::Value*& out : n->outputs) {
      if (!is_f32(out)) continue;
      ir::Value* h = g->add_value(g->unique_name(out->name + "_fp16"));
      h->producer = n;
      ir::Value* old = out;
      out = h;
      old->producer = nullptr;
      as_half[old] = h;
      bool float_reader = g->is_graph_output(old);
      for (const ir::Use& u : uses[old]) float_reader = float_reader || !half[u.node] || keeps_fp32(*u.node, u.input);
      if (float_reader) {
        ir::Node* c = g->add_node("Cast", {h}, {old}, g->unique_name(old->name + "_to_fp32"));
        c->attributes["to"] = ir::Attribute::of_int(kOnnxFloat);
      }
    }
    if (n->op_type == "Cast" && n->attr_int("to", 0) == kOnnxFloat) n->attributes["to"] = ir::Attribute::of_int(kOnnxFloat16);
    if (n->op_type == "ConstantOfShape") {
      const ir::Attribute* value = n->find_attribute("value", ir::Attribute::Kind::kTensor);
      if (value && value->t && value->t->dtype() == DType::float32)
        n->attributes["value"] = ir::Attribute::of_tensor(to_16bit(*value->t, DType::float16));
    }
  }
  // Inputs of fp16 nodes.
  for (ir::Node* n : order) {
    if (!half[n]) continue;
    for (std::size_t i = 0; i < n->inputs.size(); ++i) {
      ir::Value* v = n->inputs[i];
      if (!is_f32(v) || keeps_fp32(*n, i)) continue;
      if (v->constant) {
        auto& h = half_constant[v];
        if (!h) h = g->add_constant(g->unique_name(v->name + "_fp16"), to_16bit(*v->constant, DType::float16));
        n->inputs[i] = h;
      } else if (as_half.contains(v)) {
        n->inputs[i] = as_half[v];
      } else {
        auto& h = as_float[v];  // a float value (graph input, fp32 node) cast once to fp16
        if (!h) {
          h = g->add_value(g->unique_name(v->name + "_fp16"));
          ir::Node* c = g->add_node("Cast", {v}, {h}, g->unique_name(v->name + "_to_fp16"));
          c->attributes["to"] = ir::Attribute::of_int(kOnnxFloat16);
        }
        n->inputs[i] = h;
      }
    }
  }
  g->sort_topologically();
  g->remove_unused_values();
  try {
    ir::infer_types(*g);
  } catch (const Error& e) {
    throw Error(fmt::format("the fp16 graph does not type-check ({}); keep the node named there in fp32 with --exclude",
                            e.what()));
  }
  return g;
}

std::unique_ptr<ir::Graph> convert_to_bf16(const ir::Graph& model, const FloatOptions& options, QuantizeReport& report) {
  auto g = model.clone();
  std::vector<ir::Node*> layers;
  for (const auto& n : g->nodes()) {
    if (!n->domain.empty() || (n->op_type != "Conv" && n->op_type != "Gemm" && n->op_type != "MatMul")) continue;
    NodeDecision d{n->name, n->op_type, "bf16", "weights bf16, activations rounded to bf16 by lowp's kernels"};
    const ir::Value* w = n->has_input(1) ? n->inputs[1] : nullptr;
    if (options.exclude.contains(n->name)) {
      d = {n->name, n->op_type, "fp32", "excluded (--exclude)"};
    } else if (!w || !w->constant || w->constant->dtype() != DType::float32) {
      d = {n->name, n->op_type, "fp32", "weights are not a float32 constant"};
    } else {
      for (float x : w->constant->values<float>()) {
        if (!std::isfinite(x)) throw Error(fmt::format("node '{}': weight '{}' holds NaN or Inf", n->label(), w->name));
      }
      layers.push_back(n.get());
    }
    report.nodes.push_back(d);
  }
  for (ir::Node* n : layers) {
    ir::Value* w = n->inputs[1];
    ir::Value* wb = g->add_constant(g->unique_name(w->name + "_bf16"), to_16bit(*w->constant, DType::bfloat16));
    ir::Value* wf = g->add_value(g->unique_name(w->name + "_bf16_to_float"));
    ir::Node* c = g->add_node("Cast", {wb}, {wf}, g->unique_name(w->name + "_bf16_Cast"));
    c->attributes["to"] = ir::Attribute::of_int(kOnnxFloat);
    n->inputs[1] = wf;
  }
  g->sort_topologically();
  g->remove_unused_values();
  ir::infer_types(*g);
  return g;
}

}  // namespace lowp::quant
