// train/bf16_rows_body.h: the loops of train/bf16_rows.h, included by its baseline and its
// AVX-512 translation units. Internal linkage (anonymous namespace): each unit keeps its
// own instructions, none can leak into the other through a shared inline symbol.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/float_types.h"
#include "train/bf16_rows.h"

namespace lowp::train {
namespace {

inline float widen(std::uint16_t bits) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}
inline std::uint16_t narrow(float v) {
  return bfloat16::from_float(v).bits();
}

void bn_stats(const std::uint16_t* x, std::size_t rows, std::size_t c, double* acc) {
  for (std::size_t i = 0; i < rows; ++i) {
    const std::uint16_t* __restrict row = x + i * c;
    double* __restrict sum = acc;
    double* __restrict squares = acc + c;
    for (std::size_t j = 0; j < c; ++j) {
      const double v = widen(row[j]);
      sum[j] += v;
      squares[j] += v * v;
    }
  }
}

void bn_normalize(const std::uint16_t* x, std::uint16_t* y, std::size_t rows, std::size_t c,
                  const float* mean, const float* inv, const float* gamma, const float* beta) {
  for (std::size_t i = 0; i < rows; ++i) {
    const std::uint16_t* __restrict in = x + i * c;
    std::uint16_t* __restrict out = y + i * c;
    for (std::size_t j = 0; j < c; ++j) {
      const float xh = (widen(in[j]) - mean[j]) * inv[j];
      out[j] = narrow(gamma[j] * xh + beta[j]);
    }
  }
}

void bn_grad_sums(const std::uint16_t* x, const std::uint16_t* g, std::size_t rows, std::size_t c,
                  const float* mean, const float* inv, double* acc) {
  for (std::size_t i = 0; i < rows; ++i) {
    const std::uint16_t* __restrict xr = x + i * c;
    const std::uint16_t* __restrict gr = g + i * c;
    double* __restrict dbeta = acc;
    double* __restrict dgamma = acc + c;
    for (std::size_t j = 0; j < c; ++j) {
      const float gj = widen(gr[j]);
      const float xh = (widen(xr[j]) - mean[j]) * inv[j];
      dbeta[j] += gj;
      dgamma[j] += static_cast<double>(gj) * xh;
    }
  }
}

void bn_grad_input(const std::uint16_t* x, const std::uint16_t* g, std::uint16_t* dx,
                   std::size_t rows, std::size_t c, const float* mean, const float* inv,
                   const float* a, const float* b, const float* d) {
  for (std::size_t i = 0; i < rows; ++i) {
    const std::uint16_t* __restrict xr = x + i * c;
    const std::uint16_t* __restrict gr = g + i * c;
    std::uint16_t* __restrict out = dx + i * c;
    for (std::size_t j = 0; j < c; ++j) {
      const float xh = (widen(xr[j]) - mean[j]) * inv[j];
      out[j] = narrow(a[j] * widen(gr[j]) - b[j] - xh * d[j]);
    }
  }
}

void relu(const std::uint16_t* __restrict x, std::uint16_t* __restrict y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = widen(x[i]) > 0.0f ? x[i] : std::uint16_t{0};
}

void relu_grad(const std::uint16_t* __restrict y, const std::uint16_t* __restrict g,
               std::uint16_t* __restrict dx, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint16_t gi = g[i];
    dx[i] = widen(y[i]) > 0.0f ? gi : std::uint16_t{0};
  }
}

void max_pool_tiles(const std::uint16_t* x, std::uint16_t* y, int ih_n, int iw_n, int oh_n,
                    int ow_n, int c, int kernel, int b0, int b1) {
  const std::size_t in_image = static_cast<std::size_t>(ih_n) * iw_n * c;
  const std::size_t out_image = static_cast<std::size_t>(oh_n) * ow_n * c;
  std::vector<float> window(static_cast<std::size_t>(c));
  float* __restrict acc = window.data();
  for (int b = b0; b < b1; ++b) {
    for (int oh = 0; oh < oh_n; ++oh) {
      for (int ow = 0; ow < ow_n; ++ow) {
        for (int kh = 0; kh < kernel; ++kh) {
          for (int kw = 0; kw < kernel; ++kw) {
            const std::uint16_t* __restrict src =
                x + b * in_image +
                (static_cast<std::size_t>(oh * kernel + kh) * iw_n + (ow * kernel + kw)) * c;
            if (kh == 0 && kw == 0) {
              for (int ch = 0; ch < c; ++ch) acc[ch] = widen(src[ch]);
            } else {
              for (int ch = 0; ch < c; ++ch) {
                const float v = widen(src[ch]);
                acc[ch] = v > acc[ch] ? v : acc[ch];
              }
            }
          }
        }
        // The maximum is one of the inputs: its top half is its bf16 bits.
        std::uint16_t* __restrict out =
            y + b * out_image + (static_cast<std::size_t>(oh) * ow_n + ow) * c;
        for (int ch = 0; ch < c; ++ch) {
          out[ch] = static_cast<std::uint16_t>(std::bit_cast<std::uint32_t>(acc[ch]) >> 16);
        }
      }
    }
  }
}

void max_pool_tiles_grad(const std::uint16_t* xs, const std::uint16_t* ys, const std::uint16_t* dys,
                         std::uint16_t* dxs, int ih_n, int iw_n, int oh_n, int ow_n, int c,
                         int kernel, int b0, int b1) {
  const std::size_t in_image = static_cast<std::size_t>(ih_n) * iw_n * c;
  const std::size_t out_image = static_cast<std::size_t>(oh_n) * ow_n * c;
  std::vector<std::uint16_t> taken_buffer(static_cast<std::size_t>(c));
  std::uint16_t* __restrict taken = taken_buffer.data();
  for (int b = b0; b < b1; ++b) {
    std::uint16_t* image = dxs + b * in_image;
    // Rows and columns past the last whole window get no gradient.
    if (oh_n * kernel != ih_n || ow_n * kernel != iw_n) {
      for (std::size_t i = 0; i < in_image; ++i) image[i] = 0;
    }
    for (int oh = 0; oh < oh_n; ++oh) {
      for (int ow = 0; ow < ow_n; ++ow) {
        const std::size_t out_at = b * out_image + (static_cast<std::size_t>(oh) * ow_n + ow) * c;
        const std::uint16_t* __restrict g = dys + out_at;
        const std::uint16_t* __restrict ymax = ys + out_at;
        for (int ch = 0; ch < c; ++ch) taken[ch] = 0;
        for (int kh = 0; kh < kernel; ++kh) {
          for (int kw = 0; kw < kernel; ++kw) {
            const std::size_t at =
                (static_cast<std::size_t>(oh * kernel + kh) * iw_n + (ow * kernel + kw)) * c;
            const std::uint16_t* __restrict src = xs + b * in_image + at;
            std::uint16_t* __restrict dst = image + at;
            // 16-bit masks (equal, and-not, or): the channel loop vectorizes.
            for (int ch = 0; ch < c; ++ch) {
              const std::uint16_t equal = src[ch] == ymax[ch] ? 0xFFFFu : 0u;
              const std::uint16_t hit = static_cast<std::uint16_t>(equal & ~taken[ch]);
              dst[ch] = static_cast<std::uint16_t>(g[ch] & hit);
              taken[ch] = static_cast<std::uint16_t>(taken[ch] | hit);
            }
          }
        }
      }
    }
  }
}

constexpr Bf16RowKernels kThisUnit = {bn_stats,      bn_normalize, bn_grad_sums,
                                      bn_grad_input, relu,         relu_grad,
                                      max_pool_tiles, max_pool_tiles_grad};

}  // namespace
}  // namespace lowp::train
