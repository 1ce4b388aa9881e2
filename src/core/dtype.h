// core/dtype.h: the element types lowp stores tensors in.
//
// The numbering follows ONNX TensorProto.DataType so that import and export map types
// one to one (ONNX 1.12's headers lack FLOAT8 = 17..20 and INT4/UINT4 = 22/21; the wire
// field is a plain int32, so the numbers are written here).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace lowp {

enum class DType : int {
  float32 = 1,
  uint8 = 2,
  int8 = 3,
  uint16 = 4,
  int16 = 5,
  int32 = 6,
  int64 = 7,
  boolean = 9,  // one byte per element, 0 or 1, as ONNX stores bool
  float16 = 10,
  float64 = 11,
  uint32 = 12,
  uint64 = 13,
  bfloat16 = 16,
  float8e4m3fn = 17,
  float8e5m2 = 19,
  uint4 = 21,
  int4 = 22,
};

// Bits per element: 4 for the packed int4 types, else 8 x bytes.
std::size_t dtype_bits(DType type);
std::string_view dtype_name(DType type);
std::optional<DType> parse_dtype(std::string_view name);
// The DType of an ONNX TensorProto.DataType number, or nullopt for one lowp does not hold
// (string, complex, the fp8 "fnuz" variants).
std::optional<DType> dtype_from_onnx(int number);
bool dtype_is_float(DType type);    // float16/32/64, bfloat16, float8
bool dtype_is_signed(DType type);   // signed integers (not floats, not bool)
// Bytes to hold `count` elements (int4 pairs share a byte; an odd count rounds up).
std::size_t dtype_storage_bytes(DType type, std::size_t count);

}  // namespace lowp
