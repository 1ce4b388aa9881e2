// tools/lowp/cmd_compare.cc: `lowp compare REF.onnx QUANT.onnx --input NAME=FILE.npy`: a float
// model and its quantized version run on the same inputs; per layer SQNR, cosine and max
// error of the quantized model's tensors against the float ones, worst first, then the
// model outputs. The work is quant/compare.h's; this file parses and prints.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <string>

#include "base/error.h"
#include "commands.h"
#include "io/atomic_file.h"
#include "io/npy.h"
#include "onnx/import.h"
#include "quant/compare.h"
#include "runtime/quant_backend.h"

namespace lowp::cli {
namespace {

struct CompareFlags {
  std::string reference, quantized, json_path, sort = "added";
  std::vector<std::string> inputs;
  bool json = false;
  int top = -1;  // -1: 20 rows in the terminal, every row in JSON
  int batch = 32, threads = 1;
};

std::string db(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{:.2f}", v);
}

nlohmann::json db_json(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

nlohmann::json metrics_json(const quant::TensorMetrics& m) {
  return {{"sqnr_db", db_json(m.sqnr_db)},
          {"cosine", m.cosine},
          {"max_abs_error", m.max_abs_error},
          {"elements", m.elements},
          {"non_finite", m.non_finite}};
}

std::vector<quant::CompareInput> load(const std::vector<std::string>& specs, const ir::Graph& model) {
  std::vector<quant::CompareInput> out;
  for (const std::string& spec : specs) {
    auto eq = spec.find('=');
    std::string name, path;
    if (eq == std::string::npos) {
      LOWP_CHECK(model.inputs.size() == 1,
                 "compare: --input {} has no NAME= and the model has {} inputs; write NAME=FILE.npy", spec,
                 model.inputs.size());
      name = model.inputs[0]->name;
      path = spec;
    } else {
      name = spec.substr(0, eq);
      path = spec.substr(eq + 1);
    }
    out.push_back({name, read_npy(path)});
  }
  return out;
}

nlohmann::json result_json(const CompareFlags& f, const quant::CompareResult& r, std::size_t rows) {
  nlohmann::json j;
  j["reference"] = f.reference;
  j["quantized"] = f.quantized;
  j["samples"] = r.samples;
  j["runs"] = r.runs;
  j["sort"] = f.sort;
  j["layers"] = nlohmann::json::array();
  for (std::size_t i = 0; i < rows; ++i) {
    const quant::LayerComparison& l = r.layers[i];
    j["layers"].push_back({{"rank", i + 1},
                           {"node", l.node},
                           {"op_type", l.op_type},
                           {"nodes", l.nodes},
                           {"tensor", l.tensor},
                           {"observed", l.observed},
                           {"observed_as", l.form},
                           {"input", l.input},
                           {"input_sqnr_db", db_json(l.input_sqnr_db)},
                           {"added_noise_db", db_json(l.added_db)},
                           {"metrics", metrics_json(l.metrics)}});
  }
  j["layers_total"] = r.layers.size();
  j["outputs"] = nlohmann::json::array();
  for (const quant::OutputComparison& o : r.outputs) {
    nlohmann::json oj = {{"name", o.name}, {"metrics", metrics_json(o.metrics)}};
    if (o.top1_agreement) {
      oj["top1_agreement"] = *o.top1_agreement;
      oj["rows"] = o.rows;
    }
    j["outputs"].push_back(oj);
  }
  j["unmatched"] = r.unmatched;
  j["observation_change"] = {{"reference", r.observation_change_reference},
                             {"quantized", r.observation_change_quantized}};
  return j;
}

void print_text(const CompareFlags& f, const quant::CompareResult& r, std::size_t rows) {
  fmt::print("compare: {} (reference) vs {} on {} sample{} ({} run{})\n", f.reference, f.quantized, r.samples,
             r.samples == 1 ? "" : "s", r.runs, r.runs == 1 ? "" : "s");
  fmt::print("layers, worst first by {}: the quantized model's tensor against the float one\n",
             f.sort == "added" ? "the noise each adds (SQNR of its output's error less its input's)" : "SQNR");
  std::size_t width = 4, twidth = 6;
  for (std::size_t i = 0; i < rows; ++i) {
    width = std::max(width, r.layers[i].node.size());
    twidth = std::max(twidth, r.layers[i].tensor.size());
  }
  fmt::print("{:>4}  {:<{}}  {:<18}  {:>8}  {:>8}  {:>9}  {:>11}  {:<{}}  {}\n", "rank", "node", width, "op",
             "added dB", "SQNR dB", "cosine", "max |err|", "tensor", twidth, "read as");
  for (std::size_t i = 0; i < rows; ++i) {
    const quant::LayerComparison& l = r.layers[i];
    // "Conv (+2)": two more reference nodes (BatchNormalization, Relu) folded into the row.
    std::string op = l.nodes.size() > 1 ? fmt::format("{} (+{})", l.op_type, l.nodes.size() - 1) : l.op_type;
    fmt::print("{:>4}  {:<{}}  {:<18}  {:>8}  {:>8}  {:>9.6f}  {:>11.4g}  {:<{}}  {}{}\n", i + 1, l.node, width, op,
               db(l.added_db), db(l.metrics.sqnr_db), l.metrics.cosine, l.metrics.max_abs_error, l.tensor, twidth, l.form,
               l.metrics.non_finite ? fmt::format("  ({} NaN/Inf mismatches)", l.metrics.non_finite) : "");
  }
  if (rows < r.layers.size()) fmt::print("      ... {} more (--top 0 shows all)\n", r.layers.size() - rows);
  fmt::print("outputs:\n");
  for (const quant::OutputComparison& o : r.outputs) {
    fmt::print("  {}: SQNR {} dB, cosine {:.6f}, max |err| {:.4g}", o.name, db(o.metrics.sqnr_db), o.metrics.cosine,
               o.metrics.max_abs_error);
    if (o.top1_agreement)
      fmt::print(", top-1 agreement {:.2f}% of {} rows", 100.0 * *o.top1_agreement, o.rows);
    if (o.metrics.non_finite) fmt::print(", {} NaN/Inf mismatches", o.metrics.non_finite);
    fmt::print("\n");
  }
  if (!r.unmatched.empty()) {
    fmt::print("{} reference tensor{} without a counterpart in the quantized model (fused away by lowering, "
               "or renamed), folded into the next row\n",
               r.unmatched.size(), r.unmatched.size() == 1 ? "" : "s");
  }
  auto said = [](double change) {
    return change == 0 ? std::string("unchanged (bit-identical)") : fmt::format("CHANGED by up to {:.4g}", change);
  };
  fmt::print("outputs with layers observed: quantized {}, reference {}\n", said(r.observation_change_quantized),
             said(r.observation_change_reference));
  if (r.observation_change_quantized != 0)
    fmt::print("warning: observing the layers changed what the quantized model computes; the per-layer figures may "
               "not be what lowp runs without them\n");
}

int run_compare(const CompareFlags& f) {
  LOWP_CHECK(!f.inputs.empty(), "compare: give the inputs: --input NAME=FILE.npy (once per model input)");
  std::unique_ptr<ir::Graph> reference = onnx_io::import_model(f.reference);
  std::unique_ptr<ir::Graph> quantized = onnx_io::import_model(f.quantized);
  std::vector<quant::CompareInput> inputs = load(f.inputs, *reference);
  runtime::SessionOptions session_options;
  session_options.threads = f.threads;
  quant::CompareOptions o;
  o.reference_name = f.reference;
  o.quantized_name = f.quantized;
  o.batch = static_cast<std::size_t>(f.batch);
  if (f.sort == "sqnr") o.order = quant::LayerOrder::sqnr;
  else LOWP_CHECK(f.sort == "added", "compare: --sort {} is not 'added' or 'sqnr'", f.sort);
  quant::CompareResult r =
      quant::compare_models(*reference, *quantized, inputs, runtime::quant_backend(session_options), o);
  std::size_t all = r.layers.size();
  std::size_t text_rows = f.top < 0 ? std::min<std::size_t>(20, all) : f.top == 0 ? all : std::min<std::size_t>(f.top, all);
  std::size_t json_rows = f.top <= 0 ? all : std::min<std::size_t>(f.top, all);
  if (!f.json_path.empty()) {
    std::string text = result_json(f, r, all).dump(1) + "\n";
    write_file_atomically(f.json_path, std::as_bytes(std::span(text.data(), text.size())));
  }
  if (f.json) fmt::print("{}\n", result_json(f, r, json_rows).dump(1));
  else print_text(f, r, text_rows);
  return 0;
}

}  // namespace

Command add_compare_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand(
      "compare", "Layer-wise error of a quantized model against its float model (SQNR, cosine, max error)");
  auto f = std::make_shared<CompareFlags>();
  sub->add_option("reference", f->reference, "The float ONNX model")->required();
  sub->add_option("quantized", f->quantized, "The quantized ONNX model (QDQ from lowp or ONNX Runtime, fp16, ...)")
      ->required();
  sub->add_option("--input", f->inputs, "NAME=FILE.npy, once per model input (FILE.npy alone for one input)");
  sub->add_flag("--json", f->json, "Print the result as JSON");
  sub->add_option("-o,--output", f->json_path, "Also write the full result as JSON to this file");
  sub->add_option("--top", f->top, "Show the N worst layers (0: all; default 20 in the terminal, all in JSON)")
      ->check(CLI::Range(0, 1 << 30));
  sub->add_option("--batch", f->batch, "Rows per run when axis 0 is a symbolic batch dim (default 32)")
      ->check(CLI::Range(1, 1 << 20));
  sub->add_option("--sort", f->sort,
                  "Rank layers by 'added' (the noise each layer adds: finds the guilty one; default) or 'sqnr' "
                  "(the SQNR of each layer's output, which only falls along the network)");
  sub->add_option("--threads", f->threads, "Threads per model (default 1)")->check(CLI::Range(1, 1024));
  return {sub, [f]() { return run_compare(*f); }};
}

}  // namespace lowp::cli
