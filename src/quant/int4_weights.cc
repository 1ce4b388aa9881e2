// quant/int4_weights.cc
#include "quant/int4_weights.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "base/error.h"
#include "kernels/quantize/quantize.h"

namespace lowp::quant {

Int4GroupParams int4_group_params(const float* w, std::size_t count, std::size_t stride, bool zero_point) {
  float lo = 0.0f, hi = 0.0f;
  for (std::size_t i = 0; i < count; ++i) {
    lo = std::min(lo, w[i * stride]);
    hi = std::max(hi, w[i * stride]);
  }
  Int4GroupParams p;
  if (zero_point) {
    p.scale = (hi - lo) / 15.0f;
  } else {
    p.scale = std::max(hi / 7.0f, -lo / 8.0f);
  }
  if (!(p.scale > 0.0f)) {  // all zero
    p.scale = 1.0f;
    p.zero_point = 8;
    return p;
  }
  p.scale = std::max(p.scale, FLT_MIN);
  if (zero_point) {
    float z = std::nearbyint(-lo / p.scale);
    p.zero_point = static_cast<std::uint8_t>(std::clamp(z, 0.0f, 15.0f));
  }
  return p;
}

std::uint8_t int4_quantize(float w, Int4GroupParams p) {
  return static_cast<std::uint8_t>(quantize_value(w, p.scale, p.zero_point, 0, 15));
}

Int4Weights quantize_int4_rtn(const float* rows, int n, int k, int group, bool zero_point) {
  LOWP_CHECK(n >= 1 && k >= 1, "int4 quantization: n = {} and k = {} must be at least 1", n, k);
  LOWP_CHECK(group >= 2 && group % 2 == 0, "int4 quantization: group {} must be a positive even number", group);
  Int4Weights out;
  out.n = n;
  out.k = k;
  out.group = group;
  out.has_zero_points = zero_point;
  out.u.resize(static_cast<std::size_t>(n) * static_cast<std::size_t>(k));
  out.params.reserve(static_cast<std::size_t>(n) * static_cast<std::size_t>(out.groups()));
  for (int r = 0; r < n; ++r) {
    const float* row = rows + static_cast<std::size_t>(r) * static_cast<std::size_t>(k);
    for (int begin = 0; begin < k; begin += group) {
      int end = std::min(k, begin + group);
      Int4GroupParams p = int4_group_params(row + begin, static_cast<std::size_t>(end - begin), 1, zero_point);
      out.params.push_back(p);
      for (int c = begin; c < end; ++c)
        out.u[static_cast<std::size_t>(r) * static_cast<std::size_t>(k) + static_cast<std::size_t>(c)] =
            int4_quantize(row[c], p);
    }
  }
  return out;
}

std::vector<std::uint8_t> Int4Weights::packed_b() const {
  const auto g = static_cast<std::size_t>(groups()), blob = static_cast<std::size_t>(group) / 2;
  std::vector<std::uint8_t> b(static_cast<std::size_t>(n) * g * blob);
  for (std::size_t r = 0; r < static_cast<std::size_t>(n); ++r) {
    for (std::size_t c = 0; c < g * static_cast<std::size_t>(group); ++c) {
      std::size_t gi = c / static_cast<std::size_t>(group);
      std::uint8_t v = c < static_cast<std::size_t>(k) ? u[r * static_cast<std::size_t>(k) + c]
                                                       : params[r * g + gi].zero_point;
      std::size_t within = c % static_cast<std::size_t>(group);
      std::uint8_t& byte = b[(r * g + gi) * blob + within / 2];
      byte = static_cast<std::uint8_t>(byte | (within % 2 == 0 ? v : v << 4));
    }
  }
  return b;
}

std::vector<float> Int4Weights::scales() const {
  std::vector<float> s(params.size());
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = params[i].scale;
  return s;
}

std::vector<std::uint8_t> Int4Weights::packed_zero_points() const {
  const auto g = static_cast<std::size_t>(groups()), per_row = (g + 1) / 2;
  std::vector<std::uint8_t> z(static_cast<std::size_t>(n) * per_row);
  for (std::size_t r = 0; r < static_cast<std::size_t>(n); ++r) {
    for (std::size_t gi = 0; gi < g; ++gi) {
      std::uint8_t v = params[r * g + gi].zero_point;
      z[r * per_row + gi / 2] = static_cast<std::uint8_t>(z[r * per_row + gi / 2] | (gi % 2 == 0 ? v : v << 4));
    }
  }
  return z;
}

}  // namespace lowp::quant
