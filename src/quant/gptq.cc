// quant/gptq.cc
#include "quant/gptq.h"

#include <Eigen/Cholesky>
#include <Eigen/Dense>
#include <cmath>

#include "base/error.h"

namespace lowp::quant {
namespace {

using MatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;
using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;  // column-major
using RowMajorD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace

HessianAccumulator::HessianAccumulator(std::size_t k) : k_(k), lower_(k * k, 0.0) {}

void HessianAccumulator::add(const float* rows, std::size_t count) {
  batch_.resize(count * k_);
  std::size_t kept = 0;
  for (std::size_t r = 0; r < count; ++r) {
    const float* x = rows + r * k_;
    bool finite = true;
    for (std::size_t i = 0; i < k_ && finite; ++i) finite = std::isfinite(x[i]);
    if (!finite) {
      ++skipped_;
      continue;
    }
    for (std::size_t i = 0; i < k_; ++i) batch_[kept * k_ + i] = x[i];
    ++kept;
  }
  if (kept == 0) return;
  // batch_ as K x kept column-major: each row of X a column; H += X^T X.
  Eigen::Map<const MatrixD> xt(batch_.data(), static_cast<Eigen::Index>(k_), static_cast<Eigen::Index>(kept));
  Eigen::Map<MatrixD> h(lower_.data(), static_cast<Eigen::Index>(k_), static_cast<Eigen::Index>(k_));
  h.selfadjointView<Eigen::Lower>().rankUpdate(xt);
  rows_ += kept;
}

std::vector<double> HessianAccumulator::hessian() const {
  std::vector<double> full(k_ * k_);
  for (std::size_t c = 0; c < k_; ++c) {
    for (std::size_t r = c; r < k_; ++r) {
      full[r * k_ + c] = lower_[c * k_ + r];
      full[c * k_ + r] = lower_[c * k_ + r];
    }
  }
  return full;
}

Int4Weights gptq_int4(const float* rows, int n, int k, const std::vector<double>& hessian, int group,
                      bool zero_point, const GptqOptions& options) {
  LOWP_CHECK(n >= 1 && k >= 1, "GPTQ: n = {} and k = {} must be at least 1", n, k);
  LOWP_CHECK(group >= 2 && group % 2 == 0, "GPTQ: group {} must be a positive even number", group);
  LOWP_CHECK(options.block >= group && options.block % group == 0,
             "GPTQ: block {} must be a multiple of the group {}", options.block, group);
  LOWP_CHECK(options.damp >= 0.0 && std::isfinite(options.damp), "GPTQ: damping {} must be >= 0", options.damp);
  const auto K = static_cast<Eigen::Index>(k), N = static_cast<Eigen::Index>(n);
  LOWP_CHECK(hessian.size() == static_cast<std::size_t>(k) * static_cast<std::size_t>(k),
             "GPTQ: the Hessian has {} values for K = {}", hessian.size(), k);

  MatrixD h = Eigen::Map<const RowMajorD>(hessian.data(), K, K);
  LOWP_CHECK(h.allFinite(), "GPTQ: the Hessian holds NaN or Inf (the layer's inputs overflowed on the calibration data)");
  // Weights as N x K column-major: a column is one input's weights for every output.
  MatrixF w = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(rows, N, K);
  for (Eigen::Index i = 0; i < K; ++i) {
    if (h(i, i) == 0.0) {  // an input that is always zero: its weights do not matter
      h(i, i) = 1.0;
      w.col(i).setZero();
    }
  }
  double damp = options.damp * h.diagonal().mean();
  h.diagonal().array() += damp;
  Eigen::LLT<MatrixD> llt(h);
  LOWP_CHECK(llt.info() == Eigen::Success,
             "GPTQ: the Hessian is not positive definite after damping {}; raise --damp", options.damp);
  MatrixD h_inv = llt.solve(MatrixD::Identity(K, K));
  Eigen::LLT<MatrixD> llt_inv(h_inv);
  LOWP_CHECK(llt_inv.info() == Eigen::Success,
             "GPTQ: the inverse Hessian is not positive definite after damping {}; raise --damp", options.damp);
  MatrixF u = MatrixD(llt_inv.matrixU()).cast<float>();

  Int4Weights out;
  out.n = n;
  out.k = k;
  out.group = group;
  out.has_zero_points = zero_point;
  out.u.resize(static_cast<std::size_t>(n) * static_cast<std::size_t>(k));
  const auto groups = static_cast<std::size_t>(out.groups());
  out.params.resize(static_cast<std::size_t>(n) * groups);

  const Eigen::Index block = options.block;
  MatrixF err(N, block);
  Eigen::VectorXf e(N);
  for (Eigen::Index i1 = 0; i1 < K; i1 += block) {
    const Eigen::Index i2 = std::min(i1 + block, K), count = i2 - i1;
    for (Eigen::Index i = 0; i < count; ++i) {
      const Eigen::Index c = i1 + i;
      const auto g = static_cast<std::size_t>(c / group);
      if (c % group == 0) {
        const Eigen::Index len = std::min<Eigen::Index>(group, K - c);
        for (Eigen::Index r = 0; r < N; ++r) {
          // The group's weights in row r: columns c .. c + len, N apart in column-major.
          out.params[static_cast<std::size_t>(r) * groups + g] =
              int4_group_params(&w(r, c), static_cast<std::size_t>(len), static_cast<std::size_t>(N), zero_point);
        }
      }
      const float d = u(c, c);
      for (Eigen::Index r = 0; r < N; ++r) {
        const Int4GroupParams& p = out.params[static_cast<std::size_t>(r) * groups + g];
        std::uint8_t q = int4_quantize(w(r, c), p);
        out.u[static_cast<std::size_t>(r) * static_cast<std::size_t>(k) + static_cast<std::size_t>(c)] = q;
        e(r) = (w(r, c) - int4_dequantize(q, p)) / d;
      }
      // Within the block: every later column j takes e x U(c, j).
      if (i + 1 < count) w.middleCols(c + 1, count - i - 1).noalias() -= e * u.row(c).segment(c + 1, count - i - 1);
      err.col(i) = e;
    }
    // The rest of the matrix, once per block.
    if (i2 < K) w.rightCols(K - i2).noalias() -= err.leftCols(count) * u.block(i1, i2, count, K - i2);
  }
  return out;
}

double relative_output_error(const float* rows, const Int4Weights& q, const std::vector<double>& hessian,
                             int max_rows) {
  const auto K = static_cast<Eigen::Index>(q.k);
  const int step = std::max(1, (q.n + max_rows - 1) / max_rows);
  std::vector<int> picked;
  for (int r = 0; r < q.n; r += step) picked.push_back(r);
  MatrixD w(static_cast<Eigen::Index>(picked.size()), K), d(static_cast<Eigen::Index>(picked.size()), K);
  for (std::size_t i = 0; i < picked.size(); ++i) {
    for (Eigen::Index c = 0; c < K; ++c) {
      double v = rows[static_cast<std::size_t>(picked[i]) * static_cast<std::size_t>(q.k) + static_cast<std::size_t>(c)];
      w(static_cast<Eigen::Index>(i), c) = v;
      d(static_cast<Eigen::Index>(i), c) = v - q.dequantized(picked[i], static_cast<int>(c));
    }
  }
  Eigen::Map<const RowMajorD> h(hessian.data(), K, K);
  double num = (d * h).cwiseProduct(d).sum();
  double den = (w * h).cwiseProduct(w).sum();
  return den > 0 ? num / den : 0.0;
}

}  // namespace lowp::quant
