// reduce/low_rank.h: the truncated SVD that splits one dense layer into two thinner ones,
// the math of `lowp compress --lowrank` (the graph rewrite is reduce/compress_low_rank.h).
//
// A layer y = x W with W [K, N] (K inputs, N outputs) is factorized by Eigen's BDCSVD
// (divide and conquer; the SVD is not ours to write), W = U S V^T, and truncated to the r
// largest singular values: W ~ W1 W2 with
//   W1 = U_r sqrt(S_r)    [K, r]
//   W2 = sqrt(S_r) V_r^T  [r, N]
// The square root goes to both sides so the two factors have the same scale (their norms
// are equal), which keeps fp32 rounding and the gradients of later fine-tuning balanced.
// By Eckart-Young this is the best rank-r approximation in the Frobenius norm, and its
// error is exactly what was dropped: ||W - W1 W2||_F^2 = sum over i >= r of s_i^2.
//
// "Energy" is that squared norm: energy=E keeps the smallest r whose leading s_i^2 sum to
// at least E of the total; rank=R keeps R (at most min(K, N)).
//
// The SVD runs in double (the weights are fp32, so double leaves no rounding of its own in
// the energies); a 2048 x 2048 layer takes ~6 s on one core of a baseline x86-64 build.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lowp {

// How many singular values to keep: `energy=E` (0 < E <= 1) or `rank=R` (R >= 1).
struct RankSpec {
  enum class Kind { energy, rank };
  Kind kind = Kind::energy;
  double energy = 0.95;
  int rank = 0;

  std::string str() const;  // "energy=0.95", "rank=64"
};
// Parses "energy=E" or "rank=R"; throws lowp::Error naming the text and the rule broken.
RankSpec parse_rank_spec(std::string_view text);

// The rank `spec` keeps of a matrix with these singular values (descending): at least 1,
// at most singular_values.size(). An all-zero matrix keeps rank 1.
int choose_rank(std::span<const double> singular_values, const RankSpec& spec);

struct LowRankFactors {
  int k = 0, n = 0, rank = 0;
  std::vector<double> singular_values;  // all min(k, n) of W, descending
  double energy_kept = 1.0;             // sum of the kept s_i^2 / sum of all (1 for W = 0)
  double dropped_energy = 0.0;          // sum of the dropped s_i^2: ||W - W1 W2||_F^2
  std::vector<float> first;             // W1 [k][rank], row-major
  std::vector<float> second;            // W2 [rank][n], row-major
};

// w: W [k][n] row-major, the layout of x W (MatMul's B). Throws lowp::Error when a size is
// below 1, a weight is NaN or Inf (naming its row and column), or the SVD fails.
LowRankFactors factorize_low_rank(const float* w, int k, int n, const RankSpec& spec);

}  // namespace lowp
