// tools/lowp/train_data.h: the data sets `lowp train` reads, as train::Dataset.
//
// fashion-mnist: the four IDX files (io/idx.h), pixels scaled to [0, 1] then normalized
// as (x - 0.2860) / 0.3530 (the data set's mean and standard deviation, torchvision's
// Normalize in the PyTorch script of the same CNN), images [28, 28, 1].
// A folder of .npy files: train_x.npy, train_y.npy, test_x.npy, test_y.npy. x is float32
// (used as it is) or uint8 (scaled to [0, 1]); [N, C, H, W] images become NHWC samples,
// [N, H, W] ones [H, W, 1], [N, F] vectors stay. y holds integer class labels (int64,
// int32 or uint8), [N]. Every count, dtype and rank is checked with an error naming the
// file.
#pragma once

#include <filesystem>
#include <string>

#include "train/trainer.h"

namespace lowp::cli {

inline constexpr float kFashionMnistMean = 0.2860f;
inline constexpr float kFashionMnistStd = 0.3530f;

struct TrainData {
  train::Dataset train, test;
  std::string description;  // for the report
};

// `source` is "fashion-mnist" or a folder. limit_train / limit_test > 0 keep only the
// first rows of each split (quick runs, tests).
TrainData load_train_data(const std::string& source, std::size_t limit_train,
                          std::size_t limit_test);

// Reshapes single-channel image samples [H, W, 1] to vectors [H * W] (for the MLPs);
// other shapes are left alone (the model then reports the mismatch).
void flatten_samples(train::Dataset& data);

}  // namespace lowp::cli
