// kernels/gemm/gemm_scalar.cc: the packed-layout kernels in plain C++, for CPUs without
// AVX2. Same loop order and rounding as the SIMD kernels (fp32 accumulation in k order; for
// int4 a partial sum per group, then times the group's scale).
#include <algorithm>

#include "base/float_types.h"
#include "kernels/gemm/gemm.h"
#include "kernels/gemm/gemm_variants.h"

namespace lowp {
namespace {

// The 16 weights of panel p at input kk, as floats.
void load_panel_row(const PackedGemmWeights& w, int p, int kk, float out[kGemmPanel]) {
  const std::byte* panel = w.panel_start(p) + static_cast<std::size_t>(kk) * w.k_stride();
  switch (w.type) {
    case GemmWeights::f32: {
      const float* row = reinterpret_cast<const float*>(panel);
      std::copy(row, row + kGemmPanel, out);
      break;
    }
    case GemmWeights::f16: {
      const auto* row = reinterpret_cast<const std::uint16_t*>(panel);
      for (int j = 0; j < kGemmPanel; ++j) out[j] = float16::from_bits(row[j]).to_float();
      break;
    }
    case GemmWeights::bf16: {
      const auto* row = reinterpret_cast<const std::uint16_t*>(panel);
      for (int j = 0; j < kGemmPanel; ++j) out[j] = bfloat16::from_bits(row[j]).to_float();
      break;
    }
    case GemmWeights::q4: {
      const auto* row = reinterpret_cast<const std::uint8_t*>(panel);
      for (int j = 0; j < kGemmPanel; j += 2) {
        out[j] = static_cast<float>(static_cast<std::int8_t>(row[j / 2] << 4) >> 4);
        out[j + 1] = static_cast<float>(static_cast<std::int8_t>(row[j / 2]) >> 4);
      }
      break;
    }
  }
}

}  // namespace

void gemm_packed_scalar(const GemmArgs& args) {
  const PackedGemmWeights& w = *args.w;
  int group = w.type == GemmWeights::q4 ? w.group_size : w.k;
  int groups = (w.k + group - 1) / group;
  float b[kGemmPanel];
  for (int i = 0; i < args.m; ++i) {
    const float* a = args.a + i * args.lda;
    for (int p = args.panels.begin; p < args.panels.end_or(w.panels()); ++p) {
      float acc[kGemmPanel] = {};
      for (int g = 0; g < groups; ++g) {
        float partial[kGemmPanel] = {};
        for (int kk = g * group; kk < std::min(w.k, (g + 1) * group); ++kk) {
          load_panel_row(w, p, kk, b);
          for (int j = 0; j < kGemmPanel; ++j) partial[j] += a[kk] * b[j];
        }
        if (w.type == GemmWeights::q4) {
          const float* s =
              w.group_scales.data() + (static_cast<std::size_t>(p) * groups + g) * kGemmPanel;
          for (int j = 0; j < kGemmPanel; ++j) acc[j] += partial[j] * s[j];
        } else {
          for (int j = 0; j < kGemmPanel; ++j) acc[j] = partial[j];
        }
      }
      int cols = std::min(kGemmPanel, w.n - p * kGemmPanel);
      for (int j = 0; j < cols; ++j) {
        int col = p * kGemmPanel + j;
        float v = acc[j] + (args.bias != nullptr ? args.bias[col] : 0.0f);
        args.c[i * args.ldc + col] = args.act(v);
      }
    }
  }
}

}  // namespace lowp
