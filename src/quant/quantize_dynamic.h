// quant/quantize_dynamic.h: int8 dynamic quantization (weights int8 once, activations
// quantized at run time), for transformers and MLPs, where calibrating activation ranges
// buys little and costs a data set.
//
// MatMul and Gemm with constant 2-D float weights are rewritten into standard ONNX, the
// form ONNX Runtime's own quantize_dynamic writes (so its fusions and lowp's
// passes/lower_dynamic_quant.cc both recognize it):
//
//   x_q, x_scale, x_zp = DynamicQuantizeLinear(X)           (u8, per tensor, at run time)
//   scale              = Mul(x_scale, W_scale)              (W_scale: [N] or a scalar)
//   acc                = MatMulInteger(x_q, W_q, x_zp, W_zp) (int32, exact)
//   Y                  = Mul(Cast<float>(acc), scale)       [-> Add(Y, bias) for Gemm's C]
//
// Weights are s8, symmetric (zero point 0), per output channel (or per tensor) in
// [-127, 127], rounded by the one quantize rule (kernels/quantize). A MatMul's own bias Add
// stays as it was. One DynamicQuantizeLinear serves every layer reading the same X.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "ir/graph.h"
#include "quant/quantize_report.h"

namespace lowp::quant {

struct DynamicOptions {
  bool per_channel = true;
  std::set<std::string> op_types = {"Gemm", "MatMul"};
  std::set<std::string> exclude;  // node names kept in fp32
};

// `model` must already be prepared (quant/prepare.h). Throws lowp::Error naming the node
// on weights with NaN or Inf.
std::unique_ptr<ir::Graph> quantize_int8_dynamic(const ir::Graph& model, const DynamicOptions& options,
                                                 QuantizeReport& report);

}  // namespace lowp::quant
