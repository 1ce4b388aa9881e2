// core/tensor.h: an owning tensor (dtype, shape, 64-byte aligned bytes).
//
// Row-major and dense. Views into tensors are plain std::span / pointers in kernel calls:
// kernels take raw pointers and strides, never a Tensor, so they stay free of this type.
#pragma once

#include <cstddef>
#include <span>

#include "base/aligned_buffer.h"
#include "base/error.h"
#include "core/dtype.h"
#include "core/shape.h"

namespace lowp {

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled.
  Tensor(DType type, Shape shape)
      : type_(type),
        shape_(std::move(shape)),
        bytes_(dtype_storage_bytes(type, shape_.elements())) {}
  // Not zero-filled: for a tensor the caller fills completely at once (loaders, kernels'
  // outputs).
  struct Uninitialized {};
  Tensor(DType type, Shape shape, Uninitialized)
      : type_(type),
        shape_(std::move(shape)),
        bytes_(dtype_storage_bytes(type, shape_.elements()), AlignedBuffer<std::byte>::Uninitialized{}) {}

  DType dtype() const { return type_; }
  const Shape& shape() const { return shape_; }
  std::size_t elements() const { return shape_.elements(); }
  std::size_t bytes() const { return bytes_.size(); }
  std::byte* raw() { return bytes_.data(); }
  const std::byte* raw() const { return bytes_.data(); }

  // Typed access; T must match the dtype's width (checked), e.g. float for float32,
  // std::uint16_t for float16 / bfloat16 bits.
  template <class T>
  std::span<T> values() {
    check_width(sizeof(T));
    return {reinterpret_cast<T*>(bytes_.data()), elements()};
  }
  template <class T>
  std::span<const T> values() const {
    check_width(sizeof(T));
    return {reinterpret_cast<const T*>(bytes_.data()), elements()};
  }

 private:
  void check_width(std::size_t width) const {
    LOWP_CHECK(dtype_bits(type_) == width * 8, "tensor of {} read as {}-byte elements",
               dtype_name(type_), width);
  }

  DType type_ = DType::float32;
  Shape shape_;
  AlignedBuffer<std::byte> bytes_;
};

}  // namespace lowp
