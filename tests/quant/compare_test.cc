// tests/quant/compare_test.cc: the metrics of `lowp compare` on vectors whose answers are
// known by hand (identical, all-zero, opposite, scaled, non-finite), and the checks of
// the models' inputs that come before anything runs.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "base/error.h"
#include "quant/compare.h"

namespace lowp::quant {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(CompareMetrics, KnownVectors) {
  std::vector<float> r = {1, 2, 3, 4}, t = {1, 2, 3, 5};
  TensorMetrics m = compare_tensors(r, t);
  // signal 1 + 4 + 9 + 16 = 30, noise 1; r.t = 34, |t|^2 = 39.
  EXPECT_NEAR(m.sqnr_db, 10.0 * std::log10(30.0), 1e-12);
  EXPECT_NEAR(m.cosine, 34.0 / std::sqrt(30.0 * 39.0), 1e-12);
  EXPECT_EQ(m.max_abs_error, 1.0);
  EXPECT_EQ(m.elements, 4u);
  EXPECT_EQ(m.non_finite, 0u);
}

TEST(CompareMetrics, IdenticalTensorsHaveInfiniteSqnrAndNoNaN) {
  std::vector<float> r = {0.5f, -1.25f, 3.0f};
  TensorMetrics m = compare_tensors(r, r);
  EXPECT_EQ(m.sqnr_db, kInf);
  EXPECT_EQ(m.cosine, 1.0);
  EXPECT_EQ(m.max_abs_error, 0.0);
}

TEST(CompareMetrics, AllZeroTensors) {
  std::vector<float> zeros(8, 0.0f), ones(8, 1.0f);
  TensorMetrics both = compare_tensors(zeros, zeros);
  EXPECT_EQ(both.sqnr_db, kInf);  // nothing to lose, nothing lost
  EXPECT_EQ(both.cosine, 1.0);
  TensorMetrics ref_zero = compare_tensors(zeros, ones);
  EXPECT_EQ(ref_zero.sqnr_db, -kInf);  // only noise
  EXPECT_EQ(ref_zero.cosine, 0.0);
  EXPECT_EQ(ref_zero.max_abs_error, 1.0);
  TensorMetrics test_zero = compare_tensors(ones, zeros);
  EXPECT_NEAR(test_zero.sqnr_db, 0.0, 1e-12);  // noise equals signal
  EXPECT_EQ(test_zero.cosine, 0.0);
  for (const TensorMetrics& m : {both, ref_zero, test_zero}) {
    EXPECT_FALSE(std::isnan(m.sqnr_db));
    EXPECT_FALSE(std::isnan(m.cosine));
  }
  TensorMetrics empty = compare_tensors({}, {});
  EXPECT_EQ(empty.sqnr_db, kInf);
  EXPECT_EQ(empty.cosine, 1.0);
}

TEST(CompareMetrics, OppositeAndScaled) {
  std::vector<float> r = {1, -2, 3}, neg = {-1, 2, -3}, twice = {2, -4, 6};
  TensorMetrics o = compare_tensors(r, neg);
  EXPECT_NEAR(o.cosine, -1.0, 1e-12);
  EXPECT_NEAR(o.sqnr_db, 10.0 * std::log10(1.0 / 4.0), 1e-12);  // noise = (2r)^2
  EXPECT_EQ(o.max_abs_error, 6.0);
  TensorMetrics s = compare_tensors(r, twice);
  EXPECT_NEAR(s.cosine, 1.0, 1e-12);  // same direction: cosine alone misses a scale error
  EXPECT_NEAR(s.sqnr_db, 0.0, 1e-12);  // SQNR does not
}

TEST(CompareMetrics, NonFiniteValuesAreCountedNotPropagated) {
  const float nan = std::nanf(""), inf = INFINITY;
  std::vector<float> r = {1, nan, inf, 2, 3}, t = {1, nan, inf, nan, -inf};
  TensorMetrics m = compare_tensors(r, t);
  EXPECT_EQ(m.non_finite, 2u);  // 2 vs NaN and 3 vs -inf; equal NaN / Inf pairs agree
  EXPECT_EQ(m.elements, 1u);
  EXPECT_EQ(m.sqnr_db, kInf);
  EXPECT_FALSE(std::isnan(m.cosine));
  EXPECT_FALSE(std::isnan(m.max_abs_error));
}

TEST(CompareMetrics, AccumulatingBatchesEqualsOneCall) {
  std::vector<float> r = {1, 2, 3, 4, -5, 6}, t = {1.1f, 2, 2.9f, 4, -5.5f, 6};
  MetricsAccumulator acc;
  acc.add(std::span(r).first(2), std::span(t).first(2));
  acc.add(std::span(r).subspan(2), std::span(t).subspan(2));
  TensorMetrics a = acc.result(), b = compare_tensors(r, t);
  EXPECT_DOUBLE_EQ(a.sqnr_db, b.sqnr_db);
  EXPECT_DOUBLE_EQ(a.cosine, b.cosine);
  EXPECT_EQ(a.max_abs_error, b.max_abs_error);
  EXPECT_THROW(acc.add(std::span(r).first(2), std::span(t).first(3)), Error);
}

TEST(CompareMetrics, WorstFirstOrder) {
  auto m = [](double sqnr, double cosine, std::size_t non_finite) {
    TensorMetrics t;
    t.sqnr_db = sqnr;
    t.cosine = cosine;
    t.non_finite = non_finite;
    return t;
  };
  TensorMetrics good = m(40, 0.9999, 0), bad = m(5, 0.9, 0), broken = m(60, 1, 1);
  EXPECT_TRUE(worse_than(bad, good));
  EXPECT_FALSE(worse_than(good, bad));
  EXPECT_TRUE(worse_than(broken, bad));  // NaN / Inf mismatches rank first
  TensorMetrics exact = m(kInf, 1, 0);
  EXPECT_TRUE(worse_than(good, exact));
  EXPECT_FALSE(worse_than(exact, exact));
}

TEST(CompareMetrics, AddedNoise) {
  EXPECT_NEAR(added_noise_db(0.1, 0.0), 10.0, 1e-12);    // a first layer: all its own
  EXPECT_NEAR(added_noise_db(0.011, 0.001), 20.0, 1e-9);  // 0.01 added to what came in
  EXPECT_EQ(added_noise_db(0.1, 0.1), kInf);              // passes the error on, adds none
  EXPECT_EQ(added_noise_db(0.05, 0.1), kInf);             // (a ReLU can remove some)
  EXPECT_EQ(added_noise_db(kInf, 0.0), -kInf);            // a zero signal made non-zero
  EXPECT_EQ(added_noise_db(0.0, 0.0), kInf);
  // A layer after a broken one has a SQNR as bad as its input's, but adds little.
  std::vector<float> truth = {1, 2, 3, 4};
  std::vector<float> broken = {3, 6, 9, 12};            // 3x: SQNR -6 dB
  std::vector<float> after = {3.001f, 6, 9, 12};        // the next layer, nearly exact on it
  TensorMetrics b = compare_tensors(truth, broken), a = compare_tensors(truth, after);
  EXPECT_LT(a.sqnr_db, -5.0);
  EXPECT_GT(added_noise_db(a.noise_to_signal, b.noise_to_signal), 30.0);
  EXPECT_LT(added_noise_db(b.noise_to_signal, 0.0), 0.0);
}

// x[batch, 4] -> Relu -> y.
std::unique_ptr<ir::Graph> relu_model(const std::string& input = "x", const std::string& output = "y") {
  auto g = std::make_unique<ir::Graph>();
  ir::TensorType type;
  type.dtype = DType::float32;
  type.dims = std::vector<ir::Dim>{ir::Dim::named("batch"), ir::Dim::known(4)};
  ir::Value* x = g->add_value(input, type);
  ir::Value* y = g->add_value(output);
  g->add_node("Relu", {x}, {y}, "relu");
  g->inputs = {x};
  g->outputs = {y};
  return g;
}

std::string error_of(const ir::Graph& a, const ir::Graph& b, const std::vector<CompareInput>& inputs) {
  CompareOptions o;
  o.reference_name = "ref.onnx";
  o.quantized_name = "q.onnx";
  try {
    compare_models(a, b, inputs, ModelBackend{}, o);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(CompareModels, BadInputsAreOneClearError) {
  auto ref = relu_model();
  auto other_input = relu_model("z");
  auto other_output = relu_model("x", "w");
  std::vector<CompareInput> good;
  good.push_back({"x", Tensor(DType::float32, Shape{2, 4})});
  EXPECT_NE(error_of(*ref, *other_input, good).find("different inputs: ref.onnx has [x], q.onnx has [z]"),
            std::string::npos);
  EXPECT_NE(error_of(*ref, *other_output, good).find("different outputs"), std::string::npos);
  EXPECT_NE(error_of(*ref, *ref, {}).find("input 'x' of ref.onnx is not given"), std::string::npos);
  std::vector<CompareInput> extra;
  extra.push_back({"x", Tensor(DType::float32, Shape{2, 4})});
  extra.push_back({"t", Tensor(DType::float32, Shape{2, 4})});
  EXPECT_NE(error_of(*ref, *ref, extra).find("ref.onnx has no input 't'"), std::string::npos);
  std::vector<CompareInput> twice;
  twice.push_back({"x", Tensor(DType::float32, Shape{2, 4})});
  twice.push_back({"x", Tensor(DType::float32, Shape{2, 4})});
  EXPECT_NE(error_of(*ref, *ref, twice).find("given twice"), std::string::npos);
  std::vector<CompareInput> shape;
  shape.push_back({"x", Tensor(DType::float32, Shape{2, 5})});
  EXPECT_NE(error_of(*ref, *ref, shape).find("has shape float32[batch, 4], the file gives [2, 5]"),
            std::string::npos)
      << error_of(*ref, *ref, shape);
  std::vector<CompareInput> dtype;
  dtype.push_back({"x", Tensor(DType::float64, Shape{2, 4})});
  EXPECT_NE(error_of(*ref, *ref, dtype).find("is float32, the file gives float64"), std::string::npos)
      << error_of(*ref, *ref, dtype);
}

}  // namespace
}  // namespace lowp::quant
