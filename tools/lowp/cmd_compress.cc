// tools/lowp/cmd_compress.cc: `lowp compress IN.onnx -o OUT.onnx --lowrank energy=E|rank=R`:
// Gemm, MatMul and 1x1 Conv layers split into two thinner layers by truncated SVD where
// that measures faster at the model's batch size, written as standard ONNX that lowp and
// ONNX Runtime run, with a per-layer report (rank, energy kept, parameters, time, why).
// The work is reduce/compress_low_rank.h; this file parses options and reports.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <set>

#include "base/error.h"
#include "base/thread_pool.h"
#include "base/timer.h"
#include "commands.h"
#include "name_list.h"
#include "onnx/export.h"
#include "onnx/import.h"
#include "quant/prepare.h"
#include "reduce/compress_low_rank.h"
#include "runtime/quant_backend.h"

namespace lowp::cli {
namespace {

struct CompressFlags {
  std::string in, out, lowrank, exclude;
  int batch = 1, threads = 1;
  double min_speedup = 1.1;
  bool json = false;
};

std::string shape_text(const LowRankLayerReport& l) {
  return l.k > 0 ? fmt::format("{}x{}", l.k, l.n) : "-";
}

void print_report(const LowRankReport& r) {
  std::size_t width = 4;
  for (const auto& l : r.layers) width = std::max(width, l.node.size());
  fmt::print("{:<{}}  {:<6}  {:>11}  {:>5}  {:>6}  {:>9}  {:>9}  {:>9}  {:>9}  {:<10}  {}\n",
             "node", width, "op", "K x N", "rank", "energy", "params", "params lr", "dense us",
             "lr us", "decision", "reason");
  for (const auto& l : r.layers) {
    auto number = [](double v, bool shown) {
      return shown ? fmt::format("{:.1f}", v) : std::string("-");
    };
    fmt::print("{:<{}}  {:<6}  {:>11}  {:>5}  {:>6}  {:>9}  {:>9}  {:>9}  {:>9}  {:<10}  {}\n",
               l.node, width, l.op_type, shape_text(l), l.rank > 0 ? std::to_string(l.rank) : "-",
               l.energy_kept >= 0 ? fmt::format("{:.4f}", l.energy_kept) : "-",
               l.k > 0 ? std::to_string(l.params_before) : "-",
               l.k > 0 ? std::to_string(l.params_after) : "-", number(l.dense_us, l.dense_us > 0),
               number(l.factored_us, l.factored_us > 0), l.factorized ? "factorized" : "kept",
               l.reason);
  }
}

nlohmann::json report_json(const LowRankReport& r) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : r.layers) {
    auto or_null = [](double v, bool shown) {
      return shown ? nlohmann::json(v) : nlohmann::json();
    };
    layers.push_back({{"node", l.node},
                      {"op_type", l.op_type},
                      {"k", l.k > 0 ? nlohmann::json(l.k) : nlohmann::json()},
                      {"n", l.k > 0 ? nlohmann::json(l.n) : nlohmann::json()},
                      {"rows", l.k > 0 ? nlohmann::json(l.rows) : nlohmann::json()},
                      {"rank", l.rank > 0 ? nlohmann::json(l.rank) : nlohmann::json()},
                      {"energy_kept", or_null(l.energy_kept, l.energy_kept >= 0)},
                      {"params_before", l.params_before},
                      {"params_after", l.params_after},
                      {"dense_us", or_null(l.dense_us, l.dense_us > 0)},
                      {"factored_us", or_null(l.factored_us, l.factored_us > 0)},
                      {"decision", l.factorized ? "factorized" : "kept"},
                      {"reason", l.reason}});
  }
  return {{"layers", layers},
          {"factorized", r.factorized()},
          {"params_before", r.params_before},
          {"params_after", r.params_after}};
}

int run_compress(const CompressFlags& f) {
  Stopwatch timer;
  if (f.lowrank.empty())
    fail("nothing to do: give --lowrank energy=E (0 < E <= 1) or --lowrank rank=R");
  LowRankOptions o;
  o.spec = parse_rank_spec(f.lowrank);
  o.batch = f.batch;
  o.min_speedup = f.min_speedup;
  if (!(f.min_speedup == 0.0 || (f.min_speedup >= 1.0 && f.min_speedup < 1e6)))
    fail(
        "--min-speedup {} must be 0 (no timing) or at least 1 (1.1: keep a factorization 10% "
        "faster or more)",
        f.min_speedup);
  o.exclude = split_names(f.exclude);
  std::error_code ec;
  if (std::filesystem::exists(f.out, ec) && std::filesystem::equivalent(f.in, f.out, ec))
    fail("output '{}' is the input model; write the compressed model elsewhere", f.out);

  std::unique_ptr<ir::Graph> model = onnx_io::import_model(f.in);
  runtime::SessionOptions session_options;
  // Folds constants and BatchNorm into the layer before it, so weights are plain constants.
  std::unique_ptr<ir::Graph> prepared =
      quant::prepare_for_quantization(*model, runtime::quant_backend(session_options));
  std::unique_ptr<ThreadPool> pool;
  if (f.threads > 1) {
    pool = std::make_unique<ThreadPool>(f.threads);
    o.timer = [p = pool.get()](int rows, int k, int n, int rank) {
      return time_low_rank(rows, k, n, rank, p);
    };
  }
  LowRankReport report;
  std::unique_ptr<ir::Graph> out = compress_low_rank(*prepared, o, report);
  onnx_io::export_model(*out, f.out);
  const double seconds = timer.seconds();
  if (f.json) {
    nlohmann::json j = report_json(report);
    j["input"] = f.in;
    j["output"] = f.out;
    j["lowrank"] = o.spec.str();
    j["batch"] = f.batch;
    j["threads"] = f.threads;
    j["min_speedup"] = f.min_speedup;
    j["seconds"] = seconds;
    fmt::print("{}\n", j.dump(1));
  } else {
    print_report(report);
    fmt::print(
        "{} of {} layers factorized ({}, batch {}, {} thread{}); parameters {} -> {} ({:.2f}x "
        "fewer)\n",
        report.factorized(), report.layers.size(), o.spec.str(), f.batch, f.threads,
        f.threads == 1 ? "" : "s", report.params_before, report.params_after,
        report.params_after > 0 ? static_cast<double>(report.params_before) / report.params_after
                                : 0.0);
    fmt::print("wrote {} in {:.1f} s\n", f.out, seconds);
  }
  return 0;
}

}  // namespace

Command add_compress_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand(
      "compress",
      "Low-rank compression: Gemm, MatMul and 1x1 Conv split in two by SVD where faster");
  auto f = std::make_shared<CompressFlags>();
  sub->add_option("model", f->in, "The float ONNX model")->required();
  sub->add_option("-o,--output", f->out, "Where to write the compressed model")->required();
  sub->add_option("--lowrank", f->lowrank,
                  "energy=E: keep the fewest singular values holding E (0 < E <= 1) of each "
                  "weight's squared "
                  "norm; rank=R: keep R")
      ->required();
  sub->add_option("--batch", f->batch, "Batch size the decisions are timed at (default 1)")
      ->check(CLI::Range(1, 1 << 16));
  sub->add_option("--threads", f->threads, "Threads the decisions are timed with (default 1)")
      ->check(CLI::Range(1, 256));
  sub->add_option(
      "--min-speedup", f->min_speedup,
      "Keep a factorization only when it times at least this much faster (default 1.1; 0: time "
      "nothing, keep every one with fewer parameters)");
  sub->add_option("--exclude", f->exclude, "Comma-separated node names to leave as they are");
  sub->add_flag("--json", f->json, "Print the report as JSON");
  return {sub, [f]() { return run_compress(*f); }};
}

}  // namespace lowp::cli
