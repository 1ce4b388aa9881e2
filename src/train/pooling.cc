// train/pooling.cc
#include "train/pooling.h"

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "base/error.h"
#include "train/bf16_rows.h"

namespace lowp::train {
namespace {

// Images are independent: each one's output (and input gradient) is computed alone, so
// any split over threads gives the same bits.
void for_each_image(ThreadPool* pool, int n, const std::function<void(int, int)>& body) {
  if (pool == nullptr || pool->threads() == 1 || n < 2) {
    body(0, n);
    return;
  }
  pool->parallel_for(static_cast<std::size_t>(n), 1, [&](std::size_t b0, std::size_t b1) {
    body(static_cast<int>(b0), static_cast<int>(b1));
  });
}

}  // namespace

Pool2d::Pool2d(std::string name, Mode mode, const Pool2dOptions& options)
    : Layer(std::move(name)), mode_(mode), o_(options) {
  LOWP_CHECK(o_.kernel >= 1 && o_.stride >= 1, "{}: pooling kernel {} and stride {} must be >= 1",
             this->name(), o_.kernel, o_.stride);
  LOWP_CHECK(o_.padding >= 0 && 2 * o_.padding <= o_.kernel,
             "{}: pooling padding {} must lie in [0, kernel / 2] for kernel {}", this->name(),
             o_.padding, o_.kernel);
}

std::vector<int> Pool2d::output_shape(std::span<const int> in) const {
  LOWP_CHECK(in.size() == 4, "{}: pooling takes NHWC [N, H, W, C], not {}", name(), shape_str(in));
  const int h = in[1] + 2 * o_.padding, w = in[2] + 2 * o_.padding;
  LOWP_CHECK(h >= o_.kernel && w >= o_.kernel, "{}: input {} is smaller than the {}x{} window",
             name(), shape_str(in), o_.kernel, o_.kernel);
  return {in[0], (h - o_.kernel) / o_.stride + 1, (w - o_.kernel) / o_.stride + 1, in[3]};
}

template <class T>
void Pool2d::forward_as(const Batch& x, const T* xs, T* ys, const Context& ctx) {
  std::vector<int> out = output_shape(x.shape);
  const int n = x.shape[0], ih_n = x.shape[1], iw_n = x.shape[2], c = x.shape[3];
  const int oh_n = out[1], ow_n = out[2];
  const std::size_t in_image = static_cast<std::size_t>(ih_n) * iw_n * c;
  const std::size_t out_image = static_cast<std::size_t>(oh_n) * ow_n * c;
  const float inv_area = 1.0f / static_cast<float>(o_.kernel * o_.kernel);
  for_each_image(ctx.pool, n, [&](int b0, int b1) {
    std::vector<float> window(static_cast<std::size_t>(c));
    for (int b = b0; b < b1; ++b) {
      const T* image = xs + b * in_image;
      T* dst = ys + b * out_image;
      for (int oh = 0; oh < oh_n; ++oh) {
        for (int ow = 0; ow < ow_n; ++ow) {
          T* __restrict o = dst + (static_cast<std::size_t>(oh) * ow_n + ow) * c;
          float* __restrict acc = window.data();
          if (mode_ == Mode::average) std::fill(acc, acc + c, 0.0f);
          bool first = true;
          for (int kh = 0; kh < o_.kernel; ++kh) {
            const int ih = oh * o_.stride - o_.padding + kh;
            if (ih < 0 || ih >= ih_n) continue;
            for (int kw = 0; kw < o_.kernel; ++kw) {
              const int iw = ow * o_.stride - o_.padding + kw;
              if (iw < 0 || iw >= iw_n) continue;
              const std::int32_t offset = (ih * iw_n + iw) * c;
              const T* __restrict src = image + offset;
              if (mode_ == Mode::average) {
                for (int ch = 0; ch < c; ++ch) acc[ch] += value_of(src[ch]);
              } else if (first) {
                for (int ch = 0; ch < c; ++ch) acc[ch] = value_of(src[ch]);
              } else {
                for (int ch = 0; ch < c; ++ch) {
                  const float v = value_of(src[ch]);
                  acc[ch] = v > acc[ch] ? v : acc[ch];
                }
              }
              first = false;
            }
          }
          if (mode_ == Mode::average) {
            for (int ch = 0; ch < c; ++ch) acc[ch] *= inv_area;
          }
          for (int ch = 0; ch < c; ++ch) o[ch] = stored_as<T>(acc[ch]);
        }
      }
    }
  });
}

void Pool2d::forward(const Batch& x, Batch& y, const Context& ctx) {
  y.resize_as(output_shape(x.shape), x.bf16);
  if (x.bf16 && mode_ == Mode::max) {  // tiling windows (handles_bf16)
    const Bf16RowKernels& k = bf16_row_kernels();
    for_each_image(ctx.pool, x.shape[0], [&](int b0, int b1) {
      k.max_pool_tiles(x.bits.data(), y.bits.data(), x.shape[1], x.shape[2], y.shape[1],
                       y.shape[2], x.shape[3], o_.kernel, b0, b1);
    });
  } else if (x.bf16) {
    forward_as(x, x.bits.data(), y.bits.data(), ctx);
  } else {
    forward_as(x, x.data.data(), y.data.data(), ctx);
  }
}

template <class T>
void Pool2d::backward_as(const Batch& x, const Batch& y, const T* xs, const T* ys, const T* dys,
                         T* dxs, const Context& ctx) {
  const int n = x.shape[0], ih_n = x.shape[1], iw_n = x.shape[2], c = x.shape[3];
  // Windows that tile the input (stride = kernel, no padding) each write their inputs
  // once: assigned, not added, and no zero fill first when they cover every input.
  const bool tiles = o_.stride == o_.kernel && o_.padding == 0;
  const bool covered = tiles && ih_n % o_.kernel == 0 && iw_n % o_.kernel == 0;
  const int oh_n = y.shape[1], ow_n = y.shape[2];
  const std::size_t in_image = static_cast<std::size_t>(ih_n) * iw_n * c;
  const std::size_t out_image = static_cast<std::size_t>(oh_n) * ow_n * c;
  const float inv_area = 1.0f / static_cast<float>(o_.kernel * o_.kernel);
  for_each_image(ctx.pool, n, [&](int b0, int b1) {
    std::vector<float> remaining_buffer(static_cast<std::size_t>(c));
    float* __restrict remaining = remaining_buffer.data();
    for (int b = b0; b < b1; ++b) {
      T* image = dxs + b * in_image;
      if (!covered) std::fill(image, image + in_image, stored_as<T>(0.0f));
      const T* g = dys + b * out_image;
      const T* source = xs + b * in_image;
      const T* out_values = ys + b * out_image;
      for (int oh = 0; oh < oh_n; ++oh) {
        for (int ow = 0; ow < ow_n; ++ow) {
          const T* go = g + (static_cast<std::size_t>(oh) * ow_n + ow) * c;
          const T* ymax = out_values + (static_cast<std::size_t>(oh) * ow_n + ow) * c;
          std::fill(remaining, remaining + c, 1.0f);
          for (int kh = 0; kh < o_.kernel; ++kh) {
            const int ih = oh * o_.stride - o_.padding + kh;
            if (ih < 0 || ih >= ih_n) continue;
            for (int kw = 0; kw < o_.kernel; ++kw) {
              const int iw = ow * o_.stride - o_.padding + kw;
              if (iw < 0 || iw >= iw_n) continue;
              const std::size_t at = (static_cast<std::size_t>(ih) * iw_n + iw) * c;
              T* __restrict dst = image + at;
              if (mode_ == Mode::average) {
                if (tiles) {
                  for (int ch = 0; ch < c; ++ch) dst[ch] = stored_as<T>(value_of(go[ch]) * inv_area);
                } else {
                  for (int ch = 0; ch < c; ++ch) {
                    dst[ch] = stored_as<T>(value_of(dst[ch]) + value_of(go[ch]) * inv_area);
                  }
                }
                continue;
              }
              // The first input in window order equal to the maximum takes the gradient.
              const T* __restrict src = source + at;
              // remaining[ch] is 1 until the channel's maximum is found, then 0: float
              // selects, so the loop vectorizes.
              if (tiles) {
                for (int ch = 0; ch < c; ++ch) {
                  const float hit = src[ch] == ymax[ch] ? remaining[ch] : 0.0f;
                  dst[ch] = stored_as<T>(hit * value_of(go[ch]));
                  remaining[ch] -= hit;
                }
              } else {
                for (int ch = 0; ch < c; ++ch) {
                  const float hit = src[ch] == ymax[ch] ? remaining[ch] : 0.0f;
                  dst[ch] = stored_as<T>(value_of(dst[ch]) + hit * value_of(go[ch]));
                  remaining[ch] -= hit;
                }
              }
            }
          }
        }
      }
    }
  });
}

void Pool2d::backward(const Batch& x, const Batch& y, const Batch& dy, Batch* dx,
                      const Context& ctx) {
  if (dx == nullptr) return;
  dx->resize_as(x.shape, x.bf16);
  if (x.bf16 && mode_ == Mode::max) {  // tiling windows (handles_bf16)
    const Bf16RowKernels& k = bf16_row_kernels();
    for_each_image(ctx.pool, x.shape[0], [&](int b0, int b1) {
      k.max_pool_tiles_grad(x.bits.data(), y.bits.data(), dy.bits.data(), dx->bits.data(),
                            x.shape[1], x.shape[2], y.shape[1], y.shape[2], x.shape[3], o_.kernel,
                            b0, b1);
    });
  } else if (x.bf16) {
    backward_as(x, y, x.bits.data(), y.bits.data(), dy.bits.data(), dx->bits.data(), ctx);
  } else {
    backward_as(x, y, x.data.data(), y.data.data(), dy.data.data(), dx->data.data(), ctx);
  }
}

ir::Value* Pool2d::export_to(ir::Graph& graph, ir::Value* x) const {
  ir::Value* y = export_value(graph, name());
  ir::Node* node = graph.add_node(mode_ == Mode::max ? "MaxPool" : "AveragePool", {x}, {y},
                                  graph.unique_name(name()));
  node->attributes["kernel_shape"] = ir::Attribute::of_ints({o_.kernel, o_.kernel});
  node->attributes["strides"] = ir::Attribute::of_ints({o_.stride, o_.stride});
  node->attributes["pads"] =
      ir::Attribute::of_ints({o_.padding, o_.padding, o_.padding, o_.padding});
  if (mode_ == Mode::average && o_.padding > 0) {
    node->attributes["count_include_pad"] = ir::Attribute::of_int(1);
  }
  return y;
}

}  // namespace lowp::train
