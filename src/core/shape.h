// core/shape.h: tensor dimensions, validated on construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace lowp {

class Shape {
 public:
  Shape() = default;
  // Throws lowp::Error on a negative dimension or an element count that overflows.
  Shape(std::initializer_list<std::int64_t> dims);
  explicit Shape(std::vector<std::int64_t> dims);

  std::size_t rank() const { return dims_.size(); }
  std::int64_t operator[](std::size_t axis) const { return dims_.at(axis); }
  const std::vector<std::int64_t>& dims() const { return dims_; }
  std::size_t elements() const { return elements_; }
  std::string str() const;  // "[2, 3, 4]"
  bool operator==(const Shape& other) const { return dims_ == other.dims_; }

 private:
  std::vector<std::int64_t> dims_;
  std::size_t elements_ = 1;
};

}  // namespace lowp
