// runtime/ops/resize.cc: Resize (opset 11-21 semantics; Upsample and Resize-10 arrive as
// Resize through the importer).
//
// Resize is separable: along each axis, output coordinate o reads a few input indices
// ("taps") with weights, and an output element is the nested sum over the axes' taps, the
// innermost axis first, as the ONNX reference computes it. So the op is planned as one table
// per axis (indices clamped into the axis, weights, and for tf_crop_and_resize whether the
// coordinate falls outside and takes extrapolation_value), computed at bind when scales /
// sizes / roi are constants. When they arrive at run time (the model declares the output
// shape), run() recomputes the tables into storage sized at bind; values that do not give
// the bound output shape produce zeros, since run() cannot report.
//
// Coordinates follow the ONNX reference (onnx/reference/ops/op_resize.py): x_original is
// computed in double from the scale (the given float scale, or out / in for sizes), the
// taps are the n input indices nearest to it (edge-clamped), with ratio in (0, 1]; nearest
// rounds as nearest_mode says, linear and cubic (Keys, cubic_coeff_a) weight 2 and 4 taps,
// antialias widens the filter by 1 / scale when downsampling and normalizes, and
// exclude_outside zeroes the taps outside the input and renormalizes. One documented choice:
// pytorch_half_pixel with an output of length 1 maps to 0, as the spec and onnxruntime say
// (the reference uses -0.5, which differs only for cubic).
//
// Kernels: nearest moves elements (any dtype, by width) through per-axis offset tables;
// linear and cubic on float32 with only the last two axes resized (NCHW images) run a 2-D
// kernel over planes, threaded by output rows; everything else (other float and integer
// types, other axes) runs the general nested loop in double. Integer outputs round to
// nearest and saturate. Results do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "ir/ops_more.h"
#include "runtime/op.h"
#include "runtime/ops/op_util.h"

namespace lowp::runtime {
namespace {

using Index = std::int64_t;
using ir::ResizeAttrs;

struct AxisTable {
  Index in = 0, out = 0;
  int taps = 1;                // taps per output coordinate, as planned now
  int capacity = 1;            // taps the storage holds per coordinate
  std::vector<Index> index;    // [out][taps] (stride `taps`), clamped into [0, in)
  std::vector<double> weight;  // [out][taps]
  std::vector<char> outside;   // [out]: tf_crop_and_resize extrapolates
  bool any_outside = false;
  bool identity = false;       // one tap, index o, weight 1
};

// Keys' cubic convolution kernel.
double cubic_kernel(double x, double a) {
  x = std::abs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

class ResizeOp final : public BoundOp {
 public:
  explicit ResizeOp(const BindArgs& a) {
    const TensorInfo& x = a.in(0);
    std::size_t rank = x.shape.rank();
    ir::InferContext ictx(a.node);
    attrs_ = ir::resize_attrs(ictx, rank);
    in_dims_ = x.shape.dims();
    out_dims_ = a.out(0).shape.dims();
    if (out_dims_.size() != rank || a.out(0).dtype != x.dtype) a.fail("output must have the input's type and rank");
    dtype_ = x.dtype;
    if (dtype_bits(dtype_) % 8 != 0) a.unsupported("packed {} tensors are not supported", dtype_name(dtype_));
    bool arithmetic = dtype_is_float(dtype_) || dtype_is_signed(dtype_) || dtype_ == DType::uint8 ||
                      dtype_ == DType::uint16 || dtype_ == DType::uint32 || dtype_ == DType::uint64;
    bool dispatchable = (arithmetic || dtype_ == DType::boolean) && dtype_ != DType::float8e4m3fn && dtype_ != DType::float8e5m2;
    if (attrs_.mode != ResizeAttrs::Mode::nearest && !(arithmetic && dispatchable)) {
      a.unsupported("linear and cubic modes on {} are not supported", dtype_name(dtype_));
    }
    auto present = [&](std::size_t i) { return a.has(i) && a.in(i).shape.elements() > 0; };
    has_scales_ = present(2);
    has_sizes_ = present(3);
    if (has_scales_ == has_sizes_) a.fail("exactly one of scales and sizes must be given");
    std::size_t naxes = attrs_.axes.size();
    if (has_scales_) {
      if (a.in(2).dtype != DType::float32 || a.in(2).shape.elements() != naxes) a.fail("scales must be float32[{}]", naxes);
    } else if (a.in(3).dtype != DType::int64 || a.in(3).shape.elements() != naxes) {
      a.fail("sizes must be int64[{}]", naxes);
    }
    crop_ = attrs_.coord == ResizeAttrs::Coord::tf_crop_and_resize;
    if (crop_) {
      if (!present(1)) a.fail("tf_crop_and_resize needs roi");
      roi_dtype_ = a.in(1).dtype;
      if (roi_dtype_ != DType::float32 && roi_dtype_ != DType::float64 && roi_dtype_ != DType::float16) {
        a.fail("roi must be float16, float32 or float64");
      }
      if (a.in(1).shape.elements() != 2 * naxes) a.fail("roi must hold {} values (starts, then ends)", 2 * naxes);
    }
    roi_.assign(2 * rank, 0.0);
    for (std::size_t d = 0; d < rank; ++d) roi_[rank + d] = 1.0;
    plan_dims_.resize(rank);
    plan_scales_.resize(rank);
    // Storage: the taps the mode needs at most for these shapes (antialias widens the
    // filter by 1 / scale; a valid scale is at least about out / in).
    tables_.resize(rank);
    for (std::size_t d = 0; d < rank; ++d) {
      AxisTable& t = tables_[d];
      t.in = in_dims_[d];
      t.out = out_dims_[d];
      int base = attrs_.mode == ResizeAttrs::Mode::nearest ? 1 : attrs_.mode == ResizeAttrs::Mode::linear ? 2 : 4;
      double cap = base;
      if (attrs_.antialias && attrs_.mode != ResizeAttrs::Mode::nearest && t.out > 0) {
        double min_scale = std::max(static_cast<double>(t.out) - 0.5, 0.5) / static_cast<double>(std::max<Index>(t.in, 1));
        cap = std::max(cap, base / std::min(min_scale, 1.0) + 4);
      }
      if (cap > 1e7) a.fail("antialiasing axis {} ({} -> {}) needs too wide a filter", d, t.in, t.out);
      t.capacity = static_cast<int>(cap);
      auto slots = static_cast<std::size_t>(t.out) * static_cast<std::size_t>(t.capacity);
      t.index.resize(slots);
      t.weight.resize(slots);
      t.outside.resize(static_cast<std::size_t>(t.out));
    }
    offsets_.resize(rank);
    for (std::size_t d = 0; d < rank; ++d) offsets_[d].resize(static_cast<std::size_t>(out_dims_[d]));
    in_strides_.assign(rank, 1);
    for (std::size_t d = rank; d-- > 1;) in_strides_[d - 1] = in_strides_[d] * in_dims_[d];
    out_elements_ = a.out(0).shape.elements();
    width_ = dtype_storage_bytes(dtype_, 1);
    // extrapolation_value in the output's type.
    extrap_.resize(width_);
    if (dispatchable) {
      dispatch_dtype(dtype_, "Resize", [&]<class T>() {
        T v = to_output<T>(attrs_.extrapolation);
        std::memcpy(extrap_.data(), &v, sizeof(T));
      });
    } else if (crop_) {
      a.unsupported("extrapolation into {} is not supported", dtype_name(dtype_));
    }
    if (rank >= 2) {
      wh_.resize(tables_[rank - 2].weight.size());
      ww_.resize(tables_[rank - 1].weight.size());
      wcol_.resize(tables_[rank - 1].index.size());
    }
    fixed_ = (!has_scales_ || a.in(2).constant) && (!has_sizes_ || a.in(3).constant) && (!crop_ || a.in(1).constant);
    if (fixed_) {
      const float* scales = has_scales_ ? a.in(2).constant->values<float>().data() : nullptr;
      const Index* sizes = has_sizes_ ? a.in(3).constant->values<std::int64_t>().data() : nullptr;
      if (crop_) read_roi(a.in(1).constant->raw());
      if (const char* broken = plan(scales, sizes)) a.fail("{}", broken);
    }
  }

  void run(const RunContext& ctx) override {
    if (!fixed_) {
      if (crop_) read_roi(ctx.inputs[1]);
      const float* scales = has_scales_ ? ctx.in<float>(2) : nullptr;
      const Index* sizes = has_sizes_ ? ctx.in<Index>(3) : nullptr;
      if (plan(scales, sizes) != nullptr) {
        if (out_elements_) std::memset(ctx.outputs[0], 0, out_elements_ * width_);  // see the top
        return;
      }
    }
    if (out_elements_ == 0) return;
    if (attrs_.mode == ResizeAttrs::Mode::nearest) {
      switch (width_) {
        case 1: return run_nearest<std::uint8_t>(ctx);
        case 2: return run_nearest<std::uint16_t>(ctx);
        case 4: return run_nearest<std::uint32_t>(ctx);
        default: return run_nearest<std::uint64_t>(ctx);
      }
    }
    if (fast_) return run_fast_f32(ctx);
    dispatch_dtype(dtype_, "Resize", [&]<class T>() {
      if constexpr (!std::is_same_v<T, bool>) run_general<T>(ctx);
    });
  }

  std::string kernel() const override {
    if (attrs_.mode == ResizeAttrs::Mode::nearest) return "resize_nearest";
    return fixed_ && fast_ ? "resize_f32_2d" : "resize_reference";
  }

 private:
  template <class T>
  static T to_output(double v) {
    using C = compute_t<T>;
    if constexpr (std::is_same_v<T, bool>) {
      return v != 0;
    } else if constexpr (std::is_integral_v<C>) {
      if (std::isnan(v)) return T{0};
      v = std::nearbyint(v);
      if (v <= static_cast<double>(std::numeric_limits<C>::lowest())) return std::numeric_limits<C>::lowest();
      if (v >= static_cast<double>(std::numeric_limits<C>::max())) return std::numeric_limits<C>::max();
      return static_cast<T>(v);
    } else {
      return store_value<T>(static_cast<C>(v));
    }
  }

  void read_roi(const std::byte* p) {
    std::size_t rank = in_dims_.size(), n = attrs_.axes.size();
    for (std::size_t i = 0; i < 2 * n; ++i) {
      double v = 0;
      if (roi_dtype_ == DType::float32) {
        float f;
        std::memcpy(&f, p + 4 * i, 4);
        v = f;
      } else if (roi_dtype_ == DType::float64) {
        std::memcpy(&v, p + 8 * i, 8);
      } else {
        std::uint16_t b;
        std::memcpy(&b, p + 2 * i, 2);
        v = float16::from_bits(b).to_float();
      }
      auto axis = static_cast<std::size_t>(attrs_.axes[i % n]);
      roi_[i < n ? axis : rank + axis] = v;
    }
  }

  // x_original of output coordinate o along axis d; sets `outside` for tf_crop_and_resize.
  double source_coordinate(std::size_t d, Index o, double scale, bool& outside) const {
    using C = ResizeAttrs::Coord;
    auto in = static_cast<double>(in_dims_[d]);
    double out_f = scale * in;  // the output length before flooring, as the reference uses
    auto x = static_cast<double>(o);
    outside = false;
    switch (attrs_.coord) {
      case C::half_pixel: return (x + 0.5) / scale - 0.5;
      case C::half_pixel_symmetric: {
        double adjustment = static_cast<double>(out_dims_[d]) / out_f;
        double offset = in / 2 * (1 - adjustment);
        return offset + (x + 0.5) / scale - 0.5;
      }
      case C::pytorch_half_pixel: return out_dims_[d] > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
      case C::align_corners: return out_f == 1 ? 0.0 : x * (in - 1) / (out_f - 1);
      case C::asymmetric: return x / scale;
      case C::tf_half_pixel_for_nn: return (x + 0.5) / scale;
      case C::tf_crop_and_resize: {
        std::size_t rank = in_dims_.size();
        double start = roi_[d], end = roi_[rank + d];
        double v = out_f == 1 ? (end - start) * (in - 1) / 2 : x * (end - start) * (in - 1) / (out_f - 1);
        v += start * (in - 1);
        outside = !(v >= 0 && v <= in - 1);
        return v;
      }
    }
    return x;
  }

  // Fills the tables from scales or sizes (and roi_); the rule broken, or nullptr. Never
  // allocates.
  const char* plan(const float* scales, const Index* sizes) {
    std::size_t rank = in_dims_.size();
    if (const char* broken = ir::resize_output(in_dims_, attrs_.axes, scales, sizes, attrs_.aspect, plan_dims_.data(),
                                               plan_scales_.data())) {
      return broken;
    }
    for (std::size_t d = 0; d < rank; ++d) {
      if (plan_dims_[d] != out_dims_[d]) return "scales or sizes do not give the output shape";
    }
    for (std::size_t d = 0; d < rank; ++d) {
      if (const char* broken = plan_axis(d, plan_scales_[d])) return broken;
    }
    // Nearest: element offsets per axis.
    for (std::size_t d = 0; d < rank; ++d) {
      const AxisTable& t = tables_[d];
      for (Index o = 0; o < t.out; ++o) offsets_[d][static_cast<std::size_t>(o)] = t.index[static_cast<std::size_t>(o * t.taps)] * in_strides_[d];
    }
    fast_ = dtype_ == DType::float32 && rank >= 2;
    for (std::size_t d = 0; d + 2 < rank && fast_; ++d) fast_ = tables_[d].identity;
    if (fast_) {
      const AxisTable& h = tables_[rank - 2];
      const AxisTable& w = tables_[rank - 1];
      for (std::size_t i = 0; i < static_cast<std::size_t>(h.out * h.taps); ++i) wh_[i] = static_cast<float>(h.weight[i]);
      for (std::size_t i = 0; i < static_cast<std::size_t>(w.out * w.taps); ++i) {
        ww_[i] = static_cast<float>(w.weight[i]);
        wcol_[i] = static_cast<std::int32_t>(std::min<Index>(w.index[i], std::numeric_limits<std::int32_t>::max()));
      }
    }
    return nullptr;
  }

  const char* plan_axis(std::size_t d, double scale) {
    using M = ResizeAttrs::Mode;
    AxisTable& t = tables_[d];
    t.any_outside = false;
    if (t.out == 0) {
      t.taps = 1;
      t.identity = true;
      return nullptr;
    }
    if (!(scale > 0) || !std::isfinite(scale)) return "scale must be positive";
    // Filter support: 1 tap for nearest; linear 2, cubic 4, both widened by 1 / scale
    // when antialiasing a downsample (then `start` is the first tap's offset from the
    // base index and weights are normalized).
    double s = attrs_.antialias && attrs_.mode != M::nearest ? std::min(scale, 1.0) : 1.0;
    int taps = 1, start = 0;
    if (attrs_.mode == M::linear) {
      start = static_cast<int>(std::floor(-1 / s) + 1);
      taps = 2 - 2 * start;
    } else if (attrs_.mode == M::cubic) {
      start = static_cast<int>(std::floor(-2 / s) + 1);
      taps = 2 - 2 * start;
    }
    if (taps > t.capacity) return "antialias filter wider than planned";
    t.taps = taps;
    bool identity = true, single = true;
    for (Index o = 0; o < t.out; ++o) {
      bool outside = false;
      double xo = source_coordinate(d, o, scale, outside);
      t.outside[static_cast<std::size_t>(o)] = outside;
      t.any_outside = t.any_outside || outside;
      if (!std::isfinite(xo)) xo = 0;
      xo = std::clamp(xo, -1e15, 1e15);
      Index* idx = &t.index[static_cast<std::size_t>(o * taps)];
      double* w = &t.weight[static_cast<std::size_t>(o * taps)];
      Index last = t.in - 1;
      if (attrs_.mode == M::nearest) {
        double fl = std::floor(xo);
        double r = xo - fl;
        auto i = static_cast<Index>(fl);
        if (r != 0) {
          using N = ResizeAttrs::Nearest;
          bool up = false;
          switch (attrs_.nearest) {
            case N::round_prefer_floor: up = r > 0.5; break;
            case N::round_prefer_ceil: up = r >= 0.5; break;
            case N::floor: up = false; break;
            case N::ceil: up = true; break;
          }
          if (up) ++i;
        }
        idx[0] = std::clamp<Index>(i, 0, last);
        w[0] = 1;
        identity = identity && idx[0] == o && !outside;
        continue;
      }
      // The base index: ratio in (0, 1] (an integer coordinate is ratio 1 of the one below).
      double base = std::ceil(xo) - 1;
      double ratio = xo - base;
      double sum = 0;
      for (int k = 0; k < taps; ++k) {
        double j = start + k;
        double arg = (j - ratio) * s;
        double c;
        if (attrs_.mode == M::linear) {
          c = attrs_.antialias ? std::clamp(1 - std::abs(arg), 0.0, 1.0) : (k == 0 ? 1 - ratio : ratio);
        } else {
          c = cubic_kernel(arg, attrs_.cubic_a);
        }
        auto i = static_cast<Index>(base + j);
        if (attrs_.exclude_outside && (i < 0 || i > last)) c = 0;
        idx[k] = std::clamp<Index>(i, 0, last);
        w[k] = c;
        sum += c;
      }
      if ((attrs_.antialias || attrs_.exclude_outside) && sum != 0) {
        for (int k = 0; k < taps; ++k) w[k] /= sum;
      }
      // One tap carrying everything (an integer coordinate): collapse the axis if all are.
      int nonzero = 0;
      Index at = -1;
      double total = 0;
      for (int k = 0; k < taps; ++k) {
        if (w[k] == 0) continue;
        if (at >= 0 && idx[k] != at) nonzero = 2;
        at = idx[k];
        total += w[k];
        nonzero = std::max(nonzero, 1);
      }
      if (nonzero != 1 || total != 1) {
        single = false;
        identity = false;
      } else {
        identity = identity && at == o && !outside;
      }
    }
    if (attrs_.mode != M::nearest && single) {
      // Rewrite with one tap of weight 1.
      for (Index o = 0; o < t.out; ++o) {
        Index keep = 0;
        for (int k = 0; k < taps; ++k) {
          if (t.weight[static_cast<std::size_t>(o * taps + k)] != 0) keep = t.index[static_cast<std::size_t>(o * taps + k)];
        }
        t.index[static_cast<std::size_t>(o)] = keep;
        t.weight[static_cast<std::size_t>(o)] = 1;
      }
      t.taps = 1;
    }
    t.identity = identity && t.taps == 1 && t.in == t.out;
    return nullptr;
  }

  // Rows of the output's last axis, in parallel when a pool is given.
  template <class Fn>
  void for_rows(const RunContext& ctx, std::size_t rows, std::size_t row_len, Fn&& fn) const {
    std::size_t grain = std::max<std::size_t>(1, 16384 / std::max<std::size_t>(row_len, 1));
    if (ctx.pool && rows > grain) {
      ctx.pool->parallel_for(rows, grain, [&](std::size_t b, std::size_t e) { fn(b, e); });
    } else {
      fn(0, rows);
    }
  }

  template <class T>
  void run_nearest(const RunContext& ctx) const {
    const T* x = ctx.in<T>(0);
    T* y = ctx.out<T>(0);
    std::size_t rank = out_dims_.size();
    T extrap;
    std::memcpy(&extrap, extrap_.data(), sizeof(T));
    if (rank == 0) {
      y[0] = x[0];
      return;
    }
    auto inner = static_cast<std::size_t>(out_dims_.back());
    std::size_t rows = out_elements_ / inner;
    const std::vector<Index>& last = offsets_[rank - 1];
    const std::vector<char>& last_out = tables_[rank - 1].outside;
    bool crop_any = false;
    for (const AxisTable& t : tables_) crop_any = crop_any || t.any_outside;
    for_rows(ctx, rows, inner, [&](std::size_t begin, std::size_t end) {
      Index prev = -1;
      for (std::size_t r = begin; r < end; ++r) {
        Index off = 0;
        bool out = false;
        std::size_t rest = r;
        for (std::size_t d = rank - 1; d-- > 0;) {
          auto o = rest % static_cast<std::size_t>(out_dims_[d]);
          rest /= static_cast<std::size_t>(out_dims_[d]);
          off += offsets_[d][o];
          out = out || tables_[d].outside[o];
        }
        T* dst = y + r * inner;
        if (out) {
          std::fill(dst, dst + inner, extrap);
          prev = -1;
          continue;
        }
        if (off == prev) {  // the same source row as the output row above (upsampling)
          std::memcpy(dst, dst - inner, inner * sizeof(T));
          continue;
        }
        prev = off;
        const T* src = x + off;
        if (crop_any) {
          for (std::size_t j = 0; j < inner; ++j) dst[j] = last_out[j] ? extrap : src[last[j]];
        } else {
          for (std::size_t j = 0; j < inner; ++j) dst[j] = src[last[j]];
        }
      }
    });
  }

  // float32, every axis but the last two the identity: planes of [in_h][in_w], one output
  // row at a time. When the input row is short enough, the row's vertical taps are blended
  // first (contiguous, vectorized) and the horizontal taps gathered from that blend;
  // otherwise (a steep width reduction) each output gathers all its taps directly.
  void run_fast_f32(const RunContext& ctx) const {
    std::size_t rank = out_dims_.size();
    int th = tables_[rank - 2].taps, tw = tables_[rank - 1].taps;
    auto pick = [&]<int TH>() {
      switch (tw) {
        case 1: return run_fast_rows<TH, 1>(ctx);
        case 2: return run_fast_rows<TH, 2>(ctx);
        case 4: return run_fast_rows<TH, 4>(ctx);
        default: return run_fast_rows<TH, 0>(ctx);
      }
    };
    switch (th) {
      case 1: return pick.template operator()<1>();
      case 2: return pick.template operator()<2>();
      case 4: return pick.template operator()<4>();
      default: return pick.template operator()<0>();
    }
  }

  static constexpr std::size_t kBlendWidth = 4096;  // input row floats blended on the stack

  // TH, TW: taps known at compile time, or 0 for the tables' count.
  template <int TH, int TW>
  void run_fast_rows(const RunContext& ctx) const {
    std::size_t rank = out_dims_.size();
    const AxisTable& h = tables_[rank - 2];
    const AxisTable& w = tables_[rank - 1];
    auto out_h = static_cast<std::size_t>(h.out), out_w = static_cast<std::size_t>(w.out);
    auto in_plane = static_cast<std::size_t>(h.in * w.in);
    auto in_w = static_cast<std::size_t>(w.in);
    std::size_t planes = out_elements_ / (out_h * out_w);
    const float* x = ctx.in<float>(0);
    float* y = ctx.out<float>(0);
    float extrap = attrs_.extrapolation;
    const int th = TH > 0 ? TH : h.taps, tw = TW > 0 ? TW : w.taps;
    bool blend = in_w <= kBlendWidth && in_w <= 2 * out_w * static_cast<std::size_t>(tw);
    bool w_outside = w.any_outside;
    for_rows(ctx, planes * out_h, out_w, [&](std::size_t begin, std::size_t end) {
      alignas(64) float vrow[kBlendWidth];
      for (std::size_t r = begin; r < end; ++r) {
        std::size_t p = r / out_h, oh = r % out_h;
        float* dst = y + r * out_w;
        if (h.outside[oh]) {
          std::fill(dst, dst + out_w, extrap);
          continue;
        }
        const float* plane = x + p * in_plane;
        const Index* rows = &h.index[oh * static_cast<std::size_t>(th)];
        const float* wr = &wh_[oh * static_cast<std::size_t>(th)];
        if (blend) {
          const float* v = plane + static_cast<std::size_t>(rows[0]) * in_w;
          if (th > 1) {
            const float w0 = wr[0];
            for (std::size_t i = 0; i < in_w; ++i) vrow[i] = w0 * v[i];
            for (int k = 1; k < th; ++k) {
              const float* src = plane + static_cast<std::size_t>(rows[k]) * in_w;
              const float wk = wr[k];
              for (std::size_t i = 0; i < in_w; ++i) vrow[i] += wk * src[i];
            }
            v = vrow;
          }
          const std::int32_t* cols = wcol_.data();
          const float* wc = ww_.data();
          for (std::size_t ow = 0; ow < out_w; ++ow) {
            const std::int32_t* c = cols + ow * static_cast<std::size_t>(tw);
            const float* q = wc + ow * static_cast<std::size_t>(tw);
            float acc = q[0] * v[c[0]];
            for (int j = 1; j < tw; ++j) acc += q[j] * v[c[j]];
            dst[ow] = acc;
          }
        } else {
          for (std::size_t ow = 0; ow < out_w; ++ow) {
            const Index* cols = &w.index[ow * static_cast<std::size_t>(tw)];
            const float* wc = &ww_[ow * static_cast<std::size_t>(tw)];
            float acc = 0;
            for (int k = 0; k < th; ++k) {
              const float* src = plane + static_cast<std::size_t>(rows[k]) * in_w;
              float v = 0;
              for (int j = 0; j < tw; ++j) v += wc[j] * src[cols[j]];
              acc += th == 1 ? v : wr[k] * v;
            }
            dst[ow] = acc;
          }
        }
        if (w_outside) {
          for (std::size_t ow = 0; ow < out_w; ++ow) {
            if (w.outside[ow]) dst[ow] = extrap;
          }
        }
      }
    });
  }

  // Nested sum over the taps of axes d.. (innermost first), in double.
  template <class T>
  double nested(const T* x, std::size_t d, Index offset, const Index* o) const {
    if (d == in_dims_.size()) return static_cast<double>(load_value(x[offset]));
    const AxisTable& t = tables_[d];
    auto at = static_cast<std::size_t>(o[d] * t.taps);
    if (t.taps == 1) return nested(x, d + 1, offset + t.index[at] * in_strides_[d], o);
    double acc = 0;
    for (int k = 0; k < t.taps; ++k) acc += t.weight[at + static_cast<std::size_t>(k)] * nested(x, d + 1, offset + t.index[at + static_cast<std::size_t>(k)] * in_strides_[d], o);
    return acc;
  }

  template <class T>
  void run_general(const RunContext& ctx) const {
    const T* x = ctx.in<T>(0);
    T* y = ctx.out<T>(0);
    std::size_t rank = out_dims_.size();
    T extrap;
    std::memcpy(&extrap, extrap_.data(), sizeof(T));
    constexpr std::size_t kMaxRank = 16;
    if (rank > kMaxRank) return;  // refused at bind
    Index o[kMaxRank] = {};
    for (std::size_t i = 0; i < out_elements_; ++i) {
      bool out = false;
      for (std::size_t d = 0; d < rank; ++d) out = out || tables_[d].outside[static_cast<std::size_t>(o[d])];
      y[i] = out ? extrap : to_output<T>(nested(x, 0, 0, o));
      for (std::size_t d = rank; d-- > 0;) {
        if (++o[d] < out_dims_[d]) break;
        o[d] = 0;
      }
    }
  }

 public:
  void check_rank(const BindArgs& a) const {
    if (in_dims_.size() > 16 && attrs_.mode != ResizeAttrs::Mode::nearest) a.unsupported("rank above 16 is not supported");
  }

 private:
  ResizeAttrs attrs_;
  DType dtype_ = DType::float32, roi_dtype_ = DType::float32;
  std::vector<Index> in_dims_, out_dims_, in_strides_, plan_dims_;
  std::vector<double> plan_scales_, roi_;
  std::vector<AxisTable> tables_;
  std::vector<std::vector<Index>> offsets_;
  std::vector<float> wh_, ww_;
  std::vector<std::int32_t> wcol_;  // the last axis' indices as int32 (the blend path)
  std::vector<std::byte> extrap_;
  std::size_t out_elements_ = 0, width_ = 4;
  bool has_scales_ = false, has_sizes_ = false, crop_ = false, fixed_ = false, fast_ = false;
};

std::unique_ptr<BoundOp> bind_resize(const BindArgs& a) {
  auto op = std::make_unique<ResizeOp>(a);
  op->check_rank(a);
  return op;
}

constexpr OpBinding kBindings[] = {
    {"", "Resize", bind_resize},
};

}  // namespace

std::span<const OpBinding> resize_bindings() {
  return kBindings;
}

}  // namespace lowp::runtime
