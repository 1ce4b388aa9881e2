// tests/train/im2col_test.cc: the weight gradient's im2col written straight into GEMM
// panels (im2col_packed) against its reference, im2col_nhwc followed by the GEMM's own
// packing (pack_gemm_f32_kn): the same bytes, for channel runs that fill whole panels
// (the memcpy path) and runs that do not, with stride, padding, groups and ragged chunks.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "base/random.h"
#include "train/conv2d.h"

namespace lowp::train {
namespace {

TEST(Im2colPacked, MatchesIm2colThenPack) {
  struct Case {
    int batch, h, w, c, out_c, k, stride, pad, groups;
  };
  for (Case t : {Case{2, 6, 5, 1, 4, 3, 1, 1, 1}, Case{2, 5, 5, 32, 8, 3, 1, 1, 1},
                 Case{1, 7, 6, 6, 4, 3, 2, 1, 2}, Case{3, 4, 4, 16, 16, 1, 1, 0, 1},
                 Case{1, 5, 7, 48, 6, 3, 2, 2, 3}}) {
    Conv2dShape s;
    s.batch = t.batch;
    s.in_h = t.h;
    s.in_w = t.w;
    s.in_c = t.c;
    s.out_c = t.out_c;
    s.kernel_h = s.kernel_w = t.k;
    s.stride_h = s.stride_w = t.stride;
    s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = t.pad;
    s.groups = t.groups;
    s.validate();
    std::vector<float> x(static_cast<std::size_t>(t.batch) * t.h * t.w * t.c);
    Random rng(5);
    for (float& v : x) v = rng.uniform(-1.0f, 1.0f);
    const int pixels = s.batch * s.out_h() * s.out_w(), k = s.gemm_k();
    std::vector<float> cols(static_cast<std::size_t>(pixels) * k);
    for (int g = 0; g < s.groups; ++g) {
      im2col_nhwc(s, g, x.data(), cols.data());
      for (int first : {0, 3}) {
        const int rows = std::min(pixels - first, 7);
        PackedGemmWeights want, got;
        pack_gemm_f32_kn(cols.data() + static_cast<std::size_t>(first) * k,
                         static_cast<std::size_t>(k), rows, k, want);
        im2col_packed(s, g, x.data(), first, rows, got);
        ASSERT_EQ(got.n, want.n);
        ASSERT_EQ(got.k, want.k);
        ASSERT_EQ(got.data.size(), want.data.size());
        EXPECT_EQ(std::memcmp(got.data.data(), want.data.data(), got.data.size()), 0)
            << "c " << t.c << " k " << t.k << " stride " << t.stride << " groups " << t.groups
            << " group " << g;
      }
    }
  }
}

}  // namespace
}  // namespace lowp::train
