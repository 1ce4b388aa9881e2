// train/loss.cc
#include "train/loss.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace lowp::train {

LossResult softmax_cross_entropy(const Batch& logits, std::span<const std::int32_t> labels,
                                 float label_smoothing, Batch* grad) {
  LOWP_CHECK(logits.shape.size() == 2, "cross-entropy: logits {} are not [N, classes]",
             shape_str(logits.shape));
  const std::size_t n = static_cast<std::size_t>(logits.shape[0]);
  const std::size_t k = static_cast<std::size_t>(logits.shape[1]);
  LOWP_CHECK(labels.size() == n, "cross-entropy: {} labels for {} rows of logits", labels.size(),
             n);
  LOWP_CHECK(label_smoothing >= 0.0f && label_smoothing < 1.0f,
             "cross-entropy: label smoothing {} must lie in [0, 1)", label_smoothing);
  if (grad != nullptr) grad->resize(logits.shape);
  const double s = label_smoothing;
  const double off = s / static_cast<double>(k), on = 1.0 - s + off;
  LossResult result;
  std::vector<double> p(k);
  for (std::size_t r = 0; r < n; ++r) {
    const float* z = logits.data.data() + r * k;
    std::size_t best = 0;
    for (std::size_t j = 1; j < k; ++j) best = z[j] > z[best] ? j : best;
    result.correct += best == static_cast<std::size_t>(labels[r]);
    const double zmax = z[best];
    double sum = 0.0;
    for (std::size_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(z[j]) - zmax);
    const double log_sum = std::log(sum);
    double row_loss = 0.0;
    for (std::size_t j = 0; j < k; ++j) {
      const double log_p = static_cast<double>(z[j]) - zmax - log_sum;
      const double target = j == static_cast<std::size_t>(labels[r]) ? on : off;
      row_loss -= target * log_p;
      p[j] = std::exp(log_p) - target;
    }
    result.loss += row_loss;
    if (grad != nullptr) {
      float* g = grad->data.data() + r * k;
      for (std::size_t j = 0; j < k; ++j) g[j] = static_cast<float>(p[j] / static_cast<double>(n));
    }
  }
  result.loss /= static_cast<double>(n);
  return result;
}

LossResult mse(const Batch& y, std::span<const float> target, Batch* grad) {
  LOWP_CHECK(y.data.size() == target.size(), "mse: {} outputs but {} targets", y.data.size(),
             target.size());
  LOWP_CHECK(!target.empty(), "mse: empty batch");
  if (grad != nullptr) grad->resize(y.shape);
  const double inv = 1.0 / static_cast<double>(target.size());
  LossResult result;
  for (std::size_t i = 0; i < target.size(); ++i) {
    const double d = static_cast<double>(y.data[i]) - target[i];
    result.loss += d * d;
    if (grad != nullptr) grad->data[i] = static_cast<float>(2.0 * d * inv);
  }
  result.loss *= inv;
  return result;
}

}  // namespace lowp::train
