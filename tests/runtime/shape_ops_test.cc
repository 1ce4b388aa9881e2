// tests/runtime/shape_ops_test.cc: the data-movement kernels (runtime/ops/shape_ops.cc)
// against plain index-by-index references, for every element width, with constant inputs
// (the folder's path) and with values that arrive at run time (a Session).
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <numeric>

#include "base/error.h"
#include "op_test_util.h"

namespace lowp {
namespace {

using test::Attrs;
using test::eval;
using test::ints;
using test::ravel;
using test::unravel;

constexpr DType kWidths[] = {DType::uint8, DType::float16, DType::float32, DType::int64};

// out[i] = in[source(i)] byte for byte, where source maps an output multi-index to an input
// multi-index (or nullopt for a zero).
template <class Source>
Tensor reference_gather(const Tensor& in, DType dtype, const std::vector<std::int64_t>& out_dims, Source source) {
  Tensor out(dtype, Shape(out_dims));
  std::size_t w = dtype_bits(dtype) / 8;
  for (std::size_t i = 0; i < out.elements(); ++i) {
    std::optional<std::vector<std::int64_t>> s = source(unravel(i, out_dims));
    if (s) std::memcpy(out.raw() + i * w, in.raw() + ravel(*s, in.shape().dims()) * w, w);
  }
  return out;
}

// ---- Transpose ----

TEST(ShapeOps, TransposeMatchesReferenceForEveryPermutationAndWidth) {
  const std::vector<std::vector<std::int64_t>> shapes = {
      {7}, {64, 65}, {3, 17, 33}, {2, 3, 4, 5}, {1, 40, 1, 9}, {5, 1, 16, 17}, {2, 0, 3}};
  std::uint64_t seed = 1;
  for (const auto& dims : shapes) {
    std::vector<std::int64_t> perm(dims.size());
    std::iota(perm.begin(), perm.end(), 0);
    do {
      for (DType dtype : kWidths) {
        auto x = test::random_tensor(dtype, dims, seed++);
        auto got = eval("Transpose", {x}, {{"perm", ir::Attribute::of_ints(perm)}});
        std::vector<std::int64_t> out_dims;
        for (std::int64_t p : perm) out_dims.push_back(dims[static_cast<std::size_t>(p)]);
        Tensor want = reference_gather(*x, dtype, out_dims, [&](const std::vector<std::int64_t>& o) {
          std::vector<std::int64_t> in(dims.size());
          for (std::size_t a = 0; a < perm.size(); ++a) in[static_cast<std::size_t>(perm[a])] = o[a];
          return std::optional(in);
        });
        SCOPED_TRACE(fmt::format("{} perm [{}] {}", Shape(dims).str(), fmt::join(perm, ","), dtype_name(dtype)));
        test::expect_same(*got[0], want);
      }
    } while (std::next_permutation(perm.begin(), perm.end()));
  }
}

TEST(ShapeOps, TransposeWithoutPermReversesTheAxes) {
  auto x = test::floats({2, 3}, {1, 2, 3, 4, 5, 6});
  auto y = eval("Transpose", {x});
  EXPECT_EQ(y[0]->shape().str(), "[3, 2]");
  EXPECT_EQ(test::values_of<float>(*y[0]), (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

TEST(ShapeOps, PackedInt4IsUnsupported) {
  auto x = std::make_shared<Tensor>(DType::int4, Shape{4, 2});
  EXPECT_THROW(eval("Transpose", {x}), UnsupportedError);
}

// ---- Slice ----

// The indices a slice visits along one axis, by walking from the clamped start.
std::vector<std::int64_t> slice_indices(std::int64_t n, std::int64_t start, std::int64_t end, std::int64_t step) {
  auto fix = [&](std::int64_t v, std::int64_t lo, std::int64_t hi) {
    if (v < 0) v = std::max<std::int64_t>(v, -n - 1) + n;  // INT64_MIN must not overflow
    return std::clamp(v, lo, hi);
  };
  std::vector<std::int64_t> out;
  // In 128 bits, so that steps near the int64 limits cannot overflow the walk.
  if (step > 0) {
    for (__int128 i = fix(start, 0, n), e = fix(end, 0, n); i < e; i += step) out.push_back(static_cast<std::int64_t>(i));
  } else {
    for (__int128 i = fix(start, -1, n - 1), e = fix(end, -1, n - 1); i > e; i += step) {
      out.push_back(static_cast<std::int64_t>(i));
    }
  }
  return out;
}

TEST(ShapeOps, SliceMatchesReferenceWithConstantAndRunTimeParameters) {
  const std::vector<std::int64_t> dims = {6, 5, 7};
  const std::int64_t big = std::numeric_limits<std::int64_t>::max();
  const std::int64_t small = std::numeric_limits<std::int64_t>::min();
  struct Case {
    std::vector<std::int64_t> starts, ends, axes, steps;
  };
  const std::vector<Case> cases = {
      {{0}, {big}, {0}, {1}},
      {{1, 0}, {5, -1}, {0, 2}, {2, 3}},
      {{-1, 4}, {small, -10}, {1, 2}, {-1, -2}},
      {{10}, {20}, {-1}, {1}},
      {{-100, 2, 3}, {100, 3, -1}, {2, 0, 1}, {3, 1, -1}},
      {{5}, {0}, {0}, {-2}},
      {{1, -1}, {big, small}, {0, 1}, {big, small}},  // extreme steps: one element each
  };
  std::uint64_t seed = 10;
  for (const Case& c : cases) {
    for (DType dtype : kWidths) {
      auto x = test::random_tensor(dtype, dims, seed++);
      std::vector<std::vector<std::int64_t>> visit(dims.size());
      for (std::size_t a = 0; a < dims.size(); ++a) {
        for (std::int64_t i = 0; i < dims[a]; ++i) visit[a].push_back(i);
      }
      for (std::size_t i = 0; i < c.axes.size(); ++i) {
        std::int64_t a = c.axes[i] < 0 ? c.axes[i] + 3 : c.axes[i];
        visit[static_cast<std::size_t>(a)] = slice_indices(dims[static_cast<std::size_t>(a)], c.starts[i], c.ends[i], c.steps[i]);
      }
      std::vector<std::int64_t> out_dims;
      for (const auto& v : visit) out_dims.push_back(static_cast<std::int64_t>(v.size()));
      Tensor want = reference_gather(*x, dtype, out_dims, [&](const std::vector<std::int64_t>& o) {
        std::vector<std::int64_t> in(o.size());
        for (std::size_t a = 0; a < o.size(); ++a) in[a] = visit[a][static_cast<std::size_t>(o[a])];
        return std::optional(in);
      });
      SCOPED_TRACE(fmt::format("starts [{}] ends [{}] axes [{}] steps [{}] {}", fmt::join(c.starts, ","),
                               fmt::join(c.ends, ","), fmt::join(c.axes, ","), fmt::join(c.steps, ","), dtype_name(dtype)));
      std::vector<std::shared_ptr<Tensor>> in = {x, ints(c.starts), ints(c.ends), ints(c.axes), ints(c.steps)};
      test::expect_same(*eval("Slice", in)[0], want);
      // The same through a graph whose parameters are inputs and whose output shape is
      // declared, as the ONNX tests write it.
      auto ran = test::run_graph("Slice", in, {}, {ir::TensorType::of(dtype, Shape(out_dims))});
      test::expect_same(ran[0], want);
    }
  }
}

TEST(ShapeOps, SliceWithRunTimeParametersThatMissTheDeclaredShapeWritesZeros) {
  auto x = test::floats({4}, {1, 2, 3, 4});
  auto ran = test::run_graph("Slice", {x, ints({0}), ints({3})}, {},
                             {ir::TensorType::of(DType::float32, Shape{2})});  // 3 elements, not 2
  EXPECT_EQ(test::values_of<float>(ran[0]), (std::vector<float>{0, 0}));
}

TEST(ShapeOps, SliceRejectsAZeroStepAtBind) {
  auto x = test::floats({4}, {1, 2, 3, 4});
  EXPECT_THROW(eval("Slice", {x, ints({0}), ints({3}), ints({0}), ints({0})}), Error);
}

// ---- Gather, GatherElements ----

TEST(ShapeOps, GatherMatchesReferenceOnEveryAxis) {
  const std::vector<std::int64_t> dims = {4, 3, 5};
  for (std::int64_t axis = -3; axis < 3; ++axis) {
    auto ax = static_cast<std::size_t>(axis < 0 ? axis + 3 : axis);
    std::int64_t n = dims[ax];
    std::vector<std::int64_t> idx = {n - 1, 0, -1, -n, 1, n - 2};
    for (DType dtype : kWidths) {
      auto x = test::random_tensor(dtype, dims, 100 + static_cast<std::uint64_t>(axis));
      auto indices = test::tensor<std::int64_t>(DType::int64, {2, 3}, idx);
      auto got = eval("Gather", {x, indices}, {{"axis", ir::Attribute::of_int(axis)}});
      std::vector<std::int64_t> out_dims(dims.begin(), dims.begin() + static_cast<std::ptrdiff_t>(ax));
      out_dims.insert(out_dims.end(), {2, 3});
      out_dims.insert(out_dims.end(), dims.begin() + static_cast<std::ptrdiff_t>(ax) + 1, dims.end());
      Tensor want = reference_gather(*x, dtype, out_dims, [&](const std::vector<std::int64_t>& o) {
        std::vector<std::int64_t> in(o.begin(), o.begin() + static_cast<std::ptrdiff_t>(ax));
        std::int64_t k = idx[static_cast<std::size_t>(o[ax] * 3 + o[ax + 1])];
        in.push_back(k < 0 ? k + n : k);
        in.insert(in.end(), o.begin() + static_cast<std::ptrdiff_t>(ax) + 2, o.end());
        return std::optional(in);
      });
      SCOPED_TRACE(fmt::format("axis {} {}", axis, dtype_name(dtype)));
      test::expect_same(*got[0], want);
    }
  }
}

TEST(ShapeOps, GatherRefusesIndicesOutOfRangeAtBindAndAtRunTime) {
  auto x = test::floats({3, 2}, {1, 2, 3, 4, 5, 6});
  EXPECT_THROW(eval("Gather", {x, ints({0, 3})}), Error);
  EXPECT_THROW(eval("Gather", {x, ints({-4})}), Error);
  auto idx = test::tensor<std::int32_t>(DType::int32, {3}, {2, 0, -3});
  auto ran = test::run_graph("Gather", {x, idx}, {}, {ir::TensorType::of(DType::float32, Shape{3, 2})});
  EXPECT_EQ(test::values_of<float>(ran[0]), (std::vector<float>{5, 6, 1, 2, 1, 2}));
  // At run time (indices as a graph input): an error naming the index, never a read out
  // of bounds or a silent zero (a token id past the vocabulary, say).
  auto bad = test::tensor<std::int32_t>(DType::int32, {3}, {2, 7, -3});
  try {
    test::run_graph("Gather", {x, bad}, {}, {ir::TensorType::of(DType::float32, Shape{3, 2})});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("index 7"), std::string::npos) << e.what();
  }
}

TEST(ShapeOps, GatherElementsMatchesReference) {
  const std::vector<std::int64_t> dims = {3, 4, 5};
  for (std::int64_t axis = 0; axis < 3; ++axis) {
    std::vector<std::int64_t> idx_dims = {2, 3, 4};
    idx_dims[static_cast<std::size_t>(axis)] = 6;  // may exceed the data along the axis
    std::int64_t n = dims[static_cast<std::size_t>(axis)];
    Random rng(7);
    std::vector<std::int64_t> idx(static_cast<std::size_t>(idx_dims[0] * idx_dims[1] * idx_dims[2]));
    for (auto& v : idx) v = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(2 * n))) - n;
    for (DType dtype : kWidths) {
      auto x = test::random_tensor(dtype, dims, 200 + static_cast<std::uint64_t>(axis));
      auto indices = test::tensor<std::int64_t>(DType::int64, idx_dims, idx);
      auto got = eval("GatherElements", {x, indices}, {{"axis", ir::Attribute::of_int(axis)}});
      Tensor want = reference_gather(*x, dtype, idx_dims, [&](const std::vector<std::int64_t>& o) {
        std::vector<std::int64_t> in = o;
        std::int64_t k = idx[ravel(o, idx_dims)];
        in[static_cast<std::size_t>(axis)] = k < 0 ? k + n : k;
        return std::optional(in);
      });
      SCOPED_TRACE(fmt::format("axis {} {}", axis, dtype_name(dtype)));
      test::expect_same(*got[0], want);
    }
  }
}

// ---- Concat, Split ----

TEST(ShapeOps, ConcatThenSplitGivesThePartsBack) {
  for (DType dtype : kWidths) {
    auto a = test::random_tensor(dtype, {2, 1, 3}, 1);
    auto b = test::random_tensor(dtype, {2, 4, 3}, 2);
    auto c = test::random_tensor(dtype, {2, 0, 3}, 3);
    auto d = test::random_tensor(dtype, {2, 2, 3}, 4);
    auto cat = eval("Concat", {a, b, c, d}, {{"axis", ir::Attribute::of_int(-2)}});
    ASSERT_EQ(cat[0]->shape().str(), "[2, 7, 3]");
    auto joined = std::make_shared<Tensor>(dtype, cat[0]->shape());
    std::memcpy(joined->raw(), cat[0]->raw(), joined->bytes());
    auto parts = eval("Split", {joined, ints({1, 4, 0, 2})}, {{"axis", ir::Attribute::of_int(1)}}, 4);
    test::expect_same(*parts[0], *a);
    test::expect_same(*parts[1], *b);
    test::expect_same(*parts[2], *c);
    test::expect_same(*parts[3], *d);
  }
}

TEST(ShapeOps, SplitIntoUnevenPartsGivesTheLastOneLess) {
  auto x = test::floats({7}, {0, 1, 2, 3, 4, 5, 6});
  auto parts = eval("Split", {x}, {{"num_outputs", ir::Attribute::of_int(3)}}, 3);
  EXPECT_EQ(test::values_of<float>(*parts[0]), (std::vector<float>{0, 1, 2}));
  EXPECT_EQ(test::values_of<float>(*parts[1]), (std::vector<float>{3, 4, 5}));
  EXPECT_EQ(test::values_of<float>(*parts[2]), (std::vector<float>{6}));
}

// ---- Expand, Tile ----

TEST(ShapeOps, ExpandAndTileMatchReference) {
  for (DType dtype : kWidths) {
    auto x = test::random_tensor(dtype, {3, 1, 2}, 5);
    auto ex = eval("Expand", {x, ints({2, 1, 4, 1})});
    Tensor want = reference_gather(*x, dtype, {2, 3, 4, 2}, [](const std::vector<std::int64_t>& o) {
      return std::optional(std::vector<std::int64_t>{o[1], 0, o[3]});
    });
    test::expect_same(*ex[0], want);
    auto tiled = eval("Tile", {x, ints({2, 3, 2})});
    Tensor want_tiled = reference_gather(*x, dtype, {6, 3, 4}, [](const std::vector<std::int64_t>& o) {
      return std::optional(std::vector<std::int64_t>{o[0] % 3, 0, o[2] % 2});
    });
    test::expect_same(*tiled[0], want_tiled);
  }
}

// ---- Pad ----

TEST(ShapeOps, PadModesMatchNumpy) {
  auto x = test::tensor<std::int32_t>(DType::int32, {2, 3}, {1, 2, 3, 4, 5, 6});
  auto pads = ints({1, 4, 2, 3});
  auto run = [&](const char* mode) {
    return test::values_of<std::int32_t>(*eval("Pad", {x, pads}, {{"mode", ir::Attribute::of_string(mode)}})[0]);
  };
  // numpy.pad(x, ((1, 2), (4, 3)), mode=...)
  EXPECT_EQ(run("reflect"), (std::vector<std::int32_t>{4, 5, 6, 5, 4, 5, 6, 5, 4, 5, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2,
                                                      4, 5, 6, 5, 4, 5, 6, 5, 4, 5, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2,
                                                      4, 5, 6, 5, 4, 5, 6, 5, 4, 5}));
  EXPECT_EQ(run("edge"), (std::vector<std::int32_t>{1, 1, 1, 1, 1, 2, 3, 3, 3, 3, 1, 1, 1, 1, 1, 2, 3, 3, 3, 3,
                                                   4, 4, 4, 4, 4, 5, 6, 6, 6, 6, 4, 4, 4, 4, 4, 5, 6, 6, 6, 6,
                                                   4, 4, 4, 4, 4, 5, 6, 6, 6, 6}));
  EXPECT_EQ(run("wrap"), (std::vector<std::int32_t>{6, 4, 5, 6, 4, 5, 6, 4, 5, 6, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3,
                                                   6, 4, 5, 6, 4, 5, 6, 4, 5, 6, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3,
                                                   6, 4, 5, 6, 4, 5, 6, 4, 5, 6}));
  auto value = test::tensor<std::int32_t>(DType::int32, {}, {9});
  auto constant = test::values_of<std::int32_t>(*eval("Pad", {x, ints({0, 1, 1, -1}), value})[0]);
  EXPECT_EQ(constant, (std::vector<std::int32_t>{9, 1, 2, 9, 4, 5, 9, 9, 9}));  // negative pad crops
}

TEST(ShapeOps, PadWithAxesAndRunTimePads) {
  auto x = test::floats({2, 2}, {1, 2, 3, 4});
  auto y = eval("Pad", {x, ints({1, 0}), nullptr, ints({-1})}, {{"mode", ir::Attribute::of_string("edge")}});
  EXPECT_EQ(test::values_of<float>(*y[0]), (std::vector<float>{1, 1, 2, 3, 3, 4}));
  auto value = test::floats({}, {7});
  auto ran = test::run_graph("Pad", {x, ints({0, 1, 0, 0}), value}, {},
                             {ir::TensorType::of(DType::float32, Shape{2, 3})});
  EXPECT_EQ(test::values_of<float>(ran[0]), (std::vector<float>{7, 1, 2, 7, 3, 4}));
}

// ---- the rest ----

TEST(ShapeOps, ShapeSizeConstantOfShapeRange) {
  auto x = test::floats({2, 3, 4}, std::vector<float>(24));
  EXPECT_EQ(test::values_of<std::int64_t>(*eval("Shape", {x})[0]), (std::vector<std::int64_t>{2, 3, 4}));
  EXPECT_EQ(test::values_of<std::int64_t>(*eval("Shape", {x}, {{"start", ir::Attribute::of_int(-2)}})[0]),
            (std::vector<std::int64_t>{3, 4}));
  EXPECT_EQ(test::values_of<std::int64_t>(*eval("Size", {x})[0]), (std::vector<std::int64_t>{24}));
  auto seven = test::tensor<std::int32_t>(DType::int32, {1}, {7});
  auto filled = eval("ConstantOfShape", {ints({2, 2})}, {{"value", ir::Attribute::of_tensor(seven)}});
  EXPECT_EQ(test::values_of<std::int32_t>(*filled[0]), (std::vector<std::int32_t>{7, 7, 7, 7}));
  auto r = eval("Range", {test::floats({}, {1}), test::floats({}, {-1}), test::floats({}, {-0.5f})});
  EXPECT_EQ(test::values_of<float>(*r[0]), (std::vector<float>{1, 0.5f, 0, -0.5f}));
  auto ri = eval("Range", {ints({3}), ints({12}), ints({4})});
  EXPECT_EQ(test::values_of<std::int64_t>(*ri[0]), (std::vector<std::int64_t>{3, 7, 11}));
}

TEST(ShapeOps, ReshapeFamilyKeepsTheBytes) {
  auto x = test::random_tensor(DType::float16, {2, 1, 6}, 9);
  auto check = [&](const std::vector<std::shared_ptr<const Tensor>>& y, const char* shape) {
    EXPECT_EQ(y[0]->shape().str(), shape);
    ASSERT_EQ(y[0]->bytes(), x->bytes());
    EXPECT_EQ(std::memcmp(y[0]->raw(), x->raw(), x->bytes()), 0);
  };
  check(eval("Reshape", {x, ints({0, -1, 3})}), "[2, 2, 3]");
  check(eval("Flatten", {x}, {{"axis", ir::Attribute::of_int(2)}}), "[2, 6]");
  check(eval("Squeeze", {x, ints({1})}), "[2, 6]");
  check(eval("Unsqueeze", {x, ints({0, -1})}), "[1, 2, 1, 6, 1]");
}

}  // namespace
}  // namespace lowp
