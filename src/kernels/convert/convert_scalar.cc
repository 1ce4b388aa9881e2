// kernels/convert/convert_scalar.cc: the scalar conversion variants, which run anywhere.
//
// Each is a loop over the base/float_types.h scalar types: they are the reference every
// SIMD variant must match bit for bit, and the fallback at the end of every list.
#include <cstddef>
#include <cstdint>

#include "base/float_types.h"
#include "kernels/convert/convert.h"

namespace lowp {

void f32_to_f16_convert__scalar(const float* in, std::uint16_t* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = float16::from_float(in[i]).bits();
}

void f16_to_f32_convert__scalar(const std::uint16_t* in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = float16::from_bits(in[i]).to_float();
}

void f32_to_bf16_convert__scalar(const float* in, std::uint16_t* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = bfloat16::from_float(in[i]).bits();
}

void bf16_to_f32_convert__scalar(const std::uint16_t* in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = bfloat16::from_bits(in[i]).to_float();
}

void f32_to_f8e4m3fn_convert__scalar(const float* in, std::uint8_t* out, std::size_t n,
                                     bool saturate) {
  for (std::size_t i = 0; i < n; ++i) out[i] = float8e4m3fn::from_float(in[i], saturate).bits();
}

void f8e4m3fn_to_f32_convert__scalar(const std::uint8_t* in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = float8e4m3fn::from_bits(in[i]).to_float();
}

void f32_to_f8e5m2_convert__scalar(const float* in, std::uint8_t* out, std::size_t n,
                                   bool saturate) {
  for (std::size_t i = 0; i < n; ++i) out[i] = float8e5m2::from_float(in[i], saturate).bits();
}

void f8e5m2_to_f32_convert__scalar(const std::uint8_t* in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = float8e5m2::from_bits(in[i]).to_float();
}

}  // namespace lowp
