// tests/fuzz/import_fuzz.cc: libFuzzer target for the ONNX loader. Any byte string must
// either import (and then verify and infer types) or raise lowp::Error; never crash,
// hang, leak or touch memory it does not own (run under ASan and UBSan).
// Built by tests/fuzz/run.sh with clang; seeded with ONNX's conformance models.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/error.h"
#include "ir/schema.h"
#include "ir/verify.h"
#include "onnx/import.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    auto graph = lowp::onnx_io::import_model_bytes(bytes, "fuzz.onnx", "/nonexistent-fuzz-dir");
    lowp::ir::verify(*graph);
    lowp::ir::infer_types(*graph);
  } catch (const lowp::Error&) {
    // A clear error is the expected outcome for most inputs.
  }
  return 0;
}
