// runtime/mlp_calibration.cc
#include "runtime/mlp_calibration.h"

#include <algorithm>

#include "base/error.h"

namespace lowp {

MlpCalibration calibrate_mlp(const Mlp& mlp, const float* x, std::size_t rows, ThreadPool* pool) {
  LOWP_CHECK(rows >= 1, "calibration: no calibration rows");
  constexpr std::size_t kBatch = 256;
  std::vector<MinMaxObserver> observers(mlp.layers.size());
  std::vector<std::vector<float>> inputs;
  std::vector<float> logits;
  const std::size_t features = static_cast<std::size_t>(mlp.inputs());
  for (std::size_t start = 0; start < rows; start += kBatch) {
    std::size_t count = std::min(kBatch, rows - start);
    logits.resize(count * static_cast<std::size_t>(mlp.outputs()));
    mlp_forward(mlp, x + start * features, count, logits.data(), pool, &inputs);
    for (std::size_t l = 0; l < observers.size(); ++l) observers[l].observe(inputs[l]);
  }
  MlpCalibration calibration;
  calibration.rows = rows;
  for (std::size_t l = 0; l < observers.size(); ++l) {
    const MinMaxObserver& o = observers[l];
    LOWP_CHECK(o.seen() > 0, "calibration: the input of layer {} held no finite value", l);
    calibration.non_finite += o.non_finite();
    calibration.layer_inputs.push_back(choose_u8_params(o.min(), o.max()));
  }
  return calibration;
}

}  // namespace lowp
