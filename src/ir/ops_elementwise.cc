// ir/ops_elementwise.cc: schemas of element-wise ops (unary, broadcasting binary and
// variadic, comparisons, Where, Cast, Clip).
#include <array>

#include "ir/schema.h"

namespace lowp::ir {
namespace {

void infer_unary(InferContext& ctx) {
  ctx.set_output(0, ctx.input(0));
}

// Dropout: output 0 is the input; output 1 (mask) is bool of the same shape.
void infer_dropout(InferContext& ctx) {
  ctx.set_output(0, ctx.input(0));
  TensorType mask = ctx.input(0);
  mask.dtype = DType::boolean;
  ctx.set_output(1, mask);
}

TensorType broadcast_inputs(InferContext& ctx, std::optional<DType> dtype) {
  std::vector<std::vector<Dim>> all;
  for (std::size_t i = 0; i < ctx.input_count(); ++i) {
    const TensorType& t = ctx.input(i);
    if (!t.dims) return TensorType{dtype, std::nullopt};
    all.push_back(*t.dims);
  }
  return TensorType{dtype, broadcast_dims(ctx, all)};
}

void check_same_dtypes(InferContext& ctx, std::size_t first, std::size_t last) {
  DType d = ctx.input_dtype(first);
  for (std::size_t i = first + 1; i < last && i < ctx.input_count(); ++i) {
    if (ctx.input_dtype(i) != d) {
      ctx.fail("inputs 0 and {} have different element types ({} and {})", i, dtype_name(d),
               dtype_name(ctx.input_dtype(i)));
    }
  }
}

void infer_binary(InferContext& ctx) {
  check_same_dtypes(ctx, 0, ctx.input_count());
  ctx.set_output(0, broadcast_inputs(ctx, ctx.input_dtype(0)));
}

// Pow and PRelu-like ops whose second input may have another type.
void infer_binary_first_type(InferContext& ctx) {
  ctx.set_output(0, broadcast_inputs(ctx, ctx.input_dtype(0)));
}

void infer_compare(InferContext& ctx) {
  check_same_dtypes(ctx, 0, ctx.input_count());
  ctx.set_output(0, broadcast_inputs(ctx, DType::boolean));
}

void infer_to_bool(InferContext& ctx) {
  TensorType t = ctx.input(0);
  t.dtype = DType::boolean;
  ctx.set_output(0, t);
}

void infer_where(InferContext& ctx) {
  ctx.check(ctx.input_dtype(0) == DType::boolean, "condition (input 0) must be bool");
  check_same_dtypes(ctx, 1, 3);
  ctx.set_output(0, broadcast_inputs(ctx, ctx.input_dtype(1)));
}

void infer_cast(InferContext& ctx) {
  std::int64_t to = ctx.node().attr_int("to", -1);
  std::optional<DType> d = dtype_from_onnx(static_cast<int>(to));
  if (!d) ctx.fail("attribute 'to' = {} is not a type lowp supports", to);
  TensorType t = ctx.input(0);
  t.dtype = *d;
  ctx.set_output(0, t);
}

void infer_cast_like(InferContext& ctx) {
  TensorType t = ctx.input(0);
  t.dtype = ctx.input_dtype(1);
  ctx.set_output(0, t);
}

void infer_clip(InferContext& ctx) {
  for (std::size_t i = 1; i < 3; ++i) {
    if (!ctx.has_input(i)) continue;
    ctx.check(ctx.input_dtype(i) == ctx.input_dtype(0), "min and max must have the input's type");
    const TensorType& t = ctx.input(i);
    if (t.dims && !t.dims->empty()) ctx.fail("min and max must be scalars");
  }
  ctx.set_output(0, ctx.input(0));
}

constexpr int kMany = 1 << 20;

constexpr std::array kSchemas = {
    // Unary, same type and shape.
    OpSchema{"", "Abs", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Neg", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Sign", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Floor", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Ceil", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Round", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Reciprocal", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Sqrt", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Exp", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Log", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Erf", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Tanh", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Sin", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Cos", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Sigmoid", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "HardSigmoid", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "HardSwish", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Relu", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "LeakyRelu", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Elu", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Selu", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Celu", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "ThresholdedRelu", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Softplus", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Softsign", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Gelu", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Mish", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Identity", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "Dropout", 1, 3, 1, 2, infer_dropout},
    OpSchema{"", "Not", 1, 1, 1, 1, infer_unary},
    OpSchema{"", "IsNaN", 1, 1, 1, 1, infer_to_bool},
    OpSchema{"", "IsInf", 1, 1, 1, 1, infer_to_bool},
    // Broadcasting binary and variadic.
    OpSchema{"", "Add", 2, 2, 1, 1, infer_binary},
    OpSchema{"", "Sub", 2, 2, 1, 1, infer_binary},
    OpSchema{"", "Mul", 2, 2, 1, 1, infer_binary},
    OpSchema{"", "Div", 2, 2, 1, 1, infer_binary},
    OpSchema{"", "Mod", 2, 2, 1, 1, infer_binary},
    OpSchema{"", "Pow", 2, 2, 1, 1, infer_binary_first_type},
    OpSchema{"", "PRelu", 2, 2, 1, 1, infer_binary},
    OpSchema{"", "Max", 1, kMany, 1, 1, infer_binary},
    OpSchema{"", "Min", 1, kMany, 1, 1, infer_binary},
    OpSchema{"", "Sum", 1, kMany, 1, 1, infer_binary},
    OpSchema{"", "Mean", 1, kMany, 1, 1, infer_binary},
    OpSchema{"", "And", 2, 2, 1, 1, infer_binary},
    OpSchema{"", "Or", 2, 2, 1, 1, infer_binary},
    OpSchema{"", "Xor", 2, 2, 1, 1, infer_binary},
    OpSchema{"", "Equal", 2, 2, 1, 1, infer_compare},
    OpSchema{"", "Less", 2, 2, 1, 1, infer_compare},
    OpSchema{"", "LessOrEqual", 2, 2, 1, 1, infer_compare},
    OpSchema{"", "Greater", 2, 2, 1, 1, infer_compare},
    OpSchema{"", "GreaterOrEqual", 2, 2, 1, 1, infer_compare},
    OpSchema{"", "Where", 3, 3, 1, 1, infer_where},
    OpSchema{"", "Cast", 1, 1, 1, 1, infer_cast},
    OpSchema{"", "CastLike", 2, 2, 1, 1, infer_cast_like},
    OpSchema{"", "Clip", 1, 3, 1, 1, infer_clip},
};

}  // namespace

std::span<const OpSchema> elementwise_schemas() {
  return kSchemas;
}

}  // namespace lowp::ir
