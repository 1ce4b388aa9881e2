// reduce/pca.h: principal component analysis, the first way lowp reduces dimensions.
//
// fit_pca estimates the mean and covariance of the training rows and takes the top
// eigenvectors of the covariance from Eigen's SelfAdjointEigenSolver (the eigensolver is
// not ours to write). The projection (x - mean) * basis^T is exactly a dense layer with
// weights `basis` and bias -basis * mean, so it runs on lowp's fp32 GEMM kernels.
#pragma once

#include <cstddef>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/gemm/gemm.h"

namespace lowp {

struct Pca {
  int input_dim = 0;
  int components = 0;
  std::vector<float> mean;                // [input_dim]
  std::vector<float> basis;               // [components][input_dim], orthonormal rows
  std::vector<double> eigenvalues;        // all input_dim variances, largest first
  double explained_variance_ratio = 0.0;  // sum of the kept eigenvalues / total variance
};

// x: [rows][dim] row-major. Each basis vector's sign is fixed so that its largest-magnitude
// entry is positive, making the result deterministic. Throws lowp::Error when rows < 2,
// components is not in [1, dim], or the data holds NaN or Inf.
Pca fit_pca(const float* x, std::size_t rows, int dim, int components);

// The projection as a packed dense layer (weights and bias) for repeated use.
class PcaProjection {
 public:
  explicit PcaProjection(const Pca& pca);
  // out: [rows][components].
  void apply(const float* x, std::size_t rows, float* out, ThreadPool* pool = nullptr) const;
  int components() const { return weights_.n; }

 private:
  PackedGemmWeights weights_;
  std::vector<float> bias_;
};

}  // namespace lowp
