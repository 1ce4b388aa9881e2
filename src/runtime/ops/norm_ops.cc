// runtime/ops/norm_ops.cc: BatchNormalization (inference), LayerNormalization, Softmax
// and LogSoftmax over any axis.
#include <cmath>

#include "kernels/softmax/softmax.h"
#include "runtime/ops/nn_ops.h"
#include "runtime/ops/op_util.h"

namespace lowp::runtime {
namespace {

void require_float32(const BindArgs& a, std::size_t input) {
  if (a.in(input).dtype != DType::float32) {
    a.fail("only float32 is supported, input {} is {}", input, dtype_name(a.in(input).dtype));
  }
}

}  // namespace

// y = (x - mean) / sqrt(var + epsilon) * scale + bias, per channel (axis 1), as one
// multiply-add per element with the per-channel factors computed at run time in double.
std::unique_ptr<BoundOp> bind_batch_norm(const BindArgs& a) {
  for (std::size_t i = 0; i < 5; ++i) require_float32(a, i);
  const Shape& s = a.in(0).shape;
  std::size_t n = static_cast<std::size_t>(s[0]);
  std::size_t c = static_cast<std::size_t>(s[1]);
  std::size_t inner = s.elements() / std::max<std::size_t>(n * c, 1);
  for (std::size_t i = 1; i < 5; ++i) {
    if (a.in(i).shape.elements() != c) a.fail("input {} must hold {} values, one per channel", i, c);
  }
  float eps = a.node.attr_float("epsilon", 1e-5f);
  auto factors = std::make_shared<std::vector<float>>(2 * c);
  return std::make_unique<FunctionOp>("batchnorm", [n, c, inner, eps, factors](const RunContext& ctx) {
    const float* x = ctx.in<float>(0);
    const float* scale = ctx.in<float>(1);
    const float* bias = ctx.in<float>(2);
    const float* mean = ctx.in<float>(3);
    const float* var = ctx.in<float>(4);
    float* y = ctx.out<float>(0);
    std::vector<float>& f = *factors;
    for (std::size_t ch = 0; ch < c; ++ch) {
      double m = scale[ch] / std::sqrt(static_cast<double>(var[ch]) + eps);
      f[ch] = static_cast<float>(m);
      f[c + ch] = static_cast<float>(bias[ch] - mean[ch] * m);
    }
    for (std::size_t b = 0; b < n; ++b) {
      for (std::size_t ch = 0; ch < c; ++ch) {
        const float* xi = x + (b * c + ch) * inner;
        float* yi = y + (b * c + ch) * inner;
        float mul = f[ch], add = f[c + ch];
        for (std::size_t i = 0; i < inner; ++i) yi[i] = xi[i] * mul + add;
      }
    }
  });
}

// Normalizes over the axes from `axis` to the end; statistics in double per row.
std::unique_ptr<BoundOp> bind_layer_norm(const BindArgs& a) {
  require_float32(a, 0);
  require_float32(a, 1);
  if (a.has(2)) require_float32(a, 2);
  const Shape& s = a.in(0).shape;
  auto rank = static_cast<std::int64_t>(s.rank());
  std::int64_t axis = a.node.attr_int("axis", -1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) a.fail("axis out of range");
  std::size_t cols = 1;
  for (std::int64_t i = axis; i < rank; ++i) cols *= static_cast<std::size_t>(s[static_cast<std::size_t>(i)]);
  std::size_t rows = cols ? s.elements() / cols : 0;
  auto scale_b = std::make_shared<Broadcaster>(Shape(std::vector<std::int64_t>(s.dims().begin() + axis, s.dims().end())),
                                               std::vector<Shape>{a.in(1).shape});
  if (scale_b->inner_stride(0) != 1 || scale_b->runs() != 1 ||
      (a.has(2) && a.in(2).shape.elements() != cols)) {
    if (a.in(1).shape.elements() != cols) a.fail("Scale must have the normalized axes' shape");
  }
  bool bias = a.has(2);
  bool want_mean = a.outputs.size() > 1 && a.outputs[1];
  bool want_inv = a.outputs.size() > 2 && a.outputs[2];
  if ((want_mean && a.out(1).dtype != DType::float32) || (want_inv && a.out(2).dtype != DType::float32)) {
    a.fail("Mean and InvStdDev outputs must be float32");
  }
  float eps = a.node.attr_float("epsilon", 1e-5f);
  bool scalar_scale = a.in(1).shape.elements() == 1;
  bool scalar_bias = bias && a.in(2).shape.elements() == 1;
  return std::make_unique<FunctionOp>("layernorm", [=](const RunContext& ctx) {
    const float* x = ctx.in<float>(0);
    const float* g = ctx.in<float>(1);
    const float* b = bias ? ctx.in<float>(2) : nullptr;
    float* y = ctx.out<float>(0);
    for (std::size_t r = 0; r < rows; ++r) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      // Two passes in float with 16 partial sums each (vectorizes; the order is fixed, so
      // results do not depend on ISA or threads); the partials combine in double.
      float part[16] = {};
      std::size_t i = 0;
      for (; i + 16 <= cols; i += 16) {
        for (std::size_t j = 0; j < 16; ++j) part[j] += xr[i + j];
      }
      double sum = 0;
      for (float p : part) sum += p;
      for (; i < cols; ++i) sum += xr[i];
      double mean = sum / static_cast<double>(cols);
      auto m = static_cast<float>(mean);
      float sq_part[16] = {};
      i = 0;
      for (; i + 16 <= cols; i += 16) {
        for (std::size_t j = 0; j < 16; ++j) {
          float d = xr[i + j] - m;
          sq_part[j] += d * d;
        }
      }
      double sq = 0;
      for (float p : sq_part) sq += p;
      for (; i < cols; ++i) {
        double d = xr[i] - mean;
        sq += d * d;
      }
      double inv = 1.0 / std::sqrt(sq / static_cast<double>(cols) + eps);
      auto iv = static_cast<float>(inv);
      if (!scalar_scale && b && !scalar_bias) {
        for (std::size_t k = 0; k < cols; ++k) yr[k] = (xr[k] - m) * iv * g[k] + b[k];
      } else {
        for (std::size_t k = 0; k < cols; ++k) {
          float v = (xr[k] - m) * iv * g[scalar_scale ? 0 : k];
          yr[k] = b ? v + b[scalar_bias ? 0 : k] : v;
        }
      }
      if (want_mean) ctx.out<float>(1)[r] = m;
      if (want_inv) ctx.out<float>(2)[r] = iv;
    }
  });
}

namespace {

// Softmax over `axis`: the last axis runs the row kernel; another axis gathers each
// column into a buffer first.
std::unique_ptr<BoundOp> bind_softmax_like(const BindArgs& a, bool log) {
  const Shape& s = a.in(0).shape;
  DType d = a.in(0).dtype;
  if (d != DType::float32 && d != DType::float64 && d != DType::float16) a.fail("type {} is not supported", dtype_name(d));
  auto rank = static_cast<std::int64_t>(s.rank());
  std::int64_t axis = a.node.attr_int("axis", -1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) a.fail("axis out of range");
  std::size_t len = static_cast<std::size_t>(s[static_cast<std::size_t>(axis)]);
  std::size_t inner = 1;
  for (std::int64_t i = axis + 1; i < rank; ++i) inner *= static_cast<std::size_t>(s[static_cast<std::size_t>(i)]);
  std::size_t outer = (len != 0 && inner != 0) ? s.elements() / (len * inner) : 0;
  if (d == DType::float32 && inner == 1 && !log) {
    return std::make_unique<FunctionOp>("softmax", [outer, len](const RunContext& ctx) {
      if (len) softmax(ctx.in<float>(0), outer, len, ctx.out<float>(0));
    });
  }
  return dispatch_dtype(d, "Softmax", [&]<class T>() -> std::unique_ptr<BoundOp> {
    if constexpr (std::is_floating_point_v<compute_t<T>>) {
      auto column = std::make_shared<std::vector<double>>(len);
      return std::make_unique<FunctionOp>(log ? "logsoftmax_ref" : "softmax_ref", [=](const RunContext& ctx) {
        const T* x = ctx.in<T>(0);
        T* y = ctx.out<T>(0);
        std::vector<double>& col = *column;
        for (std::size_t o = 0; o < outer; ++o) {
          for (std::size_t i = 0; i < inner; ++i) {
            std::size_t base = o * len * inner + i;
            double mx = -std::numeric_limits<double>::infinity();
            for (std::size_t j = 0; j < len; ++j) {
              col[j] = static_cast<double>(load_value(x[base + j * inner]));
              mx = std::max(mx, col[j]);
            }
            double sum = 0;
            for (std::size_t j = 0; j < len; ++j) sum += std::exp(col[j] - mx);
            for (std::size_t j = 0; j < len; ++j) {
              double v = log ? col[j] - mx - std::log(sum) : std::exp(col[j] - mx) / sum;
              y[base + j * inner] = store_value<T>(static_cast<compute_t<T>>(v));
            }
          }
        }
      });
    } else {
      a.fail("type is not supported");
    }
  });
}

}  // namespace

std::unique_ptr<BoundOp> bind_softmax(const BindArgs& a) { return bind_softmax_like(a, false); }
std::unique_ptr<BoundOp> bind_log_softmax(const BindArgs& a) { return bind_softmax_like(a, true); }

}  // namespace lowp::runtime
