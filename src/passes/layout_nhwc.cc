// passes/layout_nhwc.cc
#include "passes/passes.h"
#include "passes/rewrite_util.h"

namespace lowp::passes {
namespace {

const std::vector<std::int64_t> kToNhwc = {0, 2, 3, 1};
const std::vector<std::int64_t> kToNchw = {0, 3, 1, 2};

bool is_float_rank4(const ir::Value* v) {
  return v && v->type.dtype == DType::float32 && v->type.dims && v->type.rank() == 4;
}

bool is_8bit_rank4(const ir::Value* v) {
  return v && (v->type.dtype == DType::uint8 || v->type.dtype == DType::int8) && v->type.dims &&
         v->type.rank() == 4;
}

bool is_constant_of(const ir::Value* v, DType d) {
  return v && v->constant && v->constant->dtype() == d;
}

// QLinearConv that the NHWC int8 kernel runs: every parameter constant, s8 weights with
// zero points 0 (see bind_qlinear_conv in runtime/ops/quant.cc).
bool nhwc_int8_conv(const ir::Node& n) {
  if (!is_8bit_rank4(n.inputs[0]) || !is_constant_of(n.inputs[3], DType::int8)) return false;
  if (n.inputs[3]->constant->shape().rank() != 4) return false;
  for (std::size_t i : {1, 2, 4, 5, 6, 7}) {
    if (!n.has_input(i) || !n.inputs[i]->constant) return false;
  }
  for (std::int8_t z : n.inputs[5]->constant->values<std::int8_t>()) {
    if (z != 0) return false;
  }
  return !n.has_input(8) || is_constant_of(n.inputs[8], DType::int32);
}

// The NHWC op name for a node, or empty when it stays.
std::string nhwc_op(const ir::Node& n) {
  if (n.outputs.size() != 1) return {};
  if (n.domain.empty() && n.op_type == "QLinearConv" && nhwc_int8_conv(n)) return "NhwcQLinearConv";
  if (n.domain.empty() && n.op_type == "MaxPool" && is_8bit_rank4(n.inputs[0]) &&
      n.attr_int("storage_order", 0) == 0 &&
      n.attr_ints("dilations").empty()) {
    return "NhwcMaxPool";
  }
  if (!is_float_rank4(n.inputs[0])) return {};
  if ((n.domain.empty() && n.op_type == "Conv") || (n.domain == "lowp" && n.op_type == "FusedConv")) {
    const ir::Value* wv = n.inputs[1];
    const Tensor* w = wv && wv->constant ? wv->constant.get() : nullptr;
    if (!w || w->shape().rank() != 4) return {};
    if (w->dtype() != DType::float32 && w->dtype() != DType::float16 && w->dtype() != DType::bfloat16) return {};
    if (n.has_input(2) && !float_constant(n.inputs[2])) return {};
    if (n.has_input(3) && !is_float_rank4(n.inputs[3])) return {};  // a residual (fuse_conv_add)
    return "NhwcConv";
  }
  if (!n.domain.empty()) return {};
  if (n.op_type == "MaxPool" || n.op_type == "AveragePool") {
    if (n.attr_int("storage_order", 0) != 0) return {};
    if (n.op_type == "AveragePool" && n.attr_int("count_include_pad", 0) != 0) return {};
    for (std::int64_t d : n.attr_ints("dilations")) {
      if (d != 1) return {};
    }
    return "Nhwc" + n.op_type;
  }
  if (n.op_type == "GlobalAveragePool") return "NhwcGlobalAveragePool";
  return {};
}

}  // namespace

std::size_t convert_to_nhwc(ir::Graph& graph) {
  std::vector<ir::Node*> targets;
  for (const auto& n : graph.nodes()) {
    if (!nhwc_op(*n).empty()) targets.push_back(n.get());
  }
  for (ir::Node* n : targets) {
    std::string stem = n->name.empty() ? n->outputs[0]->name : n->name;
    ir::Value* x = n->inputs[0];
    ir::Value* y = n->outputs[0];
    ir::Value* x_nhwc = graph.add_value(graph.unique_name(stem + "_in_nhwc"));
    ir::Value* y_nhwc = graph.add_value(graph.unique_name(stem + "_out_nhwc"));
    ir::Node* t_in = graph.add_node("Transpose", {x}, {x_nhwc}, graph.unique_name(stem + "_to_nhwc"));
    t_in->attributes["perm"] = ir::Attribute::of_ints(kToNhwc);
    n->op_type = nhwc_op(*n);
    n->domain = "lowp";
    n->inputs[0] = x_nhwc;
    if (n->op_type == "NhwcConv" && n->has_input(3)) {  // the residual, in the output's layout
      ir::Value* r_nhwc = graph.add_value(graph.unique_name(stem + "_residual_nhwc"));
      ir::Node* t_r = graph.add_node("Transpose", {n->inputs[3]}, {r_nhwc}, graph.unique_name(stem + "_residual_to_nhwc"));
      t_r->attributes["perm"] = ir::Attribute::of_ints(kToNhwc);
      n->inputs[3] = r_nhwc;
    }
    y->producer = nullptr;
    n->outputs[0] = y_nhwc;
    y_nhwc->producer = n;
    ir::Node* t_out = graph.add_node("Transpose", {y_nhwc}, {y}, graph.unique_name(stem + "_to_nchw"));
    t_out->attributes["perm"] = ir::Attribute::of_ints(kToNchw);
  }
  return targets.size();
}

}  // namespace lowp::passes
