// quant/calibrate.cc
#include "quant/calibrate.h"

#include <cmath>

#include "base/error.h"
#include "quant/observer.h"

namespace lowp::quant {

std::map<std::string, TensorStats> calibrate(const ir::Graph& model,
                                             const std::vector<std::string>& tensors,
                                             CalibrationSet& data, const ModelBackend& backend,
                                             const CalibrationOptions& options,
                                             const CalibrationProgress& progress) {
  std::map<std::string, TensorStats> out;
  if (tensors.empty()) return out;
  auto graph = model.clone();
  graph->outputs.clear();
  for (const std::string& name : tensors) {
    ir::Value* v = graph->find_value(name);
    LOWP_CHECK(v != nullptr, "calibration: the model has no tensor '{}'", name);
    graph->outputs.push_back(v);
  }
  BatchRunner run = backend.make_runner(std::move(graph));

  std::vector<MinMaxObserver> minmax(tensors.size());
  for (std::size_t b = 0; b < data.batches(); ++b) {
    if (progress) progress(1, b, data.batches());
    Tensor batch = data.batch(b);
    if (batch.shape()[0] == 0) continue;
    std::vector<Tensor> values = run(data.input_name(), batch);
    for (std::size_t i = 0; i < tensors.size(); ++i) minmax[i].observe(values[i].values<float>());
  }
  if (data.rows() == 0)
    throw Error(fmt::format("calibration data {} has no sample without NaN or Inf", data.description()));

  std::vector<AbsHistogram> hist;
  for (const MinMaxObserver& m : minmax)
    hist.emplace_back(std::max(std::fabs(m.min()), std::fabs(m.max())), options.bins);
  if (options.method != RangeMethod::minmax) {
    for (std::size_t b = 0; b < data.batches(); ++b) {
      if (progress) progress(2, b, data.batches());
      Tensor batch = data.batch(b);
      if (batch.shape()[0] == 0) continue;
      std::vector<Tensor> values = run(data.input_name(), batch);
      for (std::size_t i = 0; i < tensors.size(); ++i) hist[i].add(values[i].values<float>());
    }
  }
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    TensorStats s;
    s.min = minmax[i].min();
    s.max = minmax[i].max();
    s.non_finite = minmax[i].non_finite();
    int levels = options.symmetric ? 127 : (s.min >= 0 ? 255 : 128);
    float t = choose_threshold(hist[i], options.method, options.percentile, levels);
    s.range = clip_range(s.min, s.max, t);
    out[tensors[i]] = s;
  }
  return out;
}

}  // namespace lowp::quant
