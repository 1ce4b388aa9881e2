// tests/train/layer_gradients_test.cc: every differentiable layer and loss of the trainer
// against central finite differences.
//
// For a layer f and a fixed random r, L = sum_i r_i f(x)_i, so dL/dy = r: backward(r)
// must give dL/dx and dL/dparams. Numerically, dL/dz ~ (L(z + h) - L(z - h)) / (2h),
// with L summed in double from the layer's fp32 outputs.
//
// Tolerance: |analytic - numeric| <= 4e-3 + 1e-2 |numeric|, with h = 1e-2.
//  - truncation: h^2 / 6 |L'''|, ~2e-5 for these smooth functions of inputs of size ~1;
//  - rounding: each fp32 output is off by at most ~k eps |y| (k <= 72 terms summed here,
//    eps = 2^-24, |y| <= ~4), i.e. <= 2e-5 per output; over <= 300 outputs with |r| <= 1
//    summed with random signs (~sqrt(300) = 17 of them) and divided by 2h, ~2e-2 at worst
//    but ~1.5e-3 in the usual case of errors that do not all align; the test sizes keep
//    the outputs few, and 4e-3 absolute covers the usual case with margin;
//  - the analytic side is itself fp32, off by ~k eps relative: far below 1%.
// Kinks: ReLU inputs are kept at least 0.1 away from 0, and max-pool inputs are distinct
// values at least 0.05 apart, so no step of h crosses a kink or changes a maximum.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>

#include "base/random.h"
#include "train/conv2d.h"
#include "train/elementwise.h"
#include "train/embedding.h"
#include "train/linear.h"
#include "train/loss.h"
#include "train/matmul.h"
#include "train/normalization.h"
#include "train/pooling.h"

namespace lowp::train {
namespace {

constexpr float kH = 1e-2f;

bool close(double analytic, double numeric) {
  return std::fabs(analytic - numeric) <= 4e-3 + 1e-2 * std::fabs(numeric);
}

Batch random_batch(std::vector<int> shape, std::uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  Batch b;
  b.resize(std::move(shape));
  Random rng(seed);
  for (float& v : b.data) v = rng.uniform(lo, hi);
  return b;
}

// Values away from 0: +-(0.1 .. 1.1).
Batch away_from_zero(std::vector<int> shape, std::uint64_t seed) {
  Batch b = random_batch(std::move(shape), seed, 0.1f, 1.1f);
  Random rng(seed + 1);
  for (float& v : b.data) v = rng.below(2) ? v : -v;
  return b;
}

// Distinct values 0.05 apart, shuffled: no ties within h.
Batch distinct(std::vector<int> shape, std::uint64_t seed) {
  Batch b;
  b.resize(std::move(shape));
  for (std::size_t i = 0; i < b.data.size(); ++i) b.data[i] = 0.05f * static_cast<float>(i) - 1.0f;
  Random rng(seed);
  rng.shuffle(std::span<float>(b.data));
  return b;
}

double weighted_sum(const Batch& y, const std::vector<float>& r) {
  double s = 0.0;
  for (std::size_t i = 0; i < y.data.size(); ++i) s += static_cast<double>(r[i]) * y.data[i];
  return s;
}

// Checks dx (unless the layer is first: check_input false) and every trainable param.
void check_layer(Layer& layer, Batch x, const Context& ctx, bool check_input = true) {
  Batch y;
  layer.forward(x, y, ctx);
  std::vector<float> r(y.data.size());
  Random rng(99);
  for (float& v : r) v = rng.uniform(-1.0f, 1.0f);
  Batch dy;
  dy.shape = y.shape;
  dy.data = r;
  Batch dx;
  layer.backward(x, y, dy, check_input ? &dx : nullptr, ctx);

  auto loss = [&]() {
    Batch out;
    layer.forward(x, out, ctx);
    return weighted_sum(out, r);
  };
  auto numeric = [&](float& z) {
    const float saved = z;
    z = saved + kH;
    const double up = loss();
    z = saved - kH;
    const double down = loss();
    z = saved;
    return (up - down) / (2.0 * kH);
  };
  int failures = 0;
  if (check_input) {
    ASSERT_EQ(dx.shape, x.shape) << layer.name();
    for (std::size_t i = 0; i < x.data.size() && failures < 5; ++i) {
      double n = numeric(x.data[i]);
      if (!close(dx.data[i], n)) {
        ++failures;
        ADD_FAILURE() << layer.name() << " dx[" << i << "] = " << dx.data[i] << ", numeric " << n;
      }
    }
  }
  for (Param* p : layer.params()) {
    if (!p->trainable) continue;
    std::vector<float> analytic = p->grad;
    for (std::size_t i = 0; i < p->value.size() && failures < 5; ++i) {
      double n = numeric(p->value[i]);
      if (!close(analytic[i], n)) {
        ++failures;
        ADD_FAILURE() << p->name << " grad[" << i << "] = " << analytic[i] << ", numeric " << n;
      }
    }
  }
}

Context training_context(ThreadPool* pool = nullptr) {
  Context ctx;
  ctx.pool = pool;
  ctx.training = true;
  ctx.step_seed = 7;
  return ctx;
}

TEST(LayerGradients, Linear) {
  Random rng(1);
  Linear with_bias("fc", 7, 5, rng);
  check_layer(with_bias, random_batch({4, 7}, 2), training_context());
  Linear no_bias("fc_nobias", 3, 9, rng, false);
  check_layer(no_bias, random_batch({10, 3}, 3), training_context());
}

TEST(LayerGradients, Conv2dStride1Pad1) {
  Random rng(4);
  Conv2d conv("conv", Conv2dOptions{3, 4, 3, 1, 1, 1, true}, rng);
  check_layer(conv, random_batch({2, 5, 4, 3}, 5), training_context());
}

TEST(LayerGradients, Conv2dNoPadding) {
  Random rng(6);
  Conv2d conv("conv_valid", Conv2dOptions{2, 3, 3, 1, 0, 1, false}, rng);
  check_layer(conv, random_batch({2, 6, 5, 2}, 7), training_context());
}

TEST(LayerGradients, Conv2dStride2GroupsCol2im) {
  Random rng(8);
  Conv2d conv("conv_s2_g2", Conv2dOptions{4, 6, 3, 2, 1, 2, true}, rng);
  check_layer(conv, random_batch({2, 7, 6, 4}, 9), training_context());
}

TEST(LayerGradients, Conv2dDepthwise) {
  Random rng(10);
  Conv2d conv("conv_dw", Conv2dOptions{4, 4, 3, 1, 1, 4, true}, rng);
  check_layer(conv, random_batch({2, 5, 5, 4}, 11), training_context());
}

TEST(LayerGradients, Conv2dLargePaddingTakesCol2im) {
  Random rng(12);
  Conv2d conv("conv_pad2_k1", Conv2dOptions{2, 3, 1, 1, 1, 1, true},
              rng);  // padding 1 > kernel - 1
  check_layer(conv, random_batch({1, 3, 4, 2}, 13), training_context());
}

TEST(LayerGradients, BatchNormTrainingAndEval) {
  BatchNorm bn("bn", 3);
  Random rng(14);
  for (Param* p : bn.params()) {
    for (float& v : p->value) v += rng.uniform(-0.5f, 0.5f);
  }
  check_layer(bn, random_batch({2, 3, 4, 3}, 15), training_context());
  BatchNorm bn1d("bn1d", 5);
  check_layer(bn1d, random_batch({6, 5}, 16), training_context());
  Context eval = training_context();
  eval.training = false;
  for (StateTensor* s : bn.states()) {
    for (float& v : s->value) v += rng.uniform(0.1f, 0.5f);
  }
  check_layer(bn, random_batch({2, 3, 4, 3}, 17), eval);
}

TEST(LayerGradients, LayerNorm) {
  LayerNorm ln("ln", 6);
  Random rng(18);
  for (Param* p : ln.params()) {
    for (float& v : p->value) v += rng.uniform(-0.5f, 0.5f);
  }
  check_layer(ln, random_batch({3, 6}, 19), training_context());
  check_layer(ln, random_batch({2, 3, 6}, 20), training_context());
}

TEST(LayerGradients, Activations) {
  for (ActivationKind kind : {ActivationKind::relu, ActivationKind::gelu, ActivationKind::sigmoid,
                              ActivationKind::tanh}) {
    ActivationLayer act("act", kind);
    check_layer(act, away_from_zero({3, 4, 5}, 21), training_context());
  }
}

TEST(LayerGradients, MaxPool) {
  Pool2d pool("maxpool", Pool2d::Mode::max, Pool2dOptions{2, 2, 0});
  check_layer(pool, distinct({2, 4, 6, 3}, 22), training_context());
  // Windows that tile all of the input, and some of it (a 5x5 input leaves a row and a
  // column outside every 2x2 window: their gradient is 0).
  check_layer(pool, distinct({1, 5, 5, 2}, 29), training_context());
  Pool2d overlapping("maxpool_3s2p1", Pool2d::Mode::max, Pool2dOptions{3, 2, 1});
  check_layer(overlapping, distinct({1, 5, 5, 2}, 23), training_context());
}

TEST(LayerGradients, AvgPool) {
  Pool2d pool("avgpool", Pool2d::Mode::average, Pool2dOptions{2, 2, 0});
  check_layer(pool, random_batch({2, 4, 4, 3}, 24), training_context());
  check_layer(pool, random_batch({1, 5, 4, 2}, 33), training_context());
  Pool2d padded("avgpool_3s2p1", Pool2d::Mode::average, Pool2dOptions{3, 2, 1});
  check_layer(padded, random_batch({1, 5, 4, 2}, 25), training_context());
}

TEST(LayerGradients, FlattenAndDropout) {
  Flatten flatten("flatten");
  check_layer(flatten, random_batch({2, 3, 2, 4}, 26), training_context());
  Dropout dropout("dropout", 0.3f, 1);
  check_layer(dropout, random_batch({4, 10}, 27), training_context());
}

TEST(LayerGradients, Embedding) {
  Random rng(28);
  Embedding emb("emb", 7, 4, rng);
  Batch ids;
  ids.resize({2, 5});
  for (std::size_t i = 0; i < ids.data.size(); ++i) ids.data[i] = static_cast<float>((i * 3) % 7);
  check_layer(emb, ids, training_context(), /*check_input=*/false);
}

// The losses: dL/dz of the mean loss.
void check_loss(const std::function<LossResult(const Batch&, Batch*)>& f, Batch z) {
  Batch grad;
  f(z, &grad);
  for (std::size_t i = 0; i < z.data.size(); ++i) {
    const float saved = z.data[i];
    z.data[i] = saved + kH;
    const double up = f(z, nullptr).loss;
    z.data[i] = saved - kH;
    const double down = f(z, nullptr).loss;
    z.data[i] = saved;
    const double n = (up - down) / (2.0 * kH);
    EXPECT_TRUE(close(grad.data[i], n)) << i << ": " << grad.data[i] << " vs " << n;
  }
}

TEST(LossGradients, CrossEntropyWithAndWithoutSmoothing) {
  const std::vector<std::int32_t> labels = {0, 3, 2, 3};
  for (float smoothing : {0.0f, 0.1f}) {
    check_loss(
        [&](const Batch& z, Batch* g) { return softmax_cross_entropy(z, labels, smoothing, g); },
        random_batch({4, 5}, 30, -3.0f, 3.0f));
  }
}

TEST(LossGradients, CrossEntropyMatchesHandComputedValue) {
  // Two classes, logits (0, ln 3): p = (1/4, 3/4). Label 1, smoothing 0.2: targets
  // (0.1, 0.9); loss = -(0.1 ln 1/4 + 0.9 ln 3/4).
  Batch z;
  z.resize({1, 2});
  z.data = {0.0f, std::log(3.0f)};
  const std::vector<std::int32_t> label = {1};
  LossResult r = softmax_cross_entropy(z, label, 0.2f, nullptr);
  EXPECT_NEAR(r.loss, -(0.1 * std::log(0.25) + 0.9 * std::log(0.75)), 1e-6);
  EXPECT_EQ(r.correct, 1u);
}

TEST(LossGradients, Mse) {
  Batch target = random_batch({3, 4}, 31);
  check_loss([&](const Batch& z, Batch* g) { return mse(z, target.data, g); },
             random_batch({3, 4}, 32));
}

// The training matmuls (GEMM kernels) against their double reference.
TEST(TrainMatmul, MatchReference) {
  for (auto [m, k, n] : {std::tuple{1, 1, 1}, {7, 33, 17}, {64, 9, 32}, {20, 130, 5}}) {
    Batch a = random_batch({m, k}, 40), b = random_batch({k, n}, 41);
    std::vector<float> got(static_cast<std::size_t>(m) * n), want(got.size());
    MatmulScratch scratch;
    matmul_ab(m, k, n, a.data.data(), k, b.data.data(), n, got.data(), n, scratch, nullptr);
    matmul_ab_ref(m, k, n, a.data.data(), k, b.data.data(), n, want.data(), n);
    // fp32 sums of k products of values in [-1, 1]: |error| <= k eps_fp32 * k.
    for (std::size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i], want[i], (k + 2) * 6e-8 * k) << i;
    // A^T B with A stored [k][m].
    Batch at = random_batch({k, m}, 42);
    std::vector<float> a_rows(static_cast<std::size_t>(m) * k);
    for (int i = 0; i < m; ++i) {
      for (int p = 0; p < k; ++p)
        a_rows[static_cast<std::size_t>(i) * k + p] = at.data[static_cast<std::size_t>(p) * m + i];
    }
    matmul_atb(m, k, n, at.data.data(), m, b.data.data(), n, got.data(), n, scratch, nullptr);
    matmul_ab_ref(m, k, n, a_rows.data(), k, b.data.data(), n, want.data(), n);
    for (std::size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i], want[i], (k + 2) * 6e-8 * k) << i;
  }
}

}  // namespace
}  // namespace lowp::train
