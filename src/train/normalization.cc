// train/normalization.cc
#include "train/normalization.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "base/error.h"
#include "train/bf16_rows.h"

namespace lowp::train {
namespace {

Param filled_param(std::string name, int n, float value) {
  Param p{std::move(name),
          {n},
          std::vector<float>(static_cast<std::size_t>(n), value),
          std::vector<float>(static_cast<std::size_t>(n), 0.0f),
          true};
  return p;
}

}  // namespace

BatchNorm::BatchNorm(std::string name, int channels, float eps, float momentum)
    : Layer(std::move(name)), channels_(channels), eps_(eps), momentum_(momentum) {
  LOWP_CHECK(channels >= 1, "{}: BatchNorm needs at least 1 channel", this->name());
  LOWP_CHECK(eps > 0.0f && momentum >= 0.0f && momentum <= 1.0f,
             "{}: BatchNorm eps {} must be > 0 and momentum {} in [0, 1]", this->name(), eps,
             momentum);
  gamma_ = filled_param(this->name() + ".weight", channels, 1.0f);
  beta_ = filled_param(this->name() + ".bias", channels, 0.0f);
  running_mean_ = StateTensor{this->name() + ".running_mean",
                              {channels},
                              std::vector<float>(static_cast<std::size_t>(channels), 0.0f)};
  running_var_ = StateTensor{this->name() + ".running_var",
                             {channels},
                             std::vector<float>(static_cast<std::size_t>(channels), 1.0f)};
}

std::vector<int> BatchNorm::output_shape(std::span<const int> in) const {
  LOWP_CHECK(in.size() >= 2 && in.back() == channels_,
             "{}: BatchNorm of {} channels takes [N, ..., {}] (channels last), not {}", name(),
             channels_, channels_, shape_str(in));
  return {in.begin(), in.end()};
}

template <class T>
void BatchNorm::normalize(const T* in_all, T* out_all, std::size_t rows, ThreadPool* pool) const {
  const std::size_t c = static_cast<std::size_t>(channels_);
  if constexpr (std::is_same_v<T, std::uint16_t>) {
    const Bf16RowKernels& k = bf16_row_kernels();
    parallel_rows(pool, rows, c, [&](std::size_t b, std::size_t e) {
      k.bn_normalize(in_all + b * c, out_all + b * c, e - b, c, mean_.data(), inv_std_.data(),
                     gamma_.value.data(), beta_.value.data());
    });
    return;
  }
  const float* __restrict means = mean_.data();
  const float* __restrict inv = inv_std_.data();
  const float* __restrict gamma = gamma_.value.data();
  const float* __restrict beta = beta_.value.data();
  parallel_rows(pool, rows, c, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      const T* __restrict in = in_all + i * c;
      T* __restrict out = out_all + i * c;
      for (std::size_t j = 0; j < c; ++j) {
        const float xh = (value_of(in[j]) - means[j]) * inv[j];
        out[j] = stored_as<T>(gamma[j] * xh + beta[j]);
      }
    }
  });
}

void BatchNorm::forward(const Batch& x, Batch& y, const Context& ctx) {
  y.resize_as(output_shape(x.shape), x.bf16);
  const std::size_t c = static_cast<std::size_t>(channels_);
  const std::size_t m = x.elements() / c;
  std::vector<double> mean(c, 0.0), var(c, 0.0);
  last_training_ = ctx.training;
  if (ctx.training) {
    LOWP_CHECK(m >= 2, "{}: BatchNorm in training needs at least 2 values per channel, got {}",
               name(), m);
    // One pass: sums of x and x^2 in double. sum x^2 - mean sum x cancels about
    // log2(mean^2 / variance) bits of double's 53, so the variance keeps fp32 precision
    // unless the mean exceeds the standard deviation by ~10^7 (not activations).
    std::vector<double> sums(2 * c);
    auto add_rows = [&](const auto* xs) {
      blocked_sums(
          ctx.pool, m, 2 * c,
          [&](std::size_t begin, std::size_t end, double* acc) {
            for (std::size_t i = begin; i < end; ++i) {
              const auto* row = xs + i * c;
              for (std::size_t j = 0; j < c; ++j) {
                const double v = value_of(row[j]);
                acc[j] += v;
                acc[c + j] += v * v;
              }
            }
          },
          sums.data());
    };
    if (x.bf16) {
      const Bf16RowKernels& k = bf16_row_kernels();
      blocked_sums(
          ctx.pool, m, 2 * c,
          [&](std::size_t begin, std::size_t end, double* acc) {
            k.bn_stats(x.bits.data() + begin * c, end - begin, c, acc);
          },
          sums.data());
    } else {
      add_rows(x.data.data());
    }
    for (std::size_t j = 0; j < c; ++j) {
      mean[j] = sums[j] / static_cast<double>(m);
      var[j] = std::max(0.0, sums[c + j] - sums[j] * mean[j]);  // sum of squared deviations
    }
    for (std::size_t j = 0; j < c; ++j) {
      double biased = var[j] / static_cast<double>(m);
      double unbiased = var[j] / static_cast<double>(m - 1);
      running_mean_.value[j] =
          static_cast<float>((1.0 - momentum_) * running_mean_.value[j] + momentum_ * mean[j]);
      running_var_.value[j] =
          static_cast<float>((1.0 - momentum_) * running_var_.value[j] + momentum_ * unbiased);
      var[j] = biased;
    }
  } else {
    for (std::size_t j = 0; j < c; ++j) {
      mean[j] = running_mean_.value[j];
      var[j] = running_var_.value[j];
    }
  }
  inv_std_.resize(c);
  mean_.resize(c);
  for (std::size_t j = 0; j < c; ++j) {
    inv_std_[j] = static_cast<float>(1.0 / std::sqrt(var[j] + eps_));
    mean_[j] = static_cast<float>(mean[j]);
  }
  if (x.bf16) {
    normalize(x.bits.data(), y.bits.data(), m, ctx.pool);
  } else {
    normalize(x.data.data(), y.data.data(), m, ctx.pool);
  }
}

template <class T>
void BatchNorm::backward_as(const T* xs, const T* gs, T* dxs, std::size_t m, ThreadPool* pool) {
  const std::size_t c = static_cast<std::size_t>(channels_);
  const float* __restrict means = mean_.data();
  const float* __restrict inv = inv_std_.data();
  std::vector<double> sums(2 * c);  // dbeta, then dgamma
  constexpr bool kBf16 = std::is_same_v<T, std::uint16_t>;
  const Bf16RowKernels& kernels = bf16_row_kernels();
  blocked_sums(
      pool, m, 2 * c,
      [&](std::size_t begin, std::size_t end, double* acc) {
        if constexpr (kBf16) {
          kernels.bn_grad_sums(xs + begin * c, gs + begin * c, end - begin, c, means, inv, acc);
          return;
        }
        for (std::size_t i = begin; i < end; ++i) {
          const T* g = gs + i * c;
          const T* x = xs + i * c;
          for (std::size_t j = 0; j < c; ++j) {
            const float gj = value_of(g[j]);
            const float xh = (value_of(x[j]) - means[j]) * inv[j];
            acc[j] += gj;
            acc[c + j] += static_cast<double>(gj) * xh;
          }
        }
      },
      sums.data());
  const double* dbeta = sums.data();
  const double* dgamma = sums.data() + c;
  for (std::size_t j = 0; j < c; ++j) {
    gamma_.grad[j] = static_cast<float>(dgamma[j]);
    beta_.grad[j] = static_cast<float>(dbeta[j]);
  }
  if (dxs == nullptr) return;
  std::vector<float> a(c), b(c), d(c);
  const float inv_m = 1.0f / static_cast<float>(m);
  for (std::size_t j = 0; j < c; ++j) {
    // training: dx = a dy - (b + x^ d), a = gamma sigma^-1, b = a dbeta / M, d = a dgamma / M
    a[j] = gamma_.value[j] * inv_std_[j];
    b[j] = last_training_ ? a[j] * static_cast<float>(dbeta[j]) * inv_m : 0.0f;
    d[j] = last_training_ ? a[j] * static_cast<float>(dgamma[j]) * inv_m : 0.0f;
  }
  parallel_rows(pool, m, c, [&](std::size_t begin, std::size_t end) {
    if constexpr (kBf16) {
      kernels.bn_grad_input(xs + begin * c, gs + begin * c, dxs + begin * c, end - begin, c, means,
                            inv, a.data(), b.data(), d.data());
      return;
    }
    for (std::size_t i = begin; i < end; ++i) {
      const T* g = gs + i * c;
      const T* x = xs + i * c;
      T* out = dxs + i * c;
      for (std::size_t j = 0; j < c; ++j) {
        const float xh = (value_of(x[j]) - means[j]) * inv[j];
        out[j] = stored_as<T>(a[j] * value_of(g[j]) - b[j] - xh * d[j]);
      }
    }
  });
}

void BatchNorm::backward(const Batch& x, const Batch&, const Batch& dy, Batch* dx,
                         const Context& ctx) {
  const std::size_t m = x.elements() / static_cast<std::size_t>(channels_);
  if (dx != nullptr) dx->resize_as(x.shape, x.bf16);
  if (x.bf16) {
    backward_as(x.bits.data(), dy.bits.data(), dx != nullptr ? dx->bits.data() : nullptr, m,
                ctx.pool);
  } else {
    backward_as(x.data.data(), dy.data.data(), dx != nullptr ? dx->data.data() : nullptr, m,
                ctx.pool);
  }
}

ir::Value* BatchNorm::export_to(ir::Graph& graph, ir::Value* x) const {
  std::vector<ir::Value*> inputs = {
      x, export_constant(graph, gamma_.name, gamma_.shape, gamma_.value),
      export_constant(graph, beta_.name, beta_.shape, beta_.value),
      export_constant(graph, running_mean_.name, running_mean_.shape, running_mean_.value),
      export_constant(graph, running_var_.name, running_var_.shape, running_var_.value)};
  ir::Value* y = export_value(graph, name());
  ir::Node* node = graph.add_node("BatchNormalization", inputs, {y}, graph.unique_name(name()));
  node->attributes["epsilon"] = ir::Attribute::of_float(eps_);
  return y;
}

LayerNorm::LayerNorm(std::string name, int features, float eps)
    : Layer(std::move(name)), features_(features), eps_(eps) {
  LOWP_CHECK(features >= 1 && eps > 0.0f, "{}: LayerNorm needs features >= 1 and eps > 0",
             this->name());
  gamma_ = filled_param(this->name() + ".weight", features, 1.0f);
  beta_ = filled_param(this->name() + ".bias", features, 0.0f);
}

std::vector<int> LayerNorm::output_shape(std::span<const int> in) const {
  // Not on images: NHWC's last axis is the channels, ONNX's NCHW one the width, so the
  // exported LayerNormalization(axis = -1) would normalize something else.
  LOWP_CHECK(in.size() >= 2 && in.size() <= 3 && in.back() == features_,
             "{}: LayerNorm over {} features takes [N, {}] or [N, T, {}], not {}", name(),
             features_, features_, features_, shape_str(in));
  return {in.begin(), in.end()};
}

void LayerNorm::forward(const Batch& x, Batch& y, const Context&) {
  y.resize(output_shape(x.shape));
  const std::size_t d = static_cast<std::size_t>(features_);
  const std::size_t rows = x.data.size() / d;
  xhat_.resize(x.data.size());
  inv_std_.resize(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* in = x.data.data() + r * d;
    double mean = 0.0, var = 0.0;
    for (std::size_t j = 0; j < d; ++j) mean += in[j];
    mean /= static_cast<double>(d);
    for (std::size_t j = 0; j < d; ++j) var += (in[j] - mean) * (in[j] - mean);
    var /= static_cast<double>(d);
    const float inv = static_cast<float>(1.0 / std::sqrt(var + eps_));
    inv_std_[r] = inv;
    float* xh = xhat_.data() + r * d;
    float* out = y.data.data() + r * d;
    for (std::size_t j = 0; j < d; ++j) {
      xh[j] = static_cast<float>(in[j] - mean) * inv;
      out[j] = gamma_.value[j] * xh[j] + beta_.value[j];
    }
  }
}

void LayerNorm::backward(const Batch& x, const Batch&, const Batch& dy, Batch* dx, const Context&) {
  const std::size_t d = static_cast<std::size_t>(features_);
  const std::size_t rows = x.data.size() / d;
  std::vector<double> dgamma(d, 0.0), dbeta(d, 0.0);
  if (dx != nullptr) dx->resize(x.shape);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* g = dy.data.data() + r * d;
    const float* xh = xhat_.data() + r * d;
    double sum_g = 0.0, sum_gx = 0.0;  // of dxhat = dy gamma
    for (std::size_t j = 0; j < d; ++j) {
      dbeta[j] += g[j];
      dgamma[j] += static_cast<double>(g[j]) * xh[j];
      double gh = static_cast<double>(g[j]) * gamma_.value[j];
      sum_g += gh;
      sum_gx += gh * xh[j];
    }
    if (dx == nullptr) continue;
    float* out = dx->data.data() + r * d;
    const double inv_d = 1.0 / static_cast<double>(d);
    for (std::size_t j = 0; j < d; ++j) {
      double gh = static_cast<double>(g[j]) * gamma_.value[j];
      out[j] = static_cast<float>(inv_std_[r] * (gh - sum_g * inv_d - xh[j] * sum_gx * inv_d));
    }
  }
  for (std::size_t j = 0; j < d; ++j) {
    gamma_.grad[j] = static_cast<float>(dgamma[j]);
    beta_.grad[j] = static_cast<float>(dbeta[j]);
  }
}

ir::Value* LayerNorm::export_to(ir::Graph& graph, ir::Value* x) const {
  std::vector<ir::Value*> inputs = {x,
                                    export_constant(graph, gamma_.name, gamma_.shape, gamma_.value),
                                    export_constant(graph, beta_.name, beta_.shape, beta_.value)};
  ir::Value* y = export_value(graph, name());
  ir::Node* node = graph.add_node("LayerNormalization", inputs, {y}, graph.unique_name(name()));
  node->attributes["axis"] = ir::Attribute::of_int(-1);
  node->attributes["epsilon"] = ir::Attribute::of_float(eps_);
  return y;
}

}  // namespace lowp::train
