// tools/lowp/cmd_run.cc: `lowp run MODEL.onnx --input NAME=FILE.npy ... --output-dir DIR`:
// one inference, each output written as DIR/<output name>.npy (atomically), and with
// --profile a table of time per op.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "base/error.h"
#include "base/timer.h"
#include "commands.h"
#include "io/npy.h"
#include "model_inputs.h"
#include "runtime/session.h"

namespace lowp::cli {
namespace {

struct RunOptions {
  std::string model;
  std::vector<std::string> inputs;
  std::string output_dir;
  int threads = 1;
  int repeat = 1;
  bool profile = false;
  int profile_nodes = 0;  // also list this many slowest nodes
  std::size_t max_memory_mib = 0;
};

void print_profile(const runtime::Plan& plan) {
  struct Row {
    std::string op, kernel;
    double seconds = 0;
    int count = 0;
  };
  std::map<std::string, Row> by_op;
  double total = 0;
  for (std::size_t i = 0; i < plan.steps.size(); ++i) {
    const auto& step = plan.steps[i];
    std::string key = step.node->op_type + " " + step.op->kernel();
    Row& r = by_op[key];
    r.op = step.node->op_type;
    r.kernel = step.op->kernel();
    r.seconds += plan.step_seconds[i];
    r.count += 1;
    total += plan.step_seconds[i];
  }
  std::vector<Row> rows;
  for (auto& [k, r] : by_op) rows.push_back(r);
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.seconds > b.seconds; });
  double runs = static_cast<double>(std::max<std::size_t>(plan.profiled_runs, 1));
  fmt::print("\nprofile ({} run{}, time per run):\n", plan.profiled_runs, plan.profiled_runs == 1 ? "" : "s");
  fmt::print("  {:<22} {:<34} {:>6} {:>11} {:>7}\n", "op", "kernel", "nodes", "ms", "share");
  for (const Row& r : rows) {
    fmt::print("  {:<22} {:<34} {:>6} {:>11.3f} {:>6.1f}%\n", r.op, r.kernel, r.count, 1e3 * r.seconds / runs,
               total > 0 ? 100.0 * r.seconds / total : 0.0);
  }
  fmt::print("  {:<22} {:<34} {:>6} {:>11.3f}\n", "total", "", plan.steps.size(), 1e3 * total / runs);
}

// The `count` slowest nodes of the plan, each with its first input's and output's type: the
// layer to look at when one op type dominates.
void print_slowest_nodes(const runtime::Plan& plan, int count) {
  std::vector<std::size_t> order(plan.steps.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return plan.step_seconds[a] > plan.step_seconds[b];
  });
  double runs = static_cast<double>(std::max<std::size_t>(plan.profiled_runs, 1));
  fmt::print("\nslowest nodes (time per run):\n");
  fmt::print("  {:>9}  {:<40} {:<16} {:<26} {}\n", "ms", "node", "op", "input", "output");
  for (std::size_t i = 0; i < order.size() && static_cast<int>(i) < count; ++i) {
    const runtime::PlanStep& step = plan.steps[order[i]];
    const ir::Node& node = *step.node;
    auto type_of = [](const std::vector<ir::Value*>& values) {
      return !values.empty() && values[0] != nullptr ? values[0]->type.str() : std::string("-");
    };
    fmt::print("  {:>9.3f}  {:<40} {:<16} {:<26} {}\n", 1e3 * plan.step_seconds[order[i]] / runs,
               node.label(), node.op_type, type_of(node.inputs), type_of(node.outputs));
  }
}

int run_model(const RunOptions& o) {
  LOWP_CHECK(o.repeat >= 1, "--repeat must be >= 1");
  runtime::SessionOptions so;
  so.threads = o.threads;
  so.max_memory_bytes = o.max_memory_mib << 20;
  Stopwatch load;
  auto session = runtime::Session::load(o.model, so);
  double load_s = load.seconds();
  LoadedInputs inputs = load_inputs(session->graph(), o.inputs);
  std::vector<Tensor> outputs;
  Stopwatch first;
  const bool profile = o.profile || o.profile_nodes > 0;
  outputs = session->run(inputs.named(), profile);
  double first_s = first.seconds();
  for (int i = 1; i < o.repeat; ++i) outputs = session->run(inputs.named(), profile);
  const ir::Graph& g = session->graph();
  fmt::print("{}: loaded in {:.1f} ms, first run {:.2f} ms\n", o.model, 1e3 * load_s, 1e3 * first_s);
  std::set<std::string> files;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const std::string& name = g.outputs[i]->name;
    fmt::print("  output {}: {} {}\n", name, dtype_name(outputs[i].dtype()), outputs[i].shape().str());
    if (o.output_dir.empty()) continue;
    std::string file = output_file_name(name) + ".npy";
    LOWP_CHECK(files.insert(file).second, "outputs '{}' and another map to the same file {}", name, file);
  }
  if (!o.output_dir.empty()) {
    std::filesystem::path dir(o.output_dir);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    LOWP_CHECK(!ec, "{}: cannot create the output folder: {}", o.output_dir, ec.message());
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      std::filesystem::path path = dir / (output_file_name(g.outputs[i]->name) + ".npy");
      write_npy(path, outputs[i]);
      fmt::print("  wrote {}\n", path.string());
    }
  }
  if (profile) print_profile(session->plan_for(inputs.named()));
  if (o.profile_nodes > 0) print_slowest_nodes(session->plan_for(inputs.named()), o.profile_nodes);
  return 0;
}

}  // namespace

Command add_run_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("run", "Run an ONNX model on .npy inputs and write .npy outputs");
  auto o = std::make_shared<RunOptions>();
  sub->add_option("model", o->model, "The .onnx model")->required();
  sub->add_option("--input,-i", o->inputs, "NAME=FILE.npy (or FILE.npy for a one-input model)")->required();
  sub->add_option("--output-dir,-o", o->output_dir, "Write each output as DIR/<name>.npy");
  sub->add_option("--threads", o->threads, "Threads (default 1)");
  sub->add_option("--repeat", o->repeat, "Run this many times (with --profile: averaged)");
  sub->add_flag("--profile", o->profile, "Print the time per op");
  sub->add_option("--profile-nodes", o->profile_nodes, "Also print the N slowest nodes with their shapes")
      ->check(CLI::Range(1, 1 << 20));
  sub->add_option("--max-memory", o->max_memory_mib, "Refuse plans needing more MiB of activations");
  return {sub, [o]() { return run_model(*o); }};
}

}  // namespace lowp::cli
