// tools/lowp/cmd_optimize.cc: `lowp optimize IN.onnx -o OUT.onnx`: the graph passes a
// Session runs at load (folding, dead code, BatchNorm folding, bias and activation fusion),
// written back as a plain ONNX model that any runtime loads.
#include <fmt/format.h>

#include <filesystem>
#include <map>

#include "base/error.h"
#include "commands.h"
#include "onnx/export.h"
#include "onnx/import.h"
#include "runtime/session.h"

namespace lowp::cli {
namespace {

std::string op_counts(const ir::Graph& g) {
  std::map<std::string, int> counts;
  for (const auto& n : g.nodes()) counts[n->domain.empty() ? n->op_type : n->domain + "::" + n->op_type]++;
  std::string s;
  for (const auto& [op, count] : counts) s += fmt::format("{}{} {}", s.empty() ? "" : ", ", op, count);
  return s;
}

int run_optimize(const std::filesystem::path& in, const std::filesystem::path& out, bool external) {
  std::unique_ptr<ir::Graph> graph = onnx_io::import_model(in);
  std::size_t before = graph->nodes().size();
  std::string before_ops = op_counts(*graph);
  runtime::SessionOptions options;
  std::unique_ptr<runtime::Session> session;
  try {
    session = std::make_unique<runtime::Session>(std::move(graph), options);
  } catch (const Error& e) {
    fail("{}: {}", in.string(), e.what());
  }
  const ir::Graph& optimized = session->graph();
  onnx_io::ExportOptions export_options;
  if (!external) export_options.external_threshold_bytes = 0;
  onnx_io::ExportSummary written = onnx_io::export_model(optimized, out, export_options);
  fmt::print("{}: {} nodes ({})\n", in.string(), before, before_ops);
  fmt::print("optimized: {} nodes ({}), {} rewrites\n", optimized.nodes().size(), op_counts(optimized),
             session->rewrites());
  fmt::print("wrote {} ({} ONNX nodes, {} initializers)\n", out.string(), written.nodes, written.initializers);
  if (written.external_tensors > 0) {
    fmt::print("wrote {} ({} tensors, {} bytes)\n", onnx_io::external_data_path(out).string(),
               written.external_tensors, written.external_bytes);
  }
  return 0;
}

}  // namespace

Command add_optimize_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand(
      "optimize", "Run lowp's graph passes on an ONNX model and write the result as ONNX");
  auto in = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto no_external = std::make_shared<bool>(false);
  sub->add_option("model", *in, "The ONNX model to optimize")->required();
  sub->add_option("-o,--output", *out, "Where to write the optimized model")->required();
  sub->add_flag("--no-external-data", *no_external,
                "Keep every weight inside the model file (else tensors of 1 MiB or more go to "
                "OUTPUT.data)");
  return {sub, [in, out, no_external]() { return run_optimize(*in, *out, !*no_external); }};
}

}  // namespace lowp::cli
