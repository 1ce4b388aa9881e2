// kernels/q4dot/q4dot.cc: packing, activation quantization, the reference, the scalar
// variant, the list and the driver.
#include "kernels/q4dot/q4dot.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "base/error.h"
#include "kernels/parallel.h"
#include "kernels/quantize/quantize.h"

namespace lowp {
namespace {

constexpr KernelEntry<Q4DotFn> kQ4Dot[] = {
    {"qd8_q4w_gemm_bias_act_4x32__avx512vnni", IsaLevel::avx512vnni, q4dot_avx512vnni},
    {"qd8_q4w_gemm_bias_act_4x32__avx512", IsaLevel::avx512, q4dot_avx512},
    {"qd8_q4w_gemm_bias_act_2x16__avx2", IsaLevel::avx2, q4dot_avx2},
    {"qd8_q4w_gemm_bias_act_1x16__scalar", IsaLevel::scalar, q4dot_scalar},
};

}  // namespace

PackedQ4DotWeights pack_q4dot(const std::uint8_t* u, const float* scales,
                              const std::uint8_t* zero_points, int n, int k, int group) {
  LOWP_CHECK(n >= 1 && k >= 1, "int4 weights: n = {} and k = {} must be at least 1", n, k);
  LOWP_CHECK(group >= kQ4DotOctet && group % kQ4DotOctet == 0,
             "int4 weights: group size {} must be a positive multiple of 8", group);
  PackedQ4DotWeights w;
  w.n = n;
  w.k = k;
  w.group = group;
  w.has_zero_points = zero_points != nullptr;
  const std::size_t panels = static_cast<std::size_t>(w.panels());
  const std::size_t groups = static_cast<std::size_t>(w.groups());
  // Storage holds whole blocks of panels (q4dot.h), the last padded with zero weights.
  const std::size_t block_panels = (panels + PackedQ4DotWeights::kBlockPanels - 1) /
                                   PackedQ4DotWeights::kBlockPanels * PackedQ4DotWeights::kBlockPanels;
  w.data = AlignedBuffer<std::uint8_t>(checked_mul(block_panels, w.panel_bytes(), "int4 weights"));
  w.scales = AlignedBuffer<float>(checked_mul(block_panels * groups, kGemmPanel, "int4 weights"));
  if (w.has_zero_points) w.zero_points = AlignedBuffer<std::uint8_t>(block_panels * groups * kGemmPanel);
  for (int row = 0; row < n; ++row) {
    std::size_t panel = static_cast<std::size_t>(row / kGemmPanel);
    std::size_t lane = static_cast<std::size_t>(row % kGemmPanel);
    std::uint8_t* out = const_cast<std::uint8_t*>(w.panel_start(static_cast<int>(panel)));
    for (int kk = 0; kk < k; ++kk) {
      std::uint8_t v = u[static_cast<std::size_t>(row) * k + kk];
      LOWP_CHECK(v <= 15, "int4 weights: value {} at [{}][{}] is not in [0, 15]", v, row, kk);
      std::size_t octet = static_cast<std::size_t>(kk / 8),
                  within = static_cast<std::size_t>(kk % 8);
      std::uint8_t& byte = out[octet * PackedQ4DotWeights::kOctetStride + lane * 4 + within % 4];
      byte |= static_cast<std::uint8_t>(within < 4 ? v : v << 4);
    }
    for (std::size_t g = 0; g < groups; ++g) {
      float s = scales[static_cast<std::size_t>(row) * groups + g];
      LOWP_CHECK(std::isfinite(s) && s >= 0.0f,
                 "int4 weights: scale {} of output {} group {} must be finite and >= 0", s, row, g);
      std::size_t at = w.scale_index(static_cast<int>(panel)) + g * PackedQ4DotWeights::kScaleGroupStride + lane;
      w.scales[at] = s;
      if (w.has_zero_points) {
        std::uint8_t z = zero_points[static_cast<std::size_t>(row) * groups + g];
        LOWP_CHECK(z <= 15, "int4 weights: zero point {} of output {} group {} is not in [0, 15]",
                   z, row, g);
        w.zero_points[at] = z;
      }
    }
  }
  return w;
}

void QuantizedRows::resize(int rows, int padded, int group_count) {
  const std::size_t r = static_cast<std::size_t>(rows);
  if (r * static_cast<std::size_t>(padded) > values.size() || r > scales.size() ||
      r * static_cast<std::size_t>(group_count) > group_sums.size()) {
    values = AlignedBuffer<std::int8_t>(static_cast<std::size_t>(rows) * padded);
    scales = AlignedBuffer<float>(static_cast<std::size_t>(rows));
    group_sums = AlignedBuffer<std::int32_t>(static_cast<std::size_t>(rows) * group_count);
  }
  m = rows;
  padded_k = padded;
  groups = group_count;
}

void quantize_rows_for_q4dot(const float* a, int m, std::size_t lda, const PackedQ4DotWeights& w,
                             QuantizedRows& out) {
  out.resize(m, w.padded_k(), w.groups());
  for (int r = 0; r < m; ++r) {
    const float* row = a + static_cast<std::size_t>(r) * lda;
    std::int8_t* q = out.values.data() + static_cast<std::size_t>(r) * out.padded_k;
    float scale = symmetric_scale(absmax(row, static_cast<std::size_t>(w.k)), 127);
    out.scales[static_cast<std::size_t>(r)] = scale;
    // quantize_s8 clamps to [-128, 127]; with this scale every |a / scale| <= 127 (up to one
    // rounding), so the result is the specification's [-127, 127] quantization.
    std::int32_t* sums = out.group_sums.data() + static_cast<std::size_t>(r) * out.groups;
    quantize_s8_sums(row, static_cast<std::size_t>(w.k), scale, q,
                     static_cast<std::size_t>(w.group), sums);
    std::fill(q + w.k, q + out.padded_k, std::int8_t{0});
  }
}

void q4dot_gemm_ref(int m, int n, int k, int group, const float* a, std::size_t lda,
                    const std::uint8_t* u, const float* scales, const std::uint8_t* zero_points,
                    const float* bias, ActivationParams act, float* c, std::size_t ldc) {
  const int groups = (k + group - 1) / group;
  std::vector<std::int32_t> qa(static_cast<std::size_t>(k));
  for (int i = 0; i < m; ++i) {
    const float* row = a + static_cast<std::size_t>(i) * lda;
    float sa = symmetric_scale(absmax_ref(row, static_cast<std::size_t>(k)), 127);
    for (int kk = 0; kk < k; ++kk)
      qa[static_cast<std::size_t>(kk)] = quantize_value(row[kk], sa, 0, -127, 127);
    for (int j = 0; j < n; ++j) {
      float out = 0.0f;
      for (int g = 0; g < groups; ++g) {
        std::size_t gi = static_cast<std::size_t>(j) * groups + g;
        std::int32_t zp = zero_points != nullptr ? zero_points[gi] : 8;
        std::int32_t acc = 0;
        for (int kk = g * group; kk < std::min(k, (g + 1) * group); ++kk) {
          acc += (static_cast<std::int32_t>(u[static_cast<std::size_t>(j) * k + kk]) - zp) *
                 qa[static_cast<std::size_t>(kk)];
        }
        out += static_cast<float>(acc) * scales[gi];
      }
      float v = out * sa + (bias != nullptr ? bias[j] : 0.0f);
      c[static_cast<std::size_t>(i) * ldc + j] = act(v);
    }
  }
}

void q4dot_scalar(const Q4DotArgs& args) {
  const PackedQ4DotWeights& w = *args.w;
  const QuantizedRows& qa = *args.a;
  const int groups = w.groups(), octets = w.padded_k() / 8;
  for (int i = 0; i < args.m; ++i) {
    const int row = args.row0 + i;
    const std::int8_t* q = qa.values.data() + static_cast<std::size_t>(row) * qa.padded_k;
    const std::int32_t* sums = qa.group_sums.data() + static_cast<std::size_t>(row) * qa.groups;
    for (int p = args.panels.begin; p < args.panels.end_or(w.panels()); ++p) {
      const std::uint8_t* panel = w.panel_start(p);
      float out[kGemmPanel] = {};
      for (int g = 0; g < groups; ++g) {
        std::int32_t acc[kGemmPanel] = {};
        int o_end = std::min(octets, (g + 1) * w.group / 8);
        for (int o = g * w.group / 8; o < o_end; ++o) {
          for (int j = 0; j < kGemmPanel; ++j) {
            for (int d = 0; d < 4; ++d) {
              std::uint8_t byte = panel[o * PackedQ4DotWeights::kOctetStride + j * 4 + d];
              acc[j] += (byte & 15) * q[o * 8 + d] + (byte >> 4) * q[o * 8 + 4 + d];
            }
          }
        }
        std::size_t at = w.scale_index(p) + static_cast<std::size_t>(g) * PackedQ4DotWeights::kScaleGroupStride;
        for (int j = 0; j < kGemmPanel; ++j) {
          std::int32_t zp = w.has_zero_points ? w.zero_points[at + j] : 8;
          out[j] += static_cast<float>(acc[j] - zp * sums[g]) * w.scales[at + j];
        }
      }
      for (int j = 0; j < kGemmPanel && p * kGemmPanel + j < w.n; ++j) {
        int col = p * kGemmPanel + j;
        float v = out[j] * qa.scales[static_cast<std::size_t>(row)] +
                  (args.bias != nullptr ? args.bias[col] : 0.0f);
        args.c[static_cast<std::size_t>(i) * args.ldc + col] = args.act(v);
      }
    }
  }
}

std::span<const KernelEntry<Q4DotFn>> q4dot_kernels() {
  return kQ4Dot;
}

const char* q4dot_kernel_name() {
  return pick_kernel(q4dot_kernels(), active_isa()).name;
}

void q4dot_gemm_with(Q4DotFn fn, const float* a, int m, std::size_t lda,
                     const PackedQ4DotWeights& w, const float* bias, ActivationParams act, float* c,
                     std::size_t ldc, QuantizedRows& scratch, ThreadPool* pool) {
  LOWP_CHECK(m >= 0, "int4 gemm: m = {} is negative", m);
  LOWP_CHECK(lda >= static_cast<std::size_t>(w.k), "int4 gemm: lda {} < k {}", lda, w.k);
  LOWP_CHECK(ldc >= static_cast<std::size_t>(w.n), "int4 gemm: ldc {} < n {}", ldc, w.n);
  quantize_rows_for_q4dot(a, m, lda, w, scratch);
  split_rows_or_panels(pool, m, w.panels(), w.k,
                       [&](std::size_t begin, std::size_t end, PanelRange panels) {
                         Q4DotArgs args;
                         args.panels = panels;
                         args.m = static_cast<int>(end - begin);
                         args.row0 = static_cast<int>(begin);
                         args.a = &scratch;
                         args.w = &w;
                         args.bias = bias;
                         args.act = act;
                         args.c = c + begin * ldc;
                         args.ldc = ldc;
                         fn(args);
                       }, PackedQ4DotWeights::kBlockPanels);
}

void q4dot_gemm(const float* a, int m, std::size_t lda, const PackedQ4DotWeights& w,
                const float* bias, ActivationParams act, float* c, std::size_t ldc,
                QuantizedRows& scratch, ThreadPool* pool) {
  static const Q4DotFn fn = pick_kernel(q4dot_kernels(), active_isa()).fn;
  q4dot_gemm_with(fn, a, m, lda, w, bias, act, c, ldc, scratch, pool);
}

}  // namespace lowp
