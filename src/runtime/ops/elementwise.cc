// runtime/ops/elementwise.cc: unary, binary (broadcasting), variadic, comparison, logic,
// Where, Cast and Clip, for every element type the op allows.
//
// Each op is a scalar functor applied through one broadcasting loop (op_util.h); the
// float32 activations that matter for speed (Relu, Sigmoid, Tanh, Gelu...) are also fused
// into the GEMM and convolution epilogues by passes/fuse_activations.cc, so these loops
// are the general path.
#include <cmath>
#include <cstring>

#include "kernels/activate/activate.h"
#include "runtime/op.h"
#include "runtime/ops/op_util.h"

namespace lowp::runtime {
namespace {

// ---- unary ----

template <class T, class F>
std::unique_ptr<BoundOp> unary_op(const BindArgs& a, F f) {
  std::size_t n = a.out(0).shape.elements();
  return std::make_unique<FunctionOp>("elementwise", [n, f](const RunContext& ctx) {
    const T* x = ctx.in<T>(0);
    T* y = ctx.out<T>(0);
    for (std::size_t i = 0; i < n; ++i) y[i] = store_value<T>(f(load_value(x[i])));
  });
}

// A float-only unary op (math functions): float16/32/64, bfloat16.
template <class F>
std::unique_ptr<BoundOp> float_unary(const BindArgs& a, F f) {
  DType d = a.in(0).dtype;
  if (!dtype_is_float(d) || d == DType::float8e4m3fn || d == DType::float8e5m2) {
    a.fail("input type {} is not a float type", dtype_name(d));
  }
  return dispatch_dtype(d, a.node.op_type, [&]<class T>() -> std::unique_ptr<BoundOp> {
    if constexpr (std::is_same_v<compute_t<T>, float> || std::is_same_v<T, double>) {
      return unary_op<T>(a, [f](compute_t<T> x) { return static_cast<compute_t<T>>(f(x)); });
    } else {
      a.fail("internal");
    }
  });
}

// A unary op on every numeric type.
template <class F>
std::unique_ptr<BoundOp> numeric_unary(const BindArgs& a, F f) {
  return dispatch_dtype(a.in(0).dtype, a.node.op_type, [&]<class T>() -> std::unique_ptr<BoundOp> {
    if constexpr (std::is_same_v<T, bool>) {
      a.fail("bool input is not supported");
    } else {
      return unary_op<T>(a, [f](compute_t<T> x) { return static_cast<compute_t<T>>(f(x)); });
    }
  });
}

#define LOWP_FLOAT_UNARY(NAME, EXPR)                                      \
  std::unique_ptr<BoundOp> bind_##NAME(const BindArgs& a) {               \
    return float_unary(a, [](auto x) { using V [[maybe_unused]] = decltype(x); return EXPR; }); \
  }

LOWP_FLOAT_UNARY(sqrt, std::sqrt(x))
LOWP_FLOAT_UNARY(exp, std::exp(x))
LOWP_FLOAT_UNARY(log, std::log(x))
LOWP_FLOAT_UNARY(erf, std::erf(x))
LOWP_FLOAT_UNARY(tanh, std::tanh(x))
LOWP_FLOAT_UNARY(sin, std::sin(x))
LOWP_FLOAT_UNARY(cos, std::cos(x))
LOWP_FLOAT_UNARY(reciprocal, V(1) / x)
LOWP_FLOAT_UNARY(floor, std::floor(x))
LOWP_FLOAT_UNARY(ceil, std::ceil(x))
LOWP_FLOAT_UNARY(round, std::nearbyint(x))  // the default rounding mode: half to even
LOWP_FLOAT_UNARY(sigmoid, x >= 0 ? V(1) / (V(1) + std::exp(-x)) : std::exp(x) / (V(1) + std::exp(x)))
LOWP_FLOAT_UNARY(softplus, x > V(20) ? x : std::log1p(std::exp(x)))
LOWP_FLOAT_UNARY(softsign, x / (V(1) + std::abs(x)))
LOWP_FLOAT_UNARY(mish, x * std::tanh(x > V(20) ? x : std::log1p(std::exp(x))))
#undef LOWP_FLOAT_UNARY

std::unique_ptr<BoundOp> bind_relu(const BindArgs& a) {
  return numeric_unary(a, [](auto x) { return x > decltype(x)(0) ? x : decltype(x)(0); });
}
std::unique_ptr<BoundOp> bind_abs(const BindArgs& a) {
  return numeric_unary(a, [](auto x) {
    using V = decltype(x);
    if constexpr (std::is_unsigned_v<V>) {
      return x;
    } else {
      return x < V(0) ? V(-x) : x;
    }
  });
}
std::unique_ptr<BoundOp> bind_neg(const BindArgs& a) {
  return numeric_unary(a, [](auto x) { return static_cast<decltype(x)>(-x); });
}
std::unique_ptr<BoundOp> bind_sign(const BindArgs& a) {
  return numeric_unary(a, [](auto x) {
    using V = decltype(x);
    return x > V(0) ? V(1) : (x < V(0) ? V(-1) : V(0));
  });
}

std::unique_ptr<BoundOp> bind_leaky_relu(const BindArgs& a) {
  float alpha = a.node.attr_float("alpha", 0.01f);
  return float_unary(a, [alpha](auto x) { return x >= 0 ? x : x * alpha; });
}
std::unique_ptr<BoundOp> bind_elu(const BindArgs& a) {
  float alpha = a.node.attr_float("alpha", 1.0f);
  return float_unary(a, [alpha](auto x) { return x >= 0 ? x : alpha * (std::exp(x) - 1); });
}
std::unique_ptr<BoundOp> bind_celu(const BindArgs& a) {
  float alpha = a.node.attr_float("alpha", 1.0f);
  return float_unary(a, [alpha](auto x) {
    using V = decltype(x);
    return std::max(V(0), x) + std::min(V(0), V(alpha) * (std::exp(x / V(alpha)) - 1));
  });
}
std::unique_ptr<BoundOp> bind_selu(const BindArgs& a) {
  float alpha = a.node.attr_float("alpha", 1.67326319217681884765625f);
  float gamma = a.node.attr_float("gamma", 1.05070102214813232421875f);
  return float_unary(a, [alpha, gamma](auto x) { return x > 0 ? gamma * x : gamma * (alpha * std::exp(x) - alpha); });
}
std::unique_ptr<BoundOp> bind_thresholded_relu(const BindArgs& a) {
  float alpha = a.node.attr_float("alpha", 1.0f);
  return float_unary(a, [alpha](auto x) { return x > alpha ? x : decltype(x)(0); });
}
std::unique_ptr<BoundOp> bind_hard_sigmoid(const BindArgs& a) {
  float alpha = a.node.attr_float("alpha", 0.2f);
  float beta = a.node.attr_float("beta", 0.5f);
  return float_unary(a, [alpha, beta](auto x) {
    using V = decltype(x);
    return std::max(V(0), std::min(V(1), V(alpha) * x + V(beta)));
  });
}
std::unique_ptr<BoundOp> bind_hard_swish(const BindArgs& a) {
  return float_unary(a, [](auto x) {
    using V = decltype(x);
    return x * std::max(V(0), std::min(V(1), x / V(6) + V(0.5)));
  });
}
std::unique_ptr<BoundOp> bind_gelu(const BindArgs& a) {
  std::string approximate = a.node.attr_string("approximate", "none");
  if (approximate == "tanh") {
    return float_unary(a, [](auto x) {
      using V = decltype(x);
      return V(0.5) * x * (V(1) + std::tanh(V(0.7978845608028654) * (x + V(0.044715) * x * x * x)));
    });
  }
  if (approximate != "none") a.fail("approximate '{}' is not 'none' or 'tanh'", approximate);
  if (a.in(0).dtype == DType::float32) {  // the epilogues' vector GELU (kernels/activate)
    std::size_t n = a.out(0).shape.elements();
    return std::make_unique<FunctionOp>("activate:gelu", [n](const RunContext& ctx) {
      activate(ctx.in<float>(0), n, Activation::gelu, ctx.out<float>(0));
    });
  }
  return float_unary(a, [](auto x) {
    using V = decltype(x);
    return V(0.5) * x * (V(1) + std::erf(x * V(0.7071067811865476)));
  });
}

std::unique_ptr<BoundOp> bind_identity(const BindArgs& a) {
  // Dropout is the identity at inference only: a training_mode that is true, or that
  // arrives at run time, asks for random masks lowp does not draw.
  if (a.node.op_type == "Dropout" && a.has(2)) {
    const Tensor* t = a.in(2).constant;
    if (!t || t->dtype() != DType::boolean || t->elements() != 1 || t->values<std::uint8_t>()[0] != 0) {
      a.unsupported("training_mode {} is not supported (inference only)", t ? "true" : "given at run time");
    }
  }
  std::size_t bytes = dtype_storage_bytes(a.in(0).dtype, a.in(0).shape.elements());
  bool mask = a.outputs.size() > 1 && a.outputs[1].has_value();
  std::size_t mask_bytes = mask ? a.out(1).shape.elements() : 0;
  return std::make_unique<FunctionOp>("copy", [bytes, mask, mask_bytes](const RunContext& ctx) {
    if (bytes && ctx.outputs[0] != ctx.inputs[0]) std::memcpy(ctx.outputs[0], ctx.inputs[0], bytes);
    // Dropout's mask at inference: every element kept.
    if (mask && mask_bytes) std::memset(ctx.outputs[1], 1, mask_bytes);
  });
}

std::unique_ptr<BoundOp> bind_not(const BindArgs& a) {
  if (a.in(0).dtype != DType::boolean) a.fail("input must be bool");
  std::size_t n = a.in(0).shape.elements();
  return std::make_unique<FunctionOp>("elementwise", [n](const RunContext& ctx) {
    const std::uint8_t* x = ctx.in<std::uint8_t>(0);
    std::uint8_t* y = ctx.out<std::uint8_t>(0);
    for (std::size_t i = 0; i < n; ++i) y[i] = x[i] ? 0 : 1;
  });
}

std::unique_ptr<BoundOp> bind_is_nan(const BindArgs& a) {
  std::size_t n = a.in(0).shape.elements();
  return dispatch_dtype(a.in(0).dtype, "IsNaN", [&]<class T>() -> std::unique_ptr<BoundOp> {
    return std::make_unique<FunctionOp>("elementwise", [n](const RunContext& ctx) {
      const T* x = ctx.in<T>(0);
      bool* y = ctx.out<bool>(0);
      for (std::size_t i = 0; i < n; ++i) {
        if constexpr (std::is_floating_point_v<compute_t<T>>) {
          y[i] = std::isnan(load_value(x[i]));
        } else {
          y[i] = false;
        }
      }
    });
  });
}

std::unique_ptr<BoundOp> bind_is_inf(const BindArgs& a) {
  std::size_t n = a.in(0).shape.elements();
  bool pos = a.node.attr_int("detect_positive", 1) != 0;
  bool neg = a.node.attr_int("detect_negative", 1) != 0;
  return dispatch_dtype(a.in(0).dtype, "IsInf", [&]<class T>() -> std::unique_ptr<BoundOp> {
    return std::make_unique<FunctionOp>("elementwise", [n, pos, neg](const RunContext& ctx) {
      const T* x = ctx.in<T>(0);
      bool* y = ctx.out<bool>(0);
      for (std::size_t i = 0; i < n; ++i) {
        if constexpr (std::is_floating_point_v<compute_t<T>>) {
          auto v = load_value(x[i]);
          y[i] = std::isinf(v) && ((v > 0 && pos) || (v < 0 && neg));
        } else {
          y[i] = false;
        }
      }
    });
  });
}

// ---- broadcasting n-ary ----

// Applies f(out, a, b) element-wise over broadcast inputs; In and Out are storage types.
template <class In, class Out, class F>
std::unique_ptr<BoundOp> broadcast_op(const BindArgs& a, F f, std::string kernel = "elementwise") {
  std::vector<Shape> shapes;
  for (std::size_t i = 0; i < a.inputs.size(); ++i) shapes.push_back(a.in(i).shape);
  auto b = std::make_shared<Broadcaster>(a.out(0).shape, shapes);
  std::size_t n_in = shapes.size();
  return std::make_unique<FunctionOp>(std::move(kernel), [b, f, n_in](const RunContext& ctx) {
    Out* y = ctx.out<Out>(0);
    std::size_t inner = b->inner();
    std::size_t step[8];
    for (std::size_t i = 0; i < n_in; ++i) step[i] = b->inner_stride(i);
    // Elements [jb, je) of run r. Each output element is computed alone, so how the work
    // is split over threads changes no bit.
    auto body = [&](std::size_t r, std::size_t jb, std::size_t je) {
      std::size_t off[8];
      b->offsets(r, off);
      Out* yr = y + r * inner;
      if (n_in == 1) {
        const In* x0 = ctx.in<In>(0) + off[0];
        for (std::size_t j = jb; j < je; ++j) yr[j] = f(x0[j * step[0]], x0[j * step[0]]);
      } else {
        const In* x0 = ctx.in<In>(0) + off[0];
        const In* x1 = ctx.in<In>(1) + off[1];
        if (step[0] == 1 && step[1] == 1) {
          for (std::size_t j = jb; j < je; ++j) yr[j] = f(x0[j], x1[j]);
        } else if (step[0] == 1) {
          for (std::size_t j = jb; j < je; ++j) yr[j] = f(x0[j], x1[0]);
        } else if (step[1] == 1) {
          for (std::size_t j = jb; j < je; ++j) yr[j] = f(x0[0], x1[j]);
        } else {
          for (std::size_t j = jb; j < je; ++j) yr[j] = f(x0[0], x1[0]);
        }
      }
    };
    // Large outputs (a residual Add of a feature map) are split over the pool: by runs
    // when there are many, else within the one run.
    constexpr std::size_t kGrain = std::size_t{1} << 14;
    std::size_t runs = b->runs();
    if (ctx.pool && ctx.pool->threads() > 1 && runs * inner >= 4 * kGrain) {
      if (runs == 1) {
        ctx.pool->parallel_for(inner, kGrain, [&](std::size_t jb, std::size_t je) { body(0, jb, je); });
      } else {
        std::size_t grain_runs = std::max<std::size_t>(1, kGrain / std::max<std::size_t>(inner, 1));
        ctx.pool->parallel_for(runs, grain_runs, [&](std::size_t rb, std::size_t re) {
          for (std::size_t r = rb; r < re; ++r) body(r, 0, inner);
        });
      }
      return;
    }
    for (std::size_t r = 0; r < runs; ++r) body(r, 0, inner);
  });
}

enum class Arith { add, sub, mul, div, mod, fmod, pow, max, min, prelu };

// The operation is a template argument so that each op's loop is compiled (and
// vectorized) on its own; arith() below dispatches a run-time op for the variadic ops.
template <Arith op, class T>
inline T arith_t(T x, T y) {
  using C = compute_t<T>;
  C a = load_value(x), b = load_value(y);
  C r{};
  switch (op) {
    case Arith::add: r = static_cast<C>(a + b); break;
    case Arith::sub: r = static_cast<C>(a - b); break;
    case Arith::mul: r = static_cast<C>(a * b); break;
    case Arith::div:
      if constexpr (std::is_integral_v<C>) {
        r = b == 0 ? C(0) : static_cast<C>(a / b);  // integer division by zero: 0, not a trap
      } else {
        r = a / b;
      }
      break;
    case Arith::mod:  // sign of the divisor, as Python's %
      if constexpr (std::is_integral_v<C>) {
        if (b == 0) {
          r = 0;
        } else {
          C m = static_cast<C>(a % b);
          if constexpr (std::is_signed_v<C>) {
            if (m != 0 && ((m < 0) != (b < 0))) m = static_cast<C>(m + b);
          }
          r = m;
        }
      } else {
        C m = std::fmod(a, b);
        if (m != 0 && ((m < 0) != (b < 0))) m += b;
        r = m;
      }
      break;
    case Arith::fmod:  // sign of the dividend, as C's fmod
      if constexpr (std::is_integral_v<C>) {
        r = b == 0 ? C(0) : static_cast<C>(a % b);
      } else {
        r = std::fmod(a, b);
      }
      break;
    case Arith::pow: r = static_cast<C>(std::pow(a, b)); break;
    case Arith::max: r = (a != a) ? a : (b != b ? b : std::max(a, b)); break;
    case Arith::min: r = (a != a) ? a : (b != b ? b : std::min(a, b)); break;
    case Arith::prelu: r = a < 0 ? static_cast<C>(a * b) : a; break;
  }
  return store_value<T>(r);
}

template <class T>
T arith(Arith op, T x, T y) {
  switch (op) {
    case Arith::add: return arith_t<Arith::add>(x, y);
    case Arith::sub: return arith_t<Arith::sub>(x, y);
    case Arith::mul: return arith_t<Arith::mul>(x, y);
    case Arith::div: return arith_t<Arith::div>(x, y);
    case Arith::mod: return arith_t<Arith::mod>(x, y);
    case Arith::fmod: return arith_t<Arith::fmod>(x, y);
    case Arith::pow: return arith_t<Arith::pow>(x, y);
    case Arith::max: return arith_t<Arith::max>(x, y);
    case Arith::min: return arith_t<Arith::min>(x, y);
    case Arith::prelu: return arith_t<Arith::prelu>(x, y);
  }
  return x;
}

template <Arith op>
std::unique_ptr<BoundOp> bind_arith_t(const BindArgs& a) {
  return dispatch_dtype(a.in(0).dtype, a.node.op_type, [&]<class T>() -> std::unique_ptr<BoundOp> {
    if constexpr (std::is_same_v<T, bool>) {
      a.fail("bool inputs are not supported");
    } else {
      return broadcast_op<T, T>(a, [](T x, T y) { return arith_t<op>(x, y); });
    }
  });
}

std::unique_ptr<BoundOp> bind_arith(const BindArgs& a, Arith op) {
  switch (op) {
    case Arith::add: return bind_arith_t<Arith::add>(a);
    case Arith::sub: return bind_arith_t<Arith::sub>(a);
    case Arith::mul: return bind_arith_t<Arith::mul>(a);
    case Arith::div: return bind_arith_t<Arith::div>(a);
    case Arith::mod: return bind_arith_t<Arith::mod>(a);
    case Arith::fmod: return bind_arith_t<Arith::fmod>(a);
    case Arith::pow: return bind_arith_t<Arith::pow>(a);
    case Arith::max: return bind_arith_t<Arith::max>(a);
    case Arith::min: return bind_arith_t<Arith::min>(a);
    case Arith::prelu: return bind_arith_t<Arith::prelu>(a);
  }
  a.fail("internal: unknown arithmetic op");
}

std::unique_ptr<BoundOp> bind_add(const BindArgs& a) { return bind_arith(a, Arith::add); }
std::unique_ptr<BoundOp> bind_sub(const BindArgs& a) { return bind_arith(a, Arith::sub); }
std::unique_ptr<BoundOp> bind_mul(const BindArgs& a) { return bind_arith(a, Arith::mul); }
std::unique_ptr<BoundOp> bind_div(const BindArgs& a) { return bind_arith(a, Arith::div); }
std::unique_ptr<BoundOp> bind_prelu(const BindArgs& a) { return bind_arith(a, Arith::prelu); }
std::unique_ptr<BoundOp> bind_mod(const BindArgs& a) {
  return bind_arith(a, a.node.attr_int("fmod", 0) ? Arith::fmod : Arith::mod);
}

// Pow: the exponent may have another type; computed in double for integers, float else.
std::unique_ptr<BoundOp> bind_pow(const BindArgs& a) {
  return dispatch_dtype(a.in(0).dtype, "Pow", [&]<class T>() -> std::unique_ptr<BoundOp> {
    return dispatch_dtype(a.in(1).dtype, "Pow exponent", [&]<class E>() -> std::unique_ptr<BoundOp> {
      if constexpr (std::is_same_v<T, bool> || std::is_same_v<E, bool>) {
        a.fail("bool inputs are not supported");
      } else {
        std::vector<Shape> shapes{a.in(0).shape, a.in(1).shape};
        auto b = std::make_shared<Broadcaster>(a.out(0).shape, shapes);
        return std::make_unique<FunctionOp>("elementwise", [b](const RunContext& ctx) {
          std::size_t off[2];
          T* y = ctx.out<T>(0);
          for (std::size_t r = 0; r < b->runs(); ++r) {
            b->offsets(r, off);
            for (std::size_t j = 0; j < b->inner(); ++j) {
              auto x = load_value(ctx.in<T>(0)[off[0] + j * b->inner_stride(0)]);
              auto e = load_value(ctx.in<E>(1)[off[1] + j * b->inner_stride(1)]);
              using C = compute_t<T>;
              C v;
              if constexpr (std::is_same_v<C, float>) {
                v = std::pow(x, static_cast<float>(e));
              } else {
                v = static_cast<C>(std::pow(static_cast<double>(x), static_cast<double>(e)));
              }
              y[r * b->inner() + j] = store_value<T>(v);
            }
          }
        });
      }
    });
  });
}

// Max, Min, Sum, Mean over any number of inputs: pairwise through the output.
std::unique_ptr<BoundOp> bind_variadic(const BindArgs& a, Arith op, bool mean) {
  std::size_t n = a.inputs.size();
  return dispatch_dtype(a.in(0).dtype, a.node.op_type, [&]<class T>() -> std::unique_ptr<BoundOp> {
    if constexpr (std::is_same_v<T, bool>) {
      a.fail("bool inputs are not supported");
    } else {
      std::vector<std::shared_ptr<Broadcaster>> each;
      for (std::size_t i = 0; i < n; ++i) {
        each.push_back(std::make_shared<Broadcaster>(a.out(0).shape, std::vector<Shape>{a.in(i).shape}));
      }
      std::size_t total = a.out(0).shape.elements();
      return std::make_unique<FunctionOp>("elementwise", [each, n, op, mean, total](const RunContext& ctx) {
        T* y = ctx.out<T>(0);
        for (std::size_t i = 0; i < n; ++i) {
          const Broadcaster& b = *each[i];
          const T* x = ctx.in<T>(i);
          std::size_t off[1];
          for (std::size_t r = 0; r < b.runs(); ++r) {
            b.offsets(r, off);
            for (std::size_t j = 0; j < b.inner(); ++j) {
              T v = x[off[0] + j * b.inner_stride(0)];
              T& o = y[r * b.inner() + j];
              o = i == 0 ? v : arith<T>(op, o, v);
            }
          }
        }
        if (mean) {
          for (std::size_t j = 0; j < total; ++j) {
            y[j] = store_value<T>(static_cast<compute_t<T>>(load_value(y[j]) / static_cast<compute_t<T>>(n)));
          }
        }
      });
    }
  });
}
std::unique_ptr<BoundOp> bind_max(const BindArgs& a) { return bind_variadic(a, Arith::max, false); }
std::unique_ptr<BoundOp> bind_min(const BindArgs& a) { return bind_variadic(a, Arith::min, false); }
std::unique_ptr<BoundOp> bind_sum(const BindArgs& a) { return bind_variadic(a, Arith::add, false); }
std::unique_ptr<BoundOp> bind_mean(const BindArgs& a) { return bind_variadic(a, Arith::add, true); }

enum class Compare { eq, lt, le, gt, ge };

std::unique_ptr<BoundOp> bind_compare(const BindArgs& a, Compare c) {
  return dispatch_dtype(a.in(0).dtype, a.node.op_type, [&]<class T>() -> std::unique_ptr<BoundOp> {
    return broadcast_op<T, bool>(a, [c](T x, T y) {
      auto p = load_value(x), q = load_value(y);
      switch (c) {
        case Compare::eq: return p == q;
        case Compare::lt: return p < q;
        case Compare::le: return p <= q;
        case Compare::gt: return p > q;
        case Compare::ge: return p >= q;
      }
      return false;
    });
  });
}
std::unique_ptr<BoundOp> bind_equal(const BindArgs& a) { return bind_compare(a, Compare::eq); }
std::unique_ptr<BoundOp> bind_less(const BindArgs& a) { return bind_compare(a, Compare::lt); }
std::unique_ptr<BoundOp> bind_less_equal(const BindArgs& a) { return bind_compare(a, Compare::le); }
std::unique_ptr<BoundOp> bind_greater(const BindArgs& a) { return bind_compare(a, Compare::gt); }
std::unique_ptr<BoundOp> bind_greater_equal(const BindArgs& a) { return bind_compare(a, Compare::ge); }

std::unique_ptr<BoundOp> bind_logic(const BindArgs& a, int which) {
  if (a.in(0).dtype != DType::boolean || a.in(1).dtype != DType::boolean) a.fail("inputs must be bool");
  return broadcast_op<bool, bool>(a, [which](bool x, bool y) {
    return which == 0 ? (x && y) : which == 1 ? (x || y) : (x != y);
  });
}
std::unique_ptr<BoundOp> bind_and(const BindArgs& a) { return bind_logic(a, 0); }
std::unique_ptr<BoundOp> bind_or(const BindArgs& a) { return bind_logic(a, 1); }
std::unique_ptr<BoundOp> bind_xor(const BindArgs& a) { return bind_logic(a, 2); }

std::unique_ptr<BoundOp> bind_where(const BindArgs& a) {
  std::vector<Shape> shapes{a.in(0).shape, a.in(1).shape, a.in(2).shape};
  auto b = std::make_shared<Broadcaster>(a.out(0).shape, shapes);
  std::size_t width = dtype_storage_bytes(a.in(1).dtype, 1);
  return std::make_unique<FunctionOp>("elementwise", [b, width](const RunContext& ctx) {
    std::size_t off[3];
    std::byte* y = ctx.outputs[0];
    const auto* cond = ctx.in<std::uint8_t>(0);
    for (std::size_t r = 0; r < b->runs(); ++r) {
      b->offsets(r, off);
      for (std::size_t j = 0; j < b->inner(); ++j) {
        bool c = cond[off[0] + j * b->inner_stride(0)] != 0;
        std::size_t k = c ? 1 : 2;
        const std::byte* src = ctx.inputs[k] + (off[k] + j * b->inner_stride(k)) * width;
        std::memcpy(y + (r * b->inner() + j) * width, src, width);
      }
    }
  });
}

// Cast: through double for every pair (exact for every integer up to 2^53 and every
// float), with int64 / uint64 taken directly between integers; float8 and the 16-bit
// floats round to nearest even as float_types.h specifies. Out-of-range float to
// integer conversions saturate (ONNX leaves them undefined).
template <class From, class To>
To cast_value(From v, bool saturate) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<To, bool>) {
    return load_value(v) != compute_t<From>(0);
  } else if constexpr (std::is_integral_v<To> && std::is_integral_v<compute_t<From>>) {
    return static_cast<To>(v);
  } else if constexpr (std::is_same_v<To, float8e4m3fn> || std::is_same_v<To, float8e5m2>) {
    return To::from_float(static_cast<float>(load_value(v)), saturate);
  } else if constexpr (is_half_v<To>) {
    return To::from_float(static_cast<float>(load_value(v)));
  } else if constexpr (std::is_integral_v<To>) {
    double d = static_cast<double>(load_value(v));
    if (std::isnan(d)) return To(0);
    if (d <= static_cast<double>(std::numeric_limits<To>::min())) return std::numeric_limits<To>::min();
    if (d >= static_cast<double>(std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
    return static_cast<To>(d);
  } else {
    return static_cast<To>(load_value(v));
  }
}

template <class Fn>
decltype(auto) dispatch_cast_type(DType d, std::string_view what, Fn&& fn) {
  if (d == DType::float8e4m3fn) return fn.template operator()<float8e4m3fn>();
  if (d == DType::float8e5m2) return fn.template operator()<float8e5m2>();
  return dispatch_dtype(d, what, std::forward<Fn>(fn));
}

template <class T>
auto load_any(T v) {
  if constexpr (std::is_same_v<T, float8e4m3fn> || std::is_same_v<T, float8e5m2>) {
    return v.to_float();
  } else {
    return v;
  }
}

std::unique_ptr<BoundOp> bind_cast(const BindArgs& a) {
  std::size_t n = a.in(0).shape.elements();
  bool saturate = a.node.attr_int("saturate", 1) != 0;
  return dispatch_cast_type(a.in(0).dtype, "Cast input", [&]<class From>() -> std::unique_ptr<BoundOp> {
    return dispatch_cast_type(a.out(0).dtype, "Cast output", [&]<class To>() -> std::unique_ptr<BoundOp> {
      return std::make_unique<FunctionOp>("cast", [n, saturate](const RunContext& ctx) {
        const From* x = ctx.in<From>(0);
        To* y = ctx.out<To>(0);
        for (std::size_t i = 0; i < n; ++i) y[i] = cast_value<decltype(load_any(x[i])), To>(load_any(x[i]), saturate);
      });
    });
  });
}

std::unique_ptr<BoundOp> bind_clip(const BindArgs& a) {
  std::size_t n = a.in(0).shape.elements();
  return dispatch_dtype(a.in(0).dtype, "Clip", [&]<class T>() -> std::unique_ptr<BoundOp> {
    if constexpr (std::is_same_v<T, bool>) {
      a.fail("bool input is not supported");
    } else {
      bool lo = a.has(1), hi = a.has(2);
      return std::make_unique<FunctionOp>("elementwise", [n, lo, hi](const RunContext& ctx) {
        using C = compute_t<T>;
        const T* x = ctx.in<T>(0);
        T* y = ctx.out<T>(0);
        C low = lo ? load_value(ctx.in<T>(1)[0]) : std::numeric_limits<C>::lowest();
        C high = hi ? load_value(ctx.in<T>(2)[0]) : std::numeric_limits<C>::max();
        if constexpr (std::is_floating_point_v<C>) {
          if (!lo) low = -std::numeric_limits<C>::infinity();
          if (!hi) high = std::numeric_limits<C>::infinity();
        }
        for (std::size_t i = 0; i < n; ++i) {
          C v = load_value(x[i]);
          y[i] = store_value<T>(v != v ? v : std::min(std::max(v, low), high));
        }
      });
    }
  });
}

constexpr OpBinding kBindings[] = {
    {"", "Abs", bind_abs},
    {"", "Neg", bind_neg},
    {"", "Sign", bind_sign},
    {"", "Floor", bind_floor},
    {"", "Ceil", bind_ceil},
    {"", "Round", bind_round},
    {"", "Reciprocal", bind_reciprocal},
    {"", "Sqrt", bind_sqrt},
    {"", "Exp", bind_exp},
    {"", "Log", bind_log},
    {"", "Erf", bind_erf},
    {"", "Tanh", bind_tanh},
    {"", "Sin", bind_sin},
    {"", "Cos", bind_cos},
    {"", "Sigmoid", bind_sigmoid},
    {"", "HardSigmoid", bind_hard_sigmoid},
    {"", "HardSwish", bind_hard_swish},
    {"", "Relu", bind_relu},
    {"", "LeakyRelu", bind_leaky_relu},
    {"", "Elu", bind_elu},
    {"", "Selu", bind_selu},
    {"", "Celu", bind_celu},
    {"", "ThresholdedRelu", bind_thresholded_relu},
    {"", "Softplus", bind_softplus},
    {"", "Softsign", bind_softsign},
    {"", "Gelu", bind_gelu},
    {"", "Mish", bind_mish},
    {"", "Identity", bind_identity},
    {"", "Dropout", bind_identity},
    {"", "Not", bind_not},
    {"", "IsNaN", bind_is_nan},
    {"", "IsInf", bind_is_inf},
    {"", "Add", bind_add},
    {"", "Sub", bind_sub},
    {"", "Mul", bind_mul},
    {"", "Div", bind_div},
    {"", "Mod", bind_mod},
    {"", "Pow", bind_pow},
    {"", "PRelu", bind_prelu},
    {"", "Max", bind_max},
    {"", "Min", bind_min},
    {"", "Sum", bind_sum},
    {"", "Mean", bind_mean},
    {"", "And", bind_and},
    {"", "Or", bind_or},
    {"", "Xor", bind_xor},
    {"", "Equal", bind_equal},
    {"", "Less", bind_less},
    {"", "LessOrEqual", bind_less_equal},
    {"", "Greater", bind_greater},
    {"", "GreaterOrEqual", bind_greater_equal},
    {"", "Where", bind_where},
    {"", "Cast", bind_cast},
    {"", "CastLike", bind_cast},
    {"", "Clip", bind_clip},
};

}  // namespace

std::span<const OpBinding> elementwise_bindings() {
  return kBindings;
}

}  // namespace lowp::runtime
