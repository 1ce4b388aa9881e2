// tests/train/fp16_test.cc: fp16 training: the loss scaler's rule, overflows forced at the
// loss gradient, inside a layer and in the forward pass, each reported where it began,
// the scaler recovering and the model still learning, and an fp16 run resuming bit for
// bit (the scaler's state is in the checkpoint).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/random.h"
#include "train/elementwise.h"
#include "train/linear.h"
#include "train/loss_scaler.h"
#include "train/model.h"
#include "train/trainer.h"

namespace lowp::train {
namespace {

TEST(LossScaler, HalvesOnOverflowDoublesAfterGoodSteps) {
  LossScaler s(LossScalerOptions{65536.0f, 3});
  s.update(true);
  EXPECT_EQ(s.scale(), 32768.0f);
  s.update(false);
  s.update(false);
  EXPECT_EQ(s.scale(), 32768.0f);
  s.update(true);  // an overflow resets the count of good steps
  EXPECT_EQ(s.scale(), 16384.0f);
  for (int i = 0; i < 3; ++i) s.update(false);
  EXPECT_EQ(s.scale(), 32768.0f);
}

TEST(Fp16, RoundingAndFiniteness) {
  std::vector<float> v = {1.0f, 65504.0f, 65520.0f, 1e-8f, 0.1f, -70000.0f};
  round_to_fp16(v, nullptr);
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], 65504.0f);
  EXPECT_TRUE(std::isinf(v[2]));  // rounds past the largest fp16
  EXPECT_EQ(v[3], 0.0f);          // below half the smallest subnormal (2^-25)
  EXPECT_EQ(v[4], 0.0999755859375f);
  EXPECT_TRUE(std::isinf(v[5]) && v[5] < 0);
  EXPECT_FALSE(all_finite(v));
  EXPECT_TRUE(all_finite(std::vector<float>{0.0f, -3.0f, 65504.0f}));
  EXPECT_FALSE(all_finite(std::vector<float>{0.0f, std::nanf("")}));
}

// Two Gaussian blobs per class in 8 dimensions, 3 classes.
Dataset blobs(std::size_t rows, std::uint64_t seed) {
  Dataset d;
  d.sample_shape = {8};
  Random rng(seed);
  for (std::size_t r = 0; r < rows; ++r) {
    const int label = static_cast<int>(rng.below(3));
    d.labels.push_back(label);
    for (int j = 0; j < 8; ++j)
      d.x.push_back((j % 3 == label ? 1.5f : 0.0f) + rng.uniform(-0.5f, 0.5f));
  }
  return d;
}

Model small_mlp(std::uint64_t seed) {
  Random rng(seed);
  Model m;
  m.name = "small_mlp";
  m.input_shape = {8};
  m.layers.push_back(std::make_unique<Linear>("fc1", 8, 16, rng));
  m.layers.push_back(std::make_unique<ActivationLayer>("tanh", ActivationKind::tanh));
  m.layers.push_back(std::make_unique<Linear>("fc2", 16, 3, rng));
  return m;
}

TrainOptions fp16_options(float initial_scale, long growth) {
  TrainOptions o;
  o.epochs = 3;
  o.batch = 16;
  o.optimizer.lr = 0.01f;
  o.fp16 = true;
  o.loss_scaler.initial_scale = initial_scale;
  o.loss_scaler.growth_interval = growth;
  return o;
}

TEST(Fp16, ScalerRecoversFromForcedOverflowsAndTheModelLearns) {
  // Scale 2^40: the loss gradient (at most 1/16 per logit) times it is far beyond 65504,
  // so the first steps overflow at the loss gradient; each halves the scale until the
  // gradients fit (2^40 -> at most 2^20: at least 20 skipped steps); then the scale
  // doubles after every 10 good steps (the gradients shrink as the model learns, so
  // larger scales fit), overflowing again now and then.
  Model m = small_mlp(1);
  std::vector<std::string> messages;
  TrainCallbacks cb;
  cb.on_message = [&](const std::string& line) { messages.push_back(line); };
  TrainResult r = train_model(m, blobs(480, 2), blobs(120, 3),
                              fp16_options(std::ldexp(1.0f, 40), 10), nullptr, cb);
  ASSERT_FALSE(messages.empty());
  EXPECT_NE(messages[0].find(
                "fp16 overflow at step 1, beginning in the loss gradient: step skipped, loss scale "
                "1099511627776 -> 549755813888"),
            std::string::npos)
      << messages[0];
  EXPECT_GE(r.skipped_steps, 20);
  EXPECT_LT(r.skipped_steps, 45);  // of 90 steps: the scaler settles
  EXPECT_LT(r.final_loss_scale, std::ldexp(1.0f, 40));
  EXPECT_EQ(r.final_loss_scale,
            std::exp2(std::round(std::log2(r.final_loss_scale))));  // a power of two
  EXPECT_GT(r.epochs.back().test_accuracy, 0.9);
}

TEST(Fp16, OverflowInsideALayerIsNamed) {
  // fc2's weights 3000 (o - 1) for output o, bias 0: logits |3000 sum h| <= 48000 fit
  // fp16, dy (<= 2^16 / 16 = 4096) fits, but fc2's input gradient 3000 (dy_2 - dy_0)
  // reaches 2.4e7: the overflow begins in fc2, the first layer of the backward pass.
  Model m = small_mlp(1);
  std::vector<Param*> fc2 = m.layers[2]->params();
  for (int o = 0; o < 3; ++o) {
    for (int i = 0; i < 16; ++i)
      fc2[0]->value[static_cast<std::size_t>(o * 16 + i)] = 3000.0f * static_cast<float>(o - 1);
  }
  for (float& b : fc2[1]->value) b = 0.0f;
  std::vector<std::string> messages;
  TrainCallbacks cb;
  cb.on_message = [&](const std::string& line) { messages.push_back(line); };
  TrainOptions o = fp16_options(65536.0f, 2000);
  o.epochs = 1;
  o.optimizer.kind = OptimizerKind::sgd;
  train_model(m, blobs(64, 2), blobs(16, 3), o, nullptr, cb);
  ASSERT_FALSE(messages.empty());
  EXPECT_NE(messages[0].find("beginning in fc2: step skipped, loss scale 65536 -> 32768"),
            std::string::npos)
      << messages[0];
}

TEST(Fp16, ForwardOverflowEndsWithAClearError) {
  Model m = small_mlp(1);
  Dataset big = blobs(320, 2);       // 60 steps: enough halvings to fall below 1 from 2^16
  for (float& v : big.x) v *= 1e6f;  // beyond 65504 already as fp16 inputs
  try {
    train_model(m, big, blobs(16, 3), fp16_options(65536.0f, 2000), nullptr);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "beginning in fc1 (forward pass): values exceed fp16's range (65504)"),
              std::string::npos)
        << e.what();
  }
}

TEST(Fp16, ResumeContinuesBitForBit) {
  Dataset train = blobs(160, 2), test = blobs(32, 3);  // 10 steps per epoch
  TrainOptions o = fp16_options(std::ldexp(1.0f, 24), 4);
  o.epochs = 2;
  Model straight = small_mlp(1);
  TrainResult a = train_model(straight, train, test, o, nullptr);
  const std::filesystem::path ckpt =
      std::filesystem::temp_directory_path() / "lowp_fp16_resume.ckpt";
  o.checkpoint = ckpt;
  o.save_every_steps = 3;
  o.stop_after_steps = 11;
  Model first = small_mlp(1);
  train_model(first, train, test, o, nullptr);
  o.stop_after_steps = 0;
  o.resume = true;
  Model resumed = small_mlp(5);
  TrainResult b = train_model(resumed, train, test, o, nullptr);
  EXPECT_EQ(b.resumed_from_step, 9);
  EXPECT_EQ(b.final_loss_scale, a.final_loss_scale);
  for (std::size_t i = 0; i < straight.params().size(); ++i) {
    EXPECT_EQ(resumed.params()[i]->value, straight.params()[i]->value)
        << straight.params()[i]->name;
  }
  std::filesystem::remove(ckpt);
}

}  // namespace
}  // namespace lowp::train
