// ir/ops_quant.cc: schemas of the quantization ops (QuantizeLinear, DequantizeLinear,
// DynamicQuantizeLinear, QLinearMatMul, QLinearConv), com.microsoft MatMulNBits, and lowp's
// lowered forms (lowp::QGemm, lowp::DynamicQGemm).
#include <array>

#include "ir/ops_nn.h"
#include "ir/schema.h"

namespace lowp::ir {
namespace {

void infer_quantize(InferContext& ctx) {
  DType out = DType::uint8;
  if (ctx.has_input(2)) out = ctx.input_dtype(2);
  if (ctx.node().has_attribute("output_dtype") && ctx.node().attr_int("output_dtype", 0) != 0) {
    auto d = dtype_from_onnx(static_cast<int>(ctx.node().attr_int("output_dtype", 0)));
    if (!d) ctx.fail("output_dtype is not a supported type");
    out = *d;
  }
  TensorType t = ctx.input(0);
  t.dtype = out;
  ctx.set_output(0, t);
}

void infer_dequantize(InferContext& ctx) {
  TensorType t = ctx.input(0);
  t.dtype = ctx.input_dtype(1);
  ctx.set_output(0, t);
}

void infer_dynamic_quantize(InferContext& ctx) {
  TensorType t = ctx.input(0);
  t.dtype = DType::uint8;
  ctx.set_output(0, t);
  ctx.set_output(1, TensorType{DType::float32, std::vector<Dim>{}});
  ctx.set_output(2, TensorType{DType::uint8, std::vector<Dim>{}});
}

// MatMulNBits (com.microsoft): A [..., K] float times packed B [N, blocks, blob]; attributes
// K, N, bits, block_size. Output [..., N].
void infer_matmul_nbits(InferContext& ctx) {
  const TensorType& a = ctx.input(0);
  std::int64_t n = ctx.node().attr_int("N", -1);
  if (n < 1) ctx.fail("attribute N must be >= 1");
  if (!a.dims) return ctx.set_output(0, TensorType{a.dtype, std::nullopt});
  std::vector<Dim> out = *a.dims;
  if (out.empty()) ctx.fail("A must have rank >= 1");
  out.back() = Dim::known(n);
  ctx.set_output(0, TensorType{a.dtype, out});
}

// lowp::QGemm (passes/lower_qdq.cc): X [..., K] (u8/s8), x_scale, x_zero_point, W [K, N]
// ([N, K] with transB), w_scales [N], optional B (int32), optional y_scale, y_zero_point.
// Output [..., N]: fp32 without y_scale, else the type of y_zero_point.
void infer_lowp_qgemm(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  const TensorType& w = ctx.input(3);
  DType out = ctx.has_input(7) ? ctx.input_dtype(7) : DType::float32;
  if (!x.dims || !w.dims) return ctx.set_output(0, TensorType{out, std::nullopt});
  if (w.rank() != 2) ctx.fail("W must be 2-D");
  if (x.rank() < 1) ctx.fail("X must have rank >= 1");
  bool trans_b = ctx.node().attr_int("transB", 0) != 0;
  std::vector<Dim> dims = *x.dims;
  dims.back() = (*w.dims)[trans_b ? 0 : 1];
  ctx.set_output(0, TensorType{out, dims});
}

// lowp::DynamicQGemm (passes/lower_dynamic_quant.cc): X [..., K] float32, W int8 [K, N],
// w_scales [N], optional bias [N]. Output float32 [..., N].
void infer_lowp_dynamic_qgemm(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  const TensorType& w = ctx.input(1);
  if (!x.dims || !w.dims) return ctx.set_output(0, TensorType{DType::float32, std::nullopt});
  if (w.rank() != 2) ctx.fail("W must be 2-D");
  if (x.rank() < 1) ctx.fail("X must have rank >= 1");
  std::vector<Dim> dims = *x.dims;
  dims.back() = (*w.dims)[1];
  ctx.set_output(0, TensorType{DType::float32, dims});
}

constexpr std::array kSchemas = {
    OpSchema{"", "QuantizeLinear", 2, 3, 1, 1, infer_quantize},
    OpSchema{"", "DequantizeLinear", 2, 3, 1, 1, infer_dequantize},
    OpSchema{"", "DynamicQuantizeLinear", 1, 1, 3, 3, infer_dynamic_quantize},
    OpSchema{"", "QLinearMatMul", 8, 8, 1, 1, infer_qlinear_matmul},
    OpSchema{"", "QLinearConv", 8, 9, 1, 1, infer_qlinear_conv},
    OpSchema{"com.microsoft", "MatMulNBits", 3, 6, 1, 1, infer_matmul_nbits},
    OpSchema{"lowp", "QGemm", 6, 8, 1, 1, infer_lowp_qgemm},
    OpSchema{"lowp", "DynamicQGemm", 3, 4, 1, 1, infer_lowp_dynamic_qgemm},
};

}  // namespace

std::span<const OpSchema> quant_schemas() {
  return kSchemas;
}

}  // namespace lowp::ir
