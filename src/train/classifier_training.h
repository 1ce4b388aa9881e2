// train/classifier_training.h: trains an Mlp as a classifier with softmax cross-entropy and
// Adam on mini-batches, reshuffled every epoch from a fixed seed.
//
// The backward pass is written out by hand for the MLP (dense layers and ReLU); the
// general automatic differentiation of later work replaces it. Same seed, same data and
// same thread count give the same weights bit for bit; the forward GEMMs split rows across
// threads without changing any row's result, and every reduction here is sequential, so
// the thread count does not change them either.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "base/thread_pool.h"
#include "runtime/mlp.h"
#include "train/adam.h"

namespace lowp {

struct LabelledData {
  const float* x = nullptr;              // [rows][features]
  const std::uint8_t* labels = nullptr;  // [rows], each < classes
  std::size_t rows = 0;
};

struct TrainOptions {
  int epochs = 10;
  int batch = 64;
  std::uint64_t seed = 42;
  AdamOptions adam;
};

struct EpochReport {
  int epoch = 0;  // 1-based
  int epochs = 0;
  double train_loss = 0.0;     // mean cross-entropy over the epoch's batches
  double test_accuracy = 0.0;  // after the epoch
  double seconds = 0.0;        // training time of the epoch
};

// Throws lowp::Error on empty data, a label >= mlp.outputs(), NaN or Inf in the features,
// epochs < 1 or batch < 1.
void train_classifier(Mlp& mlp, const LabelledData& train, const LabelledData& test,
                      const TrainOptions& options, ThreadPool* pool,
                      const std::function<void(const EpochReport&)>& on_epoch);

// Fraction of rows whose largest logit is the label.
double classifier_accuracy(const Mlp& mlp, const LabelledData& data, ThreadPool* pool);

// Gradients of the mean loss with respect to every layer's weight and bias.
struct MlpGradients {
  std::vector<std::vector<float>> weight, bias;  // [layer][...], shaped as the layer's
};
// Activations of one batch, kept between steps so nothing is reallocated.
struct MlpWorkspace {
  std::vector<std::vector<float>> inputs;   // [layer] input of the layer, [rows][in]
  std::vector<std::vector<float>> outputs;  // [layer] output after its activation
  std::vector<float> grad_out, grad_in;
};

// Forward and backward pass of one batch: returns the mean softmax cross-entropy and fills
// grads. Inputs are not validated (train_classifier validates once).
double mlp_gradients(const Mlp& mlp, const float* x, const std::uint8_t* labels, std::size_t rows,
                     MlpGradients& grads, MlpWorkspace& ws, ThreadPool* pool);

// Mean softmax cross-entropy of logits [rows][classes]; when grad is given it receives
// d(mean loss)/d(logits).
double softmax_cross_entropy(const float* logits, const std::uint8_t* labels, std::size_t rows,
                             int classes, float* grad);

}  // namespace lowp
