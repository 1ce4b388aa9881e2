// kernels/bf16dot/bf16dot_avx2.cc: bf16 GEMM on AVX2: a panel pair-row is two ymm (outputs
// 0-7, 8-15); bf16 pairs are widened as in the AVX-512 path and multiplied in with FMAs,
// odd element first. Tile 4 rows x 1 panel.
#include <immintrin.h>

#include "kernels/activation_avx2.h"

#include <cstring>

#include "kernels/bf16dot/bf16dot.h"
#include "kernels/tile_table.h"

namespace lowp {
namespace {

template <int MR, int NB>
struct Tile {
  static_assert(NB == 1, "AVX2 bf16 tiles are one panel wide");
  static void run(const Bf16DotArgs& args, int row, int panel0) {
    const PackedBf16DotWeights& w = *args.w;
    const std::uint16_t* panel =
        w.data.data() + static_cast<std::size_t>(panel0) * w.panel_elements();
    const std::uint16_t* a = args.a + static_cast<std::size_t>(row) * args.lda;
    const __m256i high = _mm256_set1_epi32(static_cast<int>(0xFFFF0000u));
    __m256 acc[MR][2];
    for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    const int pairs = w.padded_k() / 2;
    for (int q = 0; q < pairs; ++q) {
      __m256 b_odd[2], b_even[2];
      for (int h = 0; h < 2; ++h) {
        __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + q * 32 + h * 16));
        b_odd[h] = _mm256_castsi256_ps(_mm256_and_si256(b, high));
        b_even[h] = _mm256_castsi256_ps(_mm256_slli_epi32(b, 16));
      }
      for (int r = 0; r < MR; ++r) {
        std::int32_t pair;
        std::memcpy(&pair, a + r * args.lda + 2 * q, 4);
        __m256i av = _mm256_set1_epi32(pair);
        __m256 a_odd = _mm256_castsi256_ps(_mm256_and_si256(av, high));
        __m256 a_even = _mm256_castsi256_ps(_mm256_slli_epi32(av, 16));
        for (int h = 0; h < 2; ++h) {
          acc[r][h] =
              _mm256_fmadd_ps(a_even, b_even[h], _mm256_fmadd_ps(a_odd, b_odd[h], acc[r][h]));
        }
      }
    }
    int col = panel0 * kGemmPanel;
    int cols = w.n - col < kGemmPanel ? w.n - col : kGemmPanel;
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int h = 0; h < 2; ++h) {
      int here = cols - h * 8;
      if (here <= 0) break;
      __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(here), lane);
      __m256 bias = args.bias != nullptr ? _mm256_maskload_ps(args.bias + col + h * 8, mask)
                                         : _mm256_setzero_ps();
      for (int r = 0; r < MR; ++r) {
        __m256 v = _mm256_add_ps(acc[r][h], bias);
        v = activate8(v, args.act);
        _mm256_maskstore_ps(args.c + static_cast<std::size_t>(row + r) * args.ldc + col + h * 8,
                            mask, v);
      }
    }
  }
};

}  // namespace

void bf16dot_avx2(const Bf16DotArgs& args) {
  static constexpr TileTable<Bf16DotArgs, Tile, 4, 1> table;
  for_each_tile<4, 1>(table, args, args.m, args.panels.begin, args.panels.end_or(args.w->panels()));
}

}  // namespace lowp
