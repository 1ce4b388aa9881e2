// train/loss.h: the losses, each returning the mean over the batch and, when asked, its
// gradient with respect to the model's output (what Model::backward starts from).
//
// Softmax cross-entropy with label smoothing s over K classes, as
// nn.CrossEntropyLoss(label_smoothing = s): the target of a row is (1 - s) one-hot(label)
// + s / K, loss = -sum_j target_j log softmax(z)_j, gradient (softmax(z) - target) / N.
// MSE, as nn.MSELoss: mean over every element of (y - t)^2, gradient 2 (y - t) / count.
// Sums run in double, rows in order.
#pragma once

#include <cstdint>
#include <span>

#include "train/layer.h"

namespace lowp::train {

struct LossResult {
  double loss = 0.0;        // mean over the batch
  std::size_t correct = 0;  // rows whose largest logit is the label (cross-entropy only)
};

// logits [N, K], labels [N] in [0, K) (not checked here: datasets are validated once).
LossResult softmax_cross_entropy(const Batch& logits, std::span<const std::int32_t> labels,
                                 float label_smoothing, Batch* grad);

// y and target of the same size.
LossResult mse(const Batch& y, std::span<const float> target, Batch* grad);

}  // namespace lowp::train
