// quant/quantize_int4.h: int4 weight-only quantization into com.microsoft MatMulNBits,
// the op ONNX Runtime runs and lowp runs on its int4 kernels (runtime/ops/quant.cc).
//
// MatMul by a constant 2-D weight and Gemm (no transA / alpha / beta, bias of N values)
// become MatMulNBits(X, B, scales [, zero_points] [, bias]) with bits 4, block_size =
// group (32, 64 or 128) along K, and the accuracy_level asked for (4: activations quantized
// to int8 per row at run time, lowp's q4dot path and ONNX Runtime's fastest; 0: fp32
// activations). Weights are group-wise int4 (quant/int4_weights.h), rounded to nearest or
// by GPTQ (quant/gptq.h), which needs calibration data: the Hessian of each layer comes
// from its inputs over the calibration set, with the layers before it already quantized
// (the sequential form of the paper), one layer's K x K matrix in memory at a time.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "ir/graph.h"
#include "quant/calibrate.h"
#include "quant/gptq.h"
#include "quant/quantize_report.h"

namespace lowp::quant {

enum class Int4Algorithm { rtn, gptq };

struct Int4Options {
  int group = 32;  // 32, 64 or 128
  Int4Algorithm algorithm = Int4Algorithm::rtn;
  bool zero_point = false;  // asymmetric groups with a stored zero point
  int accuracy_level = 4;   // MatMulNBits' accuracy_level: 0 or 4 (int8 activations)
  GptqOptions gptq;
  std::set<std::string> op_types = {"Gemm", "MatMul"};
  std::set<std::string> exclude;
};

// `model` must already be prepared (quant/prepare.h). GPTQ needs `data` and `backend`
// (else a lowp::Error); round-to-nearest ignores them. Throws lowp::Error naming the node
// on NaN / Inf weights and on options out of range. progress(layer, layers) for GPTQ.
std::unique_ptr<ir::Graph> quantize_int4(const ir::Graph& model, const Int4Options& options, QuantizeReport& report,
                                         CalibrationSet* data = nullptr, const ModelBackend* backend = nullptr,
                                         const std::function<void(std::size_t, std::size_t)>& progress = {});

}  // namespace lowp::quant
