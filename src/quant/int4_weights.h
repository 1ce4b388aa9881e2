// quant/int4_weights.h: 4-bit weights in groups along K, in the layout of ONNX Runtime's
// com.microsoft MatMulNBits (bits 4): stored values u in [0, 15], one fp32 scale and one
// zero point per output row and group of `group` inputs, real weight = (u - zp) x scale.
//
// Scale and zero point of a group (both rounded by the one quantize rule, kernels/quantize):
//   symmetric:  zp = 8 (MatMulNBits' default when it has no zero_points input) and
//               scale = max(max(w, 0) / 7, max(-w, 0) / 8), so both ends of [-8, 7] are
//               reachable and nothing clips: the side with the larger reach sets the scale.
//   asymmetric: the range [min(w, 0), max(w, 0)] over 15 steps, zp = round(-min / scale).
// A group of zeros gets scale 1 (it round-trips to zeros), a tiny one at least FLT_MIN:
// never 0, subnormal or NaN. The last group is shorter when group does not divide K.
#pragma once

#include <cstdint>
#include <vector>

namespace lowp::quant {

struct Int4GroupParams {
  float scale = 1.0f;
  std::uint8_t zero_point = 8;
};

// From `count` weights `stride` apart. Weights must be finite (callers check).
Int4GroupParams int4_group_params(const float* w, std::size_t count, std::size_t stride, bool zero_point);
std::uint8_t int4_quantize(float w, Int4GroupParams p);
inline float int4_dequantize(std::uint8_t u, Int4GroupParams p) {
  return (static_cast<float>(u) - static_cast<float>(p.zero_point)) * p.scale;
}

struct Int4Weights {
  int n = 0, k = 0, group = 0;
  bool has_zero_points = false;          // false: every zero point is 8
  std::vector<std::uint8_t> u;           // [n][k] in [0, 15]
  std::vector<Int4GroupParams> params;   // [n][groups]

  int groups() const { return (k + group - 1) / group; }
  const Int4GroupParams& at(int row, int col) const {
    return params[static_cast<std::size_t>(row) * static_cast<std::size_t>(groups()) + static_cast<std::size_t>(col / group)];
  }
  float dequantized(int row, int col) const {
    return int4_dequantize(u[static_cast<std::size_t>(row) * static_cast<std::size_t>(k) + static_cast<std::size_t>(col)],
                           at(row, col));
  }

  // MatMulNBits' inputs: B [n][groups][group / 2] (low nibble first, the padding of a short
  // last group holds its zero point), scales [n * groups], zero points packed two a byte
  // per row, [n * ceil(groups / 2)] (low nibble first; only when has_zero_points).
  std::vector<std::uint8_t> packed_b() const;
  std::vector<float> scales() const;
  std::vector<std::uint8_t> packed_zero_points() const;
};

// Round to nearest: each group's parameters from its weights, then each weight rounded.
// rows: [n][k]. Throws lowp::Error on sizes < 1 or group not a positive even number.
Int4Weights quantize_int4_rtn(const float* rows, int n, int k, int group, bool zero_point);

}  // namespace lowp::quant
