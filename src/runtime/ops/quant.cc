// runtime/ops/quant.cc: the quantization ops. ONNX QuantizeLinear, DequantizeLinear and
// DynamicQuantizeLinear (opset 21: per tensor, per axis, blocked; integer and float8
// types), MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv, and com.microsoft
// MatMulNBits (ONNX Runtime's block-quantized weights).
//
// Numerics, one rule each:
// - Quantization is quantize_value (kernels/quantize/quantize.h): true division, round half
//   to even, saturate, NaN -> the zero point. A scale read at run time that makes x / scale
//   NaN (0 / 0, inf / inf) gives the zero point too, so no input reaches an undefined
//   float -> int conversion. float8 outputs convert x / scale as Cast does (NaN stays NaN,
//   `saturate` clamps to the largest finite value).
// - Integer products (MatMulInteger, ConvInteger, and the accumulators of the QLinear ops)
//   are the exact sums of (a - a_zero_point) * (b - b_zero_point), kept modulo 2^32 like
//   ONNX's int32 output.
// - QLinear requantization is the int8 GEMM's epilogue (kernels/qgemm/qgemm.h): the
//   multiplier m = float(double(a_scale) * b_scale / y_scale) (one rounding), then
//   v = float(acc) * m, clamped to the output range less the zero point, rounded half to
//   even, plus the zero point. The reference loops below and the kernel paths compute
//   exactly this, so which one runs never changes a bit.
//
// Reference loops run every case; kernels take the cases they fit, checked at bind time:
// MatMulInteger and QLinearMatMul with a constant 2-D B run the int8 GEMM (B - b_zero_point
// packed once as s8); QLinearConv and ConvInteger with constant 2-D weights run the NHWC
// int8 convolution between two transposes; MatMulNBits runs the int4 GEMM (symmetric
// weights), the int4 x int8 kernel (accuracy_level 4, as ONNX Runtime), or an fp32 GEMM on
// the dequantized weights. An int32 result goes through a kernel's fp32 epilogue only when
// it is provably below 2^24 in magnitude (then exact in fp32), else the reference runs.
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "base/float_types.h"
#include "ir/ops_nn.h"
#include "kernels/conv/conv2d.h"
#include "kernels/gemm/gemm.h"
#include "kernels/q4dot/q4dot.h"
#include "kernels/qgemm/qgemm.h"
#include "kernels/quantize/quantize.h"
#include "runtime/op.h"
#include "runtime/ops/op_util.h"

namespace lowp::runtime {
namespace {

// ---- element types ----

template <class T>
inline constexpr bool is_float8_v =
    std::is_same_v<T, float8e4m3fn> || std::is_same_v<T, float8e5m2>;

// The quantized storage types: u8, s8, u16, s16, float8, and (dequantization only) s32.
template <class Fn>
decltype(auto) dispatch_quantized(DType d, const BindArgs& a, std::string_view what,
                                  bool allow_int32, Fn&& fn) {
  switch (d) {
    case DType::uint8:
      return fn.template operator()<std::uint8_t>();
    case DType::int8:
      return fn.template operator()<std::int8_t>();
    case DType::uint16:
      return fn.template operator()<std::uint16_t>();
    case DType::int16:
      return fn.template operator()<std::int16_t>();
    case DType::float8e4m3fn:
      return fn.template operator()<float8e4m3fn>();
    case DType::float8e5m2:
      return fn.template operator()<float8e5m2>();
    case DType::int32:
      if (allow_int32) return fn.template operator()<std::int32_t>();
      break;
    default:
      break;
  }
  a.fail("{} has type {}; lowp quantizes to uint8, int8, uint16, int16, float8e4m3fn, float8e5m2{}",
         what, dtype_name(d), allow_int32 ? " and dequantizes int32" : "");
}

// The float types of scales and real values: float32, float16, bfloat16.
template <class Fn>
decltype(auto) dispatch_real(DType d, const BindArgs& a, std::string_view what, Fn&& fn) {
  switch (d) {
    case DType::float32:
      return fn.template operator()<float>();
    case DType::float16:
      return fn.template operator()<float16>();
    case DType::bfloat16:
      return fn.template operator()<bfloat16>();
    default:
      a.fail("{} has type {}; it must be float32, float16 or bfloat16", what, dtype_name(d));
  }
}

// u8 or s8: the operands of the integer matrix products.
template <class Fn>
decltype(auto) dispatch_8bit(DType d, const BindArgs& a, std::string_view what, Fn&& fn) {
  if (d == DType::uint8) return fn.template operator()<std::uint8_t>();
  if (d == DType::int8) return fn.template operator()<std::int8_t>();
  a.fail("{} has type {}; it must be uint8 or int8", what, dtype_name(d));
}

template <class Q>
Q quantize_one(float x, float scale, Q zero_point, bool saturate) {
  if constexpr (is_float8_v<Q>) {
    float v = x / scale;
    float z = zero_point.to_float();
    if (z != 0.0f) v += z;  // not +0: -0 / scale stays -0
    return Q::from_float(v, saturate);
  } else {
    auto z = static_cast<std::int32_t>(zero_point);
    if (std::isnan(x / scale)) return static_cast<Q>(z);
    return static_cast<Q>(
        quantize_value(x, scale, z, std::numeric_limits<Q>::min(), std::numeric_limits<Q>::max()));
  }
}

template <class Q>
float dequantize_one(Q q, Q zero_point, float scale) {
  if constexpr (is_float8_v<Q>) {
    return (q.to_float() - zero_point.to_float()) * scale;
  } else {
    return static_cast<float>(static_cast<std::int64_t>(q) -
                              static_cast<std::int64_t>(zero_point)) *
           scale;
  }
}

// The int8 GEMM epilogue's multiplier and rounding (qgemm.h), for any 8-bit output type.
float requant_multiplier(float in_scale, float weight_scale, float out_scale) {
  return static_cast<float>(static_cast<double>(in_scale) * weight_scale / out_scale);
}
template <class Q>
Q requantize(float v, std::int32_t zero_point) {
  constexpr float qmin = std::numeric_limits<Q>::min(), qmax = std::numeric_limits<Q>::max();
  if (std::isnan(v)) v = 0.0f;
  v = std::min(std::max(v, qmin - static_cast<float>(zero_point)),
               qmax - static_cast<float>(zero_point));
  return static_cast<Q>(static_cast<std::int32_t>(std::nearbyint(v)) + zero_point);
}

bool usable_scale(float s) {
  return std::isfinite(s) && s > 0.0f;
}

std::size_t normalize_axis(const BindArgs& a, std::int64_t axis, std::size_t rank) {
  auto r = static_cast<std::int64_t>(rank);
  if (axis < -r || axis >= r) a.fail("axis {} is outside [-{}, {}) for rank {}", axis, r, r, rank);
  return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

// Float scalars or small vectors of a constant input, as float.
std::vector<float> real_values(const Tensor& t) {
  std::vector<float> out(t.elements());
  switch (t.dtype()) {
    case DType::float32:
      std::copy(t.values<float>().begin(), t.values<float>().end(), out.begin());
      break;
    case DType::float16:
      for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = float16::from_bits(t.values<std::uint16_t>()[i]).to_float();
      break;
    case DType::bfloat16:
      for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = bfloat16::from_bits(t.values<std::uint16_t>()[i]).to_float();
      break;
    default:
      fail("internal: real_values of {}", dtype_name(t.dtype()));
  }
  return out;
}

// Integer values of a constant u8 / s8 / s32 input.
std::vector<std::int32_t> int_values(const Tensor& t) {
  std::vector<std::int32_t> out(t.elements());
  for (std::size_t i = 0; i < out.size(); ++i) {
    switch (t.dtype()) {
      case DType::uint8:
        out[i] = t.values<std::uint8_t>()[i];
        break;
      case DType::int8:
        out[i] = t.values<std::int8_t>()[i];
        break;
      case DType::int32:
        out[i] = t.values<std::int32_t>()[i];
        break;
      default:
        fail("internal: int_values of {}", dtype_name(t.dtype()));
    }
  }
  return out;
}

// ---- where the scale and zero point of each element are ----

// x viewed as [outer][dim][inner] around the quantization axis; element (o, d, i) uses
// parameter index(o, d, i).
struct ParamLayout {
  enum class Kind { tensor, axis, block };
  Kind kind = Kind::tensor;
  std::size_t outer = 1, dim = 1, inner = 1;
  std::size_t block = 0, blocks = 0;

  std::size_t index(std::size_t o, std::size_t d, std::size_t i) const {
    switch (kind) {
      case Kind::tensor:
        return 0;
      case Kind::axis:
        return d;
      case Kind::block:
        return (o * blocks + d / block) * inner + i;
    }
    return 0;
  }
};

// From the scale's shape (input `scale`, zero point input `zp` of the same shape), `axis`
// and `block_size`, as ONNX opset 21 defines them.
ParamLayout param_layout(const BindArgs& a, const Shape& x, std::size_t scale, std::size_t zp) {
  const Shape& s = a.in(scale).shape;
  if (a.has(zp) && !(a.in(zp).shape == s)) {
    a.fail("zero point of shape {} differs from the scale's shape {}", a.in(zp).shape.str(),
           s.str());
  }
  std::int64_t block = a.node.attr_int("block_size", 0);
  if (block < 0) a.fail("block_size {} is negative", block);
  ParamLayout p;
  if (block == 0 && s.rank() <= 1 && s.elements() == 1) {
    p.inner = x.elements();
    return p;
  }
  if (x.rank() == 0) a.fail("a scalar input takes a scalar scale, not shape {}", s.str());
  std::size_t axis = normalize_axis(a, a.node.attr_int("axis", 1), x.rank());
  for (std::size_t i = 0; i < axis; ++i) p.outer *= static_cast<std::size_t>(x[i]);
  p.dim = static_cast<std::size_t>(x[axis]);
  for (std::size_t i = axis + 1; i < x.rank(); ++i) p.inner *= static_cast<std::size_t>(x[i]);
  if (block == 0) {
    if (s.rank() != 1 || static_cast<std::size_t>(s[0]) != p.dim) {
      a.fail("scale of shape {} is neither one value nor 1-D of size {} (axis {} of {})", s.str(),
             p.dim, axis, x.str());
    }
    p.kind = ParamLayout::Kind::axis;
    return p;
  }
  p.kind = ParamLayout::Kind::block;
  p.block = static_cast<std::size_t>(block);
  p.blocks = (p.dim + p.block - 1) / p.block;
  bool fits = s.rank() == x.rank();
  for (std::size_t i = 0; fits && i < x.rank(); ++i) {
    fits = i == axis ? static_cast<std::size_t>(s[i]) == p.blocks : s[i] == x[i];
  }
  if (!fits) {
    a.fail(
        "blocked quantization (block_size {} on axis {}) of {} needs a scale shaped like it with "
        "{} blocks "
        "on the axis, got {}",
        block, axis, x.str(), p.blocks, s.str());
  }
  return p;
}

// ---- QuantizeLinear, DequantizeLinear ----

template <class X, class Q>
std::unique_ptr<BoundOp> quantize_op(ParamLayout p, bool has_zp, bool saturate) {
  return std::make_unique<FunctionOp>("quantize", [p, has_zp, saturate](const RunContext& ctx) {
    const X* x = ctx.in<X>(0);
    const X* scale = ctx.in<X>(1);
    const Q* zp = has_zp ? ctx.in<Q>(2) : nullptr;
    Q* y = ctx.out<Q>(0);
    if constexpr (std::is_same_v<X, float> &&
                  (std::is_same_v<Q, std::uint8_t> || std::is_same_v<Q, std::int8_t>)) {
      // The SIMD kernels give quantize_value's bits; they need a usable scale.
      if (p.kind == ParamLayout::Kind::tensor && usable_scale(scale[0])) {
        std::int32_t z = zp ? zp[0] : 0;
        if constexpr (std::is_same_v<Q, std::uint8_t>) {
          quantize_u8(x, p.inner, scale[0], z, y);
        } else {
          quantize_s8(x, p.inner, scale[0], z, y);
        }
        return;
      }
    }
    std::size_t e = 0;
    for (std::size_t o = 0; o < p.outer; ++o) {
      for (std::size_t d = 0; d < p.dim; ++d) {
        for (std::size_t i = 0; i < p.inner; ++i, ++e) {
          std::size_t k = p.index(o, d, i);
          y[e] =
              quantize_one<Q>(static_cast<float>(load_value(x[e])),
                              static_cast<float>(load_value(scale[k])), zp ? zp[k] : Q{}, saturate);
        }
      }
    }
  });
}

std::unique_ptr<BoundOp> bind_quantize_linear(const BindArgs& a) {
  DType xt = a.in(0).dtype;
  if (a.in(1).dtype != xt)
    a.fail("y_scale is {} but x is {}: they must have the same type", dtype_name(a.in(1).dtype),
           dtype_name(xt));
  DType qt = a.out(0).dtype;
  if (a.has(2) && a.in(2).dtype != qt) {
    a.fail("y_zero_point is {} but output_dtype asks for {}", dtype_name(a.in(2).dtype),
           dtype_name(qt));
  }
  ParamLayout p = param_layout(a, a.in(0).shape, 1, 2);
  bool saturate = a.node.attr_int("saturate", 1) != 0;
  return dispatch_real(xt, a, "x", [&]<class X>() {
    return dispatch_quantized(qt, a, "y", false,
                              [&]<class Q>() { return quantize_op<X, Q>(p, a.has(2), saturate); });
  });
}

template <class Q, class Y>
std::unique_ptr<BoundOp> dequantize_op(ParamLayout p, bool has_zp) {
  return std::make_unique<FunctionOp>("dequantize", [p, has_zp](const RunContext& ctx) {
    const Q* x = ctx.in<Q>(0);
    const Y* scale = ctx.in<Y>(1);
    const Q* zp = has_zp ? ctx.in<Q>(2) : nullptr;
    Y* y = ctx.out<Y>(0);
    if constexpr (std::is_same_v<Q, std::uint8_t> && std::is_same_v<Y, float>) {
      if (p.kind == ParamLayout::Kind::tensor) {
        dequantize_u8(x, p.inner, scale[0], zp ? zp[0] : 0, y);
        return;
      }
    }
    std::size_t e = 0;
    for (std::size_t o = 0; o < p.outer; ++o) {
      for (std::size_t d = 0; d < p.dim; ++d) {
        for (std::size_t i = 0; i < p.inner; ++i, ++e) {
          std::size_t k = p.index(o, d, i);
          y[e] = store_value<Y>(
              dequantize_one<Q>(x[e], zp ? zp[k] : Q{}, static_cast<float>(load_value(scale[k]))));
        }
      }
    }
  });
}

std::unique_ptr<BoundOp> bind_dequantize_linear(const BindArgs& a) {
  DType qt = a.in(0).dtype;
  if (a.has(2) && a.in(2).dtype != qt) {
    a.fail("x_zero_point is {} but x is {}: they must have the same type",
           dtype_name(a.in(2).dtype), dtype_name(qt));
  }
  DType yt = a.in(1).dtype;
  if (a.out(0).dtype != yt)
    a.fail("output type {} differs from x_scale's {}", dtype_name(a.out(0).dtype), dtype_name(yt));
  ParamLayout p = param_layout(a, a.in(0).shape, 1, 2);
  return dispatch_quantized(qt, a, "x", true, [&]<class Q>() {
    return dispatch_real(yt, a, "x_scale",
                         [&]<class Y>() { return dequantize_op<Q, Y>(p, a.has(2)); });
  });
}

// ---- DynamicQuantizeLinear ----

// ONNX's definition: the range [min(x), max(x)] widened to include 0, scale = range / 255,
// zero point = round(saturate(-min / scale)), then y = quantize(x). An empty range (x all
// zero, or no elements) gets scale 1, as ONNX Runtime does, never 0. NaN is left out of the
// range and quantizes to the zero point.
struct DynamicQuantParams {
  float scale = 1.0f;
  std::uint8_t zero_point = 0;
};
// The range: 16 independent lanes in four generic 4-float vectors (GCC's vector extension:
// SSE2 here, NEON on ARM, no ISA-specific code), each `v < lo ? v : lo`, false for NaN, so
// NaN is skipped without a branch. The minimum and maximum of a set do not depend on the
// order they are taken in; signed zeros cannot differ either, since every lane starts at +0
// and a -0 never replaces it. So this equals the plain sequential loop.
DynamicQuantParams dynamic_quant_params(const float* x, std::size_t n) {
  using V4 = float __attribute__((vector_size(16)));
  constexpr std::size_t kLanes = 16;
  V4 lo4[4] = {}, hi4[4] = {};
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (std::size_t l = 0; l < 4; ++l) {
      V4 v;
      std::memcpy(&v, x + i + 4 * l, sizeof v);
      lo4[l] = v < lo4[l] ? v : lo4[l];
      hi4[l] = v > hi4[l] ? v : hi4[l];
    }
  }
  float los[kLanes], his[kLanes];
  std::memcpy(los, lo4, sizeof los);
  std::memcpy(his, hi4, sizeof his);
  for (; i < n; ++i) {
    los[0] = x[i] < los[0] ? x[i] : los[0];
    his[0] = x[i] > his[0] ? x[i] : his[0];
  }
  float lo = 0.0f, hi = 0.0f;
  for (std::size_t l = 0; l < kLanes; ++l) {
    lo = los[l] < lo ? los[l] : lo;
    hi = his[l] > hi ? his[l] : hi;
  }
  DynamicQuantParams p;
  p.scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
  float zp = 0.0f - lo / p.scale;
  if (std::isnan(zp)) zp = 0.0f;  // an infinite range: inf / inf
  p.zero_point = static_cast<std::uint8_t>(std::nearbyint(std::min(std::max(zp, 0.0f), 255.0f)));
  return p;
}

std::unique_ptr<BoundOp> bind_dynamic_quantize_linear(const BindArgs& a) {
  if (a.in(0).dtype != DType::float32)
    a.fail("x must be float32, is {}", dtype_name(a.in(0).dtype));
  std::size_t n = a.in(0).shape.elements();
  return std::make_unique<FunctionOp>("dynamic_quantize", [n](const RunContext& ctx) {
    const float* x = ctx.in<float>(0);
    DynamicQuantParams p = dynamic_quant_params(x, n);
    std::uint8_t* y = ctx.out<std::uint8_t>(0);
    if (usable_scale(p.scale)) {
      quantize_u8(x, n, p.scale, p.zero_point, y);
    } else {
      for (std::size_t i = 0; i < n; ++i)
        y[i] = quantize_one<std::uint8_t>(x[i], p.scale, p.zero_point, true);
    }
    if (ctx.outputs.size() > 1 && ctx.outputs[1]) *ctx.out<float>(1) = p.scale;
    if (ctx.outputs.size() > 2 && ctx.outputs[2]) *ctx.out<std::uint8_t>(2) = p.zero_point;
  });
}

// ---- matrix products ----

// For each element of `target` (row-major), the element of `param` that numpy broadcasting
// pairs with it.
std::vector<std::size_t> broadcast_index(const BindArgs& a, std::string_view what,
                                         const Shape& param,
                                         const std::vector<std::int64_t>& target) {
  std::size_t rank = target.size();
  if (param.rank() > rank)
    a.fail("{} of shape {} has more axes than {}", what, param.str(), Shape(target).str());
  std::vector<std::size_t> stride(rank, 0);
  std::size_t s = 1;
  for (std::size_t i = param.rank(); i-- > 0;) {
    std::size_t t = rank - param.rank() + i;
    if (param[i] != 1 && param[i] != target[t]) {
      a.fail("{} of shape {} does not broadcast to {}", what, param.str(), Shape(target).str());
    }
    stride[t] = param[i] == 1 ? 0 : s;
    s *= static_cast<std::size_t>(param[i]);
  }
  std::size_t count = Shape(target).elements();
  std::vector<std::size_t> out(count);
  std::vector<std::int64_t> idx(rank, 0);
  for (std::size_t e = 0; e < count; ++e) {
    std::size_t off = 0;
    for (std::size_t d = 0; d < rank; ++d) off += static_cast<std::size_t>(idx[d]) * stride[d];
    out[e] = off;
    for (std::size_t d = rank; d-- > 0;) {
      if (++idx[d] < target[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

// A batched integer matrix product Y[..., M, N] = A[..., M, K] x B[..., K, N] with numpy
// batch broadcasting (1-D operands promoted), and where each row's and column's quantization
// parameters are.
struct MatmulPlan {
  std::size_t m = 0, k = 0, n = 0;
  std::vector<std::size_t> a_matrix, b_matrix;  // per output matrix: the A / B matrix it reads
  std::vector<std::int64_t> a_rows, b_cols,
      y_rows;  // A batch + [M, 1], B batch + [1, N], Y batch + [M, 1]

  std::size_t batches() const { return a_matrix.size(); }
  // Parameters per row of A (or of Y): a scalar, a 1-D of M values (per row), or a
  // tensor broadcasting to [..., M, 1].
  std::vector<std::size_t> row_index(const BindArgs& a, std::size_t input, std::string_view what,
                                     const std::vector<std::int64_t>& rows) const {
    if (!a.has(input)) return std::vector<std::size_t>(Shape(rows).elements(), 0);
    Shape s = a.in(input).shape;
    if (s.rank() == 1 && s.elements() != 1) s = Shape{s[0], 1};
    return broadcast_index(a, what, s, rows);
  }
  std::vector<std::size_t> col_index(const BindArgs& a, std::size_t input,
                                     std::string_view what) const {
    if (!a.has(input)) return std::vector<std::size_t>(Shape(b_cols).elements(), 0);
    return broadcast_index(a, what, a.in(input).shape, b_cols);
  }
};

MatmulPlan matmul_plan(const BindArgs& a, std::size_t ia, std::size_t ib) {
  std::vector<std::int64_t> ad = a.in(ia).shape.dims(), bd = a.in(ib).shape.dims();
  if (ad.empty() || bd.empty()) a.fail("matrix operands must not be scalars");
  if (ad.size() == 1) ad.insert(ad.begin(), 1);
  if (bd.size() == 1) bd.push_back(1);
  MatmulPlan p;
  p.m = static_cast<std::size_t>(ad[ad.size() - 2]);
  p.k = static_cast<std::size_t>(ad.back());
  p.n = static_cast<std::size_t>(bd.back());
  if (static_cast<std::size_t>(bd[bd.size() - 2]) != p.k) {
    a.fail("inner dimensions differ: {} x {}", a.in(ia).shape.str(), a.in(ib).shape.str());
  }
  std::vector<std::int64_t> ab(ad.begin(), ad.end() - 2), bb(bd.begin(), bd.end() - 2);
  std::size_t rank = std::max(ab.size(), bb.size());
  std::vector<std::int64_t> ob(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    std::int64_t x = i + ab.size() >= rank ? ab[i + ab.size() - rank] : 1;
    std::int64_t y = i + bb.size() >= rank ? bb[i + bb.size() - rank] : 1;
    if (x != y && x != 1 && y != 1)
      a.fail("batch dimensions of {} and {} do not broadcast", a.in(ia).shape.str(),
             a.in(ib).shape.str());
    ob[i] = std::max(x, y);
  }
  // Matrix indices by broadcasting a [batch..., 1, 1]-shaped index over the output batch.
  auto matrices = [&](const std::vector<std::int64_t>& own) {
    std::vector<std::int64_t> own_shape = own;
    return broadcast_index(a, "batch", Shape(own_shape), ob);
  };
  p.a_matrix = matrices(ab);
  p.b_matrix = matrices(bb);
  p.a_rows = ab;
  p.a_rows.push_back(static_cast<std::int64_t>(p.m));
  p.a_rows.push_back(1);
  p.b_cols = bb;
  p.b_cols.push_back(1);
  p.b_cols.push_back(static_cast<std::int64_t>(p.n));
  p.y_rows = ob;
  p.y_rows.push_back(static_cast<std::int64_t>(p.m));
  p.y_rows.push_back(1);
  if (p.batches() * p.m * p.n != a.out(0).shape.elements()) {
    a.fail("internal: output {} does not hold {} x {} x {}", a.out(0).shape.str(), p.batches(), p.m,
           p.n);
  }
  return p;
}

// The reference integer product: for output matrix t and row r, row_sink(t, r, acc) gets
// the N exact sums (mod 2^32) of (a - za) * (b - zb). Zero points are read at run time
// through the index maps (null pointer: 0).
template <class TA, class TB>
struct IntegerMatmulRef {
  MatmulPlan plan;
  std::vector<std::size_t> a_zp_index, b_zp_index;
  std::vector<std::int64_t> acc;
  std::vector<std::int32_t> acc32, zb;
  static constexpr std::size_t kInt32SafeK = (std::size_t{1} << 31) / (255 * 255) - 1;

  template <class Sink>
  void run(const TA* A, const TB* B, const TA* a_zp, const TB* b_zp, Sink&& row_sink) {
    const std::size_t M = plan.m, K = plan.k, N = plan.n;
    for (std::size_t t = 0; t < plan.batches(); ++t) {
      std::size_t ai = plan.a_matrix[t], bi = plan.b_matrix[t];
      for (std::size_t j = 0; j < N; ++j) zb[j] = b_zp ? b_zp[b_zp_index[bi * N + j]] : 0;
      for (std::size_t r = 0; r < M; ++r) {
        std::int32_t za = a_zp ? a_zp[a_zp_index[ai * M + r]] : 0;
        const TA* arow = A + (ai * M + r) * K;
        if (K <= kInt32SafeK) {  // |sum| <= K x 255 x 255 < 2^31: int32 sums, which vectorize
          std::fill(acc32.begin(), acc32.end(), 0);
          for (std::size_t kk = 0; kk < K; ++kk) {
            std::int32_t av = static_cast<std::int32_t>(arow[kk]) - za;
            if (av == 0) continue;
            const TB* brow = B + (bi * K + kk) * N;
            for (std::size_t j = 0; j < N; ++j)
              acc32[j] += av * (static_cast<std::int32_t>(brow[j]) - zb[j]);
          }
          for (std::size_t j = 0; j < N; ++j) acc[j] = acc32[j];
        } else {
          std::fill(acc.begin(), acc.end(), 0);
          for (std::size_t kk = 0; kk < K; ++kk) {
            std::int64_t av = static_cast<std::int32_t>(arow[kk]) - za;
            if (av == 0) continue;
            const TB* brow = B + (bi * K + kk) * N;
            for (std::size_t j = 0; j < N; ++j)
              acc[j] += av * (static_cast<std::int32_t>(brow[j]) - zb[j]);
          }
        }
        row_sink(t, r, acc.data());
      }
    }
  }
};

// Inputs 2 / 3 of MatMulInteger, 2 / 5 of QLinearMatMul: zero points of A's type and B's.
void check_zero_point_type(const BindArgs& a, std::size_t zp, std::size_t of,
                           std::string_view what) {
  if (a.has(zp) && a.in(zp).dtype != a.in(of).dtype) {
    a.fail("{} is {} but its operand is {}", what, dtype_name(a.in(zp).dtype),
           dtype_name(a.in(of).dtype));
  }
}

// B - b_zero_point of a constant 2-D B as s8 weights [N][K] for the int8 GEMM, when every
// value fits s8 and the zero point is constant; nullopt otherwise.
std::optional<std::vector<std::int8_t>> gemm_weights(const BindArgs& a, const MatmulPlan& p,
                                                     std::size_t ib, std::size_t ibzp) {
  const TensorInfo& b = a.in(ib);
  if (!b.constant || b.shape.rank() != 2) return std::nullopt;
  if (a.has(ibzp) && !a.in(ibzp).constant) return std::nullopt;
  std::vector<std::int32_t> bv = int_values(*b.constant);
  std::vector<std::int32_t> zv =
      a.has(ibzp) ? int_values(*a.in(ibzp).constant) : std::vector<std::int32_t>{0};
  std::vector<std::size_t> zi = p.col_index(a, ibzp, "b_zero_point");
  std::vector<std::int8_t> w(p.n * p.k);
  for (std::size_t kk = 0; kk < p.k; ++kk) {
    for (std::size_t j = 0; j < p.n; ++j) {
      std::int32_t v = bv[kk * p.n + j] - zv[zi[j]];
      if (v < -128 || v > 127) return std::nullopt;
      w[j * p.k + kk] = static_cast<std::int8_t>(v);
    }
  }
  return w;
}

// Sizes the int8 GEMM takes: at least 1, rows, n and k within int.
bool gemm_sized(const MatmulPlan& p) {
  constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<int>::max());
  std::size_t rows = p.batches() * p.m;
  return rows > 0 && p.n > 0 && p.k > 0 && rows <= kMax && p.n <= kMax && p.k <= kMax;
}

// The largest |sum_k (a - za) * w[j][k]| over u8 activations with zero point za: whether
// an exact int32 result survives the fp32 epilogue (below 2^24).
bool fits_fp32_exactly(const std::vector<std::int8_t>& w, std::size_t n, std::size_t k,
                       std::int32_t za) {
  std::int64_t amax = std::max(za, 255 - za);
  for (std::size_t j = 0; j < n; ++j) {
    std::int64_t s = 0;
    for (std::size_t kk = 0; kk < k; ++kk) s += std::abs(static_cast<std::int64_t>(w[j * k + kk]));
    if (s * amax >= (std::int64_t{1} << 24)) return false;
  }
  return true;
}

// int32: exact accumulators; u8 / s8: requantized; real: fp32 dequantized (lowp::QGemm).
enum class IntOutput { int32, u8, s8, real };

// A [rows, K] (u8, or s8 moved to u8 by adding 128) times packed s8 weights on the int8
// GEMM. int32 output goes through the fp32 epilogue with scale 1 (exact: see
// fits_fp32_exactly); s8 output is u8 output with the zero point moved by 128. A's zero
// point is fixed at bind, or (runtime_zero_point) read from input 2 at each run, as after
// DynamicQuantizeLinear; the column offsets are then recomputed when it changes.
class QGemmMatmulOp final : public BoundOp {
 public:
  QGemmMatmulOp(std::size_t rows, const std::vector<std::int8_t>& w, std::size_t n, std::size_t k,
                bool a_signed, std::int32_t a_zero_point, const std::vector<float>& scales,
                IntOutput output, std::int32_t y_zero_point, bool runtime_zero_point = false,
                const std::int32_t* bias = nullptr, ActivationParams act = Activation::none)
      : rows_(rows),
        n_(n),
        k_(k),
        a_signed_(a_signed),
        output_(output),
        runtime_zero_point_(runtime_zero_point),
        act_(act) {
    w_ = pack_qgemm(w.data(), static_cast<int>(n), static_cast<int>(k));
    za_ = a_signed ? a_zero_point + 128 : a_zero_point;
    offsets_ = qgemm_column_offsets(w_, za_, bias);
    scales_ = AlignedBuffer<float>(static_cast<std::size_t>(w_.panels()) * kGemmPanel);
    for (std::size_t j = 0; j < scales_.size(); ++j)
      scales_[j] = j < n ? scales[scales.size() == 1 ? 0 : j] : 0.0f;
    out_zero_point_ = output == IntOutput::s8 ? y_zero_point + 128 : y_zero_point;
    copy_a_ = a_signed || k % kQGemmDepth != 0;
    if (copy_a_)
      rows_buf_ = AlignedBuffer<std::uint8_t>(
          std::max<std::size_t>(1, rows * static_cast<std::size_t>(w_.padded_k())));
  }

  void run(const RunContext& ctx) override {
    const auto* a = ctx.in<std::uint8_t>(0);
    std::size_t lda = k_;
    if (runtime_zero_point_) {
      std::int32_t za = a_signed_ ? ctx.in<std::int8_t>(2)[0] + 128 : ctx.in<std::uint8_t>(2)[0];
      if (za != za_) {  // |za x column sum| < 2^24 by fits_fp32_exactly: no overflow
        for (std::size_t j = 0; j < offsets_.size(); ++j) offsets_[j] = -za * w_.column_sums[j];
        za_ = za;
      }
    }
    if (copy_a_) {
      const auto stride = static_cast<std::size_t>(w_.padded_k());
      std::uint8_t flip = a_signed_ ? 0x80 : 0x00;  // s8 v -> u8 v + 128
      for (std::size_t r = 0; r < rows_; ++r) {
        for (std::size_t kk = 0; kk < k_; ++kk) rows_buf_[r * stride + kk] = a[r * k_ + kk] ^ flip;
        std::fill(rows_buf_.data() + r * stride + k_, rows_buf_.data() + (r + 1) * stride,
                  std::uint8_t{0});
      }
      a = rows_buf_.data();
      lda = stride;
    }
    QGemmArgs args;
    args.m = static_cast<int>(rows_);
    args.a = a;
    args.lda = lda;
    args.w = &w_;
    args.offset = offsets_.data();
    args.scale = scales_.data();
    args.ldc = n_;
    args.act = act_;
    if (output_ == IntOutput::int32 || output_ == IntOutput::real) {
      args.output = QGemmOutput::f32;
      args.c_f32 = reinterpret_cast<float*>(ctx.outputs[0]);
    } else {
      args.output = QGemmOutput::u8;
      args.out_zero_point = out_zero_point_;
      args.c_u8 = ctx.out<std::uint8_t>(0);
    }
    qgemm(args, ctx.pool);
    std::size_t count = rows_ * n_;
    if (output_ == IntOutput::int32) {
      std::byte* y = ctx.outputs[0];
      for (std::size_t i = 0; i < count; ++i) {
        float f;
        std::memcpy(&f, y + i * 4, 4);
        auto v = static_cast<std::int32_t>(f);
        std::memcpy(y + i * 4, &v, 4);
      }
    } else if (output_ == IntOutput::s8) {
      std::uint8_t* y = ctx.out<std::uint8_t>(0);
      for (std::size_t i = 0; i < count; ++i) y[i] ^= 0x80;
    }
  }
  std::string kernel() const override { return std::string("qgemm:") + qgemm_kernel_name(); }

 private:
  std::size_t rows_, n_, k_;
  bool a_signed_;
  IntOutput output_;
  bool runtime_zero_point_;
  ActivationParams act_;
  std::int32_t za_ = 0;  // in the u8 domain
  PackedQGemmWeights w_;
  AlignedBuffer<std::int32_t> offsets_;
  AlignedBuffer<float> scales_;
  std::int32_t out_zero_point_ = 0;
  bool copy_a_ = false;
  AlignedBuffer<std::uint8_t> rows_buf_;
};

// The one value of a constant input (a scalar or [1]); nullopt when the input is absent,
// not constant, or holds more than one value.
std::optional<float> constant_real(const BindArgs& a, std::size_t i) {
  if (!a.has(i) || !a.in(i).constant || a.in(i).shape.elements() != 1) return std::nullopt;
  return real_values(*a.in(i).constant)[0];
}
std::optional<std::int32_t> constant_int(const BindArgs& a, std::size_t i) {
  if (!a.has(i) || !a.in(i).constant || a.in(i).shape.elements() != 1) return std::nullopt;
  return int_values(*a.in(i).constant)[0];
}

void require_8bit(const BindArgs& a, DType d, std::string_view what) {
  if (d != DType::uint8 && d != DType::int8)
    a.fail("{} has type {}; it must be uint8 or int8", what, dtype_name(d));
}

std::unique_ptr<BoundOp> bind_matmul_integer(const BindArgs& a) {
  check_zero_point_type(a, 2, 0, "a_zero_point");
  check_zero_point_type(a, 3, 1, "b_zero_point");
  if (a.out(0).dtype != DType::int32) a.fail("output must be int32");
  MatmulPlan p = matmul_plan(a, 0, 1);
  bool a_signed = a.in(0).dtype == DType::int8;
  // The GEMM: B constant 2-D, one zero point for A (constant, or read at run time: then
  // the exactness bound must hold for every zero point), exact in the fp32 epilogue.
  auto za = constant_int(a, 2);
  bool runtime_za = a.has(2) && !za && a.in(2).shape.elements() == 1;
  if (a.in(1).constant && a.in(1).shape.rank() == 2 && (!a.has(2) || za || runtime_za) &&
      gemm_sized(p)) {
    std::int32_t zero = za.value_or(0);
    std::int32_t bound_zero =
        runtime_za ? 0 : (a_signed ? zero + 128 : zero);  // 0: |a - za| <= 255
    if (auto w = gemm_weights(a, p, 1, 3); w && fits_fp32_exactly(*w, p.n, p.k, bound_zero)) {
      return std::make_unique<QGemmMatmulOp>(p.batches() * p.m, *w, p.n, p.k, a_signed, zero,
                                             std::vector<float>{1.0f}, IntOutput::int32, 0,
                                             runtime_za);
    }
  }
  return dispatch_8bit(a.in(0).dtype, a, "A", [&]<class TA>() -> std::unique_ptr<BoundOp> {
    return dispatch_8bit(a.in(1).dtype, a, "B", [&]<class TB>() -> std::unique_ptr<BoundOp> {
      auto ref = std::make_shared<IntegerMatmulRef<TA, TB>>();
      ref->plan = p;
      ref->a_zp_index = p.row_index(a, 2, "a_zero_point", p.a_rows);
      ref->b_zp_index = p.col_index(a, 3, "b_zero_point");
      ref->acc.resize(p.n);
      ref->acc32.resize(p.n);
      ref->zb.resize(p.n);
      bool za_given = a.has(2), zb_given = a.has(3);
      return std::make_unique<FunctionOp>(
          "matmul_integer_ref", [ref, za_given, zb_given](const RunContext& ctx) {
            std::int32_t* y = ctx.out<std::int32_t>(0);
            const std::size_t M = ref->plan.m, N = ref->plan.n;
            ref->run(ctx.in<TA>(0), ctx.in<TB>(1), za_given ? ctx.in<TA>(2) : nullptr,
                     zb_given ? ctx.in<TB>(3) : nullptr,
                     [&](std::size_t t, std::size_t r, const std::int64_t* acc) {
                       std::int32_t* out = y + (t * M + r) * N;
                       for (std::size_t j = 0; j < N; ++j)
                         out[j] = static_cast<std::int32_t>(acc[j]);
                     });
          });
    });
  });
}

// The QLinear* ops' inputs 0..7: (x, x_scale, x_zero_point, w, w_scale, w_zero_point,
// y_scale, y_zero_point): zero points of their data's type, fp32 scales, y_zero_point of
// the output's type.
void check_qlinear_inputs(const BindArgs& a, const char* x_zp, const char* w_zp) {
  check_zero_point_type(a, 2, 0, x_zp);
  check_zero_point_type(a, 5, 3, w_zp);
  DType yt = a.out(0).dtype;
  if (a.in(7).dtype != yt)
    a.fail("y_zero_point is {} but the output is {}", dtype_name(a.in(7).dtype), dtype_name(yt));
  for (std::size_t i : {1, 4, 6}) {
    if (a.in(i).dtype != DType::float32)
      a.fail("input {} (a scale) must be float32, is {}", i, dtype_name(a.in(i).dtype));
  }
}

// QLinearMatMul: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point.
std::unique_ptr<BoundOp> bind_qlinear_matmul(const BindArgs& a) {
  check_qlinear_inputs(a, "a_zero_point", "b_zero_point");
  DType yt = a.out(0).dtype;
  MatmulPlan p = matmul_plan(a, 0, 3);
  std::vector<std::size_t> sa = p.row_index(a, 1, "a_scale", p.a_rows);
  std::vector<std::size_t> za = p.row_index(a, 2, "a_zero_point", p.a_rows);
  std::vector<std::size_t> sb = p.col_index(a, 4, "b_scale");
  std::vector<std::size_t> zb = p.col_index(a, 5, "b_zero_point");
  std::vector<std::size_t> sy = p.row_index(a, 6, "y_scale", p.y_rows);
  std::vector<std::size_t> zy = p.row_index(a, 7, "y_zero_point", p.y_rows);
  bool a_signed = a.in(0).dtype == DType::int8;
  require_8bit(a, yt, "y");

  // The GEMM: B constant 2-D, every other parameter constant and per tensor (B's may be per
  // column), usable scales.
  auto sa0 = constant_real(a, 1), sy0 = constant_real(a, 6);
  auto za0 = constant_int(a, 2), zy0 = constant_int(a, 7);
  if (sa0 && sy0 && za0 && zy0 && a.in(4).constant && gemm_sized(p)) {
    std::vector<float> sbv = real_values(*a.in(4).constant);
    std::vector<float> mult(p.n);
    bool usable = usable_scale(*sa0) && usable_scale(*sy0);
    for (std::size_t j = 0; j < p.n && usable; ++j) {
      usable = usable_scale(sbv[sb[j]]);
      mult[j] = requant_multiplier(*sa0, sbv[sb[j]], *sy0);
      usable = usable && usable_scale(mult[j]);
    }
    if (usable) {
      if (auto w = gemm_weights(a, p, 3, 5)) {
        return std::make_unique<QGemmMatmulOp>(
            p.batches() * p.m, *w, p.n, p.k, a_signed, *za0, mult,
            yt == DType::int8 ? IntOutput::s8 : IntOutput::u8, *zy0);
      }
    }
  }

  return dispatch_8bit(a.in(0).dtype, a, "a", [&]<class TA>() -> std::unique_ptr<BoundOp> {
    return dispatch_8bit(a.in(3).dtype, a, "b", [&]<class TB>() -> std::unique_ptr<BoundOp> {
      return dispatch_8bit(yt, a, "y", [&]<class TY>() -> std::unique_ptr<BoundOp> {
        auto ref = std::make_shared<IntegerMatmulRef<TA, TB>>();
        ref->plan = p;
        ref->a_zp_index = za;
        ref->b_zp_index = zb;
        ref->acc.resize(p.n);
        ref->acc32.resize(p.n);
        ref->zb.resize(p.n);
        bool has_za = a.has(2), has_zb = a.has(5), has_zy = a.has(7);
        return std::make_unique<FunctionOp>(
            "qlinear_matmul_ref",
            [ref, sa, sb, sy, zy, has_za, has_zb, has_zy](const RunContext& ctx) {
              const float* a_scale = ctx.in<float>(1);
              const float* b_scale = ctx.in<float>(4);
              const float* y_scale = ctx.in<float>(6);
              const TY* y_zp = has_zy ? ctx.in<TY>(7) : nullptr;
              TY* y = ctx.out<TY>(0);
              const MatmulPlan& pl = ref->plan;
              ref->run(ctx.in<TA>(0), ctx.in<TB>(3), has_za ? ctx.in<TA>(2) : nullptr,
                       has_zb ? ctx.in<TB>(5) : nullptr,
                       [&](std::size_t t, std::size_t r, const std::int64_t* acc) {
                         float s_a = a_scale[sa[pl.a_matrix[t] * pl.m + r]];
                         float s_y = y_scale[sy[t * pl.m + r]];
                         std::int32_t z_y = y_zp ? y_zp[zy[t * pl.m + r]] : 0;
                         TY* out = y + (t * pl.m + r) * pl.n;
                         for (std::size_t j = 0; j < pl.n; ++j) {
                           float m =
                               requant_multiplier(s_a, b_scale[sb[pl.b_matrix[t] * pl.n + j]], s_y);
                           out[j] = requantize<TY>(
                               static_cast<float>(static_cast<std::int32_t>(acc[j])) * m, z_y);
                         }
                       });
            });
      });
    });
  });
}

// lowp::QGemm (passes/lower_qdq.cc): X [..., K] u8/s8 with constant per-tensor x_scale and
// x_zero_point, W s8 constant [K, N] ([N, K] with transB), w_scales [N], optional int32 bias
// [N] in the scale x_scale * w_scales, then the activation; y_scale and y_zero_point
// present: requantized u8/s8 output, absent: fp32.
std::unique_ptr<BoundOp> bind_lowp_qgemm(const BindArgs& a) {
  const TensorInfo& x = a.in(0);
  const TensorInfo& w = a.in(3);
  require_8bit(a, x.dtype, "X");
  if (x.shape.rank() < 1) a.fail("X must have rank >= 1");
  if (!w.constant || w.dtype != DType::int8 || w.shape.rank() != 2)
    a.fail("W must be a constant int8 matrix");
  bool trans_b = a.node.attr_int("transB", 0) != 0;
  std::size_t k = static_cast<std::size_t>(w.shape[trans_b ? 1 : 0]);
  std::size_t n = static_cast<std::size_t>(w.shape[trans_b ? 0 : 1]);
  if (static_cast<std::size_t>(x.shape[x.shape.rank() - 1]) != k)
    a.fail("X has {} columns but W has {} rows", x.shape[x.shape.rank() - 1], k);
  auto sx = constant_real(a, 1);
  auto zx = constant_int(a, 2);
  if (!sx || !usable_scale(*sx) || !zx) a.fail("x_scale and x_zero_point must be constant scalars");
  if (!a.in(4).constant || a.in(4).shape.elements() != n)
    a.fail("w_scales must be a constant of {} values", n);
  std::vector<float> ws = real_values(*a.in(4).constant);
  std::vector<std::int32_t> bias;
  if (a.has(5)) {
    if (!a.in(5).constant || a.in(5).dtype != DType::int32 || a.in(5).shape.elements() != n)
      a.fail("B must be a constant int32 vector of {} values", n);
    bias = int_values(*a.in(5).constant);
  }
  bool quantized_out = a.has(6);
  std::optional<float> sy;
  std::optional<std::int32_t> zy;
  if (quantized_out) {
    sy = constant_real(a, 6);
    zy = constant_int(a, 7);
    if (!sy || !usable_scale(*sy) || !zy) a.fail("y_scale and y_zero_point must be constant scalars");
    require_8bit(a, a.out(0).dtype, "Y");
  }
  std::vector<float> mult(n);
  for (std::size_t j = 0; j < n; ++j) {
    if (!usable_scale(ws[j])) a.fail("w_scales[{}] = {} is not a finite positive scale", j, ws[j]);
    mult[j] = quantized_out ? requant_multiplier(*sx, ws[j], *sy)
                            : static_cast<float>(static_cast<double>(*sx) * ws[j]);
    if (!usable_scale(mult[j])) a.fail("the scale product for column {} under- or overflows", j);
  }
  std::vector<std::int32_t> wv = int_values(*w.constant);
  std::vector<std::int8_t> packed(n * k);
  for (std::size_t kk = 0; kk < k; ++kk)
    for (std::size_t j = 0; j < n; ++j)
      packed[j * k + kk] = static_cast<std::int8_t>(trans_b ? wv[j * k + kk] : wv[kk * n + j]);
  std::string act_name = a.node.attr_string("activation", "none");
  ActivationParams act = Activation::none;
  if (act_name == "relu") act = Activation::relu;
  else if (act_name != "none") a.fail("activation '{}' is not supported", act_name);
  IntOutput out = !quantized_out ? IntOutput::real
                  : a.out(0).dtype == DType::int8 ? IntOutput::s8 : IntOutput::u8;
  std::size_t rows = x.shape.elements() / k;
  if (rows == 0 || n == 0 || k == 0) a.fail("empty matrices are not supported");
  return std::make_unique<QGemmMatmulOp>(rows, packed, n, k, x.dtype == DType::int8, *zx, mult, out,
                                         zy.value_or(0), false, bias.empty() ? nullptr : bias.data(),
                                         act);
}

// lowp::DynamicQGemm (passes/lower_dynamic_quant.cc): DynamicQuantizeLinear(X) ->
// MatMulInteger -> Cast -> Mul(x_scale * w_scales) [-> Add(bias)] as one op. Each run:
// X's range and parameters exactly as DynamicQuantizeLinear (dynamic_quant_params), X
// quantized row by row into the GEMM's padded rows (quantize_u8, the one rule), the column
// offsets -x_zp * sum_k W recomputed when x_zp changes, scale[j] = x_scale * w_scales[j]
// (one fp32 multiply, as the Mul node), then the int8 GEMM's epilogue
// float(acc + offset) * scale[j] + bias[j]: the pattern's Cast, Mul and Add in its order.
class DynamicQGemmOp final : public BoundOp {
 public:
  DynamicQGemmOp(std::size_t rows, const std::vector<std::int8_t>& w, std::size_t n, std::size_t k,
                 std::vector<float> w_scales, std::vector<float> bias)
      : rows_(rows), n_(n), k_(k), w_scales_(std::move(w_scales)), bias_(std::move(bias)) {
    w_ = pack_qgemm(w.data(), static_cast<int>(n), static_cast<int>(k));
    offsets_ = qgemm_column_offsets(w_, 0, nullptr);
    scales_ = AlignedBuffer<float>(static_cast<std::size_t>(w_.panels()) * kGemmPanel);
    for (std::size_t j = 0; j < scales_.size(); ++j) scales_[j] = 0.0f;
    const auto stride = static_cast<std::size_t>(w_.padded_k());
    rows_buf_ = AlignedBuffer<std::uint8_t>(std::max<std::size_t>(1, rows * stride));
    std::fill(rows_buf_.data(), rows_buf_.data() + rows_buf_.size(), std::uint8_t{0});
  }

  void run(const RunContext& ctx) override {
    const float* x = ctx.in<float>(0);
    const std::size_t count = rows_ * k_;
    DynamicQuantParams p = dynamic_quant_params(x, count);
    const auto stride = static_cast<std::size_t>(w_.padded_k());
    std::uint8_t* q = rows_buf_.data();
    for (std::size_t r = 0; r < rows_; ++r) {  // padding past k stays 0 (meets zero weights)
      if (usable_scale(p.scale)) {
        quantize_u8(x + r * k_, k_, p.scale, p.zero_point, q + r * stride);
      } else {
        for (std::size_t kk = 0; kk < k_; ++kk)
          q[r * stride + kk] = quantize_one<std::uint8_t>(x[r * k_ + kk], p.scale, p.zero_point, true);
      }
    }
    const std::int32_t za = p.zero_point;
    if (za != za_) {  // |255 x column sum| < 2^31 (K bounded by the pass): no overflow
      for (std::size_t j = 0; j < offsets_.size(); ++j) offsets_[j] = -za * w_.column_sums[j];
      za_ = za;
    }
    for (std::size_t j = 0; j < n_; ++j) scales_[j] = p.scale * w_scales_[j];
    QGemmArgs args;
    args.m = static_cast<int>(rows_);
    args.a = q;
    args.lda = stride;
    args.w = &w_;
    args.offset = offsets_.data();
    args.scale = scales_.data();
    args.bias_f32 = bias_.empty() ? nullptr : bias_.data();
    args.output = QGemmOutput::f32;
    args.c_f32 = ctx.out<float>(0);
    args.ldc = n_;
    qgemm(args, ctx.pool);
  }
  std::string kernel() const override { return std::string("qgemm:") + qgemm_kernel_name(); }

 private:
  std::size_t rows_, n_, k_;
  std::vector<float> w_scales_, bias_;
  PackedQGemmWeights w_;
  AlignedBuffer<std::int32_t> offsets_;
  AlignedBuffer<float> scales_;
  AlignedBuffer<std::uint8_t> rows_buf_;
  std::int32_t za_ = 0;
};

std::unique_ptr<BoundOp> bind_lowp_dynamic_qgemm(const BindArgs& a) {
  const TensorInfo& x = a.in(0);
  const TensorInfo& w = a.in(1);
  if (x.dtype != DType::float32) a.fail("X must be float32, is {}", dtype_name(x.dtype));
  if (x.shape.rank() < 1) a.fail("X must have rank >= 1");
  if (!w.constant || w.dtype != DType::int8 || w.shape.rank() != 2)
    a.fail("W must be a constant int8 matrix [K, N]");
  const auto k = static_cast<std::size_t>(w.shape[0]), n = static_cast<std::size_t>(w.shape[1]);
  if (static_cast<std::size_t>(x.shape[x.shape.rank() - 1]) != k)
    a.fail("X has {} columns but W has {} rows", x.shape[x.shape.rank() - 1], k);
  if (k == 0 || n == 0) a.fail("empty matrices are not supported");
  if (k >= (std::size_t{1} << 31) / (255 * 128))
    a.fail("K = {} could overflow the int32 accumulator; the pass keeps such layers unfused", k);
  if (!a.in(2).constant || a.in(2).dtype != DType::float32 || a.in(2).shape.elements() != n)
    a.fail("w_scales must be a float32 constant of {} values", n);
  std::vector<float> ws = real_values(*a.in(2).constant);
  std::vector<float> bias;
  if (a.has(3)) {
    if (!a.in(3).constant || a.in(3).dtype != DType::float32 || a.in(3).shape.elements() != n)
      a.fail("bias must be a float32 constant of {} values", n);
    bias = real_values(*a.in(3).constant);
  }
  std::size_t rows = x.shape.elements() / k;
  if (rows > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    a.fail("X has {} rows, more than the GEMM takes", rows);
  std::vector<std::int32_t> wv = int_values(*w.constant);
  std::vector<std::int8_t> packed(n * k);
  for (std::size_t kk = 0; kk < k; ++kk)
    for (std::size_t j = 0; j < n; ++j) packed[j * k + kk] = static_cast<std::int8_t>(wv[kk * n + j]);
  return std::make_unique<DynamicQGemmOp>(rows, packed, n, k, std::move(ws), std::move(bias));
}

// ---- convolutions ----

// ConvInteger / QLinearConv geometry, 1-D (as H = 1) or 2-D, NCHW, from the node's
// attributes as the schemas read them (ir::window_geometry).
Conv2dShape conv_shape(const BindArgs& a, std::size_t ix, std::size_t iw, bool nhwc = false) {
  const Shape& given_x = a.in(ix).shape;
  if (nhwc && given_x.rank() != 4) a.fail("an NHWC input must have rank 4, is {}", given_x.str());
  const Shape x = nhwc ? Shape{given_x[0], given_x[3], given_x[1], given_x[2]} : given_x;
  const Shape& w = a.in(iw).shape;
  if (x.rank() != 3 && x.rank() != 4)
    a.fail("input {} must be 3-D or 4-D (N, C, [H,] W); lowp runs 1-D and 2-D convolutions",
           x.str());
  if (w.rank() != x.rank()) a.fail("weight rank {} differs from input rank {}", w.rank(), x.rank());
  std::vector<ir::Dim> dims;
  for (std::int64_t d : x.dims()) dims.push_back(ir::Dim::known(d));
  std::vector<std::int64_t> kernel(w.dims().begin() + 2, w.dims().end());
  std::vector<std::int64_t> given = a.node.attr_ints("kernel_shape");
  if (!given.empty() && given != kernel)
    a.fail("kernel_shape differs from the weight's spatial dims {}", w.str());
  // InferContext only reads the node here.
  ir::InferContext ctx(const_cast<ir::Node&>(a.node));
  ir::WindowGeometry g = ir::window_geometry(ctx, dims, kernel, false);
  bool one_d = x.rank() == 3;
  auto narrow = [&](std::int64_t v) {
    if (v > std::numeric_limits<int>::max()) a.fail("dimension {} is too large", v);
    return static_cast<int>(v);
  };
  Conv2dShape s;
  s.batch = narrow(x[0]);
  s.in_c = narrow(x[1]);
  s.in_h = one_d ? 1 : narrow(x[2]);
  s.in_w = narrow(x.dims().back());
  s.out_c = narrow(w[0]);
  s.groups = narrow(a.node.attr_int("group", 1));
  s.kernel_h = one_d ? 1 : narrow(kernel[0]);
  s.kernel_w = narrow(kernel.back());
  s.stride_h = one_d ? 1 : narrow(g.strides[0]);
  s.stride_w = narrow(g.strides.back());
  s.dilation_h = one_d ? 1 : narrow(g.dilations[0]);
  s.dilation_w = narrow(g.dilations.back());
  std::size_t n = kernel.size();
  s.pad_top = one_d ? 0 : narrow(g.pads[0]);
  s.pad_bottom = one_d ? 0 : narrow(g.pads[n]);
  s.pad_left = narrow(g.pads[n - 1]);
  s.pad_right = narrow(g.pads[2 * n - 1]);
  if (s.groups < 1 || s.in_c % s.groups != 0 || s.out_c % s.groups != 0 ||
      w[1] * s.groups != s.in_c) {
    a.fail("{} input channels and {} output channels do not divide into {} groups of weight {}",
           s.in_c, s.out_c, s.groups, w.str());
  }
  try {
    s.validate();
  } catch (const Error& e) {
    a.fail("{}", e.what());
  }
  std::size_t out = static_cast<std::size_t>(s.batch) * s.out_c * s.out_h() * s.out_w();
  if (out != a.out(0).shape.elements())
    a.fail("internal: output {} is not the convolution's size", a.out(0).shape.str());
  return s;
}

// The reference: exact sums of (x - xzp) * (w - wzp[oc]) over each window (padding adds
// nothing), NCHW; sink(n, oc, pixel, acc).
template <class TX, class TW, class Sink>
void integer_conv_ref(const Conv2dShape& s, const TX* x, std::int32_t xzp, const TW* w,
                      const TW* wzp, bool wzp_per_channel, Sink&& sink) {
  const int cg = s.group_in_c(), ocg = s.group_out_c(), oh = s.out_h(), ow = s.out_w();
  for (int n = 0; n < s.batch; ++n) {
    for (int oc = 0; oc < s.out_c; ++oc) {
      const int g = oc / ocg;
      const std::int32_t zw = wzp ? static_cast<std::int32_t>(wzp[wzp_per_channel ? oc : 0]) : 0;
      for (int y = 0; y < oh; ++y) {
        for (int xo = 0; xo < ow; ++xo) {
          std::int64_t acc = 0;
          for (int c = 0; c < cg; ++c) {
            const TX* plane =
                x + (static_cast<std::size_t>(n) * s.in_c + g * cg + c) * s.in_h * s.in_w;
            const TW* taps = w + (static_cast<std::size_t>(oc) * cg + c) * s.kernel_h * s.kernel_w;
            for (int kh = 0; kh < s.kernel_h; ++kh) {
              int ih = y * s.stride_h - s.pad_top + kh * s.dilation_h;
              if (ih < 0 || ih >= s.in_h) continue;
              for (int kw = 0; kw < s.kernel_w; ++kw) {
                int iw = xo * s.stride_w - s.pad_left + kw * s.dilation_w;
                if (iw < 0 || iw >= s.in_w) continue;
                std::int64_t xv = static_cast<std::int32_t>(plane[ih * s.in_w + iw]) - xzp;
                std::int64_t wv = static_cast<std::int32_t>(taps[kh * s.kernel_w + kw]) - zw;
                acc += xv * wv;
              }
            }
          }
          sink(n, oc, static_cast<std::size_t>(y) * ow + xo, static_cast<std::int32_t>(acc));
        }
      }
    }
  }
}

// W - w_zero_point of constant weights as s8, when it fits; nullopt otherwise.
std::optional<std::vector<std::int8_t>> conv_weights(const BindArgs& a, std::size_t iw,
                                                     std::size_t iwzp, int out_c) {
  if (!a.in(iw).constant || (a.has(iwzp) && !a.in(iwzp).constant)) return std::nullopt;
  std::vector<std::int32_t> wv = int_values(*a.in(iw).constant);
  std::vector<std::int32_t> zv =
      a.has(iwzp) ? int_values(*a.in(iwzp).constant) : std::vector<std::int32_t>{0};
  std::size_t per = wv.size() / static_cast<std::size_t>(out_c);
  std::vector<std::int8_t> out(wv.size());
  for (std::size_t i = 0; i < wv.size(); ++i) {
    std::int32_t v = wv[i] - zv[zv.size() == 1 ? 0 : i / per];
    if (v < -128 || v > 127) return std::nullopt;
    out[i] = static_cast<std::int8_t>(v);
  }
  return out;
}

// The int8 NHWC convolution kernel between two transposes: x (u8, or s8 moved by 128) to
// NHWC, the kernel's u8 (s8: zero point moved by 128) or fp32 (int32 output with scale 1,
// exact below 2^24) NHWC result back to NCHW.
class Int8ConvOp final : public BoundOp {
 public:
  // nhwc: input and output are NHWC already (lowp::NhwcQLinearConv): no layout copies,
  // only the s8 <-> u8 flips.
  Int8ConvOp(const Conv2dShape& s, const std::vector<std::int8_t>& w, bool x_signed,
             QConv2dParams params, IntOutput output, bool nhwc = false)
      : s_(s), x_signed_(x_signed), output_(output), nhwc_(nhwc) {
    w_ = pack_conv2d_int8(s, w.data(), params);
    std::size_t in = static_cast<std::size_t>(s.batch) * s.in_h * s.in_w * s.in_c;
    std::size_t out = static_cast<std::size_t>(s.batch) * s.out_h() * s.out_w() * s.out_c;
    if (nhwc) {
      LOWP_CHECK(output != IntOutput::int32, "NHWC int8 convolution has 8-bit outputs");
      if (x_signed) nhwc_in_ = AlignedBuffer<std::uint8_t>(std::max<std::size_t>(in, 1));
      return;
    }
    nhwc_in_ = AlignedBuffer<std::uint8_t>(std::max<std::size_t>(in, 1));
    if (output == IntOutput::int32) {
      nhwc_f32_ = AlignedBuffer<float>(std::max<std::size_t>(out, 1));
    } else {
      nhwc_u8_ = AlignedBuffer<std::uint8_t>(std::max<std::size_t>(out, 1));
    }
  }

  void run(const RunContext& ctx) override {
    if (nhwc_) return run_nhwc(ctx);
    const auto* x = ctx.in<std::uint8_t>(0);
    const std::size_t hw = static_cast<std::size_t>(s_.in_h) * s_.in_w,
                      c = static_cast<std::size_t>(s_.in_c);
    const std::uint8_t flip = x_signed_ ? 0x80 : 0x00;
    for (int n = 0; n < s_.batch; ++n) {
      const std::uint8_t* src = x + static_cast<std::size_t>(n) * c * hw;
      std::uint8_t* dst = nhwc_in_.data() + static_cast<std::size_t>(n) * c * hw;
      for (std::size_t ch = 0; ch < c; ++ch) {
        for (std::size_t p = 0; p < hw; ++p) dst[p * c + ch] = src[ch * hw + p] ^ flip;
      }
    }
    conv2d_int8(w_, nhwc_in_.data(), output_ == IntOutput::int32 ? nhwc_f32_.data() : nullptr,
                output_ == IntOutput::int32 ? nullptr : nhwc_u8_.data(), scratch_, ctx.pool);
    const std::size_t ohw = static_cast<std::size_t>(s_.out_h()) * s_.out_w(),
                      oc = static_cast<std::size_t>(s_.out_c);
    for (int n = 0; n < s_.batch; ++n) {
      std::size_t base = static_cast<std::size_t>(n) * oc * ohw;
      for (std::size_t ch = 0; ch < oc; ++ch) {
        for (std::size_t p = 0; p < ohw; ++p) {
          if (output_ == IntOutput::int32) {
            ctx.out<std::int32_t>(0)[base + ch * ohw + p] =
                static_cast<std::int32_t>(nhwc_f32_[base + p * oc + ch]);
          } else {
            ctx.out<std::uint8_t>(0)[base + ch * ohw + p] =
                nhwc_u8_[base + p * oc + ch] ^ (output_ == IntOutput::s8 ? 0x80 : 0x00);
          }
        }
      }
    }
  }
  std::string kernel() const override { return nhwc_ ? "conv2d_int8" : "conv2d_int8 (NCHW via NHWC copies)"; }

 private:
  void run_nhwc(const RunContext& ctx) {
    const auto* x = ctx.in<std::uint8_t>(0);
    if (x_signed_) {
      for (std::size_t i = 0; i < nhwc_in_.size(); ++i) nhwc_in_[i] = x[i] ^ 0x80;
      x = nhwc_in_.data();
    }
    std::uint8_t* y = ctx.out<std::uint8_t>(0);
    conv2d_int8(w_, x, nullptr, y, scratch_, ctx.pool);
    if (output_ == IntOutput::s8) {
      const std::size_t count = static_cast<std::size_t>(s_.batch) * s_.out_h() * s_.out_w() * s_.out_c;
      for (std::size_t i = 0; i < count; ++i) y[i] ^= 0x80;
    }
  }

  Conv2dShape s_;
  bool x_signed_;
  IntOutput output_;
  bool nhwc_ = false;
  PackedConv2dInt8Weights w_;
  Conv2dInt8Scratch scratch_;
  AlignedBuffer<std::uint8_t> nhwc_in_, nhwc_u8_;
  AlignedBuffer<float> nhwc_f32_;
};

// A per-output-channel parameter: one value, or 1-D with one per channel.
bool per_channel(const BindArgs& a, std::size_t i, int out_c, std::string_view what) {
  if (!a.has(i)) return false;
  const Shape& s = a.in(i).shape;
  if (s.elements() == 1 && s.rank() <= 1) return false;
  if (s.rank() == 1 && s[0] == out_c) return true;
  a.fail("{} of shape {} is neither one value nor one per output channel ({})", what, s.str(),
         out_c);
}
void require_scalar(const BindArgs& a, std::size_t i, std::string_view what) {
  if (a.has(i) && !(a.in(i).shape.elements() == 1 && a.in(i).shape.rank() <= 1)) {
    a.fail("{} must be one value (per tensor), has shape {}", what, a.in(i).shape.str());
  }
}

// ConvInteger: x, w, x_zero_point, w_zero_point -> int32.
std::unique_ptr<BoundOp> bind_conv_integer(const BindArgs& a) {
  check_zero_point_type(a, 2, 0, "x_zero_point");
  check_zero_point_type(a, 3, 1, "w_zero_point");
  Conv2dShape s = conv_shape(a, 0, 1);
  require_scalar(a, 2, "x_zero_point");
  bool wzp_per_channel = per_channel(a, 3, s.out_c, "w_zero_point");
  bool x_signed = a.in(0).dtype == DType::int8;
  auto xzp = constant_int(a, 2);
  if (!a.has(2) || xzp) {
    std::int32_t zero = xzp.value_or(0);
    std::int32_t z8 = x_signed ? zero + 128 : zero;
    auto w = conv_weights(a, 1, 3, s.out_c);
    if (w && fits_fp32_exactly(*w, static_cast<std::size_t>(s.out_c),
                               w->size() / static_cast<std::size_t>(s.out_c), z8)) {
      QConv2dParams params;
      params.input_zero_point = z8;
      std::vector<float> ones(static_cast<std::size_t>(s.out_c), 1.0f);
      params.weight_scales = ones.data();
      return std::make_unique<Int8ConvOp>(s, *w, x_signed, params, IntOutput::int32);
    }
  }
  return dispatch_8bit(a.in(0).dtype, a, "x", [&]<class TX>() -> std::unique_ptr<BoundOp> {
    return dispatch_8bit(a.in(1).dtype, a, "w", [&]<class TW>() -> std::unique_ptr<BoundOp> {
      bool has_xzp = a.has(2), has_wzp = a.has(3);
      return std::make_unique<FunctionOp>(
          "conv_integer_ref", [s, has_xzp, has_wzp, wzp_per_channel](const RunContext& ctx) {
            std::int32_t* y = ctx.out<std::int32_t>(0);
            const std::size_t ohw = static_cast<std::size_t>(s.out_h()) * s.out_w();
            integer_conv_ref(s, ctx.in<TX>(0),
                             has_xzp ? static_cast<std::int32_t>(ctx.in<TX>(2)[0]) : 0,
                             ctx.in<TW>(1), has_wzp ? ctx.in<TW>(3) : nullptr, wzp_per_channel,
                             [&](int n, int oc, std::size_t p, std::int32_t acc) {
                               y[(static_cast<std::size_t>(n) * s.out_c + oc) * ohw + p] = acc;
                             });
          });
    });
  });
}

// QLinearConv: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B.
std::unique_ptr<BoundOp> bind_qlinear_conv_layout(const BindArgs& a, bool nhwc) {
  check_qlinear_inputs(a, "x_zero_point", "w_zero_point");
  DType yt = a.out(0).dtype;
  if (a.has(8) && a.in(8).dtype != DType::int32)
    a.fail("B must be int32, is {}", dtype_name(a.in(8).dtype));
  Conv2dShape s = conv_shape(a, 0, 3, nhwc);
  require_scalar(a, 1, "x_scale");
  require_scalar(a, 2, "x_zero_point");
  require_scalar(a, 6, "y_scale");
  require_scalar(a, 7, "y_zero_point");
  bool ws_per_channel = per_channel(a, 4, s.out_c, "w_scale");
  bool wzp_per_channel = per_channel(a, 5, s.out_c, "w_zero_point");
  if (a.has(8) && a.in(8).shape.elements() != static_cast<std::size_t>(s.out_c)) {
    a.fail("B has {} values for {} output channels", a.in(8).shape.elements(), s.out_c);
  }
  bool x_signed = a.in(0).dtype == DType::int8;
  require_8bit(a, yt, "y");

  auto sx = constant_real(a, 1), sy = constant_real(a, 6);
  auto zx = constant_int(a, 2), zy = constant_int(a, 7);
  if (sx && sy && zx && zy && a.in(4).constant && (!a.has(8) || a.in(8).constant) &&
      usable_scale(*sx) && usable_scale(*sy)) {
    std::vector<float> ws = real_values(*a.in(4).constant);
    ws.resize(static_cast<std::size_t>(s.out_c), ws[0]);
    bool usable = true;
    for (float v : ws)
      usable = usable && usable_scale(v) && usable_scale(requant_multiplier(*sx, v, *sy));
    auto w = conv_weights(a, 3, 5, s.out_c);
    if (usable && w) {
      std::vector<std::int32_t> bias =
          a.has(8) ? int_values(*a.in(8).constant) : std::vector<std::int32_t>{};
      QConv2dParams params;
      params.input_zero_point = x_signed ? *zx + 128 : *zx;
      params.input_scale = *sx;
      params.weight_scales = ws.data();
      params.bias = bias.empty() ? nullptr : bias.data();
      params.output = QGemmOutput::u8;
      params.output_scale = *sy;
      params.output_zero_point = yt == DType::int8 ? *zy + 128 : *zy;
      return std::make_unique<Int8ConvOp>(s, *w, x_signed, params,
                                          yt == DType::int8 ? IntOutput::s8 : IntOutput::u8, nhwc);
    }
  }
  if (nhwc)
    a.fail("the NHWC int8 convolution needs constant, usable scales and zero points and s8-range weights");

  return dispatch_8bit(a.in(0).dtype, a, "x", [&]<class TX>() -> std::unique_ptr<BoundOp> {
    return dispatch_8bit(a.in(3).dtype, a, "w", [&]<class TW>() -> std::unique_ptr<BoundOp> {
      return dispatch_8bit(yt, a, "y", [&]<class TY>() -> std::unique_ptr<BoundOp> {
        bool has_bias = a.has(8), has_xzp = a.has(2), has_wzp = a.has(5), has_yzp = a.has(7);
        return std::make_unique<FunctionOp>("qlinear_conv_ref", [s, ws_per_channel, wzp_per_channel,
                                                                 has_bias, has_xzp, has_wzp,
                                                                 has_yzp](const RunContext& ctx) {
          const float x_scale = ctx.in<float>(1)[0];
          const float* w_scale = ctx.in<float>(4);
          const float y_scale = ctx.in<float>(6)[0];
          const std::int32_t y_zp = has_yzp ? ctx.in<TY>(7)[0] : 0;
          const std::int32_t* bias = has_bias ? ctx.in<std::int32_t>(8) : nullptr;
          TY* y = ctx.out<TY>(0);
          const std::size_t ohw = static_cast<std::size_t>(s.out_h()) * s.out_w();
          integer_conv_ref(
              s, ctx.in<TX>(0), has_xzp ? static_cast<std::int32_t>(ctx.in<TX>(2)[0]) : 0,
              ctx.in<TW>(3), has_wzp ? ctx.in<TW>(5) : nullptr, wzp_per_channel,
              [&](int n, int oc, std::size_t p, std::int32_t acc) {
                if (bias)
                  acc = static_cast<std::int32_t>(static_cast<std::uint32_t>(acc) +
                                                  static_cast<std::uint32_t>(bias[oc]));
                float m = requant_multiplier(x_scale, w_scale[ws_per_channel ? oc : 0], y_scale);
                y[(static_cast<std::size_t>(n) * s.out_c + oc) * ohw + p] =
                    requantize<TY>(static_cast<float>(acc) * m, y_zp);
              });
        });
      });
    });
  });
}

std::unique_ptr<BoundOp> bind_qlinear_conv(const BindArgs& a) {
  return bind_qlinear_conv_layout(a, false);
}
std::unique_ptr<BoundOp> bind_nhwc_qlinear_conv(const BindArgs& a) {
  return bind_qlinear_conv_layout(a, true);
}

// ---- com.microsoft MatMulNBits ----

// Y[..., N] = A[..., K] x dequant(B)^T (+ bias), B [N, k_blocks, block_size * bits / 8]
// packed low bits first along k, dequant(b) = (b - zero_point) * scale per block of
// block_size along k; zero points packed the same way per row of blocks (uint8), or given
// as floats, or absent (2^(bits - 1)). Runs:
//   accuracy_level 4, bits 4, uint8 or no zero points: the int4 x int8 kernel (q4dot.h):
//     activations quantized to s8 per row, as ONNX Runtime's accuracy level 4 does;
//   bits 4, no zero points: the int4-weight fp32 GEMM (gemm.h, exact activations);
//   else: fp32 GEMM on the weights dequantized once.
class MatMulNBitsOp final : public BoundOp {
 public:
  enum class Path { q4dot, q4_gemm, f32_gemm };

  MatMulNBitsOp(Path path, std::size_t rows, int n, int k, std::vector<float> bias)
      : path_(path), rows_(rows), n_(n), k_(k), bias_(std::move(bias)) {}

  void run(const RunContext& ctx) override {
    const float* a = ctx.in<float>(0);
    float* y = ctx.out<float>(0);
    const float* bias = bias_.empty() ? nullptr : bias_.data();
    if (rows_ == 0) return;
    if (path_ == Path::q4dot) {
      q4dot_gemm(a, static_cast<int>(rows_), static_cast<std::size_t>(k_), q4_, bias,
                 Activation::none, y, static_cast<std::size_t>(n_), q4_rows_, ctx.pool);
      return;
    }
    GemmArgs args;
    args.m = static_cast<int>(rows_);
    args.a = a;
    args.lda = static_cast<std::size_t>(k_);
    args.w = &gemm_;
    args.bias = bias;
    args.c = y;
    args.ldc = static_cast<std::size_t>(n_);
    gemm(args, ctx.pool);
  }
  std::string kernel() const override {
    switch (path_) {
      case Path::q4dot:
        return std::string("q4dot:") + q4dot_kernel_name();
      case Path::q4_gemm:
        return std::string("gemm:") + gemm_kernel_name(GemmWeights::q4);
      case Path::f32_gemm:
        return std::string("gemm:") + gemm_kernel_name(GemmWeights::f32);
    }
    return "?";
  }

  Path path_;
  std::size_t rows_;
  int n_, k_;
  std::vector<float> bias_;
  PackedQ4DotWeights q4_;
  QuantizedRows q4_rows_;
  PackedGemmWeights gemm_;
};

std::unique_ptr<BoundOp> bind_matmul_nbits(const BindArgs& a) {
  std::int64_t K = a.node.attr_int("K", -1), N = a.node.attr_int("N", -1);
  std::int64_t bits = a.node.attr_int("bits", 4), block = a.node.attr_int("block_size", -1);
  std::int64_t accuracy = a.node.attr_int("accuracy_level", 0);
  if (K < 1 || N < 1 || K > std::numeric_limits<int>::max() ||
      N > std::numeric_limits<int>::max()) {
    a.fail("attributes K {} and N {} must be positive", K, N);
  }
  if (bits != 2 && bits != 4 && bits != 8) a.fail("bits {} is not 2, 4 or 8", bits);
  if (block < 16 || (block & (block - 1)) != 0)
    a.fail("block_size {} is not a power of 2 >= 16", block);
  if (a.in(0).dtype != DType::float32)
    a.fail("A is {}; lowp runs MatMulNBits on float32", dtype_name(a.in(0).dtype));
  const Shape& as = a.in(0).shape;
  if (as.rank() < 1 || as[as.rank() - 1] != K) a.fail("A {} does not end in K = {}", as.str(), K);
  if (a.has(4)) a.fail("g_idx (input 4) is not supported");
  const std::size_t k = static_cast<std::size_t>(K), n = static_cast<std::size_t>(N),
                    bs = static_cast<std::size_t>(block);
  const std::size_t blocks = (k + bs - 1) / bs, blob = bs * static_cast<std::size_t>(bits) / 8;
  const Tensor& b = a.constant(1, "B");
  if (b.dtype() != DType::uint8 || b.elements() != n * blocks * blob) {
    a.fail("B must be uint8 [N, k_blocks, blob] = [{}, {}, {}], is {} {}", n, blocks, blob,
           dtype_name(b.dtype()), b.shape().str());
  }
  const Tensor& sc = a.constant(2, "scales");
  if (sc.dtype() != DType::float32 || sc.elements() != n * blocks) {
    a.fail("scales must be float32 with N x k_blocks = {} values, is {} {}", n * blocks,
           dtype_name(sc.dtype()), sc.shape().str());
  }
  std::span<const float> scales = sc.values<float>();
  // Zero points per (row, block), as stored unsigned values or floats.
  const std::uint32_t mask = (1u << bits) - 1;
  const float default_zp = static_cast<float>(1u << (bits - 1));
  std::vector<std::uint8_t> zp_u;  // packed zero points, unpacked
  std::vector<float> zp_f;
  if (a.has(3)) {
    const Tensor& z = a.constant(3, "zero_points");
    if (z.dtype() == DType::uint8) {
      std::size_t per_row = (blocks * static_cast<std::size_t>(bits) + 7) / 8;
      if (z.elements() != n * per_row)
        a.fail("uint8 zero_points need N x {} = {} bytes, has {}", per_row, n * per_row,
               z.elements());
      zp_u.resize(n * blocks);
      for (std::size_t r = 0; r < n; ++r) {
        for (std::size_t g = 0; g < blocks; ++g) {
          std::size_t bit = g * static_cast<std::size_t>(bits);
          zp_u[r * blocks + g] = static_cast<std::uint8_t>(
              (z.values<std::uint8_t>()[r * per_row + bit / 8] >> (bit % 8)) & mask);
        }
      }
    } else if (z.dtype() == DType::float32) {
      if (z.elements() != n * blocks)
        a.fail("float zero_points need N x k_blocks = {} values, has {}", n * blocks, z.elements());
      zp_f.assign(z.values<float>().begin(), z.values<float>().end());
    } else {
      a.fail("zero_points must be uint8 or float32, is {}", dtype_name(z.dtype()));
    }
  }
  std::vector<float> bias;
  if (a.has(5)) {
    const Tensor& t = a.constant(5, "bias");
    if (t.dtype() != DType::float32 || t.elements() != n)
      a.fail("bias must be float32 [N] = [{}]", n);
    bias.assign(t.values<float>().begin(), t.values<float>().end());
  }
  // The weights' stored values u[n][k].
  std::vector<std::uint8_t> u(n * k);
  std::span<const std::uint8_t> bb = b.values<std::uint8_t>();
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t kk = 0; kk < k; ++kk) {
      std::size_t g = kk / bs, bit = (kk % bs) * static_cast<std::size_t>(bits);
      u[r * k + kk] =
          static_cast<std::uint8_t>((bb[(r * blocks + g) * blob + bit / 8] >> (bit % 8)) & mask);
    }
  }
  std::size_t rows = as.elements() / k;
  if (rows > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    a.fail("A has {} rows, more than the GEMM takes", rows);
  using Path = MatMulNBitsOp::Path;
  Path path = Path::f32_gemm;
  if (bits == 4 && zp_f.empty() && accuracy == 4) {
    path = Path::q4dot;
  } else if (bits == 4 && zp_f.empty() && zp_u.empty()) {
    path = Path::q4_gemm;
  }
  auto op = std::make_unique<MatMulNBitsOp>(path, rows, static_cast<int>(n), static_cast<int>(k),
                                            std::move(bias));
  if (path == Path::q4dot) {
    op->q4_ = pack_q4dot(u.data(), scales.data(), zp_u.empty() ? nullptr : zp_u.data(),
                         static_cast<int>(n), static_cast<int>(k), static_cast<int>(bs));
    // Sized now, so that run() does not allocate.
    op->q4_rows_.resize(static_cast<int>(rows), op->q4_.padded_k(), op->q4_.groups());
  } else if (path == Path::q4_gemm) {
    std::vector<std::int8_t> q(n * k);
    for (std::size_t i = 0; i < q.size(); ++i) q[i] = static_cast<std::int8_t>(u[i] - 8);
    op->gemm_ = pack_gemm_q4(q.data(), scales.data(), static_cast<int>(n), static_cast<int>(k),
                             static_cast<int>(bs));
  } else {
    std::vector<float> w(n * k);
    for (std::size_t r = 0; r < n; ++r) {
      for (std::size_t kk = 0; kk < k; ++kk) {
        std::size_t g = r * blocks + kk / bs;
        float z = !zp_f.empty()   ? zp_f[g]
                  : !zp_u.empty() ? static_cast<float>(zp_u[g])
                                  : default_zp;
        w[r * k + kk] = (static_cast<float>(u[r * k + kk]) - z) * scales[g];
      }
    }
    op->gemm_ = pack_gemm_f32(w.data(), static_cast<int>(n), static_cast<int>(k));
  }
  return op;
}

constexpr OpBinding kBindings[] = {
    {"", "QuantizeLinear", bind_quantize_linear},
    {"", "DequantizeLinear", bind_dequantize_linear},
    {"", "DynamicQuantizeLinear", bind_dynamic_quantize_linear},
    {"", "MatMulInteger", bind_matmul_integer},
    {"", "QLinearMatMul", bind_qlinear_matmul},
    {"", "ConvInteger", bind_conv_integer},
    {"", "QLinearConv", bind_qlinear_conv},
    {"com.microsoft", "MatMulNBits", bind_matmul_nbits},
    {"lowp", "QGemm", bind_lowp_qgemm},
    {"lowp", "NhwcQLinearConv", bind_nhwc_qlinear_conv},
    {"lowp", "DynamicQGemm", bind_lowp_dynamic_qgemm},
};

}  // namespace

std::span<const OpBinding> quant_bindings() {
  return kBindings;
}

}  // namespace lowp::runtime
