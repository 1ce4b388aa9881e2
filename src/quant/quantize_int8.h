// quant/quantize_int8.h: static int8 post-training quantization into a QDQ model.
//
// Conv, Gemm and MatMul with constant weights are quantized: their weights to s8,
// symmetric, per output channel (or per tensor), their bias to int32 in the scale
// x_scale * w_scale, and their activation inputs and outputs to u8 asymmetric (or s8
// symmetric) with ranges from calibration (quant/calibrate.h). Each quantized activation
// gets one QuantizeLinear -> DequantizeLinear pair that all its readers share; a layer's
// output is taken after a ReLU that alone reads it (Q then saturates exactly as ReLU
// would). An input reached through MaxPool / Reshape / Flatten / Transpose / Squeeze /
// Unsqueeze shares the parameters of the tensor before them, so the pairs on both sides
// cancel and those ops run on 8-bit data (in lowp, passes/lower_qdq.cc; in ONNX Runtime,
// its QDQ fusions). Graph inputs and outputs keep their float types.
//
// Weights are s8 in [-127, 127]: lowp's int8 GEMM widens to 16 bits before adding pairs
// (kernels/qgemm/qgemm.h), so the full range could not saturate there, and the symmetric
// range keeps -128 out for kernels that add pairs in 16 bits (vpmaddubsw).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "quant/calibrate.h"
#include "quant/quantize_report.h"

namespace lowp::quant {

struct Int8Options {
  CalibrationOptions calibration;
  bool per_channel = true;
  bool symmetric_activations = false;  // s8 with zero point 0 instead of u8 asymmetric
  std::set<std::string> op_types = {"Conv", "Gemm", "MatMul"};
  std::set<std::string> exclude;  // node names kept in fp32
  // A convolution whose GEMM depth (input channels per group x kernel area) is below this
  // stays fp32: with so few products per output the int8 path's gather and requantizing
  // epilogue cost more than the products save (the Fashion-MNIST CNN's 1-channel 3x3
  // stem, K = 9: 29 us in int8, 24 us in fp32, batch 1, `lowp tune`). Depthwise
  // convolutions have their own int8 kernel and are not affected. 0 quantizes every one.
  int min_conv_depth = 16;
};

// What quantize_int8_with would quantize in `model` under `options`, without calibrating:
// the names of the Conv / Gemm / MatMul nodes whose weights become int8, and each
// activation tensor that gets a QuantizeLinear -> DequantizeLinear pair, with the tensor
// whose range it takes (its root: itself, or the tensor before the MaxPool / Flatten /
// Reshape... it is read through). Quantization-aware training (train/fake_quant.h) puts its
// fake quantization exactly where these pairs will be.
struct Int8Plan {
  std::vector<std::string> layers;
  std::vector<std::pair<std::string, std::string>> tensors;  // (tensor, root), in order
  std::vector<NodeDecision> decisions;  // every Conv / Gemm / MatMul: int8, or fp32 and why
};
Int8Plan plan_int8(const ir::Graph& model, const Int8Options& options);

// `model` must already be prepared (quant/prepare.h). Throws lowp::Error naming the node
// on weights with NaN or Inf.
std::unique_ptr<ir::Graph> quantize_int8_static(const ir::Graph& model, CalibrationSet& data,
                                                const ModelBackend& backend, const Int8Options& options,
                                                QuantizeReport& report,
                                                const CalibrationProgress& progress = {});

// The two halves of quantize_int8_static, for searches that try many layer selections
// (quant/tune.h): the ranges of every tensor any selection could quantize (one
// calibration), then a model for one selection (`options.exclude`) from those ranges.
std::map<std::string, TensorStats> calibrate_int8(const ir::Graph& model, CalibrationSet& data,
                                                  const ModelBackend& backend, const Int8Options& options,
                                                  const CalibrationProgress& progress = {});
std::unique_ptr<ir::Graph> quantize_int8_with(const ir::Graph& model, const std::map<std::string, TensorStats>& stats,
                                              const Int8Options& options, QuantizeReport& report);

}  // namespace lowp::quant
