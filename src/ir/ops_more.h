// ir/ops_more.h: what the schemas of ops_more.cc share with their runtime binders: the
// output geometry of Resize and ConvTranspose, and Einsum's equation. Each is computed
// once here so that inference and the kernels cannot disagree.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ir/schema.h"

namespace lowp::ir {

// ---- Resize ----

enum class ResizeAspect { stretch, not_larger, not_smaller };

// Resize's attributes, read and checked (strings against their allowed values).
struct ResizeAttrs {
  enum class Mode { nearest, linear, cubic } mode = Mode::nearest;
  enum class Coord {
    half_pixel,
    half_pixel_symmetric,
    pytorch_half_pixel,
    align_corners,
    asymmetric,
    tf_half_pixel_for_nn,
    tf_crop_and_resize
  } coord = Coord::half_pixel;
  enum class Nearest { round_prefer_floor, round_prefer_ceil, floor, ceil } nearest = Nearest::round_prefer_floor;
  float cubic_a = -0.75f;
  bool exclude_outside = false;
  float extrapolation = 0.0f;
  bool antialias = false;
  ResizeAspect aspect = ResizeAspect::stretch;
  std::vector<std::int64_t> axes;  // normalized; every axis when the attribute is absent
};
// Throws (through ctx) on an unknown string or a bad axis; `rank` normalizes the axes.
ResizeAttrs resize_attrs(const InferContext& ctx, std::size_t rank);

// The output dims and the per-axis scale of the coordinate transform, from either scales
// (one float per axis of `axes`) or sizes (one int64 per axis); the other is null. Axes not
// listed keep their size with scale 1. Writes `rank` entries to out_dims and out_scales;
// returns the rule broken, or nullptr. Never allocates (the runtime calls it from run()).
const char* resize_output(std::span<const std::int64_t> in_dims, std::span<const std::int64_t> axes,
                          const float* scales, const std::int64_t* sizes, ResizeAspect aspect,
                          std::int64_t* out_dims, double* out_scales);

// ---- ConvTranspose ----

struct ConvTransposeGeometry {
  std::vector<std::int64_t> kernel, strides, dilations, output_padding;
  std::vector<std::int64_t> pads;    // begin..., end...; may be negative (an output_shape
                                     // larger than the natural output)
  std::vector<std::int64_t> output;  // spatial output dims
};
// From the node's attributes and the known spatial input dims and kernel.
ConvTransposeGeometry conv_transpose_geometry(const InferContext& ctx, const std::vector<std::int64_t>& in_spatial,
                                              const std::vector<std::int64_t>& kernel);

// ---- Einsum ----

// Labels: 'a'..'z' are 0..25, 'A'..'Z' 26..51; the dims an ellipsis stands for are
// kEinsumEllipsis + j, aligned to the right across inputs (numpy broadcasting).
inline constexpr int kEinsumEllipsis = 52;
struct EinsumTerms {
  std::vector<std::vector<int>> inputs;  // one label per input dim
  std::vector<int> output;
};
// Parses `equation` for inputs of the given ranks; explicit ("ij,jk->ik") or implicit
// (output: the ellipsis dims, then the labels used once, in ASCII order). Throws via ctx.
EinsumTerms einsum_terms(const InferContext& ctx, const std::string& equation, std::span<const std::size_t> ranks);

}  // namespace lowp::ir
