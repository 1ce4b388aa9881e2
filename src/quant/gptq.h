// quant/gptq.h: GPTQ (Frantar et al., 2022) for 4-bit group-wise weights: quantize one
// input column at a time and spread its rounding error over the columns not yet quantized,
// weighted by the inverse Hessian of the layer's squared output error on calibration data,
// so that ||W X - Q X||^2 (not ||W - Q||^2, what round-to-nearest minimizes) stays small.
//
//   H     = sum over calibration rows x of x x^T             (K x K; its scale does not matter)
//   H    += damp x mean(diag H) x I, dead inputs (H_ii = 0) get H_ii = 1 and zero weights
//   U     = upper Cholesky factor of H^-1 (H^-1 = U^T U)
//   for each column c, in blocks of 128 (lazy updates, as the paper):
//     at a group's first column: its scale and zero point from the weights as updated so far
//     q_c   = dequant(quant(w_c));  e = (w_c - q_c) / U_cc
//     w_j  -= e U_cj for every later column j
// The group parameters follow quant/int4_weights.h, so the result is an Int4Weights that
// MatMulNBits stores as round-to-nearest's is. Linear algebra is Eigen's (Cholesky, solves,
// block products), in double for the factorizations and float for the updates, single
// threaded: the result does not depend on the machine's thread count.
#pragma once

#include <cstddef>
#include <vector>

#include "quant/int4_weights.h"

namespace lowp::quant {

// Sums x x^T over rows of K floats (a layer's inputs), in double. Rows with NaN or Inf are
// skipped and counted.
class HessianAccumulator {
 public:
  explicit HessianAccumulator(std::size_t k);
  void add(const float* rows, std::size_t count);
  std::size_t k() const { return k_; }
  std::size_t rows() const { return rows_; }
  std::size_t skipped() const { return skipped_; }
  // The full symmetric K x K matrix, row-major.
  std::vector<double> hessian() const;

 private:
  std::size_t k_, rows_ = 0, skipped_ = 0;
  std::vector<double> lower_;  // column-major K x K, lower triangle valid
  std::vector<double> batch_;  // rows as doubles, reused
};

struct GptqOptions {
  double damp = 0.01;  // fraction of the mean diagonal added to it
  int block = 128;     // columns per lazy update; a multiple of the group
};

// rows: [n][k] weights; hessian: K x K row-major (HessianAccumulator::hessian()). Throws
// lowp::Error when H stays not positive definite after damping (raise the damping).
Int4Weights gptq_int4(const float* rows, int n, int k, const std::vector<double>& hessian, int group,
                      bool zero_point, const GptqOptions& options = {});

// tr((W - Q) H (W - Q)^T) / tr(W H W^T): the layer's squared output error on the calibration
// rows relative to its output's energy, over at most `max_rows` output rows evenly spaced.
double relative_output_error(const float* rows, const Int4Weights& q, const std::vector<double>& hessian,
                             int max_rows = 256);

}  // namespace lowp::quant
