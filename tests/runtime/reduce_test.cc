// tests/runtime/reduce_test.cc: the reductions (runtime/ops/reduce.cc) against a reference
// that visits each output's elements in increasing input order and accumulates in double,
// as the kernel promises: so float results must be equal, not merely close (LogSumExp,
// whose reference does not shift by the maximum, is allowed 1e-6).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "base/error.h"
#include "op_test_util.h"

namespace lowp {
namespace {

using test::eval;
using test::ints;

struct Op {
  const char* name;
  double init;
  std::function<double(double, double)> fold;
  std::function<double(double, std::size_t)> finish;
};

const std::vector<Op>& ops() {
  static const std::vector<Op> table = {
      {"ReduceSum", 0, [](double a, double x) { return a + x; }, [](double a, std::size_t) { return a; }},
      {"ReduceMean", 0, [](double a, double x) { return a + x; },
       [](double a, std::size_t n) { return a / static_cast<double>(n); }},
      {"ReduceMax", -INFINITY, [](double a, double x) { return std::max(a, x); },
       [](double a, std::size_t) { return a; }},
      {"ReduceMin", INFINITY, [](double a, double x) { return std::min(a, x); },
       [](double a, std::size_t) { return a; }},
      {"ReduceProd", 1, [](double a, double x) { return a * x; }, [](double a, std::size_t) { return a; }},
      {"ReduceL1", 0, [](double a, double x) { return a + std::abs(x); }, [](double a, std::size_t) { return a; }},
      {"ReduceL2", 0, [](double a, double x) { return a + x * x; },
       [](double a, std::size_t) { return std::sqrt(a); }},
      {"ReduceSumSquare", 0, [](double a, double x) { return a + x * x; }, [](double a, std::size_t) { return a; }},
      {"ReduceLogSum", 0, [](double a, double x) { return a + x; }, [](double a, std::size_t) { return std::log(a); }},
      {"ReduceLogSumExp", 0, [](double a, double x) { return a + std::exp(x); },
       [](double a, std::size_t) { return std::log(a); }},
  };
  return table;
}

// Reduces `x` (float32) over `axes` (empty: all) by the reference of `op`.
std::vector<float> reference(const Op& op, const Tensor& x, const std::vector<std::int64_t>& axes,
                             std::vector<std::int64_t>* out_dims, bool keepdims) {
  const std::vector<std::int64_t>& dims = x.shape().dims();
  std::vector<bool> reduced(dims.size(), axes.empty());
  for (std::int64_t a : axes) reduced[static_cast<std::size_t>(a < 0 ? a + static_cast<std::int64_t>(dims.size()) : a)] = true;
  std::vector<std::int64_t> kept;
  out_dims->clear();
  for (std::size_t a = 0; a < dims.size(); ++a) {
    if (!reduced[a]) kept.push_back(dims[a]);
    if (!reduced[a] || keepdims) out_dims->push_back(reduced[a] ? 1 : dims[a]);
  }
  std::size_t outputs = Shape(kept).elements();
  std::vector<double> acc(outputs, op.init);
  std::vector<std::size_t> count(outputs, 0);
  auto xs = x.values<float>();
  for (std::size_t i = 0; i < x.elements(); ++i) {
    std::vector<std::int64_t> idx = test::unravel(i, dims), k;
    for (std::size_t a = 0; a < dims.size(); ++a) {
      if (!reduced[a]) k.push_back(idx[a]);
    }
    std::size_t o = test::ravel(k, kept);
    acc[o] = op.fold(acc[o], xs[i]);
    ++count[o];
  }
  std::vector<float> out;
  for (std::size_t o = 0; o < outputs; ++o) out.push_back(static_cast<float>(op.finish(acc[o], count[o])));
  return out;
}

TEST(Reduce, EveryOpMatchesTheReferenceOnEveryAxisSet) {
  const std::vector<std::int64_t> dims = {3, 4, 1, 5};
  const std::vector<std::vector<std::int64_t>> axis_sets = {{}, {0}, {1}, {3}, {-1}, {0, 2}, {1, 3}, {0, 1, 3}, {2}, {0, 1, 2, 3}};
  for (const Op& op : ops()) {
    // Positive inputs for the logarithms.
    bool positive = std::string(op.name) == "ReduceLogSum";
    auto x = test::random_floats(dims, 17, positive ? 0.1f : -2.0f, 2.0f);
    for (const auto& axes : axis_sets) {
      for (bool keep : {true, false}) {
        std::vector<std::int64_t> out_dims;
        std::vector<float> want = reference(op, *x, axes, &out_dims, keep);
        ir::Attribute keepdims = ir::Attribute::of_int(keep);
        std::vector<std::shared_ptr<Tensor>> in(axes.empty() ? 1 : 2);
        in[0] = x;
        if (!axes.empty()) in[1] = ints(axes);
        auto got = eval(op.name, in, {{"keepdims", keepdims}});
        SCOPED_TRACE(fmt::format("{} axes [{}] keepdims {}", op.name, fmt::join(axes, ","), keep));
        ASSERT_EQ(got[0]->shape().str(), Shape(out_dims).str());
        std::vector<float> values = test::values_of<float>(*got[0]);
        for (std::size_t i = 0; i < want.size(); ++i) {
          if (std::string(op.name) == "ReduceLogSumExp") {
            EXPECT_NEAR(values[i], want[i], 1e-6 * std::abs(want[i]) + 1e-7) << i;
          } else {
            EXPECT_EQ(values[i], want[i]) << i;
          }
        }
        // Axes given at run time, with the output shape declared, give the same.
        if (!axes.empty()) {
          auto ran = test::run_graph(op.name, in, {{"keepdims", keepdims}},
                                     {ir::TensorType::of(DType::float32, Shape(out_dims))});
          EXPECT_EQ(std::memcmp(ran[0].raw(), got[0]->raw(), got[0]->bytes()), 0);
        }
      }
    }
  }
}

TEST(Reduce, EmptyReductionsGiveTheIdentity) {
  auto x = std::make_shared<Tensor>(DType::float32, Shape{2, 0});
  auto one = [&](const char* op) { return test::values_of<float>(*eval(op, {x, ints({1})})[0]); };
  EXPECT_EQ(one("ReduceSum"), (std::vector<float>{0, 0}));
  EXPECT_EQ(one("ReduceProd"), (std::vector<float>{1, 1}));
  EXPECT_EQ(one("ReduceMax")[0], -INFINITY);
  EXPECT_EQ(one("ReduceMin")[0], INFINITY);
  EXPECT_EQ(one("ReduceLogSumExp")[0], -INFINITY);
  EXPECT_TRUE(std::isnan(one("ReduceMean")[0]));
  auto xi = std::make_shared<Tensor>(DType::int8, Shape{2, 0});
  auto maxi = eval("ReduceMax", {xi, ints({1})});
  EXPECT_EQ(test::values_of<std::int8_t>(*maxi[0]), (std::vector<std::int8_t>{-128, -128}));
}

TEST(Reduce, NoopWithEmptyAxesAppliesTheOpToEachElement) {
  auto x = test::floats({3}, {-1, 2, -3});
  ir::Attribute noop = ir::Attribute::of_int(1);
  auto sum = eval("ReduceSum", {x, ints({})}, {{"noop_with_empty_axes", noop}});
  EXPECT_EQ(test::values_of<float>(*sum[0]), (std::vector<float>{-1, 2, -3}));
  auto sq = eval("ReduceSumSquare", {x}, {{"noop_with_empty_axes", noop}});
  EXPECT_EQ(test::values_of<float>(*sq[0]), (std::vector<float>{1, 4, 9}));
}

TEST(Reduce, IntegersWrapAndTruncateLikeTheirType) {
  auto x = test::tensor<std::int32_t>(DType::int32, {4}, {std::numeric_limits<std::int32_t>::max(), 1, -7, 2});
  auto sum = eval("ReduceSum", {x});
  // max + 1 - 7 + 2 in int32 arithmetic, wrapping
  EXPECT_EQ(test::values_of<std::int32_t>(*sum[0])[0],
            static_cast<std::int32_t>(std::int64_t{std::numeric_limits<std::int32_t>::max()} + 1 - 7 + 2));
  auto y = test::tensor<std::int64_t>(DType::int64, {3}, {-7, 2, 0});
  EXPECT_EQ(test::values_of<std::int64_t>(*eval("ReduceMean", {y})[0])[0], -1);  // -5/3 toward zero
  EXPECT_EQ(test::values_of<std::int64_t>(*eval("ReduceL1", {y})[0])[0], 9);
  auto u = test::tensor<std::uint8_t>(DType::uint8, {3}, {200, 255, 3});
  EXPECT_EQ(test::values_of<std::uint8_t>(*eval("ReduceMin", {u})[0])[0], 3);
  EXPECT_EQ(test::values_of<std::uint8_t>(*eval("ReduceMax", {u})[0])[0], 255);
}

TEST(Reduce, MaxAndMinPropagateNaN) {
  auto x = test::floats({2, 3}, {1, NAN, 3, 4, 5, 6});
  auto mx = test::values_of<float>(*eval("ReduceMax", {x, ints({1})})[0]);
  EXPECT_TRUE(std::isnan(mx[0]));
  EXPECT_EQ(mx[1], 6);
}

TEST(Reduce, ArgMaxArgMinWithTiesAndSelectLastIndex) {
  auto x = test::floats({2, 4}, {1, 3, 3, 0, 2, 2, -1, 2});
  auto run = [&](const char* op, std::int64_t axis, std::int64_t last, std::int64_t keep) {
    auto y = eval(op, {x}, {{"axis", ir::Attribute::of_int(axis)}, {"select_last_index", ir::Attribute::of_int(last)},
                            {"keepdims", ir::Attribute::of_int(keep)}});
    return test::values_of<std::int64_t>(*y[0]);
  };
  EXPECT_EQ(run("ArgMax", 1, 0, 1), (std::vector<std::int64_t>{1, 0}));
  EXPECT_EQ(run("ArgMax", 1, 1, 1), (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(run("ArgMin", -1, 0, 0), (std::vector<std::int64_t>{3, 2}));
  EXPECT_EQ(run("ArgMax", 0, 0, 0), (std::vector<std::int64_t>{1, 0, 0, 1}));
  EXPECT_EQ(run("ArgMin", 0, 1, 0), (std::vector<std::int64_t>{0, 1, 1, 0}));
  auto nan = test::floats({3}, {1, NAN, 5});
  EXPECT_EQ(test::values_of<std::int64_t>(*eval("ArgMax", {nan})[0])[0], 1);  // numpy: NaN wins
  auto empty = std::make_shared<Tensor>(DType::float32, Shape{0, 2});
  EXPECT_THROW(eval("ArgMax", {empty}), Error);
}

}  // namespace
}  // namespace lowp
