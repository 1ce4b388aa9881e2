// tests/reduce/pca_test.cc: PCA against decompositions known in closed form.
//
// Points +-a along one axis, +-b along a second and +-c along a third, all rotated by a
// known rotation R: the mean is 0, the sample covariance (n - 1 = 5) is
// R diag(2a^2, 2b^2, 2c^2) R^T / 5, so the principal axes are the columns of R in order
// of a > b > c, the eigenvalues 2a^2/5, 2b^2/5, 2c^2/5, and the projections of the points
// are (+-a, 0, 0), (0, +-b, 0), (0, 0, +-c).
#include <gtest/gtest.h>

#include <cmath>

#include "base/error.h"
#include "reduce/pca.h"

namespace lowp {
namespace {

struct Rotated {
  double r[3][3];             // columns are the axes
  std::vector<float> points;  // 6 x 3
};

Rotated make_points(double a, double b, double c) {
  // R = Rz(0.7) * Rx(0.3): orthonormal by construction.
  double cz = std::cos(0.7), sz = std::sin(0.7), cx = std::cos(0.3), sx = std::sin(0.3);
  Rotated p{{{cz, -sz * cx, sz * sx}, {sz, cz * cx, -cz * sx}, {0.0, sx, cx}}, {}};
  const double lengths[3] = {a, b, c};
  for (int axis = 0; axis < 3; ++axis)
    for (double sign : {1.0, -1.0})
      for (int row = 0; row < 3; ++row)
        p.points.push_back(static_cast<float>(sign * lengths[axis] * p.r[row][axis]));
  return p;
}

TEST(Pca, RecoversRotatedAxesAndVariances) {
  const double a = 3.0, b = 2.0, c = 0.5;
  Rotated p = make_points(a, b, c);
  Pca pca = fit_pca(p.points.data(), 6, 3, 2);
  ASSERT_EQ(pca.eigenvalues.size(), 3u);
  EXPECT_NEAR(pca.eigenvalues[0], 2 * a * a / 5, 1e-5);
  EXPECT_NEAR(pca.eigenvalues[1], 2 * b * b / 5, 1e-5);
  EXPECT_NEAR(pca.eigenvalues[2], 2 * c * c / 5, 1e-5);
  EXPECT_NEAR(pca.explained_variance_ratio, (a * a + b * b) / (a * a + b * b + c * c), 1e-6);
  for (int comp = 0; comp < 2; ++comp) {
    // Same axis up to sign: |<basis, R column>| = 1.
    double dot = 0.0;
    for (int j = 0; j < 3; ++j)
      dot += pca.basis[static_cast<std::size_t>(comp) * 3 + j] * p.r[j][comp];
    EXPECT_NEAR(std::fabs(dot), 1.0, 1e-5) << "component " << comp;
  }
  for (float m : pca.mean) EXPECT_NEAR(m, 0.0f, 1e-6f);

  PcaProjection projection(pca);
  std::vector<float> out(6 * 2);
  projection.apply(p.points.data(), 6, out.data());
  const double expected_abs[6][2] = {{a, 0}, {a, 0}, {0, b}, {0, b}, {0, 0}, {0, 0}};
  for (int i = 0; i < 6; ++i) {
    EXPECT_NEAR(std::fabs(out[static_cast<std::size_t>(i) * 2 + 0]), expected_abs[i][0], 1e-5);
    EXPECT_NEAR(std::fabs(out[static_cast<std::size_t>(i) * 2 + 1]), expected_abs[i][1], 1e-5);
  }
}

TEST(Pca, ShiftedDataKeepsAxesAndMean) {
  Rotated p = make_points(4.0, 1.0, 0.25);
  for (std::size_t i = 0; i < p.points.size(); ++i) p.points[i] += static_cast<float>(10.0 + i % 3);
  Pca pca = fit_pca(p.points.data(), 6, 3, 3);
  EXPECT_NEAR(pca.mean[0], 10.0f, 1e-5f);
  EXPECT_NEAR(pca.mean[1], 11.0f, 1e-5f);
  EXPECT_NEAR(pca.mean[2], 12.0f, 1e-5f);
  EXPECT_NEAR(pca.explained_variance_ratio, 1.0, 1e-9);
  EXPECT_NEAR(pca.eigenvalues[0], 2 * 16.0 / 5, 1e-4);
}

TEST(Pca, SignIsDeterministic) {
  Rotated p = make_points(3.0, 2.0, 1.0);
  Pca pca = fit_pca(p.points.data(), 6, 3, 3);
  for (int comp = 0; comp < 3; ++comp) {
    float largest = 0.0f;
    for (int j = 0; j < 3; ++j) {
      float v = pca.basis[static_cast<std::size_t>(comp) * 3 + j];
      if (std::fabs(v) > std::fabs(largest)) largest = v;
    }
    EXPECT_GT(largest, 0.0f);
  }
}

TEST(Pca, RejectsBadInput) {
  std::vector<float> x = {1, 2, 3, 4, 5, 6};
  EXPECT_THROW(fit_pca(x.data(), 1, 6, 1), Error);  // one row
  EXPECT_THROW(fit_pca(x.data(), 2, 3, 4), Error);  // more components than dims
  EXPECT_THROW(fit_pca(x.data(), 2, 3, 0), Error);
  x[4] = std::nanf("");
  EXPECT_THROW(fit_pca(x.data(), 2, 3, 1), Error);
}

}  // namespace
}  // namespace lowp
