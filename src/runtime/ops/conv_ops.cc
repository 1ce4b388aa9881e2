// runtime/ops/conv_ops.cc: Conv and lowp::FusedConv (fp32, 1-D and 2-D) on the NHWC
// convolution kernels (kernels/conv/conv2d.h).
//
// ONNX tensors are NCHW; the kernels want NHWC (conv2d.h says why). This binding converts
// at the op's boundary: input NCHW -> NHWC, convolution, output NHWC -> NCHW, in buffers
// the op owns. Weights packed once when constant; a weight that is a graph input (ONNX's
// conformance tests do that) runs the reference loops.
#include <cmath>

#include "base/aligned_buffer.h"
#include "ir/ops_nn.h"
#include "kernels/conv/conv2d.h"
#include "kernels/convert/convert.h"
#include "kernels/pool/pool2d.h"
#include "kernels/quantize/quantize.h"
#include "runtime/ops/nn_ops.h"
#include "runtime/ops/op_util.h"

namespace lowp::runtime {

ActivationParams fused_activation(const BindArgs& a) {
  std::string kind = a.node.attr_string("activation", "none");
  if (kind == "none") return Activation::none;
  if (kind == "relu") return Activation::relu;
  if (kind == "gelu") return Activation::gelu;
  if (kind == "silu") return Activation::silu;
  if (kind == "clip") {
    return ActivationParams(Activation::clamp,
                            a.node.attr_float("activation_min", -std::numeric_limits<float>::infinity()),
                            a.node.attr_float("activation_max", std::numeric_limits<float>::infinity()));
  }
  a.fail("activation '{}' is not one of none, relu, clip, gelu, silu", kind);
}

namespace {

class ConvOp final : public BoundOp {
  // A thread's band of conv rows (fp32, and u8 when the conv quantizes): run_bands.
  struct BandBuffers {
    AlignedBuffer<float> rows;
    AlignedBuffer<std::uint8_t> rows_u8;
  };

 public:
  ConvOp(const BindArgs& a, bool nhwc) : nhwc_(nhwc) {
    const TensorInfo& x = a.in(0);
    const TensorInfo& w = a.in(1);
    // fp16 / bf16 weights: only as a constant of lowp's own conv (passes/lower_float16.cc).
    bool low_weights = (w.dtype == DType::float16 || w.dtype == DType::bfloat16) && w.constant &&
                       a.node.domain == "lowp";
    if (x.dtype != DType::float32 || (w.dtype != DType::float32 && !low_weights)) {
      a.fail("only float32 is supported (input {}, weight {})", dtype_name(x.dtype), dtype_name(w.dtype));
    }
    std::size_t rank = x.shape.rank();
    if (rank != 3 && rank != 4) a.fail("only 1-D and 2-D convolutions are supported (input rank {})", rank);
    // Geometry in NCHW terms; an NHWC input is read through the permutation.
    std::vector<std::int64_t> nchw = x.shape.dims();
    if (nhwc) nchw = {nchw[0], nchw[3], nchw[1], nchw[2]};
    std::vector<ir::Dim> dims;
    for (std::int64_t d : nchw) dims.push_back(ir::Dim::known(d));
    std::vector<std::int64_t> kernel(w.shape.dims().begin() + 2, w.shape.dims().end());
    ir::InferContext ctx(a.node);
    ir::WindowGeometry g = ir::window_geometry(ctx, dims, kernel, false);
    bool two_d = rank == 4;
    auto narrow = [&](std::int64_t v) {
      LOWP_CHECK(v <= std::numeric_limits<int>::max(), "node '{}': size {} is too large", a.node.label(), v);
      return static_cast<int>(v);
    };
    s_.batch = narrow(nchw[0]);
    s_.in_c = narrow(nchw[1]);
    s_.in_h = two_d ? narrow(nchw[2]) : 1;
    s_.in_w = narrow(nchw[rank - 1]);
    s_.out_c = narrow(w.shape[0]);
    s_.kernel_h = two_d ? narrow(kernel[0]) : 1;
    s_.kernel_w = narrow(kernel.back());
    s_.stride_h = two_d ? narrow(g.strides[0]) : 1;
    s_.stride_w = narrow(g.strides.back());
    s_.dilation_h = two_d ? narrow(g.dilations[0]) : 1;
    s_.dilation_w = narrow(g.dilations.back());
    std::size_t n = kernel.size();
    s_.pad_top = two_d ? narrow(g.pads[0]) : 0;
    s_.pad_bottom = two_d ? narrow(g.pads[n]) : 0;
    s_.pad_left = narrow(g.pads[n - 1]);
    s_.pad_right = narrow(g.pads[2 * n - 1]);
    s_.groups = narrow(a.node.attr_int("group", 1));
    s_.validate();
    act_ = a.node.domain == "lowp" ? fused_activation(a) : ActivationParams(Activation::none);
    // u8 output (passes/fuse_conv_quantize.cc) and / or a max pool of the output
    // (passes/fuse_conv_pool.cc): one image at a time into a buffer that stays in cache,
    // quantized and pooled from there; the weights are then packed for one image.
    const bool per_image =
        w.constant && nhwc && (a.node.has_attribute("quantize_scale") || a.node.has_attribute("pool_kernel_shape"));
    Conv2dShape packed_shape = s_;
    if (per_image) packed_shape.batch = 1;
    if (w.constant && w.dtype == DType::bfloat16) {
      // bf16 x bf16 products, fp32 sums: the input is rounded to bf16 as it is read.
      packed_bf16_ = pack_conv2d_bf16(packed_shape, w.constant->values<std::uint16_t>().data());
      in_bf16_ = AlignedBuffer<std::uint16_t>(std::max<std::size_t>(1, x.shape.elements()));
      bf16_ = packed_ok_ = true;
    } else if (w.constant && w.dtype == DType::float16) {
      // fp16 storage, fp32 arithmetic: the weights widen exactly once, here.
      auto bits = w.constant->values<std::uint16_t>();
      std::vector<float> wf(bits.size());
      convert_f16_to_f32(bits.data(), wf.data(), bits.size());
      packed_ = pack_conv2d_f32(packed_shape, wf.data());
      packed_ok_ = true;
    } else if (w.constant) {
      packed_ = pack_conv2d_f32(packed_shape, w.constant->values<float>().data());
      packed_ok_ = true;
    }
    if (per_image) {
      const Conv2dShape& one = packed_shape;
      if (a.node.has_attribute("quantize_scale")) {
        quantize_scale_ = a.node.attr_float("quantize_scale", 1.0f);
        quantize_zero_point_ = static_cast<std::int32_t>(a.node.attr_int("quantize_zero_point", 0));
        if (!(quantize_scale_ > 0.0f) || !std::isfinite(quantize_scale_) || quantize_zero_point_ < 0 ||
            quantize_zero_point_ > 255) {
          a.fail("quantize_scale {} / quantize_zero_point {} are not a u8 quantization", quantize_scale_,
                 quantize_zero_point_);
        }
        if (a.out(0).dtype != DType::uint8) a.fail("a quantizing conv writes uint8");
        quantize_ = true;
      }
      if (a.node.has_attribute("pool_kernel_shape")) {
        std::vector<std::int64_t> k = a.node.attr_ints("pool_kernel_shape");
        std::vector<std::int64_t> st = a.node.attr_ints("pool_strides");
        std::vector<std::int64_t> p = a.node.attr_ints("pool_pads");
        if (k.size() != 2 || st.size() != 2 || p.size() != 4) {
          a.fail("pool_kernel_shape, pool_strides and pool_pads must have 2, 2 and 4 entries");
        }
        auto small = [&](std::int64_t v) {
          LOWP_CHECK(v >= 0 && v <= 1 << 20, "node '{}': pool size {} is out of range", a.node.label(), v);
          return static_cast<int>(v);
        };
        pool_.batch = 1;
        pool_.in_h = one.out_h();
        pool_.in_w = one.out_w();
        pool_.in_c = pool_.out_c = one.out_c;
        pool_.kernel_h = small(k[0]);
        pool_.kernel_w = small(k[1]);
        pool_.stride_h = small(st[0]);
        pool_.stride_w = small(st[1]);
        pool_.pad_top = small(p[0]);
        pool_.pad_left = small(p[1]);
        pool_.pad_bottom = small(p[2]);
        pool_.pad_right = small(p[3]);
        try {
          pool_.validate();
        } catch (const Error& e) {
          a.fail("its max pool does not fit its output: {}", e.what());
        }
        pooled_ = true;
        // fp32 convolutions whose rows can be computed apart run in bands: a few conv rows
        // at a time (a band of about 192 KiB, in L2), pooled at once; the rows the next
        // band's windows share move to the front instead of being computed again.
        banded_ = !bf16_ && packed_ok_ && conv2d_f32_computes_rows(packed_);
        const std::size_t row_floats = static_cast<std::size_t>(one.out_w()) * one.out_c;
        std::size_t image_rows = static_cast<std::size_t>(one.out_h());
        if (banded_) {
          const std::size_t budget_rows = std::max<std::size_t>(1, (std::size_t{192} << 10) / (row_floats * sizeof(float)));
          const std::size_t k = static_cast<std::size_t>(pool_.kernel_h), st = static_cast<std::size_t>(pool_.stride_h);
          band_pool_rows_ = static_cast<int>(budget_rows > k ? (budget_rows - k) / st + 1 : 1);
          image_rows = std::min(image_rows, (static_cast<std::size_t>(band_pool_rows_) - 1) * st + k);
        }
        if (banded_) {
          // The calling thread's band; other threads' are added at the first threaded run.
          band_floats_ = image_rows * row_floats;
          band_buffers_.resize(1);
          allocate_band(band_buffers_[0]);
        } else {
          if (quantize_) image_u8_ = AlignedBuffer<std::uint8_t>(image_rows * row_floats);
          image_out_ = AlignedBuffer<float>(image_rows * row_floats);
        }
      } else {
        image_out_ = AlignedBuffer<float>(static_cast<std::size_t>(one.out_h()) * one.out_w() * one.out_c);
      }
      per_image_ = true;
    }
    if (a.node.has_attribute("quantize_scale") && !quantize_)
      a.fail("quantize_scale needs an NHWC convolution with constant weights");
    if (a.node.has_attribute("pool_kernel_shape") && !pooled_)
      a.fail("pool_kernel_shape needs an NHWC convolution with constant weights");
    pixels_in_ = static_cast<std::size_t>(s_.in_h) * static_cast<std::size_t>(s_.in_w);
    pixels_out_ = static_cast<std::size_t>(s_.out_h()) * static_cast<std::size_t>(s_.out_w());
    if (!nhwc_) {
      in_nhwc_ = AlignedBuffer<float>(x.shape.elements());
      out_nhwc_ = AlignedBuffer<float>(a.out(0).shape.elements());
    }
    has_bias_ = a.has(2);
    // A residual (passes/fuse_conv_add.cc): the output's type, added before the activation.
    has_residual_ = a.has(3);
    if (has_residual_) {
      const TensorInfo& r = a.in(3);
      if (r.dtype != DType::float32 || r.shape != a.out(0).shape)
        a.fail("residual {} {} must be the output's float32 {}", dtype_name(r.dtype), r.shape.str(), a.out(0).shape.str());
      if (per_image_) a.fail("a conv with a residual neither pools nor quantizes its output");
    }
  }

  void run(const RunContext& ctx) override {
    auto b = static_cast<std::size_t>(s_.batch);
    const float* in = ctx.in<float>(0);
    if (per_image_) {
      const float* bias = has_bias_ ? ctx.in<float>(2) : nullptr;
      const std::size_t in_image = pixels_in_ * static_cast<std::size_t>(s_.in_c);
      const std::size_t conv_image = image_out_.size();
      const std::size_t out_image =
          pooled_ ? static_cast<std::size_t>(pool_.out_h()) * pool_.out_w() * pool_.out_c : conv_image;
      for (std::size_t n = 0; n < b; ++n) {
        if (banded_) {
          run_bands(in + n * in_image, bias, ctx, n * out_image);
          continue;
        }
        if (bf16_) {
          convert_f32_to_bf16(in + n * in_image, in_bf16_.data(), in_image);
          conv2d_bf16(packed_bf16_, in_bf16_.data(), bias, act_, image_out_.data(), scratch_bf16_, ctx.pool);
        } else {
          conv2d_f32(packed_, in + n * in_image, bias, act_, image_out_.data(), scratch_, ctx.pool);
        }
        if (quantize_) {
          std::uint8_t* y = ctx.out<std::uint8_t>(0) + n * out_image;
          std::uint8_t* q = pooled_ ? image_u8_.data() : y;
          quantize_u8(image_out_.data(), conv_image, quantize_scale_, quantize_zero_point_, q);
          if (pooled_) max_pool2d_u8(pool_, q, y, ctx.pool);
        } else {
          pool2d(pool_, PoolKind::max, false, image_out_.data(), ctx.out<float>(0) + n * out_image, ctx.pool);
        }
      }
      return;
    }
    float* out = ctx.out<float>(0);
    if (!nhwc_) {
      transpose_planes_f32(in, in_nhwc_.data(), b, static_cast<std::size_t>(s_.in_c), pixels_in_);
      in = in_nhwc_.data();
      out = out_nhwc_.data();
    }
    const float* bias = has_bias_ ? ctx.in<float>(2) : nullptr;
    const float* residual = has_residual_ ? ctx.in<float>(3) : nullptr;
    // The fp32 NHWC kernel adds the residual itself; the other paths run without the
    // activation, and the residual and activation follow on the final output.
    const bool kernel_residual = nhwc_ && !bf16_ && packed_ok_;
    const ActivationParams act = has_residual_ && !kernel_residual ? ActivationParams(Activation::none) : act_;
    if (bf16_) {
      convert_f32_to_bf16(in, in_bf16_.data(), b * static_cast<std::size_t>(s_.in_c) * pixels_in_);
      conv2d_bf16(packed_bf16_, in_bf16_.data(), bias, act, out, scratch_bf16_, ctx.pool);
    } else if (packed_ok_) {
      conv2d_f32(packed_, in, bias, act, out, scratch_, ctx.pool, out_row_stride_, nhwc_ ? residual : nullptr);
    } else {
      conv2d_f32_ref(s_, in, ctx.in<float>(1), bias, act, out);
    }
    if (!nhwc_) {
      transpose_planes_f32(out, ctx.out<float>(0), b, pixels_out_, static_cast<std::size_t>(s_.out_c));
    }
    if (has_residual_ && !kernel_residual) {
      // Element by element, so the NCHW output of a 1-D or non-NHWC conv is fine too.
      conv2d_add_residual(ctx.out<float>(0), static_cast<std::size_t>(s_.out_c), residual, b * pixels_out_, s_.out_c,
                          act_, ctx.pool);
    }
  }

  // One image's conv + max pool in bands of conv rows (see the constructor); the bands'
  // pooled rows are the whole image's, bit for bit. With threads, each takes a run of
  // whole bands into its own buffers (one hand-off per image instead of two per band; a
  // thread's first band computes the rows it shares with the band before it).
  void run_bands(const float* image, const float* bias, const RunContext& ctx, std::size_t out_offset) {
    Conv2dImage prepared = conv2d_f32_prepare_image(packed_, image, scratch_, ctx.pool);
    const int bands = (pool_.out_h() + band_pool_rows_ - 1) / band_pool_rows_;
    const int slots = ctx.pool != nullptr ? std::min(ctx.pool->threads(), bands) : 1;
    if (slots <= 1) {
      run_band_range(prepared, bias, ctx, out_offset, 0, bands, band_buffers_[0], ctx.pool);
      return;
    }
    while (band_buffers_.size() < static_cast<std::size_t>(slots)) {  // once, on the first threaded run
      band_buffers_.emplace_back();
      allocate_band(band_buffers_.back());
    }
    ctx.pool->parallel_for_slices(static_cast<std::size_t>(bands), 1, [&](int slot, std::size_t b0, std::size_t b1) {
      run_band_range(prepared, bias, ctx, out_offset, static_cast<int>(b0), static_cast<int>(b1),
                     band_buffers_[static_cast<std::size_t>(slot)], nullptr);
    });
  }

  void allocate_band(BandBuffers& b) const {
    b.rows = AlignedBuffer<float>(band_floats_);
    if (quantize_) b.rows_u8 = AlignedBuffer<std::uint8_t>(band_floats_);
  }

  // Bands [band_begin, band_end) into `buffers`, the kernels on `pool`.
  void run_band_range(const Conv2dImage& prepared, const float* bias, const RunContext& ctx, std::size_t out_offset,
                      int band_begin, int band_end, BandBuffers& buffers, ThreadPool* pool) {
    float* rows = buffers.rows.data();
    std::uint8_t* rows_u8 = buffers.rows_u8.data();
    const Conv2dShape& c = packed_.shape;
    const int h = c.out_h(), sh = pool_.stride_h, kh = pool_.kernel_h, top = pool_.pad_top;
    const std::size_t row_floats = static_cast<std::size_t>(c.out_w()) * c.out_c;
    const std::size_t out_row = static_cast<std::size_t>(pool_.out_w()) * pool_.out_c;
    int have_begin = 0, have_end = 0;  // conv rows held at the front of `rows`
    for (int band_index = band_begin; band_index < band_end; ++band_index) {
      const int p0 = band_index * band_pool_rows_;
      const int p1 = std::min(pool_.out_h(), p0 + band_pool_rows_);
      const int c0 = std::max(0, p0 * sh - top), c1 = std::min(h, (p1 - 1) * sh - top + kh);
      if (band_index > band_begin && c0 >= have_begin && c0 < have_end) {
        std::memmove(rows, rows + static_cast<std::size_t>(c0 - have_begin) * row_floats,
                     static_cast<std::size_t>(have_end - c0) * row_floats * sizeof(float));
      } else {
        have_end = c0;
      }
      have_begin = c0;
      if (c1 > have_end) {
        conv2d_f32_rows(packed_, prepared, bias, act_, have_end, c1, rows + static_cast<std::size_t>(have_end - c0) * row_floats,
                        static_cast<std::size_t>(c.out_c), pool);
        have_end = c1;
      }
      Conv2dShape band = pool_;
      band.in_h = c1 - c0;
      band.pad_top = std::max(0, top - p0 * sh);
      band.pad_bottom = std::max(0, (p1 - 1) * sh - top + kh - h);
      const std::size_t out_at = out_offset + static_cast<std::size_t>(p0) * out_row;
      if (quantize_) {
        quantize_u8(rows, static_cast<std::size_t>(c1 - c0) * row_floats, quantize_scale_, quantize_zero_point_, rows_u8);
        max_pool2d_u8(band, rows_u8, ctx.out<std::uint8_t>(0) + out_at, pool);
      } else {
        pool2d(band, PoolKind::max, false, rows, ctx.out<float>(0) + out_at, pool);
      }
    }
  }

  // The fp32 NHWC convolution writes through the GEMM epilogue, at any pixel stride.
  bool can_space_output_rows() const override {
    return nhwc_ && packed_ok_ && !per_image_ && !bf16_ && !s_.is_depthwise();
  }
  void space_output_rows(std::size_t row_stride) override { out_row_stride_ = row_stride; }

  std::string kernel() const override {
    if (!packed_ok_) return "conv2d_f32_ref";
    if (per_image_) {
      return std::string(bf16_ ? "conv2d_bf16" : s_.is_depthwise() ? "depthwise_f32" : "conv2d_f32") + " nhwc" +
             (quantize_ ? " + quantize_u8" : "") + (pooled_ ? " + max_pool" : "");
    }
    if (bf16_) return nhwc_ ? "conv2d_bf16 nhwc" : "conv2d_bf16 (nchw<->nhwc)";
    std::string k = s_.is_depthwise() ? "depthwise_f32" : "conv2d_f32";
    return nhwc_ ? k + " nhwc" : k + " (nchw<->nhwc)";
  }

 private:
  bool nhwc_;
  Conv2dShape s_;
  PackedConv2dWeights packed_;
  PackedConv2dBf16Weights packed_bf16_;
  AlignedBuffer<std::uint16_t> in_bf16_;
  Conv2dBf16Scratch scratch_bf16_;
  bool bf16_ = false;
  bool per_image_ = false;  // quantizes and / or pools each image from image_out_
  bool quantize_ = false;
  bool pooled_ = false;
  bool banded_ = false;       // pooled in bands of conv rows (run_bands)
  int band_pool_rows_ = 0;    // pooled rows per band
  std::vector<BandBuffers> band_buffers_;  // per thread: its band of conv rows
  std::size_t band_floats_ = 0;
  Conv2dShape pool_;  // one image of the conv's output, max-pooled
  AlignedBuffer<std::uint8_t> image_u8_;
  float quantize_scale_ = 1.0f;
  std::int32_t quantize_zero_point_ = 0;
  AlignedBuffer<float> image_out_;
  bool packed_ok_ = false;
  bool has_bias_ = false;
  bool has_residual_ = false;
  std::size_t out_row_stride_ = 0;  // 0: dense; else a Concat's channel slice
  ActivationParams act_;
  std::size_t pixels_in_ = 0, pixels_out_ = 0;
  AlignedBuffer<float> in_nhwc_, out_nhwc_;
  Conv2dScratch scratch_;
};

}  // namespace

std::unique_ptr<BoundOp> bind_conv(const BindArgs& a) {
  return std::make_unique<ConvOp>(a, false);
}

std::unique_ptr<BoundOp> bind_nhwc_conv(const BindArgs& a) {
  if (a.in(0).shape.rank() != 4) a.fail("NhwcConv needs a rank-4 input");
  return std::make_unique<ConvOp>(a, true);
}

}  // namespace lowp::runtime
