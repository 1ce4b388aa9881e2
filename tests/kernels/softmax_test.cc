// tests/kernels/softmax_test.cc: SIMD softmax against the std::exp reference.
// Tolerance per element, relative: 4 ulp for the polynomial exp, plus cols x eps for the
// row sum in a different order, plus 1 ulp for multiplying by 1/sum instead of dividing:
// (cols + 6) * 2^-23.
#include <gtest/gtest.h>

#include <cmath>

#include "kernel_test_util.h"
#include "kernels/softmax/softmax.h"

namespace lowp {
namespace {

TEST(Softmax, EveryVariantMatchesReference) {
  for (std::size_t cols : {1u, 2u, 7u, 8u, 9u, 10u, 16u, 17u, 33u, 100u, 1000u}) {
    std::size_t rows = 5;
    std::vector<float> x = testing::random_floats(rows * cols, cols, -30.0f, 30.0f);
    x[0] = -200.0f;  // underflows to 0 after subtracting the max
    std::vector<float> want(x.size());
    softmax_ref(x.data(), rows, cols, want.data());
    for (const auto& v : testing::variants_to_test(softmax_kernels())) {
      testing::GuardedBuffer<float> got(x.size());
      v.fn(x.data(), rows, cols, got.data());
      float rel = static_cast<float>(cols + 6) * std::ldexp(1.0f, -23);
      for (std::size_t i = 0; i < x.size(); ++i) {
        ASSERT_NEAR(got[i], want[i], rel * want[i] + 1e-38f)
            << v.name << " cols=" << cols << " i=" << i;
      }
    }
  }
}

TEST(Softmax, InPlaceAndRowsSumToOne) {
  std::vector<float> x = testing::random_floats(3 * 10, 5, -5.0f, 5.0f);
  softmax(x.data(), 3, 10, x.data());
  for (int r = 0; r < 3; ++r) {
    float sum = 0.0f;
    for (int j = 0; j < 10; ++j) sum += x[r * 10 + j];
    EXPECT_NEAR(sum, 1.0f, 1e-6f);
  }
}

}  // namespace
}  // namespace lowp
