// tests/kernels/bf16dot_test.cc: every bf16 x bf16 GEMM variant against the reference of
// bf16dot.h over sizes around the tiles (odd k included: the padded pair).
//
// A product of two bf16 is exact in fp32, so the paths that widen to fp32 and add with FMA
// in the reference's order (odd element of a pair first) must give the reference's bits
// exactly for these normal-range inputs. vdpbf16ps may round its two additions as one (the
// architectural definition has two, AMD and Intel parts may differ), so it is held to the
// fp32 summation bound (k + 2) * 2^-23 * sum |a w| instead (on Zen 5 it matched bit for
// bit here all the same).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "base/cpu.h"
#include "base/float_types.h"
#include "base/thread_pool.h"
#include "kernel_test_util.h"
#include "kernels/bf16dot/bf16dot.h"

namespace lowp {
namespace {

std::vector<std::uint16_t> to_bf16(const std::vector<float>& v) {
  std::vector<std::uint16_t> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = bfloat16::from_float(v[i]).bits();
  return out;
}

void check(int m, int n, int k, bool use_bias, Activation act) {
  std::uint64_t seed = static_cast<std::uint64_t>(m * 101 + n * 7 + k);
  std::vector<float> af = testing::random_floats(static_cast<std::size_t>(m) * k, seed);
  std::vector<float> wf = testing::random_floats(static_cast<std::size_t>(n) * k, seed + 1);
  std::vector<float> bias = testing::random_floats(static_cast<std::size_t>(n), seed + 2);
  std::vector<std::uint16_t> w = to_bf16(wf);
  const float* b = use_bias ? bias.data() : nullptr;
  // Activations as the kernels read them: rows padded to an even length.
  PackedBf16DotWeights packed = pack_bf16dot(w.data(), n, k);
  const std::size_t lda = static_cast<std::size_t>(packed.padded_k());
  std::vector<std::uint16_t> a_plain = to_bf16(af);
  testing::GuardedBuffer<std::uint16_t> a(static_cast<std::size_t>(m) * lda);
  bf16dot_convert_rows(af.data(), m, static_cast<std::size_t>(k), k, a.data(), lda);
  std::vector<float> want(static_cast<std::size_t>(m) * n);
  bf16dot_gemm_ref(m, n, k, a_plain.data(), static_cast<std::size_t>(k), w.data(), b, act,
                   want.data(), static_cast<std::size_t>(n));
  for (const auto& v : testing::variants_to_test(bf16dot_kernels())) {
    testing::GuardedBuffer<float> got(want.size());
    Bf16DotArgs args{m, a.data(), lda, &packed, b, act, got.data(), static_cast<std::size_t>(n),
                     {}};
    bf16dot_gemm_with(v.fn, args);
    bool exact = std::string(v.name).find("avx512bf16") == std::string::npos;
    int reported = 0;
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < n; ++j) {
        std::size_t at = static_cast<std::size_t>(i) * n + j;
        double s = use_bias ? std::fabs(bias[static_cast<std::size_t>(j)]) : 0.0;
        for (int kk = 0; kk < k; ++kk) {
          s += std::fabs(
              bfloat16::from_bits(a_plain[static_cast<std::size_t>(i) * k + kk]).to_float() *
              bfloat16::from_bits(w[static_cast<std::size_t>(j) * k + kk]).to_float());
        }
        float tol = exact ? 0.0f : static_cast<float>((k + 2) * std::ldexp(1.0, -23) * s);
        if (!(std::fabs(got[at] - want[at]) <= tol) && reported++ < 5) {
          ADD_FAILURE() << v.name << " m=" << m << " n=" << n << " k=" << k << " at " << at
                        << ": got " << got[at] << ", reference " << want[at] << ", tol " << tol;
        }
      }
    }
  }
}

TEST(Bf16Dot, EveryVariantMatchesReferenceAroundTiles) {
  for (int m : {1, 2, 3, 4, 5, 9})
    for (int n : {1, 15, 16, 17, 33, 63, 64, 65, 100})
      for (int k : {1, 2, 3, 4, 31, 32, 33, 100}) {
        check(m, n, k, true, Activation::relu);
        check(m, n, k, false, Activation::none);
      }
  check(37, 129, 1001, true, Activation::none);
}

TEST(Bf16Dot, ThreadsGiveTheSameBits) {
  const int m = 70, n = 50, k = 101;
  std::vector<std::uint16_t> w =
      to_bf16(testing::random_floats(static_cast<std::size_t>(n) * k, 1));
  std::vector<float> af = testing::random_floats(static_cast<std::size_t>(m) * k, 2);
  PackedBf16DotWeights packed = pack_bf16dot(w.data(), n, k);
  std::size_t lda = static_cast<std::size_t>(packed.padded_k());
  std::vector<std::uint16_t> a(static_cast<std::size_t>(m) * lda);
  bf16dot_convert_rows(af.data(), m, static_cast<std::size_t>(k), k, a.data(), lda);
  std::vector<float> one(static_cast<std::size_t>(m) * n), two(one.size());
  Bf16DotArgs args{m,       a.data(),         lda,        &packed,
                   nullptr, Activation::none, one.data(), static_cast<std::size_t>(n),
                   {}};
  bf16dot_gemm(args);
  ThreadPool pool(3);
  args.c = two.data();
  bf16dot_gemm(args, &pool);
  EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * sizeof(float)));
}

}  // namespace
}  // namespace lowp

namespace lowp {
namespace {

// The fp32 packers must give pack_bf16dot's bytes for the same matrix rounded to bf16,
// from either layout, with strides, odd k and partial last panels, and when the buffer is
// reused from an earlier call of another size.
TEST(Bf16Dot, PackingFromFp32MatchesPackingBf16) {
  PackedBf16DotWeights nk, kn;
  for (int n : {1, 15, 16, 17, 40}) {
    for (int k : {1, 2, 7, 32, 33}) {
      const std::size_t ld_nk = static_cast<std::size_t>(k) + 3, ld_kn = static_cast<std::size_t>(n) + 5;
      std::vector<float> w_nk = testing::random_floats(static_cast<std::size_t>(n) * ld_nk, n * 31 + k);
      std::vector<float> w_kn(static_cast<std::size_t>(k) * ld_kn, 99.0f);
      std::vector<std::uint16_t> plain(static_cast<std::size_t>(n) * k);
      for (int j = 0; j < n; ++j) {
        for (int p = 0; p < k; ++p) {
          const float v = w_nk[static_cast<std::size_t>(j) * ld_nk + p];
          w_kn[static_cast<std::size_t>(p) * ld_kn + j] = v;
          plain[static_cast<std::size_t>(j) * k + p] = bfloat16::from_float(v).bits();
        }
      }
      const PackedBf16DotWeights want = pack_bf16dot(plain.data(), n, k);
      pack_bf16dot_from_f32_nk(w_nk.data(), ld_nk, n, k, nk);
      pack_bf16dot_from_f32_kn(w_kn.data(), ld_kn, k, n, kn);
      std::vector<std::uint16_t> bits_kn(w_kn.size());
      for (std::size_t i = 0; i < w_kn.size(); ++i) bits_kn[i] = bfloat16::from_float(w_kn[i]).bits();
      PackedBf16DotWeights from_bits;
      pack_bf16dot_from_bf16_kn(bits_kn.data(), ld_kn, k, n, from_bits);
      for (const PackedBf16DotWeights* got : {&nk, &kn, &from_bits}) {
        ASSERT_EQ(got->n, n);
        ASSERT_EQ(got->k, k);
        ASSERT_EQ(got->data.size(), want.data.size());
        EXPECT_EQ(std::memcmp(got->data.data(), want.data.data(),
                              want.data.size() * sizeof(std::uint16_t)),
                  0)
            << (got == &nk ? "nk" : got == &kn ? "kn" : "bf16 kn") << " n " << n << " k " << k;
      }
    }
  }
}

}  // namespace
}  // namespace lowp

namespace lowp {
namespace {

// Implicit rows (the bf16 convolution's in-place GEMM) give the bits of the GEMM variant
// of the same instruction set on the rows laid end to end: row i = runs runs of
// run_length values, run_stride apart, from its own start; runs of 2 to 96 values, row
// counts around the tiles, 1 to 5 panels.
TEST(Bf16Dot, ImplicitRowsMatchTheGemmOnGatheredRows) {
  const std::vector<KernelEntry<Bf16ImplicitFn>> implicit =
      runnable_kernels(bf16dot_implicit_kernels(), supported_isa());
  // Without AVX-512 the list is empty and the convolution gathers (tested in conv2d_test).
  struct Case {
    int m, n, runs, run_length;
  };
  for (Case t : {Case{1, 16, 1, 2}, Case{13, 32, 3, 6}, Case{17, 64, 3, 96}, Case{29, 10, 2, 8},
                 Case{7, 80, 5, 4}, Case{40, 48, 3, 64}}) {
    const int k = t.runs * t.run_length;
    const std::size_t run_stride = static_cast<std::size_t>(t.run_length) + 6;
    const std::size_t image_size = static_cast<std::size_t>(t.m) * 3 + t.runs * run_stride + 8;
    std::vector<std::uint16_t> image = to_bf16(testing::random_floats(image_size, t.m * 7 + k));
    std::vector<const std::uint16_t*> rows(static_cast<std::size_t>(t.m));
    std::vector<std::uint16_t> gathered(static_cast<std::size_t>(t.m) * k);
    for (int i = 0; i < t.m; ++i) {
      rows[static_cast<std::size_t>(i)] = image.data() + static_cast<std::size_t>(i) * 3;
      for (int j = 0; j < t.runs; ++j) {
        std::memcpy(gathered.data() + static_cast<std::size_t>(i) * k + j * t.run_length,
                    rows[static_cast<std::size_t>(i)] + j * run_stride,
                    static_cast<std::size_t>(t.run_length) * sizeof(std::uint16_t));
      }
    }
    std::vector<std::uint16_t> w = to_bf16(testing::random_floats(static_cast<std::size_t>(t.n) * k, 5));
    std::vector<float> bias = testing::random_floats(static_cast<std::size_t>(t.n), 6);
    const PackedBf16DotWeights packed = pack_bf16dot(w.data(), t.n, k);
    for (const auto& v : implicit) {
      const std::string isa = std::string(v.name).substr(std::string(v.name).rfind("__"));
      Bf16DotFn gemm = nullptr;
      for (const auto& g : bf16dot_kernels()) {
        if (std::string(g.name).ends_with(isa)) gemm = g.fn;
      }
      ASSERT_NE(gemm, nullptr) << v.name;
      std::vector<float> want(static_cast<std::size_t>(t.m) * t.n), got(want.size());
      Bf16DotArgs g{t.m, gathered.data(), static_cast<std::size_t>(k), &packed, bias.data(),
                    Activation::relu, want.data(), static_cast<std::size_t>(t.n), {}};
      bf16dot_gemm_with(gemm, g);
      Bf16ImplicitArgs a;
      a.m = t.m;
      a.rows = rows.data();
      a.runs = t.runs;
      a.run_length = t.run_length;
      a.run_stride = run_stride;
      a.w = &packed;
      a.bias = bias.data();
      a.act = Activation::relu;
      a.c = got.data();
      a.ldc = static_cast<std::size_t>(t.n);
      v.fn(a);
      EXPECT_EQ(got, want) << v.name << " m " << t.m << " n " << t.n << " k " << k;
    }
  }
}

}  // namespace
}  // namespace lowp
