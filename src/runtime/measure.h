// runtime/measure.h: how lowp times inference for its reports (never used by tests).
//
// Latency at batch 1 is far below a microsecond for small networks, close to the clock's
// own cost, so calls are timed in blocks: each block runs `calls_per_block` single-row
// inferences on consecutive samples, the block time divided by the calls is one sample of
// per-call latency, and the median over blocks is reported (robust to the other tenants of
// a shared machine). Throughput runs the whole set repeatedly for at least `min_seconds`
// per repeat and reports the median of the repeats.
#pragma once

#include <cstddef>
#include <functional>

namespace lowp {

struct LatencyOptions {
  int blocks = 51;
  int calls_per_block = 200;
  int warmup_calls = 200;
};

// run_one(i) performs one inference on sample i (the caller wraps i around its data).
// Returns the median microseconds per call.
double median_latency_us(const std::function<void(std::size_t)>& run_one,
                         const LatencyOptions& options = {});

// run_all() processes `rows` samples once. Returns samples per second (median of repeats).
double throughput_samples_per_second(const std::function<void()>& run_all, std::size_t rows,
                                     double min_seconds = 0.2, int repeats = 5);

}  // namespace lowp
