// reduce/low_rank_timing.h: is a factorized layer faster? Measured, not modelled.
//
// `lowp compress --lowrank` keeps a factorization only where it saves time, and whether it
// does depends on things a FLOP count does not see: at batch 1 a dense layer is a matrix-
// vector product bound by memory bandwidth (and by which cache level the weights fit in),
// lowp's GEMM pads outputs to panels of 16, and two calls cost two call overheads and an
// intermediate write. So both forms are timed on the very kernels the runtime runs Gemm,
// MatMul and 1x1 Conv on: the packed fp32 GEMM (kernels/gemm/gemm.h), C = A W against
// C = (A W1) W2, at the model's row count.
//
// Timing: a warm-up call of each form sizes a block of calls to ~2 ms; then rounds
// alternate one block of each form, so a disturbance of the shared machine hits both, and
// each form's time is the median over rounds of the block time per call. The weights stay
// warm in cache between calls, as the same layer's would not be in a whole model whose
// weights exceed the cache; the smaller factorized weights gain from that less often than
// the dense ones, so this errs towards keeping the dense layer.
#pragma once

#include "base/thread_pool.h"

namespace lowp {

struct LowRankTiming {
  double dense_us = 0.0;     // one call of [rows, k] x [k, n]
  double factored_us = 0.0;  // [rows, k] x [k, rank], then [rows, rank] x [rank, n]
  double speedup() const { return factored_us > 0.0 ? dense_us / factored_us : 0.0; }
};

struct LowRankTimingOptions {
  int rounds = 9;
  double block_seconds = 0.002;
};

// Sizes must be at least 1 (else lowp::Error). The weights are deterministic pseudo-random
// values: the kernels' speed does not depend on them (no subnormals are produced).
LowRankTiming time_low_rank(int rows, int k, int n, int rank, ThreadPool* pool = nullptr,
                            const LowRankTimingOptions& options = {});

}  // namespace lowp
