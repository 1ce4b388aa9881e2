// tools/lowp/seed_workflow.h: the seed workflow behind `lowp demo`, end to end on
// Fashion-MNIST: PCA 784 -> 100, SimpleNet trained with Adam, then the trained network
// compiled to fp32, fp16, bf16, int8 and int4 and each measured (accuracy on the 10,000
// test images, batch-1 latency, batch-256 throughput, bytes).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/precision.h"

namespace lowp::cli {

struct SeedOptions {
  std::filesystem::path data_dir;  // Fashion-MNIST's four .gz files
  int epochs = 10;
  int threads = 1;  // for PCA fitting aside, used by training and throughput
  int components = 100;
  int hidden = 50;
  int calibration_samples = 1000;
  std::uint64_t seed = 42;
  std::vector<Precision> precisions = {std::begin(kAllPrecisions), std::end(kAllPrecisions)};
};

struct PrecisionRow {
  Precision precision;
  double accuracy = 0.0;
  double latency_us_b1 = 0.0;
  double throughput_sps = 0.0;  // batch 256
  std::size_t weight_bytes = 0;
  std::size_t packed_bytes = 0;
  std::vector<std::string> kernels;
};

struct SeedReport {
  int train_rows = 0, test_rows = 0, input_dim = 0;
  int components = 0;
  double explained_variance = 0.0;
  double pca_fit_seconds = 0.0;
  double pca_latency_us_b1 = 0.0;
  double pca_throughput_sps = 0.0;
  double train_seconds = 0.0;
  int epochs = 0;
  int threads = 1;
  std::string isa;
  std::vector<PrecisionRow> rows;
};

// progress receives one line per step (loading, PCA, each epoch, each precision).
SeedReport run_seed_workflow(const SeedOptions& options,
                             const std::function<void(const std::string&)>& progress);

}  // namespace lowp::cli
