// train/loss_scaler.cc
#include "train/loss_scaler.h"

#include <cmath>
#include <vector>

#include "base/error.h"
#include "kernels/convert/convert.h"

namespace lowp::train {

void round_to_fp16(std::span<float> values, ThreadPool* pool) {
  parallel_elements(pool, values.size(), [&](std::size_t begin, std::size_t end) {
    constexpr std::size_t kChunk = 4096;
    std::uint16_t bits[kChunk];
    for (std::size_t i = begin; i < end; i += kChunk) {
      const std::size_t n = std::min(kChunk, end - i);
      convert_f32_to_f16(values.data() + i, bits, n);
      convert_f16_to_f32(bits, values.data() + i, n);
    }
  });
}

bool all_finite(std::span<const float> values) {
  // Inf - Inf and NaN - NaN are NaN; finite - finite is 0: one vectorizable pass.
  float acc = 0.0f;
  for (float v : values) acc += v - v;
  return acc == 0.0f;
}

LossScaler::LossScaler(const LossScalerOptions& options)
    : options_(options), scale_(options.initial_scale) {
  LOWP_CHECK(std::isfinite(options.initial_scale) && options.initial_scale > 0.0f,
             "loss scale {} must be finite and positive", options.initial_scale);
  LOWP_CHECK(options.growth_interval >= 1, "loss scale growth interval {} must be at least 1",
             options.growth_interval);
}

void LossScaler::update(bool overflow) {
  if (overflow) {
    scale_ *= 0.5f;
    good_steps_ = 0;
    return;
  }
  if (++good_steps_ >= options_.growth_interval) {
    scale_ *= 2.0f;
    good_steps_ = 0;
  }
}

}  // namespace lowp::train
