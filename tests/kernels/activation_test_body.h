// tests/kernels/activation_test_body.h: the test of the vector epilogue activations against
// their scalar definitions (kernels/activation.h), over a dense sweep and the extremes:
// relu and clamp exact, gelu and silu within 5e-7 (1 + |x|), the bound activation.h states.
// Included once per ISA by activation_test_<isa>.cc, which is compiled with that ISA's
// flags and defines LOWP_ACT_TEST_NAME, LOWP_ACT_LEVEL, LOWP_ACT_LANES, LOWP_ACT_FN,
// LOWP_ACT_LOAD and LOWP_ACT_STORE. The test skips, saying so, on a CPU without the ISA.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "base/cpu.h"

namespace lowp {
namespace {

TEST(LOWP_ACT_TEST_NAME, MatchesScalarDefinition) {
  if (supported_isa() < LOWP_ACT_LEVEL) GTEST_SKIP() << "this CPU lacks the ISA";
  std::vector<float> xs;
  for (int i = -40000; i <= 40000; ++i) xs.push_back(static_cast<float>(i) * 5e-4f);  // [-20, 20]
  for (float x : {-1e30f, -1000.0f, -100.0f, -88.5f, -87.0f, 87.0f, 88.5f, 100.0f, 1e30f, 0.0f, -0.0f,
                  1e-30f, -1e-30f})
    xs.push_back(x);
  while (xs.size() % LOWP_ACT_LANES != 0) xs.push_back(0.5f);
  for (ActivationParams a : {ActivationParams(Activation::relu), ActivationParams(Activation::clamp, -1.5f, 6.0f),
                             ActivationParams(Activation::gelu), ActivationParams(Activation::silu)}) {
    bool exact = activation_is_exact(a.kind);
    double worst = 0.0;
    for (std::size_t i = 0; i < xs.size(); i += LOWP_ACT_LANES) {
      float out[LOWP_ACT_LANES];
      LOWP_ACT_STORE(out, LOWP_ACT_FN(LOWP_ACT_LOAD(xs.data() + i), a));
      for (int j = 0; j < LOWP_ACT_LANES; ++j) {
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
