// tests/train/qat_test.cc: quantization-aware training (train/fake_quant.h): the range
// observers, fake quantization against the quantize reference, the straight-through
// gradients against the float layers' on dequantized values, the placement of fake
// quantization where the int8 quantizer puts its Q/DQ pairs, and the promise: the exported
// QDQ model, run by lowp's runtime on its integer kernels, gives the QAT model's outputs
// bit for bit on real Fashion-MNIST images.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <set>

#include "base/error.h"
#include "base/random.h"
#include "io/idx.h"
#include "kernels/quantize/quantize.h"
#include "passes/passes.h"
#include "quant/weight_quant.h"
#include "runtime/session.h"
#include "train/conv2d.h"
#include "train/elementwise.h"
#include "train/fake_quant.h"
#include "train/linear.h"
#include "train/model.h"
#include "train/normalization.h"
#include "train/pooling.h"
#include "train/trainer.h"

namespace lowp::train {
namespace {

Batch batch_of(std::vector<int> shape, std::vector<float> values) {
  Batch b;
  b.shape = std::move(shape);
  b.data = std::move(values);
  return b;
}

Batch random_batch(std::vector<int> shape, std::uint64_t seed, float lo, float hi) {
  Batch b;
  b.resize(std::move(shape));
  Random rng(seed);
  for (float& v : b.data) v = rng.uniform(lo, hi);
  return b;
}

TEST(Qat, RangeObserverIsAMovingAverageOfBatchMinAndMax) {
  RangeObserver r("t", 0.25f);
  EXPECT_FALSE(r.observed());
  EXPECT_EQ(r.params().scale, 1.0f);  // before any batch
  const float nan = std::numeric_limits<float>::quiet_NaN();
  r.observe(std::vector<float>{-1.0f, 2.0f, nan}, false);  // the first batch sets the range
  EXPECT_TRUE(r.observed());
  EXPECT_EQ(r.lo(), -1.0f);
  EXPECT_EQ(r.hi(), 2.0f);
  r.observe(std::vector<float>{-3.0f, 6.0f}, false);  // lo -1 + (-3 + 1) / 4, hi 2 + (6 - 2) / 4
  EXPECT_EQ(r.lo(), -1.5f);
  EXPECT_EQ(r.hi(), 3.0f);
  r.observe(std::vector<float>{-5.0f, 2.0f}, true);  // after ReLU: [0, 2]
  EXPECT_EQ(r.lo(), -1.125f);
  EXPECT_EQ(r.hi(), 2.75f);
  const AffineParams want = choose_u8_params(-1.125f, 2.75f);
  EXPECT_EQ(r.params().scale, want.scale);
  EXPECT_EQ(r.params().zero_point, want.zero_point);
  EXPECT_EQ(r.state()->name, "t.qat_range");
}

TEST(Qat, FakeQuantIsTheQuantizeReferenceWithAStraightThroughGradient) {
  FakeQuant fq("x", 1.0f);  // momentum 1: the range is the last training batch's
  Context train;
  Batch x = random_batch({4, 37}, 3, -1.0f, 2.0f);
  x.data[0] = -1.0f;
  x.data[1] = 2.0f;
  Batch y;
  fq.forward(x, y, train);
  const AffineParams p = choose_u8_params(-1.0f, 2.0f);
  ASSERT_EQ(fq.observer().params().scale, p.scale);
  // Ties: values half way between two levels round to the even one, as QuantizeLinear.
  x.data[2] = dequantize_value(40, p.scale, p.zero_point) + 0.5f * p.scale;
  Context eval;
  eval.training = false;
  fq.forward(x, y, eval);
  for (std::size_t i = 0; i < x.data.size(); ++i) {
    const float want = dequantize_value(quantize_value(x.data[i], p.scale, p.zero_point, 0, 255),
                                        p.scale, p.zero_point);
    ASSERT_EQ(y.data[i], want) << i;
  }
  // Outside the range [dq(0), dq(255)] the value saturates and the gradient stops.
  Batch out = batch_of({1, 4}, {-1.5f, 0.25f, 1.9f, 2.5f});
  fq.forward(out, y, eval);
  EXPECT_EQ(y.data[0], dequantize_value(0, p.scale, p.zero_point));
  EXPECT_EQ(y.data[3], dequantize_value(255, p.scale, p.zero_point));
  Batch dy = batch_of({1, 4}, {1.0f, 2.0f, 3.0f, 4.0f}), dx;
  fq.backward(out, y, dy, &dx, eval);
  EXPECT_EQ(dx.data, (std::vector<float>{0.0f, 2.0f, 3.0f, 0.0f}));
}

// QAT layers' gradients are their float layers' gradients on the dequantized input and
// weights, with the output gradient kept where the output was not clamped. With a fused
// ReLU and a range wider than the outputs, that is where the pre-activation
// z = x W_dq^T + b_dq (in double here) is positive.
TEST(Qat, GradientsAreTheFloatLayersOnDequantizedValues) {
  Random rng(7);
  FakeQuant in("x", 1.0f);
  Context train;
  Batch x0 = random_batch({6, 24}, 11, -1.0f, 1.5f), x;
  in.forward(x0, x, train);  // x on the input's grid
  auto linear = std::make_unique<Linear>("fc", 24, 5, rng);
  const std::vector<float> w = linear->weight().value, b = linear->bias().value;
  QatOutput out;
  out.relu = std::make_unique<ActivationLayer>("relu", ActivationKind::relu);
  out.range.emplace("relu", 1e-6f);  // a range wider than the outputs: nothing clamps at the top
  out.range->observe(std::vector<float>{0.0f, 10.0f}, false);
  QatLinear qat(std::move(linear), &in.observer(), std::move(out));
  Batch y;
  qat.forward(x, y, train);

  QuantizedWeights wq = quantize_per_channel_s8(w.data(), 5, 24);
  std::vector<float> w_dq(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) w_dq[i] = wq.q[i] * wq.scales[i / 24];
  const float sx = in.observer().params().scale;
  QuantizedBias bq = quantize_bias_s32(b, sx, wq.scales, "fc.bias");
  Batch dy = random_batch({6, 5}, 12, -1.0f, 1.0f), masked = dy;
  int kept = 0;
  for (int r = 0; r < 6; ++r) {
    for (int j = 0; j < 5; ++j) {
      double z = static_cast<double>(bq.q[j]) * bq.scales[j];
      for (int i = 0; i < 24; ++i) z += static_cast<double>(x.data[r * 24 + i]) * w_dq[j * 24 + i];
      ASSERT_GT(std::fabs(z), 1e-4) << "a pre-activation too close to 0 for this test";
      if (z <= 0) masked.data[r * 5 + j] = 0.0f;
      kept += z > 0;
    }
  }
  EXPECT_GT(kept, 5);
  EXPECT_LT(kept, 25);
  Batch dx;
  qat.backward(x, y, dy, &dx, train);

  Random unused(0);
  Linear ref("ref", 24, 5, unused);
  ref.weight().value = w_dq;
  Batch ref_dx;
  ref.backward(x, y, masked, &ref_dx, train);
  EXPECT_EQ(dx.data, ref_dx.data);
  EXPECT_EQ(qat.params()[0]->grad, ref.weight().grad);
  EXPECT_EQ(qat.params()[1]->grad, ref.bias().grad);
  EXPECT_EQ(qat.params()[0]->value, w);  // the master weights stay fp32

  // The same for a convolution (3x3, 16 input channels: GEMM depth 144).
  Batch img0 = random_batch({2, 5, 5, 16}, 13, -1.0f, 1.0f), img;
  FakeQuant in2("img", 1.0f);
  in2.forward(img0, img, train);
  auto conv = std::make_unique<Conv2d>("conv", Conv2dOptions{16, 4, 3, 1, 1, 1, true}, rng);
  const std::vector<float> cw = conv->params()[0]->value;
  QatOutput cout;
  cout.range.emplace("conv", 1e-6f);  // no ReLU, nothing clamped: the gradient passes everywhere
  cout.range->observe(std::vector<float>{-10.0f, 10.0f}, false);
  QatConv2d qconv(std::move(conv), &in2.observer(), std::move(cout));
  Batch cy, cdy = random_batch({2, 5, 5, 4}, 14, -1.0f, 1.0f), cdx;
  qconv.forward(img, cy, train);
  qconv.backward(img, cy, cdy, &cdx, train);
  QuantizedWeights cq = quantize_per_channel_s8(cw.data(), 4, 144);
  Conv2d cref("cref", Conv2dOptions{16, 4, 3, 1, 1, 1, true}, unused);
  for (std::size_t i = 0; i < cw.size(); ++i)
    cref.params()[0]->value[i] = cq.q[i] * cq.scales[i / 144];
  Batch cref_dx;
  cref.backward(img, cy, cdy, &cref_dx, train);
  EXPECT_EQ(cdx.data, cref_dx.data);
  EXPECT_EQ(qconv.params()[0]->grad, cref.params()[0]->grad);
}

std::vector<std::string> kinds(const Model& m) {
  std::vector<std::string> out;
  for (const auto& l : m.layers) out.emplace_back(l->kind());
  return out;
}

// An input of the node that writes `value`.
const Tensor& input_of(const ir::Graph& g, const std::string& value, std::size_t input) {
  for (const auto& n : g.nodes()) {
    if (n->outputs[0]->name == value) return *n->inputs[input]->constant;
  }
  throw Error("no node writes " + value);
}

TEST(Qat, PreparationPutsFakeQuantizationWhereTheQuantizerPutsPairs) {
  Random rng(3);
  Model m = make_cnn(rng);
  for (StateTensor* s : m.states()) {  // running statistics other than 0 and 1
    for (float& v : s->value) v = rng.uniform(0.5f, 1.5f);
  }
  std::unique_ptr<ir::Graph> before = m.to_graph();
  passes::fold_batch_norm(*before);  // what the quantizer's preparation does

  QatSummary summary = prepare_qat(m, QatOptions{});
  EXPECT_EQ(kinds(m),
            (std::vector<std::string>{"Conv2d", "ReLU", "FakeQuant", "MaxPool2d", "QatConv2d",
                                      "MaxPool2d", "Flatten", "QatLinear", "QatLinear"}));
  EXPECT_EQ(summary.folded, (std::vector<std::string>{"bn1 into conv1", "bn2 into conv2"}));
  EXPECT_EQ(summary.quantized_tensors, (std::vector<std::string>{"relu1", "relu2", "relu3"}));
  ASSERT_EQ(summary.decisions.size(), 4u);
  EXPECT_EQ(summary.decisions[0].precision, "fp32");  // the 1-channel stem, GEMM depth 9
  for (std::size_t i = 1; i < 4; ++i) EXPECT_EQ(summary.decisions[i].precision, "int8");
  EXPECT_TRUE(is_qat_model(m));
  EXPECT_EQ(m.output_shape(), std::vector<int>{10});

  // The folded weights are the pass's, bit for bit: QAT trains the weights PTQ quantizes.
  std::unique_ptr<ir::Graph> after = m.to_graph();
  // (The pass's Conv writes what the BatchNorm it absorbed wrote.)
  for (auto [bn, conv] : {std::pair{"bn1", "conv1"}, std::pair{"bn2", "conv2"}}) {
    for (std::size_t input : {1, 2}) {
      auto a = input_of(*before, bn, input).values<float>();
      auto b = input_of(*after, conv, input).values<float>();
      EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end())) << conv << " " << input;
    }
  }
  // BatchNorm after a Linear folds as the pass folds it into a Gemm.
  Model dense;
  dense.name = "dense";
  dense.input_shape = {8};
  dense.layers.push_back(std::make_unique<Linear>("fc1", 8, 6, rng));
  dense.layers.push_back(std::make_unique<BatchNorm>("bn", 6));
  dense.layers.push_back(std::make_unique<ActivationLayer>("relu", ActivationKind::relu));
  dense.layers.push_back(std::make_unique<Linear>("fc2", 6, 3, rng));
  for (StateTensor* st : dense.states()) {
    for (float& v : st->value) v = rng.uniform(0.5f, 1.5f);
  }
  std::unique_ptr<ir::Graph> dense_before = dense.to_graph();
  passes::fold_batch_norm(*dense_before);
  prepare_qat(dense, QatOptions{});
  EXPECT_EQ(kinds(dense), (std::vector<std::string>{"FakeQuant", "QatLinear", "QatLinear"}));
  std::unique_ptr<ir::Graph> dense_after = dense.to_graph();
  for (std::size_t input : {1, 2}) {
    auto a = input_of(*dense_before, "bn", input).values<float>();
    auto b = input_of(*dense_after, "fc1", input).values<float>();
    EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end())) << "fc1 " << input;
  }

  try {
    prepare_qat(m, QatOptions{});
    FAIL() << "prepared twice";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already prepared"), std::string::npos) << e.what();
  }
}

TEST(Qat, ModelsWithNothingToQuantizeAreRefused) {
  Random rng(1);
  Model relu_only;
  relu_only.name = "relu_only";
  relu_only.input_shape = {10};
  relu_only.layers.push_back(std::make_unique<ActivationLayer>("relu", ActivationKind::relu));
  try {
    prepare_qat(relu_only, QatOptions{});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model 'relu_only' has nothing that int8 would quantize: "
                                         "it has no Conv or Linear layer"),
              std::string::npos)
        << e.what();
  }
  Model shallow;  // one 3x3 convolution of one channel: GEMM depth 9, below 16
  shallow.name = "shallow";
  shallow.input_shape = {3, 3, 1};
  shallow.layers.push_back(
      std::make_unique<Conv2d>("conv", Conv2dOptions{1, 10, 3, 1, 0, 1, true}, rng));
  shallow.layers.push_back(std::make_unique<Flatten>("flatten"));
  try {
    prepare_qat(shallow, QatOptions{});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("conv stays fp32: GEMM depth 9 < 16"), std::string::npos)
        << e.what();
  }
  Model m = make_mlp(8, 3, rng);
  QatOptions bad;
  bad.momentum = 0.0f;
  EXPECT_THROW(prepare_qat(m, bad), Error);
}

// Fashion-MNIST as `lowp train` reads it: NHWC [28, 28, 1], (x / 255 - mean) / std.
Dataset fashion(bool train_split, std::size_t rows) {
  static const FashionMnist data = load_fashion_mnist();
  const lowp::Dataset& split = train_split ? data.train : data.test;
  Dataset d;
  d.sample_shape = {28, 28, 1};
  auto pixels = split.images.values<std::uint8_t>();
  auto labels = split.labels.values<std::uint8_t>();
  for (std::size_t i = 0; i < rows * 784; ++i)
    d.x.push_back((static_cast<float>(pixels[i]) / 255.0f - 0.2860f) / 0.3530f);
  d.labels.assign(labels.begin(), labels.begin() + static_cast<std::ptrdiff_t>(rows));
  return d;
}

// The exported model run by lowp's runtime against the QAT model in inference mode, on
// every image of `test`: the same logits bit for bit. Returns the lowered graph's ops.
std::multiset<std::string> expect_same_outputs(Model& m, const Dataset& test) {
  Batch x;
  x.shape = {static_cast<int>(test.rows())};
  x.shape.insert(x.shape.end(), test.sample_shape.begin(), test.sample_shape.end());
  x.data = test.x;
  Context eval;
  eval.training = false;
  const Batch want = m.forward(x, eval);

  std::vector<std::int64_t> dims = {static_cast<std::int64_t>(test.rows())};
  if (test.sample_shape.size() == 3) {
    dims.insert(dims.end(), {1, 28, 28});  // one channel: NHWC and NCHW are the same bytes
  } else {
    dims.push_back(test.sample_shape[0]);
  }
  Tensor input(DType::float32, Shape(dims));
  std::copy(x.data.begin(), x.data.end(), input.values<float>().begin());
  runtime::Session session(export_qat_int8(m), runtime::SessionOptions{});
  std::vector<Tensor> got = session.run({{"input", &input}});
  auto values = got[0].values<float>();
  EXPECT_EQ(std::vector<float>(values.begin(), values.end()), want.data)
      << "the exported model's logits differ from the QAT model's";
  std::multiset<std::string> ops;
  for (const auto& n : session.graph().nodes()) ops.insert(n->domain + "::" + n->op_type);
  return ops;
}

TrainOptions qat_options(float lr) {
  TrainOptions o;
  o.epochs = 1;
  o.batch = 64;
  o.optimizer.lr = lr;
  o.progress_every = 1000;
  return o;
}

// The CNN trained briefly in fp32, then fine-tuned with QAT: the exported QDQ model runs on
// lowp's integer kernels and gives the QAT model's logits bit for bit.
TEST(Qat, ExportedCnnGivesTheQatModelsOutputsBitForBit) {
  const Dataset train = fashion(true, 1024), test = fashion(false, 256);
  Random rng(1);
  Model m = make_cnn(rng);
  train_model(m, train, test, qat_options(1e-3f), nullptr);
  prepare_qat(m, QatOptions{});
  TrainResult r = train_model(m, train, test, qat_options(1e-4f), nullptr);
  EXPECT_GT(r.epochs.back().test_accuracy, 0.6);  // chance is 0.1; ~0.75 after 32 steps
  std::multiset<std::string> ops = expect_same_outputs(m, test);
  // As lowp quantize's model of this CNN runs: the fp32 stem writing u8, then int8.
  EXPECT_EQ(ops.count("lowp::NhwcQLinearConv"), 1u);
  EXPECT_EQ(ops.count("lowp::QGemm"), 2u);
  EXPECT_EQ(ops.count("lowp::NhwcConv"), 1u);  // the stem, writing u8 itself
  EXPECT_EQ(ops.count("::QuantizeLinear") + ops.count("::DequantizeLinear"), 0u);
}

// An MLP, its input quantized too (a FakeQuant first), trained with QAT from scratch, at 2
// threads; and the ranges, state tensors, survive an export and re-import of the layers.
TEST(Qat, ExportedMlpGivesTheQatModelsOutputsBitForBit) {
  Dataset train = fashion(true, 512), test = fashion(false, 128);
  train.sample_shape = test.sample_shape = {784};
  Random rng(2);
  Model m = make_mlp(784, 10, rng);
  QatSummary s = prepare_qat(m, QatOptions{});
  EXPECT_EQ(s.quantized_tensors, (std::vector<std::string>{"input", "relu1", "relu2"}));
  EXPECT_EQ(kinds(m),
            (std::vector<std::string>{"FakeQuant", "QatLinear", "QatLinear", "QatLinear"}));
  ThreadPool pool(2);
  train_model(m, train, test, qat_options(1e-3f), &pool);
  std::multiset<std::string> ops = expect_same_outputs(m, test);
  EXPECT_EQ(ops.count("lowp::QGemm"), 3u);
}

// A convolution that ends the model: int8 weights and input, but its output is not
// quantized, so the runtime keeps DequantizeLinear -> Conv in fp32 and QatConv2d computes
// that fp32 convolution of the dequantized values. Random inputs, NHWC [64, 3, 3, 16] ->
// [64, 1, 1, 10]; one training-mode pass sets the input's range.
TEST(Qat, ConvolutionEndingTheModelAgreesWithTheRuntime) {
  Random rng(4);
  Model m;
  m.name = "conv_head";
  m.input_shape = {3, 3, 16};
  m.layers.push_back(
      std::make_unique<Conv2d>("conv", Conv2dOptions{16, 10, 3, 1, 0, 1, true}, rng));
  QatSummary summary = prepare_qat(m, QatOptions{});
  EXPECT_EQ(kinds(m), (std::vector<std::string>{"FakeQuant", "QatConv2d"}));
  EXPECT_EQ(summary.quantized_tensors, std::vector<std::string>{"input"});  // not the output
  const Batch x = random_batch({64, 3, 3, 16}, 21, -1.0f, 2.0f);
  Context train;
  m.forward(x, train);
  Context eval;
  eval.training = false;
  const Batch want = m.forward(x, eval);
  Tensor input(DType::float32, Shape{64, 16, 3, 3});
  auto in = input.values<float>();
  for (int r = 0; r < 64; ++r) {
    for (int p = 0; p < 9; ++p) {
      for (int c = 0; c < 16; ++c) in[(r * 16 + c) * 9 + p] = x.data[(r * 9 + p) * 16 + c];
    }
  }
  runtime::Session session(export_qat_int8(m), runtime::SessionOptions{});
  std::vector<Tensor> got = session.run({{"input", &input}});
  auto values = got[0].values<float>();  // [64, 10, 1, 1]: the same order as NHWC
  EXPECT_EQ(std::vector<float>(values.begin(), values.end()), want.data);
}

}  // namespace
}  // namespace lowp::train
