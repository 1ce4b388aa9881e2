// runtime/ops/reduce.cc: ReduceSum / Mean / Max / Min / Prod / L1 / L2 / SumSquare /
// LogSum / LogSumExp (axes as an input, keepdims, noop_with_empty_axes) and ArgMax /
// ArgMin, for the float types and the integer types.
//
// Order and precision: the input is walked once in memory order, each element folded
// into its output's accumulator, so every output sums its inputs in increasing input
// index, whatever the axes; the result does not depend on threads or ISA. Floats
// (float16, bfloat16, float32, float64) accumulate in double and round once at the end.
// Integers accumulate in 64 bits with wrap-around (the result, cast back, equals the
// wrapping arithmetic of the type itself); L2, LogSum, LogSumExp and Mean on integers go
// through double and truncate toward zero, as numpy's astype does.
//
// Reductions over an empty set give the identity of the op: 0 for sums, 1 for Prod, -inf
// (floats) or the lowest value (integers) for Max, +inf or the highest for Min, NaN for
// Mean of floats, -inf for LogSum and LogSumExp. LogSumExp subtracts each output's maximum
// before exponentiating (a second pass), so it is finite wherever the result is.
//
// noop_with_empty_axes with no axes reduces nothing: each output is the op applied to a
// single element (Sum gives x, SumSquare x^2, L1 |x|...), as the ONNX reference does.
//
// Axes given at run time (the output shape was declared by the model) are planned in
// run() into storage sized at bind; axes that do not give the bound output shape produce
// zeros, since run() cannot report.
#include <cmath>
#include <cstring>
#include <limits>

#include "runtime/op.h"
#include "runtime/ops/op_util.h"

namespace lowp::runtime {
namespace {

using Index = std::int64_t;

enum class Kind { sum, mean, max, min, prod, l1, l2, sum_square, log_sum, log_sum_exp };

// ---- the walk ----

// The input's axes merged into groups of neighbours that are all reduced or all kept
// (size-1 axes dropped), with the output stride of each group (0 when reduced).
struct ReducePlan {
  std::vector<Index> sizes, out_strides;
  std::vector<char> reduced;  // per input axis
  std::vector<Index> out_dims;
  Index count = 1;  // input elements per output
};

// Fills `plan` for `in_dims` and the axes (all axes when none are given, unless noop).
// Returns the rule broken, or nullptr. Writes only into storage the vectors already hold.
template <class Axes>
const char* plan_reduce(const std::vector<Index>& in_dims, const Axes& axes, std::size_t axis_count, bool noop,
                        bool keepdims, const std::vector<Index>& bound_out, ReducePlan& plan) {
  std::size_t rank = in_dims.size();
  auto r = static_cast<Index>(rank);
  for (std::size_t d = 0; d < rank; ++d) plan.reduced[d] = axis_count == 0 && !noop;
  for (std::size_t i = 0; i < axis_count; ++i) {
    Index a = axes[i];
    if (a < -r || a >= r) return "an axis is out of range";
    plan.reduced[static_cast<std::size_t>(a < 0 ? a + r : a)] = 1;
  }
  // The output shape these axes give must be the one bound.
  std::size_t out_rank = 0;
  for (std::size_t d = 0; d < rank; ++d) {
    if (plan.reduced[d] && !keepdims) continue;
    if (out_rank >= bound_out.size()) return "the axes do not give the output shape";
    if (bound_out[out_rank++] != (plan.reduced[d] ? 1 : in_dims[d])) return "the axes do not give the output shape";
  }
  if (out_rank != bound_out.size()) return "the axes do not give the output shape";
  // Groups, innermost last; output strides from the kept sizes.
  plan.sizes.clear();
  plan.out_strides.clear();
  plan.count = 1;
  std::vector<char>& kind = plan.reduced;
  int last_kind = -1;
  for (std::size_t d = 0; d < rank; ++d) {
    if (kind[d]) plan.count *= in_dims[d];
    if (in_dims[d] == 1) continue;
    if (last_kind == kind[d]) {
      plan.sizes.back() *= in_dims[d];
    } else {
      plan.sizes.push_back(in_dims[d]);
      plan.out_strides.push_back(kind[d] ? 0 : 1);  // kept groups get their stride below
      last_kind = kind[d];
    }
  }
  Index stride = 1;
  for (std::size_t g = plan.sizes.size(); g-- > 0;) {
    if (plan.out_strides[g] == 0) continue;
    plan.out_strides[g] = stride;
    stride *= plan.sizes[g];
  }
  if (plan.sizes.empty()) {  // one element
    plan.sizes.push_back(1);
    plan.out_strides.push_back(1);
  }
  return nullptr;
}

// Calls fold(acc_index, x) for every input element in memory order.
template <class T, class Fold>
void walk(const ReducePlan& plan, const T* x, Fold&& fold) {
  std::size_t groups = plan.sizes.size();
  Index inner = plan.sizes.back();
  Index inner_stride = plan.out_strides.back();
  if (inner == 0) return;
  Index rows = 1;
  for (std::size_t g = 0; g + 1 < groups; ++g) rows *= plan.sizes[g];
  for (Index r = 0; r < rows; ++r) {
    Index base = 0, rest = r;
    for (std::size_t g = groups - 1; g-- > 0;) {
      base += (rest % plan.sizes[g]) * plan.out_strides[g];
      rest /= plan.sizes[g];
    }
    const T* row = x + r * inner;
    if (inner_stride == 0) {
      for (Index j = 0; j < inner; ++j) fold(base, row[j]);
    } else {
      for (Index j = 0; j < inner; ++j) fold(base + j, row[j]);
    }
  }
}

// ---- the ops' arithmetic ----

template <class T>
inline constexpr bool is_float_v = std::is_floating_point_v<compute_t<T>>;

// Accumulator: double for floats; 64-bit integers for integer sums, products, Max, Min;
// double for integer L2, LogSum, LogSumExp and Mean.
template <class T, Kind K>
using acc_t = std::conditional_t<
    is_float_v<T> || K == Kind::l2 || K == Kind::log_sum || K == Kind::log_sum_exp || K == Kind::mean, double,
    std::conditional_t<std::is_signed_v<T>, std::int64_t, std::uint64_t>>;

// Wrapping integer arithmetic without signed overflow.
template <class A>
A wrap_add(A a, A b) {
  if constexpr (std::is_integral_v<A>) {
    return static_cast<A>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
  } else {
    return a + b;
  }
}
template <class A>
A wrap_mul(A a, A b) {
  if constexpr (std::is_integral_v<A>) {
    return static_cast<A>(static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b));
  } else {
    return a * b;
  }
}

// The identity of the op, in the accumulator; integer Max / Min start from T's own limits
// so that an empty reduction gives them.
template <class T, class A>
A init_value(Kind k) {
  switch (k) {
    case Kind::prod: return A(1);
    case Kind::max:
      if constexpr (std::is_floating_point_v<A>) return -std::numeric_limits<A>::infinity();
      else return static_cast<A>(std::numeric_limits<T>::lowest());
    case Kind::min:
      if constexpr (std::is_floating_point_v<A>) return std::numeric_limits<A>::infinity();
      else return static_cast<A>(std::numeric_limits<T>::max());
    default: return A(0);
  }
}

template <class T, Kind K>
struct Reducer {
  using A = acc_t<T, K>;

  static A load(T v) { return static_cast<A>(load_value(v)); }

  // Folds x into acc; `shift` is the output's maximum (LogSumExp only).
  static void fold(A& acc, A x, A shift) {
    if constexpr (K == Kind::sum || K == Kind::mean || K == Kind::log_sum) {
      acc = wrap_add(acc, x);
    } else if constexpr (K == Kind::prod) {
      acc = wrap_mul(acc, x);
    } else if constexpr (K == Kind::l1) {
      if constexpr (std::is_unsigned_v<A>) {
        acc = wrap_add(acc, x);
      } else if constexpr (std::is_integral_v<A>) {
        acc = wrap_add(acc, x < 0 ? static_cast<A>(0 - static_cast<std::uint64_t>(x)) : x);
      } else {
        acc += std::abs(x);
      }
    } else if constexpr (K == Kind::l2 || K == Kind::sum_square) {
      acc = wrap_add(acc, wrap_mul(x, x));
    } else if constexpr (K == Kind::log_sum_exp) {
      acc += std::exp(x - shift);
    } else if constexpr (K == Kind::max) {
      if constexpr (std::is_floating_point_v<A>) {
        if (!std::isnan(acc) && (std::isnan(x) || x > acc)) acc = x;
      } else {
        if (x > acc) acc = x;
      }
    } else if constexpr (K == Kind::min) {
      if constexpr (std::is_floating_point_v<A>) {
        if (!std::isnan(acc) && (std::isnan(x) || x < acc)) acc = x;
      } else {
        if (x < acc) acc = x;
      }
    }
  }

  static T finish(A acc, Index count, A shift) {
    A r = acc;
    if constexpr (K == Kind::mean) {
      r = count == 0 ? (is_float_v<T> ? std::numeric_limits<double>::quiet_NaN() : 0.0) : acc / static_cast<double>(count);
    } else if constexpr (K == Kind::l2) {
      r = std::sqrt(acc);
    } else if constexpr (K == Kind::log_sum) {
      r = std::log(acc);
    } else if constexpr (K == Kind::log_sum_exp) {
      r = count == 0 ? -std::numeric_limits<double>::infinity() : shift + std::log(acc);
    }
    if constexpr (is_float_v<T>) {
      return store_value<T>(static_cast<compute_t<T>>(r));
    } else if constexpr (std::is_floating_point_v<A>) {
      // Integers through double: NaN and out-of-range values saturate, never UB.
      if (std::isnan(r)) return T(0);
      if (r <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
      if (r >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
      return static_cast<T>(r);
    } else {
      return static_cast<T>(r);
    }
  }
};

template <class T, Kind K>
class ReduceOp final : public BoundOp {
  using R = Reducer<T, K>;
  using A = typename R::A;

 public:
  ReduceOp(const BindArgs& a, std::string kernel)
      : kernel_(std::move(kernel)),
        in_dims_(a.in(0).shape.dims()),
        out_dims_(a.out(0).shape.dims()),
        keepdims_(a.node.attr_int("keepdims", 1) != 0),
        noop_(a.node.attr_int("noop_with_empty_axes", 0) != 0) {
    std::size_t rank = in_dims_.size();
    plan_.reduced.resize(rank);
    plan_.sizes.reserve(rank + 1);
    plan_.out_strides.reserve(rank + 1);
    out_count_ = a.out(0).shape.elements();
    acc_.resize(out_count_);
    if (K == Kind::log_sum_exp) shift_.resize(out_count_);
    if (a.has(1)) {
      const TensorInfo& t = a.in(1);
      if (t.dtype != DType::int64) a.fail("axes must be int64, not {}", dtype_name(t.dtype));
      if (t.shape.rank() > 1) a.fail("axes must be 1-D, not {}", t.shape.str());
      axis_count_ = t.shape.elements();
      axes_from_input_ = true;
    }
    fixed_ = !axes_from_input_ || a.in(1).constant;
    if (fixed_) {
      const std::int64_t* axes = axes_from_input_ ? a.in(1).constant->values<std::int64_t>().data() : nullptr;
      if (const char* broken = plan_reduce(in_dims_, axes, axis_count_, noop_, keepdims_, out_dims_, plan_)) {
        a.fail("{} (input {}, output {})", broken, a.in(0).shape.str(), a.out(0).shape.str());
      }
    }
  }

  void run(const RunContext& ctx) override {
    T* y = ctx.out<T>(0);
    if (!fixed_) {
      const std::int64_t* axes = ctx.in<std::int64_t>(1);
      if (plan_reduce(in_dims_, axes, axis_count_, noop_, keepdims_, out_dims_, plan_) != nullptr) {
        std::fill(y, y + out_count_, T{});  // axes that break the rules: zeros
        return;
      }
    }
    const T* x = ctx.in<T>(0);
    A shift{};
    if constexpr (K == Kind::log_sum_exp) {
      std::fill(shift_.begin(), shift_.end(), -std::numeric_limits<double>::infinity());
      walk(plan_, x, [&](Index o, T v) {
        double f = R::load(v);
        double& m = shift_[static_cast<std::size_t>(o)];
        if (f > m || std::isnan(f)) m = f;
      });
      // An output whose inputs are all -inf or +inf, or NaN, shifts by 0: exp gives the
      // answer (0 -> -inf, inf -> inf, NaN -> NaN) without inf - inf.
      for (double& m : shift_) {
        if (!std::isfinite(m)) m = 0;
      }
    }
    std::fill(acc_.begin(), acc_.end(), init_value<T, A>(K));
    walk(plan_, x, [&](Index o, T v) {
      auto i = static_cast<std::size_t>(o);
      if constexpr (K == Kind::log_sum_exp) shift = shift_[i];
      R::fold(acc_[i], R::load(v), shift);
    });
    for (std::size_t i = 0; i < out_count_; ++i) {
      if constexpr (K == Kind::log_sum_exp) shift = shift_[i];
      y[i] = R::finish(acc_[i], plan_.count, shift);
    }
  }

  std::string kernel() const override { return kernel_; }

 private:
  std::string kernel_;
  std::vector<Index> in_dims_, out_dims_;
  bool keepdims_, noop_;
  bool axes_from_input_ = false, fixed_ = true;
  std::size_t axis_count_ = 0, out_count_ = 0;
  ReducePlan plan_;
  std::vector<A> acc_;
  std::vector<double> shift_;
};

template <Kind K>
std::unique_ptr<BoundOp> bind_reduce(const BindArgs& a) {
  if (a.in(0).dtype != a.out(0).dtype) a.fail("output type must equal the input's");
  return dispatch_dtype(a.in(0).dtype, a.node.op_type, [&]<class T>() -> std::unique_ptr<BoundOp> {
    if constexpr (std::is_same_v<T, bool>) {
      a.unsupported("bool input is not supported");
    } else {
      std::string kernel = "reduce_" + std::string(dtype_name(a.in(0).dtype));
      return std::make_unique<ReduceOp<T, K>>(a, std::move(kernel));
    }
  });
}

// ---- ArgMax, ArgMin ----

template <class T, bool kMax>
class ArgOp final : public BoundOp {
  using C = compute_t<T>;

 public:
  ArgOp(const BindArgs& a, std::size_t axis) : select_last_(a.node.attr_int("select_last_index", 0) != 0) {
    const std::vector<Index>& d = a.in(0).shape.dims();
    outer_ = 1;
    for (std::size_t i = 0; i < axis; ++i) outer_ *= d[i];
    n_ = d[axis];
    inner_ = 1;
    for (std::size_t i = axis + 1; i < d.size(); ++i) inner_ *= d[i];
    best_.resize(static_cast<std::size_t>(inner_));
  }

  void run(const RunContext& ctx) override {
    const T* x = ctx.in<T>(0);
    std::int64_t* y = ctx.out<std::int64_t>(0);
    for (Index o = 0; o < outer_; ++o) {
      const T* block = x + o * n_ * inner_;
      std::int64_t* out = y + o * inner_;
      for (Index i = 0; i < inner_; ++i) {
        best_[static_cast<std::size_t>(i)] = load_value(block[i]);
        out[i] = 0;
      }
      for (Index k = 1; k < n_; ++k) {
        const T* row = block + k * inner_;
        for (Index i = 0; i < inner_; ++i) {
          C v = load_value(row[i]);
          C& b = best_[static_cast<std::size_t>(i)];
          if (better(v, b)) {
            b = v;
            out[i] = k;
          }
        }
      }
    }
  }

  std::string kernel() const override { return kMax ? "argmax" : "argmin"; }

 private:
  // numpy's rule: NaN beats every number, and the first NaN (the last with
  // select_last_index) wins.
  bool better(C v, C b) const {
    if constexpr (std::is_floating_point_v<C>) {
      if (std::isnan(b)) return select_last_ && std::isnan(v);
      if (std::isnan(v)) return true;
    }
    if constexpr (kMax) {
      return select_last_ ? v >= b : v > b;
    } else {
      return select_last_ ? v <= b : v < b;
    }
  }

  bool select_last_;
  Index outer_ = 1, n_ = 0, inner_ = 1;
  std::vector<C> best_;
};

template <bool kMax>
std::unique_ptr<BoundOp> bind_arg(const BindArgs& a) {
  const Shape& in = a.in(0).shape;
  auto rank = static_cast<Index>(in.rank());
  Index axis = a.node.attr_int("axis", 0);
  if (rank == 0 || axis < -rank || axis >= rank) a.fail("axis {} is out of range for rank {}", axis, rank);
  if (axis < 0) axis += rank;
  auto ax = static_cast<std::size_t>(axis);
  if (in.dims()[ax] == 0) a.fail("axis {} is empty: no index to return", axis);
  if (a.out(0).dtype != DType::int64) a.fail("output must be int64");
  std::vector<Index> d = in.dims();
  if (a.node.attr_int("keepdims", 1) != 0) {
    d[ax] = 1;
  } else {
    d.erase(d.begin() + axis);
  }
  Shape expect(d);
  if (!(expect == a.out(0).shape)) a.fail("output shape {} should be {}", a.out(0).shape.str(), expect.str());
  return dispatch_dtype(a.in(0).dtype, a.node.op_type, [&]<class T>() -> std::unique_ptr<BoundOp> {
    if constexpr (std::is_same_v<T, bool>) {
      a.unsupported("bool input is not supported");
    } else {
      return std::make_unique<ArgOp<T, kMax>>(a, ax);
    }
  });
}

constexpr OpBinding kBindings[] = {
    {"", "ReduceSum", bind_reduce<Kind::sum>},
    {"", "ReduceMean", bind_reduce<Kind::mean>},
    {"", "ReduceMax", bind_reduce<Kind::max>},
    {"", "ReduceMin", bind_reduce<Kind::min>},
    {"", "ReduceProd", bind_reduce<Kind::prod>},
    {"", "ReduceL1", bind_reduce<Kind::l1>},
    {"", "ReduceL2", bind_reduce<Kind::l2>},
    {"", "ReduceSumSquare", bind_reduce<Kind::sum_square>},
    {"", "ReduceLogSum", bind_reduce<Kind::log_sum>},
    {"", "ReduceLogSumExp", bind_reduce<Kind::log_sum_exp>},
    {"", "ArgMax", bind_arg<true>},
    {"", "ArgMin", bind_arg<false>},
};

}  // namespace

std::span<const OpBinding> reduce_bindings() {
  return kBindings;
}

}  // namespace lowp::runtime
