// train/trainer.h: the training loop of `lowp train`: mini-batches reshuffled every
// epoch, forward, loss, backward, clipping, the optimizer at the scheduled rate, progress,
// evaluation after each epoch, checkpoints and resume.
//
// Reproducibility: the shuffle of epoch e is Random(mix(seed, e)) over 0..n-1 and the
// dropout masks of global step s come from mix(seed, s), so nothing random has to be
// saved, and a run resumed from a checkpoint computes exactly the steps it would have
// computed without stopping. With the layers' determinism (train/layer.h), the same seed
// and data give the same weights bit for bit at any thread count.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "train/loss_scaler.h"
#include "train/model.h"
#include "train/optimizer.h"

namespace lowp::train {

// Labelled samples: x [rows][sample_shape...] (images NHWC), labels [rows].
struct Dataset {
  std::vector<int> sample_shape;
  std::vector<float> x;
  std::vector<std::int32_t> labels;
  std::size_t rows() const { return labels.size(); }
};

// Throws lowp::Error naming `what` ("training set") and the rule: no rows, a sample count
// that differs between x and labels, a label outside [0, classes), NaN or Inf in x.
void validate_dataset(const Dataset& data, int classes, const std::string& what);

struct TrainOptions {
  int epochs = 1;
  int batch = 64;
  std::uint64_t seed = 42;
  OptimizerOptions optimizer;
  ScheduleOptions schedule;  // total_steps is set from epochs and batch
  float clip_norm = 0.0f;    // > 0: clip gradients to this global L2 norm
  float label_smoothing = 0.0f;
  std::filesystem::path checkpoint;  // where --save-every writes and --resume reads
  long save_every_steps = 0;
  int save_every_epochs = 0;
  bool resume = false;
  long stop_after_steps = 0;  // > 0: stop after this global step without saving (a kill)
  long progress_every = 100;  // steps between progress reports
  bool fp16 = false;          // fp16 activations and gradients with dynamic loss scaling
  // bf16: matrix work on the bf16 kernels (Context::matrix); evaluation stays fp32, as
  // the exported model runs.
  MatrixPrecision matrix = MatrixPrecision::fp32;
  LossScalerOptions loss_scaler;
};

struct Progress {
  int epoch = 0, epochs = 0;  // 1-based
  long step = 0, steps_per_epoch = 0;
  double loss = 0.0;      // mean of the steps since the last report
  double accuracy = 0.0;  // training rows predicted right since the last report
  double samples_per_second = 0.0;
  float lr = 0.0f;
};

struct EpochResult {
  int epoch = 0;
  double train_loss = 0.0, train_accuracy = 0.0;
  double test_loss = 0.0, test_accuracy = 0.0;
  double seconds = 0.0;      // training steps only, evaluation excluded (wall clock)
  double cpu_seconds = 0.0;  // the same span in CPU time of the whole process (all threads)
  double samples_per_second = 0.0;
};

struct TrainResult {
  std::vector<EpochResult> epochs;  // those run by this call
  long steps = 0;                   // global steps done at the end
  long resumed_from_step = -1;      // -1: started fresh
  bool stopped = false;             // stop_after_steps ended the run
  double seconds = 0.0;
  long skipped_steps = 0;         // fp16: steps skipped for an overflow
  float final_loss_scale = 0.0f;  // fp16
};

struct TrainCallbacks {
  std::function<void(const Progress&)> on_progress;
  std::function<void(const EpochResult&)> on_epoch;
  std::function<void(const std::string&)> on_message;  // checkpoints, resume, fp16 overflows
};

// Trains `model` (whose input transform, if any, is applied to both sets first).
TrainResult train_model(Model& model, const Dataset& train, const Dataset& test,
                        const TrainOptions& options, ThreadPool* pool,
                        const TrainCallbacks& callbacks = {});

struct Evaluation {
  double loss = 0.0, accuracy = 0.0;
  std::vector<std::int32_t> predictions;
};
// Inference mode over `data` (already transformed: the model's trained layers only).
Evaluation evaluate(Model& model, const Dataset& data, int batch, ThreadPool* pool);

// The text a checkpoint stores to refuse resuming a different run.
std::string run_config(Model& model, const TrainOptions& options, std::size_t train_rows);

}  // namespace lowp::train
