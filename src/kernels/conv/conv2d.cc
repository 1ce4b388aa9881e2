// kernels/conv/conv2d.cc
#include "kernels/conv/conv2d.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "base/checked_math.h"
#include "base/error.h"
#include "kernels/activate/activate.h"
#include "kernels/conv/conv_implicit.h"
#include "kernels/convert/convert.h"
#include "kernels/conv/depthwise.h"
#include "kernels/conv/qdepthwise.h"
#include "kernels/parallel.h"

namespace lowp {
namespace {

// Output pixels gathered per block: 256 rows of A, so that a block of a ResNet 3x3x64
// layer (k = 576) is 576 KiB and stays in L2 while its GEMM runs.
constexpr std::size_t kRowsPerBlock = 256;

int out_size(int in, int pad_begin, int pad_end, int kernel, int stride, int dilation) {
  int span = dilation * (kernel - 1) + 1;
  return (in + pad_begin + pad_end - span) / stride + 1;
}

// Copies a tap row of a few hundred bytes at most: in 32-byte pieces the compiler turns
// into vector moves, then the tail element by element. A call to memcpy per tap row cost
// more than the copy (the u8 3x3 x 32-channel layer of the Fashion-MNIST CNN: 3 calls per
// output pixel, half the layer's time).
template <class T>
inline void copy_run(T* dst, const T* src, std::size_t count) {
  auto* d = reinterpret_cast<unsigned char*>(dst);
  const auto* s = reinterpret_cast<const unsigned char*>(src);
  std::size_t bytes = count * sizeof(T), i = 0;
  for (; i + 32 <= bytes; i += 32) std::memcpy(d + i, s + i, 32);
  for (; i < bytes; ++i) d[i] = s[i];
}

// Gathers the receptive fields of output pixels [first, first + rows) of image `n`, group
// `g`, as rows of k = KH * KW * Cg elements (row stride `ldo` >= k; the elements past k are
// zeroed), with `pad` where the window overhangs the input (0, or the zero point of u8).
template <class T>
void gather_rows(const Conv2dShape& s, const T* image, int g, int first, int rows, T* out,
                 std::size_t ldo, T pad) {
  const int ow_count = s.out_w(), cg = s.group_in_c(), k = s.gemm_k();
  for (int r = 0; r < rows; ++r) {
    int pixel = first + r, oh = pixel / ow_count, ow = pixel % ow_count;
    T* dst = out + static_cast<std::size_t>(r) * ldo;
    const int iw0 = ow * s.stride_w - s.pad_left;
    // With dilation 1, one group and the window inside the row, a tap row is one run of
    // KW x C contiguous input elements: copied at once (the 7x7 stem of ResNet has C = 3,
    // where one small copy per tap cost more than the GEMM).
    const bool whole_run =
        s.dilation_w == 1 && s.groups == 1 && iw0 >= 0 && iw0 + s.kernel_w <= s.in_w;
    const std::size_t run = static_cast<std::size_t>(s.kernel_w) * cg;
    for (int kh = 0; kh < s.kernel_h; ++kh) {
      int ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
      if (ih < 0 || ih >= s.in_h) {
        std::fill_n(dst, run, pad);
        dst += run;
        continue;
      }
      const T* row = image + static_cast<std::size_t>(ih) * s.in_w * s.in_c;
      if (whole_run) {
        copy_run(dst, row + static_cast<std::size_t>(iw0) * s.in_c, run);
        dst += run;
        continue;
      }
      for (int kw = 0; kw < s.kernel_w; ++kw) {
        int iw = iw0 + kw * s.dilation_w;
        if (iw < 0 || iw >= s.in_w) {
          std::fill_n(dst, cg, pad);
        } else {
          std::memcpy(
              dst, row + static_cast<std::size_t>(iw) * s.in_c + static_cast<std::size_t>(g) * cg,
              static_cast<std::size_t>(cg) * sizeof(T));
        }
        dst += cg;
      }
    }
    for (T* p = out + static_cast<std::size_t>(r) * ldo + k; p < out + static_cast<std::size_t>(r + 1) * ldo; ++p) *p = T{0};
  }
}

// Copies one NHWC image into `out`, [in_h + pad_top + pad_bottom][in_w + pad_left +
// pad_right][in_c], with zeros in the border: the implicit GEMM's input.
template <class T>
void pad_image(const Conv2dShape& s, const T* image, T* out, T pad, ThreadPool* pool) {
  const int hp = s.in_h + s.pad_top + s.pad_bottom, wp = s.in_w + s.pad_left + s.pad_right;
  const std::size_t c = static_cast<std::size_t>(s.in_c), row = static_cast<std::size_t>(wp) * c;
  split_rows(pool, hp, [&](std::size_t begin, std::size_t end) {
    for (std::size_t y = begin; y < end; ++y) {
      T* dst = out + y * row;
      int ih = static_cast<int>(y) - s.pad_top;
      if (ih < 0 || ih >= s.in_h) {
        std::fill_n(dst, row, pad);
        continue;
      }
      std::fill_n(dst, s.pad_left * c, pad);
      std::memcpy(dst + s.pad_left * c, image + static_cast<std::size_t>(ih) * s.in_w * c,
                  s.in_w * c * sizeof(T));
      std::fill_n(dst + (s.pad_left + s.in_w) * c, s.pad_right * c, pad);
    }
  });
}

// Reorders one group's ONNX weights [oc][c][kh][kw] to the gather's order [oc][kh][kw][c],
// writing in order.
template <class T>
std::vector<T> reorder_group(const Conv2dShape& s, const T* weights, int g) {
  const int cg = s.group_in_c(), ocg = s.group_out_c(), k = s.gemm_k(), taps = s.kernel_h * s.kernel_w;
  std::vector<T> out(static_cast<std::size_t>(ocg) * k);
  T* dst = out.data();
  for (int o = 0; o < ocg; ++o) {
    const T* src = weights + static_cast<std::size_t>(g * ocg + o) * cg * taps;
    for (int t = 0; t < taps; ++t)
      for (int c = 0; c < cg; ++c) *dst++ = src[c * taps + t];
  }
  return out;
}

// Runs body(a, lda, m, first_pixel, gemm_pool) over the GEMM row blocks of image
// `image`, group `g`: the input itself when the layer is pointwise and the rows are
// directly readable to the padded depth (`direct`; the GEMM splits its rows over the
// pool), else gathered blocks of kRowsPerBlock pixels. With threads, whole blocks are
// dealt out (each slice gathers into its own part of `scratch` and runs its GEMMs on one
// thread): one hand-off per convolution, not one per block, and the gather runs in
// parallel too. Every output row is computed the same way either way.
template <class T, class Body>
void for_each_row_block(const Conv2dShape& s, const T* image, int g, bool direct,
                        std::size_t padded_k, AlignedBuffer<T>& scratch, T pad, ThreadPool* pool,
                        const Body& body) {
  const int pixels = s.out_h() * s.out_w();
  if (direct) {
    body(image + static_cast<std::size_t>(g) * s.group_in_c(), static_cast<std::size_t>(s.in_c),
         pixels, 0, pool);
    return;
  }
  const std::size_t blocks = (static_cast<std::size_t>(pixels) + kRowsPerBlock - 1) / kRowsPerBlock;
  const bool parallel = pool != nullptr && pool->threads() > 1 && blocks > 1;
  const std::size_t slots = parallel ? static_cast<std::size_t>(pool->threads()) : 1;
  const std::size_t block_elements = kRowsPerBlock * padded_k;
  if (scratch.size() < slots * block_elements) scratch = AlignedBuffer<T>(slots * block_elements);
  auto run_blocks = [&](int slot, std::size_t begin, std::size_t end, ThreadPool* gemm_pool) {
    T* rows_buffer = scratch.data() + static_cast<std::size_t>(slot) * block_elements;
    for (std::size_t b = begin; b < end; ++b) {
      int first = static_cast<int>(b * kRowsPerBlock);
      int rows = std::min(static_cast<int>(kRowsPerBlock), pixels - first);
      gather_rows(s, image, g, first, rows, rows_buffer, padded_k, pad);
      body(static_cast<const T*>(rows_buffer), padded_k, rows, first, gemm_pool);
    }
  };
  if (!parallel) {
    run_blocks(0, 0, blocks, pool);
    return;
  }
  pool->parallel_for_slices(blocks, 1, [&](int slot, std::size_t begin, std::size_t end) {
    run_blocks(slot, begin, end, nullptr);
  });
}

}  // namespace

int Conv2dShape::out_h() const {
  return out_size(in_h, pad_top, pad_bottom, kernel_h, stride_h, dilation_h);
}
int Conv2dShape::out_w() const {
  return out_size(in_w, pad_left, pad_right, kernel_w, stride_w, dilation_w);
}

bool Conv2dShape::is_pointwise() const {
  return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 &&
         pad_left == 0 && pad_bottom == 0 && pad_right == 0;
}

void Conv2dShape::validate() const {
  LOWP_CHECK(batch >= 1 && in_h >= 1 && in_w >= 1 && in_c >= 1 && out_c >= 1,
             "conv2d: batch, input size and channels must be at least 1 (got {}x{}x{}x{} -> {})",
             batch, in_h, in_w, in_c, out_c);
  LOWP_CHECK(kernel_h >= 1 && kernel_w >= 1, "conv2d: kernel {}x{} must be at least 1x1", kernel_h,
             kernel_w);
  LOWP_CHECK(stride_h >= 1 && stride_w >= 1, "conv2d: stride {}x{} must be at least 1", stride_h,
             stride_w);
  LOWP_CHECK(dilation_h >= 1 && dilation_w >= 1, "conv2d: dilation {}x{} must be at least 1",
             dilation_h, dilation_w);
  LOWP_CHECK(pad_top >= 0 && pad_left >= 0 && pad_bottom >= 0 && pad_right >= 0,
             "conv2d: padding must not be negative");
  LOWP_CHECK(groups >= 1 && in_c % groups == 0 && out_c % groups == 0,
             "conv2d: {} groups must divide {} input and {} output channels", groups, in_c, out_c);
  LOWP_CHECK(out_h() >= 1 && out_w() >= 1,
             "conv2d: the dilated {}x{} kernel is larger than the padded {}x{} input", kernel_h,
             kernel_w, in_h, in_w);
  std::size_t in =
      checked_mul(checked_mul(checked_mul(batch, in_h, "conv2d input"), in_w, "conv2d input"), in_c,
                  "conv2d input");
  std::size_t out = checked_mul(
      checked_mul(checked_mul(batch, out_h(), "conv2d output"), out_w(), "conv2d output"), out_c,
      "conv2d output");
  LOWP_CHECK(in < (std::size_t{1} << 40) && out < (std::size_t{1} << 40),
             "conv2d: tensors too large");
}

PackedConv2dWeights pack_conv2d_f32(const Conv2dShape& shape, const float* weights) {
  shape.validate();
  PackedConv2dWeights packed;
  packed.shape = shape;
  if (shape.is_depthwise()) {
    // ONNX [c][1][kh][kw] to [kh][kw][c]: a tap's weights for all channels side by side.
    const int taps = shape.kernel_h * shape.kernel_w;
    packed.depthwise = AlignedBuffer<float>(static_cast<std::size_t>(taps) * shape.in_c);
    for (int c = 0; c < shape.in_c; ++c)
      for (int t = 0; t < taps; ++t)
        packed.depthwise[static_cast<std::size_t>(t) * shape.in_c + c] =
            weights[static_cast<std::size_t>(c) * taps + t];
    return packed;
  }
  // Packed straight from ONNX's layout, inputs taken in the gather's (kh, kw, c) order.
  const int cg = shape.group_in_c(), taps = shape.kernel_h * shape.kernel_w;
  std::vector<std::uint32_t> k_order(static_cast<std::size_t>(shape.gemm_k()));
  for (int t = 0; t < taps; ++t)
    for (int c = 0; c < cg; ++c) k_order[static_cast<std::size_t>(t) * cg + c] = static_cast<std::uint32_t>(c * taps + t);
  const std::size_t group_floats = static_cast<std::size_t>(shape.group_out_c()) * shape.gemm_k();
  for (int g = 0; g < shape.groups; ++g) {
    packed.groups.push_back(
        pack_gemm_f32_reordered(weights + g * group_floats, shape.group_out_c(), shape.gemm_k(), k_order));
  }
  return packed;
}

bool conv2d_f32_computes_rows(const PackedConv2dWeights& w) {
  return implicit_conv_applies(w.shape) && w.shape.out_h() * w.shape.out_w() >= 8;
}

Conv2dImage conv2d_f32_prepare_image(const PackedConv2dWeights& w, const float* image, Conv2dScratch& scratch,
                                     ThreadPool* pool) {
  const Conv2dShape& s = w.shape;
  const bool padded = s.pad_top > 0 || s.pad_left > 0 || s.pad_bottom > 0 || s.pad_right > 0;
  const int hp = s.in_h + s.pad_top + s.pad_bottom, wp = s.in_w + s.pad_left + s.pad_right;
  Conv2dImage prepared{image, static_cast<std::size_t>(wp) * s.in_c};
  if (padded) {
    if (scratch.padded.size() < static_cast<std::size_t>(hp) * prepared.row_stride)
      scratch.padded = AlignedBuffer<float>(static_cast<std::size_t>(hp) * prepared.row_stride);
    pad_image(s, image, scratch.padded.data(), 0.0f, pool);
    prepared.padded = scratch.padded.data();
  }
  return prepared;
}

void conv2d_f32_rows(const PackedConv2dWeights& w, const Conv2dImage& image, const float* bias,
                     ActivationParams act, int row_begin, int row_end, float* output, std::size_t ldc,
                     ThreadPool* pool, const float* residual) {
  static const ImplicitConvFn implicit = pick_kernel(implicit_conv_kernels(), active_isa()).fn;
  const Conv2dShape& s = w.shape;
  LOWP_CHECK(conv2d_f32_computes_rows(w), "conv2d: this convolution computes whole images only");
  LOWP_CHECK(0 <= row_begin && row_begin <= row_end && row_end <= s.out_h(),
             "conv2d: output rows [{}, {}) outside the {} of the image", row_begin, row_end, s.out_h());
  const std::size_t first = static_cast<std::size_t>(row_begin) * s.out_w();
  const std::size_t pixels = static_cast<std::size_t>(row_end - row_begin) * s.out_w();
  split_rows(pool, pixels, [&](std::size_t begin, std::size_t end) {
    ImplicitConvArgs args;
    args.shape = &s;
    args.image = image.padded;
    args.row_stride = image.row_stride;
    args.w = &w.groups.front();
    args.bias = bias;
    args.act = act;
    args.output = output + begin * ldc;
    args.ldc = ldc;
    args.residual = residual != nullptr ? residual + begin * static_cast<std::size_t>(s.out_c) : nullptr;
    args.pixel_begin = static_cast<int>(first + begin);
    args.pixel_end = static_cast<int>(first + end);
    implicit(args);
  });
}

void conv2d_add_residual(float* out, std::size_t ldc, const float* residual, std::size_t pixels, int channels,
                         ActivationParams act, ThreadPool* pool) {
  const auto width = static_cast<std::size_t>(channels);
  split_rows(pool, pixels, [&](std::size_t begin, std::size_t end) {
    if (ldc == width) {  // dense: one run of the slice's values
      float* o = out + begin * width;
      const float* r = residual + begin * width;
      const std::size_t n = (end - begin) * width;
      for (std::size_t i = 0; i < n; ++i) o[i] += r[i];
      if (act.kind != Activation::none) activate(o, n, act, o);
      return;
    }
    for (std::size_t p = begin; p < end; ++p) {
      float* o = out + p * ldc;
      const float* r = residual + p * width;
      for (std::size_t c = 0; c < width; ++c) o[c] += r[c];
      if (act.kind != Activation::none) activate(o, width, act, o);
    }
  });
}

void conv2d_f32(const PackedConv2dWeights& w, const float* input, const float* bias,
                ActivationParams act, float* output, Conv2dScratch& scratch, ThreadPool* pool,
                std::size_t out_pixel_stride, const float* residual) {
  const Conv2dShape& s = w.shape;
  const int pixels = s.out_h() * s.out_w(), k = s.gemm_k(), ocg = s.group_out_c();
  const std::size_t ldc = out_pixel_stride == 0 ? static_cast<std::size_t>(s.out_c) : out_pixel_stride;
  LOWP_CHECK(ldc >= static_cast<std::size_t>(s.out_c), "conv2d: output pixel stride {} is below {} channels",
             ldc, s.out_c);
  LOWP_CHECK(ldc == static_cast<std::size_t>(s.out_c) || !s.is_depthwise(),
             "conv2d: a depthwise convolution writes dense pixels (stride {} for {} channels)", ldc, s.out_c);
  const std::size_t in_image = static_cast<std::size_t>(s.in_h) * s.in_w * s.in_c;
  const std::size_t out_image = static_cast<std::size_t>(pixels) * ldc;
  const std::size_t residual_image = static_cast<std::size_t>(pixels) * s.out_c;
  // Paths without the residual in their epilogue run without the activation, then a pass
  // adds the residual and applies it: the same operations in the same order.
  const ActivationParams kernel_act = residual != nullptr ? ActivationParams(Activation::none) : act;
  auto finish = [&](int n) {
    if (residual != nullptr) {
      conv2d_add_residual(output + n * out_image, ldc, residual + n * residual_image,
                          static_cast<std::size_t>(pixels), s.out_c, act, pool);
    }
  };
  if (s.is_depthwise()) {
    static const DepthwiseFn depthwise = pick_kernel(depthwise_kernels(), active_isa()).fn;
    for (int n = 0; n < s.batch; ++n) {
      split_rows(pool, s.out_h(), [&](std::size_t begin, std::size_t end) {
        DepthwiseArgs args{
            &s,  input + n * in_image,   w.depthwise.data(),      bias,
            kernel_act, output + n * out_image, static_cast<int>(begin), static_cast<int>(end)};
        depthwise(args);
      });
      finish(n);
    }
    return;
  }
  // The implicit GEMM (conv_implicit.h) for one group without horizontal dilation, 1x1
  // included; below 8 output pixels the GEMM on gathered rows, which deals weight panels
  // out to threads when there are too few rows to split and streams them 8 at a time at
  // m = 1 (a 1x1 convolution of a pooled 1x1 map is a dense layer). The two give the
  // same bits.
  if (conv2d_f32_computes_rows(w)) {
    for (int n = 0; n < s.batch; ++n) {
      Conv2dImage image = conv2d_f32_prepare_image(w, input + n * in_image, scratch, pool);
      conv2d_f32_rows(w, image, bias, act, 0, s.out_h(), output + n * out_image, ldc, pool,
                      residual != nullptr ? residual + n * residual_image : nullptr);
    }
    return;
  }
  for (int n = 0; n < s.batch; ++n) {
    const float* image = input + n * in_image;
    float* out = output + n * out_image;
    for (int g = 0; g < s.groups; ++g) {
      GemmArgs args;
      args.w = &w.groups[static_cast<std::size_t>(g)];
      args.bias = bias != nullptr ? bias + static_cast<std::size_t>(g) * ocg : nullptr;
      args.act = kernel_act;
      args.ldc = ldc;
      for_each_row_block(
          s, image, g, s.is_pointwise(), static_cast<std::size_t>(k), scratch.rows, 0.0f, pool,
          [&](const float* a, std::size_t lda, int rows, int first, ThreadPool* inner) {
            GemmArgs call = args;
            call.m = rows;
            call.a = a;
            call.lda = lda;
            call.c = out + static_cast<std::size_t>(first) * ldc + static_cast<std::size_t>(g) * ocg;
            gemm(call, inner);
          });
    }
    finish(n);
  }
}

namespace {

// rows x width fp32 values (dense) to bf16 rows ldd apart.
void round_rows_to_bf16(const float* block, int rows, int width, std::uint16_t* dst,
                        std::size_t ldd) {
  if (static_cast<std::size_t>(width) == ldd) {
    convert_f32_to_bf16(block, dst, static_cast<std::size_t>(rows) * width);
    return;
  }
  for (int r = 0; r < rows; ++r) {
    convert_f32_to_bf16(block + static_cast<std::size_t>(r) * width,
                        dst + static_cast<std::size_t>(r) * ldd, static_cast<std::size_t>(width));
  }
}

// The implicit GEMM's walk, shared by the bf16 and int8 convolutions: every image padded
// first (with `pad`: zero, or the int8 input's zero point, real 0), then the work items,
// (image, block of kRowsPerBlock output pixels), dealt to the threads together (a 14 x 14
// map is a single block: images one at a time would leave threads idle). For each item,
// body(rows, m, n, first): one pointer per pixel to its receptive field's first kernel row
// in the padded image; the runs of the other kernel rows follow run_stride() apart. One
// group and no horizontal dilation (the caller checks).
template <class T>
struct ImplicitWalk {
  const Conv2dShape& s;
  std::size_t row_stride() const {
    return static_cast<std::size_t>(s.in_w + s.pad_left + s.pad_right) * s.in_c;
  }
  std::size_t run_stride() const { return row_stride() * static_cast<std::size_t>(s.dilation_h); }

  template <class Body>
  void run(const T* input, T pad, AlignedBuffer<T>& padded_scratch, ThreadPool* pool,
           const Body& body) const {
    const bool padded = s.pad_top > 0 || s.pad_left > 0 || s.pad_bottom > 0 || s.pad_right > 0;
    const int hp = s.in_h + s.pad_top + s.pad_bottom;
    const std::size_t stride = row_stride();
    const std::size_t padded_image = static_cast<std::size_t>(hp) * stride;
    const std::size_t in_image = static_cast<std::size_t>(s.in_h) * s.in_w * s.in_c;
    const int ow_count = s.out_w(), pixels = s.out_h() * ow_count;
    const std::size_t blocks = (static_cast<std::size_t>(pixels) + kRowsPerBlock - 1) / kRowsPerBlock;
    const std::size_t batch = static_cast<std::size_t>(s.batch);
    const bool parallel = pool != nullptr && pool->threads() > 1 && batch * blocks > 1;
    if (padded) {
      if (padded_scratch.size() < batch * padded_image)
        padded_scratch = AlignedBuffer<T>(batch * padded_image);
      auto pad_images = [&](std::size_t n0, std::size_t n1) {
        for (std::size_t n = n0; n < n1; ++n) {
          pad_image(s, input + n * in_image, padded_scratch.data() + n * padded_image, pad, nullptr);
        }
      };
      if (parallel && batch > 1) {
        pool->parallel_for(batch, 1, pad_images);
      } else {
        pad_images(0, batch);
      }
    }
    auto run_items = [&](std::size_t i0, std::size_t i1) {
      const T* rows[kRowsPerBlock];
      for (std::size_t item = i0; item < i1; ++item) {
        const std::size_t n = item / blocks, b = item % blocks;
        const T* image = padded ? padded_scratch.data() + n * padded_image : input + n * in_image;
        const int first = static_cast<int>(b * kRowsPerBlock);
        const int m = std::min(static_cast<int>(kRowsPerBlock), pixels - first);
        for (int i = 0; i < m; ++i) {
          const int oh = (first + i) / ow_count, ow = (first + i) % ow_count;
          rows[i] = image + static_cast<std::size_t>(oh * s.stride_h) * stride +
                    static_cast<std::size_t>(ow * s.stride_w) * s.in_c;
        }
        body(static_cast<const T* const*>(rows), m, n, first);
      }
    };
    if (parallel) {
      pool->parallel_for(batch * blocks, 1, run_items);
    } else {
      run_items(0, batch * blocks);
    }
  }
};

// The bf16 convolution as an implicit GEMM (bf16dot.h, Bf16ImplicitArgs): each output
// pixel's GEMM row is read in place from the zero-padded image, kernel row by kernel row,
// instead of gathered. One group, an even channel count (pairs never straddle two kernel
// rows), no horizontal dilation, and an AVX-512 kernel; otherwise returns false and the
// caller gathers. Each output is the gathered GEMM's sum in the same order: the same bits.
// Output: fp32 into out_f32, or rounded to bf16 block by block into out_bf16.
bool conv2d_bf16_implicit(const PackedConv2dBf16Weights& w, const std::uint16_t* input,
                          const float* bias, ActivationParams act, float* out_f32,
                          std::uint16_t* out_bf16, Conv2dBf16Scratch& scratch, ThreadPool* pool) {
  const Conv2dShape& s = w.shape;
  if (s.groups != 1 || s.in_c % 2 != 0 || s.dilation_w != 1 || s.is_pointwise()) return false;
  if (runnable_kernels(bf16dot_implicit_kernels(), active_isa()).empty()) return false;
  static const Bf16ImplicitFn implicit = pick_kernel(bf16dot_implicit_kernels(), active_isa()).fn;
  const std::size_t out_image = static_cast<std::size_t>(s.out_h()) * s.out_w() * s.out_c;
  const ImplicitWalk<std::uint16_t> walk{s};
  walk.run(input, std::uint16_t{0}, scratch.padded, pool,
           [&](const std::uint16_t* const* rows, int m, std::size_t n, int first) {
             thread_local std::vector<float> block;
             Bf16ImplicitArgs args;
             args.m = m;
             args.rows = rows;
             args.runs = s.kernel_h;
             args.run_length = s.kernel_w * s.in_c;
             args.run_stride = walk.run_stride();
             args.w = &w.groups.front();
             args.bias = bias;
             args.act = act;
             args.ldc = static_cast<std::size_t>(s.out_c);
             const std::size_t at = n * out_image + static_cast<std::size_t>(first) * s.out_c;
             if (out_f32 != nullptr) {
               args.c = out_f32 + at;
               implicit(args);
               return;
             }
             // Rounded while the block is in cache.
             block.resize(static_cast<std::size_t>(m) * s.out_c);
             args.c = block.data();
             implicit(args);
             round_rows_to_bf16(block.data(), m, s.out_c, out_bf16 + at, static_cast<std::size_t>(s.out_c));
           });
  return true;
}

}  // namespace

PackedConv2dBf16Weights pack_conv2d_bf16(const Conv2dShape& shape, const std::uint16_t* weights) {
  shape.validate();
  PackedConv2dBf16Weights packed;
  packed.shape = shape;
  for (int g = 0; g < shape.groups; ++g) {
    std::vector<std::uint16_t> reordered = reorder_group(shape, weights, g);
    packed.groups.push_back(pack_bf16dot(reordered.data(), shape.group_out_c(), shape.gemm_k()));
  }
  return packed;
}

namespace {

// Both bf16 convolutions: fp32 output into out_f32, or, with out_bf16, each block of output
// rows computed into a per-thread fp32 buffer (blocks run on the pool's threads at once)
// and rounded to bf16 while it is in cache. The implicit GEMM where it applies, else the
// gathered GEMM per group.
void run_conv2d_bf16(const PackedConv2dBf16Weights& w, const std::uint16_t* input,
                     const float* bias, ActivationParams act, float* out_f32,
                     std::uint16_t* out_bf16, Conv2dBf16Scratch& scratch, ThreadPool* pool) {
  if (conv2d_bf16_implicit(w, input, bias, act, out_f32, out_bf16, scratch, pool)) return;
  const Conv2dShape& s = w.shape;
  const int ocg = s.group_out_c();
  const std::size_t in_image = static_cast<std::size_t>(s.in_h) * s.in_w * s.in_c;
  const std::size_t out_image = static_cast<std::size_t>(s.out_h()) * s.out_w() * s.out_c;
  const std::size_t padded_k = static_cast<std::size_t>(w.groups.front().padded_k());
  // Rows read straight from the input must hold whole pairs: an even channel count.
  const bool direct = s.is_pointwise() && s.groups == 1 && s.in_c % 2 == 0;
  for (int n = 0; n < s.batch; ++n) {
    for (int g = 0; g < s.groups; ++g) {
      Bf16DotArgs args;
      args.w = &w.groups[static_cast<std::size_t>(g)];
      args.bias = bias != nullptr ? bias + static_cast<std::size_t>(g) * ocg : nullptr;
      args.act = act;
      for_each_row_block(
          s, input + n * in_image, g, direct, padded_k, scratch.rows, std::uint16_t{0}, pool,
          [&](const std::uint16_t* a, std::size_t lda, int rows, int first, ThreadPool* inner) {
            const std::size_t at = n * out_image + static_cast<std::size_t>(first) * s.out_c +
                                   static_cast<std::size_t>(g) * ocg;
            Bf16DotArgs call = args;
            call.m = rows;
            call.a = a;
            call.lda = lda;
            if (out_f32 != nullptr) {
              call.c = out_f32 + at;
              call.ldc = static_cast<std::size_t>(s.out_c);
              bf16dot_gemm(call, inner);
              return;
            }
            thread_local std::vector<float> block;
            block.resize(static_cast<std::size_t>(rows) * ocg);
            call.c = block.data();
            call.ldc = static_cast<std::size_t>(ocg);
            bf16dot_gemm(call, inner);
            round_rows_to_bf16(block.data(), rows, ocg, out_bf16 + at, static_cast<std::size_t>(s.out_c));
          });
    }
  }
}

}  // namespace

void conv2d_bf16(const PackedConv2dBf16Weights& w, const std::uint16_t* input, const float* bias,
                 ActivationParams act, float* output, Conv2dBf16Scratch& scratch,
                 ThreadPool* pool) {
  run_conv2d_bf16(w, input, bias, act, output, nullptr, scratch, pool);
}

void conv2d_bf16_to_bf16(const PackedConv2dBf16Weights& w, const std::uint16_t* input,
                         const float* bias, ActivationParams act, std::uint16_t* output,
                         Conv2dBf16Scratch& scratch, ThreadPool* pool) {
  run_conv2d_bf16(w, input, bias, act, nullptr, output, scratch, pool);
}

namespace {

void check_qparams(const Conv2dShape& s, const QConv2dParams& p) {
  LOWP_CHECK(p.input_zero_point >= 0 && p.input_zero_point <= 255,
             "int8 conv2d: input zero point {} outside [0, 255]", p.input_zero_point);
  LOWP_CHECK(std::isfinite(p.input_scale) && p.input_scale > 0.0f,
             "int8 conv2d: input scale {} must be finite and positive", p.input_scale);
  LOWP_CHECK(p.weight_scales != nullptr, "int8 conv2d: no weight scales");
  for (int oc = 0; oc < s.out_c; ++oc) {
    LOWP_CHECK(std::isfinite(p.weight_scales[oc]) && p.weight_scales[oc] > 0.0f,
               "int8 conv2d: weight scale {} of output channel {} must be finite and positive",
               p.weight_scales[oc], oc);
  }
  if (p.output == QGemmOutput::u8) {
    LOWP_CHECK(std::isfinite(p.output_scale) && p.output_scale > 0.0f,
               "int8 conv2d: output scale {} must be finite and positive", p.output_scale);
    LOWP_CHECK(p.output_zero_point >= 0 && p.output_zero_point <= 255,
               "int8 conv2d: output zero point {} outside [0, 255]", p.output_zero_point);
  }
}

// The epilogue multiplier of output channel oc: to real values, or to the output's scale.
float epilogue_scale(const QConv2dParams& p, int oc) {
  double s = static_cast<double>(p.input_scale) * p.weight_scales[oc];
  if (p.output == QGemmOutput::u8) s /= p.output_scale;
  return static_cast<float>(s);
}

}  // namespace

PackedConv2dInt8Weights pack_conv2d_int8(const Conv2dShape& shape, const std::int8_t* weights,
                                         const QConv2dParams& params) {
  shape.validate();
  check_qparams(shape, params);
  PackedConv2dInt8Weights packed;
  packed.shape = shape;
  packed.output = params.output;
  packed.input_zero_point = params.input_zero_point;
  packed.output_zero_point = params.output_zero_point;
  packed.act = params.act;
  LOWP_CHECK(activation_is_exact(params.act.kind),
             "int8 conv2d: activation {} is not exact; only relu and clamp fuse into int8",
             activation_name(params.act.kind));
  if (shape.is_depthwise()) {
    const int taps = shape.kernel_h * shape.kernel_w, c_count = shape.in_c;
    packed.depthwise_weights =
        AlignedBuffer<std::int16_t>(static_cast<std::size_t>(taps) * c_count);
    packed.depthwise_bias = AlignedBuffer<std::int32_t>(static_cast<std::size_t>(c_count));
    packed.depthwise_scale = AlignedBuffer<float>(static_cast<std::size_t>(c_count));
    for (int c = 0; c < c_count; ++c) {
      for (int t = 0; t < taps; ++t) {
        packed.depthwise_weights[static_cast<std::size_t>(t) * c_count + c] =
            weights[static_cast<std::size_t>(c) * taps + t];
      }
      packed.depthwise_bias[static_cast<std::size_t>(c)] =
          params.bias != nullptr ? params.bias[c] : 0;
      packed.depthwise_scale[static_cast<std::size_t>(c)] = epilogue_scale(params, c);
    }
    return packed;
  }
  const int ocg = shape.group_out_c();
  for (int g = 0; g < shape.groups; ++g) {
    std::vector<std::int8_t> reordered = reorder_group(shape, weights, g);
    packed.groups.push_back(pack_qgemm(reordered.data(), ocg, shape.gemm_k()));
    const PackedQGemmWeights& qw = packed.groups.back();
    packed.offsets.push_back(qgemm_column_offsets(
        qw, params.input_zero_point,
        params.bias != nullptr ? params.bias + static_cast<std::size_t>(g) * ocg : nullptr));
    AlignedBuffer<float> scales(qw.column_sums.size());
    for (int o = 0; o < ocg; ++o)
      scales[static_cast<std::size_t>(o)] = epilogue_scale(params, g * ocg + o);
    packed.scales.push_back(std::move(scales));
  }
  return packed;
}

void conv2d_int8(const PackedConv2dInt8Weights& w, const std::uint8_t* input, float* output_f32,
                 std::uint8_t* output_u8, Conv2dInt8Scratch& scratch, ThreadPool* pool) {
  const Conv2dShape& s = w.shape;
  LOWP_CHECK(w.output == QGemmOutput::f32 ? output_f32 != nullptr : output_u8 != nullptr,
             "int8 conv2d: no output buffer of the packed output type");
  const int ocg = s.group_out_c();
  const std::size_t in_image = static_cast<std::size_t>(s.in_h) * s.in_w * s.in_c;
  const std::size_t out_image = static_cast<std::size_t>(s.out_h()) * s.out_w() * s.out_c;
  if (s.is_depthwise()) {
    static const QDepthwiseFn depthwise = pick_kernel(qdepthwise_kernels(), active_isa()).fn;
    for (int n = 0; n < s.batch; ++n) {
      split_rows(pool, s.out_h(), [&](std::size_t begin, std::size_t end) {
        QDepthwiseArgs args;
        args.shape = &s;
        args.input = input + n * in_image;
        args.weights = w.depthwise_weights.data();
        args.bias = w.depthwise_bias.data();
        args.scale = w.depthwise_scale.data();
        args.input_zero_point = w.input_zero_point;
        args.act = w.act;
        args.output = w.output;
        args.output_zero_point = w.output_zero_point;
        args.output_f32 = output_f32 != nullptr ? output_f32 + n * out_image : nullptr;
        args.output_u8 = output_u8 != nullptr ? output_u8 + n * out_image : nullptr;
        args.row_begin = static_cast<int>(begin);
        args.row_end = static_cast<int>(end);
        depthwise(args);
      });
    }
    return;
  }
  const std::size_t padded_k = static_cast<std::size_t>(w.groups.front().padded_k());
  // Rows read straight from the input must be readable to the padded depth (k4).
  const bool direct = s.is_pointwise() && s.groups == 1 && s.in_c % kQGemmDepth == 0;
  // The implicit GEMM (as the bf16 convolution's): each pixel's row read in place from the
  // image padded with the input zero point, kernel row by kernel row, when the runs hold
  // whole quads and the kernel reads implicit rows (AVX-512); the gathered GEMM's bits.
  if (!direct && s.groups == 1 && s.dilation_w == 1 && (s.kernel_w * s.in_c) % kQGemmDepth == 0 &&
      qgemm_reads_implicit_rows()) {
    const ImplicitWalk<std::uint8_t> walk{s};
    walk.run(input, static_cast<std::uint8_t>(w.input_zero_point), scratch.padded, pool,
             [&](const std::uint8_t* const* rows, int m, std::size_t n, int first) {
               QGemmArgs args;
               args.m = m;
               args.rows = rows;
               args.runs = s.kernel_h;
               args.run_length = s.kernel_w * s.in_c;
               args.run_stride = walk.run_stride();
               args.w = &w.groups.front();
               args.offset = w.offsets.front().data();
               args.scale = w.scales.front().data();
               args.act = w.act;
               args.output = w.output;
               args.out_zero_point = w.output_zero_point;
               args.ldc = static_cast<std::size_t>(s.out_c);
               const std::size_t at = n * out_image + static_cast<std::size_t>(first) * s.out_c;
               args.c_f32 = output_f32 != nullptr ? output_f32 + at : nullptr;
               args.c_u8 = output_u8 != nullptr ? output_u8 + at : nullptr;
               qgemm(args, nullptr);
             });
    return;
  }
  for (int n = 0; n < s.batch; ++n) {
    for (int g = 0; g < s.groups; ++g) {
      QGemmArgs args;
      args.w = &w.groups[static_cast<std::size_t>(g)];
      args.offset = w.offsets[static_cast<std::size_t>(g)].data();
      args.scale = w.scales[static_cast<std::size_t>(g)].data();
      args.act = w.act;
      args.output = w.output;
      args.out_zero_point = w.output_zero_point;
      args.ldc = static_cast<std::size_t>(s.out_c);
      // The padding of the image is the input zero point: real value 0.
      for_each_row_block(
          s, input + n * in_image, g, direct, padded_k, scratch.rows,
          static_cast<std::uint8_t>(w.input_zero_point), pool,
          [&](const std::uint8_t* a, std::size_t lda, int rows, int first, ThreadPool* inner) {
            QGemmArgs call = args;
            call.m = rows;
            call.a = a;
            call.lda = lda;
            std::size_t at = n * out_image + static_cast<std::size_t>(first) * s.out_c +
                             static_cast<std::size_t>(g) * ocg;
            call.c_f32 = output_f32 != nullptr ? output_f32 + at : nullptr;
            call.c_u8 = output_u8 != nullptr ? output_u8 + at : nullptr;
            qgemm(call, inner);
          });
    }
  }
}

void conv2d_int8_ref(const Conv2dShape& s, const std::uint8_t* input, const std::int8_t* weights,
                     const QConv2dParams& p, float* output_f32, std::uint8_t* output_u8) {
  const int oh_count = s.out_h(), ow_count = s.out_w(), cg = s.group_in_c(), ocg = s.group_out_c();
  for (int n = 0; n < s.batch; ++n)
    for (int oh = 0; oh < oh_count; ++oh)
      for (int ow = 0; ow < ow_count; ++ow)
        for (int oc = 0; oc < s.out_c; ++oc) {
          int g = oc / ocg;
          std::int64_t acc = p.bias != nullptr ? p.bias[oc] : 0;
          for (int c = 0; c < cg; ++c)
            for (int kh = 0; kh < s.kernel_h; ++kh)
              for (int kw = 0; kw < s.kernel_w; ++kw) {
                int ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
                int iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
                if (ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w) continue;  // real 0
                std::int32_t x =
                    input[((static_cast<std::size_t>(n) * s.in_h + ih) * s.in_w + iw) * s.in_c +
                          g * cg + c];
                std::int32_t wv =
                    weights[((static_cast<std::size_t>(oc) * cg + c) * s.kernel_h + kh) *
                                s.kernel_w +
                            kw];
                acc += (x - p.input_zero_point) * wv;
              }
          float v = qgemm_dequantize(static_cast<std::int32_t>(acc), epilogue_scale(p, oc), p.act);
          std::size_t at =
              ((static_cast<std::size_t>(n) * oh_count + oh) * ow_count + ow) * s.out_c + oc;
          if (p.output == QGemmOutput::f32) {
            output_f32[at] = v;
          } else {
            output_u8[at] = qgemm_requantize(v, p.output_zero_point);
          }
        }
}

void conv2d_f32_ref(const Conv2dShape& s, const float* input, const float* weights,
                    const float* bias, ActivationParams act, float* output) {
  const int oh_count = s.out_h(), ow_count = s.out_w(), cg = s.group_in_c(), ocg = s.group_out_c();
  for (int n = 0; n < s.batch; ++n)
    for (int oh = 0; oh < oh_count; ++oh)
      for (int ow = 0; ow < ow_count; ++ow)
        for (int oc = 0; oc < s.out_c; ++oc) {
          int g = oc / ocg;
          float sum = 0.0f;
          for (int c = 0; c < cg; ++c)
            for (int kh = 0; kh < s.kernel_h; ++kh)
              for (int kw = 0; kw < s.kernel_w; ++kw) {
                int ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
                int iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
                if (ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w) continue;
                float x =
                    input[((static_cast<std::size_t>(n) * s.in_h + ih) * s.in_w + iw) * s.in_c +
                          g * cg + c];
                float wv = weights[((static_cast<std::size_t>(oc) * cg + c) * s.kernel_h + kh) *
                                       s.kernel_w +
                                   kw];
                sum += x * wv;
              }
          if (bias != nullptr) sum += bias[oc];
          sum = act(sum);
          output[((static_cast<std::size_t>(n) * oh_count + oh) * ow_count + ow) * s.out_c + oc] =
              sum;
        }
}

}  // namespace lowp
