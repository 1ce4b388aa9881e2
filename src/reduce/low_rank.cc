// reduce/low_rank.cc
#include "reduce/low_rank.h"

#include <Eigen/Dense>

#include <charconv>
#include <cmath>

#include "base/error.h"

namespace lowp {

std::string RankSpec::str() const {
  return kind == Kind::energy ? fmt::format("energy={}", energy) : fmt::format("rank={}", rank);
}

RankSpec parse_rank_spec(std::string_view text) {
  const std::size_t eq = text.find('=');
  if (eq == std::string_view::npos)
    fail("low-rank spec '{}' is not energy=E (0 < E <= 1) or rank=R (R >= 1)", text);
  const std::string_view key = text.substr(0, eq), value = text.substr(eq + 1);
  const char* begin = value.data();
  const char* end = value.data() + value.size();
  RankSpec spec;
  if (key == "energy") {
    double e = 0.0;
    auto [ptr, ec] = std::from_chars(begin, end, e);
    if (value.empty() || ec != std::errc() || ptr != end)
      fail("low-rank spec '{}': energy '{}' is not a number", text, value);
    if (!(e > 0.0 && e <= 1.0))
      fail("low-rank spec '{}': energy {} must be in (0, 1]", text, value);
    spec.kind = RankSpec::Kind::energy;
    spec.energy = e;
  } else if (key == "rank") {
    int r = 0;
    auto [ptr, ec] = std::from_chars(begin, end, r);
    if (value.empty() || ec != std::errc() || ptr != end)
      fail("low-rank spec '{}': rank '{}' is not a whole number", text, value);
    if (r < 1) fail("low-rank spec '{}': rank {} must be at least 1", text, r);
    spec.kind = RankSpec::Kind::rank;
    spec.rank = r;
  } else {
    fail("low-rank spec '{}': '{}' is not energy or rank (energy=E or rank=R)", text, key);
  }
  return spec;
}

int choose_rank(std::span<const double> s, const RankSpec& spec) {
  const int full = static_cast<int>(s.size());
  LOWP_CHECK(full >= 1, "low-rank: no singular values to choose a rank from");
  if (spec.kind == RankSpec::Kind::rank) return std::min(spec.rank, full);
  double total = 0.0;
  for (double v : s) total += v * v;
  if (total == 0.0) return 1;
  // Smallest r with sum_{i<r} s_i^2 >= E * total. Summed in descending order, the running
  // sum reaches the total exactly at the end, so E = 1 keeps every nonzero value.
  const double target = spec.energy * total;
  double kept = 0.0;
  for (int r = 1; r <= full; ++r) {
    kept += s[static_cast<std::size_t>(r - 1)] * s[static_cast<std::size_t>(r - 1)];
    if (kept >= target) return r;
  }
  return full;
}

LowRankFactors factorize_low_rank(const float* w, int k, int n, const RankSpec& spec) {
  LOWP_CHECK(k >= 1 && n >= 1, "low-rank: weights of {} x {} are empty", k, n);
  Eigen::MatrixXd m(k, n);
  for (int i = 0; i < k; ++i) {
    for (int j = 0; j < n; ++j) {
      const float v = w[static_cast<std::size_t>(i) * static_cast<std::size_t>(n) +
                        static_cast<std::size_t>(j)];
      LOWP_CHECK(std::isfinite(v), "low-rank: weight [{}, {}] is {}; the SVD needs finite weights",
                 i, j, v);
      m(i, j) = v;
    }
  }
  Eigen::BDCSVD<Eigen::MatrixXd> svd(m, Eigen::ComputeThinU | Eigen::ComputeThinV);
  LOWP_CHECK(svd.info() == Eigen::Success, "low-rank: the SVD of a {} x {} matrix did not converge",
             k, n);

  LowRankFactors f;
  f.k = k;
  f.n = n;
  const Eigen::VectorXd& s = svd.singularValues();
  f.singular_values.assign(s.data(), s.data() + s.size());
  f.rank = choose_rank(f.singular_values, spec);
  double total = 0.0, kept = 0.0;
  for (std::size_t i = 0; i < f.singular_values.size(); ++i) {
    const double e = f.singular_values[i] * f.singular_values[i];
    total += e;
    if (static_cast<int>(i) < f.rank)
      kept += e;
    else
      f.dropped_energy += e;
  }
  f.energy_kept = total > 0.0 ? kept / total : 1.0;

  const int r = f.rank;
  const Eigen::MatrixXd& u = svd.matrixU();
  const Eigen::MatrixXd& v = svd.matrixV();
  f.first.resize(static_cast<std::size_t>(k) * static_cast<std::size_t>(r));
  f.second.resize(static_cast<std::size_t>(r) * static_cast<std::size_t>(n));
  for (int c = 0; c < r; ++c) {
    const double root = std::sqrt(f.singular_values[static_cast<std::size_t>(c)]);
    for (int i = 0; i < k; ++i)
      f.first[static_cast<std::size_t>(i) * static_cast<std::size_t>(r) +
              static_cast<std::size_t>(c)] = static_cast<float>(u(i, c) * root);
    for (int j = 0; j < n; ++j)
      f.second[static_cast<std::size_t>(c) * static_cast<std::size_t>(n) +
               static_cast<std::size_t>(j)] = static_cast<float>(root * v(j, c));
  }
  return f;
}

}  // namespace lowp
