// runtime/ops/op_util.h: what the op files share: element type dispatch and
// numpy-style broadcasting over any number of inputs.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/float_types.h"
#include "core/dtype.h"
#include "core/shape.h"

namespace lowp::runtime {

// Calls fn.template operator()<T>() with T the C++ element type of `dtype`: float, double,
// the integer types, bool, lowp::float16 / bfloat16 (arithmetic through float).
template <class Fn>
decltype(auto) dispatch_dtype(DType dtype, std::string_view what, Fn&& fn) {
  switch (dtype) {
    case DType::float32: return fn.template operator()<float>();
    case DType::float64: return fn.template operator()<double>();
    case DType::float16: return fn.template operator()<float16>();
    case DType::bfloat16: return fn.template operator()<bfloat16>();
    case DType::int8: return fn.template operator()<std::int8_t>();
    case DType::uint8: return fn.template operator()<std::uint8_t>();
    case DType::int16: return fn.template operator()<std::int16_t>();
    case DType::uint16: return fn.template operator()<std::uint16_t>();
    case DType::int32: return fn.template operator()<std::int32_t>();
    case DType::uint32: return fn.template operator()<std::uint32_t>();
    case DType::int64: return fn.template operator()<std::int64_t>();
    case DType::uint64: return fn.template operator()<std::uint64_t>();
    case DType::boolean: return fn.template operator()<bool>();
    default: fail("{}: element type {} is not supported", what, dtype_name(dtype));
  }
}

template <class T>
inline constexpr bool is_half_v = std::is_same_v<T, float16> || std::is_same_v<T, bfloat16>;

// The type arithmetic on T is done in: float for the 16-bit floats, else T.
template <class T>
using compute_t = std::conditional_t<is_half_v<T>, float, T>;

template <class T>
inline compute_t<T> load_value(T v) {
  if constexpr (is_half_v<T>) {
    return v.to_float();
  } else {
    return v;
  }
}
template <class T>
inline T store_value(compute_t<T> v) {
  if constexpr (is_half_v<T>) {
    return T::from_float(v);
  } else {
    return static_cast<T>(v);
  }
}

// Broadcasting of inputs to an output shape, collapsed into runs: `runs()` contiguous
// output runs of `inner()` elements, in which each input either advances by one element
// per output element (inner_stride 1) or repeats one element (inner_stride 0).
class Broadcaster {
 public:
  Broadcaster(const Shape& out, const std::vector<Shape>& inputs);
  std::size_t inner() const { return inner_; }
  std::size_t runs() const { return runs_; }
  std::size_t inner_stride(std::size_t input) const { return inner_stride_[input]; }
  // Element offset of each input at the start of run `run`.
  void offsets(std::size_t run, std::size_t* in_offsets) const;

 private:
  std::size_t inner_ = 1, runs_ = 1;
  std::vector<std::int64_t> outer_dims_;               // collapsed outer dims
  std::vector<std::vector<std::size_t>> outer_strides_;  // per input, per outer dim
  std::vector<std::size_t> inner_stride_;
};

// Row-major strides of a shape, in elements.
std::vector<std::size_t> strides_of(const Shape& shape);

}  // namespace lowp::runtime

namespace lowp::runtime {

// [n][rows][cols] -> [n][cols][rows] for 4-byte elements, on the transpose_x32 kernels
// (kernels/transpose): NCHW <-> NHWC is this with (rows, cols) = (C, H*W) or (H*W, C).
void transpose_planes_f32(const float* in, float* out, std::size_t n, std::size_t rows, std::size_t cols);


}  // namespace lowp::runtime
