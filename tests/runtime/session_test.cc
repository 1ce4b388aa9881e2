// tests/runtime/session_test.cc: the Session's contract: plans per input signature
// (batch chosen at run time), value-dependent shapes, input validation, the memory budget,
// and one error listing every op it cannot run.
#include <gtest/gtest.h>

#include "base/error.h"
#include "ir/schema.h"
#include "runtime/session.h"

namespace lowp {
namespace {

using ir::Graph;
using ir::TensorType;

// y = Relu(x) + b, x: float32[batch, 3].
std::unique_ptr<Graph> relu_bias() {
  auto g = std::make_unique<Graph>();
  g->name = "rb";
  ir::Value* x = g->add_value("x", TensorType{DType::float32, std::vector<ir::Dim>{ir::Dim::named("batch"), ir::Dim::known(3)}});
  g->inputs.push_back(x);
  ir::Value* r = g->add_value("r");
  g->add_node("Relu", {x}, {r}, "relu");
  auto b = std::make_shared<Tensor>(DType::float32, Shape{3});
  b->values<float>()[0] = 1.0f;
  b->values<float>()[1] = 2.0f;
  b->values<float>()[2] = 3.0f;
  ir::Value* y = g->add_value("y");
  g->add_node("Add", {r, g->add_constant("b", b)}, {y}, "add");
  g->outputs.push_back(y);
  return g;
}

Tensor filled(Shape shape, float start) {
  Tensor t(DType::float32, std::move(shape));
  float v = start;
  for (float& x : t.values<float>()) {
    v += 1.0f;
    x = (static_cast<int>(v) % 2) ? v : -v;
  }
  return t;
}

void expect_error(const std::function<void()>& f, const std::string& text) {
  try {
    f();
    FAIL() << "no error, wanted: " << text;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

TEST(Session, BatchIsChosenPerRunAndPlansAreReused) {
  runtime::Session s(relu_bias(), {});
  for (std::int64_t batch : {1, 4, 1, 7}) {
    Tensor x = filled(Shape{batch, 3}, 0.0f);
    std::vector<Tensor> y = s.run({{"x", &x}});
    ASSERT_EQ(y[0].shape(), (Shape{batch, 3}));
    for (std::size_t i = 0; i < x.elements(); ++i) {
      float want = std::max(0.0f, x.values<float>()[i]) + static_cast<float>(i % 3 + 1);
      EXPECT_EQ(y[0].values<float>()[i], want);
    }
  }
}

TEST(Session, InputsAreValidated) {
  runtime::Session s(relu_bias(), {});
  Tensor ok = filled(Shape{2, 3}, 0.0f);
  Tensor wrong_shape = filled(Shape{2, 4}, 0.0f);
  Tensor wrong_rank = filled(Shape{6}, 0.0f);
  Tensor wrong_type(DType::int32, Shape{2, 3});
  expect_error([&] { s.run({}); }, "input 'x' (float32[batch, 3]) is not given");
  expect_error([&] { s.run({{"nope", &ok}}); }, "no input 'nope' (its inputs: x)");
  expect_error([&] { s.run({{"x", &ok}, {"x", &ok}}); }, "given twice");
  expect_error([&] { s.run({{"x", &wrong_shape}}); }, "must have shape float32[batch, 3], got [2, 4]");
  expect_error([&] { s.run({{"x", &wrong_rank}}); }, "must have shape");
  expect_error([&] { s.run({{"x", &wrong_type}}); }, "must be float32[batch, 3], got int32");
}

TEST(Session, ASymbolTakesOneSizeAcrossInputs) {
  auto g = std::make_unique<Graph>();
  g->name = "sym";
  auto type = TensorType{DType::float32, std::vector<ir::Dim>{ir::Dim::named("n")}};
  ir::Value* a = g->add_value("a", type);
  ir::Value* b = g->add_value("b", type);
  g->inputs = {a, b};
  ir::Value* y = g->add_value("y");
  g->add_node("Add", {a, b}, {y});
  g->outputs.push_back(y);
  runtime::Session s(std::move(g), {});
  Tensor two = filled(Shape{2}, 0.0f), three = filled(Shape{3}, 0.0f);
  expect_error([&] { s.run({{"a", &two}, {"b", &three}}); }, "dimension 'n' is 3 here but 2 in another input");
}

TEST(Session, AxesOutOfRangeAreReportedAtLoad) {
  auto g = std::make_unique<Graph>();
  g->name = "axes";
  ir::Value* x = g->add_value("x", TensorType::of(DType::float32, Shape{2, 3}));
  g->inputs.push_back(x);
  ir::Value* y = g->add_value("y");
  ir::Node* n = g->add_node("Softmax", {x}, {y}, "sm");
  n->attributes["axis"] = ir::Attribute::of_int(5);
  g->outputs.push_back(y);
  expect_error([&] { runtime::Session s(std::move(g), {}); }, "node 'sm' (Softmax): axis 5 is out of range for rank 2");
}

TEST(Session, EveryUnsupportedOpInOneError) {
  auto g = std::make_unique<Graph>();
  g->name = "unknown";
  ir::Value* x = g->add_value("x", TensorType::of(DType::float32, Shape{2}));
  g->inputs.push_back(x);
  ir::Value* a = g->add_value("a");
  g->add_node("FrobnicateA", {x}, {a}, "first");
  ir::Value* b = g->add_value("b");
  g->add_node("FrobnicateB", {a}, {b}, "second");
  g->outputs.push_back(b);
  g->opsets[""] = 17;
  try {
    runtime::Session s(std::move(g), {});
    FAIL() << "no error";
  } catch (const UnsupportedError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("node 'first': FrobnicateA (ai.onnx opset 17)"), std::string::npos) << what;
    EXPECT_NE(what.find("node 'second': FrobnicateB (ai.onnx opset 17)"), std::string::npos) << what;
  }
}

TEST(Session, MemoryBudgetRefusesHugeActivationsBeforeAllocating) {
  runtime::SessionOptions o;
  o.max_memory_bytes = 1024;
  runtime::Session s(relu_bias(), o);
  Tensor small = filled(Shape{4, 3}, 0.0f);
  EXPECT_NO_THROW(s.run({{"x", &small}}));
  Tensor big = filled(Shape{1000, 3}, 0.0f);
  expect_error([&] { s.run({{"x", &big}}); }, "over the memory budget of 1024 bytes (--max-memory)");
}

TEST(Session, ShapesFromInputValuesKeyThePlanByValue) {
  // y = Range(0, n, 1) * 2 with n an int64 input: the output's length is n's value.
  auto g = std::make_unique<Graph>();
  g->name = "range";
  ir::Value* n = g->add_value("n", TensorType::of(DType::int64, Shape{}));
  g->inputs.push_back(n);
  auto scalar = [&](const char* name, std::int64_t v) {
    auto t = std::make_shared<Tensor>(DType::int64, Shape{});
    t->values<std::int64_t>()[0] = v;
    return g->add_constant(name, t);
  };
  ir::Value* r = g->add_value("r");
  g->add_node("Range", {scalar("zero", 0), n, scalar("one", 1)}, {r});
  ir::Value* y = g->add_value("y");
  g->add_node("Mul", {r, scalar("two", 2)}, {y});
  g->outputs.push_back(y);
  runtime::Session s(std::move(g), {});
  for (std::int64_t len : {3, 5, 3}) {
    Tensor t(DType::int64, Shape{});
    t.values<std::int64_t>()[0] = len;
    std::vector<Tensor> out = s.run({{"n", &t}});
    ASSERT_EQ(out[0].shape(), (Shape{len}));
    for (std::int64_t i = 0; i < len; ++i) EXPECT_EQ(out[0].values<std::int64_t>()[static_cast<std::size_t>(i)], 2 * i);
  }
}

}  // namespace
}  // namespace lowp
