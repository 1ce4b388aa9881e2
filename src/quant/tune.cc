// quant/tune.cc
#include "quant/tune.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "base/error.h"
#include "base/timer.h"
#include "quant/recipe.h"

namespace lowp::quant {
namespace {

std::vector<std::int64_t> label_values(const Tensor& labels) {
  std::vector<std::int64_t> out(labels.elements());
  switch (labels.dtype()) {
    case DType::int64:
      for (std::size_t i = 0; i < out.size(); ++i) out[i] = labels.values<std::int64_t>()[i];
      break;
    case DType::int32:
      for (std::size_t i = 0; i < out.size(); ++i) out[i] = labels.values<std::int32_t>()[i];
      break;
    case DType::uint8:
      for (std::size_t i = 0; i < out.size(); ++i) out[i] = labels.values<std::uint8_t>()[i];
      break;
    default:
      throw Error(fmt::format("evaluation labels are {}: give int64, int32 or uint8", dtype_name(labels.dtype())));
  }
  return out;
}

Tensor rows_of(const Tensor& x, std::size_t first, std::size_t count) {
  std::vector<std::int64_t> dims = x.shape().dims();
  std::size_t width = x.elements() / static_cast<std::size_t>(dims[0]);
  dims[0] = static_cast<std::int64_t>(count);
  Tensor out(x.dtype(), Shape(dims), Tensor::Uninitialized{});
  std::size_t item = dtype_bits(x.dtype()) / 8;
  std::memcpy(out.raw(), x.raw() + first * width * item, count * width * item);
  return out;
}

std::size_t weight_bytes(const ir::Graph& g) {
  std::size_t total = 0;
  std::set<const Tensor*> seen;
  for (const auto& n : g.nodes()) {
    for (const ir::Value* v : n->inputs) {
      if (v && v->constant && seen.insert(v->constant.get()).second) total += v->constant->bytes();
    }
  }
  return total;
}

class Tuner {
 public:
  Tuner(const ir::Graph& model, CalibrationSet& calib, const Tensor& x, const Tensor& labels,
        const ModelBackend& backend, const TuneOptions& options, const TuneProgress& progress)
      : model_(model), x_(x), labels_(label_values(labels)), backend_(backend), options_(options),
        progress_(progress) {
    LOWP_CHECK(x.shape().rank() >= 1 && static_cast<std::size_t>(x.shape()[0]) == labels_.size(),
               "evaluation input has {} rows but there are {} labels", x.shape().rank() ? x.shape()[0] : 0,
               labels_.size());
    LOWP_CHECK(!labels_.empty(), "the evaluation set is empty");
    LOWP_CHECK(options.max_drop >= 0, "--max-drop must not be negative, got {}", options.max_drop);
    LOWP_CHECK(model.inputs.size() == 1, "tune evaluates models with one input; this one has {}", model.inputs.size());
    say(fmt::format("calibrating int8 ranges on {}", calib.description()));
    // The search measures every layer in int8, the small-depth convolutions included.
    int8_ = options.int8;
    int8_.min_conv_depth = 0;
    stats_ = calibrate_int8(model, calib, backend, int8_);
  }

  double elapsed() const { return clock_.seconds(); }
  bool out_of_time() const { return elapsed() > options_.time_limit_seconds; }

  void say(const std::string& s) const {
    if (progress_) progress_(fmt::format("[{:6.1f} s] {}", elapsed(), s));
  }

  // The model for an assignment (layers not named stay fp32).
  std::unique_ptr<ir::Graph> build(const std::map<std::string, std::string>& layers) const {
    QuantizeReport ignored;
    return build_mixed_precision(model_, layers, stats_, int8_, ignored);
  }

  // Top-1 accuracy over the first `rows` evaluation rows.
  double accuracy(const ir::Graph& g, std::size_t rows) const {
    auto graph = g.clone();
    BatchRunner run = backend_.make_runner(std::move(graph));
    std::size_t correct = 0;
    const std::string& input = g.inputs[0]->name;
    for (std::size_t first = 0; first < rows; first += options_.eval_batch) {
      std::size_t count = std::min(options_.eval_batch, rows - first);
      std::vector<Tensor> out = run(input, rows_of(x_, first, count));
      const Tensor& logits = out.at(0);
      LOWP_CHECK(logits.dtype() == DType::float32 && logits.elements() % count == 0,
                 "the model's first output is not float logits with one row per sample");
      std::size_t classes = logits.elements() / count;
      auto v = logits.values<float>();
      for (std::size_t r = 0; r < count; ++r) {
        const float* row = v.data() + r * classes;
        auto top = static_cast<std::int64_t>(std::max_element(row, row + classes) - row);
        correct += top == labels_[first + r];
      }
    }
    return 100.0 * static_cast<double>(correct) / static_cast<double>(rows);
  }

  // Batch-1 latency: the best median of three rounds of >= 0.1 s each.
  double latency_us(const ir::Graph& g) const {
    BatchRunner run = backend_.make_runner(g.clone());
    Tensor one = rows_of(x_, 0, 1);
    const std::string& input = g.inputs[0]->name;
    for (int i = 0; i < 3; ++i) run(input, one);
    double best = 1e30;
    for (int round = 0; round < 3; ++round) {
      std::vector<double> times;
      Stopwatch total;
      while (total.seconds() < 0.1 || times.size() < 10) {
        Stopwatch t;
        run(input, one);
        times.push_back(t.seconds() * 1e6);
      }
      std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2), times.end());
      best = std::min(best, times[times.size() / 2]);
    }
    return best;
  }

  TuneCandidate measure(const std::string& label, const std::map<std::string, std::string>& layers, double fp32_acc) {
    auto g = build(layers);
    TuneCandidate c;
    c.label = label;
    c.layers = layers;
    c.accuracy = accuracy(*g, labels_.size());
    c.latency_us = latency_us(*g);
    c.weight_bytes = weight_bytes(*g);
    c.within_budget = fp32_acc - c.accuracy <= options_.max_drop + 1e-9;
    say(fmt::format("{}: accuracy {:.2f}% (drop {:+.2f}), {:.1f} us, {:.0f} KB{}", label, c.accuracy,
                    fp32_acc - c.accuracy, c.latency_us, c.weight_bytes / 1e3, c.within_budget ? "" : "  [over budget]"));
    return c;
  }

  const ir::Graph& model_;
  const Tensor& x_;
  std::vector<std::int64_t> labels_;
  const ModelBackend& backend_;
  const TuneOptions& options_;
  const TuneProgress& progress_;
  std::map<std::string, TensorStats> stats_;
  Int8Options int8_;
  Stopwatch clock_;
};

std::string describe(const std::map<std::string, std::string>& layers) {
  std::map<std::string, int> count;
  for (const auto& [n, p] : layers) count[p]++;
  std::string s;
  for (const auto& [p, c] : count) s += fmt::format("{}{} {}", s.empty() ? "" : ", ", c, p);
  std::string others;
  for (const auto& [n, p] : layers) {
    if (p != "int8") others += fmt::format("{}{}={}", others.empty() ? "" : " ", n, p);
  }
  return others.empty() ? s : s + " (" + others + ")";
}

}  // namespace

TuneResult tune(const ir::Graph& model, CalibrationSet& calibration, const Tensor& eval_x, const Tensor& labels,
                const ModelBackend& backend, const TuneOptions& options, const TuneProgress& progress) {
  Tuner t(model, calibration, eval_x, labels, backend, options, progress);
  TuneResult r;
  std::map<std::string, std::string> none;
  TuneCandidate fp32 = t.measure("fp32", none, 0.0);  // drop relative to itself is logged as negative
  r.fp32_accuracy = fp32.accuracy;
  r.fp32_latency_us = fp32.latency_us;
  r.fp32_weight_bytes = fp32.weight_bytes;
  fp32.within_budget = true;
  r.candidates.push_back(fp32);

  // The layers int8 can take, in model order.
  QuantizeReport report;
  (void)quantize_int8_with(model, t.stats_, t.int8_, report);
  std::vector<std::pair<std::string, std::string>> layers;  // name, op
  for (const auto& d : report.nodes) {
    if (d.precision == "int8") layers.push_back({d.node, d.op_type});
  }
  if (layers.empty()) {
    t.say("no layer can be quantized to int8: the fp32 model is the answer");
    r.best = 0;
    r.met_budget = true;
    r.best_model = model.clone();
    return r;
  }

  // Sensitivity, one layer at a time in int8.
  std::size_t subset = std::min<std::size_t>(options.sensitivity_samples, t.labels_.size());
  double base_subset = subset == t.labels_.size() ? r.fp32_accuracy : t.accuracy(*t.build(none), subset);
  for (const auto& [name, op] : layers) {
    if (t.out_of_time()) {
      r.timed_out = true;
      break;
    }
    double acc = t.accuracy(*t.build({{name, "int8"}}), subset);
    r.sensitivity.push_back({name, op, base_subset - acc});
    t.say(fmt::format("sensitivity {} ({}): {:+.2f} points in int8 alone", name, op, base_subset - acc));
  }
  std::vector<LayerSensitivity> by_drop = r.sensitivity;
  std::stable_sort(by_drop.begin(), by_drop.end(), [](const auto& a, const auto& b) { return a.drop > b.drop; });
  r.sensitivity = by_drop;

  // All int8, then the most sensitive layers out of int8 until within budget.
  std::map<std::string, std::string> current;
  for (const auto& [name, op] : layers) current[name] = "int8";
  TuneCandidate cur = t.measure("all int8", current, r.fp32_accuracy);
  r.candidates.push_back(cur);
  for (const LayerSensitivity& s : by_drop) {
    if (cur.within_budget || t.out_of_time()) break;
    for (const std::string& fallback : options.fallbacks) {
      auto next = current;
      next[s.node] = fallback;
      TuneCandidate c = t.measure(describe(next), next, r.fp32_accuracy);
      r.candidates.push_back(c);
      if (c.accuracy >= cur.accuracy || c.within_budget) {
        current = next;
        cur = c;
        break;
      }
    }
  }
  // Speed: a layer out of int8 that is measurably faster (3%) and still within budget.
  if (cur.within_budget) {
    for (const auto& [name, op] : layers) {
      if (t.out_of_time()) break;
      if (current[name] != "int8") continue;
      for (const std::string& fallback : options.fallbacks) {
        auto next = current;
        next[name] = fallback;
        TuneCandidate c = t.measure(describe(next), next, r.fp32_accuracy);
        r.candidates.push_back(c);
        if (c.within_budget && c.latency_us < 0.97 * cur.latency_us) {
          current = next;
          cur = c;
          break;
        }
      }
    }
  }
  if (t.out_of_time()) r.timed_out = true;

  // Pareto set: no other candidate at least as good on accuracy, latency and size, and
  // better on one.
  for (auto& c : r.candidates) {
    c.pareto = std::none_of(r.candidates.begin(), r.candidates.end(), [&](const TuneCandidate& o) {
      bool no_worse = o.accuracy >= c.accuracy && o.latency_us <= c.latency_us && o.weight_bytes <= c.weight_bytes;
      bool better = o.accuracy > c.accuracy || o.latency_us < c.latency_us || o.weight_bytes < c.weight_bytes;
      return no_worse && better;
    });
  }
  // The fastest quantized candidate (index 0 is fp32) within the budget.
  int best = -1;
  for (std::size_t i = 1; i < r.candidates.size(); ++i) {
    const auto& c = r.candidates[i];
    if (c.within_budget && (best < 0 || c.latency_us < r.candidates[static_cast<std::size_t>(best)].latency_us))
      best = static_cast<int>(i);
  }
  // Always an answer. The fp32 model is trivially within budget but is no answer to
  // "make it smaller and faster": when no other model met the budget, the most accurate
  // quantized one is returned and met_budget says it missed.
  r.met_budget = best > 0;
  if (best < 1) {
    best = 1;
    for (std::size_t i = 2; i < r.candidates.size(); ++i) {
      if (r.candidates[i].accuracy > r.candidates[static_cast<std::size_t>(best)].accuracy) best = static_cast<int>(i);
    }
  }
  r.best = best;
  r.best_model = t.build(r.candidates[static_cast<std::size_t>(best)].layers);
  return r;
}

}  // namespace lowp::quant
