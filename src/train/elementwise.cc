// train/elementwise.cc
#include "train/elementwise.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "base/random.h"
#include "train/bf16_rows.h"

namespace lowp::train {
namespace {

constexpr float kInvSqrt2 = 0.70710678118654752440f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;

float forward_one(ActivationKind kind, float x) {
  switch (kind) {
    case ActivationKind::relu:
      return x > 0.0f ? x : 0.0f;
    case ActivationKind::gelu:
      return 0.5f * x * (1.0f + std::erf(x * kInvSqrt2));
    case ActivationKind::sigmoid:
      return 1.0f / (1.0f + std::exp(-x));
    case ActivationKind::tanh:
      return std::tanh(x);
  }
  return x;
}

float backward_one(ActivationKind kind, float x, float y, float dy) {
  switch (kind) {
    case ActivationKind::relu:
      return y > 0.0f ? dy : 0.0f;
    case ActivationKind::gelu: {
      float cdf = 0.5f * (1.0f + std::erf(x * kInvSqrt2));
      float pdf = kInvSqrt2Pi * std::exp(-0.5f * x * x);
      return dy * (cdf + x * pdf);
    }
    case ActivationKind::sigmoid:
      return dy * y * (1.0f - y);
    case ActivationKind::tanh:
      return dy * (1.0f - y * y);
  }
  return dy;
}

}  // namespace

const char* ActivationLayer::kind() const {
  switch (kind_) {
    case ActivationKind::relu:
      return "ReLU";
    case ActivationKind::gelu:
      return "GELU";
    case ActivationKind::sigmoid:
      return "Sigmoid";
    case ActivationKind::tanh:
      return "Tanh";
  }
  return "?";
}

void ActivationLayer::forward(const Batch& x, Batch& y, const Context& ctx) {
  y.resize_as(x.shape, x.bf16);
  if (x.bf16) {  // ReLU only (handles_bf16): a select on the value, the bits kept
    const std::uint16_t* in = x.bits.data();
    std::uint16_t* out = y.bits.data();
    const Bf16RowKernels& k = bf16_row_kernels();
    parallel_elements(ctx.pool, x.bits.size(),
                      [&](std::size_t b, std::size_t e) { k.relu(in + b, out + b, e - b); });
    return;
  }
  const float* in = x.data.data();
  float* out = y.data.data();
  const ActivationKind kind = kind_;
  parallel_elements(ctx.pool, x.data.size(), [&](std::size_t b, std::size_t e) {
    if (kind == ActivationKind::relu) {
      for (std::size_t i = b; i < e; ++i) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
    } else {
      for (std::size_t i = b; i < e; ++i) out[i] = forward_one(kind, in[i]);
    }
  });
}

void ActivationLayer::backward(const Batch& x, const Batch& y, const Batch& dy, Batch* dx,
                               const Context& ctx) {
  if (dx == nullptr) return;
  dx->resize_as(x.shape, x.bf16);
  if (x.bf16) {  // ReLU
    const std::uint16_t* ys = y.bits.data();
    const std::uint16_t* g = dy.bits.data();
    std::uint16_t* out = dx->bits.data();
    const Bf16RowKernels& k = bf16_row_kernels();
    parallel_elements(ctx.pool, y.bits.size(), [&](std::size_t b, std::size_t e) {
      k.relu_grad(ys + b, g + b, out + b, e - b);
    });
    return;
  }
  const float* xs = x.data.data();
  const float* ys = y.data.data();
  const float* g = dy.data.data();
  float* out = dx->data.data();
  const ActivationKind kind = kind_;
  parallel_elements(ctx.pool, x.data.size(), [&](std::size_t b, std::size_t e) {
    if (kind == ActivationKind::relu) {
      // Both operands loaded unconditionally, so the select vectorizes (a branch on the
      // sign of ReLU outputs mispredicts half the time).
      for (std::size_t i = b; i < e; ++i) {
        const float gi = g[i];
        out[i] = ys[i] > 0.0f ? gi : 0.0f;
      }
    } else {
      for (std::size_t i = b; i < e; ++i) out[i] = backward_one(kind, xs[i], ys[i], g[i]);
    }
  });
}

ir::Value* ActivationLayer::export_to(ir::Graph& graph, ir::Value* x) const {
  static constexpr const char* kOnnx[] = {"Relu", "Gelu", "Sigmoid", "Tanh"};
  ir::Value* y = export_value(graph, name());
  graph.add_node(kOnnx[static_cast<int>(kind_)], {x}, {y}, graph.unique_name(name()));
  return y;
}

Dropout::Dropout(std::string name, float p, std::uint64_t salt)
    : Layer(std::move(name)), p_(p), salt_(salt) {
  LOWP_CHECK(p >= 0.0f && p < 1.0f, "{}: dropout probability {} must lie in [0, 1)", this->name(),
             p);
}

void Dropout::forward(const Batch& x, Batch& y, const Context& ctx) {
  y.resize(x.shape);
  if (!ctx.training || p_ == 0.0f) {
    std::copy(x.data.begin(), x.data.end(), y.data.begin());
    return;
  }
  // One draw per element, in element order: the mask does not depend on threads.
  Random rng(ctx.step_seed ^ (salt_ * 0x9E3779B97F4A7C15ull));
  const float keep_scale = 1.0f / (1.0f - p_);
  mask_.resize(x.data.size());
  for (float& m : mask_) m = rng.uniform() < p_ ? 0.0f : keep_scale;
  for (std::size_t i = 0; i < x.data.size(); ++i) y.data[i] = x.data[i] * mask_[i];
}

void Dropout::backward(const Batch& x, const Batch&, const Batch& dy, Batch* dx,
                       const Context& ctx) {
  if (dx == nullptr) return;
  dx->resize(x.shape);
  if (!ctx.training || p_ == 0.0f) {
    std::copy(dy.data.begin(), dy.data.end(), dx->data.begin());
    return;
  }
  for (std::size_t i = 0; i < dy.data.size(); ++i) dx->data[i] = dy.data[i] * mask_[i];
}

std::vector<int> Flatten::output_shape(std::span<const int> in) const {
  LOWP_CHECK(in.size() >= 2, "{}: Flatten needs [N, ...], not {}", name(), shape_str(in));
  return {in[0], static_cast<int>(shape_elements(in.subspan(1)))};
}

namespace {

// NHWC [N, H, W, C] to PyTorch's NCHW flattening order, and back for the gradient.
template <class T>
void flatten_nhwc(const std::vector<int>& shape, const T* in, T* out, bool to_chw) {
  const std::size_t n = static_cast<std::size_t>(shape[0]);
  const std::size_t hw = static_cast<std::size_t>(shape[1]) * static_cast<std::size_t>(shape[2]);
  const std::size_t c = static_cast<std::size_t>(shape[3]);
  for (std::size_t b = 0; b < n; ++b) {
    const T* src = in + b * hw * c;
    T* dst = out + b * hw * c;
    for (std::size_t p = 0; p < hw; ++p) {
      for (std::size_t ch = 0; ch < c; ++ch) {
        if (to_chw) {
          dst[ch * hw + p] = src[p * c + ch];
        } else {
          dst[p * c + ch] = src[ch * hw + p];
        }
      }
    }
  }
}

void flatten_batch(const std::vector<int>& nhwc, const Batch& in, Batch& out, bool to_chw) {
  if (nhwc.size() != 4) {
    if (in.bf16) {
      std::copy(in.bits.begin(), in.bits.end(), out.bits.begin());
    } else {
      std::copy(in.data.begin(), in.data.end(), out.data.begin());
    }
  } else if (in.bf16) {
    flatten_nhwc(nhwc, in.bits.data(), out.bits.data(), to_chw);
  } else {
    flatten_nhwc(nhwc, in.data.data(), out.data.data(), to_chw);
  }
}

}  // namespace

void Flatten::forward(const Batch& x, Batch& y, const Context&) {
  y.resize_as(output_shape(x.shape), x.bf16);
  flatten_batch(x.shape, x, y, true);
}

void Flatten::backward(const Batch& x, const Batch&, const Batch& dy, Batch* dx, const Context&) {
  if (dx == nullptr) return;
  dx->resize_as(x.shape, x.bf16);
  flatten_batch(x.shape, dy, *dx, false);
}

ir::Value* Flatten::export_to(ir::Graph& graph, ir::Value* x) const {
  ir::Value* y = export_value(graph, name());
  ir::Node* node = graph.add_node("Flatten", {x}, {y}, graph.unique_name(name()));
  node->attributes["axis"] = ir::Attribute::of_int(1);
  return y;
}

}  // namespace lowp::train
