// tools/lowp/gemm_bench.h: `lowp bench gemm`: times one dense-layer kernel on one shape and
// reports GFLOP/s (GOP/s for integers), the effective bandwidth of the weights and the
// kernel that ran. With `cold`, it cycles through enough copies of the weights that they
// cannot stay in the last-level cache, which is how a model bigger than the cache runs.
#pragma once

#include <string>

#include "core/precision.h"

namespace lowp::cli {

struct GemmBenchOptions {
  int m = 1, n = 4096, k = 4096;
  Precision dtype = Precision::fp32;
  int group = 32;             // int4
  bool int8_dynamic = false;  // int8: fp32 activations quantized per row inside each call
  bool weights_only = false;  // fp16/bf16/int4: low-precision weights, fp32 activations
  int threads = 1;
  bool cold = false;
  double min_seconds = 0.3;  // per repeat; 5 repeats, the median is reported
};

struct GemmBenchResult {
  std::string kernel;
  double seconds_per_call = 0.0;
  double gflops = 0.0;               // 2 m n k / time (GOP/s for int8)
  double weight_gbytes_per_s = 0.0;  // stored weight bytes / time
  std::size_t weight_bytes = 0;
  int copies = 1;  // weight copies cycled (cold)
};

GemmBenchResult run_gemm_bench(const GemmBenchOptions& options);

}  // namespace lowp::cli
