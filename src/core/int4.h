// core/int4.h: packed 4-bit integers, two per byte.
//
// Element 2i sits in the low nibble of byte i and element 2i+1 in the high nibble, the
// order of ONNX INT4/UINT4 tensors and of MatMulNBits. An odd count leaves the last high
// nibble zero. Signed values are two's complement nibbles in [-8, 7].
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace lowp {

inline std::size_t int4_packed_bytes(std::size_t count) {
  return count / 2 + count % 2;
}

// Throws lowp::Error if a value is outside [-8, 7].
std::vector<std::uint8_t> pack_int4(std::span<const std::int8_t> values);
// Throws lowp::Error if `packed` does not hold exactly int4_packed_bytes(count) bytes.
std::vector<std::int8_t> unpack_int4(std::span<const std::uint8_t> packed, std::size_t count);

inline std::int8_t int4_low(std::uint8_t byte) {
  return static_cast<std::int8_t>(static_cast<std::int8_t>(byte << 4) >> 4);
}
inline std::int8_t int4_high(std::uint8_t byte) {
  return static_cast<std::int8_t>(static_cast<std::int8_t>(byte) >> 4);
}

}  // namespace lowp
