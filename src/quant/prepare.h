// quant/prepare.h: the float graph every quantizer starts from: identities removed,
// constants folded, BatchNormalization folded into the Conv / Gemm before it, types
// inferred. Only standard ONNX ops remain (no lowp fusions), so the quantized model is
// plain ONNX, and calibration observes the very tensors that get quantized.
#pragma once

#include <memory>

#include "ir/graph.h"
#include "quant/model_runner.h"

namespace lowp::quant {

std::unique_ptr<ir::Graph> prepare_for_quantization(const ir::Graph& model, const ModelBackend& backend);

}  // namespace lowp::quant
