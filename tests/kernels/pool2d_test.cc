// tests/kernels/pool2d_test.cc: every pooling variant equals the reference bit for bit:
// max is exact, and the average sums in the same (kh, kw) order and divides the same way.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "base/error.h"
#include "kernel_test_util.h"
#include "kernels/pool/pool2d.h"

namespace lowp {
namespace {

Conv2dShape window(int h, int w, int c, int k, int stride, int pad) {
  Conv2dShape s;
  s.in_h = h;
  s.in_w = w;
  s.in_c = s.out_c = c;
  s.kernel_h = s.kernel_w = k;
  s.stride_h = s.stride_w = stride;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = pad;
  return s;
}

TEST(Pool2d, EveryVariantBitExact) {
  for (const Conv2dShape& s :
       {window(7, 7, 5, 3, 2, 1), window(8, 6, 16, 2, 2, 0), window(9, 9, 17, 3, 1, 1),
        window(7, 7, 40, 7, 1, 0) /* global */, window(5, 5, 1, 3, 1, 1),
        window(13, 11, 64, 3, 2, 0), window(6, 9, 3, 2, 2, 0)}) {
    std::size_t in_count = static_cast<std::size_t>(s.in_h) * s.in_w * s.in_c;
    std::size_t out_count = static_cast<std::size_t>(s.out_h()) * s.out_w() * s.in_c;
    std::vector<float> x = testing::random_floats(in_count, in_count, -3.0f, 3.0f);
    for (PoolKind kind : {PoolKind::max, PoolKind::average})
      for (bool include_pad : {false, true}) {
        std::vector<float> want(out_count);
        Pool2dArgs args{&s, kind, include_pad, x.data(), want.data(), 0, s.out_h()};
        pool2d_ref(args);
        for (const auto& v : testing::variants_to_test(pool2d_kernels())) {
          testing::GuardedBuffer<float> in(in_count), got(out_count);
          std::copy(x.begin(), x.end(), in.data());
          Pool2dArgs a{&s, kind, include_pad, in.data(), got.data(), 0, s.out_h()};
          v.fn(a);
          EXPECT_EQ(0, std::memcmp(got.data(), want.data(), out_count * sizeof(float)))
              << v.name << " c=" << s.in_c << (kind == PoolKind::max ? " max" : " avg") << " pad "
              << include_pad;
        }
      }
  }
}

// The 8-bit max pool equals the float reference on the same integers (max is exact in
// both), over batches, padding and channel counts around the vector widths.
TEST(Pool2d, EightBitMaxEqualsReference) {
  // 2x2 / stride 2 windows take a fast path (odd sizes, channels around 16 included).
  Conv2dShape ceil_like = window(7, 7, 17, 2, 2, 0);
  ceil_like.pad_bottom = ceil_like.pad_right = 1;  // ceil_mode's extra far padding
  for (Conv2dShape s : {window(7, 7, 5, 3, 2, 1), window(8, 6, 16, 2, 2, 0), window(9, 9, 65, 3, 1, 1),
                        window(28, 28, 32, 2, 2, 0), window(5, 5, 1, 3, 1, 1), window(7, 9, 33, 2, 2, 0),
                        ceil_like}) {
    s.batch = 2;
    std::size_t in_count = static_cast<std::size_t>(s.batch) * s.in_h * s.in_w * s.in_c;
    std::size_t image_out = static_cast<std::size_t>(s.out_h()) * s.out_w() * s.in_c;
    std::vector<float> x = testing::random_floats(in_count, in_count + 1, 0.0f, 255.0f);
    std::vector<std::uint8_t> xu(in_count);
    std::vector<std::int8_t> xs(in_count);
    for (std::size_t i = 0; i < in_count; ++i) {
      x[i] = std::floor(x[i]);
      xu[i] = static_cast<std::uint8_t>(x[i]);
      xs[i] = static_cast<std::int8_t>(x[i] - 128.0f);
    }
    std::vector<std::uint8_t> got_u(image_out * 2);
    std::vector<std::int8_t> got_s(image_out * 2);
    max_pool2d_u8(s, xu.data(), got_u.data());
    max_pool2d_s8(s, xs.data(), got_s.data());
    Conv2dShape one = s;
    one.batch = 1;
    for (int n = 0; n < 2; ++n) {
      std::vector<float> want(image_out);
      Pool2dArgs args{&one, PoolKind::max, false, x.data() + n * in_count / 2, want.data(), 0, one.out_h()};
      pool2d_ref(args);
      for (std::size_t i = 0; i < image_out; ++i) {
        ASSERT_EQ(got_u[n * image_out + i], static_cast<std::uint8_t>(want[i])) << "c=" << s.in_c << " i=" << i;
        ASSERT_EQ(got_s[n * image_out + i], static_cast<std::int8_t>(want[i] - 128.0f)) << "c=" << s.in_c;
      }
    }
  }
}

TEST(Pool2d, KnownValuesAndValidation) {
  // 2x2 max and average of a 2x2 image with one channel.
  Conv2dShape s = window(2, 2, 1, 2, 1, 0);
  float x[4] = {1, -2, 3, 6}, out = 0;
  pool2d(s, PoolKind::max, false, x, &out);
  EXPECT_EQ(out, 6.0f);
  pool2d(s, PoolKind::average, false, x, &out);
  EXPECT_EQ(out, 2.0f);
  // Padding counted or not: a 3x3 window at a corner of a padded 2x2 image sees 4 values.
  Conv2dShape p = window(2, 2, 1, 3, 1, 1);
  std::vector<float> y(4);
  pool2d(p, PoolKind::average, false, x, y.data());
  EXPECT_EQ(y[0], 2.0f);
  pool2d(p, PoolKind::average, true, x, y.data());
  EXPECT_EQ(y[0], 8.0f / 9.0f);
  EXPECT_THROW(pool2d(window(2, 2, 1, 3, 1, 0), PoolKind::max, false, x, y.data()),
               Error);  // window > image
  EXPECT_THROW(pool2d(window(2, 2, 1, 2, 0, 0), PoolKind::max, false, x, y.data()),
               Error);  // stride 0
}

}  // namespace
}  // namespace lowp
