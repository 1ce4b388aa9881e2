// kernels/bf16dot/bf16dot_avx512_tiles.h: the AVX-512 bf16 tile (4 rows x 4 panels),
// shared by the AVX512-BF16 and the widening translation units, which differ only in the
// Dot policy. Internal linkage in both (see kernels/tile_table.h).
#pragma once

#include <immintrin.h>

#include "kernels/activation_avx512.h"

#include <cstring>

#include "kernels/bf16dot/bf16dot.h"
#include "kernels/tile_table.h"

namespace lowp {
namespace {

template <class Dot>
struct Bf16Tiles {
  template <int MR, int NB>
  struct Tile {
    static void run(const Bf16DotArgs& args, int row, int panel0) {
      const PackedBf16DotWeights& w = *args.w;
      const std::uint16_t* panels[NB];
      for (int nb = 0; nb < NB; ++nb) {
        panels[nb] = w.data.data() + static_cast<std::size_t>(panel0 + nb) * w.panel_elements();
      }
      const std::uint16_t* a = args.a + static_cast<std::size_t>(row) * args.lda;
      __m512 acc[MR][NB];
      for (int r = 0; r < MR; ++r)
        for (int nb = 0; nb < NB; ++nb) acc[r][nb] = _mm512_setzero_ps();
      const int pairs = w.padded_k() / 2;
      for (int q = 0; q < pairs; ++q) {
        __m512i b[NB];
        for (int nb = 0; nb < NB; ++nb) b[nb] = _mm512_loadu_si512(panels[nb] + q * 32);
        for (int r = 0; r < MR; ++r) {
          std::int32_t pair;
          std::memcpy(&pair, a + r * args.lda + 2 * q, 4);
          __m512i av = _mm512_set1_epi32(pair);
          for (int nb = 0; nb < NB; ++nb) acc[r][nb] = Dot::step(acc[r][nb], av, b[nb]);
        }
      }
      for (int nb = 0; nb < NB; ++nb) {
        int col = (panel0 + nb) * kGemmPanel;
        int cols = w.n - col < kGemmPanel ? w.n - col : kGemmPanel;
        __mmask16 mask = static_cast<__mmask16>((1u << cols) - 1u);
        __m512 bias = args.bias != nullptr ? _mm512_maskz_loadu_ps(mask, args.bias + col)
                                           : _mm512_setzero_ps();
        for (int r = 0; r < MR; ++r) {
          __m512 v = _mm512_add_ps(acc[r][nb], bias);
          v = activate16(v, args.act);
          _mm512_mask_storeu_ps(args.c + static_cast<std::size_t>(row + r) * args.ldc + col, mask,
                                v);
        }
      }
    }
  };
};

template <class Dot>
void run_bf16dot(const Bf16DotArgs& args) {
  static constexpr TileTable<Bf16DotArgs, Bf16Tiles<Dot>::template Tile, 4, 4> table;
  for_each_tile<4, 4>(table, args, args.m, args.panels.begin, args.panels.end_or(args.w->panels()));
}

}  // namespace
}  // namespace lowp
