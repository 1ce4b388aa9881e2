// tests/runtime/more_ops_test.cc: Resize, ConvTranspose and the index, math and loss ops
// (runtime/ops/resize.cc, conv_transpose.cc, index_ops.cc, math_ops.cc, loss_ops.cc).
//
// The ONNX conformance tests check each op against ONNX's expected values; these check what
// they cannot: that the fast paths (Resize's float32 2-D kernel, ConvTranspose's GEMM +
// col2im) equal the general paths (float64, direct loops) on many random geometries, that
// values arriving at run time give what constants give, that results do not depend on
// the thread count, and that indices out of range at run time are an error, never a crash.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "base/error.h"
#include "op_test_util.h"

namespace lowp {
namespace {

using test::Attrs;
using test::ints;

struct In {
  std::shared_ptr<Tensor> tensor;  // null: omitted
  bool constant = false;
};

// One node in a Session: constant inputs as initializers, the others as graph inputs.
std::vector<Tensor> run_node(const std::string& op, const std::vector<In>& inputs, const Attrs& attrs,
                             const std::vector<ir::TensorType>& declared, int threads = 1) {
  auto g = std::make_unique<ir::Graph>();
  std::vector<ir::Value*> ins, outs;
  std::vector<runtime::NamedInput> named;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::string name = "x" + std::to_string(i);
    if (!inputs[i].tensor) {
      ins.push_back(nullptr);
    } else if (inputs[i].constant) {
      ins.push_back(g->add_constant(name, inputs[i].tensor));
    } else {
      ir::Value* v = g->add_value(name, ir::TensorType::of(inputs[i].tensor->dtype(), inputs[i].tensor->shape()));
      g->inputs.push_back(v);
      ins.push_back(v);
      named.push_back({name, inputs[i].tensor.get()});
    }
  }
  for (std::size_t i = 0; i < declared.size(); ++i) {
    outs.push_back(g->add_value("y" + std::to_string(i), declared[i]));
    g->outputs.push_back(outs.back());
  }
  ir::Node* n = g->add_node(op, ins, outs, "n");
  n->attributes = attrs;
  runtime::SessionOptions options;
  options.threads = threads;
  runtime::Session session(std::move(g), options);
  return session.run(named);
}

std::vector<Tensor> run_node(const std::string& op, const std::vector<In>& inputs, const Attrs& attrs = {},
                             std::size_t outputs = 1, int threads = 1) {
  return run_node(op, inputs, attrs, std::vector<ir::TensorType>(outputs), threads);
}

std::shared_ptr<Tensor> to_double(const Tensor& t) {
  auto d = std::make_shared<Tensor>(DType::float64, t.shape());
  for (std::size_t i = 0; i < t.elements(); ++i) d->values<double>()[i] = t.values<float>()[i];
  return d;
}

std::shared_ptr<Tensor> scales_tensor(const std::vector<float>& s) {
  return test::floats({static_cast<std::int64_t>(s.size())}, s);
}

void expect_close(const Tensor& got, const Tensor& want_double, double tol, const std::string& what) {
  ASSERT_EQ(got.shape().str(), want_double.shape().str()) << what;
  std::size_t bad = 0;
  for (std::size_t i = 0; i < got.elements(); ++i) {
    double g = got.values<float>()[i], w = want_double.values<double>()[i];
    if (!(std::abs(g - w) <= tol * (1 + std::abs(w))) && bad++ < 3) {
      ADD_FAILURE() << what << ": element " << i << " is " << g << ", expected " << w;
    }
  }
  EXPECT_EQ(bad, 0u) << what;
}

// ---- Resize ----

TEST(Resize, Float32FastPathMatchesTheFloat64GeneralPath) {
  auto x = test::random_floats({2, 3, 5, 7}, 11);
  auto xd = to_double(*x);
  const std::vector<std::vector<float>> all_scales = {{1, 1, 2, 1.5f}, {1, 1, 0.6f, 0.45f}, {1, 1, 1.7f, 0.8f}, {1, 1, 1, 3}};
  int cases = 0;
  for (const char* mode : {"linear", "cubic"}) {
    for (const char* coord : {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric",
                              "tf_half_pixel_for_nn"}) {
      for (int antialias : {0, 1}) {
        for (int exclude : {0, 1}) {
          for (const auto& s : all_scales) {
            Attrs attrs{{"mode", ir::Attribute::of_string(mode)},
                        {"coordinate_transformation_mode", ir::Attribute::of_string(coord)},
                        {"antialias", ir::Attribute::of_int(antialias)},
                        {"exclude_outside", ir::Attribute::of_int(exclude)}};
            auto f = run_node("Resize", {{x, false}, {}, {scales_tensor(s), true}}, attrs);
            auto d = run_node("Resize", {{xd, false}, {}, {scales_tensor(s), true}}, attrs);
            expect_close(f[0], d[0], 2e-6,
                         fmt::format("{} {} antialias {} exclude {} scales [{}]", mode, coord, antialias, exclude,
                                     fmt::join(s, ",")));
            ++cases;
          }
        }
      }
    }
  }
  EXPECT_EQ(cases, 2 * 6 * 2 * 2 * 4);
}

TEST(Resize, CropAndResizeExtrapolatesOnBothPaths) {
  auto x = test::random_floats({1, 2, 6, 6}, 12);
  auto roi = test::floats({8}, {0, 0, -0.2f, 0.3f, 1, 1, 0.9f, 1.4f});
  Attrs attrs{{"mode", ir::Attribute::of_string("linear")},
              {"coordinate_transformation_mode", ir::Attribute::of_string("tf_crop_and_resize")},
              {"extrapolation_value", ir::Attribute::of_float(7.5f)}};
  auto sizes = ints({1, 2, 5, 4});
  auto f = run_node("Resize", {{x, false}, {roi, true}, {}, {sizes, true}}, attrs);
  auto d = run_node("Resize", {{to_double(*x), false}, {roi, true}, {}, {sizes, true}}, attrs);
  expect_close(f[0], d[0], 1e-6, "crop");
  int extrapolated = 0;
  for (float v : f[0].values<float>()) extrapolated += v == 7.5f;
  EXPECT_GT(extrapolated, 0);
}

TEST(Resize, ResizingTheChannelAxisTakesTheGeneralPath) {
  auto x = test::random_floats({1, 4, 3, 5}, 13);
  Attrs attrs{{"mode", ir::Attribute::of_string("linear")}};
  auto s = scales_tensor({1, 1.5f, 2, 1});
  auto f = run_node("Resize", {{x, false}, {}, {s, true}}, attrs);
  auto d = run_node("Resize", {{to_double(*x), false}, {}, {s, true}}, attrs);
  EXPECT_EQ(f[0].shape().str(), "[1, 6, 6, 5]");
  expect_close(f[0], d[0], 1e-6, "channels");
}

TEST(Resize, ScalesAtRunTimeEqualConstantScales) {
  auto x = test::random_floats({1, 2, 4, 4}, 14);
  auto s = scales_tensor({1, 1, 1.5f, 2.5f});
  for (const char* mode : {"nearest", "linear", "cubic"}) {
    Attrs attrs{{"mode", ir::Attribute::of_string(mode)}};
    auto fixed = run_node("Resize", {{x, false}, {}, {s, true}}, attrs);
    auto late = run_node("Resize", {{x, false}, {}, {s, false}}, attrs, {ir::TensorType::of(DType::float32, Shape{1, 2, 6, 10})});
    test::expect_same(late[0], fixed[0]);
  }
}

TEST(Resize, ScalesAtRunTimeThatBreakTheBoundShapeGiveZeros) {
  auto x = test::random_floats({1, 1, 4, 4}, 15);
  auto s = scales_tensor({1, 1, 3, 3});  // 12 x 12, but 8 x 8 is declared
  auto y = run_node("Resize", {{x, false}, {}, {s, false}}, {{"mode", ir::Attribute::of_string("linear")}},
                    {ir::TensorType::of(DType::float32, Shape{1, 1, 8, 8})});
  for (float v : y[0].values<float>()) EXPECT_EQ(v, 0.0f);
}

TEST(Resize, NearestMovesAnyElementType) {
  // asymmetric + floor at 2x (Upsample's rule) repeats each element.
  Attrs attrs{{"coordinate_transformation_mode", ir::Attribute::of_string("asymmetric")},
              {"nearest_mode", ir::Attribute::of_string("floor")}};
  auto x = test::tensor<std::int32_t>(DType::int32, {1, 1, 2, 2}, {1, 2, 3, 4});
  auto y = run_node("Resize", {{x, false}, {}, {scales_tensor({1, 1, 2, 2}), true}}, attrs);
  EXPECT_EQ(test::values_of<std::int32_t>(y[0]),
            (std::vector<std::int32_t>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
  auto b = test::tensor<std::uint8_t>(DType::boolean, {2}, {1, 0});
  auto yb = run_node("Resize", {{b, false}, {}, {scales_tensor({2}), true}}, attrs);
  EXPECT_EQ(test::values_of<std::uint8_t>(yb[0]), (std::vector<std::uint8_t>{1, 1, 0, 0}));
}

TEST(Resize, LinearOnUint8RoundsAndSaturates) {
  auto x = test::tensor<std::uint8_t>(DType::uint8, {1, 2}, {0, 255});
  auto y = run_node("Resize", {{x, false}, {}, {scales_tensor({1, 2}), true}}, {{"mode", ir::Attribute::of_string("linear")}});
  // half_pixel at 2x: 0, 63.75, 191.25, 255.
  EXPECT_EQ(test::values_of<std::uint8_t>(y[0]), (std::vector<std::uint8_t>{0, 64, 191, 255}));
}

TEST(Resize, SizesWithAxesAndKeepAspectRatio) {
  auto x = test::random_floats({1, 1, 4, 6}, 16);
  Attrs attrs{{"axes", ir::Attribute::of_ints({2, 3})},
              {"keep_aspect_ratio_policy", ir::Attribute::of_string("not_larger")}};
  auto y = run_node("Resize", {{x, false}, {}, {}, {ints({8, 8}), true}}, attrs);
  EXPECT_EQ(y[0].shape().str(), "[1, 1, 5, 8]");  // scale min(2, 4/3): 4 * 4/3 rounds to 5
  attrs["keep_aspect_ratio_policy"] = ir::Attribute::of_string("not_smaller");
  auto z = run_node("Resize", {{x, false}, {}, {}, {ints({8, 8}), true}}, attrs);
  EXPECT_EQ(z[0].shape().str(), "[1, 1, 8, 12]");
}

TEST(Resize, BadAttributesAreErrors) {
  auto x = test::random_floats({1, 1, 2, 2}, 17);
  EXPECT_THROW(run_node("Resize", {{x, false}, {}, {scales_tensor({1, 1, 2, 2}), true}},
                        {{"mode", ir::Attribute::of_string("bilinear")}}),
               Error);
  EXPECT_THROW(run_node("Resize", {{x, false}, {}, {scales_tensor({1, 1, 2}), true}}), Error);
  EXPECT_THROW(run_node("Resize", {{x, false}, {}, {scales_tensor({1, 1, 2, 2}), true}, {ints({1, 1, 4, 4}), true}}), Error);
}

// ---- ConvTranspose ----

struct CtCase {
  std::vector<std::int64_t> x, w;  // input, weight shapes
  Attrs attrs;
};

TEST(ConvTranspose, GemmPathMatchesTheDirectLoop) {
  auto ints_attr = [](std::vector<std::int64_t> v) { return ir::Attribute::of_ints(std::move(v)); };
  const std::vector<CtCase> cases = {
      {{1, 3, 5, 5}, {3, 4, 3, 3}, {}},
      {{2, 4, 4, 5}, {4, 3, 4, 4}, {{"strides", ints_attr({2, 2})}, {"pads", ints_attr({1, 1, 1, 1})}}},
      {{1, 6, 3, 4}, {6, 2, 3, 2}, {{"group", ir::Attribute::of_int(3)}, {"strides", ints_attr({2, 3})}, {"dilations", ints_attr({2, 1})}}},
      {{1, 2, 4, 4}, {2, 5, 3, 3}, {{"strides", ints_attr({2, 2})}, {"output_padding", ints_attr({1, 1})}, {"pads", ints_attr({0, 1, 2, 0})}}},
      {{1, 2, 3, 3}, {2, 2, 3, 3}, {{"strides", ints_attr({2, 2})}, {"output_shape", ints_attr({8, 9})}}},
      {{1, 2, 3, 3}, {2, 2, 3, 3}, {{"strides", ints_attr({2, 2})}, {"auto_pad", ir::Attribute::of_string("SAME_UPPER")}}},
      {{1, 2, 3, 3}, {2, 2, 2, 2}, {{"strides", ints_attr({3, 3})}, {"auto_pad", ir::Attribute::of_string("SAME_LOWER")}}},
      {{2, 3, 7}, {3, 2, 3}, {{"strides", ints_attr({3})}, {"pads", ints_attr({1, 2})}}},
      {{1, 2, 3, 4, 2}, {2, 3, 2, 3, 2}, {{"strides", ints_attr({1, 2, 2})}}},
      {{1, 64, 4, 4}, {64, 80, 2, 2}, {{"strides", ints_attr({2, 2})}}},  // col2im split over channels
  };
  std::uint64_t seed = 100;
  for (const CtCase& c : cases) {
    auto x = test::random_floats(c.x, seed++);
    auto w = test::random_floats(c.w, seed++);
    auto group = c.attrs.contains("group") ? c.attrs.at("group").i : 1;
    auto b = test::random_floats({c.w[1] * group}, seed++);
    std::string what = fmt::format("x {} w {}", Shape(c.x).str(), Shape(c.w).str());
    auto constant = run_node("ConvTranspose", {{x, false}, {w, true}, {b, true}}, c.attrs);
    auto late = run_node("ConvTranspose", {{x, false}, {w, false}, {b, false}}, c.attrs);
    auto threaded = run_node("ConvTranspose", {{x, false}, {w, true}, {b, true}}, c.attrs, 1, 4);
    auto ref = run_node("ConvTranspose", {{to_double(*x), false}, {to_double(*w), false}, {to_double(*b), false}}, c.attrs);
    expect_close(constant[0], ref[0], 1e-5, what);
    test::expect_same(late[0], constant[0]);
    test::expect_same(threaded[0], constant[0]);
  }
}

TEST(ConvTranspose, OutputShapeAndAutoPadFollowTheSpec) {
  // output_shape / SAME_*: total padding split with the larger half at the end for
  // SAME_UPPER, at the beginning otherwise (ONNX's ConvTranspose text).
  auto x = test::floats({1, 1, 2}, {1, 2});
  auto w = test::floats({1, 1, 2}, {1, 10});
  // Full output (stride 2): [1, 10, 2, 20]; output_shape 3 drops one: begin for NOTSET.
  auto y = run_node("ConvTranspose", {{x, false}, {w, true}},
                    {{"strides", ir::Attribute::of_ints({2})}, {"output_shape", ir::Attribute::of_ints({3})}});
  EXPECT_EQ(test::values_of<float>(y[0]), (std::vector<float>{10, 2, 20}));
  auto z = run_node("ConvTranspose", {{x, false}, {w, true}},
                    {{"strides", ir::Attribute::of_ints({2})}, {"output_shape", ir::Attribute::of_ints({3})},
                     {"auto_pad", ir::Attribute::of_string("SAME_UPPER")}});
  EXPECT_EQ(test::values_of<float>(z[0]), (std::vector<float>{1, 10, 2}));
}

// ---- index ops ----

TEST(TopK, TiesTakeTheLowerIndexAndNaNIsLargest) {
  float nan = std::numeric_limits<float>::quiet_NaN();
  auto x = test::floats({1, 6}, {3, 1, 3, nan, 1, 2});
  auto y = run_node("TopK", {{x, false}, {ints({4}), true}}, {}, 2);
  auto v = test::values_of<float>(y[0]);
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_EQ(std::vector<float>(v.begin() + 1, v.end()), (std::vector<float>{3, 3, 2}));
  EXPECT_EQ(test::values_of<std::int64_t>(y[1]), (std::vector<std::int64_t>{3, 0, 2, 5}));
  auto s = run_node("TopK", {{x, false}, {ints({3}), true}}, {{"largest", ir::Attribute::of_int(0)}}, 2);
  EXPECT_EQ(test::values_of<float>(s[0]), (std::vector<float>{1, 1, 2}));
  EXPECT_EQ(test::values_of<std::int64_t>(s[1]), (std::vector<std::int64_t>{1, 4, 5}));
}

TEST(ScatterElements, ReductionsAndRunTimeIndicesOutOfRange) {
  auto data = test::floats({1, 4}, {1, 2, 3, 4});
  auto idx = test::tensor<std::int64_t>(DType::int64, {1, 3}, {1, 1, -1});
  auto upd = test::floats({1, 3}, {10, 20, 30});
  Attrs axis1{{"axis", ir::Attribute::of_int(1)}};
  auto run = [&](const char* r) {
    Attrs a = axis1;
    a["reduction"] = ir::Attribute::of_string(r);
    return test::values_of<float>(run_node("ScatterElements", {{data, false}, {idx, false}, {upd, false}}, a)[0]);
  };
  EXPECT_EQ(run("none"), (std::vector<float>{1, 20, 3, 30}));
  EXPECT_EQ(run("add"), (std::vector<float>{1, 32, 3, 34}));
  EXPECT_EQ(run("mul"), (std::vector<float>{1, 400, 3, 120}));
  EXPECT_EQ(run("max"), (std::vector<float>{1, 20, 3, 30}));
  EXPECT_EQ(run("min"), (std::vector<float>{1, 2, 3, 4}));
  // An index out of range: an error naming it, at bind when constant, at run time else.
  auto bad = test::tensor<std::int64_t>(DType::int64, {1, 3}, {1, 9, -1});
  EXPECT_THROW(run_node("ScatterElements", {{data, false}, {bad, true}, {upd, false}}, axis1), Error);
  try {
    run_node("ScatterElements", {{data, false}, {bad, false}, {upd, false}}, axis1);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("index 9"), std::string::npos) << e.what();
  }
}

TEST(GatherND, BatchDimsAndRunTimeIndicesOutOfRange) {
  auto data = test::floats({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  auto idx = test::tensor<std::int64_t>(DType::int64, {2, 1}, {1, 0});
  auto y = run_node("GatherND", {{data, false}, {idx, false}}, {{"batch_dims", ir::Attribute::of_int(1)}});
  EXPECT_EQ(y[0].shape().str(), "[2, 2]");
  EXPECT_EQ(test::values_of<float>(y[0]), (std::vector<float>{2, 3, 4, 5}));
  auto bad = test::tensor<std::int64_t>(DType::int64, {2, 1}, {1, 5});  // 5: out of range
  EXPECT_THROW(run_node("GatherND", {{data, false}, {bad, false}}, {{"batch_dims", ir::Attribute::of_int(1)}}), Error);
}

TEST(ScatterND, RunTimeIndicesOutOfRangeAreAnError) {
  auto data = test::floats({4}, {1, 2, 3, 4});
  auto idx = test::tensor<std::int64_t>(DType::int64, {3, 1}, {0, -1, 1});
  auto upd = test::floats({3}, {10, 20, 30});
  auto y = run_node("ScatterND", {{data, false}, {idx, false}, {upd, false}}, {{"reduction", ir::Attribute::of_string("add")}});
  EXPECT_EQ(test::values_of<float>(y[0]), (std::vector<float>{11, 32, 3, 24}));
  auto bad = test::tensor<std::int64_t>(DType::int64, {3, 1}, {0, -1, 4});
  EXPECT_THROW(run_node("ScatterND", {{data, false}, {bad, false}, {upd, false}}, {{"reduction", ir::Attribute::of_string("add")}}), Error);
}

TEST(OneHot, IndicesOutOfRangeGiveOffRows) {
  auto idx = test::tensor<std::int64_t>(DType::int64, {3}, {0, -1, 7});
  auto depth = test::tensor<std::int64_t>(DType::int64, {}, {3});
  auto values = test::floats({2}, {0, 1});
  auto y = run_node("OneHot", {{idx, false}, {depth, true}, {values, true}});
  EXPECT_EQ(test::values_of<float>(y[0]), (std::vector<float>{1, 0, 0, 0, 0, 1, 0, 0, 0}));
}

TEST(DepthToSpace, InvertsSpaceToDepth) {
  auto x = test::random_floats({2, 3, 4, 6}, 21);
  Attrs b2{{"blocksize", ir::Attribute::of_int(2)}};
  auto packed = run_node("SpaceToDepth", {{x, false}}, b2);
  EXPECT_EQ(packed[0].shape().str(), "[2, 12, 2, 3]");
  auto back = run_node("DepthToSpace", {{std::make_shared<Tensor>(packed[0]), false}}, b2);
  test::expect_same(back[0], *x);
}

TEST(ReverseSequence, LengthsAreClampedAtRunTime) {
  auto x = test::floats({3, 2}, {1, 2, 3, 4, 5, 6});  // time x batch
  auto lens = test::tensor<std::int64_t>(DType::int64, {2}, {9, -4});
  auto y = run_node("ReverseSequence", {{x, false}, {lens, false}});
  EXPECT_EQ(test::values_of<float>(y[0]), (std::vector<float>{5, 2, 3, 4, 1, 6}));
}

TEST(CumSum, ExclusiveReverse) {
  auto x = test::floats({4}, {1, 2, 3, 4});
  auto axis = test::tensor<std::int32_t>(DType::int32, {}, {0});
  auto y = run_node("CumSum", {{x, false}, {axis, false}},
                    {{"exclusive", ir::Attribute::of_int(1)}, {"reverse", ir::Attribute::of_int(1)}});
  EXPECT_EQ(test::values_of<float>(y[0]), (std::vector<float>{9, 7, 4, 0}));
}

// ---- Einsum ----

TEST(Einsum, MatchesDirectSums) {
  auto a = test::random_floats({2, 3, 4}, 31);
  auto b = test::random_floats({2, 4, 5}, 32);
  auto y = run_node("Einsum", {{a, false}, {b, false}}, {{"equation", ir::Attribute::of_string("bij,bjk->bik")}});
  ASSERT_EQ(y[0].shape().str(), "[2, 3, 5]");
  for (int n = 0; n < 2; ++n) {
    for (int i = 0; i < 3; ++i) {
      for (int k = 0; k < 5; ++k) {
        double s = 0;
        for (int j = 0; j < 4; ++j) s += static_cast<double>(a->values<float>()[(n * 3 + i) * 4 + j]) * b->values<float>()[(n * 4 + j) * 5 + k];
        EXPECT_NEAR(y[0].values<float>()[(n * 3 + i) * 5 + k], s, 1e-5);
      }
    }
  }
  auto sq = test::floats({2, 2}, {1, 2, 3, 4});
  auto diag = run_node("Einsum", {{sq, false}}, {{"equation", ir::Attribute::of_string("ii->i")}});
  EXPECT_EQ(test::values_of<float>(diag[0]), (std::vector<float>{1, 4}));
  auto trace = run_node("Einsum", {{sq, false}}, {{"equation", ir::Attribute::of_string("ii")}});
  EXPECT_EQ(test::values_of<float>(trace[0]), (std::vector<float>{5}));
  auto t = run_node("Einsum", {{a, false}}, {{"equation", ir::Attribute::of_string("...ij->...ji")}});
  EXPECT_EQ(t[0].shape().str(), "[2, 4, 3]");
  auto implicit = run_node("Einsum", {{sq, false}, {sq, false}}, {{"equation", ir::Attribute::of_string("ij,jk")}});
  EXPECT_EQ(test::values_of<float>(implicit[0]), (std::vector<float>{7, 10, 15, 22}));
  EXPECT_THROW(run_node("Einsum", {{sq, false}}, {{"equation", ir::Attribute::of_string("ij,jk->ik")}}), Error);
}

// ---- losses ----

TEST(Losses, MeanOverWeightsAndEveryElementIgnored) {
  auto x = test::floats({2, 3}, {-1, -2, -3, -4, -5, -6});
  auto w = test::floats({3}, {1, 2, 4});
  auto t = test::tensor<std::int64_t>(DType::int64, {2}, {2, 1});
  auto y = run_node("NegativeLogLikelihoodLoss", {{x, false}, {t, false}, {w, false}});
  EXPECT_FLOAT_EQ(y[0].values<float>()[0], (3 * 4 + 5 * 2) / 6.0f);
  auto ignored = run_node("SoftmaxCrossEntropyLoss", {{x, false}, {t, false}}, {{"ignore_index", ir::Attribute::of_int(1)}});
  EXPECT_GT(ignored[0].values<float>()[0], 0);
  auto all = test::tensor<std::int64_t>(DType::int64, {2}, {1, 1});
  auto none = run_node("SoftmaxCrossEntropyLoss", {{x, false}, {all, false}}, {{"ignore_index", ir::Attribute::of_int(1)}});
  EXPECT_TRUE(std::isnan(none[0].values<float>()[0]));
  // A target out of range at run time counts as ignored.
  auto bad = test::tensor<std::int64_t>(DType::int64, {2}, {2, 9});
  auto y2 = run_node("NegativeLogLikelihoodLoss", {{x, false}, {bad, false}}, {{"reduction", ir::Attribute::of_string("sum")}});
  EXPECT_FLOAT_EQ(y2[0].values<float>()[0], 3);
}

}  // namespace
}  // namespace lowp
