// kernels/conv/conv_implicit_driver.h: the loops around the implicit-GEMM convolution
// tiles (conv_implicit.h), shared by the ISA translation units, which alone include it
// (everything here has internal linkage there, as in tile_table.h).
//
// Pixels are taken in blocks; per block, one pointer per pixel to its receptive field.
// For each group of NB weight panels and each chunk of k, the block's pixels run in tiles
// of at most MR rows, sized evenly (49 pixels are 4 tiles of 6 and 5 of 5, not 8 of 6 and
// one of 1), so that the chunk of weights is reused from the nearest cache by every tile.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>

#include "kernels/conv/conv2d.h"
#include "kernels/conv/conv_implicit.h"

namespace lowp {
namespace {

// What one tile call needs: `row` indexes `rows` (and the output rows from `c`), `panel`
// is the first weight panel. Partial sums of chunks before the last live in `c`.
struct ImplicitTileArgs {
  const float* const* rows = nullptr;  // per pixel of the block: its run of kernel row 0
  float* c = nullptr;                  // the block's first output pixel
  std::size_t ldc = 0;
  const float* panels = nullptr;  // panel p at panels + p * panel_floats
  std::size_t panel_floats = 0;
  int n = 0;                       // outputs
  int run = 0;                     // KW x C: elements of one kernel row's run
  std::size_t run_stride = 0;      // elements between the runs of two kernel rows
  int k_begin = 0, k_end = 0;      // this chunk of k
  bool first = true, last = true;  // chunk starts from zero / ends with bias, activation
  // Weights to prefetch into L2 during this tile, one line per k (may be none).
  const char* prefetch = nullptr;
  std::size_t prefetch_lines = 0;
  const float* bias = nullptr;
  const float* residual = nullptr;  // the block's first pixel's, ldr (= out_c) apart; or null
  std::size_t ldr = 0;
  ActivationParams act;
};

// The piece of a kernel row's run that k starts: its element offset in every pixel's data
// (from the pixel's run of kernel row 0), and how many k it covers up to k_end. Tiles walk
// k in [k_begin, k_end) piece by piece.
struct RunPiece {
  std::size_t offset;
  int count;
};
inline RunPiece run_piece(const ImplicitTileArgs& t, int k) {
  int kh = k / t.run;
  int j = k - kh * t.run;
  return {static_cast<std::size_t>(kh) * t.run_stride + static_cast<std::size_t>(j),
          std::min(t.run - j, t.k_end - k)};
}

// The tile functions: Tile<mr, nb>::run for nb in [1, NB] panels and mr in [1, Rows[nb - 1]]
// pixels. Narrow groups of panels get taller tiles, so that every full tile keeps the
// same number of accumulators (AVX-512: 24 x 1, 12 x 2, 8 x 3, 6 x 4 panels).
template <template <int, int> class Tile, int... Rows>
struct ImplicitTileTable {
  static constexpr int kGroup = sizeof...(Rows);
  static constexpr int kRows[kGroup] = {Rows...};
  static constexpr int kMaxRows = std::max({Rows...});
  using Fn = void (*)(const ImplicitTileArgs&, int row, int panel);
  Fn fn[kGroup][kMaxRows];

  constexpr ImplicitTileTable() : fn{} { fill<0>(); }
  int rows(int nb) const { return kRows[nb - 1]; }
  void call(int mr, int nb, const ImplicitTileArgs& t, int row, int panel) const {
    fn[nb - 1][mr - 1](t, row, panel);
  }

 private:
  template <int G>
  constexpr void fill() {
    if constexpr (G < kGroup) {
      fill_rows<G>(std::make_integer_sequence<int, kRows[G]>{});
      fill<G + 1>();
    }
  }
  template <int G, int... I>
  constexpr void fill_rows(std::integer_sequence<int, I...>) {
    ((fn[G][I] = &Tile<I + 1, G + 1>::run), ...);
  }
};

// Runs args' pixels with the tiles of `table`, pixels in blocks of `block` (at most
// kMaxImplicitBlock), k in as few equal chunks as keep the weights of one chunk of a group
// of panels within `chunk_bytes`.
constexpr int kMaxImplicitBlock = 1024;

template <class Table>
void run_implicit_conv(const Table& table, const ImplicitConvArgs& a, std::size_t chunk_bytes,
                       int block) {
  constexpr int kGroup = Table::kGroup;
  const Conv2dShape& s = *a.shape;
  const int ow_count = s.out_w(), k = s.gemm_k();
  const PackedGemmWeights& w = *a.w;
  const int panels = w.panels();
  block = std::clamp(block, 1, kMaxImplicitBlock);
  const std::size_t group_bytes = static_cast<std::size_t>(k) * kGroup * kGemmPanel * sizeof(float);
  const int chunks = static_cast<int>(std::max<std::size_t>(
      1, (group_bytes + chunk_bytes - 1) / std::max<std::size_t>(chunk_bytes, 1)));
  const int chunk = (k + chunks - 1) / chunks;
  const float* rows[kMaxImplicitBlock];
  ImplicitTileArgs t;
  t.rows = rows;
  t.ldc = a.ldc;
  t.ldr = static_cast<std::size_t>(s.out_c);
  t.panels = reinterpret_cast<const float*>(w.data.data());
  t.panel_floats = static_cast<std::size_t>(k) * kGemmPanel;
  t.n = w.n;
  t.run = s.kernel_w * s.in_c;
  t.run_stride = a.row_stride * static_cast<std::size_t>(s.dilation_h);
  t.bias = a.bias;
  t.act = a.act;
  // The receptive field of pixel (oh, ow), stepped along without a division per pixel
  // (at k = 16 the division cost as much as the pixel's FMAs).
  int oh = a.pixel_begin / ow_count, ow = a.pixel_begin - oh * ow_count;
  const std::size_t row_step = static_cast<std::size_t>(s.stride_h) * a.row_stride;
  const std::size_t pixel_step = static_cast<std::size_t>(s.stride_w) * s.in_c;
  const float* row_start = a.image + static_cast<std::size_t>(oh) * row_step;
  for (int b0 = a.pixel_begin; b0 < a.pixel_end; b0 += block) {
    const int m = std::min(block, a.pixel_end - b0);
    for (int i = 0; i < m; ++i) {
      rows[i] = row_start + static_cast<std::size_t>(ow) * pixel_step;
      if (++ow == ow_count) {
        ow = 0;
        row_start += row_step;
      }
    }
    t.c = a.output + static_cast<std::size_t>(b0 - a.pixel_begin) * t.ldc;
    t.residual = a.residual != nullptr ? a.residual + static_cast<std::size_t>(b0 - a.pixel_begin) * s.out_c : nullptr;
    for (int p = 0; p < panels; p += kGroup) {
      const int nb = std::min(kGroup, panels - p);
      const int tiles = (m + table.rows(nb) - 1) / table.rows(nb);
      for (int k0 = 0; k0 < k; k0 += chunk) {
        t.k_begin = k0;
        t.k_end = std::min(k, k0 + chunk);
        t.first = k0 == 0;
        t.last = t.k_end == k;
        // The next chunk's (or group's) weights are prefetched into L2, a line per k of
        // the tiles of this chunk, which run from cache: a model's weights come from
        // memory (ResNet-18's 46 MB do not stay in L3), and the first tile of a chunk
        // would otherwise wait for them. Each tile takes a slice of one panel's chunk.
        const int next_k0 = t.k_end < k ? t.k_end : 0;
        const int next_p = t.k_end < k ? p : p + kGroup;
        const int next_nb = next_p < panels ? std::min(kGroup, panels - next_p) : 0;
        const std::size_t region_lines =
            static_cast<std::size_t>(std::min(k, next_k0 + chunk) - next_k0) * kGemmPanel *
            sizeof(float) / 64;
        const int slices = next_nb > 0 ? (tiles + next_nb - 1) / next_nb : 1;
        const std::size_t slice_lines = (region_lines + slices - 1) / slices;
        int r = 0;
        for (int tile = 0; tile < tiles; ++tile) {
          const int q = tile / slices;
          t.prefetch_lines = 0;
          if (q < next_nb) {
            const std::size_t first = std::min(region_lines, (tile % slices) * slice_lines);
            t.prefetch = reinterpret_cast<const char*>(
                             t.panels + static_cast<std::size_t>(next_p + q) * t.panel_floats +
                             static_cast<std::size_t>(next_k0) * kGemmPanel) +
                         first * 64;
            t.prefetch_lines = std::min(region_lines, first + slice_lines) - first;
          }
          const int mr = (m - r + (tiles - tile) - 1) / (tiles - tile);
          table.call(mr, nb, t, r, p);
          r += mr;
        }
      }
    }
  }
}

}  // namespace
}  // namespace lowp
