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
    {DType::int32, "int32", 32},
    {DType::int64, "int64", 64},
    {DType::float16, "float16", 16},
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

std::size_t dtype_storage_bytes(DType type, std::size_t count) {
  std::size_t bits = dtype_bits(type);
  if (bits == 4) return count / 2 + count % 2;
  return checked_mul(count, bits / 8, dtype_name(type));
}

}  // namespace lowp
