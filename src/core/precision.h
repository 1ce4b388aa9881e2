// core/precision.h: the numeric formats a network can be compiled to.
#pragma once

#include <optional>
#include <string_view>

namespace lowp {

enum class Precision {
  fp32,  // fp32 weights and activations
  fp16,  // fp16 weights, fp32 activations and accumulation
  bf16,  // bf16 weights, fp32 activations and accumulation
  int8,  // s8 weights per output channel, u8 activations per tensor, int32 accumulation
  int4,  // int4 weights, symmetric, one scale per group of 32 inputs; fp32 activations
};
inline constexpr Precision kAllPrecisions[] = {Precision::fp32, Precision::fp16, Precision::bf16,
                                               Precision::int8, Precision::int4};

std::string_view precision_name(Precision p);
std::optional<Precision> parse_precision(std::string_view name);

}  // namespace lowp
