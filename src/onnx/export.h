// onnx/export.h: lowp IR graph -> ONNX model file (the inverse of onnx/import.h).
//
// The file is plain ONNX that ONNX Runtime and other tools load: ai.onnx at the IR's opset
// (ir::kIrOpset) plus every other domain a node uses (com.microsoft, at the version the
// model was imported with, else 1), never lowp's own. lowp's fused ops are written back as the standard ops they stand for:
//   lowp::FusedConv(X, W, B)  -> Conv(X, W, B) -> activation
//   lowp::FusedGemm(X, W, B)  -> MatMul(X, W) -> Add(., B) -> activation
//   lowp::NhwcConv / NhwcMaxPool / NhwcAveragePool / NhwcGlobalAveragePool (NHWC in and
//                                out) -> Transpose to NCHW -> the ONNX op -> Transpose back
// where the activation ("activation" attribute; "clip" takes "activation_min" /
// "activation_max") becomes Relu, Clip, Sigmoid, HardSwish, Gelu, Tanh, or Sigmoid and Mul
// for SiLU. Inputs, outputs and every typed intermediate value carry their types (named
// dims as dim_param); constants that a node or a graph output uses become initializers.
//
// Large initializers go to one external data file next to the model, "<model file
// name>.data", each at a 64-byte aligned offset (so it can be mapped and read aligned).
// Both files are written atomically (io/atomic_file.h), the data file first, so the model
// never names data that is not there.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "ir/graph.h"

namespace lowp::onnx_io {

struct ExportOptions {
  // Initializers of at least this many bytes go to the external data file; 0 keeps every
  // tensor inside the model (protobuf then caps the model at 2 GiB).
  std::size_t external_threshold_bytes = std::size_t{1} << 20;
  // Written into ModelProto.producer_name.
  std::string producer = "lowp";
};

// The ONNX IR version written: 10, the first with opset 21 (ONNX 1.16) and with the
// float8 and int4 element types.
inline constexpr std::int64_t kExportIrVersion = 10;
// Alignment of each tensor in the external data file.
inline constexpr std::size_t kExternalDataAlignment = 64;

// What was written, for messages.
struct ExportSummary {
  std::size_t nodes = 0;             // ONNX nodes (fused ops count as what they expand to)
  std::size_t initializers = 0;
  std::size_t external_tensors = 0;  // initializers in the external data file
  std::size_t external_bytes = 0;    // its size; 0 when no file was written
};

// Throws lowp::Error naming the node or tensor when the graph holds something ONNX cannot
// carry (a subgraph attribute, an unknown fused activation, a lowp op with no standard
// form) or when writing fails; `out` is then left as it was.
ExportSummary export_model(const ir::Graph& graph, const std::filesystem::path& out,
                           const ExportOptions& options = {});

// The external data file's path for a model written to `model`: "<model>.data".
std::filesystem::path external_data_path(const std::filesystem::path& model);

}  // namespace lowp::onnx_io
