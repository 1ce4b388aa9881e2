// core/tensor.h: an owning tensor (dtype, shape, 64-byte aligned bytes).
//
// Row-major and dense. Views into tensors are plain std::span / pointers in kernel calls:
// kernels take raw pointers and strides, never a Tensor, so they stay free of this type.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

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

  // A tensor over bytes that already exist (a loaded model's initializer), taken over
  // without a copy. Checked: `bytes` holds exactly the shape's storage. The data is then
  // only 16-byte aligned (malloc's), enough for unaligned vector loads; the first write
  // through raw() / values() copies it into an owned, 64-byte aligned buffer.
  static Tensor adopt(DType type, Shape shape, std::string&& bytes);

  DType dtype() const { return type_; }
  const Shape& shape() const { return shape_; }
  std::size_t elements() const { return shape_.elements(); }
  std::size_t bytes() const { return adopted_ ? adopted_->size() : bytes_.size(); }
  std::byte* raw() {
    if (adopted_) own();
    return bytes_.data();
  }
  const std::byte* raw() const {
    return adopted_ ? reinterpret_cast<const std::byte*>(adopted_->data()) : bytes_.data();
  }

  // Typed access; T must match the dtype's width (checked), e.g. float for float32,
  // std::uint16_t for float16 / bfloat16 bits.
  template <class T>
  std::span<T> values() {
    check_width(sizeof(T));
    return {reinterpret_cast<T*>(raw()), elements()};
  }
  template <class T>
  std::span<const T> values() const {
    check_width(sizeof(T));
    return {reinterpret_cast<const T*>(raw()), elements()};
  }

 private:
  void own();
  void check_width(std::size_t width) const {
    LOWP_CHECK(dtype_bits(type_) == width * 8, "tensor of {} read as {}-byte elements",
               dtype_name(type_), width);
  }

  DType type_ = DType::float32;
  Shape shape_;
  AlignedBuffer<std::byte> bytes_;
  std::shared_ptr<const std::string> adopted_;  // set: the data lives here, not in bytes_
};

}  // namespace lowp
