// core/dtype.cc
#include "core/dtype.h"

#include "base/checked_math.h"

namespace lowp {
namespace {

struct DTypeInfo {
  DType type;
  std::string_view name;
  std::size_t bits;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::float32, "float32", 32},
    {DType::uint8, "uint8", 8},
    {DType::int8, "int8", 8},
    {DType::uint16, "uint16", 16},
    {DType::int16, "int16", 16},
    {DType::int32, "int32", 32},
    {DType::int64, "int64", 64},
    {DType::boolean, "bool", 8},
    {DType::float16, "float16", 16},
    {DType::float64, "float64", 64},
    {DType::uint32, "uint32", 32},
    {DType::uint64, "uint64", 64},
    {DType::bfloat16, "bfloat16", 16},
    {DType::float8e4m3fn, "float8e4m3fn", 8},
    {DType::float8e5m2, "float8e5m2", 8},
    {DType::uint4, "uint4", 4},
    {DType::int4, "int4", 4},
};

const DTypeInfo& info(DType type) {
  for (const DTypeInfo& i : kDTypes) {
    if (i.type == type) return i;
  }
  fail("unknown dtype number {}", static_cast<int>(type));
}

}  // namespace

std::size_t dtype_bits(DType type) {
  return info(type).bits;
}
std::string_view dtype_name(DType type) {
  return info(type).name;
}

std::optional<DType> parse_dtype(std::string_view name) {
  for (const DTypeInfo& i : kDTypes) {
    if (i.name == name) return i.type;
  }
  return std::nullopt;
}

std::optional<DType> dtype_from_onnx(int number) {
  for (const DTypeInfo& i : kDTypes) {
    if (static_cast<int>(i.type) == number) return i.type;
  }
  return std::nullopt;
}

bool dtype_is_float(DType type) {
  switch (type) {
    case DType::float32:
    case DType::float16:
    case DType::bfloat16:
    case DType::float64:
    case DType::float8e4m3fn:
    case DType::float8e5m2:
      return true;
    default:
      return false;
  }
}

bool dtype_is_signed(DType type) {
  switch (type) {
    case DType::int8:
    case DType::int16:
    case DType::int32:
    case DType::int64:
    case DType::int4:
      return true;
    default:
      return false;
  }
}

std::size_t dtype_storage_bytes(DType type, std::size_t count) {
  std::size_t bits = dtype_bits(type);
  if (bits == 4) return count / 2 + count % 2;
  return checked_mul(count, bits / 8, dtype_name(type));
}

}  // namespace lowp
