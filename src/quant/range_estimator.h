// quant/range_estimator.h: the range [lo, hi] an activation is quantized over, from what
// calibration saw of it.
//
// Calibration makes two streaming passes (quant/calibrate.h): the first keeps each
// tensor's min and max (MinMaxObserver), the second a histogram of |x| over [0, max|x|]
// in `bins` bins. Memory is two floats and a histogram per tensor, whatever the number of
// samples, which is what keeps calibration from running out of memory. The methods:
//   minmax      [min, max] as seen.
//   percentile  |x| clipped at the p-th percentile of the histogram (default 99.99).
//   entropy     the clipping threshold whose 255-level quantized histogram has the
//               smallest KL divergence from the observed one (TensorRT's calibration).
//   mse         the threshold minimizing the expected squared quantization error
//               (rounding error step^2 / 12 inside, squared distance outside).
// The clipped range is [max(min, -T), min(max, T)], so a one-sided tensor (after ReLU)
// stays one-sided.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lowp::quant {

enum class RangeMethod { minmax, percentile, entropy, mse };
RangeMethod parse_range_method(const std::string& name);  // throws lowp::Error
const char* range_method_name(RangeMethod m);

class AbsHistogram {
 public:
  AbsHistogram(float abs_max, int bins);
  void add(std::span<const float> values);  // non-finite values are skipped
  float abs_max() const { return abs_max_; }
  const std::vector<double>& counts() const { return counts_; }
  float bin_width() const { return width_; }

 private:
  float abs_max_, width_;
  std::vector<double> counts_;
};

struct Range {
  float lo = 0, hi = 0;
};

// The clipping threshold T on |x| chosen by `method`. `levels` is how many quantization
// levels span [0, T] (255 for a one-sided u8 tensor, 128 for a symmetric one).
float choose_threshold(const AbsHistogram& h, RangeMethod method, double percentile, int levels);
Range clip_range(float min, float max, float threshold);

}  // namespace lowp::quant
