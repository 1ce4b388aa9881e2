// train/bf16_rows_body.h: the loops of train/bf16_rows.h, included by its baseline and its
// AVX-512 translation units. Internal linkage (anonymous namespace): each unit keeps its
// own instructions, none can leak into the other through a shared inline symbol.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

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

constexpr Bf16RowKernels kThisUnit = {bn_stats,      bn_normalize, bn_grad_sums,
                                      bn_grad_input, relu,         relu_grad};

}  // namespace
}  // namespace lowp::train
