// train/optimizer_loops_body.h: the loops of train/optimizer_loops.h, included by its
// baseline and AVX-512 translation units (internal linkage in each).
#pragma once

#include <cmath>
#include <cstddef>

#include "train/optimizer_loops.h"

namespace lowp::train {
namespace {

void adam(float* __restrict w, const float* __restrict grad, float* __restrict m,
          float* __restrict v, std::size_t n, const AdamStep& s) {
  const float l2 = s.l2, shrink = s.shrink, b1 = s.beta1, b2 = s.beta2;
  const float sqrt_c2 = s.sqrt_correction2, eps = s.eps, step = s.step_size;
  for (std::size_t i = 0; i < n; ++i) {
    const float g = grad[i] + l2 * w[i];
    const float wi = w[i] * shrink;
    const float mi = b1 * m[i] + (1.0f - b1) * g;
    const float vi = b2 * v[i] + (1.0f - b2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const float denom = std::sqrt(vi) / sqrt_c2 + eps;
    w[i] = wi - step * mi / denom;
  }
}

void sgd(float* __restrict w, const float* __restrict grad, float* __restrict buf, std::size_t n,
         const SgdStep& s) {
  const float lr = s.lr, decay = s.weight_decay, momentum = s.momentum;
  if (buf == nullptr) {
    for (std::size_t i = 0; i < n; ++i) w[i] -= lr * (grad[i] + decay * w[i]);
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const float g = grad[i] + decay * w[i];
    const float b = s.first ? g : momentum * buf[i] + g;
    buf[i] = b;
    w[i] -= lr * (s.nesterov ? g + momentum * b : b);
  }
}

constexpr OptimizerLoops kThisUnit = {adam, sgd};

}  // namespace
}  // namespace lowp::train
