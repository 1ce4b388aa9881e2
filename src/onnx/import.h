// onnx/import.h: ONNX ModelProto -> lowp IR graph.
//
// Parsing goes through libprotobuf with Debian's ONNX protos. Every node is upgraded to the
// IR's opset (onnx/upgrade.h); Constant nodes become constant values; initializers that
// are also listed as graph inputs (IR version < 4 style) are constants. Value types come
// from graph inputs, outputs and value_info; symbolic dims keep their names.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include "ir/graph.h"

namespace lowp::onnx_io {

std::unique_ptr<ir::Graph> import_model(const std::filesystem::path& path);
// `name` is used in messages; external data is looked up in `model_dir`.
std::unique_ptr<ir::Graph> import_model_bytes(std::string_view bytes, const std::string& name,
                                              const std::filesystem::path& model_dir);

}  // namespace lowp::onnx_io
