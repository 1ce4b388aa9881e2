// tests/train/bf16_test.cc: bf16 mixed precision (Context::matrix = bf16).
//
// What bf16 promises: each product of the forward pass and both gradients is computed
// from operands rounded to bf16 (nearest even), with the products summed in fp32. So a
// bf16 layer must match the fp32 layer run on the same operands rounded to bf16 by hand,
// up to fp32 summation order: each side is within (k + 2) 2^-24 sum|terms| of the exact
// sum of the rounded products (k terms and the bias), so the two are within twice that;
// Conv2d's output, passed on in bf16, is rounded once more (2^-8 of its value).
// sum|terms| for every output is itself computed by the fp32 layer, on |x|, |W| and |dy|.
// Then: whole training runs give the same bits at 1 and 2 threads, learn as fp32 does,
// and the weight gradient's bf16 im2col packs the bytes of its fp32 twin.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "base/cpu.h"
#include "base/float_types.h"
#include "base/random.h"
#include "kernels/bf16dot/bf16dot.h"
#include "train/bf16_rows.h"
#include "train/conv2d.h"
#include "train/elementwise.h"
#include "train/linear.h"
#include "train/normalization.h"
#include "train/pooling.h"
#include "train/model.h"
#include "train/trainer.h"

namespace lowp::train {
namespace {

float round_bf16(float v) {
  return bfloat16::from_float(v).to_float();
}

std::vector<float> rounded(const std::vector<float>& v) {
  std::vector<float> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = round_bf16(v[i]);
  return out;
}

std::vector<float> absolute(const std::vector<float>& v) {
  std::vector<float> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = std::fabs(v[i]);
  return out;
}

Batch random_batch(std::vector<int> shape, std::uint64_t seed) {
  Batch b;
  b.resize(std::move(shape));
  Random rng(seed);
  for (float& v : b.data) v = rng.uniform(-1.0f, 1.0f);
  return b;
}

struct Pass {
  std::vector<float> y, dx, dw;
};

// Forward and backward of `layer` with its parameters set to `w` (weight) and `bias`.
Pass run(Layer& layer, const std::vector<float>& w, const std::vector<float>& bias, Batch x,
         Batch dy, MatrixPrecision precision) {
  std::vector<Param*> params = layer.params();
  params[0]->value = w;
  if (params.size() > 1) params[1]->value = bias;
  Context ctx;
  ctx.matrix = precision;
  Batch y, dx;
  layer.forward(x, y, ctx);
  if (y.bf16) {  // bf16 training: Conv2d passes its output on in bf16
    Batch dy_bits;
    convert_batch(dy, dy_bits, true, nullptr);
    layer.backward(x, y, dy_bits, &dx, ctx);
    Batch y_f32;
    convert_batch(y, y_f32, false, nullptr);
    return {y_f32.data, dx.data, params[0]->grad};
  }
  layer.backward(x, y, dy, &dx, ctx);
  return {y.data, dx.data, params[0]->grad};
}

// got (bf16 layer) against want (fp32 layer on rounded operands), sums of |terms| from
// the fp32 layer on absolute values; k: terms per output of each product.
// stored_bf16: got was rounded to bf16 after the sum: at most 2^-8 of its value more (bf16
// keeps 8 significant bits).
void expect_within_bound(const std::vector<float>& got, const std::vector<float>& want,
                         const std::vector<float>& abs_sums, int k, const char* what,
                         bool stored_bf16 = false) {
  ASSERT_EQ(got.size(), want.size()) << what;
  const double unit = std::ldexp(1.0, -24);
  int reported = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double bound = 2.0 * (k + 2) * unit * abs_sums[i] * (stored_bf16 ? 1.0 + 0x1p-8 : 1.0) +
                         (stored_bf16 ? 0x1p-8 * std::fabs(want[i]) : 0.0) + 1e-30;
    if (std::fabs(static_cast<double>(got[i]) - want[i]) > bound && reported++ < 5) {
      ADD_FAILURE() << what << "[" << i << "]: bf16 " << got[i] << ", fp32 on rounded operands "
                    << want[i] << ", bound " << bound;
    }
  }
}

// Builds two copies of a layer (same initialization) and checks the bf16 one against the
// fp32 one on rounded operands; k_forward, k_input, k_weight: terms per output.
template <class Make>
void check_layer(const Make& make, std::vector<int> in_shape, int k_forward, int k_input,
                 int k_weight) {
  std::unique_ptr<Layer> bf16_layer = make(), fp32_layer = make();
  const std::vector<float> w = bf16_layer->params()[0]->value;
  const std::vector<float> bias =
      bf16_layer->params().size() > 1 ? bf16_layer->params()[1]->value : std::vector<float>{};
  Batch x = random_batch(in_shape, 11);
  Batch dy = random_batch(bf16_layer->output_shape(x.shape), 12);
  Pass got = run(*bf16_layer, w, bias, x, dy, MatrixPrecision::bf16);

  Batch xr = x, dyr = dy;
  xr.data = rounded(x.data);
  dyr.data = rounded(dy.data);
  Pass want = run(*fp32_layer, rounded(w), bias, xr, dyr, MatrixPrecision::fp32);
  Batch xa = xr, dya = dyr;
  xa.data = absolute(xr.data);
  dya.data = absolute(dyr.data);
  Pass sums = run(*fp32_layer, absolute(rounded(w)), absolute(bias), xa, dya,
                  MatrixPrecision::fp32);
  const bool conv = std::string(bf16_layer->kind()) == "Conv2d";
  expect_within_bound(got.y, want.y, sums.y, k_forward, "y", conv);
  expect_within_bound(got.dx, want.dx, sums.dx, k_input, "dx");
  expect_within_bound(got.dw, want.dw, sums.dw, k_weight, "dW");
  // Not a vacuous bound: bf16 rounding moves the outputs far more than it allows.
  Pass unrounded = run(*fp32_layer, w, bias, x, dy, MatrixPrecision::fp32);
  double moved = 0.0;
  for (std::size_t i = 0; i < got.y.size(); ++i) {
    moved = std::max(moved, std::fabs(static_cast<double>(got.y[i]) - unrounded.y[i]));
  }
  if (got.y.size() >= 16) {
    EXPECT_GT(moved, 1e-4);
  }
}

TEST(Bf16Training, LinearMatchesFp32OnRoundedOperands) {
  for (auto [rows, in, out] : {std::tuple{1, 1, 1}, {5, 33, 17}, {64, 130, 40}, {3, 7, 64}}) {
    auto make = [&, in = in, out = out] {
      Random rng(static_cast<std::uint64_t>(in * 7 + out));
      return std::make_unique<Linear>("fc", in, out, rng);
    };
    check_layer(make, {rows, in}, in, out, rows);
  }
}

TEST(Bf16Training, Conv2dMatchesFp32OnRoundedOperands) {
  struct Case {
    int n, h, w, c, out_c, k, stride, pad, groups;
  };
  // 3x3 stride 1 (input gradient by convolution), stride 2 and groups (by col2im), one
  // input channel (odd k: padded pairs), channels in whole 16-lane runs.
  for (Case t : {Case{2, 6, 5, 1, 8, 3, 1, 1, 1}, Case{2, 7, 6, 6, 4, 3, 2, 1, 2},
                 Case{1, 5, 5, 32, 16, 3, 1, 1, 1}, Case{3, 4, 4, 16, 20, 1, 1, 0, 1}}) {
    auto make = [&] {
      Random rng(static_cast<std::uint64_t>(t.c * 13 + t.out_c));
      return std::make_unique<Conv2d>(
          "conv", Conv2dOptions{t.c, t.out_c, t.k, t.stride, t.pad, t.groups, true}, rng);
    };
    const int out_h = (t.h + 2 * t.pad - t.k) / t.stride + 1;
    const int out_w = (t.w + 2 * t.pad - t.k) / t.stride + 1;
    const int k_forward = t.c / t.groups * t.k * t.k;
    const int k_input = t.out_c / t.groups * t.k * t.k;
    const int k_weight = t.n * out_h * out_w;
    check_layer(make, {t.n, t.h, t.w, t.c}, k_forward, k_input, k_weight);
  }
}

// Channel runs of 16 (the SSE2 path), and of 1 and 2 (two pixels per 32-bit store).
TEST(Bf16Training, Im2colPackedBf16MatchesPackingTheFp32Rows) {
  for (auto [in_c, groups] : {std::pair{48, 3}, {3, 3}, {6, 3}, {1, 1}}) {
    Conv2dShape s;
    s.batch = 2;
    s.in_h = 5;
    s.in_w = 6;
    s.in_c = in_c;
    s.out_c = 9;
    s.kernel_h = s.kernel_w = 3;
    s.stride_h = s.stride_w = 2;
    s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = 1;
    s.groups = groups;
    s.validate();
    std::vector<float> x(static_cast<std::size_t>(s.batch) * s.in_h * s.in_w * s.in_c);
    Random rng(2);
    for (float& v : x) v = round_bf16(rng.uniform(-1.0f, 1.0f));
    std::vector<std::uint16_t> x_bits(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) x_bits[i] = bfloat16::from_float(x[i]).bits();
    const int pixels = s.batch * s.out_h() * s.out_w(), k = s.gemm_k();
    std::vector<float> cols(static_cast<std::size_t>(pixels) * k);
    for (int g = 0; g < s.groups; ++g) {
      im2col_nhwc(s, g, x.data(), cols.data());
      for (auto [first, rows] : {std::pair{0, 7}, {3, 8}, {pixels - 5, 5}}) {
        PackedBf16DotWeights want, got;
        pack_bf16dot_from_f32_kn(cols.data() + static_cast<std::size_t>(first) * k,
                                 static_cast<std::size_t>(k), rows, k, want);
        im2col_packed_bf16(s, g, x_bits.data(), first, rows, got);
        ASSERT_EQ(got.data.size(), want.data.size());
        EXPECT_EQ(std::memcmp(got.data.data(), want.data.data(),
                              got.data.size() * sizeof(std::uint16_t)),
                  0)
            << "in_c " << in_c << " group " << g << " first " << first;
      }
    }
  }
}

// The CNN at batch 64, where the kernels split over the pool: same bits at 1 and 2
// threads, and different bits from fp32 (the bf16 kernels did run).
TEST(Bf16Training, CnnStepsAreTheSameAtOneAndTwoThreads) {
  Dataset data;
  data.sample_shape = {28, 28, 1};
  Random rng(3);
  for (int i = 0; i < 128 * 784; ++i) data.x.push_back(rng.uniform(-1.0f, 2.0f));
  for (int i = 0; i < 128; ++i) data.labels.push_back(static_cast<std::int32_t>(rng.below(10)));
  auto weights_after = [&](MatrixPrecision precision, int threads) {
    TrainOptions o;
    o.epochs = 1;
    o.batch = 64;
    o.matrix = precision;
    Random init(9);
    Model m = make_cnn(init);
    ThreadPool pool(threads);
    train_model(m, data, data, o, threads > 1 ? &pool : nullptr);
    std::vector<std::vector<float>> out;
    for (Param* p : m.params()) out.push_back(p->value);
    return out;
  };
  const auto one = weights_after(MatrixPrecision::bf16, 1);
  EXPECT_EQ(one, weights_after(MatrixPrecision::bf16, 2));
  EXPECT_NE(one, weights_after(MatrixPrecision::fp32, 1));
}

}  // namespace
}  // namespace lowp::train

namespace lowp::train {
namespace {

// The layers that pass bf16 batches along compute in fp32 and round once when storing, so
// on bf16 inputs they must give exactly the fp32 layer's results on the same values,
// rounded: bit for bit, forward and backward (BatchNorm's batch statistics included).
TEST(Bf16Training, StorageLayersRoundTheFp32Results) {
  std::vector<std::unique_ptr<Layer>> layers;
  layers.push_back(std::make_unique<BatchNorm>("bn", 16));
  layers.push_back(std::make_unique<ActivationLayer>("relu", ActivationKind::relu));
  layers.push_back(std::make_unique<Pool2d>("max", Pool2d::Mode::max, Pool2dOptions{2, 2, 0}));
  layers.push_back(std::make_unique<Pool2d>("avg", Pool2d::Mode::average, Pool2dOptions{2, 2, 0}));
  layers.push_back(std::make_unique<Flatten>("flatten"));
  // Overlapping windows add gradients: left to fp32.
  EXPECT_FALSE(Pool2d("max3", Pool2d::Mode::max, Pool2dOptions{3, 2, 1}).handles_bf16());
  for (auto& layer : layers) {
    ASSERT_TRUE(layer->handles_bf16()) << layer->name();
    Batch x = random_batch({3, 6, 6, 16}, 21), dy;
    x.data = rounded(x.data);
    dy = random_batch(layer->output_shape(x.shape), 22);
    dy.data = rounded(dy.data);
    Context ctx;
    Batch y32, dx32;
    layer->forward(x, y32, ctx);
    layer->backward(x, y32, dy, &dx32, ctx);
    const std::vector<float> grads32 =
        layer->params().empty() ? std::vector<float>{} : layer->params()[0]->grad;
    Batch xb, dyb, yb, dxb;
    convert_batch(x, xb, true, nullptr);
    convert_batch(dy, dyb, true, nullptr);
    ctx.matrix = MatrixPrecision::bf16;
    layer->forward(xb, yb, ctx);
    layer->backward(xb, yb, dyb, &dxb, ctx);
    ASSERT_TRUE(yb.bf16 && dxb.bf16) << layer->name();
    ASSERT_EQ(yb.shape, y32.shape);
    for (std::size_t i = 0; i < yb.bits.size(); ++i) {
      ASSERT_EQ(yb.bits[i], bfloat16::from_float(y32.data[i]).bits()) << layer->name() << " y " << i;
    }
    // Values, not bits: where max pooling gives no gradient, fp32 has hit * dy (-0 for a
    // negative dy) and bf16 a plain +0.
    for (std::size_t i = 0; i < dxb.bits.size(); ++i) {
      ASSERT_EQ(bf16_value(dxb.bits[i]), round_bf16(dx32.data[i])) << layer->name() << " dx " << i;
    }
    if (!grads32.empty()) {
      EXPECT_EQ(layer->params()[0]->grad, grads32) << layer->name();
    }
  }
}

// Layers that do not take bf16 (GELU, overlapping pooling, Dropout) in the middle of a bf16 chain: Model
// gives it an fp32 copy and converts its gradient back; the output comes out fp32.
TEST(Bf16Training, ModelConvertsAroundLayersWithoutBf16) {
  Random rng(4);
  Model m;
  m.name = "mixed";
  m.input_shape = {6, 6, 2};
  m.layers.push_back(std::make_unique<Conv2d>("conv", Conv2dOptions{2, 8, 3, 1, 1, 1, true}, rng));
  m.layers.push_back(std::make_unique<ActivationLayer>("gelu", ActivationKind::gelu));
  m.layers.push_back(std::make_unique<BatchNorm>("bn", 8));
  m.layers.push_back(std::make_unique<Pool2d>("pool", Pool2d::Mode::max, Pool2dOptions{3, 1, 1}));
  m.layers.push_back(std::make_unique<Flatten>("flatten"));
  m.layers.push_back(std::make_unique<Dropout>("dropout", 0.1f, 3));
  m.layers.push_back(std::make_unique<Linear>("fc", 288, 3, rng));
  Batch x = random_batch({4, 6, 6, 2}, 5);
  Context ctx;
  ctx.matrix = MatrixPrecision::bf16;
  const Batch& out = m.forward(x, ctx);
  ASSERT_FALSE(out.bf16);
  ASSERT_EQ(out.shape, (std::vector<int>{4, 3}));
  Batch grad = random_batch({4, 3}, 6);
  m.backward(grad, ctx);
  for (Param* p : m.params()) {
    double norm = 0.0;
    for (float g : p->grad) {
      ASSERT_TRUE(std::isfinite(g)) << p->name;
      norm += std::fabs(g);
    }
    EXPECT_GT(norm, 0.0) << p->name;
  }
}

}  // namespace
}  // namespace lowp::train


namespace lowp::train {
namespace {

// Every bf16 row-loop variant this CPU runs gives the baseline's bits, odd channel counts
// and row counts included. Many elements: a fused multiply-add differs from the separate
// operations by an fp32 ulp, which survives the rounding to bf16 only near a tie (about
// one element in 2^16), so a small test would let a contracted build through.
TEST(Bf16Training, RowLoopVariantsAgree) {
  const std::size_t rows = 20011, c = 19, n = rows * c;
  Random rng(8);
  std::vector<std::uint16_t> x(n), g(n);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = bf16_bits(rng.uniform(-3.0f, 3.0f));
    g[i] = bf16_bits(rng.uniform(-1.0f, 1.0f));
  }
  std::vector<float> mean(c), inv(c), gamma(c), beta(c), a(c), b(c), d(c);
  for (std::size_t j = 0; j < c; ++j) {
    mean[j] = rng.uniform(-0.5f, 0.5f);
    inv[j] = rng.uniform(0.5f, 2.0f);
    gamma[j] = rng.uniform(0.5f, 1.5f);
    beta[j] = rng.uniform(-0.2f, 0.2f);
    a[j] = rng.uniform(-1.0f, 1.0f);
    b[j] = rng.uniform(-1.0f, 1.0f);
    d[j] = rng.uniform(-1.0f, 1.0f);
  }
  struct Out {
    std::vector<double> stats, sums;
    std::vector<std::uint16_t> y, dx, relu, relu_grad, pooled, pool_grad;
  };
  // The first 3 * 7 * 37 rows as 3 images of 7 x 37 pixels, pooled 2 x 2: the last row
  // and column of each image fall outside every window.
  const int images = 3, ih = 7, iw = 37, oh = 3, ow = 18;
  ASSERT_LE(static_cast<std::size_t>(images * ih * iw), rows);
  auto run = [&](const Bf16RowKernels& k) {
    Out o{std::vector<double>(2 * c), std::vector<double>(2 * c), std::vector<std::uint16_t>(n),
          std::vector<std::uint16_t>(n), std::vector<std::uint16_t>(n),
          std::vector<std::uint16_t>(n), {}, {}};
    k.bn_stats(x.data(), rows, c, o.stats.data());
    k.bn_normalize(x.data(), o.y.data(), rows, c, mean.data(), inv.data(), gamma.data(),
                   beta.data());
    k.bn_grad_sums(x.data(), g.data(), rows, c, mean.data(), inv.data(), o.sums.data());
    k.bn_grad_input(x.data(), g.data(), o.dx.data(), rows, c, mean.data(), inv.data(), a.data(),
                    b.data(), d.data());
    k.relu(x.data(), o.relu.data(), n);
    k.relu_grad(o.relu.data(), g.data(), o.relu_grad.data(), n);
    o.pooled.resize(static_cast<std::size_t>(images * oh * ow) * c);
    o.pool_grad.assign(static_cast<std::size_t>(images * ih * iw) * c, 7);
    k.max_pool_tiles(x.data(), o.pooled.data(), ih, iw, oh, ow, static_cast<int>(c), 2, 0, images);
    k.max_pool_tiles_grad(x.data(), o.pooled.data(), g.data(), o.pool_grad.data(), ih, iw, oh, ow,
                          static_cast<int>(c), 2, 0, images);
    return o;
  };
  const Out want = run(kBf16RowsBaseline);
  // The baseline against plain fp32 arithmetic, rounded once.
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t j = i % c;
    const float xh = (bf16_value(x[i]) - mean[j]) * inv[j];
    ASSERT_EQ(want.y[i], bf16_bits(gamma[j] * xh + beta[j])) << i;
    ASSERT_EQ(want.dx[i], bf16_bits(a[j] * bf16_value(g[i]) - b[j] - xh * d[j])) << i;
  }
  for (const auto& entry : bf16_row_kernel_list()) {
    if (entry.isa > supported_isa()) continue;
    const Out got = run(*entry.fn);
    EXPECT_EQ(got.stats, want.stats) << entry.name;
    EXPECT_EQ(got.sums, want.sums) << entry.name;
    EXPECT_EQ(got.y, want.y) << entry.name;
    EXPECT_EQ(got.dx, want.dx) << entry.name;
    EXPECT_EQ(got.relu, want.relu) << entry.name;
    EXPECT_EQ(got.relu_grad, want.relu_grad) << entry.name;
    EXPECT_EQ(got.pooled, want.pooled) << entry.name;
    EXPECT_EQ(got.pool_grad, want.pool_grad) << entry.name;
  }
}

}  // namespace
}  // namespace lowp::train
