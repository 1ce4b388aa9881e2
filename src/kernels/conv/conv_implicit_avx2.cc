// kernels/conv/conv_implicit_avx2.cc: implicit-GEMM convolution tiles of MR pixels x one
// panel of 16 outputs (two ymm), MR = 6: 12 ymm accumulators, 2 weight rows and a
// broadcast, 15 of the 16 registers.
#include <immintrin.h>

#include "kernels/activation_avx2.h"
#include "kernels/conv/conv_implicit_driver.h"

namespace lowp {
namespace {

// Lanes [0, count) set.
inline __m256i lanes_below(int count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

template <int MR, int NB>
struct Tile {
  static_assert(NB == 1);
  static void run(const ImplicitTileArgs& t, int row, int panel) {
    const float* a[MR];
    for (int r = 0; r < MR; ++r) a[r] = t.rows[row + r];
    const float* b = t.panels + static_cast<std::size_t>(panel) * t.panel_floats;
    const int cols = std::min(kGemmPanel, t.n - panel * kGemmPanel);
    float* c = t.c + static_cast<std::size_t>(row) * t.ldc + panel * kGemmPanel;
    __m256 lo[MR], hi[MR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      if (t.first) {
        lo[r] = _mm256_setzero_ps();
        hi[r] = _mm256_setzero_ps();
      } else {
        const __m256i mask_lo = lanes_below(cols), mask_hi = lanes_below(cols - 8);
        lo[r] = _mm256_maskload_ps(c + r * t.ldc, mask_lo);
        hi[r] = _mm256_maskload_ps(c + r * t.ldc + 8, mask_hi);
      }
    }
    for (int k = t.k_begin; k < t.k_end;) {
      const RunPiece piece = run_piece(t, k);
      const float* ar[MR];
      for (int r = 0; r < MR; ++r) ar[r] = a[r] + piece.offset;
      const float* bk = b + static_cast<std::size_t>(k) * kGemmPanel;
      for (int j = 0; j < piece.count; ++j) {
        __m256 b0 = _mm256_loadu_ps(bk + j * kGemmPanel);
        __m256 b1 = _mm256_loadu_ps(bk + j * kGemmPanel + 8);
        for (int r = 0; r < MR; ++r) {
          __m256 av = _mm256_broadcast_ss(ar[r] + j);
          lo[r] = _mm256_fmadd_ps(av, b0, lo[r]);
          hi[r] = _mm256_fmadd_ps(av, b1, hi[r]);
        }
      }
      k += piece.count;
    }
    // The masks are made again here, not kept across the loop: all 16 registers are taken.
    const __m256i mask_lo = lanes_below(cols), mask_hi = lanes_below(cols - 8);
    __m256 bias_lo = _mm256_setzero_ps(), bias_hi = _mm256_setzero_ps();
    if (t.last && t.bias != nullptr) {
      bias_lo = _mm256_maskload_ps(t.bias + panel * kGemmPanel, mask_lo);
      bias_hi = _mm256_maskload_ps(t.bias + panel * kGemmPanel + 8, mask_hi);
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      __m256 vlo = lo[r], vhi = hi[r];
      if (t.last) {
        vlo = _mm256_add_ps(vlo, bias_lo);
        vhi = _mm256_add_ps(vhi, bias_hi);
        if (t.residual != nullptr) {
          const float* res = t.residual + static_cast<std::size_t>(row + r) * t.ldr + panel * kGemmPanel;
          vlo = _mm256_add_ps(vlo, _mm256_maskload_ps(res, mask_lo));
          vhi = _mm256_add_ps(vhi, _mm256_maskload_ps(res + 8, mask_hi));
        }
        vlo = activate8(vlo, t.act);
        vhi = activate8(vhi, t.act);
      }
      _mm256_maskstore_ps(c + r * t.ldc, mask_lo, vlo);
      _mm256_maskstore_ps(c + r * t.ldc + 8, mask_hi, vhi);
    }
  }
};

}  // namespace

void implicit_conv_avx2(const ImplicitConvArgs& args) {
  static constexpr ImplicitTileTable<Tile, 6> table;
  run_implicit_conv(table, args, std::size_t{256} << 10, 504);
}

}  // namespace lowp
