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

// Where a tile's rows come from: dense rows (a + i * lda, one run of padded_k values), or
// implicit rows (rows[i], `runs` runs of run_length values, run_stride apart). Both are
// walked in the same k pair order.
inline int row_runs(const Bf16DotArgs&) {
  return 1;
}
inline int run_pairs(const Bf16DotArgs& args) {
  return args.w->padded_k() / 2;
}
inline const std::uint16_t* run_start(const Bf16DotArgs& args, int i, int) {
  return args.a + static_cast<std::size_t>(i) * args.lda;
}
inline int row_runs(const Bf16ImplicitArgs& args) {
  return args.runs;
}
inline int run_pairs(const Bf16ImplicitArgs& args) {
  return args.run_length / 2;
}
inline const std::uint16_t* run_start(const Bf16ImplicitArgs& args, int i, int j) {
  return args.rows[i] + static_cast<std::size_t>(j) * args.run_stride;
}

template <class Dot, class Args>
struct Bf16Tiles {
  template <int MR, int NB>
  struct Tile {
    static void run(const Args& args, int row, int panel0) {
      const PackedBf16DotWeights& w = *args.w;
      const std::uint16_t* panels[NB];
      for (int nb = 0; nb < NB; ++nb) {
        panels[nb] = w.data.data() + static_cast<std::size_t>(panel0 + nb) * w.panel_elements();
      }
      __m512 acc[MR][NB];
      for (int r = 0; r < MR; ++r)
        for (int nb = 0; nb < NB; ++nb) acc[r][nb] = _mm512_setzero_ps();
      const int runs = row_runs(args), pairs = run_pairs(args);
      for (int j = 0; j < runs; ++j) {
        const std::uint16_t* a[MR];
        for (int r = 0; r < MR; ++r) a[r] = run_start(args, row + r, j);
        const std::uint16_t* b0[NB];
        for (int nb = 0; nb < NB; ++nb) b0[nb] = panels[nb] + static_cast<std::size_t>(j) * pairs * 32;
#pragma GCC unroll 2
        for (int q = 0; q < pairs; ++q) {
          __m512i b[NB];
          for (int nb = 0; nb < NB; ++nb) b[nb] = _mm512_loadu_si512(b0[nb] + q * 32);
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

// Tiles of 16 to 24 accumulators whatever the width: vdpbf16ps has a latency of several
// cycles on two pipes, so a tile needs about a dozen independent sums in flight. Four
// panels (64 outputs) take 4 rows; narrower layers (a convolution of 32 channels, a
// classifier of 10 outputs) take taller tiles instead of running 4 x 2 or 4 x 1 tiles at a
// fraction of the rate. Panels [begin, end) of the weights.
template <class Dot, class Args>
void run_bf16_tiles(const Args& args, int begin, int end) {
  using T = Bf16Tiles<Dot, Args>;
  static constexpr TileTable<Args, T::template Tile, 4, 4> wide;
  static constexpr TileTable<Args, T::template Tile, 8, 3> three;
  static constexpr TileTable<Args, T::template Tile, 12, 2> two;
  static constexpr TileTable<Args, T::template Tile, 16, 1> one;
  switch (end - begin) {
    case 1: for_each_tile<16, 1>(one, args, args.m, begin, end); break;
    case 2: for_each_tile<12, 2>(two, args, args.m, begin, end); break;
    case 3: for_each_tile<8, 3>(three, args, args.m, begin, end); break;
    default: for_each_tile<4, 4>(wide, args, args.m, begin, end); break;
  }
}

template <class Dot>
void run_bf16dot(const Bf16DotArgs& args) {
  run_bf16_tiles<Dot>(args, args.panels.begin, args.panels.end_or(args.w->panels()));
}

template <class Dot>
void run_bf16dot_implicit(const Bf16ImplicitArgs& args) {
  run_bf16_tiles<Dot>(args, 0, args.w->panels());
}

}  // namespace
}  // namespace lowp
