// base/error.h: the one error style of lowp.
//
// lowp reports every failure by throwing lowp::Error, whose message names the file, node
// or tensor and the rule that was broken ("train-images.gz: IDX magic 0x00000000, expected
// 0x00000803"). Exceptions were chosen over Status/Result<T> because nearly every failure
// is bad input found during loading or validation, far from the point that can report it,
// and the CLI is the one place that catches: it prints "lowp: error: <message>" and exits
// non-zero. Kernels never throw: their inputs are validated before they are called.
//
// UnsupportedError marks the one failure a caller may want to tell apart: the input is
// valid ONNX, but uses something lowp does not implement (an op without a schema or a
// kernel, an element type lowp has no DType for, an attribute value a kernel does not
// cover). `lowp conformance` counts those as "unsupported" rather than "failed", by type,
// never by reading the message.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace lowp {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

class UnsupportedError : public Error {
 public:
  using Error::Error;
};

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

template <class... Args>
[[noreturn]] void fail_unsupported(fmt::format_string<Args...> format, Args&&... args) {
  throw UnsupportedError(fmt::format(format, std::forward<Args>(args)...));
}

// Inside a catch block: rethrows the Error being handled with "<context>: " prepended to
// its message, keeping its type (an UnsupportedError stays one).
[[noreturn]] inline void rethrow_with_context(const std::string& context) {
  try {
    throw;
  } catch (const UnsupportedError& e) {
    throw UnsupportedError(context + ": " + e.what());
  } catch (const Error& e) {
    throw Error(context + ": " + e.what());
  }
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
