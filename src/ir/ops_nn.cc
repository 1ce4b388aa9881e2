// ir/ops_nn.cc: schemas of the neural-network ops: Conv, Gemm, MatMul, BatchNormalization,
// pooling, Softmax, LayerNormalization, and lowp's fused forms of Conv and Gemm (Resize is
// in ops_more.cc).
#include "ir/ops_nn.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "ir/schema.h"

namespace lowp::ir {

std::vector<std::int64_t> window_attr(const InferContext& ctx, const char* key, std::size_t n,
                                      std::int64_t fallback) {
  std::vector<std::int64_t> v = ctx.node().attr_ints(key);
  if (v.empty()) return std::vector<std::int64_t>(n, fallback);
  if (v.size() != n) ctx.fail("{} has {} entries for {} spatial axes", key, v.size(), n);
  return v;
}

WindowGeometry window_geometry(const InferContext& ctx, const std::vector<Dim>& input_dims,
                               const std::vector<std::int64_t>& kernel, bool ceil_mode) {
  std::size_t n = kernel.size();
  WindowGeometry g;
  g.kernel = kernel;
  g.strides = window_attr(ctx, "strides", n, 1);
  g.dilations = window_attr(ctx, "dilations", n, 1);
  g.pads = window_attr(ctx, "pads", 2 * n, 0);
  std::string auto_pad = ctx.node().attr_string("auto_pad", "NOTSET");
  for (std::size_t i = 0; i < n; ++i) {
    if (g.strides[i] < 1) ctx.fail("strides must be >= 1");
    if (g.dilations[i] < 1) ctx.fail("dilations must be >= 1");
    if (kernel[i] < 1) ctx.fail("kernel size must be >= 1");
    if (g.pads[i] < 0 || g.pads[i + n] < 0) ctx.fail("pads must be >= 0");
  }
  g.output.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Dim& d = input_dims[input_dims.size() - n + i];
    if (!d.is_known()) {
      g.output[i] = Dim{};
      continue;
    }
    std::int64_t in = d.value;
    std::int64_t extent = g.dilations[i] * (kernel[i] - 1) + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      std::int64_t out = (in + g.strides[i] - 1) / g.strides[i];
      std::int64_t total = std::max<std::int64_t>(0, (out - 1) * g.strides[i] + extent - in);
      std::int64_t small = total / 2;
      g.pads[i] = auto_pad == "SAME_UPPER" ? small : total - small;
      g.pads[i + n] = total - g.pads[i];
      g.output[i] = Dim::known(out);
      continue;
    }
    if (auto_pad == "VALID") {
      g.pads[i] = g.pads[i + n] = 0;
    } else if (auto_pad != "NOTSET") {
      ctx.fail("auto_pad '{}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", auto_pad);
    }
    std::int64_t span = in + g.pads[i] + g.pads[i + n] - extent;
    if (span < 0) ctx.fail("window of {} does not fit axis of size {} with its padding", extent, in);
    std::int64_t out = ceil_mode ? (span + g.strides[i] - 1) / g.strides[i] + 1 : span / g.strides[i] + 1;
    // ceil_mode: the last window must start inside the input or its left padding.
    if (ceil_mode && (out - 1) * g.strides[i] >= in + g.pads[i]) --out;
    g.output[i] = Dim::known(out);
  }
  return g;
}

namespace {

// Output dims of a convolution of x by w (ConvInteger and QLinearConv share it).
std::optional<std::vector<Dim>> conv_dims(const InferContext& ctx, const TensorType& x,
                                          const TensorType& w, const TensorType* bias) {
  if (!x.dims || !w.dims) return std::nullopt;
  if (x.rank() < 3) ctx.fail("input must have rank >= 3 (N, C, spatial...), has {}", x.rank());
  if (w.rank() != x.rank()) ctx.fail("weight rank {} differs from input rank {}", w.rank(), x.rank());
  std::size_t n = x.rank() - 2;
  std::int64_t group = ctx.node().attr_int("group", 1);
  if (group < 1) ctx.fail("group must be >= 1");
  const Dim& c = (*x.dims)[1];
  const Dim& wc = (*w.dims)[1];
  if (c.is_known() && wc.is_known() && c.value != wc.value * group) {
    ctx.fail("input has {} channels, weight expects {} x group {}", c.value, wc.value, group);
  }
  const Dim& m = (*w.dims)[0];
  if (m.is_known() && m.value % group != 0) ctx.fail("{} output channels do not divide into {} groups", m.value, group);
  std::vector<std::int64_t> kernel = ctx.node().attr_ints("kernel_shape");
  if (kernel.empty()) {
    for (std::size_t i = 0; i < n; ++i) {
      const Dim& k = (*w.dims)[2 + i];
      if (!k.is_known()) return std::vector<Dim>(x.rank());
      kernel.push_back(k.value);
    }
  }
  if (bias && bias->dims) {
    if (bias->rank() != 1 || (m.is_known() && (*bias->dims)[0].is_known() && (*bias->dims)[0].value != m.value)) {
      ctx.fail("bias must be 1-D with one entry per output channel");
    }
  }
  WindowGeometry g = window_geometry(ctx, *x.dims, kernel, false);
  std::vector<Dim> out{(*x.dims)[0], m};
  out.insert(out.end(), g.output.begin(), g.output.end());
  return out;
}

// lowp's fused convolutions may take a 4th input, a residual added to the output before
// the activation (passes/fuse_conv_add.cc): it must have the output's type.
void check_residual(const InferContext& ctx, const TensorType& out) {
  if (!ctx.has_input(3)) return;
  const TensorType& r = ctx.input(3);
  if (r.dtype && out.dtype && *r.dtype != *out.dtype) ctx.fail("residual is {}, the output {}", r.str(), out.str());
  if (!r.dims || !out.dims) return;
  bool same = r.rank() == out.rank();
  for (std::size_t i = 0; same && i < r.rank(); ++i) {
    const Dim &a = (*r.dims)[i], &b = (*out.dims)[i];
    same = !a.is_known() || !b.is_known() || a.value == b.value;
  }
  if (!same) ctx.fail("residual {} does not have the output's shape {}", r.str(), out.str());
}

void infer_conv(InferContext& ctx) {
  const TensorType* bias = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  TensorType out{ctx.input_dtype(0), conv_dims(ctx, ctx.input(0), ctx.input(1), bias)};
  check_residual(ctx, out);
  ctx.set_output(0, out);
}

void infer_conv_integer(InferContext& ctx) {
  ctx.set_output(0, TensorType{DType::int32, conv_dims(ctx, ctx.input(0), ctx.input(1), nullptr)});
}

std::optional<std::vector<Dim>> pool_dims(const InferContext& ctx, const TensorType& x) {
  if (!x.dims) return std::nullopt;
  if (x.rank() < 3) ctx.fail("input must have rank >= 3 (N, C, spatial...), has {}", x.rank());
  std::vector<std::int64_t> kernel = ctx.node().attr_ints("kernel_shape");
  if (kernel.size() != x.rank() - 2) ctx.fail("kernel_shape must have {} entries", x.rank() - 2);
  WindowGeometry g = window_geometry(ctx, *x.dims, kernel, ctx.node().attr_int("ceil_mode", 0) != 0);
  std::vector<Dim> out{(*x.dims)[0], (*x.dims)[1]};
  out.insert(out.end(), g.output.begin(), g.output.end());
  return out;
}

void infer_pool(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  std::optional<std::vector<Dim>> out = pool_dims(ctx, x);
  ctx.set_output(0, TensorType{x.dtype, out});
  if (ctx.output_count() > 1) ctx.set_output(1, TensorType{DType::int64, out});
}

// The NHWC forms (passes/layout_nhwc.cc): the NCHW inference on permuted dims.
std::vector<Dim> permuted(const std::vector<Dim>& dims, std::initializer_list<std::size_t> perm) {
  std::vector<Dim> out;
  for (std::size_t p : perm) out.push_back(dims[p]);
  return out;
}

TensorType nhwc_to_nchw(const InferContext& ctx, const TensorType& x) {
  if (!x.dims) return x;
  if (x.rank() != 4) ctx.fail("an NHWC input must have rank 4, has {}", x.rank());
  return TensorType{x.dtype, permuted(*x.dims, {0, 3, 1, 2})};
}

void set_nhwc_output(InferContext& ctx, std::optional<DType> dtype, const std::optional<std::vector<Dim>>& nchw) {
  if (!nchw) return ctx.set_output(0, TensorType{dtype, std::vector<Dim>(4)});
  ctx.set_output(0, TensorType{dtype, permuted(*nchw, {0, 2, 3, 1})});
}

void infer_nhwc_conv(InferContext& ctx) {
  const TensorType* bias = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  // With "quantize_scale" (passes/fuse_conv_quantize.cc) the conv writes u8.
  DType out = ctx.node().has_attribute("quantize_scale") ? DType::uint8 : ctx.input_dtype(0);
  std::optional<std::vector<Dim>> dims = conv_dims(ctx, nhwc_to_nchw(ctx, ctx.input(0)), ctx.input(1), bias);
  // With "pool_kernel_shape" (passes/fuse_conv_pool.cc) the conv's output is max-pooled:
  // windows of the kernel at the strides over the padded map, no dilation, floor.
  if (dims && ctx.node().has_attribute("pool_kernel_shape")) {
    std::vector<std::int64_t> kernel = ctx.node().attr_ints("pool_kernel_shape");
    std::vector<std::int64_t> strides = ctx.node().attr_ints("pool_strides");
    std::vector<std::int64_t> pads = ctx.node().attr_ints("pool_pads");
    if (kernel.size() != 2 || strides.size() != 2 || pads.size() != 4)
      ctx.fail("pool_kernel_shape, pool_strides and pool_pads must have 2, 2 and 4 entries");
    for (std::size_t i = 0; i < 2; ++i) {
      Dim& d = (*dims)[2 + i];
      if (kernel[i] < 1 || strides[i] < 1 || pads[i] < 0 || pads[i + 2] < 0)
        ctx.fail("pool window {} stride {} pads {}, {} are not a max pool", kernel[i], strides[i], pads[i],
                 pads[i + 2]);
      if (!d.is_known()) continue;
      std::int64_t span = d.value + pads[i] + pads[i + 2] - kernel[i];
      if (span < 0) ctx.fail("pool window of {} does not fit the conv's output of {}", kernel[i], d.value);
      d = Dim::known(span / strides[i] + 1);
    }
  }
  if (ctx.has_input(3)) {
    if (ctx.node().has_attribute("pool_kernel_shape") || ctx.node().has_attribute("quantize_scale"))
      ctx.fail("a conv with a residual neither pools nor quantizes its output");
    check_residual(ctx, TensorType{out, dims ? std::optional(permuted(*dims, {0, 2, 3, 1})) : std::nullopt});
  }
  set_nhwc_output(ctx, out, dims);
}

void infer_nhwc_qlinear_conv(InferContext& ctx) {
  const TensorType* bias = ctx.has_input(8) ? &ctx.input(8) : nullptr;
  set_nhwc_output(ctx, ctx.input_dtype(7), conv_dims(ctx, nhwc_to_nchw(ctx, ctx.input(0)), ctx.input(3), bias));
}

void infer_nhwc_pool(InferContext& ctx) {
  set_nhwc_output(ctx, ctx.input_dtype(0), pool_dims(ctx, nhwc_to_nchw(ctx, ctx.input(0))));
}

void infer_nhwc_global_pool(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!x.dims) return ctx.set_output(0, TensorType{x.dtype, std::vector<Dim>(4)});
  if (x.rank() != 4) ctx.fail("an NHWC input must have rank 4, has {}", x.rank());
  ctx.set_output(0, TensorType{x.dtype, std::vector<Dim>{(*x.dims)[0], Dim::known(1), Dim::known(1), (*x.dims)[3]}});
}

void infer_global_pool(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!x.dims) return ctx.set_output(0, TensorType{x.dtype, std::nullopt});
  if (x.rank() < 3) ctx.fail("input must have rank >= 3, has {}", x.rank());
  std::vector<Dim> out{(*x.dims)[0], (*x.dims)[1]};
  out.resize(x.rank(), Dim::known(1));
  ctx.set_output(0, TensorType{x.dtype, out});
}

void infer_gemm(InferContext& ctx) {
  const TensorType& a = ctx.input(0);
  const TensorType& b = ctx.input(1);
  if (ctx.input_dtype(1) != ctx.input_dtype(0)) ctx.fail("A and B have different types");
  if (!a.dims || !b.dims) return ctx.set_output(0, TensorType{a.dtype, std::vector<Dim>(2)});
  if (a.rank() != 2 || b.rank() != 2) ctx.fail("A and B must be 2-D, are {} and {}", a.str(), b.str());
  bool ta = ctx.node().attr_int("transA", 0) != 0;
  bool tb = ctx.node().attr_int("transB", 0) != 0;
  Dim m = (*a.dims)[ta ? 1 : 0], ka = (*a.dims)[ta ? 0 : 1];
  Dim kb = (*b.dims)[tb ? 1 : 0], n = (*b.dims)[tb ? 0 : 1];
  if (ka.is_known() && kb.is_known() && ka.value != kb.value) {
    ctx.fail("inner dimensions differ: A {} (transA {}) and B {} (transB {})", a.str(), ta, b.str(), tb);
  }
  if (ctx.has_input(2)) {
    const TensorType& c = ctx.input(2);
    if (c.dims) {
      std::vector<std::vector<Dim>> both = {std::vector<Dim>{m, n}, *c.dims};
      std::vector<Dim> out = broadcast_dims(ctx, both);
      if (out.size() != 2) ctx.fail("C {} does not broadcast to [M, N]", c.str());
    }
  }
  ctx.set_output(0, TensorType{a.dtype, std::vector<Dim>{m, n}});
}

// MatMul with numpy semantics (1-D operands promoted and the added axis removed).
std::optional<std::vector<Dim>> matmul_dims(const InferContext& ctx, const TensorType& a, const TensorType& b) {
  if (!a.dims || !b.dims) return std::nullopt;
  std::vector<Dim> ad = *a.dims, bd = *b.dims;
  if (ad.empty() || bd.empty()) ctx.fail("MatMul operands must not be scalars");
  bool a1 = ad.size() == 1, b1 = bd.size() == 1;
  if (a1) ad.insert(ad.begin(), Dim::known(1));
  if (b1) bd.push_back(Dim::known(1));
  const Dim& k1 = ad.back();
  const Dim& k2 = bd[bd.size() - 2];
  if (k1.is_known() && k2.is_known() && k1.value != k2.value) {
    ctx.fail("inner dimensions differ: {} x {}", a.str(), b.str());
  }
  std::vector<std::vector<Dim>> batch = {std::vector<Dim>(ad.begin(), ad.end() - 2),
                                         std::vector<Dim>(bd.begin(), bd.end() - 2)};
  std::vector<Dim> out = broadcast_dims(ctx, batch);
  if (!a1) out.push_back(ad[ad.size() - 2]);
  if (!b1) out.push_back(bd.back());
  return out;
}

void infer_matmul(InferContext& ctx) {
  DType out = ctx.input_dtype(0);
  if (ctx.input_dtype(1) != out) ctx.fail("A and B have different types");
  ctx.set_output(0, TensorType{out, matmul_dims(ctx, ctx.input(0), ctx.input(1))});
}

// lowp::FusedGemm: X[..., K] x W[K, N] (+ bias), W float32 or, for a float32 X, an fp16 or
// bf16 constant read in its low precision (passes/lower_float16.cc).
void infer_fused_gemm(InferContext& ctx) {
  DType out = ctx.input_dtype(0);
  DType w = ctx.input_dtype(1);
  if (w != out && !(out == DType::float32 && (w == DType::float16 || w == DType::bfloat16)))
    ctx.fail("X is {} but W is {}", dtype_name(out), dtype_name(w));
  ctx.set_output(0, TensorType{out, matmul_dims(ctx, ctx.input(0), ctx.input(1))});
}

// lowp::Attention(Q, KT, V [, mask]): softmax(Q x KT * scale + mask) x V, the shape of
// MatMul(MatMul(Q, KT), V).
void infer_attention(InferContext& ctx) {
  for (std::size_t i = 0; i < 3; ++i) {
    if (ctx.input_dtype(i) != DType::float32) ctx.fail("inputs must be float32");
  }
  std::optional<std::vector<Dim>> scores = matmul_dims(ctx, ctx.input(0), ctx.input(1));
  if (!scores) return ctx.set_output(0, TensorType{DType::float32, std::nullopt});
  TensorType st{DType::float32, scores};
  ctx.set_output(0, TensorType{DType::float32, matmul_dims(ctx, st, ctx.input(2))});
}

void infer_matmul_integer(InferContext& ctx) {
  ctx.set_output(0, TensorType{DType::int32, matmul_dims(ctx, ctx.input(0), ctx.input(1))});
}

void infer_batch_norm(InferContext& ctx) {
  if (ctx.node().attr_int("training_mode", 0) != 0) {
    fail_unsupported("node '{}' (BatchNormalization): training_mode 1 is not supported", ctx.node().label());
  }
  const TensorType& x = ctx.input(0);
  if (x.dims && x.rank() < 2) ctx.fail("input must have rank >= 2");
  ctx.set_output(0, x);
}

void infer_softmax(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (x.dims) ctx.axis(ctx.node().attr_int("axis", -1), x.rank());
  ctx.set_output(0, x);
}

void infer_layer_norm(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  ctx.set_output(0, x);
  if (!x.dims) return;
  std::int64_t axis = ctx.axis(ctx.node().attr_int("axis", -1), x.rank());
  std::vector<Dim> stat = *x.dims;
  for (std::size_t i = static_cast<std::size_t>(axis); i < stat.size(); ++i) stat[i] = Dim::known(1);
  DType stash = DType::float32;
  if (ctx.node().has_attribute("stash_type")) {
    auto d = dtype_from_onnx(static_cast<int>(ctx.node().attr_int("stash_type", 1)));
    if (!d) ctx.fail("stash_type is not a supported type");
    stash = *d;
  }
  ctx.set_output(1, TensorType{stash, stat});
  ctx.set_output(2, TensorType{stash, stat});
}

constexpr std::array kSchemas = {
    OpSchema{"", "Conv", 2, 3, 1, 1, infer_conv},
    OpSchema{"", "MaxPool", 1, 1, 1, 2, infer_pool},
    OpSchema{"", "AveragePool", 1, 1, 1, 1, infer_pool},
    OpSchema{"", "GlobalAveragePool", 1, 1, 1, 1, infer_global_pool},
    OpSchema{"", "GlobalMaxPool", 1, 1, 1, 1, infer_global_pool},
    OpSchema{"", "Gemm", 2, 3, 1, 1, infer_gemm},
    OpSchema{"", "MatMul", 2, 2, 1, 1, infer_matmul},
    OpSchema{"", "BatchNormalization", 5, 5, 1, 3, infer_batch_norm},
    OpSchema{"", "Softmax", 1, 1, 1, 1, infer_softmax},
    OpSchema{"", "LogSoftmax", 1, 1, 1, 1, infer_softmax},
    OpSchema{"", "LayerNormalization", 2, 3, 1, 3, infer_layer_norm},
    OpSchema{"", "ConvInteger", 2, 4, 1, 1, infer_conv_integer},
    OpSchema{"", "MatMulInteger", 2, 4, 1, 1, infer_matmul_integer},
    // lowp's fused forms (passes/fuse_*.cc): FusedConv is Conv with an "activation"
    // attribute; FusedGemm is X[..., K] x W[K, N] (+ bias[N]) with one. Export writes
    // them back as standard ops.
    // FusedConv and NhwcConv may take a residual as a 4th input (passes/fuse_conv_add.cc).
    OpSchema{"lowp", "FusedConv", 2, 4, 1, 1, infer_conv},
    OpSchema{"lowp", "FusedGemm", 2, 3, 1, 1, infer_fused_gemm},
    // passes/fuse_attention.cc: MatMul -> scale -> [+ mask] -> Softmax -> MatMul.
    OpSchema{"lowp", "Attention", 3, 4, 1, 1, infer_attention},
    // NHWC forms (passes/layout_nhwc.cc): input and output NHWC, weights in ONNX layout,
    // Conv's / the pools' attributes, plus "activation" on NhwcConv.
    OpSchema{"lowp", "NhwcConv", 2, 4, 1, 1, infer_nhwc_conv},
    OpSchema{"lowp", "NhwcMaxPool", 1, 1, 1, 1, infer_nhwc_pool},
    OpSchema{"lowp", "NhwcQLinearConv", 8, 9, 1, 1, infer_nhwc_qlinear_conv},
    OpSchema{"lowp", "NhwcAveragePool", 1, 1, 1, 1, infer_nhwc_pool},
    OpSchema{"lowp", "NhwcGlobalAveragePool", 1, 1, 1, 1, infer_nhwc_global_pool},
};

}  // namespace

std::span<const OpSchema> nn_schemas() {
  return kSchemas;
}

void infer_qlinear_conv(InferContext& ctx) {
  // Inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, [B].
  const TensorType* bias = ctx.has_input(8) ? &ctx.input(8) : nullptr;
  ctx.set_output(0, TensorType{ctx.input_dtype(7), conv_dims(ctx, ctx.input(0), ctx.input(3), bias)});
}

void infer_qlinear_matmul(InferContext& ctx) {
  // Inputs: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point.
  ctx.set_output(0, TensorType{ctx.input_dtype(7), matmul_dims(ctx, ctx.input(0), ctx.input(3))});
}

}  // namespace lowp::ir
