// tests/train/low_rank_chain_test.cc: the chains `lowp compress --lowrank` writes become
// trainable layers (model_from_graph): MatMul -> MatMul -> Add, Gemm -> Gemm and a pair
// of 1x1 Convs (stride and padding on the first). The layers' forward pass gives the
// graph's outputs as lowp's runtime computes them, and the bias Add after a MatMul is that
// MatMul's Linear bias.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "base/random.h"
#include "ir/schema.h"
#include "runtime/session.h"
#include "train/linear.h"
#include "train/model.h"

namespace lowp::train {
namespace {

std::shared_ptr<Tensor> random_floats(Shape shape, Random& rng) {
  auto t = std::make_shared<Tensor>(DType::float32, std::move(shape));
  for (float& v : t->values<float>()) v = rng.uniform(-1.0f, 1.0f);
  return t;
}

ir::TensorType input_type(std::vector<std::int64_t> rest) {
  std::vector<ir::Dim> dims = {ir::Dim::named("N")};
  for (std::int64_t d : rest) dims.push_back(ir::Dim::known(d));
  return ir::TensorType{DType::float32, dims};
}

// Session outputs and the layers' forward pass on the same input, within the fp32
// rounding of two GEMM orders over at most 12 terms (1e-5 of values below ~10).
void expect_forward_matches_runtime(const ir::Graph& g, Model& m, const Tensor& x_nchw,
                                    const Batch& x) {
  runtime::Session session(g.clone(), runtime::SessionOptions{});
  std::vector<Tensor> want = session.run({{g.inputs[0]->name, &x_nchw}});
  Context eval;
  eval.training = false;
  const Batch& got = m.forward(x, eval);
  auto w = want.at(0).values<float>();
  ASSERT_EQ(w.size(), got.data.size());
  std::vector<float> nchw = got.data;
  if (got.shape.size() == 4) {  // NHWC -> NCHW
    const int n = got.shape[0], h = got.shape[1], wd = got.shape[2], c = got.shape[3];
    for (int b = 0; b < n; ++b)
      for (int i = 0; i < h * wd; ++i)
        for (int ch = 0; ch < c; ++ch)
          nchw[static_cast<std::size_t>((b * c + ch) * h * wd + i)] =
              got.data[static_cast<std::size_t>((b * h * wd + i) * c + ch)];
  }
  for (std::size_t i = 0; i < w.size(); ++i)
    EXPECT_NEAR(nchw[i], w[i], 1e-5f * (1 + std::fabs(w[i]))) << i;
}

TEST(ModelFromGraph, FactorizedDenseChains) {
  Random rng(3);
  ir::Graph g;
  g.opsets[""] = ir::kIrOpset;
  ir::Value* x = g.add_value("x", input_type({12}));
  g.inputs.push_back(x);
  auto value = [&](const char* name) { return g.add_value(name); };
  ir::Value *m1 = value("m1"), *m2 = value("m2"), *a = value("a"), *r = value("r"),
            *g1 = value("g1"), *y = value("y");
  g.add_node("MatMul", {x, g.add_constant("w1", random_floats(Shape{12, 4}, rng))}, {m1},
             "fc1_lowrank1");
  g.add_node("MatMul", {m1, g.add_constant("w2", random_floats(Shape{4, 6}, rng))}, {m2},
             "fc1_lowrank2");
  // The bias first, as some exporters write it.
  auto bias = random_floats(Shape{6}, rng);
  g.add_node("Add", {g.add_constant("b", bias), m2}, {a}, "fc1_bias");
  g.add_node("Relu", {a}, {r}, "relu");
  ir::Node* ga = g.add_node("Gemm", {r, g.add_constant("w3", random_floats(Shape{5, 6}, rng))},
                            {g1}, "fc2_lowrank1");
  ga->attributes["transB"] = ir::Attribute::of_int(1);
  g.add_node("Gemm",
             {g1, g.add_constant("w4", random_floats(Shape{5, 3}, rng)),
              g.add_constant("c", random_floats(Shape{3}, rng))},
             {y}, "fc2_lowrank2");
  g.outputs = {y};
  ir::infer_types(g);

  Model m = model_from_graph(g);
  ASSERT_EQ(m.layers.size(), 5u);
  auto* first = dynamic_cast<Linear*>(m.layers[0].get());
  auto* second = dynamic_cast<Linear*>(m.layers[1].get());
  ASSERT_TRUE(first && second);
  EXPECT_FALSE(first->has_bias());
  EXPECT_EQ(first->in(), 12);
  EXPECT_EQ(first->out(), 4);
  EXPECT_TRUE(second->has_bias());  // the Add's constant
  auto b = bias->values<float>();
  EXPECT_EQ(second->bias().value, std::vector<float>(b.begin(), b.end()));
  EXPECT_EQ(m.parameter_count(), 12u * 4 + 4 * 6 + 6 + 6 * 5 + 5 * 3 + 3);

  Tensor xt(DType::float32, Shape{5, 12});
  for (float& v : xt.values<float>()) v = rng.uniform(-2.0f, 2.0f);
  Batch xb;
  xb.resize({5, 12});
  std::copy(xt.values<float>().begin(), xt.values<float>().end(), xb.data.begin());
  expect_forward_matches_runtime(g, m, xt, xb);
  // Exported again, it runs to the same outputs.
  expect_forward_matches_runtime(*m.to_graph(), m, xt, xb);
}

TEST(ModelFromGraph, PointwiseConvPair) {
  Random rng(4);
  ir::Graph g;
  g.opsets[""] = ir::kIrOpset;
  ir::Value* x = g.add_value("x", input_type({3, 5, 5}));
  g.inputs.push_back(x);
  ir::Value *mid = g.add_value("mid"), *y = g.add_value("y");
  ir::Node* c1 =
      g.add_node("Conv", {x, g.add_constant("w1", random_floats(Shape{2, 3, 1, 1}, rng))}, {mid},
                 "conv_lowrank1");
  c1->attributes["strides"] = ir::Attribute::of_ints({2, 2});
  c1->attributes["pads"] = ir::Attribute::of_ints({1, 1, 1, 1});
  g.add_node("Conv",
             {mid, g.add_constant("w2", random_floats(Shape{4, 2, 1, 1}, rng)),
              g.add_constant("b2", random_floats(Shape{4}, rng))},
             {y}, "conv_lowrank2");
  g.outputs = {y};
  ir::infer_types(g);

  Model m = model_from_graph(g);
  ASSERT_EQ(m.layers.size(), 2u);
  EXPECT_EQ(m.output_shape(), (std::vector<int>{4, 4, 4}));  // NHWC: (5 + 2 - 1) / 2 + 1 = 4

  Tensor xt(DType::float32, Shape{2, 3, 5, 5});
  for (float& v : xt.values<float>()) v = rng.uniform(-2.0f, 2.0f);
  Batch xb;
  xb.resize({2, 5, 5, 3});
  auto src = xt.values<float>();
  for (int b = 0; b < 2; ++b)
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < 25; ++i)
        xb.data[static_cast<std::size_t>((b * 25 + i) * 3 + c)] =
            src[static_cast<std::size_t>((b * 3 + c) * 25 + i)];
  expect_forward_matches_runtime(g, m, xt, xb);
}

}  // namespace
}  // namespace lowp::train
