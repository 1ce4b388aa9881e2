// quant/observer.h: calibration observers and the choice of quantization parameters.
//
// A MinMaxObserver streams over activations (any number of batches, constant memory) and
// keeps the range; NaN and Inf are counted and left out of the range, so one bad sample
// cannot blow up a scale, and the caller can report them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace lowp {

struct AffineParams {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
};

class MinMaxObserver {
 public:
  void observe(std::span<const float> values);
  float min() const { return min_; }
  float max() const { return max_; }
  std::size_t seen() const { return seen_; }
  std::size_t non_finite() const { return non_finite_; }

 private:
  float min_ = 0.0f, max_ = 0.0f;
  std::size_t seen_ = 0, non_finite_ = 0;
};

// Asymmetric u8 over [min(lo, 0), max(hi, 0)]: zero is always exactly representable (zero
// padding and ReLU outputs stay exact). A range of width 0 (an all-zero tensor) gets scale 1,
// never 0 or NaN. Throws lowp::Error on non-finite bounds.
AffineParams choose_u8_params(float lo, float hi);

}  // namespace lowp
