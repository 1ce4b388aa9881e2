// tools/lowp/model_bench.h: `lowp bench MODEL.onnx`: load time, latency (median, p90),
// throughput and peak memory of one model, timed the way bench/ort_bench.py times ONNX
// Runtime so the two can be compared line for line.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lowp::cli {

struct ModelBenchOptions {
  std::string model;
  int threads = 1;
  std::int64_t batch = 1;
  std::vector<std::string> dims;  // NAME=VALUE beyond batch
  double min_seconds = 1.0;
  bool json = false;
};

int run_model_bench(const ModelBenchOptions& options);

}  // namespace lowp::cli
