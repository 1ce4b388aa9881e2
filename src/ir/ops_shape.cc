// ir/ops_shape.cc: schemas of ops that move data without arithmetic (Shape, Reshape,
// Transpose, Concat, Slice, Gather, Expand, Pad...). Their output shapes often depend on
// constant inputs; when those are not constant yet, the rank (or nothing) is known.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>

#include "base/checked_math.h"
#include "ir/schema.h"

namespace lowp::ir {
namespace {

std::vector<Dim> known_dims(const std::vector<std::int64_t>& sizes) {
  std::vector<Dim> out;
  for (std::int64_t s : sizes) out.push_back(Dim::known(s));
  return out;
}

TensorType with_rank(std::optional<DType> dtype, std::size_t rank) {
  return TensorType{dtype, std::vector<Dim>(rank)};
}

void infer_shape(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  if (!in.dims) {
    ctx.set_output(0, with_rank(DType::int64, 1));
    return;
  }
  auto rank = static_cast<std::int64_t>(in.rank());
  auto clamp = [&](std::int64_t v) {
    if (v < 0) v += rank;
    return std::clamp<std::int64_t>(v, 0, rank);
  };
  std::int64_t start = clamp(ctx.node().attr_int("start", 0));
  std::int64_t end = clamp(ctx.node().attr_int("end", rank));
  ctx.set_output(0, TensorType{DType::int64, known_dims({std::max<std::int64_t>(0, end - start)})});
}

void infer_size(InferContext& ctx) {
  ctx.set_output(0, TensorType{DType::int64, std::vector<Dim>{}});
}

void infer_reshape(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  auto target = ctx.constant_ints(1);
  if (!target) {
    const TensorType& s = ctx.input(1);
    if (s.dims && s.rank() == 1 && (*s.dims)[0].is_known()) {
      ctx.set_output(0, with_rank(in.dtype, static_cast<std::size_t>((*s.dims)[0].value)));
    } else {
      ctx.set_output(0, TensorType{in.dtype, std::nullopt});
    }
    return;
  }
  bool allow_zero = ctx.node().attr_int("allowzero", 0) != 0;
  std::vector<Dim> out;
  int infer_at = -1;
  for (std::size_t i = 0; i < target->size(); ++i) {
    std::int64_t t = (*target)[i];
    if (t == -1) {
      if (infer_at >= 0) ctx.fail("shape has more than one -1");
      infer_at = static_cast<int>(i);
      out.push_back(Dim{});
    } else if (t == 0 && !allow_zero) {
      if (!in.dims || i >= in.rank()) {
        if (in.dims) ctx.fail("shape[{}] = 0 copies an input dimension that does not exist", i);
        out.push_back(Dim{});
      } else {
        out.push_back((*in.dims)[i]);
      }
    } else if (t < 0) {
      ctx.fail("shape[{}] = {} is negative", i, t);
    } else {
      out.push_back(Dim::known(t));
    }
  }
  if (in.is_concrete()) {
    std::size_t total = in.concrete_shape().elements();
    std::size_t known = 1;
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (static_cast<int>(i) != infer_at) {
        if (!out[i].is_known()) return ctx.set_output(0, TensorType{in.dtype, out});
        known = checked_mul(known, static_cast<std::size_t>(out[i].value), "reshape");
      }
    }
    if (infer_at >= 0) {
      if (known == 0 || total % known != 0) {
        ctx.fail("cannot reshape {} into {} elements per -1 slot", in.str(), known);
      }
      out[static_cast<std::size_t>(infer_at)] = Dim::known(static_cast<std::int64_t>(total / known));
    } else if (known != total) {
      ctx.fail("cannot reshape {} ({} elements) into {} elements", in.str(), total, known);
    }
  } else if (infer_at >= 0 && in.dims) {
    // Symbolic: when every other dim is known and the input's product of known dims
    // matches, still unknown; leave it.
  }
  ctx.set_output(0, TensorType{in.dtype, out});
}

void infer_flatten(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  if (!in.dims) return ctx.set_output(0, with_rank(in.dtype, 2));
  std::int64_t rank = static_cast<std::int64_t>(in.rank());
  std::int64_t axis = ctx.node().attr_int("axis", 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) ctx.fail("axis {} out of range for rank {}", axis, rank);
  auto product = [&](std::int64_t from, std::int64_t to) {
    std::int64_t p = 1;
    for (std::int64_t i = from; i < to; ++i) {
      const Dim& d = (*in.dims)[static_cast<std::size_t>(i)];
      if (!d.is_known()) return Dim{};
      p *= d.value;
    }
    return Dim::known(p);
  };
  ctx.set_output(0, TensorType{in.dtype, std::vector<Dim>{product(0, axis), product(axis, rank)}});
}

void infer_transpose(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  if (!in.dims) return ctx.set_output(0, TensorType{in.dtype, std::nullopt});
  std::size_t rank = in.rank();
  std::vector<std::int64_t> perm = ctx.node().attr_ints("perm");
  if (perm.empty()) {
    for (std::size_t i = 0; i < rank; ++i) perm.push_back(static_cast<std::int64_t>(rank - 1 - i));
  }
  if (perm.size() != rank) ctx.fail("perm has {} entries for rank {}", perm.size(), rank);
  std::vector<bool> seen(rank, false);
  std::vector<Dim> out;
  for (std::int64_t p : perm) {
    std::int64_t a = ctx.axis(p, rank, "perm entry");
    if (seen[static_cast<std::size_t>(a)]) ctx.fail("perm repeats axis {}", a);
    seen[static_cast<std::size_t>(a)] = true;
    out.push_back((*in.dims)[static_cast<std::size_t>(a)]);
  }
  ctx.set_output(0, TensorType{in.dtype, out});
}

void infer_squeeze(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  if (!in.dims) return ctx.set_output(0, TensorType{in.dtype, std::nullopt});
  std::vector<bool> drop(in.rank(), false);
  if (ctx.has_input(1)) {
    auto axes = ctx.constant_ints(1);
    if (!axes) return ctx.set_output(0, TensorType{in.dtype, std::nullopt});
    for (std::int64_t a : *axes) {
      auto i = static_cast<std::size_t>(ctx.axis(a, in.rank()));
      const Dim& d = (*in.dims)[i];
      if (d.is_known() && d.value != 1) ctx.fail("cannot squeeze axis {} of size {}", a, d.value);
      drop[i] = true;
    }
  } else {
    for (std::size_t i = 0; i < in.rank(); ++i) {
      const Dim& d = (*in.dims)[i];
      if (!d.is_known()) return ctx.set_output(0, TensorType{in.dtype, std::nullopt});
      drop[i] = d.value == 1;
    }
  }
  std::vector<Dim> out;
  for (std::size_t i = 0; i < in.rank(); ++i) {
    if (!drop[i]) out.push_back((*in.dims)[i]);
  }
  ctx.set_output(0, TensorType{in.dtype, out});
}

void infer_unsqueeze(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  auto axes = ctx.constant_ints(1);
  if (!in.dims || !axes) return ctx.set_output(0, TensorType{in.dtype, std::nullopt});
  std::size_t rank = in.rank() + axes->size();
  std::vector<bool> inserted(rank, false);
  for (std::int64_t a : *axes) {
    auto i = static_cast<std::size_t>(ctx.axis(a, rank));
    if (inserted[i]) ctx.fail("axes repeat axis {}", a);
    inserted[i] = true;
  }
  std::vector<Dim> out;
  std::size_t next = 0;
  for (std::size_t i = 0; i < rank; ++i) {
    out.push_back(inserted[i] ? Dim::known(1) : (*in.dims)[next++]);
  }
  ctx.set_output(0, TensorType{in.dtype, out});
}

void infer_concat(InferContext& ctx) {
  DType dtype = ctx.input_dtype(0);
  std::optional<std::vector<Dim>> out;
  for (std::size_t i = 0; i < ctx.input_count(); ++i) {
    if (ctx.input_dtype(i) != dtype) ctx.fail("input {} has type {}, input 0 {}", i, dtype_name(ctx.input_dtype(i)), dtype_name(dtype));
    const TensorType& t = ctx.input(i);
    if (!t.dims) return ctx.set_output(0, TensorType{dtype, std::nullopt});
    if (!out) {
      out = *t.dims;
      continue;
    }
    if (t.rank() != out->size()) ctx.fail("input {} has rank {}, input 0 rank {}", i, t.rank(), out->size());
  }
  std::size_t axis = static_cast<std::size_t>(ctx.axis(ctx.node().attr_int("axis", 0), out->size()));
  std::int64_t total = 0;
  bool known = true;
  for (std::size_t i = 0; i < ctx.input_count(); ++i) {
    const std::vector<Dim>& dims = *ctx.input(i).dims;
    for (std::size_t a = 0; a < dims.size(); ++a) {
      if (a == axis) continue;
      if (dims[a].is_known() && (*out)[a].is_known() && dims[a].value != (*out)[a].value) {
        ctx.fail("input {} has size {} at axis {}, input 0 has {}", i, dims[a].value, a, (*out)[a].value);
      }
      if (!(*out)[a].is_known() && dims[a].is_known()) (*out)[a] = dims[a];
    }
    if (dims[axis].is_known()) {
      total += dims[axis].value;
    } else {
      known = false;
    }
  }
  (*out)[axis] = known ? Dim::known(total) : Dim{};
  ctx.set_output(0, TensorType{dtype, out});
}

void infer_split(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  std::size_t outputs = ctx.output_count();
  if (!in.dims) {
    for (std::size_t i = 0; i < outputs; ++i) ctx.set_output(i, TensorType{in.dtype, std::nullopt});
    return;
  }
  auto axis = static_cast<std::size_t>(ctx.axis(ctx.node().attr_int("axis", 0), in.rank()));
  std::vector<std::int64_t> sizes;
  if (ctx.has_input(1)) {
    auto split = ctx.constant_ints(1);
    if (!split) {
      for (std::size_t i = 0; i < outputs; ++i) ctx.set_output(i, with_rank(in.dtype, in.rank()));
      return;
    }
    sizes = *split;
    if (sizes.size() != outputs) ctx.fail("split has {} sizes for {} outputs", sizes.size(), outputs);
    const Dim& d = (*in.dims)[axis];
    std::int64_t sum = std::accumulate(sizes.begin(), sizes.end(), std::int64_t{0});
    if (d.is_known() && sum != d.value) ctx.fail("split sizes sum to {}, axis {} has {}", sum, axis, d.value);
    for (std::int64_t s : sizes) {
      if (s < 0) ctx.fail("split size {} is negative", s);
    }
  } else {
    const Dim& d = (*in.dims)[axis];
    if (!d.is_known()) {
      for (std::size_t i = 0; i < outputs; ++i) ctx.set_output(i, with_rank(in.dtype, in.rank()));
      return;
    }
    // Equal parts; the last one smaller when the size does not divide (opset 18).
    auto n = static_cast<std::int64_t>(outputs);
    std::int64_t part = (d.value + n - 1) / n;
    for (std::int64_t i = 0; i < n; ++i) {
      sizes.push_back(std::max<std::int64_t>(0, std::min(part, d.value - i * part)));
    }
  }
  for (std::size_t i = 0; i < outputs; ++i) {
    std::vector<Dim> dims = *in.dims;
    dims[axis] = Dim::known(sizes[i]);
    ctx.set_output(i, TensorType{in.dtype, dims});
  }
}

void infer_slice(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  if (!in.dims) return ctx.set_output(0, TensorType{in.dtype, std::nullopt});
  std::size_t rank = in.rank();
  auto starts = ctx.constant_ints(1);
  auto ends = ctx.constant_ints(2);
  std::optional<std::vector<std::int64_t>> axes, steps;
  if (ctx.has_input(3)) axes = ctx.constant_ints(3);
  if (ctx.has_input(4)) steps = ctx.constant_ints(4);
  if (!starts || !ends || (ctx.has_input(3) && !axes) || (ctx.has_input(4) && !steps)) {
    return ctx.set_output(0, with_rank(in.dtype, rank));
  }
  if (starts->size() != ends->size()) ctx.fail("starts and ends differ in length");
  if (!axes) {
    axes.emplace();
    for (std::size_t i = 0; i < starts->size(); ++i) axes->push_back(static_cast<std::int64_t>(i));
  }
  if (!steps) steps = std::vector<std::int64_t>(starts->size(), 1);
  if (axes->size() != starts->size() || steps->size() != starts->size()) {
    ctx.fail("starts, ends, axes and steps must have the same length");
  }
  std::vector<Dim> out = *in.dims;
  std::vector<bool> seen(rank, false);
  for (std::size_t i = 0; i < starts->size(); ++i) {
    auto a = static_cast<std::size_t>(ctx.axis((*axes)[i], rank));
    if (seen[a]) ctx.fail("axes repeat axis {}", a);
    seen[a] = true;
    std::int64_t step = (*steps)[i];
    if (step == 0) ctx.fail("step is 0 at axis {}", a);
    const Dim& d = (*in.dims)[a];
    if (!d.is_known()) {
      out[a] = Dim{};
      continue;
    }
    std::int64_t n = d.value;
    std::int64_t s = (*starts)[i], e = (*ends)[i];
    if (s < 0) s += n;
    if (e < 0) e += n;
    // 1 + (distance - 1) / |step|: no overflow for steps of INT64_MIN / INT64_MAX.
    if (step > 0) {
      s = std::clamp<std::int64_t>(s, 0, n);
      e = std::clamp<std::int64_t>(e, 0, n);
      out[a] = Dim::known(e > s ? 1 + (e - s - 1) / step : 0);
    } else {
      s = std::clamp<std::int64_t>(s, -1, n - 1);
      e = std::clamp<std::int64_t>(e, -1, n - 1);
      std::int64_t magnitude = step == std::numeric_limits<std::int64_t>::min() ? std::numeric_limits<std::int64_t>::max() : -step;
      out[a] = Dim::known(s > e ? 1 + (s - e - 1) / magnitude : 0);
    }
  }
  ctx.set_output(0, TensorType{in.dtype, out});
}

void infer_gather(InferContext& ctx) {
  const TensorType& data = ctx.input(0);
  const TensorType& idx = ctx.input(1);
  DType it = ctx.input_dtype(1);
  if (it != DType::int64 && it != DType::int32) ctx.fail("indices must be int32 or int64");
  if (!data.dims || !idx.dims) return ctx.set_output(0, TensorType{data.dtype, std::nullopt});
  auto axis = static_cast<std::size_t>(ctx.axis(ctx.node().attr_int("axis", 0), data.rank()));
  std::vector<Dim> out(data.dims->begin(), data.dims->begin() + static_cast<std::ptrdiff_t>(axis));
  out.insert(out.end(), idx.dims->begin(), idx.dims->end());
  out.insert(out.end(), data.dims->begin() + static_cast<std::ptrdiff_t>(axis) + 1, data.dims->end());
  ctx.set_output(0, TensorType{data.dtype, out});
}

void infer_gather_elements(InferContext& ctx) {
  const TensorType& data = ctx.input(0);
  const TensorType& idx = ctx.input(1);
  if (data.dims && idx.dims && data.rank() != idx.rank()) ctx.fail("data and indices ranks differ");
  ctx.set_output(0, TensorType{data.dtype, idx.dims});
}

void infer_expand(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  auto shape = ctx.constant_ints(1);
  if (!in.dims || !shape) return ctx.set_output(0, TensorType{in.dtype, std::nullopt});
  std::vector<std::vector<Dim>> both = {*in.dims, known_dims(*shape)};
  for (std::int64_t s : *shape) {
    if (s < 0) ctx.fail("shape has a negative entry {}", s);
  }
  ctx.set_output(0, TensorType{in.dtype, broadcast_dims(ctx, both)});
}

void infer_tile(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  auto repeats = ctx.constant_ints(1);
  if (!in.dims || !repeats) return ctx.set_output(0, TensorType{in.dtype, in.dims ? std::optional(std::vector<Dim>(in.rank())) : std::nullopt});
  if (repeats->size() != in.rank()) ctx.fail("repeats has {} entries for rank {}", repeats->size(), in.rank());
  std::vector<Dim> out = *in.dims;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if ((*repeats)[i] < 0) ctx.fail("repeats[{}] is negative", i);
    out[i] = out[i].is_known() ? Dim::known(out[i].value * (*repeats)[i]) : Dim{};
  }
  ctx.set_output(0, TensorType{in.dtype, out});
}

void infer_pad(InferContext& ctx) {
  const TensorType& in = ctx.input(0);
  auto pads = ctx.constant_ints(1);
  if (!in.dims || !pads) return ctx.set_output(0, TensorType{in.dtype, in.dims ? std::optional(std::vector<Dim>(in.rank())) : std::nullopt});
  std::size_t rank = in.rank();
  std::vector<std::int64_t> axes;
  if (ctx.has_input(3)) {
    auto a = ctx.constant_ints(3);
    if (!a) return ctx.set_output(0, with_rank(in.dtype, rank));
    for (std::int64_t x : *a) axes.push_back(ctx.axis(x, rank));
  } else {
    for (std::size_t i = 0; i < rank; ++i) axes.push_back(static_cast<std::int64_t>(i));
  }
  if (pads->size() != 2 * axes.size()) ctx.fail("pads has {} entries for {} axes", pads->size(), axes.size());
  std::vector<Dim> out = *in.dims;
  for (std::size_t i = 0; i < axes.size(); ++i) {
    Dim& d = out[static_cast<std::size_t>(axes[i])];
    if (!d.is_known()) continue;
    std::int64_t size = d.value + (*pads)[i] + (*pads)[i + axes.size()];
    if (size < 0) ctx.fail("pads make axis {} negative", axes[i]);
    d = Dim::known(size);
  }
  ctx.set_output(0, TensorType{in.dtype, out});
}

void infer_constant_of_shape(InferContext& ctx) {
  DType dtype = DType::float32;
  if (const Attribute* v = ctx.node().find_attribute("value", Attribute::Kind::kTensor)) {
    if (v->t->elements() != 1) ctx.fail("value must hold one element");
    dtype = v->t->dtype();
  }
  auto shape = ctx.constant_ints(0);
  if (!shape) {
    const TensorType& s = ctx.input(0);
    if (s.dims && s.rank() == 1 && (*s.dims)[0].is_known()) {
      return ctx.set_output(0, with_rank(dtype, static_cast<std::size_t>((*s.dims)[0].value)));
    }
    return ctx.set_output(0, TensorType{dtype, std::nullopt});
  }
  for (std::int64_t s : *shape) {
    if (s < 0) ctx.fail("shape has a negative entry {}", s);
  }
  ctx.set_output(0, TensorType{dtype, known_dims(*shape)});
}

void infer_range(InferContext& ctx) {
  DType dtype = ctx.input_dtype(0);
  std::vector<Dim> out{Dim{}};
  const Tensor* start = ctx.constant(0);
  const Tensor* limit = ctx.constant(1);
  const Tensor* delta = ctx.constant(2);
  if (start && limit && delta) {
    auto scalar = [&](const Tensor* t) -> double {
      if (t->elements() != 1) ctx.fail("start, limit and delta must be scalars");
      switch (t->dtype()) {
        case DType::float32: return t->values<float>()[0];
        case DType::float64: return t->values<double>()[0];
        case DType::int16: return t->values<std::int16_t>()[0];
        case DType::int32: return t->values<std::int32_t>()[0];
        case DType::int64: return static_cast<double>(t->values<std::int64_t>()[0]);
        default: ctx.fail("type {} is not supported", dtype_name(t->dtype()));
      }
    };
    double s = scalar(start), l = scalar(limit), d = scalar(delta);
    if (d == 0) ctx.fail("delta is 0");
    double n = std::ceil((l - s) / d);
    if (!(n < 1e12)) ctx.fail("the range has too many elements");
    out[0] = Dim::known(std::max<std::int64_t>(0, static_cast<std::int64_t>(n)));
  }
  ctx.set_output(0, TensorType{dtype, out});
}

constexpr int kMany = 1 << 20;

constexpr std::array kSchemas = {
    OpSchema{"", "Shape", 1, 1, 1, 1, infer_shape},
    OpSchema{"", "Size", 1, 1, 1, 1, infer_size},
    OpSchema{"", "Reshape", 2, 2, 1, 1, infer_reshape},
    OpSchema{"", "Flatten", 1, 1, 1, 1, infer_flatten},
    OpSchema{"", "Transpose", 1, 1, 1, 1, infer_transpose},
    OpSchema{"", "Squeeze", 1, 2, 1, 1, infer_squeeze},
    OpSchema{"", "Unsqueeze", 2, 2, 1, 1, infer_unsqueeze},
    OpSchema{"", "Concat", 1, kMany, 1, 1, infer_concat},
    OpSchema{"", "Split", 1, 2, 1, kMany, infer_split},
    OpSchema{"", "Slice", 3, 5, 1, 1, infer_slice},
    OpSchema{"", "Gather", 2, 2, 1, 1, infer_gather},
    OpSchema{"", "GatherElements", 2, 2, 1, 1, infer_gather_elements},
    OpSchema{"", "Expand", 2, 2, 1, 1, infer_expand},
    OpSchema{"", "Tile", 2, 2, 1, 1, infer_tile},
    OpSchema{"", "Pad", 2, 4, 1, 1, infer_pad},
    OpSchema{"", "ConstantOfShape", 1, 1, 1, 1, infer_constant_of_shape},
    OpSchema{"", "Range", 3, 3, 1, 1, infer_range},
};

}  // namespace

std::span<const OpSchema> shape_op_schemas() {
  return kSchemas;
}

}  // namespace lowp::ir
