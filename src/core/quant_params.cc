// core/quant_params.cc
#include "core/quant_params.h"

#include <cmath>

#include "base/error.h"

namespace lowp {

std::int32_t QuantParams::qmin() const {
  switch (storage) {
    case DType::int8:
      return -128;
    case DType::uint8:
      return 0;
    case DType::int4:
      return -8;
    case DType::uint4:
      return 0;
    default:
      fail("quantization storage {} is not an integer type", dtype_name(storage));
  }
}

std::int32_t QuantParams::qmax() const {
  switch (storage) {
    case DType::int8:
      return 127;
    case DType::uint8:
      return 255;
    case DType::int4:
      return 7;
    case DType::uint4:
      return 15;
    default:
      fail("quantization storage {} is not an integer type", dtype_name(storage));
  }
}

std::size_t QuantParams::expected_count(const Shape& shape) const {
  if (granularity == QuantGranularity::per_tensor) return 1;
  LOWP_CHECK(axis >= 0 && static_cast<std::size_t>(axis) < shape.rank(),
             "quantization axis {} out of range for shape {}", axis, shape.str());
  std::size_t channels = static_cast<std::size_t>(shape[static_cast<std::size_t>(axis)]);
  if (granularity == QuantGranularity::per_channel) return channels;
  LOWP_CHECK(group_size >= 1, "quantization group size {} must be at least 1", group_size);
  std::size_t groups =
      (channels + static_cast<std::size_t>(group_size) - 1) / static_cast<std::size_t>(group_size);
  return shape.elements() / (channels == 0 ? 1 : channels) * groups;
}

void QuantParams::validate(const Shape& shape, std::string_view what) const {
  std::size_t expected = expected_count(shape);
  LOWP_CHECK(scales.size() == expected, "{}: {} scales, expected {} for shape {}", what,
             scales.size(), expected, shape.str());
  LOWP_CHECK(zero_points.empty() || zero_points.size() == expected,
             "{}: {} zero points, expected {} (or none)", what, zero_points.size(), expected);
  for (std::size_t i = 0; i < scales.size(); ++i) {
    LOWP_CHECK(std::isfinite(scales[i]) && scales[i] > 0.0f,
               "{}: scale[{}] = {} must be finite and positive", what, i, scales[i]);
  }
  for (std::size_t i = 0; i < zero_points.size(); ++i) {
    LOWP_CHECK(zero_points[i] >= qmin() && zero_points[i] <= qmax(),
               "{}: zero_point[{}] = {} outside [{}, {}]", what, i, zero_points[i], qmin(), qmax());
  }
}

}  // namespace lowp
