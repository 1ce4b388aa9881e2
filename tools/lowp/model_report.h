// tools/lowp/model_report.h: `lowp inspect MODEL.onnx`: inputs, outputs, ops by count,
// parameters, FLOPs, unsupported ops, and the kernel each node of the optimized graph
// binds to for given input dims.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace lowp::cli {

// FLOPs counts multiply-adds as 2 (Conv, Gemm, MatMul and their fused forms).
void print_model_report(const std::filesystem::path& path, const std::map<std::string, std::int64_t>& dims,
                        bool nodes);

}  // namespace lowp::cli
