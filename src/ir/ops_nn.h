// ir/ops_nn.h: inference pieces the nn schemas share with others (quantized ops, the
// runtime's convolution and pooling binders): window geometry of Conv and pooling.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/schema.h"

namespace lowp::ir {

// Kernel, strides, dilations and resolved pads (begin..., end...) of a sliding window, and
// the output spatial dims, from the node's attributes (auto_pad resolved).
struct WindowGeometry {
  std::vector<std::int64_t> kernel, strides, dilations, pads;
  std::vector<Dim> output;
};
WindowGeometry window_geometry(const InferContext& ctx, const std::vector<Dim>& input_dims,
                               const std::vector<std::int64_t>& kernel, bool ceil_mode);
std::vector<std::int64_t> window_attr(const InferContext& ctx, const char* key, std::size_t n,
                                      std::int64_t fallback);

void infer_qlinear_conv(InferContext& ctx);
void infer_qlinear_matmul(InferContext& ctx);

}  // namespace lowp::ir
