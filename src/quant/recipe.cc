// quant/recipe.cc
#include "quant/recipe.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <set>
#include <span>
#include <sstream>

#include "base/error.h"
#include "io/atomic_file.h"
#include "quant/convert_float.h"

namespace lowp::quant {
namespace {

bool known_precision(const std::string& p) {
  return p == "int8" || p == "bf16" || p == "fp32";
}

bool is_layer(const ir::Node& n) {
  return n.domain.empty() && (n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul");
}

}  // namespace

Recipe read_recipe(const std::filesystem::path& path, const ir::Graph& model) {
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("recipe '{}' cannot be read", path.string()));
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("recipe '{}' is not JSON: {}", path.string(), e.what()));
  }
  if (!j.is_object() || !j.contains("lowp_recipe") || j["lowp_recipe"] != 1)
    throw Error(fmt::format("recipe '{}' is not a lowp recipe (it needs \"lowp_recipe\": 1)", path.string()));
  Recipe r;
  if (j.contains("default")) {
    if (!j["default"].is_string() || !known_precision(j["default"].get<std::string>()))
      throw Error(fmt::format("recipe '{}': \"default\" must be one of int8, bf16, fp32", path.string()));
    r.default_precision = j["default"].get<std::string>();
  }
  if (j.contains("nodes")) {
    if (!j["nodes"].is_object()) throw Error(fmt::format("recipe '{}': \"nodes\" must be an object", path.string()));
    std::set<std::string> layers;
    for (const auto& n : model.nodes()) {
      if (is_layer(*n)) layers.insert(n->name);
    }
    for (const auto& [name, value] : j["nodes"].items()) {
      if (!value.is_string() || !known_precision(value.get<std::string>()))
        throw Error(fmt::format("recipe '{}': node '{}' has precision {}, not one of int8, bf16, fp32", path.string(),
                                name, value.dump()));
      if (!layers.contains(name))
        throw Error(fmt::format("recipe '{}' names node '{}', which is not a Conv, Gemm or MatMul of the model",
                                path.string(), name));
      r.nodes[name] = value.get<std::string>();
    }
  }
  return r;
}

void write_recipe(const std::filesystem::path& path, const Recipe& recipe) {
  nlohmann::json j;
  j["lowp_recipe"] = 1;
  j["default"] = recipe.default_precision;
  j["nodes"] = nlohmann::json::object();
  for (const auto& [n, p] : recipe.nodes) j["nodes"][n] = p;
  std::string text = j.dump(1) + "\n";
  write_file_atomically(path, std::as_bytes(std::span<const char>(text.data(), text.size())));
}

std::map<std::string, std::string> recipe_layers(const Recipe& recipe, const ir::Graph& model) {
  std::map<std::string, std::string> out;
  for (const auto& n : model.nodes()) {
    if (!is_layer(*n)) continue;
    auto it = recipe.nodes.find(n->name);
    out[n->name] = it == recipe.nodes.end() ? recipe.default_precision : it->second;
  }
  return out;
}

bool recipe_needs_int8(const std::map<std::string, std::string>& layers) {
  for (const auto& [n, p] : layers) {
    if (p == "int8") return true;
  }
  return false;
}

std::unique_ptr<ir::Graph> build_mixed_precision(const ir::Graph& model, const std::map<std::string, std::string>& layers,
                                                 const std::map<std::string, TensorStats>& int8_stats,
                                                 const Int8Options& int8, QuantizeReport& report) {
  FloatOptions bf;
  Int8Options i8 = int8;
  for (const auto& n : model.nodes()) {
    auto it = layers.find(n->name);
    std::string p = it == layers.end() ? "fp32" : it->second;
    if (p != "bf16") bf.exclude.insert(n->name);
    if (p != "int8") i8.exclude.insert(n->name);
  }
  QuantizeReport bf_report;
  auto g = convert_to_bf16(model, bf, bf_report);
  if (!recipe_needs_int8(layers)) {
    report = bf_report;
    return g;
  }
  auto out = quantize_int8_with(*g, int8_stats, i8, report);
  // The int8 pass reports bf16 layers as "weights are not a float32 constant": say bf16.
  for (auto& d : report.nodes) {
    auto it = layers.find(d.node);
    if (it != layers.end() && it->second == "bf16") {
      d.precision = "bf16";
      d.reason = "recipe: weights bf16";
    } else if (it != layers.end() && it->second == "fp32" && d.precision == "fp32") {
      d.reason = "recipe: fp32";
    }
  }
  return out;
}

}  // namespace lowp::quant
