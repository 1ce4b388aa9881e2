// ir/ops_reduce.cc: schemas of reductions (ReduceMean and family, axes as an input as in
// opset 18) and ArgMax / ArgMin.
#include <array>

#include "ir/schema.h"

namespace lowp::ir {
namespace {

void infer_reduce(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  bool keep = ctx.node().attr_int("keepdims", 1) != 0;
  if (!x.dims) return ctx.set_output(0, TensorType{x.dtype, std::nullopt});
  std::size_t rank = x.rank();
  std::vector<bool> reduce(rank, false);
  bool have_axes = ctx.has_input(1);
  if (have_axes) {
    auto axes = ctx.constant_ints(1);
    if (!axes) {
      return ctx.set_output(0, TensorType{x.dtype, keep ? std::optional(std::vector<Dim>(rank)) : std::nullopt});
    }
    if (axes->empty()) {
      have_axes = false;
    } else {
      for (std::int64_t a : *axes) reduce[static_cast<std::size_t>(ctx.axis(a, rank))] = true;
    }
  }
  if (!have_axes) {
    if (ctx.node().attr_int("noop_with_empty_axes", 0) != 0) return ctx.set_output(0, x);
    reduce.assign(rank, true);
  }
  std::vector<Dim> out;
  for (std::size_t i = 0; i < rank; ++i) {
    if (!reduce[i]) {
      out.push_back((*x.dims)[i]);
    } else if (keep) {
      out.push_back(Dim::known(1));
    }
  }
  ctx.set_output(0, TensorType{x.dtype, out});
}

void infer_arg(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!x.dims) return ctx.set_output(0, TensorType{DType::int64, std::nullopt});
  auto axis = static_cast<std::size_t>(ctx.axis(ctx.node().attr_int("axis", 0), x.rank()));
  std::vector<Dim> out = *x.dims;
  if (ctx.node().attr_int("keepdims", 1) != 0) {
    out[axis] = Dim::known(1);
  } else {
    out.erase(out.begin() + static_cast<std::ptrdiff_t>(axis));
  }
  ctx.set_output(0, TensorType{DType::int64, out});
}

constexpr std::array kSchemas = {
    OpSchema{"", "ReduceMean", 1, 2, 1, 1, infer_reduce},
    OpSchema{"", "ReduceSum", 1, 2, 1, 1, infer_reduce},
    OpSchema{"", "ReduceMax", 1, 2, 1, 1, infer_reduce},
    OpSchema{"", "ReduceMin", 1, 2, 1, 1, infer_reduce},
    OpSchema{"", "ReduceProd", 1, 2, 1, 1, infer_reduce},
    OpSchema{"", "ReduceL1", 1, 2, 1, 1, infer_reduce},
    OpSchema{"", "ReduceL2", 1, 2, 1, 1, infer_reduce},
    OpSchema{"", "ReduceSumSquare", 1, 2, 1, 1, infer_reduce},
    OpSchema{"", "ReduceLogSum", 1, 2, 1, 1, infer_reduce},
    OpSchema{"", "ReduceLogSumExp", 1, 2, 1, 1, infer_reduce},
    OpSchema{"", "ArgMax", 1, 1, 1, 1, infer_arg},
    OpSchema{"", "ArgMin", 1, 1, 1, 1, infer_arg},
};

}  // namespace

std::span<const OpSchema> reduce_schemas() {
  return kSchemas;
}

}  // namespace lowp::ir
