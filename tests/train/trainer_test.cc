// tests/train/trainer_test.cc: the optimizers against updates worked out here, the
// schedules, clipping, and the training loop: it learns, gives the same bits at 1 and 2
// threads, resumes bit for bit from a checkpoint, exports a graph that lowp's runtime
// runs to the same outputs, and refuses bad input with errors that name the problem.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "base/error.h"
#include "base/random.h"
#include "runtime/session.h"
#include "train/checkpoint.h"
#include "train/conv2d.h"
#include "train/elementwise.h"
#include "train/linear.h"
#include "train/model.h"
#include "train/normalization.h"
#include "train/pooling.h"
#include "train/trainer.h"

namespace lowp::train {
namespace {

// ---- optimizers ----

Param scalar_param(float w, float g) {
  return Param{"w", {1}, {w}, {g}, true};
}

TEST(Optimizer, SgdMomentumAndNesterovByHand) {
  // Constant gradient 1, lr 0.1, momentum 0.9, weight decay 0:
  // buffers b1 = 1, b2 = 1.9, b3 = 2.71; plain steps subtract 0.1 b, Nesterov 0.1 (1 + 0.9 b).
  for (bool nesterov : {false, true}) {
    Param p = scalar_param(0.0f, 1.0f);
    OptimizerOptions o;
    o.kind = OptimizerKind::sgd;
    o.lr = 0.1f;
    o.momentum = 0.9f;
    o.nesterov = nesterov;
    Optimizer opt(o, {&p});
    double w = 0.0;
    for (double b : {1.0, 1.9, 2.71}) {
      opt.step(0.1f);
      w -= 0.1 * (nesterov ? 1.0 + 0.9 * b : b);
      EXPECT_NEAR(p.value[0], w, 1e-6);
    }
  }
}

TEST(Optimizer, AdamAndAdamWByHand) {
  // One step from m = v = 0: m^ = g, v^ = g^2, so w -= lr g / (|g| + eps) = lr sign(g).
  // With weight decay wd: Adam adds wd w to g; AdamW first shrinks w by (1 - lr wd).
  const float lr = 0.01f, wd = 0.5f;
  Param adam = scalar_param(2.0f, -0.3f);
  OptimizerOptions o;
  o.kind = OptimizerKind::adam;
  o.lr = lr;
  o.weight_decay = wd;
  Optimizer a(o, {&adam});
  a.step(lr);
  EXPECT_NEAR(adam.value[0], 2.0 - lr * 1.0, 1e-6);  // g = -0.3 + 0.5 * 2 = 0.7 > 0
  Param adamw = scalar_param(2.0f, -0.3f);
  o.kind = OptimizerKind::adamw;
  Optimizer b(o, {&adamw});
  b.step(lr);
  EXPECT_NEAR(adamw.value[0], 2.0 * (1.0 - lr * wd) + lr * 1.0, 1e-6);  // g < 0
  // Second Adam step with the same gradient g: m = 0.19 g, v = 0.001999 g^2, corrected
  // m^ = g, v^ = g^2: again lr sign(g).
  Param p = scalar_param(0.0f, 0.25f);
  o.kind = OptimizerKind::adam;
  o.weight_decay = 0.0f;
  Optimizer c(o, {&p});
  c.step(lr);
  c.step(lr);
  EXPECT_NEAR(p.value[0], -2.0 * lr, 1e-6);
}

TEST(Optimizer, FrozenParamsAreLeftAlone) {
  Param p = scalar_param(1.0f, 1.0f);
  p.trainable = false;
  Optimizer opt(OptimizerOptions{}, {&p});
  opt.step(0.1f);
  EXPECT_EQ(p.value[0], 1.0f);
}

TEST(Schedule, WarmupStepAndCosine) {
  ScheduleOptions s;
  s.warmup_steps = 4;
  EXPECT_FLOAT_EQ(scheduled_lr(1.0f, s, 0), 0.25f);
  EXPECT_FLOAT_EQ(scheduled_lr(1.0f, s, 3), 1.0f);
  EXPECT_FLOAT_EQ(scheduled_lr(1.0f, s, 100), 1.0f);
  s.kind = ScheduleKind::step;
  s.step_size = 10;
  s.gamma = 0.5f;
  EXPECT_FLOAT_EQ(scheduled_lr(1.0f, s, 13), 1.0f);
  EXPECT_FLOAT_EQ(scheduled_lr(1.0f, s, 14), 0.5f);
  EXPECT_FLOAT_EQ(scheduled_lr(1.0f, s, 34), 0.125f);
  s.kind = ScheduleKind::cosine;
  s.total_steps = 104;
  s.min_lr = 0.1f;
  EXPECT_FLOAT_EQ(scheduled_lr(1.0f, s, 4), 1.0f);
  EXPECT_FLOAT_EQ(scheduled_lr(1.0f, s, 54), 0.55f);
  EXPECT_FLOAT_EQ(scheduled_lr(1.0f, s, 104), 0.1f);
}

TEST(Clipping, ScalesToTheGlobalNorm) {
  Param a{"a", {2}, {0, 0}, {3, 0}, true}, b{"b", {1}, {0}, {4}, true};
  std::vector<Param*> ps = {&a, &b};
  EXPECT_DOUBLE_EQ(clip_grad_norm(ps, 10.0f), 5.0);  // under the limit: unchanged
  EXPECT_EQ(a.grad[0], 3.0f);
  EXPECT_DOUBLE_EQ(clip_grad_norm(ps, 1.0f), 5.0);
  EXPECT_NEAR(a.grad[0], 0.6, 1e-6);
  EXPECT_NEAR(b.grad[0], 0.8, 1e-6);
}

// ---- the training loop ----

// 3 classes of 8x8 images: a bright square in one of three places, plus noise.
Dataset toy_images(std::size_t rows, std::uint64_t seed) {
  Dataset d;
  d.sample_shape = {8, 8, 1};
  Random rng(seed);
  for (std::size_t r = 0; r < rows; ++r) {
    const int label = static_cast<int>(rng.below(3));
    d.labels.push_back(label);
    for (int y = 0; y < 8; ++y) {
      for (int x = 0; x < 8; ++x) {
        const bool on = y >= 2 && y < 5 && x >= 2 * label && x < 2 * label + 3;
        d.x.push_back((on ? 1.0f : 0.0f) + rng.uniform(-0.3f, 0.3f));
      }
    }
  }
  return d;
}

Model tiny_cnn(std::uint64_t seed) {
  Random rng(seed);
  Model m;
  m.name = "tiny_cnn";
  m.input_shape = {8, 8, 1};
  m.layers.push_back(std::make_unique<Conv2d>("conv", Conv2dOptions{1, 4, 3, 1, 1, 1, true}, rng));
  m.layers.push_back(std::make_unique<BatchNorm>("bn", 4));
  m.layers.push_back(std::make_unique<ActivationLayer>("relu", ActivationKind::relu));
  m.layers.push_back(std::make_unique<Pool2d>("pool", Pool2d::Mode::max, Pool2dOptions{2, 2, 0}));
  m.layers.push_back(std::make_unique<Flatten>("flatten"));
  m.layers.push_back(std::make_unique<Dropout>("dropout", 0.2f, 1));
  m.layers.push_back(std::make_unique<Linear>("fc", 64, 3, rng));
  return m;
}

TrainOptions toy_options() {
  TrainOptions o;
  o.epochs = 2;
  o.batch = 16;
  o.seed = 5;
  o.optimizer.kind = OptimizerKind::sgd;
  o.optimizer.lr = 0.05f;
  o.optimizer.momentum = 0.9f;
  o.optimizer.weight_decay = 1e-4f;
  o.schedule.kind = ScheduleKind::cosine;
  o.schedule.warmup_steps = 2;
  o.clip_norm = 5.0f;
  o.label_smoothing = 0.05f;
  return o;
}

std::vector<std::vector<float>> weights_of(Model& m) {
  std::vector<std::vector<float>> out;
  for (Param* p : m.params()) out.push_back(p->value);
  for (StateTensor* s : m.states()) out.push_back(s->value);
  return out;
}

TEST(Trainer, LearnsToyImages) {
  Model m = tiny_cnn(1);
  Dataset train = toy_images(192, 2), test = toy_images(96, 3);
  TrainResult r = train_model(m, train, test, toy_options(), nullptr);
  ASSERT_EQ(r.epochs.size(), 2u);
  EXPECT_GT(r.epochs.back().test_accuracy, 0.9);  // chance is 1/3
  EXPECT_LT(r.epochs.back().train_loss, r.epochs.front().train_loss);
}

TEST(Trainer, SameBitsAtOneAndTwoThreads) {
  Dataset train = toy_images(100, 2), test = toy_images(20, 3);
  Model a = tiny_cnn(1), b = tiny_cnn(1);
  train_model(a, train, test, toy_options(), nullptr);
  ThreadPool pool(2);
  train_model(b, train, test, toy_options(), &pool);
  EXPECT_EQ(weights_of(a), weights_of(b));
}

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("lowp_trainer_test_" + name);
}

TEST(Trainer, ResumeContinuesBitForBit) {
  Dataset train = toy_images(100, 2), test = toy_images(20, 3);  // 7 steps per epoch
  Model straight = tiny_cnn(1);
  train_model(straight, train, test, toy_options(), nullptr);

  // 1 epoch + resume + 1: checkpoint at the end of epoch 1, killed one step later.
  // Mid-epoch: checkpoints every 4 steps, killed at step 10 (last checkpoint: step 8).
  struct Case {
    long save_steps;
    int save_epochs;
    long kill_at;
  };
  for (Case c : {Case{0, 1, 8}, Case{4, 0, 10}}) {
    const std::filesystem::path ckpt = temp_path("resume.ckpt");
    std::filesystem::remove(ckpt);
    TrainOptions o = toy_options();
    o.checkpoint = ckpt;
    o.save_every_steps = c.save_steps;
    o.save_every_epochs = c.save_epochs;
    o.stop_after_steps = c.kill_at;
    Model first = tiny_cnn(1);
    TrainResult stopped = train_model(first, train, test, o, nullptr);
    EXPECT_TRUE(stopped.stopped);
    o.stop_after_steps = 0;
    o.resume = true;
    Model resumed = tiny_cnn(77);  // other initial weights: the checkpoint replaces them
    TrainResult r = train_model(resumed, train, test, o, nullptr);
    EXPECT_EQ(r.resumed_from_step, c.save_steps > 0 ? 8 : 7);
    EXPECT_EQ(r.steps, 14);
    EXPECT_EQ(weights_of(resumed), weights_of(straight))
        << "save every " << c.save_steps << " steps / " << c.save_epochs << " epochs";
    std::filesystem::remove(ckpt);
  }
}

TEST(Trainer, ResumeRefusesAnotherRunOrABrokenFile) {
  Dataset train = toy_images(40, 2), test = toy_images(10, 3);
  const std::filesystem::path ckpt = temp_path("other.ckpt");
  TrainOptions o = toy_options();
  o.epochs = 1;
  o.checkpoint = ckpt;
  o.save_every_epochs = 1;
  Model m = tiny_cnn(1);
  train_model(m, train, test, o, nullptr);
  o.resume = true;
  o.batch = 8;
  try {
    train_model(m, train, test, o, nullptr);
    ADD_FAILURE() << "resumed a run with another batch size";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("batch is 16 there but 8 now"), std::string::npos)
        << e.what();
  }
  o.batch = 16;
  // Truncate the file: an error naming it, and the model untouched.
  const auto size = std::filesystem::file_size(ckpt);
  std::filesystem::resize_file(ckpt, size - 10);
  std::vector<std::vector<float>> before = weights_of(m);
  try {
    train_model(m, train, test, o, nullptr);
    ADD_FAILURE() << "resumed from a truncated checkpoint";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("more than the file holds"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(weights_of(m), before);
  std::filesystem::remove(ckpt);
}

void expect_error(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Trainer, BadInputIsAClearError) {
  Dataset train = toy_images(40, 2), test = toy_images(10, 3);
  Model m = tiny_cnn(1);
  TrainOptions o = toy_options();
  o.epochs = 1;
  Dataset bad = train;
  bad.labels[7] = 3;
  expect_error([&] { train_model(m, bad, test, o, nullptr); },
               "training set: label 3 of sample 7 is outside [0, 3)");
  bad = train;
  bad.labels[5] = -1;
  expect_error([&] { train_model(m, bad, test, o, nullptr); }, "label -1 of sample 5");
  bad = train;
  bad.labels.pop_back();
  expect_error([&] { train_model(m, bad, test, o, nullptr); },
               "but 39 labels: the counts must match");
  bad = test;
  bad.x[64 * 3 + 10] = std::nanf("");
  expect_error([&] { train_model(m, train, bad, o, nullptr); },
               "test set: value 10 of sample 3 is nan (NaN or Inf in the data)");
  for (float lr : {0.0f, -0.1f}) {
    o.optimizer.lr = lr;
    expect_error([&] { train_model(m, train, test, o, nullptr); },
                 "must be finite and greater than 0");
  }
  o.optimizer.lr = 0.1f;
  bad = train;
  bad.sample_shape = {4, 16, 1};
  expect_error([&] { train_model(m, bad, test, o, nullptr); },
               "training set: samples of shape [4, 16, 1] do not fit model 'tiny_cnn'");
}

TEST(ModelFromGraph, OpWithoutGradientIsNamed) {
  Model m = tiny_cnn(1);
  std::unique_ptr<ir::Graph> g = m.to_graph();
  // Append a Softmax, which the trainer has no layer (no gradient) for.
  ir::Value* probs = g->add_value("probs");
  g->add_node("Softmax", {g->outputs[0]}, {probs}, "softmax_head");
  g->outputs[0] = probs;
  expect_error([&] { model_from_graph(*g); }, "node 'softmax_head' (op Softmax) has no gradient");
}

// The exported graph, run by lowp's runtime, gives the trained model's outputs; and it
// converts back into layers with the same weights.
TEST(Export, RuntimeRunsTheTrainedModel) {
  Model m = tiny_cnn(1);
  Dataset train = toy_images(64, 2), test = toy_images(32, 3);
  TrainOptions o = toy_options();
  o.epochs = 1;
  train_model(m, train, test, o, nullptr);
  Batch x;
  x.resize({32, 8, 8, 1});
  x.data = test.x;
  Context eval;
  eval.training = false;
  const Batch want = m.forward(x, eval);

  Tensor input(DType::float32, Shape{32, 1, 8, 8});
  std::copy(test.x.begin(), test.x.end(), input.values<float>().begin());  // C = 1: NHWC = NCHW
  runtime::Session session(m.to_graph(), runtime::SessionOptions{});
  std::vector<Tensor> got = session.run({{"input", &input}});
  ASSERT_EQ(got.size(), 1u);
  auto values = got[0].values<float>();
  ASSERT_EQ(values.size(), want.data.size());
  // The runtime folds BatchNorm into the convolution: fp32 rounding of ~k = 9 + 64 terms.
  for (std::size_t i = 0; i < values.size(); ++i)
    EXPECT_NEAR(values[i], want.data[i], 1e-4 * (1 + std::fabs(want.data[i]))) << i;

  Model back = model_from_graph(*m.to_graph());
  ASSERT_EQ(back.params().size(), m.params().size());
  for (std::size_t i = 0; i < back.params().size(); ++i)
    EXPECT_EQ(back.params()[i]->value, m.params()[i]->value);
  const Batch again = back.forward(x, eval);
  EXPECT_EQ(again.data, want.data);
}

}  // namespace
}  // namespace lowp::train

namespace lowp::train {
namespace {

// The real CNN at batch 64: sizes at which the GEMMs, convolutions and element-wise
// layers do split over the pool, unlike the toy models above.
TEST(Trainer, CnnStepsAreTheSameAtOneAndTwoThreads) {
  Dataset data;
  data.sample_shape = {28, 28, 1};
  Random rng(3);
  for (int i = 0; i < 128 * 784; ++i) data.x.push_back(rng.uniform(-1.0f, 2.0f));
  for (int i = 0; i < 128; ++i) data.labels.push_back(static_cast<std::int32_t>(rng.below(10)));
  TrainOptions o;
  o.epochs = 1;
  o.batch = 64;
  std::vector<std::vector<float>> results[2];
  for (int threads : {1, 2}) {
    Random init(9);
    Model m = make_cnn(init);
    ThreadPool pool(threads);
    train_model(m, data, data, o, threads > 1 ? &pool : nullptr);
    results[threads - 1] = weights_of(m);
  }
  EXPECT_EQ(results[0], results[1]);
}

}  // namespace
}  // namespace lowp::train
