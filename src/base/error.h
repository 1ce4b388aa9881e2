// base/error.h: the one error style of lowp.
//
// lowp reports every failure by throwing lowp::Error, whose message names the file, node
// or tensor and the rule that was broken ("train-images.gz: IDX magic 0x00000000, expected
// 0x00000803"). Exceptions were chosen over Status/Result<T> because nearly every failure
// is bad input found during loading or validation, far from the point that can report it,
// and the CLI is the one place that catches: it prints "lowp: error: <message>" and exits
// non-zero. Kernels never throw: their inputs are validated before they are called.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace lowp {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace lowp

// LOWP_CHECK(condition, format, args...): throws lowp::Error with the formatted message when
// the condition is false. For validating input, in every build type (not an assert).
#define LOWP_CHECK(condition, ...)   \
  do {                               \
    if (!(condition)) [[unlikely]] { \
      ::lowp::fail(__VA_ARGS__);     \
    }                                \
  } while (false)
