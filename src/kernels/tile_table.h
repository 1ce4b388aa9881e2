// kernels/tile_table.h: turns a run-time tile size into a call of the micro-kernel
// instantiated for it.
//
// Micro-kernels keep their accumulators in registers, so the number of rows (MR) and
// panels (NB) of a tile must be compile-time constants. A GEMM loop covers the full tiles
// with the largest instance and the ragged edges with smaller ones; this table holds one
// function pointer per (mr, nb) in [1, MR] x [1, NB], built at compile time.
// Included only by ISA translation units; everything instantiated here has internal
// linkage there (Tile lives in an anonymous namespace), so no AVX-512 code can leak into a
// baseline translation unit through a shared inline symbol.
#pragma once

#include <utility>

namespace lowp {

template <class Args, template <int, int> class Tile, int MR, int NB>
struct TileTable {
  using Fn = void (*)(const Args&, int row, int panel);
  Fn fn[MR][NB];

  constexpr TileTable() : fn{} { fill(std::make_integer_sequence<int, MR * NB>{}); }
  void call(int mr, int nb, const Args& args, int row, int panel) const {
    fn[mr - 1][nb - 1](args, row, panel);
  }

 private:
  template <int... I>
  constexpr void fill(std::integer_sequence<int, I...>) {
    ((fn[I / NB][I % NB] = &Tile<I / NB + 1, I % NB + 1>::run), ...);
  }
};

// Covers rows [0, m) x panels [panel_begin, panel_end) with tiles of at most MR x NB:
// panels outer, so a group of NB weight panels stays in cache while every row block
// streams past it.
template <int MR, int NB, class Table, class Args>
void for_each_tile(const Table& table, const Args& args, int m, int panel_begin, int panel_end) {
  for (int p = panel_begin; p < panel_end; p += NB) {
    int nb = panel_end - p < NB ? panel_end - p : NB;
    for (int r = 0; r < m; r += MR) {
      int mr = m - r < MR ? m - r : MR;
      table.call(mr, nb, args, r, p);
    }
  }
}

}  // namespace lowp
