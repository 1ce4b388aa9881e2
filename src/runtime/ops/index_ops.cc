// runtime/ops/index_ops.cc: ops that select, place or rearrange elements by index: Trilu,
// CumSum, Hardmax, TopK, ScatterElements, ScatterND, GatherND, OneHot, EyeLike,
// DepthToSpace, SpaceToDepth, MaxUnpool, ReverseSequence.
//
// Pure data movement is written per element width (any dtype of that width); arithmetic
// (CumSum, the scatter reductions, Hardmax, TopK's comparisons) per dtype.
//
// Indices that arrive at run time can be out of range. Nothing is read or written out of
// bounds: a gathered element with such an index is zero (GatherND), a scattered update is
// skipped (ScatterElements, ScatterND, MaxUnpool), a run-time K or axis that does not give
// the bound shape writes zeros (TopK, CumSum), and each of these reports through
// RunContext::report, which fails the run naming the node. ONNX defines two cases, which
// are not errors: a OneHot index outside [-depth, depth) gives a row of off values, and
// ReverseSequence's lengths are clamped into [0, time steps]. Constant indices are checked
// at bind.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "runtime/op.h"
#include "runtime/ops/op_util.h"

namespace lowp::runtime {
namespace {

using Index = std::int64_t;

std::unique_ptr<BoundOp> make_op(std::string kernel, std::function<void(const RunContext&)> fn) {
  return std::make_unique<FunctionOp>(std::move(kernel), std::move(fn));
}

std::size_t element_width(const BindArgs& a, DType d) {
  if (dtype_bits(d) % 8 != 0) a.unsupported("packed {} tensors are not supported", dtype_name(d));
  return dtype_bits(d) / 8;
}

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

// Numeric types only (no bool): the ops that compute.
template <class Fn>
decltype(auto) dispatch_numeric(const BindArgs& a, DType d, Fn&& fn) {
  if (d == DType::boolean) a.unsupported("bool input is not supported");
  if (d == DType::float8e4m3fn || d == DType::float8e5m2) a.unsupported("{} input is not supported", dtype_name(d));
  return dispatch_dtype(d, a.node.op_type, std::forward<Fn>(fn));
}

template <class Fn>
decltype(auto) dispatch_index(const BindArgs& a, std::size_t input, Fn&& fn) {
  DType d = a.in(input).dtype;
  if (d == DType::int64) return fn.template operator()<std::int64_t>();
  if (d == DType::int32) return fn.template operator()<std::int32_t>();
  a.fail("indices must be int32 or int64, not {}", dtype_name(d));
}

Index normalize_axis(const BindArgs& a, Index axis, std::size_t rank, std::string_view what = "axis") {
  auto r = static_cast<Index>(rank);
  if (axis < -r || axis >= r) a.fail("{} {} is out of range for rank {}", what, axis, rank);
  return axis < 0 ? axis + r : axis;
}

Index product(const std::vector<Index>& dims, std::size_t from, std::size_t to) {
  Index p = 1;
  for (std::size_t i = from; i < to; ++i) p *= dims[i];
  return p;
}

std::vector<Index> strides_for(const std::vector<Index>& dims) {
  std::vector<Index> s(dims.size(), 1);
  for (std::size_t i = dims.size(); i-- > 1;) s[i - 1] = s[i] * dims[i];
  return s;
}

// An integer read from a scalar int32 / int64 input.
Index read_int(const std::byte* p, DType d) {
  if (d == DType::int32) {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  std::int64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

void require_same_shape(const BindArgs& a) {
  if (a.out(0).shape != a.in(0).shape || a.out(0).dtype != a.in(0).dtype) a.fail("output must have the input's type and shape");
}

// Checks constant indices against [-limit, limit) at bind.
template <class I>
void check_constant_indices(const BindArgs& a, std::size_t input, Index limit, std::string_view what) {
  if (!a.in(input).constant) return;
  for (I v : a.in(input).constant->values<I>()) {
    auto k = static_cast<Index>(v);
    if (k < -limit || k >= limit) a.fail("index {} is out of range for {} of size {}", k, what, limit);
  }
}

// ---- Trilu ----

std::unique_ptr<BoundOp> bind_trilu(const BindArgs& a) {
  require_same_shape(a);
  const std::vector<Index>& d = a.in(0).shape.dims();
  if (d.size() < 2) a.fail("input must have rank >= 2");
  if (a.has(1) && (a.in(1).dtype != DType::int64 || a.in(1).shape.elements() != 1)) a.fail("k must be one int64");
  bool upper = a.node.attr_int("upper", 1) != 0;
  Index rows = d[d.size() - 2], cols = d.back();
  Index planes = rows * cols == 0 ? 0 : static_cast<Index>(a.in(0).shape.elements()) / (rows * cols);
  bool has_k = a.has(1);
  return dispatch_width(element_width(a, a.in(0).dtype), [&]<class T>() {
    return make_op("trilu", [=](const RunContext& ctx) {
      Index k = has_k ? ctx.in<std::int64_t>(1)[0] : 0;
      k = std::clamp<Index>(k, -rows - cols, rows + cols);
      const T* x = ctx.in<T>(0);
      T* y = ctx.out<T>(0);
      for (Index p = 0; p < planes; ++p) {
        for (Index i = 0; i < rows; ++i) {
          const T* src = x + (p * rows + i) * cols;
          T* dst = y + (p * rows + i) * cols;
          // upper keeps j >= i + k; lower keeps j <= i + k.
          Index edge = std::clamp<Index>(upper ? i + k : i + k + 1, 0, cols);
          for (Index j = 0; j < cols; ++j) dst[j] = (j < edge) == upper ? T{} : src[j];
        }
      }
    });
  });
}

// ---- CumSum ----

std::unique_ptr<BoundOp> bind_cumsum(const BindArgs& a) {
  require_same_shape(a);
  std::vector<Index> dims = a.in(0).shape.dims();
  std::size_t rank = dims.size();
  if (rank == 0) a.fail("input must have rank >= 1");
  DType at = a.in(1).dtype;
  if ((at != DType::int32 && at != DType::int64) || a.in(1).shape.elements() != 1) a.fail("axis must be one int32 or int64");
  if (a.in(1).constant) normalize_axis(a, read_int(a.in(1).constant->raw(), at), rank);
  bool exclusive = a.node.attr_int("exclusive", 0) != 0;
  bool reverse = a.node.attr_int("reverse", 0) != 0;
  std::size_t total = a.in(0).shape.elements();
  return dispatch_numeric(a, a.in(0).dtype, [&]<class T>() {
    return make_op("cumsum", [=](const RunContext& ctx) {
      const T* x = ctx.in<T>(0);
      T* y = ctx.out<T>(0);
      Index axis = read_int(ctx.inputs[1], at);
      auto r = static_cast<Index>(rank);
      if (axis < -r || axis >= r) {
        std::fill(y, y + total, T{});
        ctx.report(fmt::format("axis {} is out of range for rank {}", axis, rank));
        return;
      }
      if (axis < 0) axis += r;
      auto ax = static_cast<std::size_t>(axis);
      Index n = dims[ax], inner = product(dims, ax + 1, rank), outer = product(dims, 0, ax);
      using Acc = std::conditional_t<std::is_floating_point_v<compute_t<T>>, double, compute_t<T>>;
      for (Index o = 0; o < outer; ++o) {
        for (Index i = 0; i < inner; ++i) {
          Acc acc = 0;
          for (Index s = 0; s < n; ++s) {
            Index k = reverse ? n - 1 - s : s;
            Index off = (o * n + k) * inner + i;
            Acc v = static_cast<Acc>(load_value(x[off]));
            if (exclusive) {
              y[off] = store_value<T>(static_cast<compute_t<T>>(acc));
              acc = static_cast<Acc>(acc + v);
            } else {
              acc = static_cast<Acc>(acc + v);
              y[off] = store_value<T>(static_cast<compute_t<T>>(acc));
            }
          }
        }
      }
    });
  });
}

// ---- Hardmax ----

std::unique_ptr<BoundOp> bind_hardmax(const BindArgs& a) {
  require_same_shape(a);
  std::vector<Index> dims = a.in(0).shape.dims();
  if (dims.empty()) a.fail("input must have rank >= 1");
  auto axis = static_cast<std::size_t>(normalize_axis(a, a.node.attr_int("axis", -1), dims.size()));
  Index n = dims[axis], inner = product(dims, axis + 1, dims.size()), outer = product(dims, 0, axis);
  return dispatch_numeric(a, a.in(0).dtype, [&]<class T>() {
    return make_op("hardmax", [=](const RunContext& ctx) {
      const T* x = ctx.in<T>(0);
      T* y = ctx.out<T>(0);
      for (Index o = 0; o < outer; ++o) {
        for (Index i = 0; i < inner; ++i) {
          Index best = 0;
          for (Index k = 0; k < n; ++k) {
            auto v = load_value(x[(o * n + k) * inner + i]);
            auto b = load_value(x[(o * n + best) * inner + i]);
            if (v > b) best = k;  // the first maximum wins (NaN never does)
          }
          for (Index k = 0; k < n; ++k) y[(o * n + k) * inner + i] = store_value<T>(static_cast<compute_t<T>>(k == best ? 1 : 0));
        }
      }
    });
  });
}

// ---- TopK ----

template <class T>
class TopKOp final : public BoundOp {
 public:
  TopKOp(const BindArgs& a) {
    dims_ = a.in(0).shape.dims();
    if (dims_.empty()) a.fail("input must have rank >= 1");
    axis_ = static_cast<std::size_t>(normalize_axis(a, a.node.attr_int("axis", -1), dims_.size()));
    largest_ = a.node.attr_int("largest", 1) != 0;
    if (a.in(1).dtype != DType::int64 || a.in(1).shape.elements() != 1) a.fail("K must be one int64");
    k_ = a.out(0).shape.rank() == dims_.size() ? a.out(0).shape[axis_] : -1;
    std::vector<Index> want = dims_;
    want[axis_] = k_;
    if (a.out(0).shape.dims() != want || a.out(1).shape.dims() != want || a.out(1).dtype != DType::int64 ||
        a.out(0).dtype != a.in(0).dtype) {
      a.fail("outputs must be {} and int64 of the input's shape with K along axis {}", dtype_name(a.in(0).dtype), axis_);
    }
    if (k_ > dims_[axis_]) a.fail("K = {} exceeds axis {} of size {}", k_, axis_, dims_[axis_]);
    if (a.in(1).constant && a.in(1).constant->values<std::int64_t>()[0] != k_) a.fail("K does not match the output shape");
    n_ = dims_[axis_];
    inner_ = product(dims_, axis_ + 1, dims_.size());
    outer_ = product(dims_, 0, axis_);
    order_.resize(static_cast<std::size_t>(n_));
  }

  void run(const RunContext& ctx) override {
    const T* x = ctx.in<T>(0);
    T* values = ctx.out<T>(0);
    auto* indices = ctx.out<std::int64_t>(1);
    std::size_t count = static_cast<std::size_t>(outer_ * k_ * inner_);
    if (ctx.in<std::int64_t>(1)[0] != k_) {  // K at run time that breaks the bound shape
      std::fill(values, values + count, T{});
      std::fill(indices, indices + count, 0);
      ctx.report(fmt::format("K = {} at run time, but the plan was made for K = {}", ctx.in<std::int64_t>(1)[0], k_));
      return;
    }
    using C = compute_t<T>;
    for (Index o = 0; o < outer_; ++o) {
      for (Index i = 0; i < inner_; ++i) {
        auto at = [&](Index k) { return load_value(x[(o * n_ + k) * inner_ + i]); };
        std::iota(order_.begin(), order_.end(), Index{0});
        // A total order: NaN above every number; ties by the lower index.
        auto before = [&](Index p, Index q) {
          C u = at(p), v = at(q);
          bool un = u != u, vn = v != v;
          if (un || vn) {
            if (un && vn) return p < q;
            return largest_ ? un : vn;
          }
          if (u != v) return largest_ ? u > v : u < v;
          return p < q;
        };
        std::partial_sort(order_.begin(), order_.begin() + k_, order_.end(), before);
        for (Index k = 0; k < k_; ++k) {
          Index src = order_[static_cast<std::size_t>(k)];
          values[(o * k_ + k) * inner_ + i] = x[(o * n_ + src) * inner_ + i];
          indices[(o * k_ + k) * inner_ + i] = src;
        }
      }
    }
  }

  std::string kernel() const override { return "topk_partial_sort"; }

 private:
  std::vector<Index> dims_;
  std::size_t axis_ = 0;
  bool largest_ = true;
  Index k_ = 0, n_ = 0, inner_ = 1, outer_ = 1;
  std::vector<Index> order_;
};

std::unique_ptr<BoundOp> bind_topk(const BindArgs& a) {
  return dispatch_numeric(a, a.in(0).dtype, [&]<class T>() -> std::unique_ptr<BoundOp> { return std::make_unique<TopKOp<T>>(a); });
}

// ---- ScatterElements, ScatterND ----

enum class Reduction { none, add, mul, max, min };

Reduction reduction_of(const BindArgs& a) {
  std::string r = a.node.attr_string("reduction", "none");
  if (r == "none") return Reduction::none;
  if (r == "add") return Reduction::add;
  if (r == "mul") return Reduction::mul;
  if (r == "max") return Reduction::max;
  if (r == "min") return Reduction::min;
  a.fail("reduction '{}' is not none, add, mul, max or min", r);
}

template <class T>
inline void combine(T& dst, T v, Reduction r) {
  using C = compute_t<T>;
  if constexpr (std::is_same_v<T, bool>) {
    switch (r) {
      case Reduction::none: dst = v; break;
      case Reduction::add: case Reduction::max: dst = dst || v; break;
      case Reduction::mul: case Reduction::min: dst = dst && v; break;
    }
  } else {
    C a = load_value(dst), b = load_value(v);
    switch (r) {
      case Reduction::none: dst = v; return;
      case Reduction::add: dst = store_value<T>(static_cast<C>(a + b)); return;
      case Reduction::mul: dst = store_value<T>(static_cast<C>(a * b)); return;
      case Reduction::max: dst = store_value<T>(a != a ? a : (b != b ? b : std::max(a, b))); return;
      case Reduction::min: dst = store_value<T>(a != a ? a : (b != b ? b : std::min(a, b))); return;
    }
  }
}

// Calls fn.template operator()<T>() with the element type of `d` (the reductions need it).
template <class Fn>
decltype(auto) dispatch_scatter(const BindArgs& a, DType d, Reduction r, Fn&& fn) {
  if (r == Reduction::none) {
    return dispatch_width(element_width(a, d), [&]<class W>() { return fn.template operator()<W>(); });
  }
  if (d == DType::float8e4m3fn || d == DType::float8e5m2) a.unsupported("reductions on {} are not supported", dtype_name(d));
  return dispatch_dtype(d, a.node.op_type, std::forward<Fn>(fn));
}

std::unique_ptr<BoundOp> bind_scatter_elements(const BindArgs& a) {
  require_same_shape(a);
  std::vector<Index> dd = a.in(0).shape.dims();
  std::vector<Index> id = a.in(1).shape.dims();
  std::size_t rank = dd.size();
  if (rank == 0 || id.size() != rank || a.in(2).shape.dims() != id) a.fail("data, indices and updates must have one rank >= 1, indices and updates one shape");
  if (a.in(2).dtype != a.in(0).dtype) a.fail("updates and data have different types");
  if (rank > 16) a.unsupported("rank above 16 is not supported");
  auto axis = static_cast<std::size_t>(normalize_axis(a, a.node.attr_int("axis", 0), rank));
  for (std::size_t d = 0; d < rank; ++d) {
    if (d != axis && id[d] > dd[d]) a.fail("indices {} exceed data {} at axis {}", a.in(1).shape.str(), a.in(0).shape.str(), d);
  }
  Reduction red = reduction_of(a);
  std::vector<Index> ds = strides_for(dd);
  Index n = dd[axis];
  std::size_t count = a.in(1).shape.elements();
  std::size_t total_bytes = dtype_storage_bytes(a.in(0).dtype, a.in(0).shape.elements());
  return dispatch_index(a, 1, [&]<class I>() {
    check_constant_indices<I>(a, 1, n, fmt::format("axis {}", axis));
    return dispatch_scatter(a, a.in(0).dtype, red, [&]<class T>() {
      return make_op("scatter_elements", [=](const RunContext& ctx) {
        T* y = ctx.out<T>(0);
        if (total_bytes && ctx.outputs[0] != ctx.inputs[0]) std::memcpy(y, ctx.inputs[0], total_bytes);
        const I* idx = ctx.in<I>(1);
        const T* upd = ctx.in<T>(2);
        std::vector<Index>::size_type r = id.size();
        Index pos[16] = {};  // rank <= 16, checked at bind
        for (std::size_t e = 0; e < count; ++e) {
          auto k = static_cast<Index>(idx[e]);
          if (k < 0) k += n;
          if (k >= 0 && k < n) {
            Index off = 0;
            for (std::size_t d = 0; d < r; ++d) off += (d == axis ? k : pos[d]) * ds[d];
            combine(y[off], upd[e], red);
          } else {
            ctx.report(fmt::format("index {} is out of range for an axis of size {}", static_cast<Index>(idx[e]), n));
          }
          for (std::size_t d = r; d-- > 0;) {
            if (++pos[d] < id[d]) break;
            pos[d] = 0;
          }
        }
      });
    });
  });
}

std::unique_ptr<BoundOp> bind_scatter_nd(const BindArgs& a) {
  require_same_shape(a);
  std::vector<Index> dd = a.in(0).shape.dims();
  std::vector<Index> id = a.in(1).shape.dims();
  std::vector<Index> ud = a.in(2).shape.dims();
  if (dd.empty() || id.empty()) a.fail("data and indices must have rank >= 1");
  if (a.in(1).dtype != DType::int64) a.fail("indices must be int64");
  if (a.in(2).dtype != a.in(0).dtype) a.fail("updates and data have different types");
  auto k = static_cast<std::size_t>(id.back());
  if (k < 1 || k > dd.size()) a.fail("indices' last dim {} must be in [1, {}]", k, dd.size());
  std::vector<Index> want(id.begin(), id.end() - 1);
  want.insert(want.end(), dd.begin() + static_cast<std::ptrdiff_t>(k), dd.end());
  if (ud != want) a.fail("updates {} must have shape {}", a.in(2).shape.str(), Shape(want).str());
  Reduction red = reduction_of(a);
  std::vector<Index> ds = strides_for(dd);
  Index slice = product(dd, k, dd.size());
  Index tuples = product(id, 0, id.size() - 1);
  if (const Tensor* c = a.in(1).constant) {
    auto v = c->values<std::int64_t>();
    for (std::size_t i = 0; i < v.size(); ++i) {
      Index lim = dd[i % k];
      if (v[i] < -lim || v[i] >= lim) a.fail("index {} is out of range for axis {} of size {}", v[i], i % k, lim);
    }
  }
  std::size_t total_bytes = dtype_storage_bytes(a.in(0).dtype, a.in(0).shape.elements());
  return dispatch_scatter(a, a.in(0).dtype, red, [&]<class T>() {
    return make_op("scatter_nd", [=](const RunContext& ctx) {
      T* y = ctx.out<T>(0);
      if (total_bytes && ctx.outputs[0] != ctx.inputs[0]) std::memcpy(y, ctx.inputs[0], total_bytes);
      const std::int64_t* idx = ctx.in<std::int64_t>(1);
      const T* upd = ctx.in<T>(2);
      for (Index t = 0; t < tuples; ++t) {
        Index off = 0;
        bool ok = true;
        for (std::size_t j = 0; j < k; ++j) {
          Index v = idx[static_cast<std::size_t>(t) * k + j];
          if (v < 0) v += dd[j];
          ok = ok && v >= 0 && v < dd[j];
          off += v * ds[j];
        }
        if (!ok) {
          ctx.report(fmt::format("index tuple {} is out of range of the data", t));
          continue;
        }
        for (Index s = 0; s < slice; ++s) combine(y[off + s], upd[t * slice + s], red);
      }
    });
  });
}

// ---- GatherND ----

std::unique_ptr<BoundOp> bind_gather_nd(const BindArgs& a) {
  std::vector<Index> dd = a.in(0).shape.dims();
  std::vector<Index> id = a.in(1).shape.dims();
  if (a.in(1).dtype != DType::int64) a.fail("indices must be int64");
  auto b = static_cast<std::size_t>(a.node.attr_int("batch_dims", 0));
  if (dd.empty() || id.empty() || b >= std::min(dd.size(), id.size())) a.fail("batch_dims must be less than both ranks");
  auto k = static_cast<std::size_t>(id.back());
  if (k < 1 || b + k > dd.size()) a.fail("indices' last dim {} does not fit data {}", k, a.in(0).shape.str());
  for (std::size_t i = 0; i < b; ++i) {
    if (dd[i] != id[i]) a.fail("batch dims of data {} and indices {} differ", a.in(0).shape.str(), a.in(1).shape.str());
  }
  std::vector<Index> want(id.begin(), id.end() - 1);
  want.insert(want.end(), dd.begin() + static_cast<std::ptrdiff_t>(b + k), dd.end());
  if (a.out(0).shape.dims() != want || a.out(0).dtype != a.in(0).dtype) a.fail("output must be {}", Shape(want).str());
  if (const Tensor* c = a.in(1).constant) {
    auto v = c->values<std::int64_t>();
    for (std::size_t i = 0; i < v.size(); ++i) {
      Index lim = dd[b + i % k];
      if (v[i] < -lim || v[i] >= lim) a.fail("index {} is out of range for axis {} of size {}", v[i], b + i % k, lim);
    }
  }
  std::size_t width = element_width(a, a.in(0).dtype);
  std::vector<Index> ds = strides_for(dd);
  Index batches = product(dd, 0, b);
  Index per_batch = product(id, b, id.size() - 1);  // tuples per batch
  Index slice = product(dd, b + k, dd.size());
  Index batch_stride = product(dd, b, dd.size());
  std::size_t slice_bytes = static_cast<std::size_t>(slice) * width;
  return make_op("gather_nd", [=](const RunContext& ctx) {
    const std::int64_t* idx = ctx.in<std::int64_t>(1);
    std::byte* dst = ctx.outputs[0];
    for (Index bt = 0; bt < batches; ++bt) {
      for (Index t = 0; t < per_batch; ++t, dst += slice_bytes) {
        const std::int64_t* tuple = idx + static_cast<std::size_t>(bt * per_batch + t) * k;
        Index off = bt * batch_stride;
        bool ok = true;
        for (std::size_t j = 0; j < k; ++j) {
          Index v = tuple[j];
          if (v < 0) v += dd[b + j];
          ok = ok && v >= 0 && v < dd[b + j];
          off += v * ds[b + j];
        }
        if (!slice_bytes) continue;
        if (ok) {
          std::memcpy(dst, ctx.inputs[0] + static_cast<std::size_t>(off) * width, slice_bytes);
        } else {
          std::memset(dst, 0, slice_bytes);
          ctx.report("an index tuple is out of range of the data");
        }
      }
    }
  });
}

// ---- OneHot ----

std::unique_ptr<BoundOp> bind_one_hot(const BindArgs& a) {
  std::vector<Index> id = a.in(0).shape.dims();
  std::vector<Index> od = a.out(0).shape.dims();
  if (od.size() != id.size() + 1) a.fail("output rank must be the indices' + 1");
  auto axis = static_cast<std::size_t>(normalize_axis(a, a.node.attr_int("axis", -1), od.size()));
  Index depth = od[axis];
  if (a.in(1).shape.elements() != 1) a.fail("depth must hold one value");
  if (a.in(2).shape.elements() != 2 || a.out(0).dtype != a.in(2).dtype) a.fail("values must hold two elements of the output's type");
  Index outer = product(id, 0, axis), inner = product(id, axis, id.size());
  DType it = a.in(0).dtype, dt = a.in(1).dtype;
  if (it == DType::boolean || dt == DType::boolean) a.fail("indices and depth must be numeric");
  // depth is part of the output shape; at run time a different one gives zeros.
  auto read_number = [](DType d, const std::byte* p) -> double {
    return dispatch_dtype(d, "OneHot", [&]<class T>() -> double {
      T v;
      std::memcpy(&v, p, sizeof(T));
      return static_cast<double>(load_value(v));
    });
  };
  if (a.in(1).constant && static_cast<Index>(read_number(dt, a.in(1).constant->raw())) != depth) {
    a.fail("depth does not match the output shape");
  }
  std::size_t width = element_width(a, a.out(0).dtype);
  std::size_t n_indices = a.in(0).shape.elements();
  return dispatch_dtype(it, "OneHot indices", [&]<class I>() {
    return dispatch_width(width, [&]<class T>() {
      return make_op("one_hot", [=](const RunContext& ctx) {
        const T* values = ctx.in<T>(2);
        T* y = ctx.out<T>(0);
        T off = values[0], on = values[1];
        double dv = read_number(dt, ctx.inputs[1]);
        if (!(static_cast<Index>(dv) == depth)) {
          std::fill(y, y + n_indices * static_cast<std::size_t>(depth), T{});
          return;
        }
        std::fill(y, y + n_indices * static_cast<std::size_t>(depth), off);
        const I* idx = ctx.in<I>(0);
        for (Index o = 0; o < outer; ++o) {
          for (Index i = 0; i < inner; ++i) {
            double v = static_cast<double>(load_value(idx[o * inner + i]));
            if (!(v >= -static_cast<double>(depth) && v < static_cast<double>(depth))) continue;
            auto k = static_cast<Index>(v);  // toward zero, as a cast to int64
            if (k < 0) k += depth;
            if (k < 0 || k >= depth) continue;
            y[(o * depth + k) * inner + i] = on;
          }
        }
      });
    });
  });
}

// ---- EyeLike ----

std::unique_ptr<BoundOp> bind_eye_like(const BindArgs& a) {
  const Shape& s = a.out(0).shape;
  if (s.rank() != 2 || s != a.in(0).shape) a.fail("input and output must be 2-D of one shape");
  DType d = a.out(0).dtype;
  std::size_t width = element_width(a, d);
  std::vector<std::byte> one(width);
  if (d == DType::float8e4m3fn || d == DType::float8e5m2) a.unsupported("{} output is not supported", dtype_name(d));
  dispatch_dtype(d, "EyeLike", [&]<class T>() {
    T v = store_value<T>(static_cast<compute_t<T>>(1));
    std::memcpy(one.data(), &v, sizeof(T));
  });
  Index rows = s[0], cols = s[1], k = a.node.attr_int("k", 0);
  std::size_t bytes = dtype_storage_bytes(d, s.elements());
  return make_op("eye_like", [=](const RunContext& ctx) {
    if (bytes) std::memset(ctx.outputs[0], 0, bytes);
    for (Index i = 0; i < rows; ++i) {
      Index j = i + k;
      if (j >= 0 && j < cols) std::memcpy(ctx.outputs[0] + static_cast<std::size_t>(i * cols + j) * width, one.data(), width);
    }
  });
}

// ---- DepthToSpace, SpaceToDepth: one permuted copy ----

// out[i] = in[sum(i[a] * strides[a])] over the dense output `dims`.
std::unique_ptr<BoundOp> permuted_copy(const BindArgs& a, std::vector<Index> dims, std::vector<Index> strides, std::string kernel) {
  std::size_t width = element_width(a, a.in(0).dtype);
  Index inner = dims.back(), inner_stride = strides.back();
  Index rows = inner == 0 ? 0 : static_cast<Index>(a.out(0).shape.elements()) / inner;
  return dispatch_width(width, [&]<class T>() {
    return make_op(std::move(kernel), [=](const RunContext& ctx) {
      const T* x = ctx.in<T>(0);
      T* y = ctx.out<T>(0);
      for (Index r = 0; r < rows; ++r) {
        Index off = 0, rest = r;
        for (std::size_t d = dims.size() - 1; d-- > 0;) {
          off += (rest % dims[d]) * strides[d];
          rest /= dims[d];
        }
        T* dst = y + r * inner;
        const T* src = x + off;
        for (Index j = 0; j < inner; ++j) dst[j] = src[j * inner_stride];
      }
    });
  });
}

std::unique_ptr<BoundOp> bind_depth_to_space(const BindArgs& a) {
  const Shape& s = a.in(0).shape;
  Index b = a.node.attr_int("blocksize", 0);
  if (s.rank() != 4 || b < 1 || s[1] % (b * b) != 0) a.fail("input must be 4-D with channels a multiple of blocksize^2");
  Index n = s[0], c = s[1] / (b * b), h = s[2], w = s[3];
  if (a.out(0).shape != Shape{n, c, h * b, w * b} || a.out(0).dtype != a.in(0).dtype) a.fail("output shape mismatch");
  std::string mode = a.node.attr_string("mode", "DCR");
  Index hw = h * w;
  // Output viewed as [n][c][h][bh][w][bw].
  std::vector<Index> dims{n, c, h, b, w, b};
  std::vector<Index> strides;
  if (mode == "DCR") {  // input channel (bh * b + bw) * c + c'
    strides = {s[1] * hw, hw, w, b * c * hw, 1, c * hw};
  } else if (mode == "CRD") {  // input channel c' * b * b + bh * b + bw
    strides = {s[1] * hw, b * b * hw, w, b * hw, 1, hw};
  } else {
    a.fail("mode '{}' is not DCR or CRD", mode);
  }
  return permuted_copy(a, dims, strides, "depth_to_space");
}

std::unique_ptr<BoundOp> bind_space_to_depth(const BindArgs& a) {
  const Shape& s = a.in(0).shape;
  Index b = a.node.attr_int("blocksize", 0);
  if (s.rank() != 4 || b < 1 || s[2] % b != 0 || s[3] % b != 0) a.fail("input must be 4-D with height and width multiples of blocksize");
  Index n = s[0], c = s[1], h = s[2], w = s[3];
  if (a.out(0).shape != Shape{n, c * b * b, h / b, w / b} || a.out(0).dtype != a.in(0).dtype) a.fail("output shape mismatch");
  // Output viewed as [n][bh][bw][c][h'][w'] = input [n][c][h' * b + bh][w' * b + bw].
  std::vector<Index> dims{n, b, b, c, h / b, w / b};
  std::vector<Index> strides{c * h * w, w, 1, h * w, b * w, b};
  return permuted_copy(a, dims, strides, "space_to_depth");
}

// ---- MaxUnpool ----

// Indices are flat positions in the shape MaxPool came from, [N, C, (in - 1) * stride +
// kernel - pads]; an output_shape larger than that holds it at its origin (zeros around),
// as the ONNX reference places it.
std::unique_ptr<BoundOp> bind_max_unpool(const BindArgs& a) {
  const std::vector<Index>& xd = a.in(0).shape.dims();
  if (a.in(1).dtype != DType::int64 || a.in(1).shape != a.in(0).shape) a.fail("indices must be int64 of the input's shape");
  if (xd.size() < 3) a.fail("input must have rank >= 3");
  std::vector<Index> od = a.out(0).shape.dims();
  if (a.out(0).dtype != a.in(0).dtype || od.size() != xd.size()) a.fail("output must have the input's type and rank");
  std::size_t n = xd.size() - 2;
  std::vector<Index> kernel = a.node.attr_ints("kernel_shape");
  std::vector<Index> strides = a.node.attr_ints("strides", std::vector<Index>(n, 1));
  std::vector<Index> pads = a.node.attr_ints("pads", std::vector<Index>(2 * n, 0));
  if (kernel.size() != n || strides.size() != n || pads.size() != 2 * n) a.fail("kernel_shape, strides and pads must fit {} spatial axes", n);
  std::vector<Index> pooled{xd[0], xd[1]};  // the shape the indices count in
  for (std::size_t i = 0; i < n; ++i) pooled.push_back((xd[2 + i] - 1) * strides[i] - pads[i] - pads[i + n] + kernel[i]);
  for (std::size_t i = 0; i < pooled.size(); ++i) {
    if (pooled[i] < 0 || (i < 2 && pooled[i] != od[i])) a.fail("output {} does not fit the unpooled shape {}", a.out(0).shape.str(), Shape(pooled).str());
  }
  Index limit = product(pooled, 0, pooled.size());
  if (const Tensor* c = a.in(1).constant) {
    for (std::int64_t v : c->values<std::int64_t>()) {
      if (v < 0 || v >= limit) a.fail("index {} is outside the unpooled shape {}", v, Shape(pooled).str());
    }
  }
  std::vector<Index> os = strides_for(od);
  auto total = static_cast<std::size_t>(product(od, 0, od.size()));
  std::size_t width = element_width(a, a.in(0).dtype);
  std::size_t count = a.in(0).shape.elements();
  return dispatch_width(width, [&]<class T>() {
    return make_op("max_unpool", [=](const RunContext& ctx) {
      const T* x = ctx.in<T>(0);
      const std::int64_t* idx = ctx.in<std::int64_t>(1);
      T* y = ctx.out<T>(0);
      std::fill(y, y + total, T{});
      for (std::size_t i = 0; i < count; ++i) {
        Index v = idx[i];
        if (v < 0 || v >= limit) {
          ctx.report(fmt::format("index {} is out of range for an output of {} elements", v, limit));
          continue;
        }
        Index off = 0;
        bool inside = true;
        for (std::size_t d = pooled.size(); d-- > 0;) {
          Index c = v % pooled[d];
          v /= pooled[d];
          inside = inside && c < od[d];
          off += c * os[d];
        }
        if (inside) y[off] = x[i];
      }
    });
  });
}

// ---- ReverseSequence ----

std::unique_ptr<BoundOp> bind_reverse_sequence(const BindArgs& a) {
  require_same_shape(a);
  std::vector<Index> d = a.in(0).shape.dims();
  if (d.size() < 2) a.fail("input must have rank >= 2");
  Index batch_axis = a.node.attr_int("batch_axis", 1), time_axis = a.node.attr_int("time_axis", 0);
  if (!((batch_axis == 0 && time_axis == 1) || (batch_axis == 1 && time_axis == 0))) a.fail("batch_axis and time_axis must be 0 and 1");
  if (a.in(1).dtype != DType::int64 || a.in(1).shape != Shape{d[static_cast<std::size_t>(batch_axis)]}) {
    a.fail("sequence_lens must be int64[{}]", d[static_cast<std::size_t>(batch_axis)]);
  }
  Index inner = product(d, 2, d.size());
  Index batches = d[static_cast<std::size_t>(batch_axis)], steps = d[static_cast<std::size_t>(time_axis)];
  // Element offset of (batch, time) blocks of `inner` elements.
  Index bstride = batch_axis == 0 ? d[1] * inner : inner;
  Index tstride = time_axis == 0 ? d[1] * inner : inner;
  std::size_t width = element_width(a, a.in(0).dtype);
  std::size_t block = static_cast<std::size_t>(inner) * width;
  return make_op("reverse_sequence", [=](const RunContext& ctx) {
    const std::int64_t* lens = ctx.in<std::int64_t>(1);
    for (Index b = 0; b < batches; ++b) {
      Index len = std::clamp<Index>(lens[b], 0, steps);  // clamped at run time
      for (Index t = 0; t < steps; ++t) {
        Index src = t < len ? len - 1 - t : t;
        if (!block) continue;
        std::memcpy(ctx.outputs[0] + static_cast<std::size_t>(b * bstride + t * tstride) * width,
                    ctx.inputs[0] + static_cast<std::size_t>(b * bstride + src * tstride) * width, block);
      }
    }
  });
}

constexpr OpBinding kBindings[] = {
    {"", "Trilu", bind_trilu},
    {"", "CumSum", bind_cumsum},
    {"", "Hardmax", bind_hardmax},
    {"", "TopK", bind_topk},
    {"", "ScatterElements", bind_scatter_elements},
    {"", "ScatterND", bind_scatter_nd},
    {"", "GatherND", bind_gather_nd},
    {"", "OneHot", bind_one_hot},
    {"", "EyeLike", bind_eye_like},
    {"", "DepthToSpace", bind_depth_to_space},
    {"", "SpaceToDepth", bind_space_to_depth},
    {"", "MaxUnpool", bind_max_unpool},
    {"", "ReverseSequence", bind_reverse_sequence},
};

}  // namespace

std::span<const OpBinding> index_op_bindings() {
  return kBindings;
}

}  // namespace lowp::runtime
