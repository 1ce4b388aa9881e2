// runtime/ops/math_ops.cc: Shrink, BitShift, the inverse and hyperbolic trigonometric
// functions (Acos, Asin, Atan, Acosh, Asinh, Atanh, Cosh, Sinh, Tan), LRN,
// InstanceNormalization and Einsum.
//
// These are reference kernels: plain loops, statistics in double, one fixed order of
// summation (so results never depend on threads). Einsum is general (any equation ONNX
// allows: repeated labels take diagonals, an ellipsis broadcasts), summing in double for
// floats over the contracted labels in their order of first appearance.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "ir/ops_more.h"
#include "runtime/op.h"
#include "runtime/ops/op_util.h"

namespace lowp::runtime {
namespace {

using Index = std::int64_t;

std::unique_ptr<BoundOp> make_op(std::string kernel, std::function<void(const RunContext&)> fn) {
  return std::make_unique<FunctionOp>(std::move(kernel), std::move(fn));
}

bool is_float_type(DType d) {
  return d == DType::float32 || d == DType::float64 || d == DType::float16 || d == DType::bfloat16;
}

// ---- unary ----

template <class F>
std::unique_ptr<BoundOp> float_unary(const BindArgs& a, F f) {
  DType d = a.in(0).dtype;
  if (!is_float_type(d)) {
    if (dtype_is_float(d)) a.unsupported("{} input is not supported", dtype_name(d));
    a.fail("input type {} is not a float type", dtype_name(d));
  }
  std::size_t n = a.in(0).shape.elements();
  return dispatch_dtype(d, a.node.op_type, [&]<class T>() -> std::unique_ptr<BoundOp> {
    if constexpr (std::is_floating_point_v<compute_t<T>>) {
      return make_op("elementwise", [n, f](const RunContext& ctx) {
        const T* x = ctx.in<T>(0);
        T* y = ctx.out<T>(0);
        for (std::size_t i = 0; i < n; ++i) y[i] = store_value<T>(static_cast<compute_t<T>>(f(load_value(x[i]))));
      });
    } else {
      a.fail("internal: not a float type");
    }
  });
}

#define LOWP_TRIG(NAME, FN) \
  std::unique_ptr<BoundOp> bind_##NAME(const BindArgs& a) { return float_unary(a, [](auto x) { return FN(x); }); }
LOWP_TRIG(acos, std::acos)
LOWP_TRIG(asin, std::asin)
LOWP_TRIG(atan, std::atan)
LOWP_TRIG(acosh, std::acosh)
LOWP_TRIG(asinh, std::asinh)
LOWP_TRIG(atanh, std::atanh)
LOWP_TRIG(cosh, std::cosh)
LOWP_TRIG(sinh, std::sinh)
LOWP_TRIG(tan, std::tan)
#undef LOWP_TRIG

// Shrink: x < -lambd ? x + bias : x > lambd ? x - bias : 0, for every numeric type.
std::unique_ptr<BoundOp> bind_shrink(const BindArgs& a) {
  DType d = a.in(0).dtype;
  if (d == DType::boolean || d == DType::float8e4m3fn || d == DType::float8e5m2) a.unsupported("{} input is not supported", dtype_name(d));
  double lambd = a.node.attr_float("lambd", 0.5f), bias = a.node.attr_float("bias", 0.0f);
  std::size_t n = a.in(0).shape.elements();
  return dispatch_dtype(d, "Shrink", [&]<class T>() {
    return make_op("elementwise", [=](const RunContext& ctx) {
      const T* x = ctx.in<T>(0);
      T* y = ctx.out<T>(0);
      for (std::size_t i = 0; i < n; ++i) {
        auto v = static_cast<double>(load_value(x[i]));
        double r = v < -lambd ? v + bias : v > lambd ? v - bias : 0.0;
        y[i] = store_value<T>(static_cast<compute_t<T>>(r));
      }
    });
  });
}

// BitShift: shifts of the width or more give 0.
std::unique_ptr<BoundOp> bind_bitshift(const BindArgs& a) {
  bool left = a.node.attr_string("direction", "") == "LEFT";
  std::vector<Shape> shapes{a.in(0).shape, a.in(1).shape};
  auto b = std::make_shared<Broadcaster>(a.out(0).shape, shapes);
  auto make = [&]<class T>() {
    return make_op("elementwise", [b, left](const RunContext& ctx) {
      const T* x = ctx.in<T>(0);
      const T* s = ctx.in<T>(1);
      T* y = ctx.out<T>(0);
      std::size_t off[2];
      for (std::size_t r = 0; r < b->runs(); ++r) {
        b->offsets(r, off);
        for (std::size_t j = 0; j < b->inner(); ++j) {
          T v = x[off[0] + j * b->inner_stride(0)];
          T k = s[off[1] + j * b->inner_stride(1)];
          T out = k >= sizeof(T) * 8 ? T{0} : static_cast<T>(left ? v << k : v >> k);
          y[r * b->inner() + j] = out;
        }
      }
    });
  };
  switch (a.in(0).dtype) {
    case DType::uint8: return make.operator()<std::uint8_t>();
    case DType::uint16: return make.operator()<std::uint16_t>();
    case DType::uint32: return make.operator()<std::uint32_t>();
    case DType::uint64: return make.operator()<std::uint64_t>();
    default: a.fail("type {} is not an unsigned integer type", dtype_name(a.in(0).dtype));
  }
}

// ---- LRN, InstanceNormalization ----

template <class Fn>
decltype(auto) dispatch_float(const BindArgs& a, DType d, Fn&& fn) {
  if (!is_float_type(d)) a.unsupported("element type {} is not supported", dtype_name(d));
  return dispatch_dtype(d, a.node.op_type, std::forward<Fn>(fn));
}

// y = x / (bias + alpha / size * sum of x^2 over the channel window)^beta.
std::unique_ptr<BoundOp> bind_lrn(const BindArgs& a) {
  const std::vector<Index>& d = a.in(0).shape.dims();
  if (d.size() < 3) a.fail("input must have rank >= 3");
  Index size = a.node.attr_int("size", 0);
  if (size < 1) a.fail("size must be >= 1");
  double alpha = a.node.attr_float("alpha", 1e-4f), beta = a.node.attr_float("beta", 0.75f), bias = a.node.attr_float("bias", 1.0f);
  Index n = d[0], c = d[1], inner = 1;
  for (std::size_t i = 2; i < d.size(); ++i) inner *= d[i];
  Index lo = (size - 1) / 2, hi = size - 1 - lo;  // floor and ceil of (size - 1) / 2
  return dispatch_float(a, a.in(0).dtype, [&]<class T>() {
    return make_op("lrn", [=](const RunContext& ctx) {
      const T* x = ctx.in<T>(0);
      T* y = ctx.out<T>(0);
      for (Index b = 0; b < n; ++b) {
        for (Index ch = 0; ch < c; ++ch) {
          Index c0 = std::max<Index>(0, ch - lo), c1 = std::min<Index>(c - 1, ch + hi);
          for (Index i = 0; i < inner; ++i) {
            double sum = 0;
            for (Index k = c0; k <= c1; ++k) {
              auto v = static_cast<double>(load_value(x[(b * c + k) * inner + i]));
              sum += v * v;
            }
            Index at = (b * c + ch) * inner + i;
            double v = static_cast<double>(load_value(x[at]));
            y[at] = store_value<T>(static_cast<compute_t<T>>(v / std::pow(bias + alpha / static_cast<double>(size) * sum, beta)));
          }
        }
      }
    });
  });
}

std::unique_ptr<BoundOp> bind_instance_norm(const BindArgs& a) {
  const std::vector<Index>& d = a.in(0).shape.dims();
  if (d.size() < 3) a.fail("input must have rank >= 3");
  Index n = d[0], c = d[1], inner = 1;
  for (std::size_t i = 2; i < d.size(); ++i) inner *= d[i];
  for (std::size_t i = 1; i < 3; ++i) {
    if (a.in(i).shape != Shape{c} || a.in(i).dtype != a.in(0).dtype) a.fail("scale and B must be {}[{}]", dtype_name(a.in(0).dtype), c);
  }
  double eps = a.node.attr_float("epsilon", 1e-5f);
  return dispatch_float(a, a.in(0).dtype, [&]<class T>() {
    return make_op("instance_norm", [=](const RunContext& ctx) {
      const T* x = ctx.in<T>(0);
      const T* scale = ctx.in<T>(1);
      const T* shift = ctx.in<T>(2);
      T* y = ctx.out<T>(0);
      for (Index b = 0; b < n; ++b) {
        for (Index ch = 0; ch < c; ++ch) {
          const T* xp = x + (b * c + ch) * inner;
          T* yp = y + (b * c + ch) * inner;
          double mean = 0, var = 0;
          for (Index i = 0; i < inner; ++i) mean += static_cast<double>(load_value(xp[i]));
          mean /= static_cast<double>(std::max<Index>(inner, 1));
          for (Index i = 0; i < inner; ++i) {
            double t = static_cast<double>(load_value(xp[i])) - mean;
            var += t * t;
          }
          var /= static_cast<double>(std::max<Index>(inner, 1));
          double k = static_cast<double>(load_value(scale[ch])) / std::sqrt(var + eps);
          double s = static_cast<double>(load_value(shift[ch]));
          for (Index i = 0; i < inner; ++i) {
            yp[i] = store_value<T>(static_cast<compute_t<T>>((static_cast<double>(load_value(xp[i])) - mean) * k + s));
          }
        }
      }
    });
  });
}

// ---- Einsum ----

struct EinsumPlan {
  std::vector<Index> out_sizes, sum_sizes;             // per output label, per contracted label
  std::vector<std::vector<Index>> out_strides, sum_strides;  // [input][label]
  std::size_t inputs = 0;
  std::size_t out_elements = 0;
};

EinsumPlan einsum_plan(const BindArgs& a) {
  std::vector<std::size_t> ranks;
  for (std::size_t i = 0; i < a.inputs.size(); ++i) ranks.push_back(a.in(i).shape.rank());
  ir::InferContext ictx(a.node);
  ir::EinsumTerms terms = ir::einsum_terms(ictx, a.node.attr_string("equation", ""), ranks);
  std::map<int, Index> size;
  std::vector<int> order;  // labels in order of first appearance
  for (std::size_t i = 0; i < terms.inputs.size(); ++i) {
    const std::vector<Index>& dims = a.in(i).shape.dims();
    for (std::size_t k = 0; k < dims.size(); ++k) {
      int l = terms.inputs[i][k];
      auto [it, fresh] = size.emplace(l, dims[k]);
      if (fresh) {
        order.push_back(l);
      } else if (it->second != dims[k]) {
        bool ellipsis = l >= ir::kEinsumEllipsis;
        if (ellipsis && it->second == 1) it->second = dims[k];
        else if (!(ellipsis && dims[k] == 1)) a.fail("a label has sizes {} and {}", it->second, dims[k]);
      }
    }
  }
  EinsumPlan p;
  p.inputs = terms.inputs.size();
  std::vector<int> summed;
  for (int l : order) {
    if (std::find(terms.output.begin(), terms.output.end(), l) == terms.output.end()) summed.push_back(l);
  }
  std::vector<Index> out_dims;
  for (int l : terms.output) {
    p.out_sizes.push_back(size[l]);
    out_dims.push_back(size[l]);
  }
  for (int l : summed) p.sum_sizes.push_back(size[l]);
  if (a.out(0).shape.dims() != out_dims || a.out(0).dtype != a.in(0).dtype) a.fail("output must be {}", Shape(out_dims).str());
  for (std::size_t i = 0; i < p.inputs; ++i) {
    if (a.in(i).dtype != a.in(0).dtype) a.fail("inputs have different types");
    const std::vector<Index>& dims = a.in(i).shape.dims();
    std::vector<Index> st(dims.size(), 1);
    for (std::size_t k = dims.size(); k-- > 1;) st[k - 1] = st[k] * dims[k];
    auto stride_of = [&](int l) {
      Index s = 0;
      for (std::size_t k = 0; k < dims.size(); ++k) {
        if (terms.inputs[i][k] == l && dims[k] != 1) s += st[k];  // size 1: broadcast
      }
      return s;
    };
    std::vector<Index> os, ss;
    for (int l : terms.output) os.push_back(stride_of(l));
    for (int l : summed) ss.push_back(stride_of(l));
    p.out_strides.push_back(os);
    p.sum_strides.push_back(ss);
  }
  p.out_elements = a.out(0).shape.elements();
  return p;
}

std::unique_ptr<BoundOp> bind_einsum(const BindArgs& a) {
  if (a.inputs.size() > 16) a.unsupported("more than 16 inputs are not supported");
  auto p = std::make_shared<EinsumPlan>(einsum_plan(a));
  DType d = a.in(0).dtype;
  if (d == DType::boolean || d == DType::float8e4m3fn || d == DType::float8e5m2) a.unsupported("{} inputs are not supported", dtype_name(d));
  Index sum_count = 1;
  for (Index s : p->sum_sizes) sum_count *= s;
  if (p->out_sizes.size() > 64 || p->sum_sizes.size() > 64) a.unsupported("more than 64 labels are not supported");
  return dispatch_dtype(d, "Einsum", [&]<class T>() {
    return make_op("einsum_reference", [p, sum_count](const RunContext& ctx) {
      using Acc = std::conditional_t<std::is_floating_point_v<compute_t<T>>, double, compute_t<T>>;
      std::size_t n_in = p->inputs;
      Index base[16], off[16];
      Index pos[64];
      std::size_t out_rank = p->out_sizes.size(), sum_rank = p->sum_sizes.size();
      T* y = ctx.out<T>(0);
      Index out_pos[64] = {};
      for (std::size_t e = 0; e < p->out_elements; ++e) {
        for (std::size_t i = 0; i < n_in; ++i) {
          base[i] = 0;
          for (std::size_t l = 0; l < out_rank; ++l) base[i] += out_pos[l] * p->out_strides[i][l];
        }
        Acc acc = 0;
        std::fill(pos, pos + sum_rank, 0);
        for (Index s = 0; s < sum_count; ++s) {
          Acc prod = 1;
          for (std::size_t i = 0; i < n_in; ++i) {
            off[i] = base[i];
            for (std::size_t l = 0; l < sum_rank; ++l) off[i] += pos[l] * p->sum_strides[i][l];
            prod = static_cast<Acc>(prod * static_cast<Acc>(load_value(ctx.in<T>(i)[off[i]])));
          }
          acc = static_cast<Acc>(acc + prod);
          for (std::size_t l = sum_rank; l-- > 0;) {
            if (++pos[l] < p->sum_sizes[l]) break;
            pos[l] = 0;
          }
        }
        y[e] = store_value<T>(static_cast<compute_t<T>>(acc));
        for (std::size_t l = out_rank; l-- > 0;) {
          if (++out_pos[l] < p->out_sizes[l]) break;
          out_pos[l] = 0;
        }
      }
    });
  });
}

constexpr OpBinding kBindings[] = {
    {"", "Acos", bind_acos},
    {"", "Asin", bind_asin},
    {"", "Atan", bind_atan},
    {"", "Acosh", bind_acosh},
    {"", "Asinh", bind_asinh},
    {"", "Atanh", bind_atanh},
    {"", "Cosh", bind_cosh},
    {"", "Sinh", bind_sinh},
    {"", "Tan", bind_tan},
    {"", "Shrink", bind_shrink},
    {"", "BitShift", bind_bitshift},
    {"", "LRN", bind_lrn},
    {"", "InstanceNormalization", bind_instance_norm},
    {"", "Einsum", bind_einsum},
};

}  // namespace

std::span<const OpBinding> math_op_bindings() {
  return kBindings;
}

}  // namespace lowp::runtime
