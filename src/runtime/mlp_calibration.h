// runtime/mlp_calibration.h: the calibration pass of static int8 quantization for an Mlp.
//
// Runs the float network over calibration rows in batches (memory stays bounded however
// many rows are given) and observes the input of every layer with a MinMaxObserver; the
// ranges become the u8 scale and zero point of each layer's input.
#pragma once

#include <cstddef>
#include <vector>

#include "base/thread_pool.h"
#include "quant/observer.h"
#include "runtime/mlp.h"

namespace lowp {

struct MlpCalibration {
  std::vector<AffineParams> layer_inputs;  // [layer]
  std::size_t rows = 0;
  std::size_t non_finite = 0;  // NaN / Inf values seen (and left out of the ranges)
};

// Throws lowp::Error when rows is 0 or no finite value was seen for some layer.
MlpCalibration calibrate_mlp(const Mlp& mlp, const float* x, std::size_t rows,
                             ThreadPool* pool = nullptr);

}  // namespace lowp
