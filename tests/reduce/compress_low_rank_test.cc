// tests/reduce/compress_low_rank_test.cc: the graph rewrite of `lowp compress --lowrank`.
//
// The layers' weights have a known small rank R (products of random [K, R] and [R, N]
// matrices), so factorizing at rank R loses nothing and the compressed model must give
// the original's outputs up to fp32 rounding, run by lowp's runtime. Decisions are tested
// with a stand-in timer whose answer is fixed, so they do not depend on the machine.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "base/error.h"
#include "base/random.h"
#include "ir/schema.h"
#include "reduce/compress_low_rank.h"
#include "runtime/session.h"

namespace lowp {
namespace {

std::shared_ptr<Tensor> floats(Shape shape, const std::vector<float>& v) {
  auto t = std::make_shared<Tensor>(DType::float32, std::move(shape));
  EXPECT_EQ(t->elements(), v.size());
  std::memcpy(t->raw(), v.data(), v.size() * sizeof(float));
  return t;
}

std::vector<float> uniform(std::size_t count, Random& rng, float scale = 1.0f) {
  std::vector<float> v(count);
  for (float& x : v) x = rng.uniform(-scale, scale);
  return v;
}

// rows x cols of rank r (row-major): A [rows, r] B [r, cols].
std::vector<float> low_rank(int rows, int cols, int r, Random& rng) {
  std::vector<float> a = uniform(static_cast<std::size_t>(rows) * r, rng),
                     b = uniform(static_cast<std::size_t>(r) * cols, rng);
  std::vector<float> m(static_cast<std::size_t>(rows) * cols, 0.0f);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j)
      for (int c = 0; c < r; ++c)
        m[static_cast<std::size_t>(i) * cols + j] +=
            a[static_cast<std::size_t>(i) * r + c] * b[static_cast<std::size_t>(c) * cols + j];
  return m;
}

ir::TensorType batch_type(std::vector<std::int64_t> rest) {
  std::vector<ir::Dim> dims = {ir::Dim::named("N")};
  for (std::int64_t d : rest) dims.push_back(ir::Dim::known(d));
  return ir::TensorType{DType::float32, dims};
}

// x [N, 64] -> Gemm(transB = 1, W [48, 64] of rank 4, C [48]) -> Relu -> Gemm(transB = 0,
// W [48, 40] of rank 3, alpha 0.5, beta 2, C [40]) -> MatMul(W [40, 36] of rank 5) ->
// Add(bias [36]) -> y; x [N, 64] -> MatMul into a second output too (a head of rank 2).
std::unique_ptr<ir::Graph> dense_model() {
  Random rng(11);
  auto g = std::make_unique<ir::Graph>();
  g->opsets[""] = ir::kIrOpset;
  ir::Value* x = g->add_value("x", batch_type({64}));
  g->inputs.push_back(x);
  ir::Value* h1 = g->add_value("h1");
  ir::Node* fc1 =
      g->add_node("Gemm",
                  {x, g->add_constant("w1", floats(Shape{48, 64}, low_rank(48, 64, 4, rng))),
                   g->add_constant("b1", floats(Shape{48}, uniform(48, rng)))},
                  {h1}, "fc1");
  fc1->attributes["transB"] = ir::Attribute::of_int(1);
  ir::Value* a1 = g->add_value("a1");
  g->add_node("Relu", {h1}, {a1}, "relu1");
  ir::Value* h2 = g->add_value("h2");
  ir::Node* fc2 =
      g->add_node("Gemm",
                  {a1, g->add_constant("w2", floats(Shape{48, 40}, low_rank(48, 40, 3, rng))),
                   g->add_constant("b2", floats(Shape{40}, uniform(40, rng)))},
                  {h2}, "fc2");
  fc2->attributes["alpha"] = ir::Attribute::of_float(0.5f);
  fc2->attributes["beta"] = ir::Attribute::of_float(2.0f);
  ir::Value* m3 = g->add_value("m3");
  g->add_node("MatMul",
              {h2, g->add_constant("w3", floats(Shape{40, 36}, low_rank(40, 36, 5, rng)))}, {m3},
              "fc3");
  ir::Value* y = g->add_value("y");
  g->add_node("Add", {m3, g->add_constant("b3", floats(Shape{36}, uniform(36, rng)))}, {y},
              "bias3");
  ir::Value* head = g->add_value("head");
  g->add_node("MatMul", {x, g->add_constant("w4", floats(Shape{64, 30}, low_rank(64, 30, 2, rng)))},
              {head}, "head");
  g->outputs = {y, head};
  ir::infer_types(*g);
  return g;
}

// x [N, 8, 6, 6] -> Conv 1x1 (W [24, 8, 1, 1] of rank 3, bias, stride 2, pads 1) -> y1;
// x -> Conv 3x3 (not factorized) -> y2; x -> Conv 1x1 group 2 (not factorized) -> y3.
std::unique_ptr<ir::Graph> conv_model() {
  Random rng(12);
  auto g = std::make_unique<ir::Graph>();
  g->opsets[""] = ir::kIrOpset;
  ir::Value* x = g->add_value("x", batch_type({8, 6, 6}));
  g->inputs.push_back(x);
  ir::Value* y1 = g->add_value("y1");
  ir::Node* c1 =
      g->add_node("Conv",
                  {x, g->add_constant("cw1", floats(Shape{24, 8, 1, 1}, low_rank(24, 8, 3, rng))),
                   g->add_constant("cb1", floats(Shape{24}, uniform(24, rng)))},
                  {y1}, "pointwise");
  c1->attributes["strides"] = ir::Attribute::of_ints({2, 2});
  c1->attributes["pads"] = ir::Attribute::of_ints({1, 1, 1, 1});
  c1->attributes["kernel_shape"] = ir::Attribute::of_ints({1, 1});
  ir::Value* y2 = g->add_value("y2");
  g->add_node("Conv",
              {x, g->add_constant("cw2", floats(Shape{24, 8, 3, 3}, uniform(24 * 8 * 9, rng)))},
              {y2}, "spatial");
  ir::Value* y3 = g->add_value("y3");
  ir::Node* c3 = g->add_node(
      "Conv", {x, g->add_constant("cw3", floats(Shape{24, 4, 1, 1}, uniform(24 * 4, rng)))}, {y3},
      "grouped");
  c3->attributes["group"] = ir::Attribute::of_int(2);
  g->outputs = {y1, y2, y3};
  ir::infer_types(*g);
  return g;
}

std::vector<Tensor> run(const ir::Graph& g, const Tensor& x) {
  runtime::Session session(g.clone(), runtime::SessionOptions{});
  return session.run({{"x", &x}});
}

// A timer that reports the factorized form `speedup` times faster, and counts its calls.
struct FixedTimer {
  double speedup = 2.0;
  int calls = 0;
  LowRankTimer timer() {
    return [this](int, int, int, int) {
      ++calls;
      return LowRankTiming{10.0, 10.0 / speedup};
    };
  }
};

const LowRankLayerReport& layer(const LowRankReport& r, const std::string& node) {
  for (const auto& l : r.layers)
    if (l.node == node) return l;
  throw Error("no layer " + node);
}

int count_op(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.nodes()) n += node->op_type == op ? 1 : 0;
  return n;
}

// Outputs within 1e-4 of the output's scale: every layer here sums at most 64 products of
// values below ~10 in fp32 (relative rounding ~64 * 2^-24 ~ 4e-6 per sum), the compressed
// model does two such sums per layer over float factors, and the differences of both
// models' roundings stay an order of magnitude below the bound.
void expect_same_outputs(const std::vector<Tensor>& want, const std::vector<Tensor>& got) {
  ASSERT_EQ(want.size(), got.size());
  for (std::size_t o = 0; o < want.size(); ++o) {
    ASSERT_EQ(want[o].shape(), got[o].shape()) << "output " << o;
    auto a = want[o].values<float>(), b = got[o].values<float>();
    float scale = 0.0f;
    for (float v : a) scale = std::max(scale, std::fabs(v));
    for (std::size_t i = 0; i < a.size(); ++i)
      EXPECT_NEAR(a[i], b[i], 1e-4f * scale) << "output " << o << " [" << i << "]";
  }
}

TEST(CompressLowRank, ExactRankGivesTheSameOutputs) {
  auto model = dense_model();
  FixedTimer t;
  LowRankOptions o;
  o.spec = RankSpec{RankSpec::Kind::rank, 0.0, 5};
  o.timer = t.timer();
  LowRankReport report;
  auto out = compress_low_rank(*model, o, report);
  ASSERT_EQ(report.layers.size(), 4u);
  EXPECT_EQ(report.factorized(), 4);
  EXPECT_EQ(t.calls, 4);
  EXPECT_EQ(count_op(*out, "Gemm"), 4);
  EXPECT_EQ(count_op(*out, "MatMul"), 4);
  const auto& fc1 = layer(report, "fc1");
  EXPECT_EQ(fc1.k, 64);
  EXPECT_EQ(fc1.n, 48);
  EXPECT_EQ(fc1.rank, 5);
  EXPECT_NEAR(fc1.energy_kept, 1.0, 1e-9);  // rank 4 < 5: nothing dropped
  EXPECT_EQ(fc1.params_before, 64 * 48 + 48);
  EXPECT_EQ(fc1.params_after, 5 * (64 + 48) + 48);
  EXPECT_EQ(layer(report, "fc3").params_before, 40 * 36);  // the Add's bias is not the MatMul's
  EXPECT_EQ(report.params_before, 48 * 64 + 48 + 48 * 40 + 40 + 40 * 36 + 36 + 64 * 30);
  EXPECT_EQ(report.params_after, 5 * (112 + 88 + 76 + 94) + 48 + 40 + 36);
  // fc2's alpha is in its second factor and beta in its bias: a plain dense layer.
  int seen = 0;
  for (const auto& node : out->nodes()) {
    if (node->name != "fc2_lowrank2") continue;
    ++seen;
    EXPECT_FALSE(node->has_attribute("alpha") || node->has_attribute("beta"));
    EXPECT_EQ(node->inputs[2]->constant->values<float>()[0],
              2.0f * model->find_value("b2")->constant->values<float>()[0]);
  }
  EXPECT_EQ(seen, 1);
  // The input model is untouched.
  EXPECT_EQ(count_op(*model, "Gemm"), 2);

  Random rng(5);
  Tensor x(DType::float32, Shape{3, 64});
  for (float& v : x.values<float>()) v = rng.uniform(-1.0f, 1.0f);
  expect_same_outputs(run(*model, x), run(*out, x));
}

TEST(CompressLowRank, PointwiseConvKeepsStrideAndPadding) {
  auto model = conv_model();
  FixedTimer t;
  LowRankOptions o;
  // The weights are rank 3 up to their rounding to float (relative 2^-24, so the energy
  // beyond rank 3 is ~1e-14 of the total).
  o.spec = RankSpec{RankSpec::Kind::energy, 0.999999, 0};
  o.timer = t.timer();
  LowRankReport report;
  auto out = compress_low_rank(*model, o, report);
  ASSERT_EQ(report.layers.size(), 3u);
  const auto& pw = layer(report, "pointwise");
  EXPECT_TRUE(pw.factorized) << pw.reason;
  EXPECT_EQ(pw.rows, 16);  // 4 x 4 output pixels at batch 1
  EXPECT_EQ(pw.rank, 3);
  EXPECT_EQ(layer(report, "spatial").reason, "kernel 3x3 is not 1x1");
  EXPECT_EQ(layer(report, "grouped").reason, "group 2 (only group 1 is factorized)");
  EXPECT_EQ(count_op(*out, "Conv"), 4);

  Random rng(6);
  Tensor x(DType::float32, Shape{2, 8, 6, 6});
  for (float& v : x.values<float>()) v = rng.uniform(-1.0f, 1.0f);
  expect_same_outputs(run(*model, x), run(*out, x));
}

TEST(CompressLowRank, KeepsLayersThatAreNotFaster) {
  auto model = dense_model();
  FixedTimer t{1.05};
  LowRankOptions o;
  o.spec = RankSpec{RankSpec::Kind::rank, 0.0, 5};
  o.timer = t.timer();
  LowRankReport report;
  auto out = compress_low_rank(*model, o, report);
  EXPECT_EQ(report.factorized(), 0);
  EXPECT_EQ(t.calls, 4);
  EXPECT_EQ(count_op(*out, "Gemm"), 2);
  EXPECT_EQ(count_op(*out, "MatMul"), 2);
  const auto& fc1 = layer(report, "fc1");
  EXPECT_FALSE(fc1.factorized);
  EXPECT_EQ(fc1.reason, "rank 5 of 48 not fast enough: 1.05x at 1 rows, needs 1.10x");
  EXPECT_EQ(fc1.dense_us, 10.0);
  EXPECT_EQ(fc1.params_after, fc1.params_before);
  EXPECT_EQ(report.params_after, report.params_before);
  // The same answer passes a lower bar.
  o.min_speedup = 1.05;
  EXPECT_EQ((compress_low_rank(*model, o, report), report.factorized()), 4);
}

TEST(CompressLowRank, SkipsWhenParametersDoNotShrinkWithoutTiming) {
  auto model = dense_model();
  FixedTimer t;
  LowRankOptions o;
  o.timer = t.timer();
  // rank 24: 24 (64 + 48) = 2688 < 3072 for fc1 only; fc2 40 x 48, fc3 40 x 36 and the
  // head 64 x 30 do not shrink, and the SVD is not even run for them.
  o.spec = RankSpec{RankSpec::Kind::rank, 0.0, 24};
  LowRankReport report;
  compress_low_rank(*model, o, report);
  EXPECT_EQ(t.calls, 1);
  EXPECT_TRUE(layer(report, "fc1").factorized);
  const auto& fc2 = layer(report, "fc2");
  EXPECT_EQ(fc2.reason, "rank 24 saves no parameters (r (K + N) >= K N)");
  EXPECT_LT(fc2.energy_kept, 0.0);
  // energy=1 keeps every singular value that adds to the double sum of squares: the
  // rounding to float of a rank-3 product leaves some of the 5 beyond rank 3 large enough
  // to count, and from rank 6 of 8 up, r (8 + 24) >= 8 x 24.
  auto conv = conv_model();
  t.calls = 0;
  o.spec = RankSpec{RankSpec::Kind::energy, 1.0, 0};
  compress_low_rank(*conv, o, report);
  const auto& pw = layer(report, "pointwise");
  EXPECT_FALSE(pw.factorized);
  EXPECT_GE(pw.rank, 6);
  EXPECT_EQ(pw.reason, fmt::format("rank {} of 8 saves no parameters (r (K + N) >= K N)", pw.rank));
  EXPECT_NEAR(pw.energy_kept, 1.0, 1e-12);
  EXPECT_EQ(t.calls, 0);
  // min_speedup 0: no timing at all.
  t.calls = 0;
  o.min_speedup = 0.0;
  o.spec = RankSpec{RankSpec::Kind::rank, 0.0, 5};
  compress_low_rank(*model, o, report);
  EXPECT_EQ(t.calls, 0);
  EXPECT_EQ(report.factorized(), 4);
  EXPECT_EQ(layer(report, "fc1").reason, "rank 5 of 48, not timed (minimum speed-up 0)");
}

TEST(CompressLowRank, ExcludeAndOtherLayers) {
  auto model = dense_model();
  // A MatMul by a graph input is not a layer with weights.
  ir::Value* w = model->add_value(
      "w_in",
      ir::TensorType{DType::float32, std::vector<ir::Dim>{ir::Dim::known(36), ir::Dim::known(4)}});
  model->inputs.push_back(w);
  ir::Value* z = model->add_value("z");
  model->add_node("MatMul", {model->outputs[0], w}, {z}, "dynamic");
  model->outputs.push_back(z);
  ir::infer_types(*model);
  FixedTimer t;
  LowRankOptions o;
  o.spec = RankSpec{RankSpec::Kind::rank, 0.0, 5};
  o.timer = t.timer();
  o.exclude = {"fc2", "head"};
  LowRankReport report;
  auto out = compress_low_rank(*model, o, report);
  EXPECT_EQ(report.factorized(), 2);
  EXPECT_EQ(layer(report, "fc2").reason, "excluded (--exclude)");
  EXPECT_EQ(layer(report, "dynamic").reason, "weights are not a float32 constant");
  o.exclude = {"fc9"};
  try {
    compress_low_rank(*model, o, report);
    ADD_FAILURE() << "unknown --exclude accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--exclude names node 'fc9', which the model does not have");
  }
}

TEST(CompressLowRank, RejectsNanWeightsAndBadOptions) {
  auto model = dense_model();
  ir::Node* fc2 = nullptr;
  for (const auto& n : model->nodes())
    if (n->name == "fc2") fc2 = n.get();
  ASSERT_NE(fc2, nullptr);
  std::vector<float> w(48 * 40, 0.5f);
  w[77] = std::nanf("");
  fc2->inputs[1] = model->add_constant("w2_nan", floats(Shape{48, 40}, w));
  FixedTimer t;
  LowRankOptions o;
  o.timer = t.timer();
  LowRankReport report;
  try {
    compress_low_rank(*model, o, report);
    ADD_FAILURE() << "NaN weights accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "node 'fc2': weight 'w2_nan' holds nan at flat index 77; low-rank factorization "
                 "needs finite weights");
  }
  o.exclude = {"fc2"};
  EXPECT_NO_THROW(compress_low_rank(*model, o, report));  // an excluded layer is not read
  o.batch = 0;
  EXPECT_THROW(compress_low_rank(*model, o, report), Error);
  o.batch = 1;
  o.min_speedup = -1.0;
  EXPECT_THROW(compress_low_rank(*model, o, report), Error);
}

// The real timer, asked for a bar every layer passes: it runs, and reports both times.
TEST(CompressLowRank, MeasuresWithTheGemmKernels) {
  auto model = dense_model();
  LowRankOptions o;
  o.spec = RankSpec{RankSpec::Kind::rank, 0.0, 2};
  o.min_speedup = 1e-9;
  o.batch = 4;
  LowRankReport report;
  compress_low_rank(*model, o, report);
  EXPECT_EQ(report.factorized(), 4);
  for (const auto& l : report.layers) {
    EXPECT_GT(l.dense_us, 0.0) << l.node;
    EXPECT_GT(l.factored_us, 0.0) << l.node;
    EXPECT_EQ(l.rows, 4) << l.node;
  }
}

}  // namespace
}  // namespace lowp
