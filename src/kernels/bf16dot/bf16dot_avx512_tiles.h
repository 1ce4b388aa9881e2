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

// Tiles of 16 to 24 accumulators whatever the width: vdpbf16ps has a latency of several
// cycles on two pipes, so a tile needs about a dozen independent sums in flight. Four
// panels (64 outputs) take 4 rows; narrower layers (a convolution of 32 channels, a
// classifier of 10 outputs) take taller tiles instead of running 4 x 2 or 4 x 1 tiles at a
// fraction of the rate.
template <class Dot>
void run_bf16dot(const Bf16DotArgs& args) {
  static constexpr TileTable<Bf16DotArgs, Bf16Tiles<Dot>::template Tile, 4, 4> wide;
  static constexpr TileTable<Bf16DotArgs, Bf16Tiles<Dot>::template Tile, 8, 3> three;
  static constexpr TileTable<Bf16DotArgs, Bf16Tiles<Dot>::template Tile, 12, 2> two;
  static constexpr TileTable<Bf16DotArgs, Bf16Tiles<Dot>::template Tile, 16, 1> one;
  const int begin = args.panels.begin, end = args.panels.end_or(args.w->panels());
  switch (end - begin) {
    case 1: for_each_tile<16, 1>(one, args, args.m, begin, end); break;
    case 2: for_each_tile<12, 2>(two, args, args.m, begin, end); break;
    case 3: for_each_tile<8, 3>(three, args, args.m, begin, end); break;
    default: for_each_tile<4, 4>(wide, args, args.m, begin, end); break;
  }
}

// Implicit rows: each of the MR rows has its own pointer; the k pairs are walked run by
// run (run_length / 2 pairs each), the weight pairs in the same k order.
template <class Dot>
struct Bf16ImplicitTiles {
  template <int MR, int NB>
  struct Tile {
    static void run(const Bf16ImplicitArgs& args, int row, int panel0) {
      const PackedBf16DotWeights& w = *args.w;
      const std::uint16_t* panels[NB];
      for (int nb = 0; nb < NB; ++nb) {
        panels[nb] = w.data.data() + static_cast<std::size_t>(panel0 + nb) * w.panel_elements();
      }
      __m512 acc[MR][NB];
      for (int r = 0; r < MR; ++r)
        for (int nb = 0; nb < NB; ++nb) acc[r][nb] = _mm512_setzero_ps();
      const int run_pairs = args.run_length / 2;
      for (int j = 0; j < args.runs; ++j) {
        const std::uint16_t* a[MR];
        for (int r = 0; r < MR; ++r) a[r] = args.rows[row + r] + j * args.run_stride;
        const int q0 = j * run_pairs;
        for (int q = 0; q < run_pairs; ++q) {
          __m512i b[NB];
          for (int nb = 0; nb < NB; ++nb) b[nb] = _mm512_loadu_si512(panels[nb] + (q0 + q) * 32);
          for (int r = 0; r < MR; ++r) {
            std::int32_t pair;
            std::memcpy(&pair, a[r] + 2 * q, 4);
            __m512i av = _mm512_set1_epi32(pair);
            for (int nb = 0; nb < NB; ++nb) acc[r][nb] = Dot::step(acc[r][nb], av, b[nb]);
          }
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

// Tiles of 16 to 24 accumulators, as run_bf16dot's.
template <class Dot>
void run_bf16dot_implicit(const Bf16ImplicitArgs& args) {
  using T = Bf16ImplicitTiles<Dot>;
  static constexpr TileTable<Bf16ImplicitArgs, T::template Tile, 4, 4> wide;
  static constexpr TileTable<Bf16ImplicitArgs, T::template Tile, 8, 3> three;
  static constexpr TileTable<Bf16ImplicitArgs, T::template Tile, 12, 2> two;
  static constexpr TileTable<Bf16ImplicitArgs, T::template Tile, 16, 1> one;
  const int panels = args.w->panels();
  switch (panels) {
    case 1: for_each_tile<16, 1>(one, args, args.m, 0, panels); break;
    case 2: for_each_tile<12, 2>(two, args, args.m, 0, panels); break;
    case 3: for_each_tile<8, 3>(three, args, args.m, 0, panels); break;
    default: for_each_tile<4, 4>(wide, args, args.m, 0, panels); break;
  }
}

}  // namespace
}  // namespace lowp
