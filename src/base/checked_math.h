// base/checked_math.h: size arithmetic that cannot wrap.
//
// Element counts, byte sizes, strides and offsets computed from untrusted input (file
// headers, model shapes) go through these: an overflow is an Error naming what was being
// computed, never a silently small number that later under-allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/error.h"

namespace lowp {

inline std::size_t checked_mul(std::size_t a, std::size_t b, std::string_view what) {
  std::size_t result = 0;
  if (__builtin_mul_overflow(a, b, &result)) {
    fail("{}: size {} x {} overflows", what, a, b);
  }
  return result;
}

inline std::size_t checked_add(std::size_t a, std::size_t b, std::string_view what) {
  std::size_t result = 0;
  if (__builtin_add_overflow(a, b, &result)) {
    fail("{}: size {} + {} overflows", what, a, b);
  }
  return result;
}

// Product of dimensions; a negative dimension is an error too.
inline std::size_t checked_product(std::span<const std::int64_t> dims, std::string_view what) {
  std::size_t n = 1;
  for (std::int64_t d : dims) {
    LOWP_CHECK(d >= 0, "{}: negative dimension {}", what, d);
    n = checked_mul(n, static_cast<std::size_t>(d), what);
  }
  return n;
}

inline std::size_t round_up(std::size_t value, std::size_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

}  // namespace lowp
