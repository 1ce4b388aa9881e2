// tests/runtime/quantize_int8_test.cc: static int8 quantization end to end on a small CNN:
// the QDQ graph it writes, the lowering of that graph to integer ops (golden dump), the
// outputs of the integer model against the float one, and the calibration data's bad
// inputs. Lives with the runtime tests because calibration runs models.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "base/random.h"
#include "io/npy.h"
#include "ir/dump.h"
#include "ir/schema.h"
#include "passes/passes.h"
#include "quant/prepare.h"
#include "quant/quantize_int8.h"
#include "quant/range_estimator.h"
#include "quant/convert_float.h"
#include "quant/recipe.h"
#include "quant/tune.h"
#include "runtime/quant_backend.h"
#include "runtime/session.h"

#include "op_test_util.h"

namespace lowp {
namespace {

namespace fs = std::filesystem;
using ir::Graph;
using ir::TensorType;

std::shared_ptr<Tensor> random_tensor(Shape shape, std::uint64_t seed, float scale = 1.0f) {
  auto t = std::make_shared<Tensor>(DType::float32, std::move(shape));
  Random rng(seed);
  for (float& v : t->values<float>()) v = scale * rng.uniform(-1.0f, 1.0f);
  return t;
}

// x [N, 2, 8, 8] -> Conv 3x3 pad 1 (4 ch) -> Relu -> MaxPool 2 -> Flatten -> Gemm (64 -> 5).
std::unique_ptr<Graph> small_cnn() {
  auto g = std::make_unique<Graph>();
  g->name = "cnn";
  std::vector<ir::Dim> dims = {ir::Dim::named("batch"), ir::Dim::known(2), ir::Dim::known(8), ir::Dim::known(8)};
  ir::Value* x = g->add_value("x", TensorType{DType::float32, dims});
  g->inputs.push_back(x);
  ir::Value* c = g->add_value("c");
  ir::Node* conv = g->add_node("Conv", {x, g->add_constant("W", random_tensor(Shape{4, 2, 3, 3}, 1, 0.5f)),
                                        g->add_constant("B", random_tensor(Shape{4}, 2, 0.1f))},
                               {c}, "conv");
  conv->attributes["pads"] = ir::Attribute::of_ints({1, 1, 1, 1});
  ir::Value* r = g->add_value("r");
  g->add_node("Relu", {c}, {r}, "relu");
  ir::Value* p = g->add_value("p");
  ir::Node* pool = g->add_node("MaxPool", {r}, {p}, "pool");
  pool->attributes["kernel_shape"] = ir::Attribute::of_ints({2, 2});
  pool->attributes["strides"] = ir::Attribute::of_ints({2, 2});
  ir::Value* f = g->add_value("f");
  g->add_node("Flatten", {p}, {f}, "flatten");
  ir::Value* y = g->add_value("y");
  ir::Node* fc = g->add_node("Gemm", {f, g->add_constant("FW", random_tensor(Shape{5, 64}, 3, 0.3f)),
                                      g->add_constant("FB", random_tensor(Shape{5}, 4, 0.1f))},
                             {y}, "fc");
  fc->attributes["transB"] = ir::Attribute::of_int(1);
  g->outputs.push_back(y);
  ir::infer_types(*g);
  return g;
}

class QuantizeInt8 : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lowp_quant_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path save(const std::string& name, const Tensor& t) {
    fs::path p = dir_ / name;
    write_npy(p, t);
    return p;
  }
  fs::path dir_;
};

std::vector<Tensor> run(const Graph& g, const Tensor& x, bool optimize) {
  runtime::SessionOptions o;
  o.optimize = optimize;
  runtime::Session s(g.clone(), o);
  return s.run({{g.inputs[0]->name, &x}});
}

TEST_F(QuantizeInt8, WritesQdqThatLowersToIntegerOpsAndStaysCloseToFloat) {
  auto model = small_cnn();
  quant::ModelBackend backend = runtime::quant_backend({});
  auto prepared = quant::prepare_for_quantization(*model, backend);
  fs::path calib = save("calib.npy", *random_tensor(Shape{64, 2, 8, 8}, 10));
  quant::CalibrationSet data = quant::CalibrationSet::open(calib.string(), *prepared, 16);
  quant::QuantizeReport report;
  quant::Int8Options options;
  options.calibration.method = quant::RangeMethod::minmax;
  auto q = quant::quantize_int8_static(*prepared, data, backend, options, report);
  ASSERT_EQ(report.nodes.size(), 2u);
  EXPECT_EQ(report.nodes[0].precision, "int8");
  EXPECT_EQ(report.nodes[1].precision, "int8");
  EXPECT_EQ(report.calibration_rows, 64u);
  // x, relu output, pool output (shares relu's parameters), flatten output (too).
  EXPECT_EQ(report.quantized_tensors, 4u);

  // Lowered: the pool and flatten run on u8, Q/DQ pairs gone but the first Q.
  auto lowered = q->clone();
  EXPECT_GT(passes::lower_qdq(*lowered), 0u);
  passes::fold_constants(*lowered, [](const ir::Node& n) { return runtime::evaluate_node(n); });
  passes::eliminate_dead_nodes(*lowered);
  ir::infer_types(*lowered);
  std::string ops;
  for (const auto& n : lowered->nodes()) ops += (n->domain.empty() ? "" : n->domain + "::") + n->op_type + " ";
  EXPECT_EQ(ops, "QuantizeLinear QLinearConv MaxPool Flatten lowp::QGemm ");
  EXPECT_EQ(lowered->nodes()[2]->inputs[0]->type.dtype, DType::uint8);

  // The integer model against the float model: within a few steps of the output scale.
  Tensor x = *random_tensor(Shape{3, 2, 8, 8}, 11);
  Tensor ref = run(*model, x, true)[0];
  Tensor integer = run(*q, x, true)[0];
  Tensor simulated = run(*q, x, false)[0];  // QDQ evaluated in float, not lowered
  auto r = ref.values<float>(), i = integer.values<float>(), s = simulated.values<float>();
  float max_abs = 0;
  for (float v : r) max_abs = std::max(max_abs, std::fabs(v));
  for (std::size_t k = 0; k < r.size(); ++k) {
    EXPECT_NEAR(i[k], r[k], 0.05f * max_abs) << k;
    // Integer kernels and float simulation of the same QDQ graph: they may round one
    // intermediate value to a neighbouring step; bound that by 1% of the output range.
    EXPECT_NEAR(i[k], s[k], 0.01f * max_abs) << k;
  }
}

TEST_F(QuantizeInt8, CalibrationDataIsCheckedAndNonFiniteRowsLeftOut) {
  auto model = small_cnn();
  quant::ModelBackend backend = runtime::quant_backend({});
  auto prepared = quant::prepare_for_quantization(*model, backend);
  fs::path wrong_shape = save("wrong.npy", *random_tensor(Shape{4, 3, 8, 8}, 1));
  try {
    quant::CalibrationSet::open(wrong_shape.string(), *prepared);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("wrong.npy"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("dimension 1"), std::string::npos) << e.what();
  }
  Tensor ints(DType::int32, Shape{4, 2, 8, 8});
  fs::path wrong_type = save("ints.npy", ints);
  EXPECT_THROW(quant::CalibrationSet::open(wrong_type.string(), *prepared), Error);
  EXPECT_THROW(quant::CalibrationSet::open("nothere=" + wrong_type.string(), *prepared), Error);

  // Two of eight rows hold NaN / Inf: left out, counted, and the scales stay finite.
  Tensor t = *random_tensor(Shape{8, 2, 8, 8}, 3);
  t.values<float>()[5] = std::nanf("");
  t.values<float>()[128 * 6 + 7] = INFINITY;
  fs::path nan = save("nan.npy", t);
  quant::CalibrationSet data = quant::CalibrationSet::open(nan.string(), *prepared, 4);
  quant::QuantizeReport report;
  auto q = quant::quantize_int8_static(*prepared, data, backend, {}, report);
  EXPECT_EQ(report.dropped_rows, 2u);
  EXPECT_EQ(report.calibration_rows, 6u);
  for (const auto& n : q->nodes()) {
    if (n->op_type != "QuantizeLinear") continue;
    float s = n->inputs[1]->constant->values<float>()[0];
    EXPECT_TRUE(std::isfinite(s) && s > 0) << n->name;
  }
}

TEST_F(QuantizeInt8, AllZeroCalibrationGivesUsableScales) {
  auto model = small_cnn();
  quant::ModelBackend backend = runtime::quant_backend({});
  auto prepared = quant::prepare_for_quantization(*model, backend);
  Tensor zeros(DType::float32, Shape{4, 2, 8, 8});
  fs::path p = save("zeros.npy", zeros);
  for (auto method : {quant::RangeMethod::minmax, quant::RangeMethod::percentile, quant::RangeMethod::entropy,
                      quant::RangeMethod::mse}) {
    quant::CalibrationSet data = quant::CalibrationSet::open(p.string(), *prepared);
    quant::QuantizeReport report;
    quant::Int8Options o;
    o.calibration.method = method;
    auto q = quant::quantize_int8_static(*prepared, data, backend, o, report);
    for (const auto& n : q->nodes()) {
      if (n->op_type != "QuantizeLinear") continue;
      float s = n->inputs[1]->constant->values<float>()[0];
      EXPECT_TRUE(std::isfinite(s) && s > 0) << n->name << " " << quant::range_method_name(method);
    }
    Tensor x = *random_tensor(Shape{1, 2, 8, 8}, 5);
    for (float v : run(*q, x, true)[0].values<float>()) EXPECT_TRUE(std::isfinite(v));
  }
}

TEST_F(QuantizeInt8, Fp16AndBf16ModelsRunOnLowPrecisionWeightsCloseToFloat) {
  auto model = small_cnn();
  quant::ModelBackend backend = runtime::quant_backend({});
  auto prepared = quant::prepare_for_quantization(*model, backend);
  quant::QuantizeReport r16, rb16;
  fs::path calib = save("calib16.npy", *random_tensor(Shape{16, 2, 8, 8}, 12));
  quant::CalibrationSet data = quant::CalibrationSet::open(calib.string(), *prepared);
  auto fp16 = quant::convert_to_fp16(*prepared, &data, backend, {}, r16);
  auto bf16 = quant::convert_to_bf16(*prepared, {}, rb16);
  // fp16: the layers' weights are fp16 constants; lowered, they feed lowp's fused ops.
  std::size_t fp16_weights = 0;
  for (const auto& n : fp16->nodes()) {
    if ((n->op_type == "Conv" || n->op_type == "Gemm") && n->inputs[1]->constant &&
        n->inputs[1]->constant->dtype() == DType::float16)
      ++fp16_weights;
  }
  EXPECT_EQ(fp16_weights, 2u);
  for (const Graph* g : {fp16.get(), bf16.get()}) {
    auto lowered = g->clone();
    EXPECT_GT(passes::lower_float16(*lowered), 0u);
    std::size_t fused = 0;
    for (const auto& n : lowered->nodes()) {
      if (n->domain == "lowp" && (n->op_type == "FusedConv" || n->op_type == "FusedGemm")) {
        ++fused;
        EXPECT_TRUE(n->inputs[1]->constant->dtype() == DType::float16 || n->inputs[1]->constant->dtype() == DType::bfloat16);
      }
    }
    EXPECT_EQ(fused, 2u);
  }
  Tensor x = *random_tensor(Shape{2, 2, 8, 8}, 13);
  Tensor ref = run(*model, x, true)[0];
  // Tolerances: fp16 keeps 11 significant bits (2^-11 relative per rounding, a few
  // roundings per output of these K <= 64 sums); bf16 keeps 8 (2^-8).
  for (auto [g, tol] : {std::pair{fp16.get(), 1e-2f}, std::pair{bf16.get(), 4e-2f}}) {
    Tensor got = run(*g, x, true)[0];
    ASSERT_EQ(got.shape(), ref.shape());
    float max_abs = 0;
    for (float v : ref.values<float>()) max_abs = std::max(max_abs, std::fabs(v));
    for (std::size_t i = 0; i < ref.elements(); ++i) EXPECT_NEAR(got.values<float>()[i], ref.values<float>()[i], tol * max_abs);
  }
}

TEST_F(QuantizeInt8, BadScalesInAQdqModelAreRefusedNamingTheNode) {
  auto model = small_cnn();
  quant::ModelBackend backend = runtime::quant_backend({});
  auto prepared = quant::prepare_for_quantization(*model, backend);
  fs::path calib = save("calib_bad.npy", *random_tensor(Shape{8, 2, 8, 8}, 14));
  quant::CalibrationSet data = quant::CalibrationSet::open(calib.string(), *prepared);
  quant::QuantizeReport report;
  auto q = quant::quantize_int8_static(*prepared, data, backend, {}, report);
  for (float bad : {0.0f, -0.5f, std::nanf(""), INFINITY}) {
    auto g = q->clone();
    for (const auto& n : g->nodes()) {
      if (n->op_type != "DequantizeLinear" || n->inputs[1]->constant->elements() != 4) continue;  // the conv's weight scales
      auto t = std::make_shared<Tensor>(*n->inputs[1]->constant);
      t->values<float>()[2] = bad;
      n->inputs[1] = g->add_constant(g->unique_name("bad_scale"), t);
    }
    try {
      runtime::Session s(g->clone(), {});
      FAIL() << "scale " << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("W_DequantizeLinear"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("finite and positive"), std::string::npos) << e.what();
    }
  }
}

TEST_F(QuantizeInt8, RecipesRoundTripAndRejectUnknownNodes) {
  auto model = small_cnn();
  quant::Recipe r;
  r.default_precision = "int8";
  r.nodes["conv"] = "fp32";
  fs::path p = dir_ / "recipe.json";
  quant::write_recipe(p, r);
  quant::Recipe back = quant::read_recipe(p, *model);
  EXPECT_EQ(back.default_precision, "int8");
  EXPECT_EQ(back.nodes, r.nodes);
  auto layers = quant::recipe_layers(back, *model);
  EXPECT_EQ(layers.at("conv"), "fp32");
  EXPECT_EQ(layers.at("fc"), "int8");
  auto write = [&](const std::string& text) {
    fs::path q = dir_ / "bad.json";
    std::ofstream(q) << text;
    return q;
  };
  for (const std::string& bad : {std::string(R"({"lowp_recipe": 1, "nodes": {"nope": "int8"}})"),
                                 std::string(R"({"lowp_recipe": 1, "nodes": {"conv": "int3"}})"),
                                 std::string(R"({"nodes": {}})"), std::string("{not json"),
                                 std::string(R"({"lowp_recipe": 1, "default": "fp8"})")}) {
    EXPECT_THROW(quant::read_recipe(write(bad), *model), Error) << bad;
  }
  try {
    quant::read_recipe(write(R"({"lowp_recipe": 1, "nodes": {"nope": "int8"}})"), *model);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'nope'"), std::string::npos) << e.what();
  }
}

TEST_F(QuantizeInt8, TuneAlwaysAnswersAndSaysWhenTheBudgetIsMissed) {
  auto model = small_cnn();
  quant::ModelBackend backend = runtime::quant_backend({});
  auto prepared = quant::prepare_for_quantization(*model, backend);
  fs::path calib = save("calib_tune.npy", *random_tensor(Shape{32, 2, 8, 8}, 15));
  Tensor x = *random_tensor(Shape{64, 2, 8, 8}, 16);
  // Labels: the float model's own predictions, so fp32 scores 100%.
  Tensor logits = run(*model, x, true)[0];
  Tensor labels(DType::int64, Shape{64});
  for (std::size_t r = 0; r < 64; ++r) {
    auto row = logits.values<float>().subspan(r * 5, 5);
    labels.values<std::int64_t>()[r] = std::max_element(row.begin(), row.end()) - row.begin();
  }
  for (double budget : {100.0, 0.0}) {
    quant::CalibrationSet data = quant::CalibrationSet::open(calib.string(), *prepared);
    quant::TuneOptions o;
    o.max_drop = budget;
    o.time_limit_seconds = 60;
    quant::TuneResult r = quant::tune(*prepared, data, x, labels, backend, o);
    ASSERT_NE(r.best_model, nullptr);
    ASSERT_GE(r.best, 1);  // a quantized model, never the fp32 one
    EXPECT_DOUBLE_EQ(r.fp32_accuracy, 100.0);
    const auto& best = r.candidates[static_cast<std::size_t>(r.best)];
    if (r.met_budget) {
      EXPECT_LE(r.fp32_accuracy - best.accuracy, budget + 1e-9);
    }
    if (budget == 100.0) {
      EXPECT_TRUE(r.met_budget);
    }
    EXPECT_FALSE(r.sensitivity.empty());
    EXPECT_TRUE(std::any_of(r.candidates.begin(), r.candidates.end(), [](const auto& c) { return c.pareto; }));
  }
}

// An fp32 conv whose only reader quantizes to u8 writes the u8 tensor itself
// (passes/fuse_conv_quantize.cc): the same bytes as the unfused ops, whatever the batch.
TEST(FuseConvQuantize, SameBytesAsConvThenQuantize) {
  Graph g;
  g.name = "stem";
  std::vector<ir::Dim> dims = {ir::Dim::named("batch"), ir::Dim::known(1), ir::Dim::known(8), ir::Dim::known(8)};
  ir::Value* x = g.add_value("x", TensorType{DType::float32, dims});
  g.inputs.push_back(x);
  ir::Value* c = g.add_value("c");
  ir::Node* conv = g.add_node("Conv", {x, g.add_constant("W", random_tensor(Shape{4, 1, 3, 3}, 50)),
                                        g.add_constant("B", random_tensor(Shape{4}, 51, 0.1f))},
                              {c}, "stem");
  conv->attributes["pads"] = ir::Attribute::of_ints({1, 1, 1, 1});
  ir::Value* r = g.add_value("r");
  g.add_node("Relu", {c}, {r}, "relu");
  auto scale = std::make_shared<Tensor>(DType::float32, Shape{});
  scale->values<float>()[0] = 0.01f;
  auto zp = std::make_shared<Tensor>(DType::uint8, Shape{});
  zp->values<std::uint8_t>()[0] = 0;
  ir::Value* q = g.add_value("q");
  g.add_node("QuantizeLinear", {r, g.add_constant("s", scale), g.add_constant("z", zp)}, {q}, "quantize");
  g.outputs.push_back(q);
  ir::infer_types(g);
  for (std::int64_t batch : {1, 3}) {
    Tensor in = *random_tensor(Shape{batch, 1, 8, 8}, 52);
    Tensor fused = run(g, in, true)[0];
    Tensor plain = run(g, in, false)[0];
    ASSERT_EQ(fused.dtype(), DType::uint8);
    ASSERT_EQ(fused.bytes(), plain.bytes());
    EXPECT_EQ(0, std::memcmp(fused.raw(), plain.raw(), fused.bytes())) << "batch " << batch;
  }
  runtime::Session s(g.clone(), {});
  Tensor in = *random_tensor(Shape{2, 1, 8, 8}, 53);
  const runtime::Plan& plan = s.plan_for({{"x", &in}});
  bool fused = false;
  for (const auto& step : plan.steps) fused = fused || step.op->kernel().find("quantize_u8") != std::string::npos;
  EXPECT_TRUE(fused);
}

// An NHWC conv whose only reader is a max pool pools its output image by image
// (passes/fuse_conv_pool.cc): fp32, and after a quantizing conv, u8; padded and overlapping
// windows, odd map sizes; the same bytes as the unfused ops, whatever the batch. (Its ONNX
// export, Conv then MaxPool, is run by ORT in tests/models/check_quant_cnn.py.)
TEST(FuseConvPool, SameBytesAsConvThenMaxPool) {
  // 9 x 9: one band; 120 x 120 x 32: ~10 bands of conv rows, the windows of 3 x 3 stride
  // 2 sharing a row across bands.
  for (auto [hw, channels] : {std::pair{9, 8}, {120, 32}}) {
  for (bool quantized : {false, true}) {
    // ceil_mode on 120 rows: one more window, overhanging the end (fused as end padding).
    for (auto [k, stride, pad, ceil] : {std::tuple{2, 2, 0, 0}, {3, 2, 1, 0}, {3, 2, 0, 0}, {3, 2, 0, 1}, {2, 2, 1, 1}}) {
      Graph g;
      g.name = "conv_pool";
      std::vector<ir::Dim> dims = {ir::Dim::named("batch"), ir::Dim::known(3), ir::Dim::known(hw), ir::Dim::known(hw)};
      ir::Value* x = g.add_value("x", TensorType{DType::float32, dims});
      g.inputs.push_back(x);
      ir::Value* c = g.add_value("c");
      ir::Node* conv = g.add_node("Conv", {x, g.add_constant("W", random_tensor(Shape{channels, 3, 3, 3}, 60)),
                                            g.add_constant("B", random_tensor(Shape{channels}, 61, 0.1f))},
                                  {c}, "conv");
      conv->attributes["pads"] = ir::Attribute::of_ints({1, 1, 1, 1});
      ir::Value* r = g.add_value("r");
      g.add_node("Relu", {c}, {r}, "relu");
      ir::Value* pooled_in = r;
      if (quantized) {
        auto scale = std::make_shared<Tensor>(DType::float32, Shape{});
        scale->values<float>()[0] = 0.01f;
        auto zp = std::make_shared<Tensor>(DType::uint8, Shape{});
        zp->values<std::uint8_t>()[0] = 0;
        pooled_in = g.add_value("q");
        g.add_node("QuantizeLinear", {r, g.add_constant("s", scale), g.add_constant("z", zp)}, {pooled_in},
                   "quantize");
      }
      ir::Value* y = g.add_value("y");
      ir::Node* pool = g.add_node("MaxPool", {pooled_in}, {y}, "pool");
      pool->attributes["kernel_shape"] = ir::Attribute::of_ints({k, k});
      pool->attributes["strides"] = ir::Attribute::of_ints({stride, stride});
      pool->attributes["pads"] = ir::Attribute::of_ints({pad, pad, pad, pad});
      pool->attributes["ceil_mode"] = ir::Attribute::of_int(ceil);
      g.outputs.push_back(y);
      ir::infer_types(g);
      for (std::int64_t batch : {1, 3}) {
        Tensor in = *random_tensor(Shape{batch, 3, hw, hw}, 62);
        Tensor plain = run(g, in, false)[0];
        for (int threads : {1, 2}) {  // 2 threads: runs of whole bands per thread
          Tensor fused = test::run_graph(g, in, true, threads)[0];
          ASSERT_EQ(fused.dtype(), quantized ? DType::uint8 : DType::float32);
          ASSERT_EQ(fused.shape(), plain.shape());
          EXPECT_EQ(0, std::memcmp(fused.raw(), plain.raw(), fused.bytes()))
              << "quantized " << quantized << " k " << k << " ceil " << ceil << " hw " << hw << " batch " << batch
              << " threads " << threads;
        }
      }
      runtime::Session s(g.clone(), {});
      Tensor in = *random_tensor(Shape{2, 3, hw, hw}, 63);
      const runtime::Plan& plan = s.plan_for({{"x", &in}});
      bool fused = false;
      for (const auto& step : plan.steps) fused = fused || step.op->kernel().find("max_pool") != std::string::npos;
      EXPECT_TRUE(fused) << "quantized " << quantized << " k " << k;
    }
  }
  }
}

TEST(RangeEstimator, MethodsClipOutliersOfAGaussian) {
  quant::AbsHistogram h(10.0f, 2048);
  Random rng(7);
  std::vector<float> v(200000);
  for (float& x : v) {
    // Box-Muller from two uniforms.
    float u1 = std::max(rng.uniform(0.0f, 1.0f), 1e-7f), u2 = rng.uniform(0.0f, 1.0f);
    x = std::sqrt(-2.0f * std::log(u1)) * std::cos(6.2831853f * u2);
  }
  v[0] = 10.0f;  // one outlier sets max |x|
  h.add(v);
  EXPECT_EQ(quant::choose_threshold(h, quant::RangeMethod::minmax, 99.99, 128), 10.0f);
  float p = quant::choose_threshold(h, quant::RangeMethod::percentile, 99.0, 128);
  EXPECT_NEAR(p, 2.576f, 0.05f);  // the two-sided 99% point of N(0, 1)
  float e = quant::choose_threshold(h, quant::RangeMethod::entropy, 99.99, 128);
  float m = quant::choose_threshold(h, quant::RangeMethod::mse, 99.99, 128);
  EXPECT_GT(e, 2.0f);
  EXPECT_LT(e, 8.0f);
  EXPECT_GT(m, 2.0f);
  EXPECT_LT(m, 6.0f);
  quant::Range r = quant::clip_range(0.0f, 10.0f, p);
  EXPECT_EQ(r.lo, 0.0f);
  EXPECT_EQ(r.hi, p);
  EXPECT_THROW(quant::parse_range_method("kl"), Error);
}

}  // namespace
}  // namespace lowp
