// quant/weight_quant.h: weight quantization schemes for dense layers ([n][k] weights).
//
// Both are symmetric (zero point 0) and round with the one quantize reference of
// kernels/quantize (half to even), so the runtime, calibration and training agree.
//   per output channel, int8: scale[n] = max|w[n][:]| / 127, q in [-127, 127]
//   per group, int4:          scale[n][g] = max|w[n][group g]| / 7, q in [-7, 7]; groups of
//                             `group` inputs along k, the last one shorter if need be
// An all-zero channel or group gets scale 1 (it round-trips to zeros), never 0 or NaN.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lowp {

struct QuantizedWeights {
  int n = 0, k = 0;
  int group = 0;               // 0: one scale per output channel
  std::vector<std::int8_t> q;  // [n][k]
  std::vector<float> scales;   // [n] or [n][groups]

  int groups() const { return group > 0 ? (k + group - 1) / group : 1; }
  float scale_of(int row, int col) const {
    return scales[static_cast<std::size_t>(row) * groups() + (group > 0 ? col / group : 0)];
  }
};

// Throws lowp::Error on NaN or Inf weights or sizes < 1.
QuantizedWeights quantize_per_channel_s8(const float* w, int n, int k);
QuantizedWeights quantize_groupwise_s4(const float* w, int n, int k, int group);

// A layer's bias in its int8 accumulator's scale, as the int8 quantizer writes it and
// quantization-aware training computes it: scales[c] = x_scale * w_scales[c] (one fp32
// product) and q[c] = round_half_even(double(b[c]) / scales[c]). Throws lowp::Error naming
// `what` ("node 'fc1': bias 'fc1.bias'") when a value is not finite or leaves int32.
struct QuantizedBias {
  std::vector<std::int32_t> q;
  std::vector<float> scales;
};
QuantizedBias quantize_bias_s32(std::span<const float> b, float x_scale,
                                std::span<const float> w_scales, const std::string& what);

}  // namespace lowp
