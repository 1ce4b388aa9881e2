// runtime/ops/shape_ops.cc: kernels of the ops that move data without arithmetic: Shape,
// Size, Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Split, Slice, Gather,
// GatherElements, Expand, Tile, Pad, ConstantOfShape, Range.
//
// Data movement does not care what the bytes mean, so every kernel here is written once
// per element width (1, 2, 4 or 8 bytes) and serves every dtype of that width; packed
// 4-bit tensors are refused at bind (UnsupportedError). Output shapes come from the
// session's shape inference, so most binders need nothing but shapes. Inputs that only
// carry data (Gather's indices, Pad's constant_value, Range's start and delta) are read in
// run(). Slice's starts/ends/axes/steps and Pad's pads/axes are planned once at bind when
// constant; when they arrive at run time (the output shape was declared by the model),
// run() plans them into storage sized at bind, and parameters that do not give the bound
// output shape produce zeros (run() cannot report).
//
// Most of these ops reduce to one primitive, StridedCopy: a dense output whose element
// at multi-index i comes from input offset base + sum(i[a] * stride[a]) (strides may be
// zero: broadcast, or negative: reversed slices). Axes are merged where the strides allow
// it, so a Slice of rows or a Transpose that keeps the innermost axis becomes a loop of
// memcpy. A Transpose that moves the innermost axis runs a blocked 2-D kernel instead.
//
// Out-of-range indices that arrive at run time (Gather, GatherElements) are never read
// out of bounds: the element is written as zero and the op reports the index
// (RunContext::report), which fails the run naming the node. Constant indices are checked
// at bind.
#include <algorithm>
#include <cstring>
#include <limits>

#include "kernels/transpose/transpose.h"
#include "runtime/op.h"

namespace lowp::runtime {
namespace {

using Index = std::int64_t;

// ---- helpers ----

// Bytes per element; a packed 4-bit type cannot be moved element by element.
std::size_t element_width(const BindArgs& a, DType d) {
  if (dtype_bits(d) % 8 != 0) a.unsupported("packed {} tensors are not supported", dtype_name(d));
  return dtype_bits(d) / 8;
}

// Calls fn.template operator()<T>() with an unsigned integer type of `width` bytes.
template <class Fn>
decltype(auto) dispatch_width(std::size_t width, Fn&& fn) {
  switch (width) {
    case 1: return fn.template operator()<std::uint8_t>();
    case 2: return fn.template operator()<std::uint16_t>();
    case 4: return fn.template operator()<std::uint32_t>();
    case 8: return fn.template operator()<std::uint64_t>();
    default: fail("internal: element width {}", width);
  }
}

std::vector<Index> dims_of(const Shape& s) { return s.dims(); }

Index product(const std::vector<Index>& dims, std::size_t from, std::size_t to) {
  Index p = 1;
  for (std::size_t i = from; i < to; ++i) p *= dims[i];
  return p;
}

std::vector<Index> row_major_strides(const std::vector<Index>& dims) {
  std::vector<Index> s(dims.size(), 1);
  for (std::size_t i = dims.size(); i-- > 1;) s[i - 1] = s[i] * dims[i];
  return s;
}

Index normalize_axis(const BindArgs& a, Index axis, std::size_t rank, std::string_view what = "axis") {
  auto r = static_cast<Index>(rank);
  if (axis < -r || axis >= r) a.fail("{} {} is out of range for rank {}", what, axis, rank);
  return axis < 0 ? axis + r : axis;
}

std::unique_ptr<BoundOp> make_op(std::string kernel, std::function<void(const RunContext&)> fn) {
  return std::make_unique<FunctionOp>(std::move(kernel), std::move(fn));
}

// ---- StridedCopy ----

// out[i] = in[base + sum(i[a] * strides[a])] for a dense output of `dims`, in elements.
// set() may be called again in run() (a Slice whose starts arrive at run time): it reuses
// the storage reserved for the rank, so it never allocates there.
class StridedCopy {
 public:
  explicit StridedCopy(std::size_t rank) {
    dims_.reserve(rank + 1);
    strides_.reserve(rank + 1);
  }
  StridedCopy(std::span<const Index> dims, std::span<const Index> strides, Index base) : StridedCopy(dims.size()) {
    set(dims, strides, base);
  }

  void set(std::span<const Index> dims, std::span<const Index> strides, Index base) {
    base_ = base;
    total_ = 1;
    for (Index d : dims) total_ *= d;
    dims_.clear();
    strides_.clear();
    // Drop axes of size 1, then merge an axis into the one before it when the input
    // walks them as one (stride[a - 1] == stride[a] * dims[a]).
    for (std::size_t a = 0; a < dims.size(); ++a) {
      if (dims[a] == 1) continue;
      if (!dims_.empty() && strides_.back() == strides[a] * dims[a]) {
        dims_.back() *= dims[a];
        strides_.back() = strides[a];
      } else {
        dims_.push_back(dims[a]);
        strides_.push_back(strides[a]);
      }
    }
    if (dims_.empty()) {
      dims_.push_back(1);
      strides_.push_back(1);
    }
    inner_ = dims_.back();
    inner_stride_ = strides_.back();
    rows_ = inner_ == 0 ? 0 : total_ / inner_;
  }

  std::string kernel() const { return inner_stride_ == 1 ? "strided_copy_memcpy" : "strided_copy"; }

  template <class T>
  void run(const std::byte* in_bytes, std::byte* out_bytes) const {
    if (total_ == 0) return;
    const T* in = reinterpret_cast<const T*>(in_bytes);
    T* out = reinterpret_cast<T*>(out_bytes);
    std::size_t outer_axes = dims_.size() - 1;
    for (Index r = 0; r < rows_; ++r) {
      Index offset = base_, rest = r;
      for (std::size_t a = outer_axes; a-- > 0;) {
        offset += (rest % dims_[a]) * strides_[a];
        rest /= dims_[a];
      }
      T* dst = out + r * inner_;
      const T* src = in + offset;
      if (inner_stride_ == 1) {
        std::memcpy(dst, src, static_cast<std::size_t>(inner_) * sizeof(T));
      } else if (inner_stride_ == 0) {
        std::fill(dst, dst + inner_, *src);
      } else {
        for (Index j = 0; j < inner_; ++j) dst[j] = src[j * inner_stride_];
      }
    }
  }

  // A BoundOp copying input 0 to output 0.
  static std::unique_ptr<BoundOp> bind(std::span<const Index> dims, std::span<const Index> strides, Index base,
                                       std::size_t width) {
    auto self = std::make_shared<StridedCopy>(dims, strides, base);
    return dispatch_width(width, [&]<class T>() {
      return make_op(self->kernel(), [self](const RunContext& ctx) { self->run<T>(ctx.inputs[0], ctx.outputs[0]); });
    });
  }

 private:
  std::vector<Index> dims_, strides_;
  Index base_ = 0, total_ = 0, inner_ = 1, inner_stride_ = 1, rows_ = 0;
};

// Integers of an int32 or int64 input, read in place.
struct IntInput {
  const std::byte* data = nullptr;
  bool is64 = true;
  std::size_t size = 0;
  Index operator[](std::size_t i) const {
    if (is64) {
      std::int64_t v;
      std::memcpy(&v, data + i * 8, 8);
      return v;
    }
    std::int32_t v;
    std::memcpy(&v, data + i * 4, 4);
    return v;
  }
};

// The dtype and size of an integer input, checked at bind; data comes at run time (or
// from the constant).
IntInput int_input(const BindArgs& a, std::size_t i, std::string_view what) {
  const TensorInfo& t = a.in(i);
  if (t.dtype != DType::int64 && t.dtype != DType::int32) a.fail("{} must be int64 or int32, not {}", what, dtype_name(t.dtype));
  if (t.shape.rank() > 1) a.fail("{} must be a 1-D tensor, not {}", what, t.shape.str());
  return IntInput{t.constant ? t.constant->raw() : nullptr, t.dtype == DType::int64, t.shape.elements()};
}

bool all_constant(const BindArgs& a, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to; ++i) {
    if (a.has(i) && !a.in(i).constant) return false;
  }
  return true;
}

// ---- Shape, Size ----

std::unique_ptr<BoundOp> bind_constant_int64s(std::vector<std::int64_t> values) {
  return make_op("constant", [values = std::move(values)](const RunContext& ctx) {
    if (!values.empty()) std::memcpy(ctx.outputs[0], values.data(), values.size() * sizeof(std::int64_t));
  });
}

std::unique_ptr<BoundOp> bind_shape(const BindArgs& a) {
  const std::vector<Index>& dims = a.in(0).shape.dims();
  auto rank = static_cast<Index>(dims.size());
  auto clamp = [&](Index v) { return std::clamp<Index>(v < 0 ? v + rank : v, 0, rank); };
  Index start = clamp(a.node.attr_int("start", 0));
  Index end = clamp(a.node.attr_int("end", rank));
  std::vector<std::int64_t> values;
  for (Index i = start; i < end; ++i) values.push_back(dims[static_cast<std::size_t>(i)]);
  if (a.out(0).dtype != DType::int64 || a.out(0).shape.elements() != values.size()) {
    a.fail("output must be int64[{}], not {}{}", values.size(), dtype_name(a.out(0).dtype), a.out(0).shape.str());
  }
  return bind_constant_int64s(std::move(values));
}

std::unique_ptr<BoundOp> bind_size(const BindArgs& a) {
  if (a.out(0).dtype != DType::int64 || a.out(0).shape.elements() != 1) a.fail("output must be one int64");
  return bind_constant_int64s({static_cast<std::int64_t>(a.in(0).shape.elements())});
}

// ---- Reshape, Flatten, Squeeze, Unsqueeze: same bytes, another shape ----

std::unique_ptr<BoundOp> bind_copy(const BindArgs& a) {
  if (a.in(0).dtype != a.out(0).dtype || a.in(0).shape.elements() != a.out(0).shape.elements()) {
    a.fail("output {}{} does not hold the input's {}{} elements", dtype_name(a.out(0).dtype), a.out(0).shape.str(),
           dtype_name(a.in(0).dtype), a.in(0).shape.str());
  }
  std::size_t bytes = dtype_storage_bytes(a.in(0).dtype, a.in(0).shape.elements());
  return make_op("copy", [bytes](const RunContext& ctx) {
    if (bytes != 0 && ctx.outputs[0] != ctx.inputs[0]) std::memcpy(ctx.outputs[0], ctx.inputs[0], bytes);
  });
}

// ---- Transpose ----

// [rows][cols] (input, row stride `in_stride`) -> [cols][rows] (output, row stride
// `out_stride`), in tiles of kTile x kTile so that both sides stay in cache lines.
template <class T>
void transpose_2d(const T* in, T* out, Index rows, Index cols, Index in_row_stride, Index in_col_stride,
                  Index out_row_stride) {
  // Output element (c, r) = input (r, c); output rows are contiguous in r.
  constexpr Index kTile = 64 / sizeof(T) < 8 ? 8 : 64 / static_cast<Index>(sizeof(T));
  for (Index c0 = 0; c0 < cols; c0 += kTile) {
    Index c1 = std::min(cols, c0 + kTile);
    for (Index r0 = 0; r0 < rows; r0 += kTile) {
      Index r1 = std::min(rows, r0 + kTile);
      for (Index c = c0; c < c1; ++c) {
        T* dst = out + c * out_row_stride;
        const T* src = in + c * in_col_stride;
        for (Index r = r0; r < r1; ++r) dst[r] = src[r * in_row_stride];
      }
    }
  }
}

// A transpose that moves the input's innermost axis: the output's last axis (input
// stride `s_last`) and the output axis `b` that reads the input contiguously form 2-D
// tiles; every other axis is an outer loop.
class BlockedTranspose {
 public:
  BlockedTranspose(std::vector<Index> dims, std::vector<Index> in_strides) {
    std::size_t rank = dims.size();
    std::vector<Index> out_strides = row_major_strides(dims);
    std::size_t last = rank - 1;
    std::size_t b = 0;
    while (in_strides[b] != 1) ++b;  // exists: the caller checked
    rows_ = dims[last];
    cols_ = dims[b];
    in_row_stride_ = in_strides[last];
    out_row_stride_ = out_strides[b];
    for (std::size_t a = 0; a < rank; ++a) {
      if (a == b || a == last) continue;
      outer_dims_.push_back(dims[a]);
      outer_in_.push_back(in_strides[a]);
      outer_out_.push_back(out_strides[a]);
    }
    outer_count_ = 1;
    for (Index d : outer_dims_) outer_count_ *= d;
    if (rows_ == 0 || cols_ == 0) outer_count_ = 0;
  }

  template <class T>
  void run(const std::byte* in_bytes, std::byte* out_bytes) const {
    const T* in = reinterpret_cast<const T*>(in_bytes);
    T* out = reinterpret_cast<T*>(out_bytes);
    for (Index o = 0; o < outer_count_; ++o) {
      Index in_off = 0, out_off = 0, rest = o;
      for (std::size_t a = outer_dims_.size(); a-- > 0;) {
        Index i = rest % outer_dims_[a];
        rest /= outer_dims_[a];
        in_off += i * outer_in_[a];
        out_off += i * outer_out_[a];
      }
      // Output element [.., c (axis b), .., r (last)] = input offset c + r * in_row_stride.
      if constexpr (sizeof(T) == 4) {
        transpose_x32(in + in_off, out + out_off, static_cast<std::size_t>(rows_), static_cast<std::size_t>(cols_),
                      static_cast<std::size_t>(in_row_stride_), static_cast<std::size_t>(out_row_stride_));
      } else {
        transpose_2d<T>(in + in_off, out + out_off, rows_, cols_, in_row_stride_, 1, out_row_stride_);
      }
    }
  }

 private:
  std::vector<Index> outer_dims_, outer_in_, outer_out_;
  Index outer_count_ = 0, rows_ = 0, cols_ = 0, in_row_stride_ = 0, out_row_stride_ = 0;
};

std::unique_ptr<BoundOp> bind_transpose(const BindArgs& a) {
  std::size_t width = element_width(a, a.in(0).dtype);
  std::vector<Index> in_dims = dims_of(a.in(0).shape);
  std::size_t rank = in_dims.size();
  std::vector<Index> perm = a.node.attr_ints("perm");
  if (perm.empty()) {
    for (std::size_t i = 0; i < rank; ++i) perm.push_back(static_cast<Index>(rank - 1 - i));
  }
  if (perm.size() != rank) a.fail("perm has {} entries for rank {}", perm.size(), rank);
  std::vector<bool> seen(rank, false);
  std::vector<Index> in_strides = row_major_strides(in_dims);
  std::vector<Index> dims, strides;
  for (Index p : perm) {
    auto axis = static_cast<std::size_t>(normalize_axis(a, p, rank, "perm entry"));
    if (seen[axis]) a.fail("perm repeats axis {}", axis);
    seen[axis] = true;
    dims.push_back(in_dims[axis]);
    strides.push_back(in_strides[axis]);
  }
  if (Shape(dims) != a.out(0).shape) a.fail("output shape {} is not the permuted {}", a.out(0).shape.str(), Shape(dims).str());
  if (a.out(0).shape.elements() == 0) return make_op("none", [](const RunContext&) {});
  // Merge axes that stay neighbours (and drop size-1 axes) before choosing the kernel.
  std::vector<Index> md, ms;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 1) continue;
    if (!md.empty() && ms.back() == strides[i] * dims[i]) {
      md.back() *= dims[i];
      ms.back() = strides[i];
    } else {
      md.push_back(dims[i]);
      ms.push_back(strides[i]);
    }
  }
  bool moves_inner = !md.empty() && ms.back() != 1;
  if (!moves_inner) return StridedCopy::bind(dims, strides, 0, width);
  auto t = std::make_shared<BlockedTranspose>(md, ms);
  return dispatch_width(width, [&]<class T>() {
    std::string kernel = sizeof(T) == 4 ? transpose_x32_kernel_name() : "transpose_blocked";
    return make_op(kernel, [t](const RunContext& ctx) { t->run<T>(ctx.inputs[0], ctx.outputs[0]); });
  });
}

// ---- Concat, Split ----

std::unique_ptr<BoundOp> bind_concat(const BindArgs& a) {
  const Shape& out = a.out(0).shape;
  std::size_t rank = out.rank();
  auto axis = static_cast<std::size_t>(normalize_axis(a, a.node.attr_int("axis", 0), rank));
  std::size_t width = element_width(a, a.out(0).dtype);
  std::vector<Index> od = dims_of(out);
  Index outer = product(od, 0, axis);
  Index inner = product(od, axis + 1, rank);
  std::vector<std::size_t> chunk;  // bytes each input gives per outer index
  Index sum = 0;
  for (std::size_t i = 0; i < a.inputs.size(); ++i) {
    const TensorInfo& t = a.in(i);
    if (t.dtype != a.out(0).dtype || t.shape.rank() != rank) a.fail("input {} does not match the output {}", i, out.str());
    for (std::size_t d = 0; d < rank; ++d) {
      if (d != axis && t.shape.dims()[d] != od[d]) a.fail("input {} has shape {}, the output {}", i, t.shape.str(), out.str());
    }
    sum += t.shape.dims()[axis];
    chunk.push_back(static_cast<std::size_t>(t.shape.dims()[axis] * inner) * width);
  }
  if (sum != od[axis]) a.fail("inputs give {} along axis {}, the output has {}", sum, axis, od[axis]);
  std::size_t out_chunk = static_cast<std::size_t>(od[axis] * inner) * width;
  return make_op("concat", [chunk, outer, out_chunk](const RunContext& ctx) {
    for (Index o = 0; o < outer; ++o) {
      std::byte* dst = ctx.outputs[0] + static_cast<std::size_t>(o) * out_chunk;
      for (std::size_t i = 0; i < chunk.size(); ++i) {
        if (chunk[i] == 0) continue;
        std::memcpy(dst, ctx.inputs[i] + static_cast<std::size_t>(o) * chunk[i], chunk[i]);
        dst += chunk[i];
      }
    }
  });
}

std::unique_ptr<BoundOp> bind_split(const BindArgs& a) {
  const Shape& in = a.in(0).shape;
  std::size_t rank = in.rank();
  auto axis = static_cast<std::size_t>(normalize_axis(a, a.node.attr_int("axis", 0), rank));
  std::size_t width = element_width(a, a.in(0).dtype);
  std::vector<Index> id = dims_of(in);
  Index outer = product(id, 0, axis);
  Index inner = product(id, axis + 1, rank);
  std::vector<std::size_t> chunk;  // bytes per outer index, per output; 0 for an omitted one
  Index sum = 0;
  for (std::size_t i = 0; i < a.outputs.size(); ++i) {
    const TensorInfo& t = a.out(i);
    if (t.shape.rank() != rank) a.fail("output {} has rank {}, the input {}", i, t.shape.rank(), rank);
    for (std::size_t d = 0; d < rank; ++d) {
      if (d != axis && t.shape.dims()[d] != id[d]) a.fail("output {} has shape {}, the input {}", i, t.shape.str(), in.str());
    }
    sum += t.shape.dims()[axis];
    chunk.push_back(static_cast<std::size_t>(t.shape.dims()[axis] * inner) * width);
  }
  if (sum != id[axis]) a.fail("outputs take {} along axis {}, the input has {}", sum, axis, id[axis]);
  std::size_t in_chunk = static_cast<std::size_t>(id[axis] * inner) * width;
  return make_op("split", [chunk, outer, in_chunk](const RunContext& ctx) {
    for (Index o = 0; o < outer; ++o) {
      const std::byte* src = ctx.inputs[0] + static_cast<std::size_t>(o) * in_chunk;
      for (std::size_t i = 0; i < chunk.size(); ++i) {
        if (chunk[i] != 0) std::memcpy(ctx.outputs[i] + static_cast<std::size_t>(o) * chunk[i], src, chunk[i]);
        src += chunk[i];
      }
    }
  });
}

// ---- Slice ----

// Where a slice starts, its step and its length along every axis of `dims`. Returns
// nullptr, or the rule that the parameters break (bind reports it; run() cannot, and
// writes zeros instead). Writes only into the vectors' existing elements.
const char* plan_slice(const std::vector<Index>& dims, const IntInput& starts, const IntInput& ends,
                       const IntInput* axes, const IntInput* steps, std::vector<Index>& begin,
                       std::vector<Index>& step, std::vector<Index>& count, std::vector<char>& seen) {
  std::size_t rank = dims.size();
  std::size_t n = starts.size;
  if (ends.size != n || (axes && axes->size != n) || (steps && steps->size != n)) {
    return "starts, ends, axes and steps must have the same length";
  }
  for (std::size_t d = 0; d < rank; ++d) {
    begin[d] = 0;
    step[d] = 1;
    count[d] = dims[d];
    seen[d] = 0;
  }
  auto r = static_cast<Index>(rank);
  for (std::size_t i = 0; i < n; ++i) {
    Index ax = axes ? (*axes)[i] : static_cast<Index>(i);
    if (ax < -r || ax >= r) return "an axis is out of range";
    if (ax < 0) ax += r;
    auto d = static_cast<std::size_t>(ax);
    if (seen[d]) return "axes repeat an axis";
    seen[d] = 1;
    Index len = dims[d], st = steps ? (*steps)[i] : 1;
    if (st == 0) return "a step is 0";
    // INT64_MIN / INT64_MAX stand for the ends: clamp before adding len.
    Index s = std::clamp<Index>(starts[i], -len - 1, len + 1);
    Index e = std::clamp<Index>(ends[i], -len - 1, len + 1);
    if (s < 0) s += len;
    if (e < 0) e += len;
    Index c;
    // Counts as 1 + (distance - 1) / |step|: no intermediate overflows, even for steps
    // of INT64_MIN / INT64_MAX.
    if (st > 0) {
      s = std::clamp<Index>(s, 0, len);
      e = std::clamp<Index>(e, 0, len);
      c = e > s ? 1 + (e - s - 1) / st : 0;
    } else {
      s = std::clamp<Index>(s, -1, len - 1);
      e = std::clamp<Index>(e, -1, len - 1);
      Index magnitude = st == std::numeric_limits<Index>::min() ? std::numeric_limits<Index>::max() : -st;
      c = s > e ? 1 + (s - e - 1) / magnitude : 0;
    }
    begin[d] = c > 0 ? s : 0;
    step[d] = st;
    count[d] = c;
  }
  return nullptr;
}

template <class T>
class SliceOp final : public BoundOp {
 public:
  explicit SliceOp(const BindArgs& a)
      : in_dims_(dims_of(a.in(0).shape)),
        out_dims_(dims_of(a.out(0).shape)),
        in_strides_(row_major_strides(in_dims_)),
        copy_(in_dims_.size()) {
    std::size_t rank = in_dims_.size();
    starts_ = int_input(a, 1, "starts");
    ends_ = int_input(a, 2, "ends");
    has_axes_ = a.has(3);
    has_steps_ = a.has(4);
    if (has_axes_) axes_ = int_input(a, 3, "axes");
    if (has_steps_) steps_ = int_input(a, 4, "steps");
    begin_.resize(rank);
    step_.resize(rank);
    count_.resize(rank);
    strides_.resize(rank);
    seen_.resize(rank);
    out_bytes_ = a.out(0).shape.elements() * sizeof(T);
    if (out_dims_.size() != rank) a.fail("output rank {} differs from the input's {}", out_dims_.size(), rank);
    fixed_ = all_constant(a, 1, 5);
    if (fixed_) {
      if (const char* broken = plan()) a.fail("{}", broken);
      if (count_ != out_dims_) a.fail("output shape {} differs from the slice's {}", a.out(0).shape.str(), Shape(count_).str());
    }
  }

  void run(const RunContext& ctx) override {
    if (!fixed_) {
      starts_.data = ctx.inputs[1];
      ends_.data = ctx.inputs[2];
      if (has_axes_) axes_.data = ctx.inputs[3];
      if (has_steps_) steps_.data = ctx.inputs[4];
      if (plan() != nullptr || count_ != out_dims_) {
        if (out_bytes_) std::memset(ctx.outputs[0], 0, out_bytes_);  // parameters that break the rules: zeros
        return;
      }
    }
    copy_.run<T>(ctx.inputs[0], ctx.outputs[0]);
  }

  std::string kernel() const override { return copy_.kernel(); }

 private:
  // Plans from the current parameters and configures the copy; the rule broken or nullptr.
  const char* plan() {
    const char* broken = plan_slice(in_dims_, starts_, ends_, has_axes_ ? &axes_ : nullptr,
                                    has_steps_ ? &steps_ : nullptr, begin_, step_, count_, seen_);
    if (broken) return broken;
    Index base = 0;
    for (std::size_t d = 0; d < in_dims_.size(); ++d) {
      base += begin_[d] * in_strides_[d];
      // An axis taking two or more elements has |step| < its size, so the product stays
      // within the tensor; one taking at most one never steps (and a step near INT64_MAX
      // must not be multiplied).
      strides_[d] = count_[d] > 1 ? in_strides_[d] * step_[d] : 0;
    }
    copy_.set(count_, strides_, base);
    return nullptr;
  }

  std::vector<Index> in_dims_, out_dims_, in_strides_;
  IntInput starts_, ends_, axes_, steps_;
  bool has_axes_ = false, has_steps_ = false, fixed_ = false;
  std::vector<Index> begin_, step_, count_, strides_;
  std::vector<char> seen_;
  std::size_t out_bytes_ = 0;
  StridedCopy copy_;
};

std::unique_ptr<BoundOp> bind_slice(const BindArgs& a) {
  return dispatch_width(element_width(a, a.in(0).dtype), [&]<class T>() -> std::unique_ptr<BoundOp> {
    return std::make_unique<SliceOp<T>>(a);
  });
}

// ---- Gather, GatherElements ----

template <class I>
void check_indices(const BindArgs& a, std::size_t input, Index limit, std::string_view what) {
  if (!a.in(input).constant) return;
  for (I v : a.in(input).constant->values<I>()) {
    auto k = static_cast<Index>(v);
    if (k < -limit || k >= limit) a.fail("index {} is out of range for {} of size {}", k, what, limit);
  }
}

template <class Fn>
decltype(auto) dispatch_index(const BindArgs& a, std::size_t input, Fn&& fn) {
  DType d = a.in(input).dtype;
  if (d == DType::int64) return fn.template operator()<std::int64_t>();
  if (d == DType::int32) return fn.template operator()<std::int32_t>();
  a.fail("indices must be int32 or int64, not {}", dtype_name(d));
}

std::unique_ptr<BoundOp> bind_gather(const BindArgs& a) {
  std::vector<Index> dd = dims_of(a.in(0).shape);
  std::size_t rank = dd.size();
  if (rank == 0) a.fail("data must have rank >= 1");
  auto axis = static_cast<std::size_t>(normalize_axis(a, a.node.attr_int("axis", 0), rank));
  std::size_t width = element_width(a, a.in(0).dtype);
  Index outer = product(dd, 0, axis);
  Index n = dd[axis];
  auto row = static_cast<std::size_t>(product(dd, axis + 1, rank)) * width;
  auto count = static_cast<Index>(a.in(1).shape.elements());
  if (a.out(0).shape.elements() != static_cast<std::size_t>(outer * count * product(dd, axis + 1, rank))) {
    a.fail("output shape {} does not match data {} and indices {}", a.out(0).shape.str(), a.in(0).shape.str(),
           a.in(1).shape.str());
  }
  return dispatch_index(a, 1, [&]<class I>() {
    check_indices<I>(a, 1, n, fmt::format("axis {}", axis));
    return make_op("gather", [outer, n, row, count](const RunContext& ctx) {
      if (row == 0) return;  // nothing to move (and the buffers may be null)
      const I* idx = ctx.in<I>(1);
      std::byte* dst = ctx.outputs[0];
      for (Index o = 0; o < outer; ++o) {
        const std::byte* src = ctx.inputs[0] + static_cast<std::size_t>(o * n) * row;
        for (Index j = 0; j < count; ++j, dst += row) {
          auto k = static_cast<Index>(idx[j]);
          if (k < 0) k += n;
          if (k >= 0 && k < n) {
            std::memcpy(dst, src + static_cast<std::size_t>(k) * row, row);
          } else {
            std::memset(dst, 0, row);  // never read out of bounds; the run fails below
            ctx.report(fmt::format("index {} at position {} is out of range for an axis of size {}",
                                   static_cast<Index>(idx[j]), j, n));
          }
        }
      }
    });
  });
}

std::unique_ptr<BoundOp> bind_gather_elements(const BindArgs& a) {
  std::vector<Index> dd = dims_of(a.in(0).shape);
  std::vector<Index> xd = dims_of(a.in(1).shape);
  std::size_t rank = dd.size();
  if (rank == 0 || xd.size() != rank) a.fail("data and indices must have the same rank >= 1");
  auto axis = static_cast<std::size_t>(normalize_axis(a, a.node.attr_int("axis", 0), rank));
  for (std::size_t d = 0; d < rank; ++d) {
    if (d != axis && xd[d] > dd[d]) a.fail("indices {} exceed data {} at axis {}", a.in(1).shape.str(), a.in(0).shape.str(), d);
  }
  if (a.out(0).shape != a.in(1).shape) a.fail("output shape must equal the indices' shape");
  std::size_t width = element_width(a, a.in(0).dtype);
  std::vector<Index> ds = row_major_strides(dd);
  Index n = dd[axis];
  Index inner = xd.back();
  Index rows = inner == 0 ? 0 : product(xd, 0, rank) / inner;
  return dispatch_index(a, 1, [&]<class I>() {
    check_indices<I>(a, 1, n, fmt::format("axis {}", axis));
    return dispatch_width(width, [&]<class T>() {
      return make_op("gather_elements", [xd, ds, axis, n, inner, rows, rank](const RunContext& ctx) {
        const T* data = ctx.in<T>(0);
        const I* idx = ctx.in<I>(1);
        T* out = ctx.out<T>(0);
        Index along = ds[axis];
        Index inner_stride = ds[rank - 1];
        for (Index r = 0; r < rows; ++r) {
          // Data offset of the row's first element, the gathered axis left at 0.
          Index base = 0, rest = r;
          for (std::size_t d = rank - 1; d-- > 0;) {
            Index i = rest % xd[d];
            rest /= xd[d];
            if (d != axis) base += i * ds[d];
          }
          const I* ir = idx + r * inner;
          T* orow = out + r * inner;
          for (Index j = 0; j < inner; ++j) {
            auto k = static_cast<Index>(ir[j]);
            if (k < 0) k += n;
            if (k < 0 || k >= n) {
              orow[j] = T{};  // never read out of bounds; the run fails
              ctx.report(fmt::format("index {} is out of range for an axis of size {}", static_cast<Index>(ir[j]), n));
              continue;
            }
            Index off = base + k * along + (axis == rank - 1 ? 0 : j * inner_stride);
            orow[j] = data[off];
          }
        }
      });
    });
  });
}

// ---- Expand, Tile ----

std::unique_ptr<BoundOp> bind_expand(const BindArgs& a) {
  std::size_t width = element_width(a, a.in(0).dtype);
  std::vector<Index> od = dims_of(a.out(0).shape);
  std::vector<Index> id = dims_of(a.in(0).shape);
  if (id.size() > od.size()) a.fail("input rank {} exceeds the output's {}", id.size(), od.size());
  std::vector<Index> is = row_major_strides(id);
  std::size_t offset = od.size() - id.size();
  std::vector<Index> strides(od.size(), 0);
  for (std::size_t d = 0; d < id.size(); ++d) {
    if (id[d] == od[offset + d]) {
      strides[offset + d] = is[d];
    } else if (id[d] != 1) {
      a.fail("input {} does not broadcast to {}", a.in(0).shape.str(), a.out(0).shape.str());
    }
  }
  return StridedCopy::bind(od, strides, 0, width);
}

std::unique_ptr<BoundOp> bind_tile(const BindArgs& a) {
  std::size_t width = element_width(a, a.in(0).dtype);
  std::vector<Index> id = dims_of(a.in(0).shape);
  std::vector<Index> od = dims_of(a.out(0).shape);
  std::size_t rank = id.size();
  if (od.size() != rank) a.fail("output rank differs from the input's");
  for (std::size_t d = 0; d < rank; ++d) {
    if (id[d] == 0 ? od[d] != 0 : od[d] % id[d] != 0) a.fail("output {} is not a tiling of {}", a.out(0).shape.str(), a.in(0).shape.str());
  }
  if (rank == 0) return bind_copy(a);
  std::vector<Index> is = row_major_strides(id);
  Index inner = id.back();
  Index repeats = inner == 0 ? 0 : od.back() / inner;
  Index rows = od.back() == 0 ? 0 : product(od, 0, rank - 1);
  if (a.out(0).shape.elements() == 0) rows = 0;
  std::size_t row_bytes = static_cast<std::size_t>(inner) * width;
  return make_op("tile", [id, od, is, rows, repeats, row_bytes, rank, width](const RunContext& ctx) {
    std::byte* dst = ctx.outputs[0];
    for (Index r = 0; r < rows; ++r) {
      Index off = 0, rest = r;
      for (std::size_t d = rank - 1; d-- > 0;) {
        Index i = rest % od[d];
        rest /= od[d];
        off += (i % id[d]) * is[d];
      }
      const std::byte* src = ctx.inputs[0] + static_cast<std::size_t>(off) * width;
      for (Index k = 0; k < repeats; ++k, dst += row_bytes) std::memcpy(dst, src, row_bytes);
    }
  });
}

// ---- Pad ----

enum class PadMode { constant, reflect, edge, wrap };

// Source coordinate of output coordinate `o` along an axis of input size `n` padded by
// `before`, or -1 for the constant. reflect and wrap repeat as numpy.pad does when the
// padding exceeds the axis.
Index pad_source(Index o, Index before, Index n, PadMode mode) {
  Index c = o - before;
  if (c >= 0 && c < n) return c;
  switch (mode) {
    case PadMode::constant: return -1;
    case PadMode::edge: return c < 0 ? 0 : n - 1;
    case PadMode::wrap: return ((c % n) + n) % n;
    case PadMode::reflect: {
      if (n == 1) return 0;
      Index period = 2 * (n - 1);
      Index m = ((c % period) + period) % period;
      return m < n ? m : period - m;
    }
  }
  return -1;
}

template <class T>
class PadOp final : public BoundOp {
 public:
  PadOp(const BindArgs& a, PadMode mode, std::string mode_name)
      : mode_(mode),
        mode_name_(std::move(mode_name)),
        in_dims_(dims_of(a.in(0).shape)),
        out_dims_(dims_of(a.out(0).shape)),
        in_strides_(row_major_strides(in_dims_)) {
    std::size_t rank = in_dims_.size();
    if (out_dims_.size() != rank) a.fail("output rank {} differs from the input's {}", out_dims_.size(), rank);
    pads_ = int_input(a, 1, "pads");
    has_axes_ = a.has(3);
    if (has_axes_) axes_ = int_input(a, 3, "axes");
    has_value_ = a.has(2);
    if (has_value_ && (a.in(2).shape.elements() != 1 || a.in(2).dtype != a.in(0).dtype)) {
      a.fail("constant_value must be one {} element", dtype_name(a.in(0).dtype));
    }
    before_.resize(rank);
    padded_.resize(rank);
    source_.resize(rank);
    for (std::size_t d = 0; d < rank; ++d) source_[d].resize(static_cast<std::size_t>(out_dims_[d]));
    inner_ = rank == 0 ? 1 : out_dims_.back();
    rows_ = inner_ == 0 ? 0 : static_cast<Index>(a.out(0).shape.elements()) / inner_;
    fixed_ = all_constant(a, 1, 2) && all_constant(a, 3, 4);
    if (fixed_) {
      if (const char* broken = plan()) a.fail("{} (pads {}, output {})", broken, Shape(padded_).str(), a.out(0).shape.str());
    }
  }

  void run(const RunContext& ctx) override {
    T* out = reinterpret_cast<T*>(ctx.outputs[0]);
    if (!fixed_) {
      pads_.data = ctx.inputs[1];
      if (has_axes_) axes_.data = ctx.inputs[3];
      if (plan() != nullptr) {  // parameters that break the rules: zeros
        std::fill(out, out + rows_ * inner_, T{});
        return;
      }
    }
    T value{};
    if (has_value_) std::memcpy(&value, ctx.inputs[2], sizeof(T));
    const T* in = reinterpret_cast<const T*>(ctx.inputs[0]);
    std::size_t rank = in_dims_.size();
    if (rank == 0) {
      out[0] = in[0];
      return;
    }
    const std::vector<Index>& last = source_[rank - 1];
    Index last_stride = in_strides_[rank - 1];
    for (Index r = 0; r < rows_; ++r) {
      T* dst = out + r * inner_;
      Index off = 0, rest = r;
      bool fill = false;
      for (std::size_t d = rank - 1; d-- > 0;) {
        Index s = source_[d][static_cast<std::size_t>(rest % out_dims_[d])];
        rest /= out_dims_[d];
        if (s < 0) fill = true;
        off += s * in_strides_[d];
      }
      if (fill) {
        std::fill(dst, dst + inner_, value);
        continue;
      }
      const T* src = in + off;
      for (Index j = 0; j < inner_; ++j) {
        Index s = last[static_cast<std::size_t>(j)];
        dst[j] = s < 0 ? value : src[s * last_stride];
      }
    }
  }

  std::string kernel() const override { return "pad_" + mode_name_; }

 private:
  // Reads pads (and axes), checks that they give the bound output shape, and fills the
  // per-axis source tables. Returns the rule broken or nullptr; never allocates.
  const char* plan() {
    std::size_t rank = in_dims_.size();
    auto r = static_cast<Index>(rank);
    std::size_t n = has_axes_ ? axes_.size : rank;
    if (pads_.size != 2 * n) return "pads must hold two entries per axis";
    for (std::size_t d = 0; d < rank; ++d) {
      before_[d] = 0;
      padded_[d] = in_dims_[d];
    }
    for (std::size_t i = 0; i < n; ++i) {
      Index ax = has_axes_ ? axes_[i] : static_cast<Index>(i);
      if (ax < -r || ax >= r) return "an axis is out of range";
      if (ax < 0) ax += r;
      auto d = static_cast<std::size_t>(ax);
      Index lo = pads_[i], hi = pads_[i + n];
      // Bounded so that the sum below cannot overflow; a real pad is far smaller.
      constexpr Index kLimit = Index{1} << 40;
      if (lo < -kLimit || lo > kLimit || hi < -kLimit || hi > kLimit) return "a pad is out of range";
      before_[d] = lo;
      padded_[d] = in_dims_[d] + lo + hi;
    }
    if (padded_ != out_dims_) return "the pads do not give the output shape";
    for (std::size_t d = 0; d < rank; ++d) {
      if (in_dims_[d] == 0 && out_dims_[d] > 0 && mode_ != PadMode::constant) return "only constant mode pads an empty axis";
      for (Index o = 0; o < out_dims_[d]; ++o) {
        source_[d][static_cast<std::size_t>(o)] = pad_source(o, before_[d], in_dims_[d], mode_);
      }
    }
    return nullptr;
  }

  PadMode mode_;
  std::string mode_name_;
  std::vector<Index> in_dims_, out_dims_, in_strides_;
  IntInput pads_, axes_;
  bool has_axes_ = false, has_value_ = false, fixed_ = false;
  std::vector<Index> before_, padded_;
  std::vector<std::vector<Index>> source_;  // per axis: output coordinate -> input, -1: constant
  Index inner_ = 1, rows_ = 0;
};

std::unique_ptr<BoundOp> bind_pad(const BindArgs& a) {
  std::string mode_name = a.node.attr_string("mode", "constant");
  PadMode mode;
  if (mode_name == "constant") mode = PadMode::constant;
  else if (mode_name == "reflect") mode = PadMode::reflect;
  else if (mode_name == "edge") mode = PadMode::edge;
  else if (mode_name == "wrap") mode = PadMode::wrap;
  else a.fail("mode '{}' is not constant, reflect, edge or wrap", mode_name);
  return dispatch_width(element_width(a, a.in(0).dtype), [&]<class T>() -> std::unique_ptr<BoundOp> {
    return std::make_unique<PadOp<T>>(a, mode, mode_name);
  });
}

// ---- ConstantOfShape, Range ----

std::unique_ptr<BoundOp> bind_constant_of_shape(const BindArgs& a) {
  DType dtype = a.out(0).dtype;
  std::size_t width = element_width(a, dtype);
  std::vector<std::byte> value(width);
  if (const ir::Attribute* v = a.node.find_attribute("value", ir::Attribute::Kind::kTensor)) {
    if (v->t->elements() != 1 || v->t->dtype() != dtype) a.fail("value must be one {} element", dtype_name(dtype));
    std::memcpy(value.data(), v->t->raw(), width);
  } else if (dtype != DType::float32) {
    a.fail("without a value attribute the output is float32, not {}", dtype_name(dtype));
  }
  std::size_t n = a.out(0).shape.elements();
  return dispatch_width(width, [&]<class T>() {
    T v;
    std::memcpy(&v, value.data(), sizeof(T));
    return make_op("fill", [v, n](const RunContext& ctx) { std::fill_n(ctx.out<T>(0), n, v); });
  });
}

std::unique_ptr<BoundOp> bind_range(const BindArgs& a) {
  DType d = a.out(0).dtype;
  for (std::size_t i = 0; i < 3; ++i) {
    if (a.in(i).dtype != d || a.in(i).shape.elements() != 1) a.fail("start, limit and delta must be {} scalars", dtype_name(d));
  }
  std::size_t n = a.out(0).shape.elements();
  // start + i * delta; integers wrap (through unsigned arithmetic) rather than overflow when
  // a declared output is longer than the range.
  auto make = [&]<class T>() {
    return make_op("range", [n](const RunContext& ctx) {
      T start = ctx.in<T>(0)[0], delta = ctx.in<T>(2)[0];
      T* y = ctx.out<T>(0);
      for (std::size_t i = 0; i < n; ++i) {
        if constexpr (std::is_integral_v<T>) {
          y[i] = static_cast<T>(static_cast<std::uint64_t>(start) +
                                static_cast<std::uint64_t>(i) * static_cast<std::uint64_t>(delta));
        } else {
          y[i] = static_cast<T>(start + static_cast<T>(i) * delta);
        }
      }
    });
  };
  switch (d) {
    case DType::float32: return make.operator()<float>();
    case DType::float64: return make.operator()<double>();
    case DType::int16: return make.operator()<std::int16_t>();
    case DType::int32: return make.operator()<std::int32_t>();
    case DType::int64: return make.operator()<std::int64_t>();
    default: a.fail("type {} is not float, double, int16, int32 or int64", dtype_name(d));
  }
}

constexpr OpBinding kBindings[] = {
    {"", "Shape", bind_shape},
    {"", "Size", bind_size},
    {"", "Reshape", bind_copy},
    {"", "Flatten", bind_copy},
    {"", "Squeeze", bind_copy},
    {"", "Unsqueeze", bind_copy},
    {"", "Transpose", bind_transpose},
    {"", "Concat", bind_concat},
    {"", "Split", bind_split},
    {"", "Slice", bind_slice},
    {"", "Gather", bind_gather},
    {"", "GatherElements", bind_gather_elements},
    {"", "Expand", bind_expand},
    {"", "Tile", bind_tile},
    {"", "Pad", bind_pad},
    {"", "ConstantOfShape", bind_constant_of_shape},
    {"", "Range", bind_range},
};

}  // namespace

std::span<const OpBinding> shape_op_bindings() {
  return kBindings;
}

}  // namespace lowp::runtime
