// tools/lowp/model_bench.cc
//
// Timing: load = Session construction from the file (import, optimize), median of 5;
// first run = the first inference, which specializes the graph to the input shapes and
// packs the weights (ORT does that part inside its load); then 2 more warm-up runs, then consecutive runs until
// min_seconds have passed (at least 10); latency median and p90 of those runs;
// throughput = batch / median latency. Peak RSS is the process's ru_maxrss at the end.
#include "model_bench.h"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/timer.h"
#include "model_inputs.h"
#include "runtime/session.h"

namespace lowp::cli {
namespace {

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  std::size_t i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux reports KiB
}

}  // namespace

int run_model_bench(const ModelBenchOptions& o) {
  LOWP_CHECK(o.threads >= 1, "--threads must be >= 1");
  LOWP_CHECK(o.batch >= 1, "--batch must be >= 1");
  runtime::SessionOptions so;
  so.threads = o.threads;
  std::vector<double> loads;
  std::unique_ptr<runtime::Session> session;
  for (int i = 0; i < 5; ++i) {
    session.reset();
    Stopwatch w;
    session = runtime::Session::load(o.model, so);
    loads.push_back(w.seconds());
  }
  std::map<std::string, std::int64_t> dims = parse_dims(o.dims);
  // --batch sets the dim named "batch"; a model without one (PyTorch exports often call it
  // N, lowp train's exports do) gets it on each input's leading symbolic dim instead, rather
  // than the default below for unknown symbols.
  bool has_batch_symbol = false;
  for (const ir::Value* v : session->graph().inputs) {
    if (!v->type.dims) continue;
    for (const ir::Dim& d : *v->type.dims) has_batch_symbol = has_batch_symbol || d.symbol == "batch";
  }
  dims.emplace("batch", o.batch);
  if (!has_batch_symbol) {
    for (const ir::Value* v : session->graph().inputs) {
      if (!v->type.dims || v->type.dims->empty()) continue;
      const ir::Dim& lead = v->type.dims->front();
      if (!lead.is_known() && !lead.symbol.empty()) dims.emplace(lead.symbol, o.batch);
    }
  }
  // Symbols other than batch (sequence...) default to 128 when not given, as ort_bench.py.
  LoadedInputs inputs = synthetic_inputs(session->graph(), dims, 128);
  auto named = inputs.named();
  // The first run specializes the graph to these shapes and packs the weights.
  Stopwatch first_run;
  session->run(named);
  double first = first_run.seconds();
  for (int i = 0; i < 2; ++i) session->run(named);
  std::vector<double> times;
  Stopwatch total;
  while (times.size() < 10 || total.seconds() < o.min_seconds) {
    Stopwatch w;
    session->run(named);
    times.push_back(w.seconds());
  }
  double median = percentile(times, 0.5), p90 = percentile(times, 0.9);
  double load = percentile(loads, 0.5);
  double rss = peak_rss_mib();
  std::int64_t batch = inputs.tensors.empty() || inputs.tensors[0].shape().rank() == 0 ? 1 : inputs.tensors[0].shape()[0];
  if (o.json) {
    nlohmann::json j = {{"model", o.model},
                        {"threads", o.threads},
                        {"batch", batch},
                        {"load_ms", load * 1e3},
                        {"first_run_ms", first * 1e3},
                        {"latency_us_median", median * 1e6},
                        {"latency_us_p90", p90 * 1e6},
                        {"runs", times.size()},
                        {"throughput_sps", static_cast<double>(batch) / median},
                        {"peak_rss_mib", rss}};
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print("{}: threads {} batch {}: latency median {:.4g} ms, p90 {:.4g} ms ({} runs), "
               "throughput {:.1f}/s, load {:.3g} ms, first run {:.3g} ms, peak RSS {:.1f} MiB\n",
               o.model, o.threads, batch, median * 1e3, p90 * 1e3, times.size(),
               static_cast<double>(batch) / median, load * 1e3, first * 1e3, rss);
  }
  return 0;
}

}  // namespace lowp::cli
