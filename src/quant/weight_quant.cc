// quant/weight_quant.cc
#include "quant/weight_quant.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/error.h"
#include "kernels/quantize/quantize.h"

namespace lowp {
namespace {

// Quantizes row segments [begin, end) of each row with their own absmax scale.
QuantizedWeights quantize_symmetric(const float* w, int n, int k, int group, std::int32_t qmax) {
  LOWP_CHECK(n >= 1 && k >= 1, "weight quantization: n = {} and k = {} must be at least 1", n, k);
  QuantizedWeights out;
  out.n = n;
  out.k = k;
  out.group = group;
  int span = group > 0 ? group : k;
  out.q.resize(static_cast<std::size_t>(n) * k);
  out.scales.reserve(static_cast<std::size_t>(n) * out.groups());
  for (int row = 0; row < n; ++row) {
    const float* wr = w + static_cast<std::size_t>(row) * k;
    for (int begin = 0; begin < k; begin += span) {
      int end = std::min(k, begin + span);
      float absmax = 0.0f;
      for (int i = begin; i < end; ++i) {
        LOWP_CHECK(std::isfinite(wr[i]), "weight quantization: weight [{}][{}] is {}", row, i,
                   wr[i]);
        absmax = std::max(absmax, std::fabs(wr[i]));
      }
      float scale = symmetric_scale(absmax, qmax);
      out.scales.push_back(scale);
      for (int i = begin; i < end; ++i) {
        out.q[static_cast<std::size_t>(row) * k + i] =
            static_cast<std::int8_t>(quantize_value(wr[i], scale, 0, -qmax, qmax));
      }
    }
  }
  return out;
}

}  // namespace

QuantizedWeights quantize_per_channel_s8(const float* w, int n, int k) {
  return quantize_symmetric(w, n, k, 0, 127);
}

QuantizedWeights quantize_groupwise_s4(const float* w, int n, int k, int group) {
  LOWP_CHECK(group >= 1, "int4 quantization: group size {} must be at least 1", group);
  return quantize_symmetric(w, n, k, group, 7);
}

QuantizedBias quantize_bias_s32(std::span<const float> b, float x_scale,
                                std::span<const float> w_scales, const std::string& what) {
  LOWP_CHECK(b.size() == w_scales.size(), "{} has {} values for {} output channels", what, b.size(),
             w_scales.size());
  QuantizedBias out;
  out.q.resize(b.size());
  out.scales.resize(b.size());
  for (std::size_t c = 0; c < b.size(); ++c) {
    out.scales[c] = x_scale * w_scales[c];
    const double q = std::nearbyint(static_cast<double>(b[c]) / out.scales[c]);
    LOWP_CHECK(std::isfinite(b[c]) && std::fabs(q) <= 2147483647.0,
               "{}[{}] = {} does not fit int32 at scale {}", what, c, b[c], out.scales[c]);
    out.q[c] = static_cast<std::int32_t>(q);
  }
  return out;
}

}  // namespace lowp
