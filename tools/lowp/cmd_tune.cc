// tools/lowp/cmd_tune.cc: `lowp tune MODEL --calib C --eval-input X --eval-labels Y
// --max-drop P -o best.onnx`: per-layer precision (int8, bf16, fp32) searched against an
// accuracy budget with latencies measured on this machine (quant/tune.h); prints the
// sensitivity of each layer, every model measured, the Pareto set, and always writes the
// best model found, saying plainly whether it met the budget.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <sstream>

#include "base/error.h"
#include "commands.h"
#include "io/npy.h"
#include "onnx/export.h"
#include "onnx/import.h"
#include "quant/prepare.h"
#include "quant/recipe.h"
#include "quant/tune.h"
#include "runtime/quant_backend.h"

namespace lowp::cli {
namespace {

struct TuneFlags {
  std::string in, out, calib, eval_input, eval_labels, fallbacks = "bf16,fp32", recipe_out;
  double max_drop = 0.5, time_limit = 600;
  int threads = 1, calib_batch = 32;
  std::size_t sensitivity_samples = 2000;
  bool json = false;
};

int run_tune(const TuneFlags& f) {
  auto model = onnx_io::import_model(f.in);
  runtime::SessionOptions so;
  so.threads = f.threads;
  quant::ModelBackend backend = runtime::quant_backend(so);
  auto prepared = quant::prepare_for_quantization(*model, backend);
  quant::CalibrationSet calib = quant::CalibrationSet::open(f.calib, *prepared, static_cast<std::size_t>(f.calib_batch));
  Tensor x = read_npy(f.eval_input);
  Tensor y = read_npy(f.eval_labels);
  if (x.dtype() != DType::float32) fail("{}: evaluation input must be float32, is {}", f.eval_input, dtype_name(x.dtype()));
  quant::TuneOptions o;
  o.max_drop = f.max_drop;
  o.time_limit_seconds = f.time_limit;
  o.sensitivity_samples = f.sensitivity_samples;
  o.fallbacks.clear();
  std::stringstream ss(f.fallbacks);
  for (std::string p; std::getline(ss, p, ',');) {
    if (p != "bf16" && p != "fp32") fail("--fallbacks takes bf16 and fp32, not '{}'", p);
    o.fallbacks.push_back(p);
  }
  if (o.fallbacks.empty()) fail("--fallbacks needs at least one of bf16, fp32");
  auto progress = [&](const std::string& line) {
    if (!f.json) fmt::print(stderr, "{}\n", line);
  };
  quant::TuneResult r = quant::tune(*prepared, calib, x, y, backend, o, progress);
  onnx_io::export_model(*r.best_model, f.out);
  const quant::TuneCandidate& best = r.candidates[static_cast<std::size_t>(r.best)];
  if (!f.recipe_out.empty()) {
    quant::Recipe recipe;
    recipe.default_precision = "fp32";
    recipe.nodes = best.layers;
    quant::write_recipe(f.recipe_out, recipe);
  }
  if (f.json) {
    nlohmann::json j;
    j["fp32"] = {{"accuracy", r.fp32_accuracy}, {"latency_us", r.fp32_latency_us}, {"weight_bytes", r.fp32_weight_bytes}};
    for (const auto& s : r.sensitivity) j["sensitivity"].push_back({{"node", s.node}, {"op_type", s.op_type}, {"drop", s.drop}});
    for (const auto& c : r.candidates)
      j["candidates"].push_back({{"label", c.label}, {"layers", c.layers}, {"accuracy", c.accuracy},
                                 {"latency_us", c.latency_us}, {"weight_bytes", c.weight_bytes},
                                 {"within_budget", c.within_budget}, {"pareto", c.pareto}});
    j["best"] = r.best;
    j["met_budget"] = r.met_budget;
    j["timed_out"] = r.timed_out;
    j["output"] = f.out;
    fmt::print("{}\n", j.dump(1));
    return 0;
  }
  fmt::print("\nlayer sensitivity (accuracy drop with the layer alone in int8), worst first:\n");
  for (const auto& s : r.sensitivity) fmt::print("  {:+7.2f}  {} ({})\n", s.drop, s.node, s.op_type);
  fmt::print("\nPareto set (accuracy, batch-1 latency, weight size):\n");
  fmt::print("  {:>9}  {:>7}  {:>10}  {:>8}  {}\n", "accuracy", "drop", "latency us", "KB", "model");
  for (const auto& c : r.candidates) {
    if (!c.pareto) continue;
    fmt::print("  {:8.2f}%  {:+7.2f}  {:10.1f}  {:8.0f}  {}{}\n", c.accuracy, r.fp32_accuracy - c.accuracy, c.latency_us,
               c.weight_bytes / 1e3, c.label, c.within_budget ? "" : "  [over budget]");
  }
  if (r.timed_out) fmt::print("\nstopped at the time limit ({} s); the models above were measured before it\n", f.time_limit);
  if (r.met_budget) {
    fmt::print("\nbest within the {:.2f}-point budget: {} ({:.2f}%, {:.1f} us = {:.2f}x fp32's {:.1f} us)\n", f.max_drop,
               best.label, best.accuracy, best.latency_us, best.latency_us / r.fp32_latency_us, r.fp32_latency_us);
  } else {
    fmt::print("\nNO quantized model met the {:.2f}-point budget; writing the most accurate one: {} ({:.2f}%, drop {:.2f})\n",
               f.max_drop, best.label, best.accuracy, r.fp32_accuracy - best.accuracy);
  }
  fmt::print("wrote {}\n", f.out);
  if (!f.recipe_out.empty()) fmt::print("wrote {} (replay: lowp quantize {} --recipe {} --calib ...)\n", f.recipe_out, f.in, f.recipe_out);
  return 0;
}

}  // namespace

Command add_tune_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("tune", "Search per-layer precision (int8, bf16, fp32) for the fastest model within an accuracy budget");
  auto f = std::make_shared<TuneFlags>();
  sub->add_option("model", f->in, "The float ONNX model (one input; first output: class logits)")->required();
  sub->add_option("-o,--output", f->out, "Where to write the best model")->required();
  sub->add_option("--calib", f->calib, "Calibration data (.npy, folder of .npy, or NAME=PATH)")->required();
  sub->add_option("--eval-input", f->eval_input, "Evaluation inputs (.npy, samples along axis 0)")->required();
  sub->add_option("--eval-labels", f->eval_labels, "Evaluation labels (.npy of int64/int32/uint8 class indices)")->required();
  sub->add_option("--max-drop", f->max_drop, "Accuracy budget in points (default 0.5)");
  sub->add_option("--time-limit", f->time_limit, "Seconds before the search stops and answers (default 600)");
  sub->add_option("--fallbacks", f->fallbacks, "Precisions a layer leaving int8 may take, in order (default bf16,fp32)");
  sub->add_option("--sensitivity-samples", f->sensitivity_samples, "Evaluation rows used for per-layer sensitivity (default 2000)");
  sub->add_option("--calib-batch", f->calib_batch, "Rows per calibration batch (default 32)")->check(CLI::Range(1, 1 << 20));
  sub->add_option("--threads", f->threads, "Threads (default 1)")->check(CLI::Range(1, 1024));
  sub->add_option("--recipe-out", f->recipe_out, "Also write the chosen per-node precisions as a recipe (JSON) for lowp quantize --recipe");
  sub->add_flag("--json", f->json, "Print the result as JSON");
  return {sub, [f]() { return run_tune(*f); }};
}

}  // namespace lowp::cli
