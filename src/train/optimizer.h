// train/optimizer.h: SGD (momentum, Nesterov), Adam and AdamW with weight decay, the
// learning-rate schedules, and gradient clipping by global norm.
//
// Updates are torch.optim's, element by element in fp32 (train/optimizer.cc writes each
// rule out), so a run can be compared with PyTorch's:
//   SGD:   g += wd w;  b = g (first step) or mu b + g;  g = g + mu b (Nesterov) or b;  w -= lr g
//   Adam:  g += wd w;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
//          w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//   AdamW: w -= lr wd w, then Adam without the g += wd w.
// The learning rate of step t (0-based, counted over the whole run) is a pure function of
// t, so a resumed run gets the same rates. Frozen parameters (Param::trainable false) are
// left alone.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "train/layer.h"

namespace lowp::train {

enum class OptimizerKind { sgd, adam, adamw };
OptimizerKind parse_optimizer(const std::string& name);  // "sgd", "adam", "adamw"
const char* optimizer_name(OptimizerKind kind);

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::adam;
  float lr = 1e-3f;
  float weight_decay = 0.0f;
  float momentum = 0.0f;                            // SGD
  bool nesterov = false;                            // SGD, needs momentum > 0
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;  // Adam, AdamW
};

enum class ScheduleKind { constant, step, cosine };
ScheduleKind parse_schedule(const std::string& name);  // "constant", "step", "cosine"
const char* schedule_name(ScheduleKind kind);

struct ScheduleOptions {
  ScheduleKind kind = ScheduleKind::constant;
  long warmup_steps = 0;  // linear from lr / warmup_steps to lr over the first steps
  long step_size = 1;     // step: lr * gamma^floor((t - warmup) / step_size)
  float gamma = 0.1f;
  long total_steps = 1;  // cosine: from lr at the end of warm-up to min_lr at total_steps
  float min_lr = 0.0f;
};

// Throws lowp::Error naming the option: lr <= 0 or not finite, weight decay < 0, momentum
// outside [0, 1), Nesterov without momentum, betas outside [0, 1), eps <= 0, warm-up < 0,
// step size < 1, gamma <= 0, min_lr < 0.
void validate(const OptimizerOptions& options);
void validate(const ScheduleOptions& options);

float scheduled_lr(float base_lr, const ScheduleOptions& schedule, long step);

class Optimizer {
 public:
  Optimizer(const OptimizerOptions& options, std::vector<Param*> params);
  // One update of every trainable parameter from its grad, at learning rate lr.
  void step(float lr);
  long steps() const { return steps_; }
  const OptimizerOptions& options() const { return options_; }

  // The state a checkpoint must keep: the step count and one or two buffers per
  // parameter (momentum; or m and v), named "<param>.<slot>".
  struct Slot {
    std::string name;
    std::vector<float>* values;
  };
  std::vector<Slot> slots();
  void set_steps(long steps) { steps_ = steps; }

 private:
  OptimizerOptions options_;
  std::vector<Param*> params_;
  std::vector<std::vector<float>> first_, second_;  // momentum or m; v
  long steps_ = 0;
};

// Scales every trainable gradient by max_norm / norm when their global L2 norm exceeds
// max_norm (max_norm > 0); returns the norm before clipping. Squares are summed in double,
// parameters in order.
double clip_grad_norm(std::span<Param* const> params, float max_norm);

}  // namespace lowp::train
