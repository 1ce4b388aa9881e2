// train/checkpoint.h: the training state on disk, so that `lowp train --resume` goes on
// bit for bit as if the run had never stopped.
//
// What a run needs to continue exactly: every parameter, every state tensor (BatchNorm's
// running statistics), the optimizer's buffers and step count, and where it stood (epoch,
// step within it, running sums of the epoch's report). Nothing random is stored: the
// shuffle of an epoch and the dropout masks of a step are derived from the seed and the
// epoch or step number (train/trainer.cc), so they come out the same.
//
// Format (little-endian): "LOWPCKPT", u32 version, then length-prefixed strings and
// numbers: the run's configuration text, the position, and named fp32 tensors. The file
// is written atomically (io/atomic_file.h): a run killed while saving leaves the previous
// checkpoint whole. Loading treats the file as untrusted: every length is checked against
// the bytes left, every tensor against the model's, and a configuration that differs from
// the current run's is an error naming the first setting that differs.
#pragma once

#include <filesystem>
#include <string>

#include "train/model.h"
#include "train/optimizer.h"

namespace lowp::train {

struct TrainPosition {
  long epoch = 0;           // completed epochs
  long step_in_epoch = 0;   // completed steps of the current epoch
  long global_step = 0;     // completed steps in all
  double loss_sum = 0.0;    // of the current epoch's steps so far
  long correct = 0;         // training rows predicted right in the current epoch so far
  long seen = 0;            // training rows of the current epoch so far
  float loss_scale = 0.0f;  // fp16: the loss scaler's state
  long good_steps = 0;
};

// `config`: "key=value" items joined by ';' that must match on resume.
void save_checkpoint(const std::filesystem::path& path, const std::string& config,
                     const TrainPosition& position, Model& model, Optimizer& optimizer);

TrainPosition load_checkpoint(const std::filesystem::path& path, const std::string& config,
                              Model& model, Optimizer& optimizer);

}  // namespace lowp::train
