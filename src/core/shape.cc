// core/shape.cc
#include "core/shape.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/checked_math.h"

namespace lowp {

Shape::Shape(std::initializer_list<std::int64_t> dims) : Shape(std::vector<std::int64_t>(dims)) {}

Shape::Shape(std::vector<std::int64_t> dims) : dims_(std::move(dims)) {
  elements_ = checked_product(dims_, "shape");
}

std::string Shape::str() const {
  return fmt::format("[{}]", fmt::join(dims_, ", "));
}

}  // namespace lowp
