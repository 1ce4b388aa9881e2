// train/loss_scaler.h: fp16 training's two parts: activations and gradients kept in
// fp16 between layers, and the dynamic loss scaling that keeps small gradients from
// flushing to zero in fp16's range.
//
// What `--precision fp16` changes (docs/design.md "Training"): every activation a layer
// passes on, and every gradient passed back, is rounded to fp16 (round to nearest even,
// beyond 65504 -> Inf, as the hardware conversion does; the vectorized convert kernels),
// so the run has fp16's range and precision where an fp16 run stores values. Master
// weights, optimizer state, accumulation inside the matrix kernels and the loss stay
// fp32, as in PyTorch's autocast + GradScaler. The matrix work itself still runs the fp32
// kernels: lowp has no fp16 convolution kernel, so this mode is for accuracy, not speed.
//
// Dynamic loss scaling, as torch.cuda.amp.GradScaler: the loss gradient is multiplied by
// the scale S (initially 2^16) before the backward pass; when any gradient comes out Inf
// or NaN, the step is skipped and S halves; after `growth_interval` (2000) good steps in
// a row S doubles; otherwise the gradients are divided by S and the optimizer steps. Each
// overflow is reported with the layer whose backward pass first produced a non-finite
// value (or the loss gradient itself, when S times it overflows).
#pragma once

#include <span>
#include <string>

#include "train/layer.h"

namespace lowp::train {

enum class Storage { fp32, fp16 };

// Rounds every value to the nearest fp16 (returned as float) in place.
void round_to_fp16(std::span<float> values, ThreadPool* pool);
bool all_finite(std::span<const float> values);

struct LossScalerOptions {
  float initial_scale = 65536.0f;  // 2^16
  long growth_interval = 2000;
};

class LossScaler {
 public:
  explicit LossScaler(const LossScalerOptions& options);
  float scale() const { return scale_; }
  long good_steps() const { return good_steps_; }
  // After a backward pass: overflow halves the scale (the caller skips the step); a good
  // step counts toward doubling it.
  void update(bool overflow);
  // For checkpoints.
  void restore(float scale, long good_steps) {
    scale_ = scale;
    good_steps_ = good_steps;
  }

 private:
  LossScalerOptions options_;
  float scale_;
  long good_steps_ = 0;
};

}  // namespace lowp::train
