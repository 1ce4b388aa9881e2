// onnx/upgrade.cc
#include "onnx/upgrade.h"

#include "base/error.h"

namespace lowp::onnx_io {
namespace {

std::shared_ptr<Tensor> ints_tensor(const std::vector<std::int64_t>& v) {
  auto t = std::make_shared<Tensor>(DType::int64, Shape{static_cast<std::int64_t>(v.size())});
  std::copy(v.begin(), v.end(), t->values<std::int64_t>().begin());
  return t;
}

std::shared_ptr<Tensor> float_scalar(float v) {
  auto t = std::make_shared<Tensor>(DType::float32, Shape{});
  t->values<float>()[0] = v;
  return t;
}

ir::Value* add_const(ir::Graph& g, const ir::Node& node, const std::string& what,
                     std::shared_ptr<Tensor> t) {
  std::string stem = (node.name.empty() ? node.op_type : node.name) + "_" + what;
  return g.add_constant(g.unique_name(stem), std::move(t));
}

// Moves an ints attribute into input slot `slot` (padding skipped slots with none).
void attribute_to_input(ir::Graph& g, ir::Node& node, const std::string& key, std::size_t slot) {
  auto it = node.attributes.find(key);
  if (it == node.attributes.end()) return;
  LOWP_CHECK(it->second.kind == ir::Attribute::Kind::kInts, "node '{}' ({}): attribute '{}' must be ints",
             node.label(), node.op_type, key);
  ir::Value* v = add_const(g, node, key, ints_tensor(it->second.ints));
  node.attributes.erase(it);
  if (node.inputs.size() <= slot) node.inputs.resize(slot + 1, nullptr);
  node.inputs[slot] = v;
}

// Softmax / LogSoftmax / Hardmax before opset 13 coerce the input to 2-D at `axis` (default 1) and
// normalize over the second axis. Rewritten as Flatten -> op(axis -1) -> Reshape back.
void upgrade_legacy_softmax(ir::Graph& g, ir::Node& node) {
  std::int64_t axis = node.attr_int("axis", 1);
  ir::Value* x = node.inputs.at(0);
  ir::Value* y = node.outputs.at(0);
  std::string stem = node.name.empty() ? node.op_type : node.name;
  ir::Value* flat = g.add_value(g.unique_name(stem + "_flat"));
  ir::Value* shape = g.add_value(g.unique_name(stem + "_shape"));
  ir::Value* normalized = g.add_value(g.unique_name(stem + "_2d"));
  ir::Node* flatten = g.add_node("Flatten", {x}, {flat}, g.unique_name(stem + "_flatten"));
  flatten->attributes["axis"] = ir::Attribute::of_int(axis);
  g.add_node("Shape", {x}, {shape}, g.unique_name(stem + "_shapeof"));
  // The original node now computes the 2-D result; a Reshape restores the shape.
  y->producer = nullptr;
  node.inputs = {flat};
  node.outputs = {normalized};
  normalized->producer = &node;
  node.attributes["axis"] = ir::Attribute::of_int(-1);
  g.add_node("Reshape", {normalized, shape}, {y}, g.unique_name(stem + "_restore"));
}

}  // namespace

void upgrade_node(ir::Graph& g, ir::Node& node, int opset) {
  const std::string& op = node.op_type;
  // Every op rewritten below reads its first input and output: a node without them gets
  // its arity error here (the verifier would give it later, after the rewrite read them).
  static const char* const kRewritten[] = {"Squeeze", "Unsqueeze", "Split", "Slice", "Clip", "Pad", "Dropout",
                                           "BatchNormalization", "Softmax", "LogSoftmax", "Hardmax", "Upsample", "Resize"};
  bool rewritten = op.starts_with("Reduce");
  for (const char* r : kRewritten) rewritten = rewritten || op == r;
  if (rewritten) {
    LOWP_CHECK(!node.inputs.empty() && node.inputs[0] && !node.outputs.empty() && node.outputs[0],
               "node '{}' ({}): needs a first input and a first output", node.label(), op);
  }
  if (op == "Squeeze" || op == "Unsqueeze") {
    if (opset < 13) attribute_to_input(g, node, "axes", 1);
  } else if (op == "ReduceSum") {
    if (opset < 13) attribute_to_input(g, node, "axes", 1);
  } else if (op.starts_with("Reduce")) {
    if (opset < 18) attribute_to_input(g, node, "axes", 1);
  } else if (op == "Split") {
    if (opset < 13) attribute_to_input(g, node, "split", 1);
    // From opset 18 an even split names its part count.
    if (opset < 18 && !node.has_input(1) && !node.has_attribute("num_outputs")) {
      node.attributes["num_outputs"] = ir::Attribute::of_int(static_cast<std::int64_t>(node.outputs.size()));
    }
  } else if (op == "Scatter") {
    node.op_type = "ScatterElements";  // deprecated at opset 11 for the same op renamed
  } else if (op == "GridSample") {
    // Opset 20 renamed the modes.
    if (opset < 20) {
      std::string mode = node.attr_string("mode", "bilinear");
      if (mode == "bilinear") mode = "linear";
      if (mode == "bicubic") mode = "cubic";
      node.attributes["mode"] = ir::Attribute::of_string(mode);
    }
  } else if (op == "DFT") {
    // Opset 20 made the axis (default 1 before) input 2, whose default is -2.
    if (opset < 20) {
      std::int64_t axis = node.attr_int("axis", 1);
      node.attributes.erase("axis");
      node.inputs.resize(std::max<std::size_t>(node.inputs.size(), 3), nullptr);
      auto t = std::make_shared<Tensor>(DType::int64, Shape{});
      t->values<std::int64_t>()[0] = axis;
      node.inputs[2] = add_const(g, node, "axis", t);
    }
  } else if (op == "Slice") {
    if (opset < 10) {
      attribute_to_input(g, node, "starts", 1);
      attribute_to_input(g, node, "ends", 2);
      attribute_to_input(g, node, "axes", 3);
    }
  } else if (op == "Clip") {
    if (opset < 11) {
      float lo = node.attr_float("min", -std::numeric_limits<float>::infinity());
      float hi = node.attr_float("max", std::numeric_limits<float>::infinity());
      node.attributes.erase("min");
      node.attributes.erase("max");
      node.inputs.resize(3, nullptr);
      node.inputs[1] = add_const(g, node, "min", float_scalar(lo));
      node.inputs[2] = add_const(g, node, "max", float_scalar(hi));
    }
  } else if (op == "Pad") {
    if (opset < 11) {
      float value = node.attr_float("value", 0.0f);
      node.attributes.erase("value");
      attribute_to_input(g, node, "pads", 1);
      node.inputs.resize(3, nullptr);
      node.inputs[2] = add_const(g, node, "value", float_scalar(value));
    }
  } else if (op == "Dropout") {
    node.attributes.erase("is_test");
    if (opset < 12) node.attributes.erase("ratio");
  } else if (op == "BatchNormalization") {
    node.attributes.erase("spatial");
    node.attributes.erase("momentum");
    // Before opset 14 optional outputs 1..4 were training statistics; inference drops them.
    if (opset < 14 && node.outputs.size() > 1) {
      for (std::size_t i = 1; i < node.outputs.size(); ++i) {
        if (node.outputs[i]) node.outputs[i]->producer = nullptr;
      }
      node.outputs.resize(1);
    }
  } else if (op == "TopK" && opset < 10) {
    // TopK-1: k was an attribute; from 10 it is a 1-D int64 input.
    std::int64_t k = node.attr_int("k", -1);
    node.attributes.erase("k");
    node.inputs.resize(2, nullptr);
    node.inputs[1] = add_const(g, node, "k", ints_tensor({k}));
  } else if ((op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") && opset < 13) {
    upgrade_legacy_softmax(g, node);
  } else if (op == "Upsample" || (op == "Resize" && opset < 11)) {
    // Upsample and Resize-10: scales (attribute before Upsample-9, else input 1);
    // coordinates are "asymmetric" and nearest rounds down.
    ir::Value* scales = node.inputs.size() > 1 ? node.inputs[1] : nullptr;
    if (!scales) {
      std::vector<float> s = node.attr_floats("scales");
      auto t = std::make_shared<Tensor>(DType::float32, Shape{static_cast<std::int64_t>(s.size())});
      std::copy(s.begin(), s.end(), t->values<float>().begin());
      scales = add_const(g, node, "scales", t);
      node.attributes.erase("scales");
    }
    node.op_type = "Resize";
    node.inputs = {node.inputs.at(0), nullptr, scales};
    node.attributes["coordinate_transformation_mode"] = ir::Attribute::of_string("asymmetric");
    node.attributes["nearest_mode"] = ir::Attribute::of_string("floor");
  }
}

}  // namespace lowp::onnx_io
