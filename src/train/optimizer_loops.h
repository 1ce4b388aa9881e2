// train/optimizer_loops.h: the element loops of the optimizers' update (train/optimizer.h),
// one pass over every parameter at every step: for the CNN's 420 000 parameters, Adam's
// square root and division per element cost more than BatchNorm's passes when built for
// the baseline's 4 lanes. Built for the baseline and for AVX-512 from one body
// (optimizer_loops_body.h, no multiply-add contraction, no errno on sqrt): the same bits
// from both, picked at run time by the ISA level (LOWP_ISA respected).
#pragma once

#include <cstddef>
#include <span>

#include "kernels/dispatch.h"

namespace lowp::train {

struct AdamStep {
  float l2 = 0.0f;      // L2 weight decay added to the gradient (Adam)
  float shrink = 1.0f;  // decoupled decay: w *= shrink first (AdamW)
  float beta1 = 0.9f, beta2 = 0.999f;
  float sqrt_correction2 = 1.0f;  // sqrt(1 - beta2^t)
  float eps = 1e-8f;
  float step_size = 0.0f;  // lr / (1 - beta1^t)
};

struct SgdStep {
  float lr = 0.0f, weight_decay = 0.0f, momentum = 0.0f;
  bool nesterov = false;
  bool first = false;  // the first step: the momentum buffer starts as the gradient
};

struct OptimizerLoops {
  // m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; w -= step m / (sqrt(v) / sqrt_c2 + eps),
  // g = grad + l2 w, w *= shrink before.
  void (*adam)(float* w, const float* grad, float* m, float* v, std::size_t n, const AdamStep& s);
  // buf (null: no momentum) as torch.optim.SGD.
  void (*sgd)(float* w, const float* grad, float* buf, std::size_t n, const SgdStep& s);
};

std::span<const KernelEntry<const OptimizerLoops*>> optimizer_loop_list();
const OptimizerLoops& optimizer_loops();

extern const OptimizerLoops kOptimizerLoopsBaseline;
extern const OptimizerLoops kOptimizerLoopsAvx512;

}  // namespace lowp::train
