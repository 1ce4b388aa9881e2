// tests/runtime/passes_test.cc: each graph pass on a small graph: the dump after the pass
// against a golden text, and the outputs before and after equal (run by the Session with
// the optimizer off, so the pass under test is the only change).
//
// Lives with the runtime tests because checking outputs needs the runtime.
#include <gtest/gtest.h>

#include <cmath>

#include "base/random.h"
#include "ir/dump.h"
#include "ir/schema.h"
#include "passes/passes.h"
#include "runtime/session.h"

namespace lowp {
namespace {

using ir::Graph;
using ir::TensorType;

std::shared_ptr<Tensor> random_tensor(Shape shape, std::uint64_t seed) {
  auto t = std::make_shared<Tensor>(DType::float32, std::move(shape));
  Random rng(seed);
  for (float& v : t->values<float>()) v = rng.uniform(-1.0f, 1.0f);
  return t;
}

std::shared_ptr<Tensor> positive_tensor(Shape shape, std::uint64_t seed) {
  auto t = random_tensor(std::move(shape), seed);
  for (float& v : t->values<float>()) v = 0.5f + std::abs(v);
  return t;
}

// Runs a graph (cloned, optimizer off) on one input.
std::vector<Tensor> run(const Graph& g, const Tensor& x) {
  runtime::SessionOptions o;
  o.optimize = false;
  runtime::Session s(g.clone(), o);
  return s.run({{g.inputs[0]->name, &x}});
}

void expect_close(const std::vector<Tensor>& a, const std::vector<Tensor>& b, float tol) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].shape(), b[i].shape());
    auto x = a[i].values<float>(), y = b[i].values<float>();
    for (std::size_t j = 0; j < x.size(); ++j) ASSERT_NEAR(x[j], y[j], tol * (1 + std::abs(y[j]))) << j;
  }
}

// x [1, 3, 8, 8] -> Conv 3x3 (pads 1) -> BatchNormalization -> Relu -> y.
std::unique_ptr<Graph> conv_bn_relu() {
  auto g = std::make_unique<Graph>();
  g->name = "test";
  ir::Value* x = g->add_value("x", TensorType::of(DType::float32, Shape{1, 3, 8, 8}));
  g->inputs.push_back(x);
  ir::Value* w = g->add_constant("W", random_tensor(Shape{4, 3, 3, 3}, 1));
  ir::Value* b = g->add_constant("B", random_tensor(Shape{4}, 2));
  ir::Value* c = g->add_value("c");
  ir::Node* conv = g->add_node("Conv", {x, w, b}, {c}, "conv1");
  conv->attributes["pads"] = ir::Attribute::of_ints({1, 1, 1, 1});
  ir::Value* n = g->add_value("n");
  g->add_node("BatchNormalization",
              {c, g->add_constant("gamma", positive_tensor(Shape{4}, 3)), g->add_constant("beta", random_tensor(Shape{4}, 4)),
               g->add_constant("mean", random_tensor(Shape{4}, 5)), g->add_constant("var", positive_tensor(Shape{4}, 6))},
              {n}, "bn1");
  ir::Value* y = g->add_value("y");
  g->add_node("Relu", {n}, {y}, "relu1");
  g->outputs.push_back(y);
  ir::infer_types(*g);
  return g;
}

Tensor input(Shape shape, std::uint64_t seed) {
  return *random_tensor(std::move(shape), seed);
}

TEST(Passes, FoldBatchNormThenFuseRelu) {
  auto g = conv_bn_relu();
  Tensor x = input(Shape{1, 3, 8, 8}, 7);
  std::vector<Tensor> before = run(*g, x);
  EXPECT_EQ(passes::fold_batch_norm(*g), 1u);
  ir::infer_types(*g);
  EXPECT_EQ(ir::dump(*g), R"(graph test
  input x: float32[1, 3, 8, 8]
  const conv1_W_bnfold: float32[4, 3, 3, 3]
  const conv1_B_bnfold: float32[4]
  conv1 = Conv[pads=[1, 1, 1, 1]](x, conv1_W_bnfold, conv1_B_bnfold) -> n: float32[1, 4, 8, 8]
  relu1 = Relu(n) -> y: float32[1, 4, 8, 8]
  output y
)");
  expect_close(run(*g, x), before, 1e-5f);
  EXPECT_EQ(passes::fuse_activations(*g), 1u);
  ir::infer_types(*g);
  EXPECT_EQ(ir::dump(*g), R"(graph test
  input x: float32[1, 3, 8, 8]
  const conv1_W_bnfold: float32[4, 3, 3, 3]
  const conv1_B_bnfold: float32[4]
  conv1 = lowp::FusedConv[activation="relu", pads=[1, 1, 1, 1]](x, conv1_W_bnfold, conv1_B_bnfold) -> y: float32[1, 4, 8, 8]
  output y
)");
  expect_close(run(*g, x), before, 1e-5f);
}

TEST(Passes, FoldBatchNormIntoGemm) {
  for (int trans_b = 0; trans_b < 2; ++trans_b) {
    Graph g;
    g.name = "gemm_bn";
    ir::Value* x = g.add_value("x", TensorType::of(DType::float32, Shape{3, 5}));
    g.inputs.push_back(x);
    ir::Value* h = g.add_value("h");
    Shape b_shape = trans_b ? Shape{4, 5} : Shape{5, 4};
    ir::Node* gemm = g.add_node("Gemm", {x, g.add_constant("B", random_tensor(b_shape, 20)), g.add_constant("C", random_tensor(Shape{4}, 21))},
                                {h}, "fc");
    gemm->attributes["transB"] = ir::Attribute::of_int(trans_b);
    ir::Value* y = g.add_value("y");
    g.add_node("BatchNormalization",
               {h, g.add_constant("gamma", positive_tensor(Shape{4}, 22)), g.add_constant("beta", random_tensor(Shape{4}, 23)),
                g.add_constant("mean", random_tensor(Shape{4}, 24)), g.add_constant("var", positive_tensor(Shape{4}, 25))},
               {y}, "bn");
    g.outputs.push_back(y);
    ir::infer_types(g);
    Tensor in = input(Shape{3, 5}, 26);
    std::vector<Tensor> before = run(g, in);
    EXPECT_EQ(passes::fold_batch_norm(g), 1u);
    ir::infer_types(g);
    EXPECT_EQ(ir::dump(g), fmt::format(R"(graph gemm_bn
  input x: float32[3, 5]
  const fc_B_bnfold: float32[{}]
  const fc_C_bnfold: float32[4]
  fc = Gemm[transB={}](x, fc_B_bnfold, fc_C_bnfold) -> y: float32[3, 4]
  output y
)", trans_b ? "4, 5" : "5, 4", trans_b));
    expect_close(run(g, in), before, 1e-5f);
  }
}

TEST(Passes, NhwcLayoutCancelsTransposesBetweenConvolutions) {
  auto g = conv_bn_relu();
  ASSERT_EQ(passes::fold_batch_norm(*g), 1u);
  // A second convolution after the Relu, and a residual Add of both.
  ir::Value* y = g->outputs[0];
  ir::Value* z = g->add_value("z");
  ir::Node* conv2 = g->add_node("Conv", {y, g->add_constant("W2", random_tensor(Shape{4, 4, 1, 1}, 8))}, {z}, "conv2");
  (void)conv2;
  ir::Value* sum = g->add_value("sum");
  g->add_node("Add", {y, z}, {sum}, "add");
  g->outputs = {sum};
  ir::infer_types(*g);
  Tensor x = input(Shape{1, 3, 8, 8}, 9);
  std::vector<Tensor> before = run(*g, x);
  passes::fuse_activations(*g);
  EXPECT_EQ(passes::convert_to_nhwc(*g), 2u);
  g->sort_topologically();
  EXPECT_GT(passes::cancel_transposes(*g), 0u);
  passes::eliminate_dead_nodes(*g);
  ir::infer_types(*g);
  // One transpose in, one out; the Add runs in NHWC.
  EXPECT_EQ(ir::dump(*g), R"(graph test
  input x: float32[1, 3, 8, 8]
  const conv1_W_bnfold: float32[4, 3, 3, 3]
  const conv1_B_bnfold: float32[4]
  const W2: float32[4, 4, 1, 1]
  conv1_to_nhwc = Transpose[perm=[0, 2, 3, 1]](x) -> conv1_in_nhwc: float32[1, 8, 8, 3]
  conv1 = lowp::NhwcConv[activation="relu", pads=[1, 1, 1, 1]](conv1_in_nhwc, conv1_W_bnfold, conv1_B_bnfold) -> conv1_out_nhwc: float32[1, 8, 8, 4]
  conv2 = lowp::NhwcConv(conv1_out_nhwc, W2) -> conv2_out_nhwc: float32[1, 8, 8, 4]
  add = Add(conv1_out_nhwc, conv2_out_nhwc) -> sum_moved: float32[1, 8, 8, 4]
  add_transpose = Transpose[perm=[0, 3, 1, 2]](sum_moved) -> sum: float32[1, 4, 8, 8]
  output sum
)");
  expect_close(run(*g, x), before, 1e-5f);
}

TEST(Passes, MatMulAddReluBecomeOneFusedGemm) {
  Graph g;
  g.name = "mlp";
  ir::Value* x = g.add_value("x", TensorType::of(DType::float32, Shape{2, 5, 8}));
  g.inputs.push_back(x);
  ir::Value* mm = g.add_value("mm");
  g.add_node("MatMul", {x, g.add_constant("W", random_tensor(Shape{8, 6}, 10))}, {mm}, "fc");
  ir::Value* biased = g.add_value("biased");
  g.add_node("Add", {g.add_constant("b", random_tensor(Shape{6}, 11)), mm}, {biased}, "fc_bias");
  ir::Value* y = g.add_value("y");
  g.add_node("Relu", {biased}, {y}, "act");
  g.outputs.push_back(y);
  ir::infer_types(g);
  Tensor in = input(Shape{2, 5, 8}, 12);
  std::vector<Tensor> before = run(g, in);
  EXPECT_EQ(passes::fuse_matmul_bias(g), 1u);
  EXPECT_EQ(passes::fuse_activations(g), 1u);
  ir::infer_types(g);
  EXPECT_EQ(ir::dump(g), R"(graph mlp
  input x: float32[2, 5, 8]
  const W: float32[8, 6]
  const fc_bias: float32[6]
  fc = lowp::FusedGemm[activation="relu"](x, W, fc_bias) -> y: float32[2, 5, 6]
  output y
)");
  expect_close(run(g, in), before, 1e-5f);
}

std::shared_ptr<Tensor> scalar(float v) {
  auto t = std::make_shared<Tensor>(DType::float32, Shape{});
  t->values<float>()[0] = v;
  return t;
}

TEST(Passes, AttentionLayerNormAndGeluPatternsFuse) {
  Graph g;
  g.name = "encoder";
  Shape qs{1, 2, 5, 4};
  ir::Value* q = g.add_value("q", TensorType::of(DType::float32, qs));
  ir::Value* k = g.add_value("kt", TensorType::of(DType::float32, Shape{1, 2, 4, 5}));
  ir::Value* v = g.add_value("v", TensorType::of(DType::float32, qs));
  g.inputs = {q, k, v};
  auto node = [&](const char* op, std::vector<ir::Value*> in, const char* out) {
    ir::Value* o = g.add_value(out);
    g.add_node(op, std::move(in), {o}, std::string(out) + "_node");
    return o;
  };
  // Attention: softmax(q kt / 2 + mask) v.
  ir::Value* s1 = node("MatMul", {q, k}, "scores");
  ir::Value* s2 = node("Div", {s1, g.add_constant("two", scalar(2.0f))}, "scaled");
  ir::Value* s3 = node("Add", {s2, g.add_constant("mask", random_tensor(Shape{1, 1, 1, 5}, 30))}, "masked");
  ir::Value* p = node("Softmax", {s3}, "probs");
  ir::Value* ctx = node("MatMul", {p, v}, "ctx");
  // LayerNorm over the last axis, written out.
  auto axes = std::make_shared<Tensor>(DType::int64, Shape{1});
  axes->values<std::int64_t>()[0] = -1;
  ir::Value* ax = g.add_constant("axes", axes);
  ir::Value* mean = node("ReduceMean", {ctx, ax}, "mean");
  ir::Value* d = node("Sub", {ctx, mean}, "centered");
  ir::Value* sq = node("Pow", {d, g.add_constant("exp2", scalar(2.0f))}, "squared");
  ir::Value* var = node("ReduceMean", {sq, ax}, "var");
  ir::Value* ve = node("Add", {var, g.add_constant("eps", scalar(1e-5f))}, "var_eps");
  ir::Value* sd = node("Sqrt", {ve}, "stddev");
  ir::Value* nrm = node("Div", {d, sd}, "normed");
  ir::Value* ln = node("Mul", {nrm, g.add_constant("gamma", positive_tensor(Shape{4}, 31))}, "scaled_ln");
  ir::Value* ln2 = node("Add", {ln, g.add_constant("beta", random_tensor(Shape{4}, 32))}, "ln");
  // GELU: x * 0.5 * (1 + erf(x / sqrt 2)).
  ir::Value* g1 = node("Div", {ln2, g.add_constant("sqrt2", scalar(1.4142135f))}, "gx");
  ir::Value* g2 = node("Erf", {g1}, "gerf");
  ir::Value* g3 = node("Add", {g2, g.add_constant("one", scalar(1.0f))}, "gplus");
  ir::Value* g4 = node("Mul", {ln2, g3}, "gmul");
  ir::Value* y = node("Mul", {g4, g.add_constant("half", scalar(0.5f))}, "y");
  g.outputs = {y};
  ir::infer_types(g);
  Tensor qt = input(qs, 33), kt = input(Shape{1, 2, 4, 5}, 34), vt = input(qs, 35);
  runtime::SessionOptions o;
  o.optimize = false;
  auto run3 = [&](const Graph& graph) {
    runtime::Session s(graph.clone(), o);
    return s.run({{"q", &qt}, {"kt", &kt}, {"v", &vt}});
  };
  std::vector<Tensor> before = run3(g);
  EXPECT_EQ(passes::fuse_layer_norm(g), 1u);
  EXPECT_EQ(passes::fuse_gelu(g), 1u);
  EXPECT_EQ(passes::fuse_attention(g), 1u);
  ir::infer_types(g);
  EXPECT_EQ(ir::dump(g), R"(graph encoder
  input q: float32[1, 2, 5, 4]
  input kt: float32[1, 2, 4, 5]
  input v: float32[1, 2, 5, 4]
  const mask: float32[1, 1, 1, 5]
  const gamma: float32[4]
  const beta: float32[4]
  ctx_node = lowp::Attention[scale=0.5](q, kt, v, mask) -> ctx: float32[1, 2, 5, 4]
  ln_node = LayerNormalization[axis=-1, epsilon=1e-05](ctx, gamma, beta) -> ln: float32[1, 2, 5, 4]
  y_node = Gelu(ln) -> y: float32[1, 2, 5, 4]
  output y
)");
  expect_close(run3(g), before, 2e-5f);
}

TEST(Passes, FoldConstantsEvaluatesConstantSubgraphsAndShapes) {
  Graph g;
  g.name = "fold";
  ir::Value* x = g.add_value("x", TensorType::of(DType::float32, Shape{2, 3}));
  g.inputs.push_back(x);
  ir::Value* k = g.add_value("k");
  g.add_node("Add", {g.add_constant("a", random_tensor(Shape{3}, 13)), g.add_constant("b", random_tensor(Shape{3}, 14))}, {k}, "const_add");
  ir::Value* s = g.add_value("s");
  g.add_node("Shape", {x}, {s}, "shape");
  ir::Value* y = g.add_value("y");
  g.add_node("Mul", {x, k}, {y}, "mul");
  g.outputs = {y, s};
  ir::infer_types(g);
  Tensor in = input(Shape{2, 3}, 15);
  std::vector<Tensor> before = run(g, in);
  EXPECT_EQ(passes::fold_constants(g, runtime::evaluate_node), 2u);
  EXPECT_EQ(ir::dump(g), R"(graph fold
  input x: float32[2, 3]
  const k: float32[3]
  mul = Mul(x, k) -> y: float32[2, 3]
  output y
  output s
)");
  std::vector<Tensor> after = run(g, in);
  expect_close({after[0]}, {before[0]}, 0.0f);
  ASSERT_EQ(after[1].dtype(), DType::int64);
  EXPECT_EQ(std::vector<std::int64_t>(after[1].values<std::int64_t>().begin(), after[1].values<std::int64_t>().end()),
            (std::vector<std::int64_t>{2, 3}));
}

TEST(Passes, FlattenAfterNhwcTransposeFoldsIntoTheDenseWeights) {
  Graph g;
  g.name = "flat";
  // x [batch, 2, 3, 4] NHWC -> Transpose to NCHW -> Flatten -> FusedGemm (24 -> 5).
  std::vector<ir::Dim> dims = {ir::Dim::named("batch"), ir::Dim::known(2), ir::Dim::known(3), ir::Dim::known(4)};
  ir::Value* x = g.add_value("x", TensorType{DType::float32, dims});
  g.inputs.push_back(x);
  ir::Value* t = g.add_value("t");
  g.add_node("Transpose", {x}, {t}, "to_nchw")->attributes["perm"] = ir::Attribute::of_ints({0, 3, 1, 2});
  ir::Value* f = g.add_value("f");
  g.add_node("Flatten", {t}, {f}, "flatten");
  ir::Value* y = g.add_value("y");
  g.add_node("FusedGemm", {f, g.add_constant("W", random_tensor(Shape{24, 5}, 40)), g.add_constant("B", random_tensor(Shape{5}, 41))},
             {y}, "fc", "lowp");
  g.outputs.push_back(y);
  ir::infer_types(g);
  Tensor in = input(Shape{2, 2, 3, 4}, 42);
  std::vector<Tensor> before = run(g, in);
  EXPECT_EQ(passes::fold_flatten_transpose(g), 1u);
  ir::infer_types(g);
  EXPECT_EQ(ir::dump(g), R"(graph flat
  input x: float32[batch, 2, 3, 4]
  const W_nhwc_rows: float32[24, 5]
  const B: float32[5]
  flatten = Flatten(x) -> f: float32[?, 24]
  fc = lowp::FusedGemm(f, W_nhwc_rows, B) -> y: float32[?, 5]
  output y
)");
  expect_close(run(g, in), before, 1e-5f);
}

TEST(Passes, RemoveIdentitiesAndDeadNodes) {
  Graph g;
  g.name = "ids";
  ir::Value* x = g.add_value("x", TensorType::of(DType::float32, Shape{4}));
  g.inputs.push_back(x);
  ir::Value* a = g.add_value("a");
  g.add_node("Identity", {x}, {a}, "id");
  ir::Value* b = g.add_value("b");
  g.add_node("Dropout", {a}, {b}, "drop");
  ir::Value* y = g.add_value("y");
  g.add_node("Relu", {b}, {y}, "relu");
  ir::Value* unused = g.add_value("unused");
  g.add_node("Neg", {x}, {unused}, "dead");
  g.outputs.push_back(y);
  ir::infer_types(g);
  Tensor in = input(Shape{4}, 16);
  std::vector<Tensor> before = run(g, in);
  EXPECT_EQ(passes::remove_identities(g), 2u);
  EXPECT_EQ(passes::eliminate_dead_nodes(g), 1u);
  EXPECT_EQ(ir::dump(g), R"(graph ids
  input x: float32[4]
  relu = Relu(x) -> y: float32[4]
  output y
)");
  expect_close(run(g, in), before, 0.0f);
}

}  // namespace
}  // namespace lowp
