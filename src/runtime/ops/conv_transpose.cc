// runtime/ops/conv_transpose.cc: ConvTranspose over any number of spatial axes (1-D, 2-D,
// 3-D...), with groups, strides, dilations, pads, output_padding, output_shape and auto_pad
// (geometry: ir/ops_more.h).
//
// float32 runs as GEMM + col2im, on lowp's GEMM. Per image and group, with the input in
// pixel-major order (X^T: [P input pixels][C]), one GEMM gives for every input pixel p the
// contribution of each kernel tap kk to each output channel m: cols[p][kk][m] =
// sum_c X[c][p] W[c][m][kk]. col2im then adds the row cols[p][kk][0..Mg) to output pixel
// o(p, kk) = p * stride - pad_begin + kk * dilation, where that lands inside the output, in a
// pixel-major output ([O][M], so the add is one contiguous run of Mg channels), which is
// transposed to NCHW with the bias at the end. The GEMM's weights are W reordered to
// [Cg][K][Mg], packed once at bind when W is constant, repacked in place in run() when it
// is a graph input. Pixels go through the GEMM in blocks that keep cols near 4 MiB.
//
// Additions into an output element happen in a fixed order (group, input pixel, tap), so
// the result does not depend on the thread count: threads split the GEMM's rows, and
// col2im's output channels.
//
// float16, bfloat16 and float64 run a direct reference loop (sums in double).
#include <algorithm>
#include <cstring>
#include <limits>

#include "base/aligned_buffer.h"
#include "ir/ops_more.h"
#include "kernels/gemm/gemm.h"
#include "kernels/transpose/transpose.h"
#include "runtime/op.h"
#include "runtime/ops/op_util.h"

namespace lowp::runtime {
namespace {

using Index = std::int64_t;

struct Geometry {
  Index batch = 0, c = 0, m = 0, groups = 1, cg = 0, mg = 0;
  std::vector<Index> in, out, kernel, strides, dilations, pads;  // spatial; pads begin..., end...
  Index pixels_in = 1, pixels_out = 1, taps = 1;
};

Geometry geometry(const BindArgs& a) {
  const TensorInfo& x = a.in(0);
  const TensorInfo& w = a.in(1);
  std::size_t rank = x.shape.rank();
  if (rank < 3 || w.shape.rank() != rank) a.fail("input and weight must have the same rank >= 3");
  Geometry g;
  g.batch = x.shape[0];
  g.c = x.shape[1];
  g.groups = a.node.attr_int("group", 1);
  if (g.groups < 1 || g.c % g.groups != 0 || w.shape[0] != g.c) {
    a.fail("weight {} does not fit input {} with {} groups", w.shape.str(), x.shape.str(), g.groups);
  }
  g.cg = g.c / g.groups;
  g.mg = w.shape[1];
  g.m = g.mg * g.groups;
  std::size_t n = rank - 2;
  for (std::size_t i = 0; i < n; ++i) {
    g.in.push_back(x.shape[2 + i]);
    g.kernel.push_back(w.shape[2 + i]);
  }
  std::vector<std::int64_t> ks = a.node.attr_ints("kernel_shape");
  if (!ks.empty() && ks != g.kernel) a.fail("kernel_shape [{}] differs from the weight's", fmt::join(ks, ", "));
  ir::InferContext ctx(a.node);
  ir::ConvTransposeGeometry cg = ir::conv_transpose_geometry(ctx, g.in, g.kernel);
  g.out = cg.output;
  g.strides = cg.strides;
  g.dilations = cg.dilations;
  g.pads = cg.pads;
  std::vector<Index> want{g.batch, g.m};
  want.insert(want.end(), g.out.begin(), g.out.end());
  if (a.out(0).shape.dims() != want || a.out(0).dtype != x.dtype) {
    a.fail("output {} is not the {}{} the geometry gives", a.out(0).shape.str(), dtype_name(x.dtype), Shape(want).str());
  }
  if (a.has(2) && (a.in(2).shape.elements() != static_cast<std::size_t>(g.m) || a.in(2).dtype != x.dtype)) {
    a.fail("bias must hold {} {} values", g.m, dtype_name(x.dtype));
  }
  if (w.dtype != x.dtype) a.fail("input and weight have different types");
  for (std::size_t i = 0; i < n; ++i) {
    g.pixels_in *= g.in[i];
    g.pixels_out *= g.out[i];
    g.taps *= g.kernel[i];
  }
  return g;
}

// Per spatial axis: for input coordinate i and tap k, the output coordinate
// i * stride - pad + k * dilation; flat offsets of the output pixel, or -1 outside.
struct Col2Im {
  std::vector<Index> pixel_base;  // [P][n]: i * stride - pad
  std::vector<Index> tap_offset;  // [K][n]: k * dilation
  std::vector<Index> out_dims, out_strides;
  std::size_t n = 0;

  Col2Im(const Geometry& g) : n(g.in.size()) {
    out_dims = g.out;
    out_strides.assign(n, 1);
    for (std::size_t i = n; i-- > 1;) out_strides[i - 1] = out_strides[i] * out_dims[i];
    pixel_base.resize(static_cast<std::size_t>(g.pixels_in) * n);
    for (Index p = 0; p < g.pixels_in; ++p) {
      Index rest = p;
      for (std::size_t i = n; i-- > 0;) {
        Index c = rest % g.in[i];
        rest /= g.in[i];
        pixel_base[static_cast<std::size_t>(p) * n + i] = c * g.strides[i] - g.pads[i];
      }
    }
    tap_offset.resize(static_cast<std::size_t>(g.taps) * n);
    for (Index k = 0; k < g.taps; ++k) {
      Index rest = k;
      for (std::size_t i = n; i-- > 0;) {
        Index c = rest % g.kernel[i];
        rest /= g.kernel[i];
        tap_offset[static_cast<std::size_t>(k) * n + i] = c * g.dilations[i];
      }
    }
  }

  // The flat output pixel of input pixel p and tap k, or -1.
  Index target(Index p, Index k) const {
    const Index* b = &pixel_base[static_cast<std::size_t>(p) * n];
    const Index* t = &tap_offset[static_cast<std::size_t>(k) * n];
    Index flat = 0;
    for (std::size_t i = 0; i < n; ++i) {
      Index o = b[i] + t[i];
      if (o < 0 || o >= out_dims[i]) return -1;
      flat += o * out_strides[i];
    }
    return flat;
  }
};

class ConvTransposeF32 final : public BoundOp {
 public:
  ConvTransposeF32(const BindArgs& a, Geometry g) : g_(std::move(g)), map_(g_) {
    constexpr Index kIntMax = std::numeric_limits<int>::max();
    if (g_.taps * g_.mg > kIntMax || g_.cg > kIntMax || g_.pixels_in > kIntMax) a.unsupported("sizes beyond int range");
    n_cols_ = static_cast<int>(g_.taps * g_.mg);
    has_bias_ = a.has(2);
    xt_ = AlignedBuffer<float>(static_cast<std::size_t>(g_.pixels_in * g_.c));
    yt_ = AlignedBuffer<float>(static_cast<std::size_t>(g_.pixels_out * g_.m));
    block_ = static_cast<int>(std::clamp<Index>((Index{1} << 20) / std::max(n_cols_, 1), 8, std::max<Index>(g_.pixels_in, 1)));
    cols_ = AlignedBuffer<float>(static_cast<std::size_t>(block_) * static_cast<std::size_t>(n_cols_));
    if (g_.cg > 0 && n_cols_ > 0) {
      reordered_.resize(static_cast<std::size_t>(g_.c * g_.taps * g_.mg));
      packed_.resize(static_cast<std::size_t>(g_.groups));
      if (a.in(1).constant) {
        pack(a.in(1).constant->values<float>().data());
      } else {
        std::fill(reordered_.begin(), reordered_.end(), 0.0f);
        for (Index grp = 0; grp < g_.groups; ++grp) pack_group(grp);  // sizes the buffers
        repack_ = true;
      }
    }
  }

  void run(const RunContext& ctx) override {
    const float* x = ctx.in<float>(0);
    float* y = ctx.out<float>(0);
    if (repack_) pack(ctx.in<float>(1));
    const float* bias = has_bias_ ? ctx.in<float>(2) : nullptr;
    auto in_image = static_cast<std::size_t>(g_.c * g_.pixels_in);
    auto out_image = static_cast<std::size_t>(g_.m * g_.pixels_out);
    auto pixels_out = static_cast<std::size_t>(g_.pixels_out);
    for (Index b = 0; b < g_.batch; ++b) {
      std::fill(yt_.data(), yt_.data() + out_image, 0.0f);
      if (!packed_.empty() && g_.pixels_in > 0) {
        auto c = static_cast<std::size_t>(g_.c), p = static_cast<std::size_t>(g_.pixels_in);
        transpose_x32(reinterpret_cast<const std::uint32_t*>(x + static_cast<std::size_t>(b) * in_image),
                      reinterpret_cast<std::uint32_t*>(xt_.data()), c, p, p, c);
        for (Index grp = 0; grp < g_.groups; ++grp) accumulate_group(ctx, grp);
      }
      float* yb = y + static_cast<std::size_t>(b) * out_image;
      auto m = static_cast<std::size_t>(g_.m);
      transpose_x32(reinterpret_cast<const std::uint32_t*>(yt_.data()), reinterpret_cast<std::uint32_t*>(yb), pixels_out, m,
                    m, pixels_out);
      if (bias) {
        for (Index m = 0; m < g_.m; ++m) {
          float* plane = yb + static_cast<std::size_t>(m) * pixels_out;
          for (std::size_t i = 0; i < pixels_out; ++i) plane[i] += bias[m];
        }
      }
    }
  }

  std::string kernel() const override { return std::string("gemm_col2im (") + gemm_kernel_name(GemmWeights::f32) + ")"; }

 private:
  // W [C][Mg][K] -> per group [Cg][K][Mg], then packed as the GEMM's [k = Cg][n = K * Mg].
  void pack(const float* w) {
    auto k = static_cast<std::size_t>(g_.taps), mg = static_cast<std::size_t>(g_.mg);
    for (std::size_t c = 0; c < static_cast<std::size_t>(g_.c); ++c) {
      const float* src = w + c * mg * k;
      float* dst = reordered_.data() + c * k * mg;
      for (std::size_t m = 0; m < mg; ++m) {
        for (std::size_t t = 0; t < k; ++t) dst[t * mg + m] = src[m * k + t];
      }
    }
    for (Index grp = 0; grp < g_.groups; ++grp) pack_group(grp);
  }
  void pack_group(Index grp) {
    const float* b = reordered_.data() + static_cast<std::size_t>(grp * g_.cg) * static_cast<std::size_t>(n_cols_);
    pack_gemm_f32_kn(b, static_cast<std::size_t>(n_cols_), static_cast<int>(g_.cg), n_cols_, packed_[static_cast<std::size_t>(grp)]);
  }

  void accumulate_group(const RunContext& ctx, Index grp) {
    auto mg = static_cast<std::size_t>(g_.mg);
    auto m_all = static_cast<std::size_t>(g_.m);
    float* yg = yt_.data() + static_cast<std::size_t>(grp) * mg;
    for (Index p0 = 0; p0 < g_.pixels_in; p0 += block_) {
      Index rows = std::min<Index>(block_, g_.pixels_in - p0);
      GemmArgs args;
      args.m = static_cast<int>(rows);
      args.a = xt_.data() + static_cast<std::size_t>(p0 * g_.c + grp * g_.cg);
      args.lda = static_cast<std::size_t>(g_.c);
      args.w = &packed_[static_cast<std::size_t>(grp)];
      args.c = cols_.data();
      args.ldc = static_cast<std::size_t>(n_cols_);
      gemm(args, ctx.pool);
      // col2im: the same additions in the same order whichever slice of channels runs them.
      auto scatter = [&](std::size_t m0, std::size_t m1) {
        for (Index r = 0; r < rows; ++r) {
          const float* row = cols_.data() + static_cast<std::size_t>(r) * static_cast<std::size_t>(n_cols_);
          for (Index t = 0; t < g_.taps; ++t) {
            Index o = map_.target(p0 + r, t);
            if (o < 0) continue;
            float* dst = yg + static_cast<std::size_t>(o) * m_all;
            const float* src = row + static_cast<std::size_t>(t) * mg;
            for (std::size_t m = m0; m < m1; ++m) dst[m] += src[m];
          }
        }
      };
      if (ctx.pool && ctx.pool->threads() > 1 && mg >= 64) {
        ctx.pool->parallel_for(mg, 32, [&](std::size_t b, std::size_t e) { scatter(b, e); });
      } else {
        scatter(0, mg);
      }
    }
  }

  Geometry g_;
  Col2Im map_;
  int n_cols_ = 0, block_ = 1;
  bool has_bias_ = false, repack_ = false;
  std::vector<float> reordered_;
  std::vector<PackedGemmWeights> packed_;
  AlignedBuffer<float> xt_, yt_, cols_;
};

// Direct loops for the other float types: y[m][o(p, k)] += x[c][p] * w[c][m][k], in double.
template <class T>
class ConvTransposeRef final : public BoundOp {
 public:
  ConvTransposeRef(const BindArgs& a, Geometry g) : g_(std::move(g)), map_(g_) {
    has_bias_ = a.has(2);
    acc_.resize(static_cast<std::size_t>(g_.m * g_.pixels_out));
  }

  void run(const RunContext& ctx) override {
    const T* x = ctx.in<T>(0);
    const T* w = ctx.in<T>(1);
    T* y = ctx.out<T>(0);
    auto po = static_cast<std::size_t>(g_.pixels_out), pi = static_cast<std::size_t>(g_.pixels_in);
    auto k = static_cast<std::size_t>(g_.taps), mg = static_cast<std::size_t>(g_.mg);
    for (Index b = 0; b < g_.batch; ++b) {
      for (Index m = 0; m < g_.m; ++m) {
        double init = has_bias_ ? static_cast<double>(load_value(ctx.in<T>(2)[m])) : 0.0;
        std::fill(acc_.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(m) * po),
                  acc_.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(m + 1) * po), init);
      }
      for (Index c = 0; c < g_.c; ++c) {
        Index grp = c / g_.cg;
        const T* xc = x + (static_cast<std::size_t>(b * g_.c + c)) * pi;
        for (std::size_t p = 0; p < pi; ++p) {
          double xv = static_cast<double>(load_value(xc[p]));
          for (std::size_t t = 0; t < k; ++t) {
            Index o = map_.target(static_cast<Index>(p), static_cast<Index>(t));
            if (o < 0) continue;
            for (std::size_t m = 0; m < mg; ++m) {
              double wv = static_cast<double>(load_value(w[(static_cast<std::size_t>(c) * mg + m) * k + t]));
              acc_[(static_cast<std::size_t>(grp) * mg + m) * po + static_cast<std::size_t>(o)] += xv * wv;
            }
          }
        }
      }
      T* yb = y + static_cast<std::size_t>(b * g_.m) * po;
      for (std::size_t i = 0; i < acc_.size(); ++i) yb[i] = store_value<T>(static_cast<compute_t<T>>(acc_[i]));
    }
  }

  std::string kernel() const override { return "conv_transpose_ref"; }

 private:
  Geometry g_;
  Col2Im map_;
  bool has_bias_ = false;
  std::vector<double> acc_;
};

std::unique_ptr<BoundOp> bind_conv_transpose(const BindArgs& a) {
  DType d = a.in(0).dtype;
  Geometry g = geometry(a);
  switch (d) {
    case DType::float32: return std::make_unique<ConvTransposeF32>(a, std::move(g));
    case DType::float64: return std::make_unique<ConvTransposeRef<double>>(a, std::move(g));
    case DType::float16: return std::make_unique<ConvTransposeRef<float16>>(a, std::move(g));
    case DType::bfloat16: return std::make_unique<ConvTransposeRef<bfloat16>>(a, std::move(g));
    default: a.unsupported("element type {} is not supported", dtype_name(d));
  }
}

constexpr OpBinding kBindings[] = {
    {"", "ConvTranspose", bind_conv_transpose},
};

}  // namespace

std::span<const OpBinding> conv_transpose_bindings() {
  return kBindings;
}

}  // namespace lowp::runtime
