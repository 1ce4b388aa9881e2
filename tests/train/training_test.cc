// tests/train/training_test.cc: gradients against finite differences, Adam against a step
// worked by hand, and training that learns, deterministically, and rejects bad input.
#include <gtest/gtest.h>

#include <cmath>

#include "base/error.h"
#include "base/random.h"
#include "train/classifier_training.h"

namespace lowp {
namespace {

// A small problem: 3 classes of points around 3 centres in 6 dimensions.
struct Toy {
  std::vector<float> x;
  std::vector<std::uint8_t> y;
  LabelledData data() const { return {x.data(), y.data(), y.size()}; }
};

Toy make_toy(std::size_t rows, std::uint64_t seed) {
  Random rng(seed);
  Toy t;
  for (std::size_t r = 0; r < rows; ++r) {
    std::uint8_t label = static_cast<std::uint8_t>(rng.below(3));
    t.y.push_back(label);
    for (int j = 0; j < 6; ++j) {
      float centre = (j % 3 == label) ? 2.0f : 0.0f;
      t.x.push_back(centre + rng.uniform(-0.8f, 0.8f));
    }
  }
  return t;
}

TEST(MlpGradients, MatchFiniteDifferences) {
  const int sizes[] = {6, 5, 3};
  Mlp mlp = make_mlp(sizes, 3);
  Toy toy = make_toy(7, 11);
  MlpGradients grads;
  MlpWorkspace ws;
  mlp_gradients(mlp, toy.x.data(), toy.y.data(), 7, grads, ws, nullptr);
  // Central differences: truncation error O(h^2) ~ 1e-6; the fp32 loss (~1) carries ~1e-7
  // rounding, which the quotient divides by 2h: ~5e-5. A step of h could cross a ReLU kink,
  // which h = 1e-3 makes unlikely for these seeds. Tolerance 1e-3 + 1% covers both.
  const float h = 1e-3f;
  for (std::size_t l = 0; l < mlp.layers.size(); ++l) {
    for (int which = 0; which < 2; ++which) {
      std::vector<float>& params = which == 0 ? mlp.layers[l].weight : mlp.layers[l].bias;
      const std::vector<float>& g = which == 0 ? grads.weight[l] : grads.bias[l];
      for (std::size_t i = 0; i < params.size(); ++i) {
        float saved = params[i];
        MlpGradients unused;
        MlpWorkspace scratch;
        params[i] = saved + h;
        double up = mlp_gradients(mlp, toy.x.data(), toy.y.data(), 7, unused, scratch, nullptr);
        params[i] = saved - h;
        double down = mlp_gradients(mlp, toy.x.data(), toy.y.data(), 7, unused, scratch, nullptr);
        params[i] = saved;
        double numeric = (up - down) / (2 * h);
        EXPECT_NEAR(g[i], numeric, 1e-3 + 1e-2 * std::fabs(numeric))
            << "layer " << l << (which == 0 ? " weight " : " bias ") << i;
      }
    }
  }
}

TEST(SoftmaxCrossEntropy, KnownValue) {
  // Uniform logits over 4 classes: loss ln 4, gradient (1/4 - onehot) / rows.
  std::vector<float> logits(8, 0.5f), grad(8);
  std::uint8_t labels[] = {1, 3};
  double loss = softmax_cross_entropy(logits.data(), labels, 2, 4, grad.data());
  EXPECT_NEAR(loss, std::log(4.0), 1e-6);
  EXPECT_NEAR(grad[1], (0.25 - 1.0) / 2, 1e-7);
  EXPECT_NEAR(grad[0], 0.25 / 2, 1e-7);
}

TEST(Adam, FirstStepsByHand) {
  // Step 1: m = 0.1 g, v = 0.001 g^2, m_hat = g, v_hat = g^2: w -= lr * g / (|g| + eps).
  Adam adam({0.1f, 0.9f, 0.999f, 1e-8f}, 1);
  std::vector<float> w = {1.0f, -2.0f};
  std::vector<float> g = {0.5f, -4.0f};
  adam.begin_step();
  adam.update(0, w, g);
  EXPECT_NEAR(w[0], 1.0f - 0.1f, 1e-6f);
  EXPECT_NEAR(w[1], -2.0f + 0.1f, 1e-6f);
  // Step 2 with g = 0: m = 0.9*0.1 g = 0.09 g, v = 0.999e-3 g^2; m_hat = 0.09 g / 0.19,
  // v_hat = 0.999e-3 g^2 / 1.999e-3.
  std::vector<float> zero = {0.0f, 0.0f};
  adam.begin_step();
  adam.update(0, w, zero);
  double m_hat = 0.09 * 0.5 / 0.19, v_hat = 0.999e-3 * 0.25 / (1 - 0.999 * 0.999);
  EXPECT_NEAR(w[0], 0.9 - 0.1 * m_hat / (std::sqrt(v_hat) + 1e-8), 1e-6);
  EXPECT_THROW(Adam({0.0f, 0.9f, 0.999f, 1e-8f}, 1), Error);  // learning rate 0
  EXPECT_THROW(Adam({-1e-3f, 0.9f, 0.999f, 1e-8f}, 1), Error);
}

TEST(TrainClassifier, LearnsAndIsDeterministic) {
  Toy train = make_toy(600, 1), test = make_toy(200, 2);
  const int sizes[] = {6, 16, 3};
  TrainOptions options;
  options.epochs = 5;
  options.batch = 32;
  options.adam.lr = 1e-2f;
  Mlp a = make_mlp(sizes, 5), b = make_mlp(sizes, 5);
  double last_accuracy = 0.0;
  train_classifier(a, train.data(), test.data(), options, nullptr,
                   [&](const EpochReport& r) { last_accuracy = r.test_accuracy; });
  EXPECT_GT(last_accuracy, 0.95);
  ThreadPool pool(2);
  train_classifier(b, train.data(), test.data(), options, &pool, nullptr);
  for (std::size_t l = 0; l < a.layers.size(); ++l) {
    EXPECT_EQ(a.layers[l].weight, b.layers[l].weight) << "thread count changed the weights";
    EXPECT_EQ(a.layers[l].bias, b.layers[l].bias);
  }
}

TEST(TrainClassifier, RejectsBadInput) {
  Toy train = make_toy(10, 1);
  const int sizes[] = {6, 4, 3};
  Mlp mlp = make_mlp(sizes, 1);
  TrainOptions options;
  Toy bad_label = train;
  bad_label.y[3] = 3;  // only 3 classes
  EXPECT_THROW(train_classifier(mlp, bad_label.data(), train.data(), options, nullptr, nullptr),
               Error);
  Toy nan = train;
  nan.x[5] = std::nanf("");
  EXPECT_THROW(train_classifier(mlp, nan.data(), train.data(), options, nullptr, nullptr), Error);
  options.epochs = 0;
  EXPECT_THROW(train_classifier(mlp, train.data(), train.data(), options, nullptr, nullptr), Error);
  options.epochs = 1;
  options.adam.lr = -1.0f;
  EXPECT_THROW(train_classifier(mlp, train.data(), train.data(), options, nullptr, nullptr), Error);
}

}  // namespace
}  // namespace lowp
