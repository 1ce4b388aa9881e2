// ir/ops_more.cc: schemas of the ops beyond the core families: Resize and ConvTranspose,
// index and data-movement ops (Trilu, CumSum, Hardmax, TopK, ScatterElements, ScatterND,
// GatherND, OneHot, EyeLike, DepthToSpace, SpaceToDepth, MaxUnpool, ReverseSequence),
// math (Shrink, BitShift, the inverse and hyperbolic trigonometric functions, LRN,
// InstanceNormalization, Einsum) and the losses (NegativeLogLikelihoodLoss,
// SoftmaxCrossEntropyLoss).
#include "ir/ops_more.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>

#include "ir/ops_nn.h"

namespace lowp::ir {
namespace {

// Size arithmetic on values a model declares: an overflow is the model's error, not UB.
std::int64_t mul_or_fail(const InferContext& ctx, std::int64_t a, std::int64_t b) {
  std::int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) ctx.fail("sizes overflow ({} x {})", a, b);
  return r;
}
std::int64_t add_or_fail(const InferContext& ctx, std::int64_t a, std::int64_t b) {
  std::int64_t r;
  if (__builtin_add_overflow(a, b, &r)) ctx.fail("sizes overflow ({} + {})", a, b);
  return r;
}

}  // namespace

// ---- Resize ----

ResizeAttrs resize_attrs(const InferContext& ctx, std::size_t rank) {
  const Node& n = ctx.node();
  ResizeAttrs r;
  std::string mode = n.attr_string("mode", "nearest");
  if (mode == "nearest") r.mode = ResizeAttrs::Mode::nearest;
  else if (mode == "linear") r.mode = ResizeAttrs::Mode::linear;
  else if (mode == "cubic") r.mode = ResizeAttrs::Mode::cubic;
  else ctx.fail("mode '{}' is not nearest, linear or cubic", mode);
  std::string coord = n.attr_string("coordinate_transformation_mode", "half_pixel");
  using C = ResizeAttrs::Coord;
  static const std::map<std::string, C> kCoords = {
      {"half_pixel", C::half_pixel},       {"half_pixel_symmetric", C::half_pixel_symmetric},
      {"pytorch_half_pixel", C::pytorch_half_pixel}, {"align_corners", C::align_corners},
      {"asymmetric", C::asymmetric},       {"tf_half_pixel_for_nn", C::tf_half_pixel_for_nn},
      {"tf_crop_and_resize", C::tf_crop_and_resize}};
  auto c = kCoords.find(coord);
  if (c == kCoords.end()) ctx.fail("coordinate_transformation_mode '{}' is not one ONNX defines", coord);
  r.coord = c->second;
  std::string nearest = n.attr_string("nearest_mode", "round_prefer_floor");
  using N = ResizeAttrs::Nearest;
  if (nearest == "round_prefer_floor") r.nearest = N::round_prefer_floor;
  else if (nearest == "round_prefer_ceil") r.nearest = N::round_prefer_ceil;
  else if (nearest == "floor") r.nearest = N::floor;
  else if (nearest == "ceil") r.nearest = N::ceil;
  else ctx.fail("nearest_mode '{}' is not round_prefer_floor, round_prefer_ceil, floor or ceil", nearest);
  r.cubic_a = n.attr_float("cubic_coeff_a", -0.75f);
  r.exclude_outside = n.attr_int("exclude_outside", 0) != 0;
  r.extrapolation = n.attr_float("extrapolation_value", 0.0f);
  r.antialias = n.attr_int("antialias", 0) != 0;
  std::string aspect = n.attr_string("keep_aspect_ratio_policy", "stretch");
  if (aspect == "stretch") r.aspect = ResizeAspect::stretch;
  else if (aspect == "not_larger") r.aspect = ResizeAspect::not_larger;
  else if (aspect == "not_smaller") r.aspect = ResizeAspect::not_smaller;
  else ctx.fail("keep_aspect_ratio_policy '{}' is not stretch, not_larger or not_smaller", aspect);
  if (n.has_attribute("axes")) {
    std::vector<bool> seen(rank, false);
    for (std::int64_t a : n.attr_ints("axes")) {
      auto axis = static_cast<std::size_t>(ctx.axis(a, rank, "axes entry"));
      if (seen[axis]) ctx.fail("axes repeat axis {}", axis);
      seen[axis] = true;
      r.axes.push_back(static_cast<std::int64_t>(axis));
    }
  } else {
    for (std::size_t a = 0; a < rank; ++a) r.axes.push_back(static_cast<std::int64_t>(a));
  }
  return r;
}

const char* resize_output(std::span<const std::int64_t> in_dims, std::span<const std::int64_t> axes,
                          const float* scales, const std::int64_t* sizes, ResizeAspect aspect,
                          std::int64_t* out_dims, double* out_scales) {
  constexpr double kLimit = 1e12;  // far beyond any tensor; keeps the casts defined
  for (std::size_t a = 0; a < in_dims.size(); ++a) {
    out_dims[a] = in_dims[a];
    out_scales[a] = 1.0;
  }
  if (scales) {
    for (std::size_t i = 0; i < axes.size(); ++i) {
      auto a = static_cast<std::size_t>(axes[i]);
      double s = scales[i];
      if (!(s > 0) || !(s < kLimit)) return "scales must be positive and finite";
      double size = std::floor(static_cast<double>(in_dims[a]) * s);
      if (!(size < kLimit)) return "scales give an output too large";
      out_dims[a] = static_cast<std::int64_t>(size);
      out_scales[a] = s;
    }
    return nullptr;
  }
  for (std::size_t i = 0; i < axes.size(); ++i) {
    auto a = static_cast<std::size_t>(axes[i]);
    if (sizes[i] < 0 || static_cast<double>(sizes[i]) >= kLimit) return "sizes must be non-negative and not huge";
    if (in_dims[a] == 0 && sizes[i] != 0) return "an empty axis cannot be resized to a non-empty one";
    out_dims[a] = sizes[i];
    out_scales[a] = in_dims[a] == 0 ? 1.0 : static_cast<double>(sizes[i]) / static_cast<double>(in_dims[a]);
  }
  if (aspect != ResizeAspect::stretch && !axes.empty()) {
    double scale = out_scales[static_cast<std::size_t>(axes[0])];
    for (std::int64_t a : axes) {
      double s = out_scales[static_cast<std::size_t>(a)];
      scale = aspect == ResizeAspect::not_larger ? std::min(scale, s) : std::max(scale, s);
    }
    for (std::int64_t a : axes) {
      auto d = static_cast<std::size_t>(a);
      out_scales[d] = scale;
      // Rounds half up, as the ONNX reference does.
      double size = scale * static_cast<double>(in_dims[d]) + 0.5;
      if (!(size < kLimit)) return "sizes give an output too large";
      out_dims[d] = static_cast<std::int64_t>(size);
    }
  }
  return nullptr;
}

namespace {

// scales / sizes count as absent when omitted or empty (opset 11-12 pass an empty tensor).
bool present_input(const InferContext& ctx, std::size_t i) {
  if (!ctx.has_input(i)) return false;
  const TensorType& t = ctx.input(i);
  if (t.is_concrete() && t.concrete_shape().elements() == 0) return false;
  return true;
}

void infer_resize(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (!x.dims) return ctx.set_output(0, TensorType{x.dtype, std::nullopt});
  std::size_t rank = x.rank();
  ResizeAttrs attrs = resize_attrs(ctx, rank);
  bool scales = present_input(ctx, 2), sizes = present_input(ctx, 3);
  if (scales == sizes) ctx.fail("exactly one of scales and sizes must be given");
  std::vector<Dim> out = *x.dims;
  std::vector<std::int64_t> in_dims;
  bool known = true;
  for (std::int64_t a : attrs.axes) known = known && (*x.dims)[static_cast<std::size_t>(a)].is_known();
  for (const Dim& d : *x.dims) in_dims.push_back(d.is_known() ? d.value : 0);
  auto unknown_axes = [&] {
    for (std::int64_t a : attrs.axes) out[static_cast<std::size_t>(a)] = Dim{};
    ctx.set_output(0, TensorType{x.dtype, out});
  };
  std::vector<std::int64_t> out_dims(rank);
  std::vector<double> out_scales(rank);
  const char* broken = nullptr;
  if (sizes) {
    if (ctx.input_dtype(3) != DType::int64) ctx.fail("sizes must be int64");
    auto v = ctx.constant_ints(3);
    if (!v || !known) return unknown_axes();
    if (v->size() != attrs.axes.size()) ctx.fail("sizes has {} entries for {} axes", v->size(), attrs.axes.size());
    broken = resize_output(in_dims, attrs.axes, nullptr, v->data(), attrs.aspect, out_dims.data(), out_scales.data());
  } else {
    if (ctx.input_dtype(2) != DType::float32) ctx.fail("scales must be float32");
    const Tensor* s = ctx.constant(2);
    if (!s || !known) return unknown_axes();
    if (s->elements() != attrs.axes.size()) ctx.fail("scales has {} entries for {} axes", s->elements(), attrs.axes.size());
    broken = resize_output(in_dims, attrs.axes, s->values<float>().data(), nullptr, attrs.aspect, out_dims.data(),
                           out_scales.data());
  }
  if (broken) ctx.fail("{}", broken);
  for (std::int64_t a : attrs.axes) out[static_cast<std::size_t>(a)] = Dim::known(out_dims[static_cast<std::size_t>(a)]);
  ctx.set_output(0, TensorType{x.dtype, out});
}

}  // namespace

// ---- ConvTranspose ----

ConvTransposeGeometry conv_transpose_geometry(const InferContext& ctx, const std::vector<std::int64_t>& in,
                                              const std::vector<std::int64_t>& kernel) {
  std::size_t n = kernel.size();
  ConvTransposeGeometry g;
  g.kernel = kernel;
  g.strides = window_attr(ctx, "strides", n, 1);
  g.dilations = window_attr(ctx, "dilations", n, 1);
  g.output_padding = window_attr(ctx, "output_padding", n, 0);
  g.pads = window_attr(ctx, "pads", 2 * n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (g.strides[i] < 1) ctx.fail("strides must be >= 1");
    if (g.dilations[i] < 1) ctx.fail("dilations must be >= 1");
    if (kernel[i] < 1) ctx.fail("kernel size must be >= 1");
    if (g.pads[i] < 0 || g.pads[i + n] < 0) ctx.fail("pads must be >= 0");
    if (g.output_padding[i] < 0) ctx.fail("output_padding must be >= 0");
    // PyTorch's rule (output_padding < stride or dilation) is not ONNX's; any value works.
  }
  std::string auto_pad = ctx.node().attr_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER" && auto_pad != "VALID") {
    ctx.fail("auto_pad '{}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", auto_pad);
  }
  std::vector<std::int64_t> wanted = ctx.node().attr_ints("output_shape");
  if (wanted.size() == n + 2) wanted.erase(wanted.begin(), wanted.begin() + 2);  // N, C given too
  if (!wanted.empty() && wanted.size() != n) ctx.fail("output_shape has {} entries for {} spatial axes", wanted.size(), n);
  bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
  g.output.resize(n);
  constexpr std::int64_t kLimit = std::int64_t{1} << 40;
  for (std::size_t i = 0; i < n; ++i) {
    if (in[i] > kLimit || kernel[i] > kLimit || g.strides[i] > kLimit || g.dilations[i] > kLimit ||
        g.output_padding[i] > kLimit || g.pads[i] > kLimit || g.pads[i + n] > kLimit ||
        (!wanted.empty() && wanted[i] > kLimit)) {
      ctx.fail("sizes are too large");
    }
    std::int64_t extent = add_or_fail(ctx, mul_or_fail(ctx, g.dilations[i], kernel[i] - 1), 1);
    std::int64_t full = add_or_fail(ctx, add_or_fail(ctx, mul_or_fail(ctx, g.strides[i], in[i] - 1), g.output_padding[i]), extent);
    if (!wanted.empty() || same) {
      std::int64_t target = !wanted.empty() ? wanted[i] : mul_or_fail(ctx, in[i], g.strides[i]);
      if (target < 0) ctx.fail("output_shape has a negative entry");
      std::int64_t total = full - target;
      // The ONNX spec: SAME_UPPER puts the smaller half first; otherwise the larger.
      std::int64_t small = total >= 0 ? total / 2 : -((-total + 1) / 2);
      if (auto_pad == "SAME_UPPER") {
        g.pads[i] = small;
        g.pads[i + n] = total - small;
      } else {
        g.pads[i] = total - small;
        g.pads[i + n] = small;
      }
      g.output[i] = target;
      continue;
    }
    if (auto_pad == "VALID") g.pads[i] = g.pads[i + n] = 0;
    std::int64_t out = full - g.pads[i] - g.pads[i + n];
    if (out < 0) ctx.fail("pads leave axis {} with a negative size", i);
    g.output[i] = out;
  }
  return g;
}

namespace {

void infer_conv_transpose(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  const TensorType& w = ctx.input(1);
  DType dtype = ctx.input_dtype(0);
  if (ctx.input_dtype(1) != dtype) ctx.fail("input and weight have different types");
  if (!x.dims || !w.dims) return ctx.set_output(0, TensorType{dtype, std::nullopt});
  if (x.rank() < 3) ctx.fail("input must have rank >= 3 (N, C, spatial...), has {}", x.rank());
  if (w.rank() != x.rank()) ctx.fail("weight rank {} differs from input rank {}", w.rank(), x.rank());
  std::size_t n = x.rank() - 2;
  std::int64_t group = ctx.node().attr_int("group", 1);
  if (group < 1) ctx.fail("group must be >= 1");
  const Dim& c = (*x.dims)[1];
  const Dim& wc = (*w.dims)[0];
  if (c.is_known() && wc.is_known() && c.value != wc.value) ctx.fail("input has {} channels, weight {}", c.value, wc.value);
  if (wc.is_known() && wc.value % group != 0) ctx.fail("{} input channels do not divide into {} groups", wc.value, group);
  const Dim& mg = (*w.dims)[1];
  Dim m = mg.is_known() ? Dim::known(mul_or_fail(ctx, mg.value, group)) : Dim{};
  if (ctx.has_input(2)) {
    const TensorType& b = ctx.input(2);
    if (b.dims && (b.rank() != 1 || (m.is_known() && (*b.dims)[0].is_known() && (*b.dims)[0].value != m.value))) {
      ctx.fail("bias must be 1-D with one entry per output channel");
    }
  }
  std::vector<Dim> out{(*x.dims)[0], m};
  std::vector<std::int64_t> kernel = ctx.node().attr_ints("kernel_shape");
  std::vector<std::int64_t> in;
  bool known = true;
  for (std::size_t i = 0; i < n; ++i) {
    const Dim& d = (*x.dims)[2 + i];
    known = known && d.is_known();
    in.push_back(d.is_known() ? d.value : 0);
  }
  if (kernel.empty()) {
    for (std::size_t i = 0; i < n; ++i) {
      const Dim& k = (*w.dims)[2 + i];
      known = known && k.is_known();
      kernel.push_back(k.is_known() ? k.value : 1);
    }
  }
  if (kernel.size() != n) ctx.fail("kernel_shape has {} entries for {} spatial axes", kernel.size(), n);
  if (!known) {
    out.resize(x.rank());
    return ctx.set_output(0, TensorType{dtype, out});
  }
  ConvTransposeGeometry g = conv_transpose_geometry(ctx, in, kernel);
  for (std::int64_t o : g.output) out.push_back(Dim::known(o));
  ctx.set_output(0, TensorType{dtype, out});
}

// ---- element-wise and same-shape ops ----

void infer_same(InferContext& ctx) {
  ctx.set_output(0, ctx.input(0));
}

void infer_float_unary(InferContext& ctx) {
  DType d = ctx.input_dtype(0);
  if (!dtype_is_float(d)) ctx.fail("input type {} is not a float type", dtype_name(d));
  ctx.set_output(0, ctx.input(0));
}

void infer_bitshift(InferContext& ctx) {
  DType d = ctx.input_dtype(0);
  if (ctx.input_dtype(1) != d) ctx.fail("X and Y have different types");
  if (d != DType::uint8 && d != DType::uint16 && d != DType::uint32 && d != DType::uint64) {
    ctx.fail("type {} is not an unsigned integer type", dtype_name(d));
  }
  std::string dir = ctx.node().attr_string("direction", "");
  if (dir != "LEFT" && dir != "RIGHT") ctx.fail("direction must be LEFT or RIGHT, not '{}'", dir);
  const TensorType& a = ctx.input(0);
  const TensorType& b = ctx.input(1);
  if (!a.dims || !b.dims) return ctx.set_output(0, TensorType{d, std::nullopt});
  std::vector<std::vector<Dim>> both = {*a.dims, *b.dims};
  ctx.set_output(0, TensorType{d, broadcast_dims(ctx, both)});
}

void require_rank_at_least(const InferContext& ctx, std::size_t i, std::size_t rank, const char* what) {
  const TensorType& t = ctx.input(i);
  if (t.dims && t.rank() < rank) ctx.fail("{} must have rank >= {}, has {}", what, rank, t.rank());
}

void infer_trilu(InferContext& ctx) {
  require_rank_at_least(ctx, 0, 2, "input");
  if (ctx.has_input(1)) {
    DType k = ctx.input_dtype(1);
    if (k != DType::int64) ctx.fail("k must be int64");
  }
  ctx.set_output(0, ctx.input(0));
}

void infer_axis_op(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (x.dims) ctx.axis(ctx.node().attr_int("axis", -1), x.rank());
  ctx.set_output(0, x);
}

void infer_cumsum(InferContext& ctx) {
  DType a = ctx.input_dtype(1);
  if (a != DType::int64 && a != DType::int32) ctx.fail("axis must be int32 or int64");
  const TensorType& x = ctx.input(0);
  if (auto axis = ctx.constant_ints(1); axis && x.dims) {
    if (axis->size() != 1) ctx.fail("axis must hold one value");
    ctx.axis((*axis)[0], x.rank());
  }
  ctx.set_output(0, x);
}

void infer_topk(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (ctx.input_dtype(1) != DType::int64) ctx.fail("K must be int64");
  std::optional<std::vector<Dim>> out = x.dims;
  if (out) {
    auto axis = static_cast<std::size_t>(ctx.axis(ctx.node().attr_int("axis", -1), x.rank()));
    auto k = ctx.constant_ints(1);
    if (k) {
      if (k->size() != 1) ctx.fail("K must hold one value");
      if ((*k)[0] < 0) ctx.fail("K is negative");
      const Dim& d = (*out)[axis];
      if (d.is_known() && (*k)[0] > d.value) ctx.fail("K = {} exceeds axis {} of size {}", (*k)[0], axis, d.value);
      (*out)[axis] = Dim::known((*k)[0]);
    } else {
      (*out)[axis] = Dim{};
    }
  }
  ctx.set_output(0, TensorType{x.dtype, out});
  ctx.set_output(1, TensorType{DType::int64, out});
}

void check_index_dtype(const InferContext& ctx, std::size_t i, const char* what) {
  DType d = ctx.input_dtype(i);
  if (d != DType::int64 && d != DType::int32) ctx.fail("{} must be int32 or int64, not {}", what, dtype_name(d));
}

void check_reduction(const InferContext& ctx) {
  std::string r = ctx.node().attr_string("reduction", "none");
  if (r != "none" && r != "add" && r != "mul" && r != "max" && r != "min") {
    ctx.fail("reduction '{}' is not none, add, mul, max or min", r);
  }
}

void infer_scatter_elements(InferContext& ctx) {
  check_index_dtype(ctx, 1, "indices");
  if (ctx.input_dtype(2) != ctx.input_dtype(0)) ctx.fail("updates and data have different types");
  check_reduction(ctx);
  const TensorType& d = ctx.input(0);
  const TensorType& i = ctx.input(1);
  const TensorType& u = ctx.input(2);
  if (d.dims && i.dims && d.rank() != i.rank()) ctx.fail("data and indices ranks differ");
  if (i.dims && u.dims && i.rank() != u.rank()) ctx.fail("indices and updates ranks differ");
  if (d.dims) ctx.axis(ctx.node().attr_int("axis", 0), d.rank());
  ctx.set_output(0, d);
}

void infer_scatter_nd(InferContext& ctx) {
  if (ctx.input_dtype(1) != DType::int64) ctx.fail("indices must be int64");
  if (ctx.input_dtype(2) != ctx.input_dtype(0)) ctx.fail("updates and data have different types");
  check_reduction(ctx);
  require_rank_at_least(ctx, 0, 1, "data");
  require_rank_at_least(ctx, 1, 1, "indices");
  ctx.set_output(0, ctx.input(0));
}

void infer_gather_nd(InferContext& ctx) {
  if (ctx.input_dtype(1) != DType::int64) ctx.fail("indices must be int64");
  const TensorType& d = ctx.input(0);
  const TensorType& i = ctx.input(1);
  std::int64_t b = ctx.node().attr_int("batch_dims", 0);
  if (b < 0) ctx.fail("batch_dims must be >= 0");
  if (!d.dims || !i.dims) return ctx.set_output(0, TensorType{d.dtype, std::nullopt});
  auto batch = static_cast<std::size_t>(b);
  if (d.rank() < 1 || i.rank() < 1) ctx.fail("data and indices must have rank >= 1");
  if (batch >= std::min(d.rank(), i.rank())) ctx.fail("batch_dims {} must be less than both ranks", b);
  const Dim& last = i.dims->back();
  if (!last.is_known()) return ctx.set_output(0, TensorType{d.dtype, std::nullopt});
  auto k = static_cast<std::size_t>(last.value);
  if (k < 1 || batch + k > d.rank()) ctx.fail("indices' last dim {} does not fit data of rank {} after {} batch dims", k, d.rank(), batch);
  for (std::size_t a = 0; a < batch; ++a) {
    const Dim& x = (*d.dims)[a];
    const Dim& y = (*i.dims)[a];
    if (x.is_known() && y.is_known() && x.value != y.value) ctx.fail("batch dim {} differs: {} and {}", a, x.value, y.value);
  }
  std::vector<Dim> out(i.dims->begin(), i.dims->end() - 1);
  out.insert(out.end(), d.dims->begin() + static_cast<std::ptrdiff_t>(batch + k), d.dims->end());
  ctx.set_output(0, TensorType{d.dtype, out});
}

void infer_one_hot(InferContext& ctx) {
  const TensorType& idx = ctx.input(0);
  DType vt = ctx.input_dtype(2);
  const TensorType& values = ctx.input(2);
  if (values.is_concrete() && values.concrete_shape().elements() != 2) ctx.fail("values must hold two elements");
  if (!idx.dims) return ctx.set_output(0, TensorType{vt, std::nullopt});
  std::size_t rank = idx.rank() + 1;
  auto axis = static_cast<std::size_t>(ctx.axis(ctx.node().attr_int("axis", -1), rank));
  Dim depth;
  if (const Tensor* t = ctx.constant(1)) {
    if (t->elements() != 1) ctx.fail("depth must hold one value");
    double v = 0;
    switch (t->dtype()) {
      case DType::float32: v = t->values<float>()[0]; break;
      case DType::float64: v = t->values<double>()[0]; break;
      case DType::int32: v = t->values<std::int32_t>()[0]; break;
      case DType::int64: v = static_cast<double>(t->values<std::int64_t>()[0]); break;
      default: ctx.fail("depth of type {} is not supported", dtype_name(t->dtype()));
    }
    if (!(v >= 1 && v < 1e12)) ctx.fail("depth {} must be >= 1", v);
    depth = Dim::known(static_cast<std::int64_t>(v));
  }
  std::vector<Dim> out = *idx.dims;
  out.insert(out.begin() + static_cast<std::ptrdiff_t>(axis), depth);
  ctx.set_output(0, TensorType{vt, out});
}

void infer_eye_like(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (x.dims && x.rank() != 2) ctx.fail("input must be 2-D, is {}", x.str());
  std::optional<DType> d = x.dtype;
  if (ctx.node().has_attribute("dtype")) {
    d = dtype_from_onnx(static_cast<int>(ctx.node().attr_int("dtype", 1)));
    if (!d) ctx.fail("dtype is not a type lowp supports");
  }
  ctx.set_output(0, TensorType{d, x.dims});
}

void infer_space_depth(InferContext& ctx, bool to_space) {
  const TensorType& x = ctx.input(0);
  std::int64_t b = ctx.node().attr_int("blocksize", 0);
  if (b < 1 || b > (std::int64_t{1} << 20)) ctx.fail("blocksize must be in [1, 2^20]");
  if (to_space) {
    std::string mode = ctx.node().attr_string("mode", "DCR");
    if (mode != "DCR" && mode != "CRD") ctx.fail("mode '{}' is not DCR or CRD", mode);
  }
  if (!x.dims) return ctx.set_output(0, TensorType{x.dtype, std::vector<Dim>(4)});
  if (x.rank() != 4) ctx.fail("input must have rank 4, has {}", x.rank());
  std::vector<Dim> d = *x.dims;
  auto scale = [&](const Dim& v, bool up, const char* what) {
    if (!v.is_known()) return Dim{};
    if (up) return Dim::known(mul_or_fail(ctx, v.value, b));
    if (v.value % b != 0) ctx.fail("{} {} is not a multiple of blocksize {}", what, v.value, b);
    return Dim::known(v.value / b);
  };
  if (to_space) {
    const Dim& c = d[1];
    if (c.is_known() && c.value % (b * b) != 0) ctx.fail("channels {} are not a multiple of blocksize^2 = {}", c.value, b * b);
    d[1] = c.is_known() ? Dim::known(c.value / (b * b)) : Dim{};
    d[2] = scale(d[2], true, "height");
    d[3] = scale(d[3], true, "width");
  } else {
    d[1] = d[1].is_known() ? Dim::known(mul_or_fail(ctx, d[1].value, b * b)) : Dim{};
    d[2] = scale(d[2], false, "height");
    d[3] = scale(d[3], false, "width");
  }
  ctx.set_output(0, TensorType{x.dtype, d});
}
void infer_depth_to_space(InferContext& ctx) { infer_space_depth(ctx, true); }
void infer_space_to_depth(InferContext& ctx) { infer_space_depth(ctx, false); }

void infer_lrn(InferContext& ctx) {
  std::int64_t size = ctx.node().attr_int("size", 0);
  if (size < 1) ctx.fail("size must be >= 1");
  require_rank_at_least(ctx, 0, 3, "input");
  infer_float_unary(ctx);
}

void infer_instance_norm(InferContext& ctx) {
  require_rank_at_least(ctx, 0, 3, "input");
  infer_float_unary(ctx);
}

void infer_max_unpool(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (ctx.input_dtype(1) != DType::int64) ctx.fail("indices must be int64");
  if (!x.dims) return ctx.set_output(0, TensorType{x.dtype, std::nullopt});
  if (x.rank() < 3) ctx.fail("input must have rank >= 3, has {}", x.rank());
  std::size_t n = x.rank() - 2;
  std::vector<std::int64_t> kernel = ctx.node().attr_ints("kernel_shape");
  if (kernel.size() != n) ctx.fail("kernel_shape must have {} entries", n);
  std::vector<std::int64_t> strides = window_attr(ctx, "strides", n, 1);
  std::vector<std::int64_t> pads = window_attr(ctx, "pads", 2 * n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (kernel[i] < 1 || strides[i] < 1 || pads[i] < 0 || pads[i + n] < 0) ctx.fail("kernel, strides and pads must be positive");
  }
  if (ctx.has_input(2)) {
    auto shape = ctx.constant_ints(2);
    if (!shape) return ctx.set_output(0, TensorType{x.dtype, std::vector<Dim>(x.rank())});
    if (shape->size() != x.rank()) ctx.fail("output_shape has {} entries for rank {}", shape->size(), x.rank());
    std::vector<Dim> out;
    for (std::int64_t s : *shape) {
      if (s < 0) ctx.fail("output_shape has a negative entry");
      out.push_back(Dim::known(s));
    }
    return ctx.set_output(0, TensorType{x.dtype, out});
  }
  std::vector<Dim> out{(*x.dims)[0], (*x.dims)[1]};
  for (std::size_t i = 0; i < n; ++i) {
    const Dim& d = (*x.dims)[2 + i];
    if (!d.is_known()) {
      out.push_back(Dim{});
      continue;
    }
    constexpr std::int64_t kLimit = std::int64_t{1} << 40;
    if (strides[i] > kLimit || kernel[i] > kLimit || pads[i] > kLimit || pads[i + n] > kLimit) ctx.fail("sizes are too large");
    std::int64_t o = add_or_fail(ctx, mul_or_fail(ctx, d.value - 1, strides[i]), kernel[i] - pads[i] - pads[i + n]);
    if (o < 0) ctx.fail("pads leave axis {} with a negative size", i);
    out.push_back(Dim::known(o));
  }
  ctx.set_output(0, TensorType{x.dtype, out});
}

void infer_reverse_sequence(InferContext& ctx) {
  const TensorType& x = ctx.input(0);
  if (ctx.input_dtype(1) != DType::int64) ctx.fail("sequence_lens must be int64");
  std::int64_t b = ctx.node().attr_int("batch_axis", 1);
  std::int64_t t = ctx.node().attr_int("time_axis", 0);
  if (!((b == 0 && t == 1) || (b == 1 && t == 0))) ctx.fail("batch_axis and time_axis must be 0 and 1 in some order");
  require_rank_at_least(ctx, 0, 2, "input");
  ctx.set_output(0, x);
}

void infer_einsum(InferContext& ctx) {
  std::string eq = ctx.node().attr_string("equation", "");
  DType d = ctx.input_dtype(0);
  std::vector<std::size_t> ranks;
  for (std::size_t i = 0; i < ctx.input_count(); ++i) {
    if (ctx.input_dtype(i) != d) ctx.fail("inputs 0 and {} have different types", i);
    const TensorType& t = ctx.input(i);
    if (!t.dims) return ctx.set_output(0, TensorType{d, std::nullopt});
    ranks.push_back(t.rank());
  }
  EinsumTerms terms = einsum_terms(ctx, eq, ranks);
  std::map<int, Dim> size;
  for (std::size_t i = 0; i < terms.inputs.size(); ++i) {
    const std::vector<Dim>& dims = *ctx.input(i).dims;
    for (std::size_t a = 0; a < dims.size(); ++a) {
      int label = terms.inputs[i][a];
      const Dim& dim = dims[a];
      auto [it, fresh] = size.emplace(label, dim);
      if (fresh) continue;
      Dim& have = it->second;
      if (!dim.is_known() || (dim.value == 1 && label >= kEinsumEllipsis)) continue;
      if (!have.is_known() || (have.value == 1 && label >= kEinsumEllipsis)) {
        have = dim;
      } else if (have.value != dim.value) {
        ctx.fail("a label has sizes {} and {}", have.value, dim.value);
      }
    }
  }
  std::vector<Dim> out;
  for (int label : terms.output) out.push_back(size[label]);
  ctx.set_output(0, TensorType{d, out});
}

// ---- losses ----

void check_loss(const InferContext& ctx, std::size_t target_input) {
  std::string r = ctx.node().attr_string("reduction", "mean");
  if (r != "none" && r != "sum" && r != "mean") ctx.fail("reduction '{}' is not none, sum or mean", r);
  check_index_dtype(ctx, target_input, "target");
  if (ctx.has_input(2) && ctx.input_dtype(2) != ctx.input_dtype(0)) ctx.fail("weights and input have different types");
  const TensorType& x = ctx.input(0);
  const TensorType& t = ctx.input(target_input);
  if (x.dims && x.rank() < 2) ctx.fail("input must have rank >= 2 (N, C, ...)");
  if (x.dims && t.dims) {
    if (t.rank() + 1 != x.rank()) ctx.fail("target {} must have the input's {} dims without C", t.str(), x.str());
    for (std::size_t a = 0; a < t.rank(); ++a) {
      const Dim& xd = (*x.dims)[a == 0 ? 0 : a + 1];
      const Dim& td = (*t.dims)[a];
      if (xd.is_known() && td.is_known() && xd.value != td.value) ctx.fail("target {} does not match input {}", t.str(), x.str());
    }
  }
}

TensorType loss_output(const InferContext& ctx, std::size_t target_input) {
  DType d = ctx.input_dtype(0);
  if (ctx.node().attr_string("reduction", "mean") != "none") return TensorType{d, std::vector<Dim>{}};
  return TensorType{d, ctx.input(target_input).dims};
}

void infer_nll_loss(InferContext& ctx) {
  check_loss(ctx, 1);
  ctx.set_output(0, loss_output(ctx, 1));
}

void infer_sce_loss(InferContext& ctx) {
  check_loss(ctx, 1);
  ctx.set_output(0, loss_output(ctx, 1));
  ctx.set_output(1, ctx.input(0));
}

constexpr int kMany = 1 << 20;

constexpr std::array kSchemas = {
    OpSchema{"", "Resize", 1, 4, 1, 1, infer_resize},
    OpSchema{"", "ConvTranspose", 2, 3, 1, 1, infer_conv_transpose},
    OpSchema{"", "Trilu", 1, 2, 1, 1, infer_trilu},
    OpSchema{"", "CumSum", 2, 2, 1, 1, infer_cumsum},
    OpSchema{"", "Hardmax", 1, 1, 1, 1, infer_axis_op},
    OpSchema{"", "TopK", 2, 2, 2, 2, infer_topk},
    OpSchema{"", "ScatterElements", 3, 3, 1, 1, infer_scatter_elements},
    OpSchema{"", "ScatterND", 3, 3, 1, 1, infer_scatter_nd},
    OpSchema{"", "GatherND", 2, 2, 1, 1, infer_gather_nd},
    OpSchema{"", "OneHot", 3, 3, 1, 1, infer_one_hot},
    OpSchema{"", "EyeLike", 1, 1, 1, 1, infer_eye_like},
    OpSchema{"", "DepthToSpace", 1, 1, 1, 1, infer_depth_to_space},
    OpSchema{"", "SpaceToDepth", 1, 1, 1, 1, infer_space_to_depth},
    OpSchema{"", "MaxUnpool", 2, 3, 1, 1, infer_max_unpool},
    OpSchema{"", "ReverseSequence", 2, 2, 1, 1, infer_reverse_sequence},
    OpSchema{"", "Shrink", 1, 1, 1, 1, infer_same},
    OpSchema{"", "BitShift", 2, 2, 1, 1, infer_bitshift},
    OpSchema{"", "Acos", 1, 1, 1, 1, infer_float_unary},
    OpSchema{"", "Asin", 1, 1, 1, 1, infer_float_unary},
    OpSchema{"", "Atan", 1, 1, 1, 1, infer_float_unary},
    OpSchema{"", "Acosh", 1, 1, 1, 1, infer_float_unary},
    OpSchema{"", "Asinh", 1, 1, 1, 1, infer_float_unary},
    OpSchema{"", "Atanh", 1, 1, 1, 1, infer_float_unary},
    OpSchema{"", "Cosh", 1, 1, 1, 1, infer_float_unary},
    OpSchema{"", "Sinh", 1, 1, 1, 1, infer_float_unary},
    OpSchema{"", "Tan", 1, 1, 1, 1, infer_float_unary},
    OpSchema{"", "LRN", 1, 1, 1, 1, infer_lrn},
    OpSchema{"", "InstanceNormalization", 3, 3, 1, 1, infer_instance_norm},
    OpSchema{"", "Einsum", 1, kMany, 1, 1, infer_einsum},
    OpSchema{"", "NegativeLogLikelihoodLoss", 2, 3, 1, 1, infer_nll_loss},
    OpSchema{"", "SoftmaxCrossEntropyLoss", 2, 3, 1, 2, infer_sce_loss},
};

}  // namespace

// ---- Einsum ----

EinsumTerms einsum_terms(const InferContext& ctx, const std::string& equation, std::span<const std::size_t> ranks) {
  std::string eq;
  for (char c : equation) {
    if (c != ' ') eq += c;
  }
  std::string lhs = eq, rhs;
  bool explicit_output = false;
  if (auto arrow = eq.find("->"); arrow != std::string::npos) {
    lhs = eq.substr(0, arrow);
    rhs = eq.substr(arrow + 2);
    explicit_output = true;
  }
  auto label_of = [&](char c) -> int {
    if (c >= 'a' && c <= 'z') return c - 'a';
    if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
    ctx.fail("equation '{}' has a character '{}' that is not a letter", equation, c);
  };
  // Splits a term into the labels before and after its ellipsis (if any).
  struct Term {
    std::vector<int> before, after;
    bool ellipsis = false;
  };
  auto parse_term = [&](const std::string& s) {
    Term t;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '.') {
        if (t.ellipsis || s.compare(i, 3, "...") != 0) ctx.fail("equation '{}' has a malformed ellipsis", equation);
        t.ellipsis = true;
        i += 2;
        continue;
      }
      (t.ellipsis ? t.after : t.before).push_back(label_of(s[i]));
    }
    return t;
  };
  std::vector<Term> terms;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = lhs.find(',', start);
    terms.push_back(parse_term(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != ranks.size()) ctx.fail("equation '{}' has {} terms for {} inputs", equation, terms.size(), ranks.size());
  std::size_t ellipsis_rank = 0;
  EinsumTerms out;
  for (std::size_t i = 0; i < terms.size(); ++i) {
    const Term& t = terms[i];
    std::size_t named = t.before.size() + t.after.size();
    if (t.ellipsis ? named > ranks[i] : named != ranks[i]) {
      ctx.fail("equation '{}': term {} names {} dims, input {} has rank {}", equation, i, named, i, ranks[i]);
    }
    if (t.ellipsis) ellipsis_rank = std::max(ellipsis_rank, ranks[i] - named);
  }
  std::map<int, int> count;
  for (std::size_t i = 0; i < terms.size(); ++i) {
    const Term& t = terms[i];
    std::vector<int> labels = t.before;
    if (t.ellipsis) {
      std::size_t e = ranks[i] - t.before.size() - t.after.size();
      for (std::size_t j = 0; j < e; ++j) labels.push_back(kEinsumEllipsis + static_cast<int>(ellipsis_rank - e + j));
    }
    labels.insert(labels.end(), t.after.begin(), t.after.end());
    for (int l : labels) {
      if (l < kEinsumEllipsis) ++count[l];
    }
    out.inputs.push_back(std::move(labels));
  }
  if (explicit_output) {
    Term t = parse_term(rhs);
    out.output = t.before;
    if (t.ellipsis) {
      for (std::size_t j = 0; j < ellipsis_rank; ++j) out.output.push_back(kEinsumEllipsis + static_cast<int>(j));
    } else if (ellipsis_rank > 0) {
      // numpy requires the ellipsis in the output when an input has one with dims.
      ctx.fail("equation '{}': the output must keep the ellipsis", equation);
    }
    out.output.insert(out.output.end(), t.after.begin(), t.after.end());
    std::set<int> seen;
    for (int l : out.output) {
      if (!seen.insert(l).second) ctx.fail("equation '{}' repeats an output label", equation);
      if (l < kEinsumEllipsis && !count.contains(l)) ctx.fail("equation '{}': an output label is in no input", equation);
    }
  } else {
    for (std::size_t j = 0; j < ellipsis_rank; ++j) out.output.push_back(kEinsumEllipsis + static_cast<int>(j));
    // ASCII order: 'A'..'Z' before 'a'..'z'.
    std::vector<int> once;
    for (const auto& [l, c] : count) {
      if (c == 1) once.push_back(l);
    }
    std::sort(once.begin(), once.end(), [](int a, int b) { return (a >= 26 ? a - 26 : a + 26) < (b >= 26 ? b - 26 : b + 26); });
    out.output.insert(out.output.end(), once.begin(), once.end());
  }
  return out;
}

std::span<const OpSchema> more_op_schemas() {
  return kSchemas;
}

}  // namespace lowp::ir
