// tests/kernels/conv2d_test.cc: NHWC convolution on the GEMM kernels against the
// seven-loop reference, over groups, depthwise, strides, asymmetric padding, dilation,
// pointwise (no gather), batch > 1, and blocks of gathered rows that end mid-image.
//
// Tolerance: both sum K = KH KW C/groups products (+ bias) in fp32, in different orders;
// each within gamma_K S of exact, with S the same convolution of |x| and |w| plus |bias|
// (computed by the reference itself), so they differ by at most (K + 2) * 2^-23 * S.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "base/error.h"
#include "base/float_types.h"
#include "base/thread_pool.h"
#include "kernel_test_util.h"
#include "kernels/activate/activate.h"
#include "kernels/conv/conv2d.h"
#include "kernels/conv/conv_implicit.h"
#include "kernels/conv/depthwise.h"
#include "kernels/conv/qdepthwise.h"

namespace lowp {
namespace {

Conv2dShape shape(int batch, int h, int w, int c, int oc, int kh, int kw, int stride, int pad,
                  int dilation, int groups) {
  Conv2dShape s;
  s.batch = batch;
  s.in_h = h;
  s.in_w = w;
  s.in_c = c;
  s.out_c = oc;
  s.kernel_h = kh;
  s.kernel_w = kw;
  s.stride_h = s.stride_w = stride;
  s.pad_top = s.pad_left = pad;
  s.pad_bottom = s.pad_right = pad;
  s.dilation_h = s.dilation_w = dilation;
  s.groups = groups;
  return s;
}

void check(const Conv2dShape& s, ThreadPool* pool = nullptr) {
  s.validate();
  std::size_t in_count = static_cast<std::size_t>(s.batch) * s.in_h * s.in_w * s.in_c;
  std::size_t w_count =
      static_cast<std::size_t>(s.out_c) * s.group_in_c() * s.kernel_h * s.kernel_w;
  std::size_t out_count = static_cast<std::size_t>(s.batch) * s.out_h() * s.out_w() * s.out_c;
  std::vector<float> x = testing::random_floats(in_count, in_count + 1);
  std::vector<float> w = testing::random_floats(w_count, w_count + 2);
  std::vector<float> b = testing::random_floats(static_cast<std::size_t>(s.out_c), 3);
  std::vector<float> want(out_count), bound(out_count);
  conv2d_f32_ref(s, x.data(), w.data(), b.data(), Activation::relu, want.data());
  std::vector<float> ax(x), aw(w), ab(b);
  for (float& v : ax) v = std::fabs(v);
  for (float& v : aw) v = std::fabs(v);
  for (float& v : ab) v = std::fabs(v);
  conv2d_f32_ref(s, ax.data(), aw.data(), ab.data(), Activation::none, bound.data());

  PackedConv2dWeights packed = pack_conv2d_f32(s, w.data());
  testing::GuardedBuffer<float> input(in_count), got(out_count);
  std::copy(x.begin(), x.end(), input.data());
  Conv2dScratch scratch;
  conv2d_f32(packed, input.data(), b.data(), Activation::relu, got.data(), scratch, pool);
  // Every thread count gives the same bits.
  ThreadPool three(3);
  testing::GuardedBuffer<float> threaded(out_count);
  conv2d_f32(packed, input.data(), b.data(), Activation::relu, threaded.data(), scratch, &three);
  EXPECT_EQ(0, std::memcmp(got.data(), threaded.data(), out_count * sizeof(float)));
  int reported = 0;
  for (std::size_t i = 0; i < out_count; ++i) {
    float tol = static_cast<float>(s.gemm_k() + 2) * std::ldexp(1.0f, -23) * bound[i];
    if (!(std::fabs(got[i] - want[i]) <= tol) && reported++ < 5) {
      ADD_FAILURE() << "conv " << s.in_h << "x" << s.in_w << "x" << s.in_c << " -> " << s.out_c
                    << " k" << s.kernel_h << "x" << s.kernel_w << " s" << s.stride_h << " p"
                    << s.pad_top << " d" << s.dilation_h << " g" << s.groups << " at " << i
                    << ": got " << got[i] << ", reference " << want[i];
    }
  }
}

TEST(Conv2d, MatchesReference) {
  check(shape(1, 5, 5, 3, 4, 3, 3, 1, 1, 1, 1));     // plain 3x3, same padding
  check(shape(2, 7, 6, 8, 16, 3, 3, 2, 1, 1, 1));    // stride 2, batch 2, non-square
  check(shape(1, 9, 9, 4, 6, 3, 3, 1, 2, 2, 1));     // dilation 2
  check(shape(1, 8, 8, 8, 8, 3, 3, 1, 1, 1, 8));     // depthwise
  check(shape(1, 8, 8, 8, 16, 3, 3, 1, 1, 1, 4));    // grouped, 2 outputs per input group... x4
  check(shape(1, 6, 6, 16, 33, 1, 1, 1, 0, 1, 1));   // pointwise: no gather
  check(shape(1, 6, 6, 16, 32, 1, 1, 1, 0, 1, 2));   // grouped pointwise
  check(shape(1, 6, 6, 16, 32, 1, 1, 2, 0, 1, 1));   // strided 1x1: gathered
  check(shape(1, 11, 11, 3, 5, 7, 7, 2, 3, 1, 1));   // ResNet stem shape, small
  check(shape(1, 20, 20, 5, 7, 5, 3, 1, 0, 1, 1));   // 5x3 kernel, no padding
  check(shape(1, 30, 30, 6, 10, 3, 3, 1, 1, 1, 1));  // 900 pixels: 4 gather blocks, last partial
  check(shape(1, 2, 2, 16, 40, 1, 1, 1, 0, 1, 1));   // 4 pixels: the GEMM, not the implicit path
  check(shape(1, 2, 3, 8, 20, 3, 3, 1, 1, 1, 1));    // 6 pixels, gathered
  Conv2dShape asym = shape(1, 7, 7, 4, 4, 3, 3, 2, 0, 1, 1);
  asym.pad_top = 1;
  asym.pad_right = 2;
  check(asym);
}

// Every depthwise variant, not only the one dispatch picks, over channel counts around the
// 8 and 16 lanes, strides, padding and dilation.
TEST(Conv2d, EveryDepthwiseVariantMatchesReference) {
  struct Geometry {
    int h, w, kernel;
  };
  // 3x3 and 5x5 over rows of 8 (edges, one tile), 21 (two tiles of 8 and one of 3 at
  // stride 1) and 3 (no interior pixel at all), with same padding.
  for (Geometry geo : {Geometry{9, 8, 3}, Geometry{5, 21, 3}, Geometry{4, 3, 3}, Geometry{9, 21, 5},
                       Geometry{6, 3, 5}})
    for (int c : {1, 7, 8, 9, 16, 17, 40})
      for (int stride : {1, 2})
        for (int dilation : {1, 2}) {
          if (geo.kernel == 5 && dilation == 2 && geo.w < 9) continue;  // larger than the input
          Conv2dShape s = shape(1, geo.h, geo.w, c, c, geo.kernel, geo.kernel, stride,
                                geo.kernel / 2, dilation, c);
          const int taps = geo.kernel * geo.kernel;
          if (c == 1) s.groups = 1;  // one channel is a plain convolution; keep it depthwise-shaped
          std::size_t in_count = static_cast<std::size_t>(s.in_h) * s.in_w * c;
          std::vector<float> x = testing::random_floats(in_count, 11 + c);
          std::vector<float> w = testing::random_floats(static_cast<std::size_t>(c) * taps, 12 + c);
          std::vector<float> b = testing::random_floats(static_cast<std::size_t>(c), 13);
          std::size_t out_count = static_cast<std::size_t>(s.out_h()) * s.out_w() * c;
          std::vector<float> want(out_count), bound(out_count);
          conv2d_f32_ref(s, x.data(), w.data(), b.data(), Activation::relu, want.data());
          std::vector<float> ax(x), aw(w), ab(b);
          for (float& v : ax) v = std::fabs(v);
          for (float& v : aw) v = std::fabs(v);
          for (float& v : ab) v = std::fabs(v);
          conv2d_f32_ref(s, ax.data(), aw.data(), ab.data(), Activation::none, bound.data());
          // Depthwise weight layout [kh][kw][c].
          std::vector<float> packed(w.size());
          for (int ch = 0; ch < c; ++ch)
            for (int t = 0; t < taps; ++t)
              packed[static_cast<std::size_t>(t) * c + ch] =
                  w[static_cast<std::size_t>(ch) * taps + t];
          for (const auto& v : testing::variants_to_test(depthwise_kernels())) {
            testing::GuardedBuffer<float> in(in_count), got(out_count);
            std::copy(x.begin(), x.end(), in.data());
            DepthwiseArgs args{&s,         in.data(), packed.data(), b.data(), Activation::relu,
                               got.data(), 0,         s.out_h()};
            v.fn(args);
            for (std::size_t i = 0; i < out_count; ++i) {
              float tol =
                  static_cast<float>(taps + 2) * std::ldexp(1.0f, -23) * bound[i];  // K = taps
              ASSERT_LE(std::fabs(got[i] - want[i]), tol)
                  << v.name << " " << geo.h << "x" << geo.w << " k" << geo.kernel << " c=" << c
                  << " s" << stride << " d" << dilation << " at " << i;
            }
          }
        }
}

// Every implicit-GEMM variant (rows read in place from the zero-padded input), against
// the GEMM variant of the same ISA on gathered rows: the same sums in the same order, so
// the same bits, whatever the pixel range a call covers; and within the reference's
// tolerance. Shapes cover the tile edges (pixels not a multiple of 6, outputs not a
// multiple of 16 or 64), blocks of pixels, k in chunks (k x 64 x 4 bytes > 640 KiB),
// vertical dilation and strides.
TEST(Conv2d, EveryImplicitVariantMatchesGatheredGemm) {
  std::vector<Conv2dShape> shapes = {
      shape(1, 5, 5, 3, 4, 3, 3, 1, 1, 1, 1),    shape(1, 7, 6, 8, 16, 3, 3, 2, 1, 1, 1),
      shape(1, 11, 11, 3, 5, 7, 7, 2, 3, 1, 1),  shape(1, 20, 20, 5, 7, 5, 3, 1, 0, 1, 1),
      shape(1, 30, 30, 6, 80, 3, 3, 1, 1, 1, 1), shape(1, 9, 8, 16, 33, 1, 1, 2, 0, 1, 1),
      shape(1, 5, 4, 300, 70, 3, 3, 1, 1, 1, 1), shape(1, 37, 29, 4, 130, 3, 3, 1, 1, 1, 1)};
  Conv2dShape dilated = shape(1, 9, 9, 4, 6, 3, 3, 1, 2, 1, 1);
  dilated.dilation_h = 2;
  shapes.push_back(dilated);
  Conv2dShape asym = shape(1, 7, 7, 4, 20, 3, 3, 2, 0, 1, 1);
  asym.pad_top = 1;
  asym.pad_right = 2;
  shapes.push_back(asym);
  for (const Conv2dShape& s : shapes) {
    ASSERT_TRUE(implicit_conv_applies(s));
    const int pixels = s.out_h() * s.out_w(), k = s.gemm_k();
    std::size_t in_count = static_cast<std::size_t>(s.in_h) * s.in_w * s.in_c;
    std::size_t w_count = static_cast<std::size_t>(s.out_c) * s.in_c * s.kernel_h * s.kernel_w;
    std::size_t out_count = static_cast<std::size_t>(pixels) * s.out_c;
    std::vector<float> x = testing::random_floats(in_count, 41);
    std::vector<float> w = testing::random_floats(w_count, 42);
    std::vector<float> b = testing::random_floats(static_cast<std::size_t>(s.out_c), 43);
    std::vector<float> want(out_count), bound(out_count);
    conv2d_f32_ref(s, x.data(), w.data(), b.data(), Activation::relu, want.data());
    {
      std::vector<float> ax(x), aw(w), ab(b);
      for (float& v : ax) v = std::fabs(v);
      for (float& v : aw) v = std::fabs(v);
      for (float& v : ab) v = std::fabs(v);
      conv2d_f32_ref(s, ax.data(), aw.data(), ab.data(), Activation::none, bound.data());
    }
    PackedConv2dWeights packed = pack_conv2d_f32(s, w.data());
    const PackedGemmWeights& gw = packed.groups.front();
    // The padded image, and the gathered rows (im2col, k ordered (kh, kw, c)).
    const int hp = s.in_h + s.pad_top + s.pad_bottom, wp = s.in_w + s.pad_left + s.pad_right;
    const std::size_t row_stride = static_cast<std::size_t>(wp) * s.in_c;
    std::vector<float> padded(static_cast<std::size_t>(hp) * row_stride, 0.0f);
    for (int ih = 0; ih < s.in_h; ++ih)
      std::copy_n(x.data() + static_cast<std::size_t>(ih) * s.in_w * s.in_c, s.in_w * s.in_c,
                  padded.data() + (ih + s.pad_top) * row_stride + s.pad_left * s.in_c);
    std::vector<float> rows(static_cast<std::size_t>(pixels) * k);
    for (int p = 0; p < pixels; ++p) {
      int oh = p / s.out_w(), ow = p % s.out_w();
      for (int kh = 0; kh < s.kernel_h; ++kh)
        for (int j = 0; j < s.kernel_w * s.in_c; ++j)
          rows[static_cast<std::size_t>(p) * k + kh * s.kernel_w * s.in_c + j] =
              padded[(oh * s.stride_h + kh * s.dilation_h) * row_stride + ow * s.stride_w * s.in_c +
                     j];
    }
    for (const auto& v : testing::variants_to_test(implicit_conv_kernels())) {
      const GemmFn gemm_fn = pick_kernel(gemm_kernels(GemmWeights::f32), v.isa).fn;
      std::vector<float> gathered(out_count);
      GemmArgs g;
      g.m = pixels;
      g.a = rows.data();
      g.lda = static_cast<std::size_t>(k);
      g.w = &gw;
      g.bias = b.data();
      g.act = Activation::relu;
      g.c = gathered.data();
      g.ldc = static_cast<std::size_t>(s.out_c);
      gemm_with(gemm_fn, g);
      // The whole image in one call, then in uneven pieces (as threads would cut it).
      for (int pieces : {1, 3}) {
        testing::GuardedBuffer<float> got(out_count);
        for (int i = 0; i < pieces; ++i) {
          ImplicitConvArgs args;
          args.shape = &s;
          args.image = padded.data();
          args.row_stride = row_stride;
          args.w = &gw;
          args.bias = b.data();
          args.act = Activation::relu;
          args.ldc = static_cast<std::size_t>(s.out_c);
          args.pixel_begin = pixels * i / pieces + (i > 0 ? 1 : 0);
          args.output = got.data() + static_cast<std::size_t>(args.pixel_begin) * args.ldc;
          args.pixel_end = i + 1 == pieces ? pixels : pixels * (i + 1) / pieces + 1;
          v.fn(args);
        }
        ASSERT_EQ(0, std::memcmp(got.data(), gathered.data(), out_count * sizeof(float)))
            << v.name << " k " << k << " pieces " << pieces;
        for (std::size_t i = 0; i < out_count; ++i) {
          float tol = static_cast<float>(k + 2) * std::ldexp(1.0f, -23) * bound[i];
          ASSERT_LE(std::fabs(got[i] - want[i]), tol) << v.name << " at " << i;
        }
      }
    }
  }
}

// A strided output (a slice of a wider tensor's channels, as a Concat written in place
// gets): the same bits as the dense output in the slice, and the other channels untouched,
// on every path (implicit, gathered below 8 pixels, pointwise, grouped), with threads.
TEST(Conv2d, StridedOutputWritesOnlyItsSlice) {
  ThreadPool pool(3);
  Conv2dShape grouped = shape(2, 6, 5, 8, 12, 3, 3, 1, 1, 1, 1);
  grouped.groups = 2;
  for (const Conv2dShape& s : {shape(1, 13, 11, 16, 40, 3, 3, 1, 1, 1, 1), shape(2, 9, 9, 6, 20, 1, 1, 1, 0, 1, 1),
                               shape(1, 2, 3, 8, 17, 3, 3, 1, 1, 1, 1), shape(1, 4, 4, 5, 9, 3, 3, 2, 0, 1, 1), grouped}) {
    for (ThreadPool* threads : {static_cast<ThreadPool*>(nullptr), &pool}) {
      const std::size_t pixels = static_cast<std::size_t>(s.batch) * s.out_h() * s.out_w();
      std::vector<float> x = testing::random_floats(static_cast<std::size_t>(s.batch) * s.in_h * s.in_w * s.in_c, 51);
      std::vector<float> w = testing::random_floats(
          static_cast<std::size_t>(s.out_c) * s.group_in_c() * s.kernel_h * s.kernel_w, 52);
      std::vector<float> b = testing::random_floats(static_cast<std::size_t>(s.out_c), 53);
      PackedConv2dWeights packed = pack_conv2d_f32(s, w.data());
      Conv2dScratch scratch;
      std::vector<float> dense(pixels * s.out_c);
      conv2d_f32(packed, x.data(), b.data(), Activation::relu, dense.data(), scratch, threads);
      const std::size_t offset = 7, stride = static_cast<std::size_t>(s.out_c) + 11;
      testing::GuardedBuffer<float> wide(pixels * stride);
      std::fill_n(wide.data(), pixels * stride, -3.0f);
      conv2d_f32(packed, x.data(), b.data(), Activation::relu, wide.data() + offset, scratch, threads, stride);
      for (std::size_t p = 0; p < pixels; ++p) {
        for (std::size_t c = 0; c < stride; ++c) {
          float got = wide[p * stride + c];
          if (c >= offset && c < offset + s.out_c) {
            ASSERT_EQ(got, dense[p * s.out_c + c - offset]) << "pixel " << p << " channel " << c;
          } else {
            ASSERT_EQ(got, -3.0f) << "pixel " << p << " column " << c << " outside the slice was written";
          }
        }
      }
    }
  }
}

// Rows computed band by band (conv2d_f32_rows, as a fused max pool takes them) have the
// bits of the whole image, for uneven bands, padded and strided layers, with threads.
TEST(Conv2d, RowsInBandsMatchTheWholeImage) {
  ThreadPool pool(2);
  for (const Conv2dShape& s : {shape(1, 23, 19, 3, 20, 3, 3, 2, 0, 1, 1), shape(1, 16, 16, 8, 33, 7, 7, 2, 3, 1, 1),
                               shape(1, 9, 9, 16, 64, 1, 1, 1, 0, 1, 1)}) {
    ASSERT_TRUE(conv2d_f32_computes_rows(pack_conv2d_f32(s, testing::random_floats(
        static_cast<std::size_t>(s.out_c) * s.in_c * s.kernel_h * s.kernel_w, 1).data())));
    std::vector<float> x = testing::random_floats(static_cast<std::size_t>(s.in_h) * s.in_w * s.in_c, 71);
    std::vector<float> w = testing::random_floats(static_cast<std::size_t>(s.out_c) * s.in_c * s.kernel_h * s.kernel_w, 72);
    std::vector<float> b = testing::random_floats(static_cast<std::size_t>(s.out_c), 73);
    PackedConv2dWeights packed = pack_conv2d_f32(s, w.data());
    Conv2dScratch scratch;
    const std::size_t row_floats = static_cast<std::size_t>(s.out_w()) * s.out_c;
    std::vector<float> whole(row_floats * s.out_h());
    conv2d_f32(packed, x.data(), b.data(), Activation::relu, whole.data(), scratch);
    for (int band : {1, 2, 5}) {
      for (ThreadPool* threads : {static_cast<ThreadPool*>(nullptr), &pool}) {
        Conv2dImage image = conv2d_f32_prepare_image(packed, x.data(), scratch, threads);
        for (int r0 = 0; r0 < s.out_h(); r0 += band) {
          int r1 = std::min(s.out_h(), r0 + band);
          testing::GuardedBuffer<float> rows(row_floats * (r1 - r0));
          conv2d_f32_rows(packed, image, b.data(), Activation::relu, r0, r1, rows.data(),
                          static_cast<std::size_t>(s.out_c), threads);
          ASSERT_EQ(0, std::memcmp(rows.data(), whole.data() + r0 * row_floats, rows.size() * sizeof(float)))
              << "band " << band << " rows " << r0 << ".." << r1;
        }
      }
    }
  }
}

// A residual added in the epilogue (conv2d_f32's `residual`): the bits of the conv without
// activation, then act(y + r), on every path (implicit, gathered below 8 pixels, pointwise,
// grouped, depthwise), into a dense or a strided output, with threads.
TEST(Conv2d, ResidualMatchesConvThenAdd) {
  ThreadPool pool(2);
  Conv2dShape grouped = shape(2, 6, 5, 8, 12, 3, 3, 1, 1, 1, 1);
  grouped.groups = 2;
  Conv2dShape depthwise = shape(1, 9, 9, 16, 16, 3, 3, 1, 1, 1, 1);
  depthwise.groups = 16;
  for (const Conv2dShape& s : {shape(1, 13, 11, 16, 40, 3, 3, 1, 1, 1, 1), shape(2, 9, 9, 6, 20, 1, 1, 1, 0, 1, 1),
                               shape(1, 2, 3, 8, 17, 3, 3, 1, 1, 1, 1), grouped, depthwise}) {
    for (ThreadPool* threads : {static_cast<ThreadPool*>(nullptr), &pool}) {
      for (auto [extra, act] : {std::pair{std::size_t{0}, Activation::relu}, {std::size_t{5}, Activation::relu},
                                {std::size_t{0}, Activation::gelu}, {std::size_t{5}, Activation::gelu}}) {
        if (extra != 0 && s.is_depthwise()) continue;
        const std::size_t pixels = static_cast<std::size_t>(s.batch) * s.out_h() * s.out_w();
        const std::size_t stride = static_cast<std::size_t>(s.out_c) + extra;
        std::vector<float> x = testing::random_floats(static_cast<std::size_t>(s.batch) * s.in_h * s.in_w * s.in_c, 91);
        std::vector<float> w = testing::random_floats(
            static_cast<std::size_t>(s.out_c) * s.group_in_c() * s.kernel_h * s.kernel_w, 92);
        std::vector<float> b = testing::random_floats(static_cast<std::size_t>(s.out_c), 93);
        std::vector<float> r = testing::random_floats(pixels * s.out_c, 94);
        PackedConv2dWeights packed = pack_conv2d_f32(s, w.data());
        Conv2dScratch scratch;
        std::vector<float> want(pixels * s.out_c);
        conv2d_f32(packed, x.data(), b.data(), Activation::none, want.data(), scratch, threads);
        for (std::size_t i = 0; i < want.size(); ++i) want[i] += r[i];
        activate(want.data(), want.size(), act, want.data());
        testing::GuardedBuffer<float> got(pixels * stride);
        conv2d_f32(packed, x.data(), b.data(), act, got.data(), scratch, threads, stride, r.data());
        for (std::size_t p = 0; p < pixels; ++p) {
          ASSERT_EQ(0, std::memcmp(got.data() + p * stride, want.data() + p * s.out_c, s.out_c * sizeof(float)))
              << "act " << static_cast<int>(act) << " pixel " << p << " of " << s.in_h << "x" << s.in_w << "x" << s.in_c << " groups " << s.groups;
        }
      }
    }
  }
}

TEST(Conv2d, ThreadsDoNotChangeTheResult) {
  ThreadPool pool(3);
  check(shape(1, 16, 16, 8, 24, 3, 3, 1, 1, 1, 1), &pool);
  check(shape(2, 6, 6, 16, 32, 1, 1, 1, 0, 1, 1), &pool);
}

// bf16: the same convolutions on bf16-rounded activations and weights, against the fp32
// reference of those rounded values (products of bf16 are exact in fp32, so only the
// summation order differs: the (K + 2) * 2^-23 * S bound again).
TEST(Conv2d, Bf16MatchesReferenceOnRoundedValues) {
  for (const Conv2dShape& s :
       {shape(1, 7, 6, 8, 16, 3, 3, 2, 1, 1, 1), shape(2, 5, 5, 3, 5, 3, 3, 1, 1, 1, 1),
        shape(1, 6, 6, 16, 24, 1, 1, 1, 0, 1, 1), shape(1, 6, 6, 15, 8, 1, 1, 1, 0, 1, 1),
        shape(1, 8, 8, 8, 16, 3, 3, 1, 1, 2, 4), shape(1, 20, 20, 5, 7, 5, 3, 1, 0, 1, 1)}) {
    std::size_t in_count = static_cast<std::size_t>(s.batch) * s.in_h * s.in_w * s.in_c;
    std::size_t w_count =
        static_cast<std::size_t>(s.out_c) * s.group_in_c() * s.kernel_h * s.kernel_w;
    std::size_t out_count = static_cast<std::size_t>(s.batch) * s.out_h() * s.out_w() * s.out_c;
    std::vector<float> x = testing::random_floats(in_count, 21),
                       w = testing::random_floats(w_count, 22);
    std::vector<float> b = testing::random_floats(static_cast<std::size_t>(s.out_c), 23);
    std::vector<std::uint16_t> xb(in_count), wb(w_count);
    for (std::size_t i = 0; i < in_count; ++i) {
      xb[i] = bfloat16::from_float(x[i]).bits();
      x[i] = bfloat16::from_bits(xb[i]).to_float();
    }
    for (std::size_t i = 0; i < w_count; ++i) {
      wb[i] = bfloat16::from_float(w[i]).bits();
      w[i] = bfloat16::from_bits(wb[i]).to_float();
    }
    std::vector<float> want(out_count), bound(out_count);
    conv2d_f32_ref(s, x.data(), w.data(), b.data(), Activation::none, want.data());
    for (float& v : x) v = std::fabs(v);
    for (float& v : w) v = std::fabs(v);
    for (float& v : b) v = std::fabs(v);
    conv2d_f32_ref(s, x.data(), w.data(), b.data(), Activation::none, bound.data());
    b = testing::random_floats(static_cast<std::size_t>(s.out_c), 23);
    PackedConv2dBf16Weights packed = pack_conv2d_bf16(s, wb.data());
    testing::GuardedBuffer<std::uint16_t> input(in_count);
    std::copy(xb.begin(), xb.end(), input.data());
    testing::GuardedBuffer<float> got(out_count);
    Conv2dBf16Scratch scratch;
    conv2d_bf16(packed, input.data(), b.data(), Activation::none, got.data(), scratch);
    for (std::size_t i = 0; i < out_count; ++i) {
      ASSERT_LE(std::fabs(got[i] - want[i]), (s.gemm_k() + 2) * std::ldexp(1.0f, -23) * bound[i])
          << "bf16 conv c=" << s.in_c << " at " << i;
    }
    // bf16 output (bf16 training): the same results rounded, bit for bit, with threads.
    ThreadPool pool(2);
    for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
      testing::GuardedBuffer<std::uint16_t> rounded(out_count);
      conv2d_bf16_to_bf16(packed, input.data(), b.data(), Activation::none, rounded.data(), scratch,
                          p);
      for (std::size_t i = 0; i < out_count; ++i) {
        ASSERT_EQ(rounded[i], bfloat16::from_float(got[i]).bits())
            << "bf16 out c=" << s.in_c << " at " << i;
      }
    }
  }
}

// int8: bit for bit against the reference, fp32 and u8 outputs, with padding (which must
// read as the input zero point), groups, pointwise rows read in place and gathered.
TEST(Conv2d, Int8BitExact) {
  for (const Conv2dShape& s :
       {shape(1, 7, 6, 8, 16, 3, 3, 2, 1, 1, 1), shape(2, 5, 5, 3, 5, 3, 3, 1, 1, 1, 1),
        shape(1, 6, 6, 16, 24, 1, 1, 1, 0, 1, 1), shape(1, 6, 6, 15, 8, 1, 1, 1, 0, 1, 1),
        shape(1, 8, 8, 8, 16, 3, 3, 1, 1, 2, 4), shape(1, 8, 8, 8, 8, 3, 3, 1, 1, 1, 8)}) {
    std::size_t in_count = static_cast<std::size_t>(s.batch) * s.in_h * s.in_w * s.in_c;
    std::size_t w_count =
        static_cast<std::size_t>(s.out_c) * s.group_in_c() * s.kernel_h * s.kernel_w;
    std::size_t out_count = static_cast<std::size_t>(s.batch) * s.out_h() * s.out_w() * s.out_c;
    auto x = testing::random_ints<std::uint8_t>(in_count, 31, 0, 255);
    auto w = testing::random_ints<std::int8_t>(w_count, 32, -127, 127);
    auto bias =
        testing::random_ints<std::int32_t>(static_cast<std::size_t>(s.out_c), 33, -3000, 3000);
    std::vector<float> wscales =
        testing::random_floats(static_cast<std::size_t>(s.out_c), 34, 0.001f, 0.01f);
    for (QGemmOutput output : {QGemmOutput::f32, QGemmOutput::u8}) {
      QConv2dParams p;
      p.input_zero_point = 131;
      p.input_scale = 0.02f;
      p.weight_scales = wscales.data();
      p.bias = bias.data();
      p.output = output;
      p.output_scale = 0.05f;
      p.output_zero_point = 9;
      p.act = output == QGemmOutput::u8 ? Activation::relu : Activation::none;
      std::vector<float> want_f(out_count), got_f(out_count);
      std::vector<std::uint8_t> want_q(out_count), got_q(out_count);
      conv2d_int8_ref(s, x.data(), w.data(), p, want_f.data(), want_q.data());
      PackedConv2dInt8Weights packed = pack_conv2d_int8(s, w.data(), p);
      testing::GuardedBuffer<std::uint8_t> input(in_count);
      std::copy(x.begin(), x.end(), input.data());
      Conv2dInt8Scratch scratch;
      ThreadPool pool(2);
      conv2d_int8(packed, input.data(), got_f.data(), got_q.data(), scratch, &pool);
      if (output == QGemmOutput::f32) {
        EXPECT_EQ(0, std::memcmp(want_f.data(), got_f.data(), out_count * sizeof(float)))
            << "c=" << s.in_c;
      } else {
        EXPECT_EQ(want_q, got_q) << "c=" << s.in_c;
      }
    }
  }
  QConv2dParams bad;
  std::vector<float> zero_scale(4, 0.0f);
  bad.weight_scales = zero_scale.data();
  std::vector<std::int8_t> w(4 * 4 * 9);
  EXPECT_THROW(pack_conv2d_int8(shape(1, 5, 5, 4, 4, 3, 3, 1, 1, 1, 1), w.data(), bad), Error);
}

// Every int8 depthwise variant, bit for bit against the int8 reference convolution.
TEST(Conv2d, EveryInt8DepthwiseVariantBitExact) {
  for (int c : {2, 7, 16, 17, 40})
    for (int stride : {1, 2})
      for (int dilation : {1, 2})
        for (QGemmOutput output : {QGemmOutput::f32, QGemmOutput::u8}) {
          Conv2dShape s = shape(1, 9, 8, c, c, 3, 3, stride, 1, dilation, c);
          std::size_t in_count = static_cast<std::size_t>(s.in_h) * s.in_w * c;
          std::size_t out_count = static_cast<std::size_t>(s.out_h()) * s.out_w() * c;
          auto x = testing::random_ints<std::uint8_t>(in_count, 41 + c, 0, 255);
          auto w =
              testing::random_ints<std::int8_t>(static_cast<std::size_t>(c) * 9, 42 + c, -128, 127);
          auto bias =
              testing::random_ints<std::int32_t>(static_cast<std::size_t>(c), 43, -2000, 2000);
          std::vector<float> ws =
              testing::random_floats(static_cast<std::size_t>(c), 44, 0.001f, 0.01f);
          QConv2dParams p;
          p.input_zero_point = 77;
          p.input_scale = 0.03f;
          p.weight_scales = ws.data();
          p.bias = bias.data();
          p.output = output;
          p.output_scale = 0.1f;
          p.output_zero_point = 5;
          p.act = ActivationParams(Activation::clamp, -1.0f, 4.0f);
          std::vector<float> want_f(out_count);
          std::vector<std::uint8_t> want_q(out_count);
          conv2d_int8_ref(s, x.data(), w.data(), p, want_f.data(), want_q.data());
          PackedConv2dInt8Weights packed = pack_conv2d_int8(s, w.data(), p);
          for (const auto& v : testing::variants_to_test(qdepthwise_kernels())) {
            testing::GuardedBuffer<std::uint8_t> in(in_count);
            std::copy(x.begin(), x.end(), in.data());
            std::vector<float> got_f(out_count);
            std::vector<std::uint8_t> got_q(out_count);
            QDepthwiseArgs a;
            a.shape = &s;
            a.input = in.data();
            a.weights = packed.depthwise_weights.data();
            a.bias = packed.depthwise_bias.data();
            a.scale = packed.depthwise_scale.data();
            a.input_zero_point = p.input_zero_point;
            a.act = p.act;
            a.output = output;
            a.output_zero_point = p.output_zero_point;
            a.output_f32 = got_f.data();
            a.output_u8 = got_q.data();
            a.row_begin = 0;
            a.row_end = s.out_h();
            v.fn(a);
            if (output == QGemmOutput::f32) {
              EXPECT_EQ(0, std::memcmp(got_f.data(), want_f.data(), out_count * sizeof(float)))
                  << v.name << " c=" << c << " stride=" << stride << " dilation=" << dilation;
            } else {
              EXPECT_EQ(got_q, want_q) << v.name << " c=" << c << " stride=" << stride;
            }
          }
        }
}

TEST(Conv2d, RejectsBadShapes) {
  EXPECT_THROW(shape(1, 5, 5, 3, 4, 3, 3, 1, 1, 1, 2).validate(), Error);   // 2 groups, 3 channels
  EXPECT_THROW(shape(1, 5, 5, 3, 4, 3, 3, 0, 1, 1, 1).validate(), Error);   // stride 0
  EXPECT_THROW(shape(1, 2, 2, 3, 4, 5, 5, 1, 0, 1, 1).validate(), Error);   // kernel > input
  EXPECT_THROW(shape(1, 5, 5, 3, 4, 3, 3, 1, -1, 1, 1).validate(), Error);  // negative padding
  EXPECT_THROW(shape(1, 5, 5, 3, 4, 3, 3, 1, 1, 0, 1).validate(), Error);   // dilation 0
  EXPECT_THROW(shape(1, 5, 5, 3, 4, 3, 3, 1, 1, 1, 0).validate(), Error);   // group 0
}

}  // namespace
}  // namespace lowp
