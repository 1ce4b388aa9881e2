// tests/kernels/activate_test.cc: the array activation on every ISA path against the scalar
// definition. Tolerances from kernels/activation.h: exact for none, relu and clamp; for gelu
// and silu (polynomial erf and exp) 5e-7 (1 + |x|), the epilogues' documented bound.
#include <gtest/gtest.h>

#include <cmath>

#include "kernel_test_util.h"
#include "kernels/activate/activate.h"

namespace lowp {
namespace {

TEST(Activate, EveryVariantMatchesTheDefinition) {
  const ActivationParams acts[] = {Activation::none, Activation::relu, {Activation::clamp, -1.5f, 6.0f},
                                   Activation::gelu, Activation::silu};
  for (std::size_t n : {0u, 1u, 7u, 8u, 9u, 15u, 16u, 17u, 31u, 100u, 1000u}) {
    std::vector<float> x = testing::random_floats(n, n + 1, -12.0f, 12.0f);
    for (const ActivationParams& act : acts) {
      std::vector<float> want(n);
      activate_ref(x.data(), n, act, want.data());
      for (const auto& v : testing::variants_to_test(activate_kernels())) {
        testing::GuardedBuffer<float> got(n);
        v.fn(x.data(), n, act, got.data());
        bool exact = activation_is_exact(act.kind);
        for (std::size_t i = 0; i < n; ++i) {
          if (exact) ASSERT_EQ(got[i], want[i]) << v.name << " " << activation_name(act.kind) << " i=" << i;
          else ASSERT_NEAR(got[i], want[i], 5e-7f * (1.0f + std::fabs(x[i])))
                   << v.name << " " << activation_name(act.kind) << " x=" << x[i];
        }
      }
    }
  }
}

TEST(Activate, InPlace) {
  std::vector<float> x = {-3.0f, -0.5f, 0.0f, 0.5f, 3.0f};
  std::vector<float> want(x.size());
  activate_ref(x.data(), x.size(), Activation::gelu, want.data());
  activate(x.data(), x.size(), Activation::gelu, x.data());
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], want[i], 5e-7f * (1.0f + std::fabs(want[i])));
}

}  // namespace
}  // namespace lowp
