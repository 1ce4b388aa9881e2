// core/int4.cc
#include "core/int4.h"

#include "base/error.h"

namespace lowp {

std::vector<std::uint8_t> pack_int4(std::span<const std::int8_t> values) {
  std::vector<std::uint8_t> packed(int4_packed_bytes(values.size()), 0);
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::int8_t v = values[i];
    LOWP_CHECK(v >= -8 && v <= 7, "int4 value {} at index {} outside [-8, 7]", v, i);
    std::uint8_t nibble = static_cast<std::uint8_t>(v) & 0x0F;
    packed[i / 2] |= static_cast<std::uint8_t>(i % 2 == 0 ? nibble : nibble << 4);
  }
  return packed;
}

std::vector<std::int8_t> unpack_int4(std::span<const std::uint8_t> packed, std::size_t count) {
  LOWP_CHECK(packed.size() == int4_packed_bytes(count),
             "packed int4: {} bytes for {} values, expected {}", packed.size(), count,
             int4_packed_bytes(count));
  std::vector<std::int8_t> values(count);
  for (std::size_t i = 0; i < count; ++i) {
    values[i] = i % 2 == 0 ? int4_low(packed[i / 2]) : int4_high(packed[i / 2]);
  }
  return values;
}

}  // namespace lowp
