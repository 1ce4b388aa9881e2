// core/quant_params.h: how a quantized tensor maps back to real numbers.
//
//   real = (q - zero_point) * scale
// with one (scale, zero_point) for the whole tensor, one per channel along `axis`, or one
// per group of `group_size` consecutive elements along `axis` (the last group of a row is
// shorter when group_size does not divide the dimension). Scales are finite and > 0.
#pragma once

#include <cstdint>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"

namespace lowp {

enum class QuantGranularity { per_tensor, per_channel, per_group };

struct QuantParams {
  DType storage = DType::int8;  // int8, uint8, int4 or uint4
  QuantGranularity granularity = QuantGranularity::per_tensor;
  int axis = 0;        // per_channel: the channel axis; per_group: the axis that is grouped
  int group_size = 0;  // per_group only
  std::vector<float> scales;
  std::vector<std::int32_t> zero_points;  // empty means all zero (symmetric)

  // Integer range of the storage type, e.g. [-128, 127] for int8.
  std::int32_t qmin() const;
  std::int32_t qmax() const;

  // Number of (scale, zero point) pairs a tensor of this shape needs.
  std::size_t expected_count(const Shape& shape) const;
  // Throws lowp::Error naming `what` when the parameters do not fit the shape: wrong count,
  // axis out of range, group size < 1, a scale that is not finite and positive, a zero
  // point outside the storage range.
  void validate(const Shape& shape, std::string_view what) const;
};

}  // namespace lowp
