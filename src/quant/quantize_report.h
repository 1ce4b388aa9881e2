// quant/quantize_report.h: what a quantizer did, node by node, for the CLI's report.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace lowp::quant {

struct NodeDecision {
  std::string node;       // the node's name in the input model
  std::string op_type;
  std::string precision;  // "int8", "int4", "fp16", "bf16", "fp32"
  std::string reason;     // why it kept fp32, or a detail ("per-channel, 32 scales")
};

struct QuantizeReport {
  std::vector<NodeDecision> nodes;
  std::vector<std::string> warnings;  // non-finite calibration values, clipped tensors...
  std::size_t calibration_rows = 0;
  std::size_t dropped_rows = 0;  // calibration rows with NaN or Inf, left out
  std::size_t quantized_tensors = 0;  // activations given a Q/DQ pair
};

}  // namespace lowp::quant
