// kernels/qgemm/qgemm_avx512_tiles.h: the AVX-512 int8 tile, shared by the VNNI and the
// widening translation units, which differ only in their Dot policy (how 4 u8 x s8
// products per lane reach the int32 accumulators). Included only by those two files; all
// of it has internal linkage there.
#pragma once

#include <immintrin.h>

#include "kernels/activation_avx512.h"

#include <cstring>

#include "kernels/qgemm/qgemm_variants.h"
#include "kernels/tile_table.h"

namespace lowp {
namespace {

template <class Dot>
struct QTiles {
  template <int MR, int NB>
  struct Tile {
    static void run(const QGemmArgs& args, int row, int panel0) {
      const PackedQGemmWeights& w = *args.w;
      const std::int8_t* panels[NB];
      for (int nb = 0; nb < NB; ++nb) {
        panels[nb] = w.data.data() + static_cast<std::size_t>(panel0 + nb) * w.panel_bytes();
      }
      typename Dot::Acc acc[MR][NB];
      for (int r = 0; r < MR; ++r)
        for (int nb = 0; nb < NB; ++nb) acc[r][nb] = Dot::zero();

      if (args.rows == nullptr) {
        const std::uint8_t* a = args.a + static_cast<std::size_t>(row) * args.lda;
        int quads = w.padded_k() / kQGemmDepth;
#pragma GCC unroll 2
        for (int q = 0; q < quads; ++q) {
          __m512i b[NB];
          for (int nb = 0; nb < NB; ++nb) b[nb] = _mm512_loadu_si512(panels[nb] + q * 64);
          for (int r = 0; r < MR; ++r) {
            std::uint32_t a4;
            std::memcpy(&a4, a + r * args.lda + q * kQGemmDepth, 4);
            __m512i av = Dot::broadcast(a4);
            for (int nb = 0; nb < NB; ++nb) acc[r][nb] = Dot::step(acc[r][nb], av, b[nb]);
          }
        }
      } else {
        // Implicit rows: the same quads in the same order, run by run.
        const int run_quads = args.run_length / kQGemmDepth;
        for (int j = 0; j < args.runs; ++j) {
          const std::uint8_t* a[MR];
          for (int r = 0; r < MR; ++r) a[r] = args.rows[row + r] + j * args.run_stride;
          const int q0 = j * run_quads;
#pragma GCC unroll 2
          for (int q = 0; q < run_quads; ++q) {
            __m512i b[NB];
            for (int nb = 0; nb < NB; ++nb) b[nb] = _mm512_loadu_si512(panels[nb] + (q0 + q) * 64);
            for (int r = 0; r < MR; ++r) {
              std::uint32_t a4;
              std::memcpy(&a4, a[r] + q * kQGemmDepth, 4);
              __m512i av = Dot::broadcast(a4);
              for (int nb = 0; nb < NB; ++nb) acc[r][nb] = Dot::step(acc[r][nb], av, b[nb]);
            }
          }
        }
      }

      const __m512 lo = _mm512_set1_ps(static_cast<float>(-args.out_zero_point));
      const __m512 hi = _mm512_set1_ps(static_cast<float>(255 - args.out_zero_point));
      const __m512i zp = _mm512_set1_epi32(args.out_zero_point);
      for (int nb = 0; nb < NB; ++nb) {
        int col = (panel0 + nb) * kGemmPanel;
        int cols = w.n - col < kGemmPanel ? w.n - col : kGemmPanel;
        __mmask16 mask = static_cast<__mmask16>((1u << cols) - 1u);
        __m512i offset = _mm512_loadu_si512(args.offset + col);
        __m512 scale = _mm512_loadu_ps(args.scale + col);
        for (int r = 0; r < MR; ++r) {
          __m512i sum = _mm512_add_epi32(Dot::finish(acc[r][nb]), offset);
          __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(sum), scale);
          if (args.row_scales != nullptr)
            v = _mm512_mul_ps(v, _mm512_set1_ps(args.row_scales[row + r]));
          if (args.bias_f32 != nullptr)
            v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, args.bias_f32 + col));
          v = activate16(v, args.act);  // relu or clamp: exact (checked by the driver)
          std::size_t at = static_cast<std::size_t>(row + r) * args.ldc + col;
          if (args.output == QGemmOutput::f32) {
            _mm512_mask_storeu_ps(args.c_f32 + at, mask, v);
          } else {
            v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
            __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), zp);  // MXCSR: round to even
            _mm_mask_storeu_epi8(args.c_u8 + at, mask, _mm512_cvtusepi32_epi8(q));
          }
        }
      }
    }
  };
};

template <class Dot, int MR, int NB>
void run_qgemm(const QGemmArgs& args) {
  static constexpr TileTable<QGemmArgs, QTiles<Dot>::template Tile, MR, NB> table;
  for_each_tile<MR, NB>(table, args, args.m, args.panels.begin,
                        args.panels.end_or(args.w->panels()));
}

}  // namespace
}  // namespace lowp
