// quant/tune.h: per-layer precision search against an accuracy budget (`lowp tune`).
//
// Users of other toolkits complain that an accuracy-driven search gives up and returns
// nothing, or returns a model slower than plain int8. This one:
//   1. measures the fp32 model (accuracy on the evaluation set, batch-1 latency on this
//      machine), calibrates every int8 candidate tensor once;
//   2. measures each layer's sensitivity: the accuracy drop with that layer alone in int8
//      (on the first `sensitivity_samples` evaluation rows);
//   3. starts from all layers in int8; while the drop exceeds the budget, moves the most
//      sensitive int8 layer left to bf16 (or fp32);
//   4. then, while time remains, tries each int8 layer in bf16 / fp32 and keeps a change
//      that is measurably faster (latency is measured, not predicted: an int8 layer with a
//      tiny K can be slower than fp32) and still within budget;
//   5. reports every model measured and the Pareto set (accuracy, latency, size), and
//      returns the fastest model within the budget, or, when none is, the most accurate
//      one with met_budget false: never nothing.
// Each step checks the time limit; what was measured before it is kept.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"
#include "quant/calibration_set.h"
#include "quant/model_runner.h"
#include "quant/quantize_int8.h"

namespace lowp::quant {

struct TuneOptions {
  double max_drop = 0.5;          // accuracy points (percent)
  double time_limit_seconds = 600;
  std::vector<std::string> fallbacks = {"bf16", "fp32"};  // tried in this order for a layer leaving int8
  std::size_t sensitivity_samples = 2000;
  std::size_t eval_batch = 256;
  Int8Options int8;
};

struct TuneCandidate {
  std::string label;                           // "all int8", "int8, /0/Conv bf16", ...
  std::map<std::string, std::string> layers;   // node name -> int8 / bf16 / fp32
  double accuracy = 0;                         // on the whole evaluation set
  double latency_us = 0;                       // batch 1, median
  std::size_t weight_bytes = 0;
  bool within_budget = false;
  bool pareto = false;
};

struct LayerSensitivity {
  std::string node, op_type;
  double drop = 0;  // points, on the sensitivity subset
};

struct TuneResult {
  double fp32_accuracy = 0, fp32_latency_us = 0;
  std::size_t fp32_weight_bytes = 0;
  std::vector<LayerSensitivity> sensitivity;  // worst first
  std::vector<TuneCandidate> candidates;      // every model measured, in order
  int best = -1;                              // index into candidates
  bool met_budget = false;
  bool timed_out = false;
  std::unique_ptr<ir::Graph> best_model;
};

using TuneProgress = std::function<void(const std::string& line)>;

// `model` prepared (quant/prepare.h); `labels` int64/int32/uint8 of eval_x's first dim;
// the model's first output is read as logits [rows, classes].
TuneResult tune(const ir::Graph& model, CalibrationSet& calibration, const Tensor& eval_x, const Tensor& labels,
                const ModelBackend& backend, const TuneOptions& options, const TuneProgress& progress = {});

}  // namespace lowp::quant
