// train/conv2d.cc
#include "train/conv2d.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "base/error.h"
#include "kernels/convert/convert.h"
#include "kernels/transpose/transpose.h"

namespace lowp::train {

Conv2d::Conv2d(std::string name, const Conv2dOptions& options, Random& rng)
    : Layer(std::move(name)), o_(options) {
  LOWP_CHECK(o_.in_channels >= 1 && o_.out_channels >= 1 && o_.kernel >= 1 && o_.stride >= 1 &&
                 o_.groups >= 1,
             "{}: Conv2d needs channels, kernel, stride and groups of at least 1", this->name());
  LOWP_CHECK(o_.padding >= 0, "{}: Conv2d padding {} is negative", this->name(), o_.padding);
  LOWP_CHECK(o_.in_channels % o_.groups == 0 && o_.out_channels % o_.groups == 0,
             "{}: Conv2d channels {} -> {} are not divisible by {} groups", this->name(),
             o_.in_channels, o_.out_channels, o_.groups);
  const int fan_in = o_.in_channels / o_.groups * o_.kernel * o_.kernel;
  const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
  weight_ = Param{this->name() + ".weight",
                  {o_.out_channels, o_.in_channels / o_.groups, o_.kernel, o_.kernel},
                  {},
                  {},
                  true};
  weight_.value.resize(shape_elements(weight_.shape));
  for (float& w : weight_.value) w = rng.uniform(-bound, bound);
  weight_.grad.assign(weight_.value.size(), 0.0f);
  if (o_.bias) {
    bias_ = Param{this->name() + ".bias", {o_.out_channels}, {}, {}, true};
    bias_.value.resize(static_cast<std::size_t>(o_.out_channels));
    for (float& b : bias_.value) b = rng.uniform(-bound, bound);
    bias_.grad.assign(bias_.value.size(), 0.0f);
  }
}

Conv2dShape Conv2d::shape_for(std::span<const int> in) const {
  LOWP_CHECK(in.size() == 4 && in[3] == o_.in_channels,
             "{}: Conv2d with {} input channels takes NHWC [N, H, W, {}], not {}", name(),
             o_.in_channels, o_.in_channels, shape_str(in));
  Conv2dShape s;
  s.batch = in[0];
  s.in_h = in[1];
  s.in_w = in[2];
  s.in_c = o_.in_channels;
  s.out_c = o_.out_channels;
  s.kernel_h = s.kernel_w = o_.kernel;
  s.stride_h = s.stride_w = o_.stride;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = o_.padding;
  s.groups = o_.groups;
  try {
    s.validate();
  } catch (const Error& e) {
    fail("{}: input {} does not fit the convolution: {}", name(), shape_str(in), e.what());
  }
  return s;
}

std::vector<int> Conv2d::output_shape(std::span<const int> in) const {
  Conv2dShape s = shape_for(in);
  return {s.batch, s.out_h(), s.out_w(), s.out_c};
}

void Conv2d::forward(const Batch& x, Batch& y, const Context& ctx) {
  Conv2dShape s = shape_for(x.shape);
  const float* bias = o_.bias ? bias_.value.data() : nullptr;
  if (ctx.matrix == MatrixPrecision::bf16 || x.bf16) {
    // bf16 training: the output is passed on in bf16.
    const std::uint16_t* x_bits = x.bf16 ? x.bits.data() : narrowed(x.data, input_bf16_, ctx.pool);
    y.resize_bf16({s.batch, s.out_h(), s.out_w(), s.out_c});
    conv_bf16(s, weight_.value.data(), x_bits, bias, nullptr, y.bits.data(), ctx.pool);
    return;
  }
  y.resize({s.batch, s.out_h(), s.out_w(), s.out_c});
  packed_ = pack_conv2d_f32(s, weight_.value.data());
  conv2d_f32(packed_, x.data.data(), o_.bias ? bias_.value.data() : nullptr, Activation::none,
             y.data.data(), conv_scratch_, ctx.pool);
}

const std::uint16_t* Conv2d::narrowed(const std::vector<float>& values,
                                      std::vector<std::uint16_t>& bits, ThreadPool* pool) {
  bits.resize(values.size());
  narrow_to_bf16(values.data(), bits.data(), values.size(), pool);
  return bits.data();
}

void Conv2d::conv_bf16(const Conv2dShape& s, const float* weights, const std::uint16_t* x,
                       const float* bias, float* y, std::uint16_t* y_bits, ThreadPool* pool) {
  weight_bf16_.resize(shape_elements(weight_.shape));
  convert_f32_to_bf16(weights, weight_bf16_.data(), weight_bf16_.size());
  packed_bf16_ = pack_conv2d_bf16(s, weight_bf16_.data());
  if (y_bits != nullptr) {
    conv2d_bf16_to_bf16(packed_bf16_, x, bias, Activation::none, y_bits, bf16_scratch_, pool);
  } else {
    conv2d_bf16(packed_bf16_, x, bias, Activation::none, y, bf16_scratch_, pool);
  }
}

void im2col_nhwc(const Conv2dShape& s, int group, const float* x, float* cols) {
  im2col_rows(s, group, x, 0, s.batch * s.out_h() * s.out_w(), cols);
}

void im2col_rows(const Conv2dShape& s, int group, const float* x, int first_pixel, int rows,
                 float* cols) {
  const int oh_n = s.out_h(), ow_n = s.out_w(), gc = s.group_in_c();
  const int per_image = oh_n * ow_n;
  const std::size_t k = static_cast<std::size_t>(s.gemm_k());
  for (int r = 0; r < rows; ++r) {
    const int p = first_pixel + r;
    const int n = p / per_image, oh = (p % per_image) / ow_n, ow = p % ow_n;
    const float* image = x + static_cast<std::size_t>(n) * s.in_h * s.in_w * s.in_c;
    float* dst = cols + static_cast<std::size_t>(r) * k;
    for (int kh = 0; kh < s.kernel_h; ++kh) {
      const int ih = oh * s.stride_h - s.pad_top + kh;
      for (int kw = 0; kw < s.kernel_w; ++kw, dst += gc) {
        const int iw = ow * s.stride_w - s.pad_left + kw;
        if (ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w) {
          std::fill(dst, dst + gc, 0.0f);
        } else {
          const float* src = image + (static_cast<std::size_t>(ih) * s.in_w + iw) * s.in_c +
                             static_cast<std::size_t>(group) * gc;
          std::copy(src, src + gc, dst);
        }
      }
    }
  }
}

void im2col_packed(const Conv2dShape& s, int group, const float* x, int first_pixel, int rows,
                   PackedGemmWeights& out) {
  const int k = s.gemm_k();
  if (out.type != GemmWeights::f32 || out.n != k || out.k != rows || out.data.size() == 0) {
    out = PackedGemmWeights{};
    out.type = GemmWeights::f32;
    out.n = k;
    out.k = rows;
    // Zero-filled: the lanes past k in the last panel stay zero.
    out.data = AlignedBuffer<std::byte>(static_cast<std::size_t>(out.panels()) * rows * kGemmPanel *
                                        sizeof(float));
  }
  float* panels = reinterpret_cast<float*>(out.data.data());
  const std::size_t panel_stride = static_cast<std::size_t>(rows) * kGemmPanel;
  const int oh_n = s.out_h(), ow_n = s.out_w(), gc = s.group_in_c();
  const int per_image = oh_n * ow_n;
  // Whole 16-float panel rows when each run of channels fills them.
  const bool aligned_runs = gc % kGemmPanel == 0;
  for (int r = 0; r < rows; ++r) {
    const int p = first_pixel + r;
    const int n = p / per_image, oh = (p % per_image) / ow_n, ow = p % ow_n;
    const float* image = x + static_cast<std::size_t>(n) * s.in_h * s.in_w * s.in_c;
    float* row = panels + static_cast<std::size_t>(r) * kGemmPanel;
    int j = 0;  // column of the im2col row: (kh, kw, c)
    for (int kh = 0; kh < s.kernel_h; ++kh) {
      const int ih = oh * s.stride_h - s.pad_top + kh;
      for (int kw = 0; kw < s.kernel_w; ++kw, j += gc) {
        const int iw = ow * s.stride_w - s.pad_left + kw;
        const bool inside = ih >= 0 && ih < s.in_h && iw >= 0 && iw < s.in_w;
        const float* src = inside ? image + (static_cast<std::size_t>(ih) * s.in_w + iw) * s.in_c +
                                        static_cast<std::size_t>(group) * gc
                                  : nullptr;
        if (aligned_runs) {
          for (int c = 0; c < gc; c += kGemmPanel) {
            float* dst = row + static_cast<std::size_t>((j + c) / kGemmPanel) * panel_stride;
            if (inside) {
              std::memcpy(dst, src + c, kGemmPanel * sizeof(float));
            } else {
              std::memset(dst, 0, kGemmPanel * sizeof(float));
            }
          }
        } else {
          for (int c = 0; c < gc; ++c) {
            const int col = j + c;
            row[static_cast<std::size_t>(col / kGemmPanel) * panel_stride + col % kGemmPanel] =
                inside ? src[c] : 0.0f;
          }
        }
      }
    }
  }
}

void im2col_packed_bf16(const Conv2dShape& s, int group, const std::uint16_t* x, int first_pixel,
                        int rows, PackedBf16DotWeights& out) {
  const int k = s.gemm_k();
  if (out.n != k || out.k != rows || out.data.size() == 0) {
    out = PackedBf16DotWeights{};
    out.n = k;
    out.k = rows;
    // Zero-filled: lanes past k in the last panel, and the pixel that pads an odd count,
    // stay zero.
    out.data = AlignedBuffer<std::uint16_t>(static_cast<std::size_t>(out.panels()) *
                                            out.panel_elements());
  }
  const std::size_t panel_elements = out.panel_elements();
  const int oh_n = s.out_h(), ow_n = s.out_w(), gc = s.group_in_c();
  const int per_image = oh_n * ow_n;
  // Where pixel p's receptive field starts: its image (at this group's channels) and the
  // input row and column of tap (0, 0), found once per pixel.
  struct Origin {
    const std::uint16_t* image;
    int ih0, iw0;
  };
  auto origin = [&](int p) {
    const int n = p / per_image, rest = p % per_image;
    return Origin{x + static_cast<std::size_t>(n) * s.in_h * s.in_w * s.in_c +
                      static_cast<std::size_t>(group) * gc,
                  rest / ow_n * s.stride_h - s.pad_top, rest % ow_n * s.stride_w - s.pad_left};
  };
  // Tap (kh, kw) of a pixel: its gc channels, or null in the padding.
  auto tap = [&](const Origin& o, int kh, int kw) -> const std::uint16_t* {
    const int ih = o.ih0 + kh, iw = o.iw0 + kw;
    if (ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w) return nullptr;
    return o.image + (static_cast<std::size_t>(ih) * s.in_w + iw) * s.in_c;
  };
  // Two pixels at a time (an odd last one paired with zeros, which the padding pixel must
  // hold): each column's pair is one 32-bit lane. Runs of 8 channels are interleaved by
  // unpacking the two runs (SSE2, 32 contiguous bytes of one panel); other channel counts
  // (a first layer's 1 or 3) store lane by lane.
  for (int r = 0; r < rows; r += 2) {
    std::uint16_t* pair = out.data.data() + static_cast<std::size_t>(r / 2) * kGemmPanel * 2;
    const Origin first = origin(first_pixel + r);
    const bool has_second = r + 1 < rows;
    const Origin second = has_second ? origin(first_pixel + r + 1) : first;
    int col = 0;  // (kh, kw, c)
    for (int kh = 0; kh < s.kernel_h; ++kh) {
      for (int kw = 0; kw < s.kernel_w; ++kw) {
        const std::uint16_t* a = tap(first, kh, kw);
        const std::uint16_t* b = has_second ? tap(second, kh, kw) : nullptr;
        int c = 0;
#if defined(__SSE2__)
        if (gc % 8 == 0) {
          for (; c < gc; c += 8, col += 8) {
            const __m128i va = a != nullptr
                                   ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + c))
                                   : _mm_setzero_si128();
            const __m128i vb = b != nullptr
                                   ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + c))
                                   : _mm_setzero_si128();
            std::uint16_t* dst = pair + static_cast<std::size_t>(col / kGemmPanel) * panel_elements +
                                 static_cast<std::size_t>(col % kGemmPanel) * 2;
            _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm_unpacklo_epi16(va, vb));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 8), _mm_unpackhi_epi16(va, vb));
          }
        }
#endif
        for (; c < gc; ++c, ++col) {
          const std::uint32_t lo = a != nullptr ? a[c] : 0u, hi = b != nullptr ? b[c] : 0u;
          const std::uint32_t lane = lo | hi << 16;
          std::memcpy(pair + static_cast<std::size_t>(col / kGemmPanel) * panel_elements +
                          static_cast<std::size_t>(col % kGemmPanel) * 2,
                      &lane, sizeof(lane));
        }
      }
    }
  }
}

void Conv2d::backward(const Batch& x, const Batch&, const Batch& dy, Batch* dx,
                      const Context& ctx) {
  const Conv2dShape s = shape_for(x.shape);
  const int pixels = s.batch * s.out_h() * s.out_w();
  const int igc = s.group_in_c(), ogc = s.group_out_c(), k = s.gemm_k(), kk = o_.kernel * o_.kernel;
  const std::size_t out_c = static_cast<std::size_t>(s.out_c);
  // bf16 training: the output was bf16, so is its gradient; the weight gradient reads the
  // input in bf16 (as forward() rounded it when it came in fp32).
  const bool bf16 = dy.bf16;
  LOWP_CHECK(bf16 || (ctx.matrix == MatrixPrecision::fp32 && !x.bf16),
             "{}: bf16 training passes this layer's output gradient in bf16", name());
  const bool col2im = !(o_.stride == 1 && o_.padding <= o_.kernel - 1);
  // The output gradient in fp32 where it is needed so: the fp32 path, and col2im's GEMM.
  const float* dyf = dy.data.data();
  if (bf16 && col2im && dx != nullptr) {
    grad_f32_.resize(dy.bits.size());
    parallel_elements(ctx.pool, dy.bits.size(), [&](std::size_t b, std::size_t e) {
      convert_bf16_to_f32(dy.bits.data() + b, grad_f32_.data() + b, e - b);
    });
    dyf = grad_f32_.data();
  }
  const std::uint16_t* x_bits = x.bf16 ? x.bits.data() : input_bf16_.data();
  if (weight_.trainable) {
    const std::size_t mat = static_cast<std::size_t>(ogc) * static_cast<std::size_t>(k);
    const int chunks = (pixels + kPixelChunk - 1) / kPixelChunk;
    grad_mat_.resize(mat);
    partials_.resize(static_cast<std::size_t>(chunks) * mat);
    const int slices = ctx.pool != nullptr ? ctx.pool->threads() : 1;
    if (chunk_scratch_.size() < static_cast<std::size_t>(slices))
      chunk_scratch_.resize(static_cast<std::size_t>(slices));
    for (int g = 0; g < s.groups; ++g) {
      // grad_mat[o][(kh, kw, c)] = sum_p dy[p][g * ogc + o] cols[p][(kh, kw, c)]. The pixels
      // go in chunks whose im2col rows (packed straight into GEMM panels) stay in cache;
      // threads take whole chunks, each chunk's GEMM writes its own partial, and the
      // partials are added in chunk order: the same bits at any thread count.
      auto run = [&](int slice, std::size_t c0, std::size_t c1) {
        ChunkScratch& scratch = chunk_scratch_[static_cast<std::size_t>(slice)];
        scratch.dy_t.resize(static_cast<std::size_t>(ogc) * kPixelChunk);
        for (std::size_t chunk = c0; chunk < c1; ++chunk) {
          const int p0 = static_cast<int>(chunk) * kPixelChunk;
          const int rows = std::min(kPixelChunk, pixels - p0);
          if (bf16) {
            im2col_packed_bf16(s, g, x_bits, p0, rows, scratch.cols_bf16);
            // A = dy^T on bf16 rows: pairs of pixels side by side in 32-bit lanes, as the
            // kernels read them, then transposed as 32-bit elements: [ogc][pixel pairs].
            const int pairs = (rows + 1) / 2;
            const std::size_t lda = static_cast<std::size_t>(pairs) * 2;
            scratch.dy_pairs.resize(static_cast<std::size_t>(pairs) * ogc);
            scratch.dy_t_bf16.resize(static_cast<std::size_t>(ogc) * lda);
            for (int q = 0; q < pairs; ++q) {
              const std::uint16_t* even = dy.bits.data() +
                                          static_cast<std::size_t>(p0 + 2 * q) * out_c +
                                          static_cast<std::size_t>(g) * ogc;
              const std::uint16_t* odd = 2 * q + 1 < rows ? even + out_c : nullptr;
              std::uint32_t* dst = scratch.dy_pairs.data() + static_cast<std::size_t>(q) * ogc;
              for (int o = 0; o < ogc; ++o) {
                dst[o] = static_cast<std::uint32_t>(even[o]) |
                         (odd != nullptr ? static_cast<std::uint32_t>(odd[o]) << 16 : 0u);
              }
            }
            transpose_x32(scratch.dy_pairs.data(),
                          reinterpret_cast<std::uint32_t*>(scratch.dy_t_bf16.data()),
                          static_cast<std::size_t>(pairs), static_cast<std::size_t>(ogc),
                          static_cast<std::size_t>(ogc), lda / 2);
            Bf16DotArgs args;
            args.m = ogc;
            args.a = scratch.dy_t_bf16.data();
            args.lda = lda;
            args.w = &scratch.cols_bf16;
            args.c = partials_.data() + chunk * mat;
            args.ldc = static_cast<std::size_t>(k);
            bf16dot_gemm(args, nullptr);  // inside the pool's job
            continue;
          }
          im2col_packed(s, g, x.data.data(), p0, rows, scratch.cols);
          transpose_x32(
              reinterpret_cast<const std::uint32_t*>(dyf +
                                                     static_cast<std::size_t>(p0) * out_c +
                                                     static_cast<std::size_t>(g) * ogc),
              reinterpret_cast<std::uint32_t*>(scratch.dy_t.data()), static_cast<std::size_t>(rows),
              static_cast<std::size_t>(ogc), out_c, static_cast<std::size_t>(rows));
          GemmArgs args;
          args.m = ogc;
          args.a = scratch.dy_t.data();
          args.lda = static_cast<std::size_t>(rows);
          args.w = &scratch.cols;
          args.c = partials_.data() + chunk * mat;
          args.ldc = static_cast<std::size_t>(k);
          gemm(args, nullptr);  // inside the pool's job: no nested parallel_for
        }
      };
      if (slices > 1 && chunks > 1) {
        ctx.pool->parallel_for_slices(static_cast<std::size_t>(chunks), 1, run);
      } else {
        run(0, 0, static_cast<std::size_t>(chunks));
      }
      const float* parts = partials_.data();
      float* sum = grad_mat_.data();
      parallel_elements(ctx.pool, mat, [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) sum[i] = parts[i];
        for (int chunk = 1; chunk < chunks; ++chunk) {
          const float* part = parts + static_cast<std::size_t>(chunk) * mat;
          for (std::size_t i = b; i < e; ++i) sum[i] += part[i];
        }
      });
      for (int o = 0; o < ogc; ++o) {
        float* dst = weight_.grad.data() + static_cast<std::size_t>(g * ogc + o) * igc * kk;
        const float* src = grad_mat_.data() + static_cast<std::size_t>(o) * k;
        for (int c = 0; c < igc; ++c) {
          for (int t = 0; t < kk; ++t) dst[c * kk + t] = src[t * igc + c];
        }
      }
    }
    if (o_.bias && bf16) {
      sum_rows_bf16(pixels, s.out_c, dy.bits.data(), out_c, bias_.grad.data(), ctx.pool);
    } else if (o_.bias) {
      sum_rows(pixels, s.out_c, dyf, out_c, bias_.grad.data(), ctx.pool);
    }
  }
  if (dx == nullptr) return;
  // The input gradient in the input's format; computed in fp32.
  dx->resize_as(x.shape, x.bf16);
  float* dxf = dx->data.data();
  if (x.bf16) {  // col2im sums in fp32 before rounding; the bf16 kernels round themselves
    out_f32_.resize(dx->bits.size());
    dxf = out_f32_.data();
  }
  if (!col2im) {
    input_gradient_by_conv(s, dyf, bf16 ? dy.bits.data() : nullptr, dxf,
                           x.bf16 ? dx->bits.data() : nullptr, ctx);
  } else {
    input_gradient_by_col2im(s, dyf, dxf, x.elements(), ctx);
    if (x.bf16) narrow_to_bf16(dxf, dx->bits.data(), dx->bits.size(), ctx.pool);
  }
}

void Conv2d::input_gradient_by_conv(const Conv2dShape& s, const float* dy,
                                    const std::uint16_t* dy_bits, float* dx,
                                    std::uint16_t* dx_bits, const Context& ctx) {
  const int igc = s.group_in_c(), ogc = s.group_out_c(), kn = o_.kernel, kk = kn * kn;
  // flipped[g * igc + c][o][kh][kw] = W[g * ogc + o][c][kn - 1 - kh][kn - 1 - kw]
  flipped_.resize(weight_.value.size());
  for (int g = 0; g < s.groups; ++g) {
    for (int c = 0; c < igc; ++c) {
      for (int o = 0; o < ogc; ++o) {
        const float* src =
            weight_.value.data() + (static_cast<std::size_t>(g * ogc + o) * igc + c) * kk;
        float* dst = flipped_.data() + (static_cast<std::size_t>(g * igc + c) * ogc + o) * kk;
        for (int t = 0; t < kk; ++t) dst[t] = src[kk - 1 - t];
      }
    }
  }
  Conv2dShape t;
  t.batch = s.batch;
  t.in_h = s.out_h();
  t.in_w = s.out_w();
  t.in_c = s.out_c;
  t.out_c = s.in_c;
  t.kernel_h = t.kernel_w = kn;
  t.pad_top = t.pad_left = t.pad_bottom = t.pad_right = kn - 1 - o_.padding;
  t.groups = s.groups;
  if (dy_bits != nullptr) {
    conv_bf16(t, flipped_.data(), dy_bits, nullptr, dx, dx_bits, ctx.pool);
    return;
  }
  PackedConv2dWeights packed = pack_conv2d_f32(t, flipped_.data());
  conv2d_f32(packed, dy, nullptr, Activation::none, dx, conv_scratch_, ctx.pool);
}

void Conv2d::input_gradient_by_col2im(const Conv2dShape& s, const float* dy, float* dx,
                                      std::size_t dx_elements, const Context& ctx) {
  const int igc = s.group_in_c(), ogc = s.group_out_c(), k = s.gemm_k(), kk = o_.kernel * o_.kernel;
  const int oh_n = s.out_h(), ow_n = s.out_w();
  const int pixels = s.batch * oh_n * ow_n;
  std::fill(dx, dx + dx_elements, 0.0f);
  cols_.resize(static_cast<std::size_t>(pixels) * static_cast<std::size_t>(k));
  weight_mat_.resize(static_cast<std::size_t>(ogc) * static_cast<std::size_t>(k));
  for (int g = 0; g < s.groups; ++g) {
    // weight_mat[o][(kh, kw, c)] = W[g * ogc + o][c][kh][kw]
    for (int o = 0; o < ogc; ++o) {
      const float* src = weight_.value.data() + static_cast<std::size_t>(g * ogc + o) * igc * kk;
      float* dst = weight_mat_.data() + static_cast<std::size_t>(o) * k;
      for (int c = 0; c < igc; ++c) {
        for (int t = 0; t < kk; ++t) dst[t * igc + c] = src[c * kk + t];
      }
    }
    // dcols[p][(kh, kw, c)] = sum_o dy[p][g * ogc + o] weight_mat[o][(kh, kw, c)]
    matmul_ab(pixels, ogc, k, dy + static_cast<std::size_t>(g) * ogc,
              static_cast<std::size_t>(s.out_c), weight_mat_.data(), static_cast<std::size_t>(k),
              cols_.data(), static_cast<std::size_t>(k), matmul_, ctx.pool, ctx.matrix);
    // col2im, pixels in order.
    std::size_t row = 0;
    for (int n = 0; n < s.batch; ++n) {
      float* image = dx + static_cast<std::size_t>(n) * s.in_h * s.in_w * s.in_c;
      for (int oh = 0; oh < oh_n; ++oh) {
        for (int ow = 0; ow < ow_n; ++ow, ++row) {
          const float* src = cols_.data() + row * static_cast<std::size_t>(k);
          for (int kh = 0; kh < s.kernel_h; ++kh) {
            const int ih = oh * s.stride_h - s.pad_top + kh;
            for (int kw = 0; kw < s.kernel_w; ++kw, src += igc) {
              const int iw = ow * s.stride_w - s.pad_left + kw;
              if (ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w) continue;
              float* dst = image + (static_cast<std::size_t>(ih) * s.in_w + iw) * s.in_c +
                           static_cast<std::size_t>(g) * igc;
              for (int c = 0; c < igc; ++c) dst[c] += src[c];
            }
          }
        }
      }
    }
  }
}

std::vector<Param*> Conv2d::params() {
  if (o_.bias) return {&weight_, &bias_};
  return {&weight_};
}

ir::Value* Conv2d::export_to(ir::Graph& graph, ir::Value* x) const {
  std::vector<ir::Value*> inputs = {
      x, export_constant(graph, weight_.name, weight_.shape, weight_.value)};
  if (o_.bias) inputs.push_back(export_constant(graph, bias_.name, bias_.shape, bias_.value));
  ir::Value* y = export_value(graph, name());
  ir::Node* node = graph.add_node("Conv", inputs, {y}, graph.unique_name(name()));
  node->attributes["kernel_shape"] = ir::Attribute::of_ints({o_.kernel, o_.kernel});
  node->attributes["strides"] = ir::Attribute::of_ints({o_.stride, o_.stride});
  node->attributes["pads"] =
      ir::Attribute::of_ints({o_.padding, o_.padding, o_.padding, o_.padding});
  node->attributes["group"] = ir::Attribute::of_int(o_.groups);
  return y;
}

}  // namespace lowp::train
