// core/tensor.cc
#include "core/tensor.h"

#include <cstring>

namespace lowp {

Tensor Tensor::adopt(DType type, Shape shape, std::string&& bytes) {
  std::size_t need = dtype_storage_bytes(type, shape.elements());
  LOWP_CHECK(bytes.size() == need, "adopting {} bytes for a {} tensor of shape {} that needs {}", bytes.size(),
             dtype_name(type), shape.str(), need);
  Tensor t;
  t.type_ = type;
  t.shape_ = std::move(shape);
  t.adopted_ = std::make_shared<const std::string>(std::move(bytes));
  return t;
}

void Tensor::own() {
  AlignedBuffer<std::byte> owned(adopted_->size(), AlignedBuffer<std::byte>::Uninitialized{});
  if (!adopted_->empty()) std::memcpy(owned.data(), adopted_->data(), adopted_->size());
  bytes_ = std::move(owned);
  adopted_.reset();
}

}  // namespace lowp
