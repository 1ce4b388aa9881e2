// tests/runtime/concat_in_place_test.cc: Concats whose inputs are written in place
// (runtime/concat_in_place.h) give the bytes of the copying Concat, and only eligible ones
// are placed.
#include <gtest/gtest.h>

#include <cstring>

#include "ir/schema.h"
#include "op_test_util.h"
#include "runtime/session.h"

namespace lowp {
namespace {

using ir::Graph;
using ir::TensorType;

// x [batch, 4, 7, 7] -> a fire module: squeeze 1x1 conv, then a 1x1 and a 3x3 conv of the
// squeezed map concatenated on channels, then `tail` (a conv of the concatenation, or
// nothing: the Concat is the graph output). `leak_a`: the 1x1 branch is also a graph
// output, so its slot cannot be a view. `raw_input`: the input itself is a third part
// of the Concat, which no op writes in place.
std::unique_ptr<Graph> fire(bool tail, bool leak_a, bool raw_input) {
  auto g = std::make_unique<Graph>();
  g->name = "fire";
  std::vector<ir::Dim> dims = {ir::Dim::named("batch"), ir::Dim::known(4), ir::Dim::known(7), ir::Dim::known(7)};
  ir::Value* x = g->add_value("x", TensorType{DType::float32, dims});
  g->inputs.push_back(x);
  auto conv = [&](const std::string& name, ir::Value* in, std::int64_t in_c, std::int64_t out_c, std::int64_t k,
                  std::uint64_t seed) {
    ir::Value* c = g->add_value(name + "_c");
    ir::Node* n = g->add_node("Conv",
                              {in, g->add_constant(name + "_W", test::random_floats({out_c, in_c, k, k}, seed, -0.5f, 0.5f)),
                               g->add_constant(name + "_B", test::random_floats({out_c}, seed + 1, -0.1f, 0.1f))},
                              {c}, name);
    n->attributes["pads"] = ir::Attribute::of_ints({k / 2, k / 2, k / 2, k / 2});
    ir::Value* r = g->add_value(name + "_r");
    g->add_node("Relu", {c}, {r}, name + "_relu");
    return r;
  };
  ir::Value* s = conv("squeeze", x, 4, 3, 1, 10);
  ir::Value* a = conv("expand1x1", s, 3, 5, 1, 20);
  ir::Value* b = conv("expand3x3", s, 3, 6, 3, 30);
  std::vector<ir::Value*> parts = {a, b};
  if (raw_input) parts.push_back(x);
  ir::Value* cat = g->add_value("cat");
  g->add_node("Concat", parts, {cat}, "concat")->attributes["axis"] = ir::Attribute::of_int(1);
  std::int64_t cat_c = raw_input ? 15 : 11;
  g->outputs.push_back(tail ? conv("next", cat, cat_c, 8, 3, 40) : cat);
  if (leak_a) g->outputs.push_back(a);
  ir::infer_types(*g);
  return g;
}

bool placed(const Graph& g, const Tensor& x) {
  runtime::Session s(g.clone(), {});
  const runtime::Plan& plan = s.plan_for({{"x", &x}});
  for (const auto& step : plan.steps) {
    if (step.node->op_type == "Concat") return step.op->kernel().find("in place") != std::string::npos;
  }
  ADD_FAILURE() << "no Concat in the plan";
  return false;
}

TEST(ConcatInPlace, SameBytesAsTheCopyingConcat) {
  for (bool tail : {false, true}) {
    for (bool leak_a : {false, true}) {
      for (bool raw_input : {false, true}) {
        auto g = fire(tail, leak_a, raw_input);
        for (std::int64_t batch : {1, 3}) {
          Tensor in = *test::random_floats({batch, 4, 7, 7}, 50 + batch);
          std::vector<Tensor> want = test::run_graph(*g, in, false, 1);
          for (int threads : {1, 2}) {
            std::vector<Tensor> got = test::run_graph(*g, in, true, threads);
            ASSERT_EQ(got.size(), want.size());
            for (std::size_t i = 0; i < got.size(); ++i) {
              ASSERT_EQ(got[i].shape(), want[i].shape());
              EXPECT_EQ(0, std::memcmp(got[i].raw(), want[i].raw(), got[i].bytes()))
                  << "tail " << tail << " leak " << leak_a << " raw " << raw_input << " batch " << batch
                  << " threads " << threads << " output " << i;
            }
          }
        }
        Tensor in = *test::random_floats({2, 4, 7, 7}, 60);
        EXPECT_EQ(placed(*g, in), !leak_a && !raw_input)
            << "tail " << tail << " leak " << leak_a << " raw " << raw_input;
      }
    }
  }
}

}  // namespace
}  // namespace lowp
