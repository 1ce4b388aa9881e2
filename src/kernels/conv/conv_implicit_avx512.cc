// kernels/conv/conv_implicit_avx512.cc: implicit-GEMM convolution tiles of MR pixels x NB
// panels of 16 outputs, MR = 6 and NB = 4: 24 zmm accumulators, 4 weight rows and a
// broadcast, 29 of the 32 registers. At every k, 4 panel rows are loaded and each pixel's
// input element broadcast into 4 FMAs.
#include <immintrin.h>

#include "kernels/activation_avx512.h"
#include "kernels/conv/conv_implicit_driver.h"

namespace lowp {
namespace {

template <int MR, int NB>
struct Tile {
  static void run(const ImplicitTileArgs& t, int row, int panel0) {
    const float* a[MR];
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) a[r] = t.rows[row + r];
    const float* b[NB];
    __mmask16 mask[NB];
#pragma GCC unroll 16
    for (int nb = 0; nb < NB; ++nb) {
      b[nb] = t.panels + static_cast<std::size_t>(panel0 + nb) * t.panel_floats;
      int cols = t.n - (panel0 + nb) * kGemmPanel;
      mask[nb] = cols >= kGemmPanel ? static_cast<__mmask16>(0xFFFF)
                                    : static_cast<__mmask16>((1u << cols) - 1u);
    }
    float* c = t.c + static_cast<std::size_t>(row) * t.ldc + panel0 * kGemmPanel;
    __m512 acc[MR][NB];
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
      for (int nb = 0; nb < NB; ++nb)
        acc[r][nb] = t.first ? _mm512_setzero_ps()
                             : _mm512_maskz_loadu_ps(mask[nb], c + r * t.ldc + nb * kGemmPanel);
    const char* pf = t.prefetch;
    const char* const pf_end = t.prefetch + t.prefetch_lines * 64;
    for (int k = t.k_begin; k < t.k_end;) {
      const RunPiece piece = run_piece(t, k);
      const float* ar[MR];
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) ar[r] = a[r] + piece.offset;
      const float* bk[NB];
#pragma GCC unroll 16
      for (int nb = 0; nb < NB; ++nb) bk[nb] = b[nb] + static_cast<std::size_t>(k) * kGemmPanel;
      for (int j = 0; j < piece.count; ++j) {
        __m512 bv[NB];
#pragma GCC unroll 16
        for (int nb = 0; nb < NB; ++nb) bv[nb] = _mm512_loadu_ps(bk[nb] + j * kGemmPanel);
        if (pf < pf_end) {
          _mm_prefetch(pf, _MM_HINT_T1);
          pf += 64;
        }
#pragma GCC unroll 16
        for (int r = 0; r < MR; ++r) {
          __m512 av = _mm512_set1_ps(ar[r][j]);
#pragma GCC unroll 16
          for (int nb = 0; nb < NB; ++nb) acc[r][nb] = _mm512_fmadd_ps(av, bv[nb], acc[r][nb]);
        }
      }
      k += piece.count;
    }
    if (t.last) {
#pragma GCC unroll 16
      for (int nb = 0; nb < NB; ++nb) {
        __m512 bias = t.bias != nullptr
                          ? _mm512_maskz_loadu_ps(mask[nb], t.bias + (panel0 + nb) * kGemmPanel)
                          : _mm512_setzero_ps();
#pragma GCC unroll 16
        for (int r = 0; r < MR; ++r) {
          __m512 v = _mm512_add_ps(acc[r][nb], bias);
          if (t.residual != nullptr) {
            v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask[nb], t.residual + static_cast<std::size_t>(row + r) * t.ldr +
                                                                      (panel0 + nb) * kGemmPanel));
          }
          _mm512_mask_storeu_ps(c + r * t.ldc + nb * kGemmPanel, mask[nb], activate16(v, t.act));
        }
      }
    } else {
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
        for (int nb = 0; nb < NB; ++nb)
          _mm512_mask_storeu_ps(c + r * t.ldc + nb * kGemmPanel, mask[nb], acc[r][nb]);
    }
  }
};

}  // namespace

void implicit_conv_avx512(const ImplicitConvArgs& args) {
  static constexpr ImplicitTileTable<Tile, 12, 12, 8, 6> table;
  // Chunks of k keep a group's weights within 640 KiB of the 1 MiB L2 (Zen 4/5, Skylake-SP):
  // only ResNet-18's layer4 (k = 4608, 1.2 MB per 64 outputs) is cut, in 2. Blocks of
  // 504 pixels (84 tiles of 6).
  run_implicit_conv(table, args, std::size_t{640} << 10, 504);
}

}  // namespace lowp
