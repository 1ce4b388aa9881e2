// tests/kernels/qgemm_test.cc: every int8 GEMM variant this CPU runs must equal the
// reference bit for bit, fp32 and u8 outputs, over sizes around the tiles, and with the
// worst-case values: activations 255 against weights -128 over long k (where a pairwise
// int16 sum, as vpmaddubsw makes, would saturate).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "base/error.h"
#include "base/thread_pool.h"
#include "kernel_test_util.h"
#include "kernels/qgemm/qgemm.h"

namespace lowp {
namespace {

using testing::GuardedBuffer;

struct QCase {
  int m, n, k;
  std::int32_t a_zero_point;
};

void check(const QCase& c, const std::vector<std::uint8_t>& a, const std::vector<std::int8_t>& w,
           QGemmOutput output, Activation act, ThreadPool* pool = nullptr) {
  std::uint64_t seed = static_cast<std::uint64_t>(c.m * 7919 + c.n * 31 + c.k);
  std::vector<std::int32_t> bias =
      testing::random_ints<std::int32_t>(static_cast<std::size_t>(c.n), seed, -5000, 5000);
  std::vector<float> scale =
      testing::random_floats(static_cast<std::size_t>(c.n), seed + 1, 1e-4f, 1e-2f);
  const std::int32_t out_zp = 17;
  std::size_t out_count = static_cast<std::size_t>(c.m) * c.n;
  std::vector<float> ref_f32(out_count);
  std::vector<std::uint8_t> ref_u8(out_count);
  qgemm_ref(c.m, c.n, c.k, a.data(), static_cast<std::size_t>(c.k), c.a_zero_point, w.data(),
            bias.data(), scale.data(), act, output, out_zp, ref_f32.data(), ref_u8.data(),
            static_cast<std::size_t>(c.n));

  PackedQGemmWeights packed = pack_qgemm(w.data(), c.n, c.k);
  AlignedBuffer<std::int32_t> offsets = qgemm_column_offsets(packed, c.a_zero_point, bias.data());
  AlignedBuffer<float> scales(offsets.size());
  std::copy(scale.begin(), scale.end(), scales.data());
  // Activation rows padded to the packed depth, the last row against a guard page.
  std::size_t lda = static_cast<std::size_t>(packed.padded_k());
  GuardedBuffer<std::uint8_t> a_padded(static_cast<std::size_t>(c.m) * lda);
  std::memset(a_padded.data(), 0x5A, a_padded.size());  // padding content must not matter
  for (int i = 0; i < c.m; ++i)
    std::memcpy(a_padded.data() + i * lda, a.data() + static_cast<std::size_t>(i) * c.k,
                static_cast<std::size_t>(c.k));

  for (const auto& variant : testing::variants_to_test(qgemm_kernels())) {
    GuardedBuffer<float> out_f32(out_count);
    GuardedBuffer<std::uint8_t> out_u8(out_count);
    QGemmArgs args;
    args.m = c.m;
    args.a = a_padded.data();
    args.lda = lda;
    args.w = &packed;
    args.offset = offsets.data();
    args.scale = scales.data();
    args.act = act;
    args.output = output;
    args.out_zero_point = out_zp;
    args.c_f32 = out_f32.data();
    args.c_u8 = out_u8.data();
    args.ldc = static_cast<std::size_t>(c.n);
    qgemm_with(variant.fn, args, pool);
    bool same = output == QGemmOutput::f32
                    ? std::memcmp(out_f32.data(), ref_f32.data(), out_count * sizeof(float)) == 0
                    : std::memcmp(out_u8.data(), ref_u8.data(), out_count) == 0;
    EXPECT_TRUE(same) << variant.name << " m=" << c.m << " n=" << c.n << " k=" << c.k
                      << (output == QGemmOutput::f32 ? " f32" : " u8") << " out, "
                      << activation_name(act);
  }
}

TEST(QGemm, EveryVariantBitExactAroundTiles) {
  for (int m : {1, 2, 3, 4, 5, 9})
    for (int n : {1, 10, 15, 16, 17, 33, 50, 64, 65})
      for (int k : {1, 2, 3, 4, 5, 7, 8, 31, 100}) {
        QCase c{m, n, k, 113};
        std::uint64_t seed = static_cast<std::uint64_t>(m * 100 + n * 10 + k);
        auto a = testing::random_ints<std::uint8_t>(static_cast<std::size_t>(m) * k, seed, 0, 255);
        auto w =
            testing::random_ints<std::int8_t>(static_cast<std::size_t>(n) * k, seed + 9, -128, 127);
        check(c, a, w, QGemmOutput::f32, Activation::none);
        check(c, a, w, QGemmOutput::u8, Activation::relu);
      }
}

TEST(QGemm, WorstCaseValuesOverLongK) {
  // 255 x -128 at every position: the most negative sum, 8 products per int32 lane pair
  // sum to -261,120, far outside int16; over k = 8191 it reaches -267,370,240.
  for (int k : {64, 1023, 8191}) {
    QCase c{5, 33, k, 0};
    std::vector<std::uint8_t> a(static_cast<std::size_t>(c.m) * k, 255);
    std::vector<std::int8_t> w(static_cast<std::size_t>(c.n) * k, -128);
    for (std::size_t i = 0; i < w.size(); i += 3) w[i] = 127;  // mixed signs too
    check(c, a, w, QGemmOutput::f32, Activation::none);
    check(c, a, w, QGemmOutput::u8, Activation::none);
    c.a_zero_point = 255;
    check(c, a, w, QGemmOutput::f32, Activation::relu);
  }
}

TEST(QGemm, ThreadsGiveSameBits) {
  QCase c{70, 50, 100, 128};
  auto a = testing::random_ints<std::uint8_t>(static_cast<std::size_t>(c.m) * c.k, 1, 0, 255);
  auto w = testing::random_ints<std::int8_t>(static_cast<std::size_t>(c.n) * c.k, 2, -128, 127);
  ThreadPool pool(3);
  check(c, a, w, QGemmOutput::u8, Activation::relu, &pool);
  check(c, a, w, QGemmOutput::f32, Activation::none, &pool);
}

TEST(QGemm, RejectsOffsetsThatLeaveInt32) {
  // 255 x 128 x 70,000 exceeds int32: packing must say so, not wrap.
  int k = 70000;
  std::vector<std::int8_t> w(static_cast<std::size_t>(k), -128);
  PackedQGemmWeights packed = pack_qgemm(w.data(), 1, k);
  EXPECT_THROW(qgemm_column_offsets(packed, 0, nullptr), Error);
}

}  // namespace
}  // namespace lowp

namespace lowp {
namespace {

// The dynamic path: rows quantized on the fly (symmetric, zero point 128) and the epilogue's
// row scale and fp32 bias, on every variant, bit for bit against qgemm_dynamic_ref.
TEST(QGemmDynamic, EveryVariantBitExact) {
  for (int m : {1, 3, 4, 9})
    for (int n : {1, 16, 33, 50})
      for (int k : {1, 5, 31, 100}) {
        std::uint64_t seed = static_cast<std::uint64_t>(m * 31 + n * 7 + k);
        std::vector<float> a =
            testing::random_floats(static_cast<std::size_t>(m) * k, seed, -4.0f, 4.0f);
        if (m > 1) std::fill_n(a.begin() + k, k, 0.0f);  // a zero row: scale 1
        auto w =
            testing::random_ints<std::int8_t>(static_cast<std::size_t>(n) * k, seed + 1, -127, 127);
        std::vector<float> ws =
            testing::random_floats(static_cast<std::size_t>(n), seed + 2, 0.001f, 0.01f);
        std::vector<float> bias = testing::random_floats(static_cast<std::size_t>(n), seed + 3);
        std::vector<float> want(static_cast<std::size_t>(m) * n);
        qgemm_dynamic_ref(m, n, k, a.data(), k, w.data(), ws.data(), bias.data(), Activation::relu,
                          want.data(), n);
        PackedQGemmWeights packed = pack_qgemm(w.data(), n, k);
        AlignedBuffer<std::int32_t> offsets = qgemm_column_offsets(packed, 128, nullptr);
        AlignedBuffer<float> scales(offsets.size());
        std::copy(ws.begin(), ws.end(), scales.data());
        // Through the driver (the dispatched kernel) ...
        std::vector<float> got(want.size());
        QGemmDynamicScratch scratch;
        qgemm_dynamic(a.data(), m, k, packed, offsets.data(), scales.data(), bias.data(),
                      Activation::relu, got.data(), n, scratch);
        ASSERT_EQ(0, std::memcmp(got.data(), want.data(), want.size() * sizeof(float)))
            << "m=" << m << " n=" << n << " k=" << k;
        // ... and every variant on the rows the driver quantized.
        for (const auto& variant : testing::variants_to_test(qgemm_kernels())) {
          std::vector<float> out(want.size());
          QGemmArgs args;
          args.m = m;
          args.a = scratch.rows.data();
          args.lda = static_cast<std::size_t>(packed.padded_k());
          args.w = &packed;
          args.offset = offsets.data();
          args.scale = scales.data();
          args.act = Activation::relu;
          args.row_scales = scratch.row_scales.data();
          args.bias_f32 = bias.data();
          args.c_f32 = out.data();
          args.ldc = static_cast<std::size_t>(n);
          qgemm_with(variant.fn, args);
          EXPECT_EQ(0, std::memcmp(out.data(), want.data(), want.size() * sizeof(float)))
              << variant.name << " m=" << m << " n=" << n << " k=" << k;
        }
      }
}

TEST(QGemm, RejectsInexactActivations) {
  std::int8_t w = 1;
  PackedQGemmWeights packed = pack_qgemm(&w, 1, 1);
  AlignedBuffer<std::int32_t> offsets = qgemm_column_offsets(packed, 0, nullptr);
  AlignedBuffer<float> scales(offsets.size());
  std::uint8_t a[4] = {};
  float c = 0.0f;
  QGemmArgs args;
  args.m = 1;
  args.a = a;
  args.lda = 4;
  args.w = &packed;
  args.offset = offsets.data();
  args.scale = scales.data();
  args.act = Activation::gelu;
  args.c_f32 = &c;
  args.ldc = 1;
  EXPECT_THROW(qgemm(args), Error);
}

}  // namespace
}  // namespace lowp

namespace lowp {
namespace {

// Implicit rows (the int8 convolution's in-place GEMM): every variant that reads them gives
// the reference's bytes on the rows laid end to end (runs of 4 to 96 bytes, strided, row
// counts around the tiles); a variant that reads only dense rows refuses them with an error
// instead of reading a null pointer.
TEST(QGemm, ImplicitRowsEqualTheReferenceOrAreRefused) {
  struct Case {
    int m, n, runs, run_length;
  };
  for (Case t : {Case{1, 16, 1, 4}, Case{13, 64, 3, 24}, Case{29, 40, 3, 96}, Case{7, 10, 2, 8}}) {
    const int k = t.runs * t.run_length;
    const std::size_t run_stride = static_cast<std::size_t>(t.run_length) + 12;
    const std::size_t image_size = static_cast<std::size_t>(t.m) * 5 + t.runs * run_stride + 16;
    auto image = testing::random_ints<std::uint8_t>(image_size, 41, 0, 255);
    auto w = testing::random_ints<std::int8_t>(static_cast<std::size_t>(t.n) * k, 42, -127, 127);
    auto bias = testing::random_ints<std::int32_t>(static_cast<std::size_t>(t.n), 43, -3000, 3000);
    std::vector<float> scale = testing::random_floats(static_cast<std::size_t>(t.n), 44, 1e-4f, 1e-2f);
    std::vector<const std::uint8_t*> rows(static_cast<std::size_t>(t.m));
    std::vector<std::uint8_t> gathered(static_cast<std::size_t>(t.m) * k);
    for (int i = 0; i < t.m; ++i) {
      rows[static_cast<std::size_t>(i)] = image.data() + static_cast<std::size_t>(i) * 5;
      for (int j = 0; j < t.runs; ++j) {
        std::memcpy(gathered.data() + static_cast<std::size_t>(i) * k + j * t.run_length,
                    rows[static_cast<std::size_t>(i)] + j * run_stride, static_cast<std::size_t>(t.run_length));
      }
    }
    const std::int32_t a_zp = 119, out_zp = 9;
    std::vector<std::uint8_t> want(static_cast<std::size_t>(t.m) * t.n);
    std::vector<float> unused(want.size());
    qgemm_ref(t.m, t.n, k, gathered.data(), static_cast<std::size_t>(k), a_zp, w.data(), bias.data(),
              scale.data(), Activation::relu, QGemmOutput::u8, out_zp, unused.data(), want.data(),
              static_cast<std::size_t>(t.n));
    PackedQGemmWeights packed = pack_qgemm(w.data(), t.n, k);
    AlignedBuffer<std::int32_t> offsets = qgemm_column_offsets(packed, a_zp, bias.data());
    AlignedBuffer<float> scales(offsets.size());
    std::copy(scale.begin(), scale.end(), scales.data());
    for (const auto& variant : testing::variants_to_test(qgemm_kernels())) {
      std::vector<std::uint8_t> got(want.size());
      QGemmArgs args;
      args.m = t.m;
      args.rows = rows.data();
      args.runs = t.runs;
      args.run_length = t.run_length;
      args.run_stride = run_stride;
      args.w = &packed;
      args.offset = offsets.data();
      args.scale = scales.data();
      args.act = Activation::relu;
      args.output = QGemmOutput::u8;
      args.out_zero_point = out_zp;
      args.c_u8 = got.data();
      args.ldc = static_cast<std::size_t>(t.n);
      if (variant.isa < IsaLevel::avx512) {
        EXPECT_THROW(qgemm_with(variant.fn, args), Error) << variant.name;
        continue;
      }
      qgemm_with(variant.fn, args);
      EXPECT_EQ(got, want) << variant.name << " m " << t.m << " n " << t.n << " k " << k;
    }
  }
}

}  // namespace
}  // namespace lowp
