// tests/kernels/activation_test_avx2.cc: the 8-lane epilogue activations against their
// scalar definitions (kernels/activation.h) over a dense sweep and the extremes. relu and
// clamp must be exact; gelu and silu within 5e-7 (1 + |x|), the bound activation.h states.
// Compiled with the ISA's flags (its file name); skipped, saying so, on a CPU without it.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "base/cpu.h"
#include "kernels/activation_avx2.h"

namespace lowp {
namespace {

TEST(Activation8Lanes, MatchesScalarDefinition) {
  if (supported_isa() < IsaLevel::avx2) GTEST_SKIP() << "this CPU lacks avx2";
  std::vector<float> xs;
  for (int i = -40000; i <= 40000; ++i) xs.push_back(static_cast<float>(i) * 5e-4f);  // [-20, 20]
  for (float x : {-1e30f, -1000.0f, -100.0f, -88.5f, -87.0f, 87.0f, 88.5f, 100.0f, 1e30f, 0.0f, -0.0f,
                  1e-30f, -1e-30f})
    xs.push_back(x);
  while (xs.size() % 8 != 0) xs.push_back(0.5f);
  for (ActivationParams a : {ActivationParams(Activation::relu), ActivationParams(Activation::clamp, -1.5f, 6.0f),
                             ActivationParams(Activation::gelu), ActivationParams(Activation::silu)}) {
    bool exact = activation_is_exact(a.kind);
    double worst = 0.0;
    for (std::size_t i = 0; i < xs.size(); i += 8) {
      float out[8];
      _mm256_storeu_ps(out, activate8(_mm256_loadu_ps(xs.data() + i), a));
      for (int j = 0; j < 8; ++j) {
        float x = xs[i + j], want = a(x);
        double err = std::fabs(static_cast<double>(out[j]) - want);
        if (exact) {
          ASSERT_EQ(out[j], want) << activation_name(a.kind) << " x=" << x;
        } else {
          ASSERT_LE(err, 5e-7 * (1.0 + std::fabs(x))) << activation_name(a.kind) << " x=" << x
                                                       << " got " << out[j] << " want " << want;
        }
        worst = std::max(worst, err / (1.0 + std::fabs(x)));
      }
    }
    std::printf("[  NOTE    ] %s: worst error %.3g x (1 + |x|)\n", activation_name(a.kind), worst);
  }
}

}  // namespace
}  // namespace lowp
