// tools/lowp/cmd_quantize.cc: `lowp quantize IN.onnx -o OUT.onnx --precision P`: a float
// ONNX model made smaller and faster, written as standard ONNX (QDQ for int8) that lowp
// and ONNX Runtime both run, with a report of what was quantized and what stayed fp32 and
// why. The work is the quant layer's (src/quant); this file parses options and reports.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <fstream>

#include "base/error.h"
#include "base/timer.h"
#include "commands.h"
#include "name_list.h"
#include "onnx/export.h"
#include "onnx/import.h"
#include "quant/convert_float.h"
#include "quant/prepare.h"
#include "quant/recipe.h"
#include "quant/quantize_dynamic.h"
#include "quant/quantize_int4.h"
#include "quant/quantize_int8.h"
#include "runtime/quant_backend.h"

namespace lowp::cli {
namespace {

struct QuantizeFlags {
  std::string in, out, precision, calib, method = "percentile", exclude, op_types, json_path, recipe;
  double percentile = 99.99, damp = 0.01;
  int calib_batch = 32, threads = 1, group = 32, accuracy_level = 4, min_conv_depth = 16;
  std::string algo = "rtn";
  bool zero_point = false;
  std::size_t calib_samples = 0;
  bool per_tensor = false, symmetric_activations = false, json = false;
};

// --exclude's node names, each one the model has.
std::set<std::string> checked_exclude(const std::string& list, const ir::Graph& model) {
  std::set<std::string> names = split_names(list);
  for (const std::string& name : names) {
    bool found = false;
    for (const auto& n : model.nodes()) found = found || n->name == name;
    if (!found) fail("--exclude names node '{}', which the model does not have", name);
  }
  return names;
}

std::uintmax_t model_bytes(const std::filesystem::path& p) {
  std::error_code ec;
  std::uintmax_t total = std::filesystem::file_size(p, ec);
  if (ec) total = 0;
  auto data = onnx_io::external_data_path(p);
  if (std::filesystem::exists(data, ec)) total += std::filesystem::file_size(data, ec);
  return total;
}

void print_report(const quant::QuantizeReport& r) {
  std::size_t width = 4;
  for (const auto& d : r.nodes) width = std::max(width, d.node.size());
  fmt::print("{:<{}}  {:<8}  {:<9}  {}\n", "node", width, "op", "precision", "detail");
  for (const auto& d : r.nodes)
    fmt::print("{:<{}}  {:<8}  {:<9}  {}\n", d.node, width, d.op_type, d.precision, d.reason);
  for (const auto& w : r.warnings) fmt::print("warning: {}\n", w);
}

nlohmann::json report_json(const quant::QuantizeReport& r) {
  nlohmann::json j;
  j["nodes"] = nlohmann::json::array();
  for (const auto& d : r.nodes)
    j["nodes"].push_back({{"node", d.node}, {"op_type", d.op_type}, {"precision", d.precision}, {"detail", d.reason}});
  j["warnings"] = r.warnings;
  j["calibration_rows"] = r.calibration_rows;
  j["dropped_rows"] = r.dropped_rows;
  j["quantized_tensors"] = r.quantized_tensors;
  return j;
}

int run_quantize(const QuantizeFlags& f) {
  Stopwatch timer;
  std::unique_ptr<ir::Graph> model = onnx_io::import_model(f.in);
  runtime::SessionOptions session_options;
  session_options.threads = f.threads;
  quant::ModelBackend backend = runtime::quant_backend(session_options);
  std::unique_ptr<ir::Graph> prepared = quant::prepare_for_quantization(*model, backend);
  quant::QuantizeReport report;
  std::unique_ptr<ir::Graph> out;
  if (!f.recipe.empty()) {
    // A per-node recipe (lowp tune --recipe-out, or written by hand): int8 / bf16 / fp32.
    if (f.precision != "int8")
      fail("--recipe mixes int8, bf16 and fp32 per node; use it with --precision int8 (its default for unnamed layers comes from the file)");
    quant::Recipe recipe = quant::read_recipe(f.recipe, *prepared);
    auto layers = quant::recipe_layers(recipe, *prepared);
    quant::Int8Options o;
    o.min_conv_depth = 0;  // the recipe says which layers are int8
    o.calibration.method = quant::parse_range_method(f.method);
    o.calibration.percentile = f.percentile;
    o.per_channel = !f.per_tensor;
    o.symmetric_activations = f.symmetric_activations;
    std::map<std::string, quant::TensorStats> stats;
    if (quant::recipe_needs_int8(layers)) {
      if (f.calib.empty()) fail("the recipe puts layers in int8: give calibration data with --calib");
      quant::CalibrationSet data = quant::CalibrationSet::open(f.calib, *prepared, static_cast<std::size_t>(f.calib_batch), f.calib_samples);
      stats = quant::calibrate_int8(*prepared, data, backend, o);
      report.calibration_rows = data.rows();
      report.dropped_rows = data.non_finite_rows();
    }
    out = quant::build_mixed_precision(*prepared, layers, stats, o, report);
  } else if (f.precision == "int8") {
    if (f.calib.empty()) fail("--precision int8 needs calibration data: --calib FILE.npy (or a folder of .npy)");
    quant::CalibrationSet data = quant::CalibrationSet::open(f.calib, *prepared, static_cast<std::size_t>(f.calib_batch), f.calib_samples);
    quant::Int8Options o;
    o.calibration.method = quant::parse_range_method(f.method);
    o.calibration.percentile = f.percentile;
    if (!(f.percentile > 50.0 && f.percentile <= 100.0)) fail("--percentile must be in (50, 100], got {}", f.percentile);
    o.per_channel = !f.per_tensor;
    o.symmetric_activations = f.symmetric_activations;
    o.min_conv_depth = f.min_conv_depth;
    if (!f.op_types.empty()) o.op_types = split_names(f.op_types);
    o.exclude = checked_exclude(f.exclude, *prepared);
    auto progress = [&](int pass, std::size_t b, std::size_t total) {
      if (!f.json && (b + 1 == total || b % 16 == 0))
        fmt::print(stderr, "\rcalibrating ({} pass {}/2): batch {}/{}", quant::range_method_name(o.calibration.method),
                   pass, b + 1, total);
      if (!f.json && b + 1 == total) fmt::print(stderr, "\n");
    };
    out = quant::quantize_int8_static(*prepared, data, backend, o, report, progress);
  } else if (f.precision == "fp16" || f.precision == "bf16") {
    quant::FloatOptions o;
    o.exclude = checked_exclude(f.exclude, *prepared);
    if (f.precision == "bf16") {
      out = quant::convert_to_bf16(*prepared, o, report);
    } else {
      std::optional<quant::CalibrationSet> data;
      if (!f.calib.empty())
        data = quant::CalibrationSet::open(f.calib, *prepared, static_cast<std::size_t>(f.calib_batch), f.calib_samples);
      out = quant::convert_to_fp16(*prepared, data ? &*data : nullptr, backend, o, report);
    }
  } else if (f.precision == "int8-dynamic") {
    if (!f.calib.empty()) fail("--precision int8-dynamic quantizes activations at run time and takes no --calib");
    quant::DynamicOptions o;
    o.per_channel = !f.per_tensor;
    if (!f.op_types.empty()) o.op_types = split_names(f.op_types);
    for (const std::string& t : o.op_types) {
      if (t != "MatMul" && t != "Gemm") fail("--op-types for int8-dynamic takes MatMul and Gemm, not '{}'", t);
    }
    o.exclude = checked_exclude(f.exclude, *prepared);
    out = quant::quantize_int8_dynamic(*prepared, o, report);
  } else if (f.precision == "int4") {
    quant::Int4Options o;
    o.group = f.group;
    if (f.algo == "rtn") o.algorithm = quant::Int4Algorithm::rtn;
    else if (f.algo == "gptq") o.algorithm = quant::Int4Algorithm::gptq;
    else fail("--algo {} is not rtn or gptq", f.algo);
    o.zero_point = f.zero_point;
    o.accuracy_level = f.accuracy_level;
    o.gptq.damp = f.damp;
    if (!(f.damp >= 0.0 && f.damp < 1.0)) fail("--damp must be in [0, 1), got {}", f.damp);
    if (!f.op_types.empty()) o.op_types = split_names(f.op_types);
    for (const std::string& t : o.op_types) {
      if (t != "MatMul" && t != "Gemm") fail("--op-types for int4 takes MatMul and Gemm, not '{}'", t);
    }
    o.exclude = checked_exclude(f.exclude, *prepared);
    std::optional<quant::CalibrationSet> data;
    if (o.algorithm == quant::Int4Algorithm::gptq) {
      if (f.calib.empty()) fail("--algo gptq needs calibration data: --calib FILE.npy (or a folder of .npy)");
      data.emplace(quant::CalibrationSet::open(f.calib, *prepared, static_cast<std::size_t>(f.calib_batch), f.calib_samples));
    } else if (!f.calib.empty()) {
      fail("--calib is used by --algo gptq only; round-to-nearest needs no data");
    }
    auto progress = [&](std::size_t layer, std::size_t layers) {
      if (!f.json) fmt::print(stderr, "\rgptq: layer {}/{}{}", layer, layers, layer == layers ? "\n" : "");
    };
    out = quant::quantize_int4(*prepared, o, report, data ? &*data : nullptr, &backend, progress);
    if (data) {
      report.calibration_rows = data->rows();
      report.dropped_rows = data->non_finite_rows();
    }
  } else {
    fail("--precision {} is not available: use int8, int8-dynamic, int4, fp16 or bf16", f.precision);
  }
  onnx_io::export_model(*out, f.out);
  double seconds = timer.seconds();
  std::uintmax_t before = model_bytes(f.in), after = model_bytes(f.out);
  if (f.json) {
    nlohmann::json j = report_json(report);
    j["input"] = f.in;
    j["output"] = f.out;
    j["precision"] = f.precision;
    j["bytes_before"] = before;
    j["bytes_after"] = after;
    j["seconds"] = seconds;
    fmt::print("{}\n", j.dump(1));
  } else {
    print_report(report);
    if (report.calibration_rows)
      fmt::print("calibration: {} samples ({} left out for NaN/Inf)\n", report.calibration_rows, report.dropped_rows);
    fmt::print("wrote {}: {:.2f} MB -> {:.2f} MB in {:.1f} s\n", f.out, before / 1e6, after / 1e6, seconds);
  }
  return 0;
}

}  // namespace

Command add_quantize_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("quantize", "Quantize a float ONNX model: int8 (QDQ, calibrated), int8-dynamic, int4 (weight-only)");
  auto f = std::make_shared<QuantizeFlags>();
  sub->add_option("model", f->in, "The float ONNX model")->required();
  sub->add_option("-o,--output", f->out, "Where to write the quantized model")->required();
  sub->add_option("--precision", f->precision, "int8 (static, calibrated), int8-dynamic (activations at run time), int4 (weights only, MatMulNBits), fp16 (overflow analysis with --calib), bf16 (weights)")->required();
  sub->add_option("--calib", f->calib, "Calibration data: FILE.npy (samples along axis 0), a folder of .npy (one batch each), or NAME=PATH");
  sub->add_option("--calib-batch", f->calib_batch, "Rows per calibration batch from one .npy file (default 32)")->check(CLI::Range(1, 1 << 20));
  sub->add_option("--calib-samples", f->calib_samples, "Use at most this many calibration samples (default all)");
  sub->add_option("--method", f->method, "Activation ranges: minmax, percentile (default), entropy or mse");
  sub->add_option("--percentile", f->percentile, "Percentile of |x| kept by --method percentile (default 99.99)");
  sub->add_option("--group", f->group, "int4: inputs per scale along K: 32 (default), 64 or 128");
  sub->add_option("--algo", f->algo, "int4: rtn (round to nearest, default) or gptq (needs --calib)");
  sub->add_flag("--zero-point", f->zero_point, "int4: asymmetric groups with zero points (default symmetric)");
  sub->add_option("--accuracy-level", f->accuracy_level,
                  "int4: MatMulNBits accuracy_level, 4 (int8 activations, default, fastest) or 0 (fp32 activations)");
  sub->add_option("--damp", f->damp, "int4 gptq: damping, a fraction of the Hessian's mean diagonal (default 0.01)");
  sub->add_flag("--per-tensor", f->per_tensor, "One weight scale per tensor instead of per output channel");
  sub->add_flag("--symmetric-activations", f->symmetric_activations, "s8 activations with zero point 0 instead of u8 asymmetric");
  sub->add_option("--exclude", f->exclude, "Comma-separated node names to keep in fp32");
  sub->add_option("--op-types", f->op_types, "Comma-separated op types to quantize (default Conv,Gemm,MatMul)");
  sub->add_option("--threads", f->threads, "Threads for calibration (default 1)")->check(CLI::Range(1, 1024));
  sub->add_option("--min-conv-depth", f->min_conv_depth, "int8: convolutions with a smaller GEMM depth (channels x kernel area) stay fp32 (default 16; 0: all)")->check(CLI::Range(0, 1 << 30));
  sub->add_option("--recipe", f->recipe, "Per-node precisions (JSON: {\"lowp_recipe\": 1, \"default\": \"int8\", \"nodes\": {NAME: int8|bf16|fp32}}), e.g. from lowp tune --recipe-out");
  sub->add_flag("--json", f->json, "Print the report as JSON");
  return {sub, [f]() { return run_quantize(*f); }};
}

}  // namespace lowp::cli
