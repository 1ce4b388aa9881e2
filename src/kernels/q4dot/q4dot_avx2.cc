// kernels/q4dot/q4dot_avx2.cc: int4 x int8 on AVX2. A panel octet is two ymm (outputs 0-7,
// 8-15). vpmaddubsw multiplies u4 weights by s8 activations and adds pairs into int16; the
// low- and high-nibble halves of an octet are added in int16 too (|sum| <= 4 x 15 x 127 =
// 7620, no saturation) before one vpmaddwd by ones widens them into int32. Tile 2 x 16.
#include <immintrin.h>

#include "kernels/activation_avx2.h"

#include <cstring>

#include "kernels/q4dot/q4dot.h"
#include "kernels/tile_table.h"

namespace lowp {
namespace {

template <bool kZeroPoints>
struct Tiles {
  template <int MR, int NB>
  struct Tile {
    static_assert(NB == 1, "AVX2 int4 tiles are one panel wide");
    static void run(const Q4DotArgs& args, int row, int panel0) {
      const PackedQ4DotWeights& w = *args.w;
      const QuantizedRows& qa = *args.a;
      const int groups = w.groups(), octets = w.padded_k() / kQ4DotOctet;
      const std::uint8_t* panel = w.panel_start(panel0);
      const std::int8_t* a[MR];
      const std::int32_t* sums[MR];
      for (int r = 0; r < MR; ++r) {
        std::size_t at = static_cast<std::size_t>(args.row0 + row + r);
        a[r] = qa.values.data() + at * static_cast<std::size_t>(qa.padded_k);
        sums[r] = qa.group_sums.data() + at * static_cast<std::size_t>(qa.groups);
      }
      const __m256i low4 = _mm256_set1_epi8(15);
      const __m256i ones = _mm256_set1_epi16(1);
      __m256 out[MR][2];
      for (int r = 0; r < MR; ++r) out[r][0] = out[r][1] = _mm256_setzero_ps();

      for (int g = 0; g < groups; ++g) {
        __m256i acc[MR][2];
        for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
        int o_end = (g + 1) * w.group / kQ4DotOctet;
        if (o_end > octets) o_end = octets;
        for (int o = g * w.group / kQ4DotOctet; o < o_end; ++o) {
          __m256i lo[2], hi[2];
          for (int h = 0; h < 2; ++h) {
            __m256i v =
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + o * PackedQ4DotWeights::kOctetStride + h * 32));
            lo[h] = _mm256_and_si256(v, low4);
            hi[h] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
          }
          for (int r = 0; r < MR; ++r) {
            std::int32_t a0, a1;
            std::memcpy(&a0, a[r] + o * 8, 4);
            std::memcpy(&a1, a[r] + o * 8 + 4, 4);
            __m256i b0 = _mm256_set1_epi32(a0), b1 = _mm256_set1_epi32(a1);
            for (int h = 0; h < 2; ++h) {
              __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(lo[h], b0),
                                               _mm256_maddubs_epi16(hi[h], b1));
              acc[r][h] = _mm256_add_epi32(acc[r][h], _mm256_madd_epi16(pairs, ones));
            }
          }
        }
        std::size_t at = w.scale_index(panel0) + static_cast<std::size_t>(g) * PackedQ4DotWeights::kScaleGroupStride;
        for (int h = 0; h < 2; ++h) {
          __m256 scale = _mm256_loadu_ps(w.scales.data() + at + h * 8);
          __m256i zp = kZeroPoints
                           ? _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(
                                 w.zero_points.data() + at + h * 8)))
                           : _mm256_set1_epi32(8);
          for (int r = 0; r < MR; ++r) {
            __m256i corrected =
                _mm256_sub_epi32(acc[r][h], _mm256_mullo_epi32(zp, _mm256_set1_epi32(sums[r][g])));
            out[r][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(corrected), scale, out[r][h]);
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
          __m256 sa = _mm256_set1_ps(qa.scales[static_cast<std::size_t>(args.row0 + row + r)]);
          __m256 v = _mm256_add_ps(_mm256_mul_ps(out[r][h], sa), bias);
          v = activate8(v, args.act);
          _mm256_maskstore_ps(args.c + static_cast<std::size_t>(row + r) * args.ldc + col + h * 8,
                              mask, v);
        }
      }
    }
  };
};

}  // namespace

void q4dot_avx2(const Q4DotArgs& args) {
  static constexpr TileTable<Q4DotArgs, Tiles<false>::template Tile, 2, 1> symmetric;
  static constexpr TileTable<Q4DotArgs, Tiles<true>::template Tile, 2, 1> with_zero_points;
  if (args.w->has_zero_points) {
    for_each_tile<2, 1>(with_zero_points, args, args.m, args.panels.begin,
                        args.panels.end_or(args.w->panels()));
  } else {
    for_each_tile<2, 1>(symmetric, args, args.m, args.panels.begin,
                        args.panels.end_or(args.w->panels()));
  }
}

}  // namespace lowp
