// runtime/ops/op_util.cc
#include "runtime/ops/op_util.h"

#include "kernels/transpose/transpose.h"

namespace lowp::runtime {

std::vector<std::size_t> strides_of(const Shape& shape) {
  std::vector<std::size_t> s(shape.rank(), 1);
  for (std::size_t i = shape.rank(); i-- > 1;) s[i - 1] = s[i] * static_cast<std::size_t>(shape[i]);
  return s;
}

Broadcaster::Broadcaster(const Shape& out, const std::vector<Shape>& inputs) {
  std::size_t rank = out.rank();
  std::size_t n = inputs.size();
  // Per input: strides aligned to the output's axes, 0 where the input broadcasts.
  std::vector<std::vector<std::size_t>> strides(n, std::vector<std::size_t>(rank, 0));
  for (std::size_t i = 0; i < n; ++i) {
    const Shape& s = inputs[i];
    LOWP_CHECK(s.rank() <= rank, "internal: broadcasting rank {} into {}", s.rank(), rank);
    std::vector<std::size_t> own = strides_of(s);
    std::size_t offset = rank - s.rank();
    for (std::size_t a = 0; a < s.rank(); ++a) {
      std::int64_t d = s[a];
      LOWP_CHECK(d == out[offset + a] || d == 1, "internal: shape {} does not broadcast to {}", s.str(), out.str());
      strides[i][offset + a] = (d == 1 && out[offset + a] != 1) ? 0 : own[a];
    }
  }
  // Merge adjacent axes where every input is contiguous across them (or broadcast
  // across both); drop axes of size 1.
  std::vector<std::int64_t> dims;
  std::vector<std::vector<std::size_t>> merged(n);
  for (std::size_t a = 0; a < rank; ++a) {
    if (out[a] == 1) continue;
    bool can_merge = !dims.empty();
    for (std::size_t i = 0; i < n && can_merge; ++i) {
      std::size_t prev = merged[i].back();
      std::size_t cur = strides[i][a];
      can_merge = (prev == 0 && cur == 0) || (cur != 0 && prev == cur * static_cast<std::size_t>(out[a]));
    }
    if (can_merge) {
      dims.back() *= out[a];
      for (std::size_t i = 0; i < n; ++i) merged[i].back() = strides[i][a];
    } else {
      dims.push_back(out[a]);
      for (std::size_t i = 0; i < n; ++i) merged[i].push_back(strides[i][a]);
    }
  }
  inner_stride_.assign(n, 0);
  if (dims.empty()) {  // a single element
    inner_ = out.elements();
    runs_ = inner_ == 0 ? 0 : 1;
    inner_ = std::min<std::size_t>(inner_, 1);
    outer_strides_.assign(n, {});
    return;
  }
  // The innermost axis becomes the run when every input has stride 0 or 1 on it.
  bool unit = true;
  for (std::size_t i = 0; i < n; ++i) unit = unit && merged[i].back() <= 1;
  if (unit) {
    inner_ = static_cast<std::size_t>(dims.back());
    for (std::size_t i = 0; i < n; ++i) {
      inner_stride_[i] = merged[i].back();
      merged[i].pop_back();
    }
    dims.pop_back();
  } else {
    inner_ = 1;
  }
  outer_dims_ = dims;
  outer_strides_ = merged;
  runs_ = 1;
  for (std::int64_t d : dims) runs_ *= static_cast<std::size_t>(d);
  if (out.elements() == 0) runs_ = 0;
}

void Broadcaster::offsets(std::size_t run, std::size_t* in_offsets) const {
  for (std::size_t i = 0; i < outer_strides_.size(); ++i) in_offsets[i] = 0;
  for (std::size_t a = outer_dims_.size(); a-- > 0;) {
    auto d = static_cast<std::size_t>(outer_dims_[a]);
    std::size_t idx = run % d;
    run /= d;
    for (std::size_t i = 0; i < outer_strides_.size(); ++i) in_offsets[i] += idx * outer_strides_[i][a];
  }
}

}  // namespace lowp::runtime

namespace lowp::runtime {

void transpose_planes_f32(const float* in, float* out, std::size_t n, std::size_t rows, std::size_t cols) {
  for (std::size_t b = 0; b < n; ++b) {
    transpose_x32(reinterpret_cast<const std::uint32_t*>(in + b * rows * cols),
                  reinterpret_cast<std::uint32_t*>(out + b * rows * cols), rows, cols, cols, rows);
  }
}

}  // namespace lowp::runtime
