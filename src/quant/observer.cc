// quant/observer.cc
#include "quant/observer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/error.h"
#include "kernels/quantize/quantize.h"

namespace lowp {

void MinMaxObserver::observe(std::span<const float> values) {
  for (float v : values) {
    if (!std::isfinite(v)) {
      ++non_finite_;
      continue;
    }
    if (seen_ == 0) {
      min_ = max_ = v;
    } else {
      min_ = std::min(min_, v);
      max_ = std::max(max_, v);
    }
    ++seen_;
  }
}

AffineParams choose_u8_params(float lo, float hi) {
  LOWP_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi,
             "calibration range [{}, {}] is not a finite interval", lo, hi);
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  AffineParams p;
  if (hi - lo <= 0.0f) return p;  // all zero: scale 1, zero point 0
  p.scale = (hi - lo) / 255.0f;
  if (!(p.scale >= std::numeric_limits<float>::min())) p.scale = std::numeric_limits<float>::min();
  // The zero point is where 0.0 lands; quantize_value rounds and clamps it like any value.
  p.zero_point = quantize_value(-lo, p.scale, 0, 0, 255);
  return p;
}

}  // namespace lowp
