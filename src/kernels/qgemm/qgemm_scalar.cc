// kernels/qgemm/qgemm_scalar.cc: the packed int8 kernel in plain C++, for CPUs without
// AVX2. Exact int32 accumulation, then the shared epilogue of qgemm.h.
#include <cstring>

#include "kernels/qgemm/qgemm_variants.h"

namespace lowp {

void qgemm_scalar(const QGemmArgs& args) {
  const PackedQGemmWeights& w = *args.w;
  int quads = w.padded_k() / kQGemmDepth;
  for (int i = 0; i < args.m; ++i) {
    const std::uint8_t* a = args.a + i * args.lda;
    for (int p = args.panels.begin; p < args.panels.end_or(w.panels()); ++p) {
      const std::int8_t* panel = w.data.data() + static_cast<std::size_t>(p) * w.panel_bytes();
      std::int32_t acc[kGemmPanel] = {};
      for (int q = 0; q < quads; ++q) {
        for (int j = 0; j < kGemmPanel; ++j) {
          for (int d = 0; d < kQGemmDepth; ++d) {
            acc[j] += static_cast<std::int32_t>(a[q * kQGemmDepth + d]) *
                      panel[(q * kGemmPanel + j) * kQGemmDepth + d];
          }
        }
      }
      for (int j = 0; j < kGemmPanel && p * kGemmPanel + j < w.n; ++j) {
        int col = p * kGemmPanel + j;
        float v = qgemm_dequantize(acc[j] + args.offset[col], args.scale[col], args.act,
                                   args.row_scales != nullptr ? args.row_scales + i : nullptr,
                                   args.bias_f32 != nullptr ? args.bias_f32 + col : nullptr);
        if (args.output == QGemmOutput::f32) {
          args.c_f32[i * args.ldc + col] = v;
        } else {
          args.c_u8[i * args.ldc + col] = qgemm_requantize(v, args.out_zero_point);
        }
      }
    }
  }
}

}  // namespace lowp
