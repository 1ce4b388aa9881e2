// kernels/q4dot/q4dot_avx512_tiles.h: the AVX-512 int4 x int8 tile, shared by the VNNI
// and the vpmaddubsw translation units, which differ only in the Dot policy. Internal
// linkage in both (see kernels/tile_table.h).
#pragma once

#include <immintrin.h>

#include "kernels/activation_avx512.h"

#include <cstring>

#include "kernels/q4dot/q4dot.h"
#include "kernels/tile_table.h"

namespace lowp {
namespace {

template <class Dot, bool kZeroPoints>
struct Q4Tiles {
  template <int MR, int NB>
  struct Tile {
    static void run(const Q4DotArgs& args, int row, int panel0) {
      const PackedQ4DotWeights& w = *args.w;
      const QuantizedRows& qa = *args.a;
      const int groups = w.groups(), octets = w.padded_k() / kQ4DotOctet;
      const std::uint8_t* panels[NB];
      for (int nb = 0; nb < NB; ++nb) {
        panels[nb] = w.panel_start(panel0 + nb);
      }
      std::size_t scale_base[NB];
      for (int nb = 0; nb < NB; ++nb) scale_base[nb] = w.scale_index(panel0 + nb);
      const std::int8_t* a[MR];
      const std::int32_t* sums[MR];
      for (int r = 0; r < MR; ++r) {
        std::size_t at = static_cast<std::size_t>(args.row0 + row + r);
        a[r] = qa.values.data() + at * static_cast<std::size_t>(qa.padded_k);
        sums[r] = qa.group_sums.data() + at * static_cast<std::size_t>(qa.groups);
      }
      const __m512i low4 = _mm512_set1_epi8(15);
      __m512 out[MR][NB];
      for (int r = 0; r < MR; ++r)
        for (int nb = 0; nb < NB; ++nb) out[r][nb] = _mm512_setzero_ps();

      for (int g = 0; g < groups; ++g) {
        // Low and high nibbles accumulate apart: two dependency chains instead of one.
        __m512i acc[MR][NB], acc_hi[MR][NB];
        for (int r = 0; r < MR; ++r)
          for (int nb = 0; nb < NB; ++nb) acc[r][nb] = acc_hi[r][nb] = _mm512_setzero_si512();
        int o_end = (g + 1) * w.group / kQ4DotOctet;
        if (o_end > octets) o_end = octets;
        for (int o = g * w.group / kQ4DotOctet; o < o_end; ++o) {
          __m512i lo[NB], hi[NB];
          for (int nb = 0; nb < NB; ++nb) {
            __m512i v = _mm512_loadu_si512(panels[nb] + o * PackedQ4DotWeights::kOctetStride);
            lo[nb] = _mm512_and_si512(v, low4);
            hi[nb] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
          }
          for (int r = 0; r < MR; ++r) {
            std::int32_t a0, a1;
            std::memcpy(&a0, a[r] + o * 8, 4);
            std::memcpy(&a1, a[r] + o * 8 + 4, 4);
            __m512i b0 = _mm512_set1_epi32(a0), b1 = _mm512_set1_epi32(a1);
            for (int nb = 0; nb < NB; ++nb) {
              acc[r][nb] = Dot::step(acc[r][nb], lo[nb], b0);
              acc_hi[r][nb] = Dot::step(acc_hi[r][nb], hi[nb], b1);
            }
          }
        }
        for (int nb = 0; nb < NB; ++nb) {
          std::size_t at = scale_base[nb] + static_cast<std::size_t>(g) * PackedQ4DotWeights::kScaleGroupStride;
          __m512 scale = _mm512_loadu_ps(w.scales.data() + at);
          __m512i zp = kZeroPoints
                           ? _mm512_cvtepu8_epi32(_mm_loadu_si128(
                                 reinterpret_cast<const __m128i*>(w.zero_points.data() + at)))
                           : _mm512_setzero_si512();
          for (int r = 0; r < MR; ++r) {
            // acc - zp * sum(qa): per output with zero points, one scalar when symmetric (8).
            __m512i offset = kZeroPoints ? _mm512_mullo_epi32(zp, _mm512_set1_epi32(sums[r][g]))
                                         : _mm512_set1_epi32(8 * sums[r][g]);
            __m512i corrected =
                _mm512_sub_epi32(_mm512_add_epi32(acc[r][nb], acc_hi[r][nb]), offset);
            out[r][nb] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(corrected), scale, out[r][nb]);
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
          __m512 sa = _mm512_set1_ps(qa.scales[static_cast<std::size_t>(args.row0 + row + r)]);
          __m512 v = _mm512_add_ps(_mm512_mul_ps(out[r][nb], sa), bias);
          v = activate16(v, args.act);
          _mm512_mask_storeu_ps(args.c + static_cast<std::size_t>(row + r) * args.ldc + col, mask,
                                v);
        }
      }
    }
  };
};

// Tiles of 4 panels, the block the weights are stored in (one stream of 256 bytes per
// octet): up to 3 rows when there are fewer than 4, else 2 rows (16 sums of low and of
// high nibbles in registers). 4 x 2 tiles, which read two of a block's panels per pass,
// ran 20% slower at m = 4 to 64 (`lowp bench gemm --dtype int4 --m 64 --n 4096 --k 4096`).
template <class Dot, bool kZeroPoints>
void run_tiles(const Q4DotArgs& args) {
  static constexpr TileTable<Q4DotArgs, Q4Tiles<Dot, kZeroPoints>::template Tile, 3, 4> table;
  if (args.m < 4) {
    for_each_tile<3, 4>(table, args, args.m, args.panels.begin, args.panels.end_or(args.w->panels()));
  } else {
    for_each_tile<2, 4>(table, args, args.m, args.panels.begin, args.panels.end_or(args.w->panels()));
  }
}

template <class Dot>
void run_q4dot(const Q4DotArgs& args) {
  if (args.w->has_zero_points) {
    run_tiles<Dot, true>(args);
  } else {
    run_tiles<Dot, false>(args);
  }
}

}  // namespace
}  // namespace lowp
