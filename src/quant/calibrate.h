// quant/calibrate.h: the ranges of a model's activations over a calibration set.
//
// The chosen tensors become extra outputs of a copy of the model, which then runs over the
// calibration batches twice (quant/range_estimator.h): min and max first, then a
// histogram of |x|. Nothing but those summaries is kept between batches.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "quant/calibration_set.h"
#include "quant/model_runner.h"
#include "quant/range_estimator.h"

namespace lowp::quant {

struct CalibrationOptions {
  RangeMethod method = RangeMethod::percentile;
  double percentile = 99.99;
  int bins = 2048;
  bool symmetric = false;  // thresholds for s8 symmetric tensors (128 levels a side)
};

struct TensorStats {
  float min = 0, max = 0;  // as observed (finite values)
  Range range;             // after the method's clipping
  std::size_t non_finite = 0;  // NaN / Inf values produced inside the model
};

// progress(pass, batch, batches), pass 1 or 2.
using CalibrationProgress = std::function<void(int, std::size_t, std::size_t)>;

std::map<std::string, TensorStats> calibrate(const ir::Graph& model,
                                             const std::vector<std::string>& tensors,
                                             CalibrationSet& data, const ModelBackend& backend,
                                             const CalibrationOptions& options,
                                             const CalibrationProgress& progress = {});

}  // namespace lowp::quant
