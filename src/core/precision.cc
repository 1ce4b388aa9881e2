// core/precision.cc
#include "core/precision.h"

namespace lowp {

std::string_view precision_name(Precision p) {
  switch (p) {
    case Precision::fp32:
      return "fp32";
    case Precision::fp16:
      return "fp16";
    case Precision::bf16:
      return "bf16";
    case Precision::int8:
      return "int8";
    case Precision::int4:
      return "int4";
  }
  return "?";
}

std::optional<Precision> parse_precision(std::string_view name) {
  for (Precision p : kAllPrecisions) {
    if (precision_name(p) == name) return p;
  }
  return std::nullopt;
}

}  // namespace lowp
