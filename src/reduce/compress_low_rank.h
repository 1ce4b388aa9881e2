// reduce/compress_low_rank.h: `lowp compress --lowrank`: dense layers of an ONNX graph
// split into two thinner ones by truncated SVD (reduce/low_rank.h), where that is faster.
//
// Layers considered, with W [K, N] the map from K inputs to N outputs:
//   Gemm     B a float32 constant, any transA / transB / alpha / beta, any C
//            -> Gemm(A, W1; transA, transB) -> Gemm(., alpha W2, beta C; transB)
//            (beta stays an attribute when C is not a constant; beta 0 drops C)
//   MatMul   B a float32 constant [K, N]            -> MatMul(A, W1) -> MatMul(., W2)
//   Conv     kernel 1 x 1 (every spatial dim 1), group 1
//            -> Conv(X, W1; strides, pads, auto_pad) -> Conv(., W2, B; 1 x 1, stride 1)
// The factors are stored in the layout of the op they replace (Gemm keeps its transB; a
// Conv's weights are [out, in, 1, 1]), the bias stays on the second node, and that node
// keeps the original output, so consumers are untouched and the result is standard ONNX.
// Moving a 1 x 1 Conv's stride and padding to the first node is exact: both convolutions
// are pointwise, and a padded position is 0 through the first (it has no bias) and gets the
// bias from the second, as in the original.
//
// Decisions, per layer, in order: excluded by name -> kept; not one of the forms above ->
// kept (the reason says what is missing); NaN or Inf weights -> lowp::Error naming the node
// and tensor; the rank from the spec; r (K + N) >= K N -> kept (no fewer parameters); then
// both forms are timed (reduce/low_rank_timing.h) at rows = batch x the per-sample rows of
// the layer (a MatMul's middle dims, a Conv's output pixels; unknown dims count as 1), and
// the factorization is kept only when dense / factored >= min_speedup. min_speedup 0 times
// nothing and keeps every factorization with fewer parameters (for size, not speed).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "reduce/low_rank.h"
#include "reduce/low_rank_timing.h"

namespace lowp {

struct LowRankLayerReport {
  std::string node;  // the node's label
  std::string op_type;
  std::int64_t k = 0, n = 0;  // inputs, outputs (0 when the node is not a dense layer)
  std::int64_t rows = 0;      // GEMM rows the layer was timed at
  int rank = 0;               // chosen rank (0 when none was chosen)
  double energy_kept = -1.0;  // fraction of ||W||_F^2 kept; < 0 when no SVD ran
  std::int64_t params_before = 0, params_after = 0;  // weights and constant bias
  double dense_us = 0.0, factored_us = 0.0;          // 0 when not timed
  bool factorized = false;
  std::string reason;
};

struct LowRankReport {
  std::vector<LowRankLayerReport> layers;
  // Elements of every float32 constant the model's nodes read.
  std::int64_t params_before = 0, params_after = 0;
  int factorized() const;
};

// Times one layer both ways: (rows, k, n, rank).
using LowRankTimer = std::function<LowRankTiming(int rows, int k, int n, int rank)>;

struct LowRankOptions {
  RankSpec spec;
  int batch = 1;             // the model's batch size at inference
  double min_speedup = 1.1;  // keep a factorization only when at least this much faster; 0: untimed
  std::set<std::string> exclude;  // node names left as they are
  LowRankTimer timer;             // empty: time_low_rank on the calling thread
};

// A factorized copy of `model` (whose types must be inferred; the input is not changed).
// Throws lowp::Error for a batch below 1, a min_speedup that is negative or not finite,
// an excluded name the model does not have, and NaN / Inf weights in a layer considered.
std::unique_ptr<ir::Graph> compress_low_rank(const ir::Graph& model, const LowRankOptions& options,
                                             LowRankReport& report);

}  // namespace lowp
