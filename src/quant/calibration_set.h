// quant/calibration_set.h: the calibration samples of one model input, streamed in
// batches.
//
// `--calib FILE.npy` holds samples along axis 0 and is read a batch of `batch_rows` at a
// time (io/npy.h read_npy_rows); `--calib DIR` holds one .npy per batch (any number of
// rows each), read one at a time in name order. Either way one batch is in memory at
// once, whatever the size of the calibration set. Each batch
// is checked against the model input it feeds (float32, the input's rank, every fixed
// dimension but the batch) with an error that names the file and the rule. Rows holding
// NaN or Inf are left out and counted: one bad sample must not set a scale.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/npy.h"
#include "ir/graph.h"

namespace lowp::quant {

class CalibrationSet {
 public:
  // `spec` is "PATH" for a model with one float input, or "NAME=PATH". At most
  // `max_samples` rows are used (0: all).
  static CalibrationSet open(const std::string& spec, const ir::Graph& model,
                             std::size_t batch_rows = 32, std::size_t max_samples = 0);

  const std::string& input_name() const { return input_; }
  std::size_t batches() const { return batches_.size(); }
  // Batch i, non-finite rows removed (possibly zero rows left).
  Tensor batch(std::size_t i);
  // Rows dropped for NaN / Inf so far, and rows used, over the batches read.
  std::size_t non_finite_rows() const { return non_finite_rows_; }
  std::size_t rows() const { return rows_; }
  std::string description() const;

 private:
  struct BatchRef {
    std::filesystem::path file;
    std::size_t first = 0, count = 0;  // rows of `file`; count 0: all of it
  };
  Tensor load_checked(const std::filesystem::path& file);
  void check(const std::filesystem::path& file, DType dtype, const Shape& shape) const;
  Tensor drop_non_finite(Tensor batch);

  std::string input_;
  ir::TensorType input_type_;
  std::vector<BatchRef> batches_;
  std::optional<NpyHeader> header_;  // the single-file form
  std::size_t non_finite_rows_ = 0, rows_ = 0;
  std::vector<bool> counted_;
  std::filesystem::path source_;
};

}  // namespace lowp::quant
