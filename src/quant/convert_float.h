// quant/convert_float.h: fp16 and bf16 models.
//
// fp16: weights AND activations become float16 (a graph ONNX Runtime runs as such), the
// graph's inputs and outputs keep float32 behind one Cast each. Given calibration data, an
// overflow analysis first runs the float model and keeps in fp32 every node whose output
// reaches half of fp16's largest value (65504 / 2: a margin for inputs the calibration set
// did not show), or whose weights would not fit; Casts join the fp32 and fp16 regions.
// Without data, only the weights are checked, and the report says so.
//
// bf16: ONNX gives Conv, MaxPool and most element-wise ops no bfloat16 type, so a bf16
// model stores the weights of Conv, Gemm and MatMul as bf16 behind a Cast to float (the
// activations stay fp32 in the file). lowp runs those layers on its bf16 kernels, with the
// activations rounded to bf16 as the layers read them (passes/lower_float16.cc); other
// runtimes fold the Cast and compute in fp32. bf16 has fp32's range: nothing overflows.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "ir/graph.h"
#include "quant/calibration_set.h"
#include "quant/model_runner.h"
#include "quant/quantize_report.h"

namespace lowp::quant {

inline constexpr float kFp16OverflowLimit = 65504.0f / 2;

struct FloatOptions {
  std::set<std::string> exclude;  // node names kept in fp32
};

// `model` prepared (quant/prepare.h); `data` may be null (no activation analysis).
std::unique_ptr<ir::Graph> convert_to_fp16(const ir::Graph& model, CalibrationSet* data,
                                           const ModelBackend& backend, const FloatOptions& options,
                                           QuantizeReport& report);
std::unique_ptr<ir::Graph> convert_to_bf16(const ir::Graph& model, const FloatOptions& options,
                                           QuantizeReport& report);

}  // namespace lowp::quant
