// tests/reduce/low_rank_test.cc: the truncated SVD of reduce/low_rank.h.
//
// Matrices are built with a known spectrum, W = Q1 diag(s) Q2^T with Q1, Q2 orthonormal
// (Householder QR of random matrices), so the rank an energy selects and the error of
// every truncation are known in closed form.
#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <cmath>
#include <numeric>

#include "base/error.h"
#include "base/random.h"
#include "reduce/low_rank.h"

namespace lowp {
namespace {

Eigen::MatrixXd random_matrix(int rows, int cols, Random& rng) {
  Eigen::MatrixXd m(rows, cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) m(i, j) = rng.uniform(-1.0f, 1.0f);
  return m;
}

// W [k][n] row-major = Q1 diag(s) Q2^T, rounded to float.
std::vector<float> with_spectrum(int k, int n, const std::vector<double>& s, std::uint64_t seed) {
  Random rng(seed);
  const int r = static_cast<int>(s.size());
  Eigen::MatrixXd q1 =
      Eigen::HouseholderQR<Eigen::MatrixXd>(random_matrix(k, r, rng)).householderQ() *
      Eigen::MatrixXd::Identity(k, r);
  Eigen::MatrixXd q2 =
      Eigen::HouseholderQR<Eigen::MatrixXd>(random_matrix(n, r, rng)).householderQ() *
      Eigen::MatrixXd::Identity(n, r);
  Eigen::VectorXd sv = Eigen::Map<const Eigen::VectorXd>(s.data(), r);
  Eigen::MatrixXd w = q1 * sv.asDiagonal() * q2.transpose();
  std::vector<float> out(static_cast<std::size_t>(k) * n);
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < n; ++j)
      out[static_cast<std::size_t>(i) * n + j] = static_cast<float>(w(i, j));
  return out;
}

// ||W - W1 W2||_F^2, in double from the float factors.
double reconstruction_error(const std::vector<float>& w, const LowRankFactors& f) {
  double err = 0.0;
  for (int i = 0; i < f.k; ++i) {
    for (int j = 0; j < f.n; ++j) {
      double v = 0.0;
      for (int c = 0; c < f.rank; ++c)
        v += static_cast<double>(f.first[static_cast<std::size_t>(i) * f.rank + c]) *
             f.second[static_cast<std::size_t>(c) * f.n + j];
      const double d = w[static_cast<std::size_t>(i) * f.n + j] - v;
      err += d * d;
    }
  }
  return err;
}

TEST(RankSpec, ParsesEnergyAndRank) {
  RankSpec e = parse_rank_spec("energy=0.95");
  EXPECT_EQ(e.kind, RankSpec::Kind::energy);
  EXPECT_EQ(e.energy, 0.95);
  EXPECT_EQ(parse_rank_spec("energy=1").energy, 1.0);
  RankSpec r = parse_rank_spec("rank=64");
  EXPECT_EQ(r.kind, RankSpec::Kind::rank);
  EXPECT_EQ(r.rank, 64);
  EXPECT_EQ(r.str(), "rank=64");
  EXPECT_EQ(e.str(), "energy=0.95");
}

TEST(RankSpec, RejectsBadSpecsNamingThem) {
  const std::pair<const char*, const char*> bad[] = {
      {"energy=0", "energy 0 must be in (0, 1]"},
      {"energy=1.5", "energy 1.5 must be in (0, 1]"},
      {"energy=-0.1", "energy -0.1 must be in (0, 1]"},
      {"energy=nan", "energy nan must be in (0, 1]"},
      {"energy=", "energy '' is not a number"},
      {"energy=0.9x", "energy '0.9x' is not a number"},
      {"rank=0", "rank 0 must be at least 1"},
      {"rank=-3", "rank -3 must be at least 1"},
      {"rank=2.5", "rank '2.5' is not a whole number"},
      {"rank=99999999999", "rank '99999999999' is not a whole number"},
      {"size=4", "'size' is not energy or rank"},
      {"energy0.9", "is not energy=E (0 < E <= 1) or rank=R"},
      {"", "is not energy=E"},
  };
  for (const auto& [text, message] : bad) {
    try {
      parse_rank_spec(text);
      ADD_FAILURE() << "'" << text << "' was accepted";
    } catch (const Error& err) {
      EXPECT_NE(std::string(err.what()).find(message), std::string::npos)
          << text << ": " << err.what();
      EXPECT_NE(std::string(err.what()).find(fmt::format("'{}'", text)), std::string::npos)
          << err.what();
    }
  }
}

// Squares 4, 1, 1, 1, 1 (total 8): exact in double, so the ties are exact too.
TEST(ChooseRank, SmallestRankReachingTheEnergy) {
  const std::vector<double> s = {2, 1, 1, 1, 1};
  auto energy = [&](double e) { return choose_rank(s, RankSpec{RankSpec::Kind::energy, e, 0}); };
  EXPECT_EQ(energy(0.1), 1);
  EXPECT_EQ(energy(0.5), 1);  // 4 of 8: reached exactly
  EXPECT_EQ(energy(0.5000001), 2);
  EXPECT_EQ(energy(0.625), 2);  // 5 of 8
  EXPECT_EQ(energy(0.75), 3);
  EXPECT_EQ(energy(0.875), 4);
  EXPECT_EQ(energy(0.9), 5);
  EXPECT_EQ(energy(1.0), 5);
  auto rank = [&](int r) { return choose_rank(s, RankSpec{RankSpec::Kind::rank, 0.0, r}); };
  EXPECT_EQ(rank(3), 3);
  EXPECT_EQ(rank(5), 5);
  EXPECT_EQ(rank(80), 5);  // at most the number of singular values
  // A zero matrix keeps rank 1.
  EXPECT_EQ(choose_rank(std::vector<double>{0, 0, 0}, RankSpec{}), 1);
}

TEST(LowRank, RecoversTheSpectrumAndTheEnergyRank) {
  const std::vector<double> s = {4, 3, 2, 1};  // squares 16, 9, 4, 1: total 30
  std::vector<float> w = with_spectrum(12, 9, s, 1);
  LowRankFactors f = factorize_low_rank(w.data(), 12, 9, RankSpec{RankSpec::Kind::energy, 0.8, 0});
  ASSERT_EQ(f.singular_values.size(), 9u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(f.singular_values[i], s[i], 1e-5) << i;
  for (std::size_t i = 4; i < 9; ++i) EXPECT_NEAR(f.singular_values[i], 0.0, 1e-5) << i;
  EXPECT_EQ(f.rank, 2);  // 25 / 30 = 0.83 >= 0.8 > 16 / 30
  EXPECT_NEAR(f.energy_kept, 25.0 / 30.0, 1e-6);
  EXPECT_NEAR(f.dropped_energy, 5.0, 1e-5);
  EXPECT_EQ(factorize_low_rank(w.data(), 12, 9, RankSpec{RankSpec::Kind::energy, 0.84, 0}).rank, 3);
  // The factors share the scale: ||W1 column c|| = ||W2 row c|| = sqrt(s_c).
  for (int c = 0; c < f.rank; ++c) {
    double a = 0.0, b = 0.0;
    for (int i = 0; i < f.k; ++i)
      a += std::pow(f.first[static_cast<std::size_t>(i) * f.rank + c], 2);
    for (int j = 0; j < f.n; ++j) b += std::pow(f.second[static_cast<std::size_t>(c) * f.n + j], 2);
    EXPECT_NEAR(a, s[static_cast<std::size_t>(c)], 1e-5);
    EXPECT_NEAR(b, s[static_cast<std::size_t>(c)], 1e-5);
  }
}

// Eckart-Young: ||W - W1 W2||_F^2 = the dropped energy, sum over i >= r of s_i^2, up to the
// rounding of the factors to float. Each kept term s_c u_c v_c^T is stored as two float
// vectors whose entries carry a relative error of at most 2^-24, so the term is off by at
// most 2 * 2^-24 * s_c in Frobenius norm (||u|| = ||v|| = 1), and the whole product by
// delta = 2^-23 * sum of the kept s_c. With e = ||W - W1 W2|| and t its exact truncation
// part, |e^2 - t^2| <= 2 t delta + delta^2; the tolerance doubles that bound.
TEST(LowRank, ReconstructionErrorIsTheDroppedEnergy) {
  Random rng(7);
  const int k = 48, n = 40;
  std::vector<float> w(static_cast<std::size_t>(k) * n);
  for (float& v : w) v = rng.uniform(-1.0f, 1.0f);
  for (int rank : {1, 5, 17, 39, 40}) {
    LowRankFactors f =
        factorize_low_rank(w.data(), k, n, RankSpec{RankSpec::Kind::rank, 0.0, rank});
    ASSERT_EQ(f.rank, rank);
    double dropped = 0.0, kept_sum = 0.0, total = 0.0;
    for (std::size_t i = 0; i < f.singular_values.size(); ++i) {
      const double e = f.singular_values[i] * f.singular_values[i];
      total += e;
      if (static_cast<int>(i) >= rank)
        dropped += e;
      else
        kept_sum += f.singular_values[i];
    }
    EXPECT_DOUBLE_EQ(f.dropped_energy, dropped);
    EXPECT_NEAR(f.energy_kept, 1.0 - dropped / total, 1e-12);
    const double delta = std::ldexp(kept_sum, -23);
    const double tol = 2.0 * (2.0 * std::sqrt(dropped) * delta + delta * delta);
    EXPECT_NEAR(reconstruction_error(w, f), dropped, tol) << "rank " << rank;
  }
}

TEST(LowRank, RejectsNonFiniteWeights) {
  std::vector<float> w(12, 1.0f);
  w[7] = std::nanf("");
  try {
    factorize_low_rank(w.data(), 3, 4, RankSpec{});
    ADD_FAILURE() << "NaN accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("weight [1, 3] is nan"), std::string::npos) << e.what();
  }
  w[7] = INFINITY;
  EXPECT_THROW(factorize_low_rank(w.data(), 3, 4, RankSpec{}), Error);
  EXPECT_THROW(factorize_low_rank(w.data(), 0, 4, RankSpec{}), Error);
}

}  // namespace
}  // namespace lowp
