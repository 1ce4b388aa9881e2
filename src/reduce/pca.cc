// reduce/pca.cc
#include "reduce/pca.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace lowp {

Pca fit_pca(const float* x, std::size_t rows, int dim, int components) {
  LOWP_CHECK(rows >= 2, "pca: needs at least 2 rows, got {}", rows);
  LOWP_CHECK(dim >= 1, "pca: input dimension {} must be at least 1", dim);
  LOWP_CHECK(components >= 1 && components <= dim,
             "pca: {} components requested from {} input dimensions", components, dim);
  const std::size_t d = static_cast<std::size_t>(dim);

  // Mean in double.
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(dim);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t j = 0; j < d; ++j) {
      float v = x[r * d + j];
      LOWP_CHECK(std::isfinite(v), "pca: row {} column {} is {}", r, j, v);
      mean[static_cast<Eigen::Index>(j)] += v;
    }
  }
  mean /= static_cast<double>(rows);

  // Covariance: centred chunks of rows in fp32 (Eigen's fast symmetric rank-k update), each
  // chunk's product summed into a double matrix so 60,000 rows lose nothing to rounding.
  constexpr std::size_t kChunk = 2048;
  Eigen::MatrixXd covariance = Eigen::MatrixXd::Zero(dim, dim);
  Eigen::VectorXf mean_f = mean.cast<float>();
  Eigen::MatrixXf chunk(dim, static_cast<Eigen::Index>(kChunk));
  Eigen::MatrixXf partial(dim, dim);
  for (std::size_t start = 0; start < rows; start += kChunk) {
    std::size_t count = std::min(kChunk, rows - start);
    Eigen::Map<const Eigen::MatrixXf> block(x + start * d, dim, static_cast<Eigen::Index>(count));
    auto centred = chunk.leftCols(static_cast<Eigen::Index>(count));
    centred = block.colwise() - mean_f;
    partial.setZero();
    partial.selfadjointView<Eigen::Lower>().rankUpdate(centred);
    covariance += partial.cast<double>();
  }
  covariance = covariance.selfadjointView<Eigen::Lower>();
  covariance /= static_cast<double>(rows - 1);

  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(covariance);
  LOWP_CHECK(solver.info() == Eigen::Success, "pca: the eigensolver did not converge");
  // Eigen returns ascending eigenvalues; lowp keeps them largest first.
  Pca pca;
  pca.input_dim = dim;
  pca.components = components;
  pca.mean.assign(mean.data(), mean.data() + dim);
  double total = 0.0, kept = 0.0;
  for (int i = 0; i < dim; ++i) {
    double value = std::max(0.0, solver.eigenvalues()[dim - 1 - i]);  // clamp rounding noise
    pca.eigenvalues.push_back(value);
    total += value;
    if (i < components) kept += value;
  }
  pca.explained_variance_ratio = total > 0.0 ? kept / total : 0.0;
  pca.basis.resize(static_cast<std::size_t>(components) * d);
  for (int c = 0; c < components; ++c) {
    Eigen::VectorXd v = solver.eigenvectors().col(dim - 1 - c);
    Eigen::Index largest = 0;
    v.cwiseAbs().maxCoeff(&largest);
    if (v[largest] < 0) v = -v;
    for (std::size_t j = 0; j < d; ++j) {
      pca.basis[static_cast<std::size_t>(c) * d + j] =
          static_cast<float>(v[static_cast<Eigen::Index>(j)]);
    }
  }
  return pca;
}

PcaProjection::PcaProjection(const Pca& pca)
    : weights_(pack_gemm_f32(pca.basis.data(), pca.components, pca.input_dim)),
      bias_(static_cast<std::size_t>(pca.components)) {
  for (int c = 0; c < pca.components; ++c) {
    double dot = 0.0;
    for (int j = 0; j < pca.input_dim; ++j) {
      dot += static_cast<double>(pca.basis[static_cast<std::size_t>(c) * pca.input_dim + j]) *
             pca.mean[static_cast<std::size_t>(j)];
    }
    bias_[static_cast<std::size_t>(c)] = static_cast<float>(-dot);
  }
}

void PcaProjection::apply(const float* x, std::size_t rows, float* out, ThreadPool* pool) const {
  GemmArgs args;
  args.m = static_cast<int>(rows);
  args.a = x;
  args.lda = static_cast<std::size_t>(weights_.k);
  args.w = &weights_;
  args.bias = bias_.data();
  args.c = out;
  args.ldc = static_cast<std::size_t>(weights_.n);
  gemm(args, pool);
}

}  // namespace lowp
