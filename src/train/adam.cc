// train/adam.cc
#include "train/adam.h"

#include <cmath>

#include "base/error.h"

namespace lowp {

Adam::Adam(AdamOptions options, std::size_t tensors) : options_(options), m_(tensors), v_(tensors) {
  LOWP_CHECK(std::isfinite(options.lr) && options.lr > 0.0f,
             "adam: learning rate {} must be finite and positive", options.lr);
  LOWP_CHECK(options.beta1 >= 0.0f && options.beta1 < 1.0f && options.beta2 >= 0.0f &&
                 options.beta2 < 1.0f,
             "adam: betas ({}, {}) must lie in [0, 1)", options.beta1, options.beta2);
  LOWP_CHECK(options.eps > 0.0f, "adam: eps {} must be positive", options.eps);
}

void Adam::update(std::size_t index, std::span<float> params, std::span<const float> grads) {
  LOWP_CHECK(step_ >= 1, "adam: update before begin_step");
  LOWP_CHECK(params.size() == grads.size(), "adam: {} parameters but {} gradients", params.size(),
             grads.size());
  std::vector<float>& m = m_.at(index);
  std::vector<float>& v = v_.at(index);
  if (m.empty()) {
    m.assign(params.size(), 0.0f);
    v.assign(params.size(), 0.0f);
  }
  const float b1 = options_.beta1, b2 = options_.beta2;
  const float correction1 = 1.0f - static_cast<float>(std::pow(b1, step_));
  const float correction2 = 1.0f - static_cast<float>(std::pow(b2, step_));
  const float step_size = options_.lr / correction1;
  const float sqrt_correction2 = std::sqrt(correction2);
  for (std::size_t i = 0; i < params.size(); ++i) {
    m[i] = b1 * m[i] + (1.0f - b1) * grads[i];
    v[i] = b2 * v[i] + (1.0f - b2) * grads[i] * grads[i];
    float denom = std::sqrt(v[i]) / sqrt_correction2 + options_.eps;
    params[i] -= step_size * m[i] / denom;
  }
}

}  // namespace lowp
