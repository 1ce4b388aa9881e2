// tools/lowp/precision_plan.h: `lowp inspect MODEL.onnx --precision P`: before quantizing,
// which nodes would run in low-precision kernels, how many conversions (QuantizeLinear,
// DequantizeLinear, casts) the plan needs, and the speed-up predicted by timing lowp's own
// fp32 and low-precision kernels on each such node's shapes.
//
// It is a prediction, not a run: the kernels are timed alone, on random data of the node's
// shapes, for a few milliseconds each; element-wise ops, pools, layout transposes and the
// traffic between ops are left out (they are the same in both columns or close to it, and
// the report says so). `lowp bench` of the quantized model is the measurement.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace lowp::cli {

struct PrecisionPlanOptions {
  std::string precision;                       // int8, int8-dynamic, fp16, bf16, int4
  std::map<std::string, std::int64_t> dims;    // symbolic input dims (default 1)
  double min_seconds = 0.002;                  // per timing repeat (5 repeats, median)
  int threads = 1;
};

struct NodePlan {
  std::string node, op_type, shape;  // shape: "m x n x k" or the convolution's
  bool low = false;                  // runs in a low-precision kernel
  std::string reason;                // why not, or what runs
  std::string fp32_kernel, low_kernel;
  double fp32_seconds = 0, low_seconds = 0;  // low_seconds = fp32_seconds when !low
};

struct PrecisionPlan {
  std::string precision;
  std::vector<NodePlan> nodes;        // the Conv / Gemm / MatMul nodes, in model order
  std::size_t quantize_ops = 0, dequantize_ops = 0, casts = 0;
  double conversion_seconds = 0;      // the timed Q / DQ / casts, summed
  std::size_t other_nodes = 0;        // nodes not timed (element-wise, pools, ...)
  double fp32_seconds = 0, low_seconds = 0;  // sums; low includes conversions
};

// Throws lowp::Error for an unknown precision or a model whose shapes cannot be inferred.
PrecisionPlan plan_precision(const std::filesystem::path& model, const PrecisionPlanOptions& options);

void print_precision_plan(const std::filesystem::path& model, const PrecisionPlan& plan,
                          const PrecisionPlanOptions& options);

}  // namespace lowp::cli
