// tools/lowp/model_report.cc
#include "model_report.h"

#include <fmt/format.h>

#include <set>

#include "base/error.h"
#include "ir/verify.h"
#include "model_inputs.h"
#include "onnx/import.h"
#include "runtime/session.h"

namespace lowp::cli {
namespace {

double node_flops(const ir::Node& n) {
  auto elements = [](const ir::Value* v) {
    return v && v->type.is_concrete() ? static_cast<double>(v->type.concrete_shape().elements()) : 0.0;
  };
  const std::string& op = n.op_type;
  if (op == "Conv" || op == "FusedConv") {
    const ir::Value* w = n.inputs[1];
    if (!w->type.is_concrete()) return 0;
    Shape ws = w->type.concrete_shape();
    double per_output = static_cast<double>(ws.elements() / static_cast<std::size_t>(ws[0]));
    return 2.0 * elements(n.outputs[0]) * per_output;
  }
  if (op == "MatMul" || op == "FusedGemm" || op == "Gemm") {
    const ir::Value* a = n.inputs[0];
    if (!a->type.is_concrete() || a->type.rank() == 0) return 0;
    Shape as = a->type.concrete_shape();
    double k = static_cast<double>(op == "Gemm" && n.attr_int("transA", 0) ? as[0] : as[as.rank() - 1]);
    return 2.0 * elements(n.outputs[0]) * k;
  }
  return 0;
}

}  // namespace

void print_model_report(const std::filesystem::path& path, const std::map<std::string, std::int64_t>& dims,
                        bool nodes) {
  std::unique_ptr<ir::Graph> imported = onnx_io::import_model(path);
  std::string opset = "?";
  if (auto it = imported->opsets.find(""); it != imported->opsets.end()) opset = std::to_string(it->second);
  fmt::print("{}: graph '{}', ai.onnx opset {}, {} nodes\n", path.string(), imported->name, opset,
             imported->nodes().size());
  for (const ir::Value* v : imported->inputs) fmt::print("  input  {}: {}\n", v->name, v->type.str());
  for (const ir::Value* v : imported->outputs) fmt::print("  output {}: {}\n", v->name, v->type.str());
  std::map<std::string, int> counts;
  for (const auto& n : imported->nodes()) counts[(n->domain.empty() ? "" : n->domain + "::") + n->op_type]++;
  fmt::print("ops ({} kinds):\n", counts.size());
  for (const auto& [op, c] : counts) fmt::print("  {:<28} {}\n", op, c);
  std::size_t params = 0, param_bytes = 0;
  std::set<const ir::Value*> seen;
  for (const auto& n : imported->nodes()) {
    for (const ir::Value* v : n->inputs) {
      if (v && v->is_constant() && seen.insert(v).second) {
        params += v->constant->elements();
        param_bytes += v->constant->bytes();
      }
    }
  }
  fmt::print("parameters: {} ({:.2f} MiB)\n", params, static_cast<double>(param_bytes) / (1 << 20));
  std::vector<std::string> unsupported = ir::unsupported_ops(*imported);
  if (!unsupported.empty()) {
    fmt::print("unsupported ops ({}):\n", unsupported.size());
    for (const std::string& u : unsupported) fmt::print("  {}\n", u);
    return;
  }
  fmt::print("unsupported ops: none\n");
  runtime::Session session(std::move(imported), runtime::SessionOptions{});
  LoadedInputs inputs = synthetic_inputs(session.graph(), dims, 1);
  std::string bound;
  for (std::size_t i = 0; i < inputs.names.size(); ++i) {
    bound += fmt::format("{}{} {}", i ? ", " : "", inputs.names[i], inputs.tensors[i].shape().str());
  }
  const runtime::Plan& plan = session.plan_for(inputs.named());
  double flops = 0;
  std::map<std::string, int> kernels;
  for (const auto& step : plan.steps) {
    flops += node_flops(*step.node);
    kernels[step.node->op_type + " -> " + step.op->kernel()]++;
  }
  fmt::print("optimized for {}: {} nodes ({} rewrites), {:.3f} GFLOPs, activation arena {:.2f} MiB\n", bound,
             plan.steps.size(), session.rewrites(), flops / 1e9, static_cast<double>(plan.arena_bytes) / (1 << 20));
  fmt::print("kernels:\n");
  for (const auto& [k, c] : kernels) fmt::print("  {:<60} x{}\n", k, c);
  if (nodes) {
    fmt::print("nodes:\n");
    for (const auto& step : plan.steps) {
      fmt::print("  {:<40} {:<14} {}\n", step.node->label(), step.node->op_type, step.op->kernel());
    }
  }
}

}  // namespace lowp::cli
