// train/classifier_training.cc
#include "train/classifier_training.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "base/error.h"
#include "base/random.h"
#include "base/timer.h"
#include "kernels/gemm/gemm.h"
#include "kernels/softmax/softmax.h"

namespace lowp {
namespace {

void validate(const LabelledData& data, int features, int classes, const char* what) {
  LOWP_CHECK(data.rows >= 1 && data.x != nullptr && data.labels != nullptr,
             "training: the {} set is empty", what);
  for (std::size_t r = 0; r < data.rows; ++r) {
    LOWP_CHECK(data.labels[r] < classes, "training: {} label {} at row {} is not below {} classes",
               what, data.labels[r], r, classes);
  }
  std::size_t n = data.rows * static_cast<std::size_t>(features);
  for (std::size_t i = 0; i < n; ++i) {
    LOWP_CHECK(std::isfinite(data.x[i]), "training: {} feature {} of row {} is {}", what,
               i % static_cast<std::size_t>(features), i / static_cast<std::size_t>(features),
               data.x[i]);
  }
}

}  // namespace

double softmax_cross_entropy(const float* logits, const std::uint8_t* labels, std::size_t rows,
                             int classes, float* grad) {
  std::vector<float> p(rows * static_cast<std::size_t>(classes));
  softmax(logits, rows, static_cast<std::size_t>(classes), p.data());
  double loss = 0.0;
  for (std::size_t r = 0; r < rows; ++r) {
    float pl = p[r * static_cast<std::size_t>(classes) + labels[r]];
    loss -= std::log(std::max(pl, 1e-30f));
  }
  if (grad != nullptr) {
    float inv = 1.0f / static_cast<float>(rows);
    for (std::size_t r = 0; r < rows; ++r) {
      for (int j = 0; j < classes; ++j) {
        std::size_t i = r * static_cast<std::size_t>(classes) + static_cast<std::size_t>(j);
        grad[i] = (p[i] - (j == labels[r] ? 1.0f : 0.0f)) * inv;
      }
    }
  }
  return loss / static_cast<double>(rows);
}

double mlp_gradients(const Mlp& mlp, const float* x, const std::uint8_t* labels, std::size_t rows,
                     MlpGradients& grads, MlpWorkspace& ws, ThreadPool* pool) {
  const std::size_t layers = mlp.layers.size();
  const std::size_t features = static_cast<std::size_t>(mlp.inputs());
  const int classes = mlp.outputs();
  ws.inputs.resize(layers);
  ws.outputs.resize(layers);
  grads.weight.resize(layers);
  grads.bias.resize(layers);
  if (ws.inputs[0].data() != x) ws.inputs[0].assign(x, x + rows * features);

  // Forward, keeping every layer's input.
  for (std::size_t l = 0; l < layers; ++l) {
    const LinearLayer& layer = mlp.layers[l];
    bool last = l + 1 == layers;
    PackedGemmWeights w = pack_gemm_f32(layer.weight.data(), layer.out, layer.in);
    ws.outputs[l].resize(rows * static_cast<std::size_t>(layer.out));
    GemmArgs args;
    args.m = static_cast<int>(rows);
    args.a = ws.inputs[l].data();
    args.lda = static_cast<std::size_t>(layer.in);
    args.w = &w;
    args.bias = layer.bias.data();
    args.act = last ? Activation::none : Activation::relu;
    args.c = ws.outputs[l].data();
    args.ldc = static_cast<std::size_t>(layer.out);
    gemm(args, pool);
    if (!last) ws.inputs[l + 1] = ws.outputs[l];
  }

  // Loss and its gradient with respect to the logits.
  ws.grad_out.resize(rows * static_cast<std::size_t>(classes));
  double loss = softmax_cross_entropy(ws.outputs[layers - 1].data(), labels, rows, classes,
                                      ws.grad_out.data());

  // Backward, last layer first; grad_out holds d loss / d (this layer's pre-activation).
  for (std::size_t l = layers; l-- > 0;) {
    const LinearLayer& layer = mlp.layers[l];
    const std::size_t in = static_cast<std::size_t>(layer.in);
    const std::size_t out = static_cast<std::size_t>(layer.out);
    std::vector<float>& gw = grads.weight[l];
    std::vector<float>& gb = grads.bias[l];
    gw.assign(in * out, 0.0f);
    gb.assign(out, 0.0f);
    const float* a = ws.inputs[l].data();
    // dW[o][i] = sum_r g[r][o] a[r][i],  db[o] = sum_r g[r][o]
    for (std::size_t r = 0; r < rows; ++r) {
      const float* g = ws.grad_out.data() + r * out;
      const float* a_row = a + r * in;
      for (std::size_t o = 0; o < out; ++o) {
        float go = g[o];
        gb[o] += go;
        float* gw_row = gw.data() + o * in;
        for (std::size_t i = 0; i < in; ++i) gw_row[i] += go * a_row[i];
      }
    }
    if (l == 0) break;
    // dA[r][i] = sum_o g[r][o] W[o][i], then through the ReLU that produced A (A > 0).
    ws.grad_in.assign(rows * in, 0.0f);
    for (std::size_t r = 0; r < rows; ++r) {
      const float* g = ws.grad_out.data() + r * out;
      float* gi = ws.grad_in.data() + r * in;
      for (std::size_t o = 0; o < out; ++o) {
        float go = g[o];
        const float* w_row = layer.weight.data() + o * in;
        for (std::size_t i = 0; i < in; ++i) gi[i] += go * w_row[i];
      }
      for (std::size_t i = 0; i < in; ++i) {
        if (a[r * in + i] <= 0.0f) gi[i] = 0.0f;
      }
    }
    std::swap(ws.grad_out, ws.grad_in);
  }
  return loss;
}

double classifier_accuracy(const Mlp& mlp, const LabelledData& data, ThreadPool* pool) {
  std::vector<float> logits(data.rows * static_cast<std::size_t>(mlp.outputs()));
  mlp_forward(mlp, data.x, data.rows, logits.data(), pool);
  std::vector<std::int32_t> predicted(data.rows);
  argmax_rows(logits.data(), data.rows, mlp.outputs(), predicted.data());
  std::size_t correct = 0;
  for (std::size_t r = 0; r < data.rows; ++r) correct += predicted[r] == data.labels[r];
  return static_cast<double>(correct) / static_cast<double>(data.rows);
}

void train_classifier(Mlp& mlp, const LabelledData& train, const LabelledData& test,
                      const TrainOptions& options, ThreadPool* pool,
                      const std::function<void(const EpochReport&)>& on_epoch) {
  LOWP_CHECK(options.epochs >= 1, "training: epochs {} must be at least 1", options.epochs);
  LOWP_CHECK(options.batch >= 1, "training: batch {} must be at least 1", options.batch);
  validate(train, mlp.inputs(), mlp.outputs(), "training");
  validate(test, mlp.inputs(), mlp.outputs(), "test");

  const std::size_t layers = mlp.layers.size();
  Adam adam(options.adam, 2 * layers);
  Random rng(options.seed);
  std::vector<std::uint32_t> order(train.rows);
  std::iota(order.begin(), order.end(), 0u);
  const std::size_t features = static_cast<std::size_t>(mlp.inputs());

  MlpWorkspace ws;
  MlpGradients grads;
  ws.inputs.resize(1);
  std::vector<std::uint8_t> batch_labels;

  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    Stopwatch watch;
    rng.shuffle(std::span<std::uint32_t>(order));
    double loss_sum = 0.0;
    std::size_t batches = 0;
    for (std::size_t start = 0; start < train.rows;
         start += static_cast<std::size_t>(options.batch)) {
      const std::size_t rows =
          std::min<std::size_t>(static_cast<std::size_t>(options.batch), train.rows - start);
      // Gather the batch.
      ws.inputs[0].resize(rows * features);
      batch_labels.resize(rows);
      for (std::size_t r = 0; r < rows; ++r) {
        std::uint32_t src = order[start + r];
        std::copy_n(train.x + src * features, features, ws.inputs[0].data() + r * features);
        batch_labels[r] = train.labels[src];
      }
      loss_sum +=
          mlp_gradients(mlp, ws.inputs[0].data(), batch_labels.data(), rows, grads, ws, pool);
      ++batches;
      adam.begin_step();
      for (std::size_t l = 0; l < layers; ++l) {
        adam.update(2 * l, mlp.layers[l].weight, grads.weight[l]);
        adam.update(2 * l + 1, mlp.layers[l].bias, grads.bias[l]);
      }
    }
    EpochReport report;
    report.epoch = epoch;
    report.epochs = options.epochs;
    report.seconds = watch.seconds();
    report.train_loss = loss_sum / static_cast<double>(batches);
    report.test_accuracy = classifier_accuracy(mlp, test, pool);
    if (on_epoch) on_epoch(report);
  }
}

}  // namespace lowp
