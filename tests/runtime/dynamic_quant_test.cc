// tests/runtime/dynamic_quant_test.cc: int8-dynamic end to end. quant::quantize_int8_dynamic
// writes the standard pattern (DynamicQuantizeLinear, MatMulInteger, Cast, Mul [, Add]),
// passes::lower_dynamic_quant turns each layer into one lowp::DynamicQGemm (golden dump),
// and the fused op's outputs equal the unfused ops' bit for bit, on ordinary data and on
// inputs that stress the rules (NaN, all zeros, a constant, u8 weights with a zero point).
//
// Lives with the runtime tests because checking outputs needs the runtime.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "base/error.h"
#include "base/random.h"
#include "ir/dump.h"
#include "ir/schema.h"
#include "passes/passes.h"
#include "quant/quantize_dynamic.h"
#include "runtime/session.h"

namespace lowp {
namespace {

using ir::Graph;
using ir::TensorType;

std::shared_ptr<Tensor> random_tensor(Shape shape, std::uint64_t seed, float scale = 1.0f) {
  auto t = std::make_shared<Tensor>(DType::float32, std::move(shape));
  Random rng(seed);
  for (float& v : t->values<float>()) v = scale * rng.uniform(-1.0f, 1.0f);
  return t;
}

Tensor copy_of(const Tensor& t) {
  Tensor out(t.dtype(), t.shape());
  if (t.bytes()) std::memcpy(out.raw(), t.raw(), t.bytes());
  return out;
}

std::vector<Tensor> run(const Graph& g, const Tensor& x, bool optimize = false) {
  runtime::SessionOptions o;
  o.optimize = optimize;
  runtime::Session s(g.clone(), o);
  return s.run({{g.inputs[0]->name, &x}});
}

void expect_bit_equal(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].shape(), b[i].shape());
    auto x = a[i].values<float>(), y = b[i].values<float>();
    for (std::size_t j = 0; j < x.size(); ++j) {
      std::uint32_t bx, by;
      std::memcpy(&bx, &x[j], 4);
      std::memcpy(&by, &y[j], 4);
      ASSERT_EQ(bx, by) << "output " << i << " element " << j << ": " << x[j] << " vs " << y[j];
    }
  }
}

double cosine(std::span<const float> a, std::span<const float> b) {
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

std::size_t count_ops(const Graph& g, const std::string& op) {
  std::size_t n = 0;
  for (const auto& node : g.nodes()) n += node->op_type == op;
  return n;
}

// x [3, 5, 40] -> MatMul W1 [40, 24] + b1 -> Relu -> y1, and x -> MatMul W2 [40, 9] -> y2,
// and Relu's output -> Gemm (transB, bias) W3 [7, 24] after a Reshape to 2-D -> y3.
std::unique_ptr<Graph> two_heads() {
  auto g = std::make_unique<Graph>();
  g->name = "heads";
  ir::Value* x = g->add_value("x", TensorType::of(DType::float32, Shape{3, 5, 40}));
  g->inputs.push_back(x);
  ir::Value* mm = g->add_value("mm");
  g->add_node("MatMul", {x, g->add_constant("W1", random_tensor(Shape{40, 24}, 1))}, {mm}, "fc1");
  ir::Value* b = g->add_value("b");
  g->add_node("Add", {mm, g->add_constant("b1", random_tensor(Shape{24}, 2))}, {b}, "fc1_bias");
  ir::Value* y1 = g->add_value("y1");
  g->add_node("Relu", {b}, {y1}, "act");
  ir::Value* y2 = g->add_value("y2");
  g->add_node("MatMul", {x, g->add_constant("W2", random_tensor(Shape{40, 9}, 3))}, {y2}, "fc2");
  auto shape = std::make_shared<Tensor>(DType::int64, Shape{2});
  shape->values<std::int64_t>()[0] = 15;
  shape->values<std::int64_t>()[1] = 24;
  ir::Value* flat = g->add_value("flat");
  g->add_node("Reshape", {y1, g->add_constant("shape", shape)}, {flat}, "flatten");
  ir::Value* y3 = g->add_value("y3");
  ir::Node* gemm = g->add_node("Gemm",
                               {flat, g->add_constant("W3", random_tensor(Shape{7, 24}, 4)),
                                g->add_constant("b3", random_tensor(Shape{7}, 5))},
                               {y3}, "fc3");
  gemm->attributes["transB"] = ir::Attribute::of_int(1);
  g->outputs = {y1, y2, y3};
  ir::infer_types(*g);
  return g;
}

TEST(DynamicQuant, QuantizerWritesTheStandardPatternAndTheLoweringFusesIt) {
  auto g = two_heads();
  quant::QuantizeReport report;
  auto q = quant::quantize_int8_dynamic(*g, {}, report);
  ASSERT_EQ(report.nodes.size(), 3u);
  for (const auto& d : report.nodes) EXPECT_EQ(d.precision, "int8") << d.node;
  EXPECT_EQ(report.quantized_tensors, 2u);  // x (shared by fc1 and fc2) and fc3's input
  EXPECT_EQ(count_ops(*q, "DynamicQuantizeLinear"), 2u);
  EXPECT_EQ(count_ops(*q, "MatMulInteger"), 3u);
  EXPECT_EQ(count_ops(*q, "Cast"), 3u);
  EXPECT_EQ(count_ops(*q, "MatMul") + count_ops(*q, "Gemm"), 0u);

  Tensor in(DType::float32, Shape{3, 5, 40});
  std::memcpy(in.raw(), random_tensor(Shape{3, 5, 40}, 6)->raw(), in.bytes());
  std::vector<Tensor> fp32 = run(*g, in);
  std::vector<Tensor> unfused = run(*q, in);
  for (std::size_t i = 0; i < fp32.size(); ++i)
    EXPECT_GT(cosine(fp32[i].values<float>(), unfused[i].values<float>()), 0.999) << i;

  EXPECT_EQ(passes::lower_dynamic_quant(*q), 3u);
  ir::infer_types(*q);
  EXPECT_EQ(ir::dump(*q), R"(graph heads
  input x: float32[3, 5, 40]
  const fc1_MatMulInteger_weights_s8: int8[40, 24]
  const fc1_MatMulInteger_w_scales: float32[24]
  const b1: float32[24]
  const shape: int64[2]
  const fc2_MatMulInteger_weights_s8: int8[40, 9]
  const fc2_MatMulInteger_w_scales: float32[9]
  const fc3_MatMulInteger_weights_s8: int8[24, 7]
  const fc3_MatMulInteger_w_scales: float32[7]
  const b3: float32[7]
  fc1_MatMulInteger = lowp::DynamicQGemm(x, fc1_MatMulInteger_weights_s8, fc1_MatMulInteger_w_scales, b1) -> b: float32[3, 5, 24]
  act = Relu(b) -> y1: float32[3, 5, 24]
  flatten = Reshape(y1, shape) -> flat: float32[15, 24]
  fc2_MatMulInteger = lowp::DynamicQGemm(x, fc2_MatMulInteger_weights_s8, fc2_MatMulInteger_w_scales) -> y2: float32[3, 5, 9]
  fc3_MatMulInteger = lowp::DynamicQGemm(flat, fc3_MatMulInteger_weights_s8, fc3_MatMulInteger_w_scales, b3) -> y3: float32[15, 7]
  output y1
  output y2
  output y3
)");
  expect_bit_equal(run(*q, in), unfused);
  // And through the whole load-time pipeline.
  expect_bit_equal(run(*q, in, true), unfused);
}

// ONNX Runtime's own form, hand-built: u8 weights with a zero point, a per-tensor scale,
// the scale Mul's operands and the output Mul's swapped, the bias Add's operands swapped.
std::unique_ptr<Graph> ort_style(std::int64_t k, std::int64_t n, std::int64_t rows) {
  auto g = std::make_unique<Graph>();
  g->name = "ort";
  ir::Value* x = g->add_value("x", TensorType::of(DType::float32, Shape{rows, k}));
  g->inputs.push_back(x);
  ir::Value* xq = g->add_value("xq");
  ir::Value* xs = g->add_value("xs");
  ir::Value* xz = g->add_value("xz");
  g->add_node("DynamicQuantizeLinear", {x}, {xq, xs, xz}, "dql");
  auto w = std::make_shared<Tensor>(DType::uint8, Shape{k, n});
  Random rng(7);
  for (auto& v : w->values<std::uint8_t>()) v = static_cast<std::uint8_t>(rng.uniform(0.0f, 255.99f));
  auto wz = std::make_shared<Tensor>(DType::uint8, Shape{});
  wz->values<std::uint8_t>()[0] = 128;
  auto ws = std::make_shared<Tensor>(DType::float32, Shape{});
  ws->values<float>()[0] = 0.0123f;
  ir::Value* s = g->add_value("s");
  g->add_node("Mul", {g->add_constant("ws", ws), xs}, {s}, "scale_mul");
  ir::Value* acc = g->add_value("acc");
  g->add_node("MatMulInteger", {xq, g->add_constant("w", w), xz, g->add_constant("wz", wz)}, {acc}, "mmi");
  ir::Value* f = g->add_value("f");
  ir::Node* cast = g->add_node("Cast", {acc}, {f}, "cast");
  cast->attributes["to"] = ir::Attribute::of_int(1);
  ir::Value* y = g->add_value("y");
  g->add_node("Mul", {s, f}, {y}, "out_mul");
  ir::Value* z = g->add_value("z");
  g->add_node("Add", {g->add_constant("bias", random_tensor(Shape{n}, 8)), y}, {z}, "bias_add");
  g->outputs = {z};
  ir::infer_types(*g);
  return g;
}

TEST(DynamicQuant, FusedOpEqualsTheUnfusedPatternBitForBit) {
  // k 700: long sums, k % 4 != 0 (padded rows); n 33: a ragged last panel.
  auto g = ort_style(700, 33, 9);
  std::vector<std::pair<std::string, Tensor>> cases;
  Tensor plain(DType::float32, Shape{9, 700});
  std::memcpy(plain.raw(), random_tensor(Shape{9, 700}, 9, 3.0f)->raw(), plain.bytes());
  cases.emplace_back("random", copy_of(plain));
  Tensor skewed = copy_of(plain);  // all positive: zero point 0
  for (float& v : skewed.values<float>()) v = std::fabs(v) + 0.5f;
  cases.emplace_back("positive", std::move(skewed));
  Tensor nan = copy_of(plain);
  nan.values<float>()[17] = NAN;
  nan.values<float>()[600] = NAN;
  cases.emplace_back("nan", std::move(nan));
  Tensor zeros(DType::float32, Shape{9, 700});
  std::memset(zeros.raw(), 0, zeros.bytes());
  cases.emplace_back("zeros", std::move(zeros));
  Tensor constant(DType::float32, Shape{9, 700});
  for (float& v : constant.values<float>()) v = -2.5f;
  cases.emplace_back("constant", std::move(constant));

  auto fused = g->clone();
  ASSERT_EQ(passes::lower_dynamic_quant(*fused), 1u);
  ir::infer_types(*fused);
  ASSERT_EQ(fused->nodes().size(), 1u);
  EXPECT_EQ(fused->nodes()[0]->op_type, "DynamicQGemm");
  for (const auto& [name, x] : cases) {
    SCOPED_TRACE(name);
    expect_bit_equal(run(*fused, x), run(*g, x));
  }
}

TEST(DynamicQuant, PatternsThatDoNotMatchStayUnfused) {
  {  // Cast to float16: not the pattern.
    auto g = ort_style(16, 4, 2);
    for (const auto& n : g->nodes())
      if (n->op_type == "Cast") n->attributes["to"] = ir::Attribute::of_int(10);
    EXPECT_EQ(passes::lower_dynamic_quant(*g), 0u);
  }
  {  // The int32 product is also a graph output: it must stay.
    auto g = ort_style(16, 4, 2);
    g->outputs.push_back(g->find_value("acc"));
    EXPECT_EQ(passes::lower_dynamic_quant(*g), 0u);
  }
  {  // Weights minus their zero point leave int8 (u8 255 - 0): no exact s8 form.
    auto g = ort_style(16, 4, 2);
    auto wz = std::make_shared<Tensor>(DType::uint8, Shape{});
    wz->values<std::uint8_t>()[0] = 0;
    for (const auto& n : g->nodes())
      if (n->op_type == "MatMulInteger") n->inputs[3] = g->add_constant("wz0", wz);
    EXPECT_EQ(passes::lower_dynamic_quant(*g), 0u);
  }
}

TEST(DynamicQuant, NonFiniteWeightsAreAnErrorNamingTheNode) {
  auto g = two_heads();
  auto w = std::make_shared<Tensor>(copy_of(*g->find_value("W2")->constant));
  w->values<float>()[5] = INFINITY;
  for (const auto& n : g->nodes())
    if (n->name == "fc2") n->inputs[1] = g->add_constant("W2_bad", w);
  quant::QuantizeReport report;
  try {
    quant::quantize_int8_dynamic(*g, {}, report);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("node 'fc2'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("W2_bad"), std::string::npos) << e.what();
  }
}

TEST(DynamicQuant, ExcludedAndUnsupportedLayersStayFloat) {
  auto g = two_heads();
  quant::DynamicOptions o;
  o.exclude = {"fc2"};
  o.op_types = {"MatMul"};
  quant::QuantizeReport report;
  auto q = quant::quantize_int8_dynamic(*g, o, report);
  ASSERT_EQ(report.nodes.size(), 3u);
  EXPECT_EQ(report.nodes[0].precision, "int8");
  EXPECT_EQ(report.nodes[1].precision, "fp32");
  EXPECT_EQ(report.nodes[1].reason, "excluded (--exclude)");
  EXPECT_EQ(report.nodes[2].precision, "fp32");
  EXPECT_EQ(count_ops(*q, "MatMulInteger"), 1u);
  EXPECT_EQ(count_ops(*q, "Gemm"), 1u);
}

}  // namespace
}  // namespace lowp
