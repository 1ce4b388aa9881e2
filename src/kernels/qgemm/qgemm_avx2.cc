// kernels/qgemm/qgemm_avx2.cc: int8 GEMM on AVX2. The 64 weight bytes of a panel row are
// four groups of 4 outputs x 4 inputs; each group is sign-extended to int16 and vpmaddwd
// with the zero-extended activations adds products in pairs into int32 (exact; see qgemm.h
// for why not vpmaddubsw). At the end vphaddd sums each output's two partial lanes.
// Tile 2 rows x 1 panel (8 accumulators).
#include <immintrin.h>

#include "kernels/activation_avx2.h"

#include <cstring>

#include "kernels/qgemm/qgemm_variants.h"
#include "kernels/tile_table.h"

namespace lowp {
namespace {

// Partial sums of outputs 4g..4g+3 in acc[g], two lanes each: [o0 o0 o1 o1 | o2 o2 o3 o3].
// Returns the 8 outputs 0..7 (g = 0, 1) or 8..15 (g = 2, 3) in order.
__m256i finish(__m256i first, __m256i second) {
  __m256i sums = _mm256_hadd_epi32(first, second);  // [o0 o1 o4 o5 | o2 o3 o6 o7]
  return _mm256_permute4x64_epi64(sums, 0xD8);      // [o0 o1 o2 o3 | o4 o5 o6 o7]
}

template <int MR, int NB>
struct Tile {
  static_assert(NB == 1, "AVX2 int8 tiles are one panel wide");
  static void run(const QGemmArgs& args, int row, int panel0) {
    const PackedQGemmWeights& w = *args.w;
    const std::int8_t* panel = w.data.data() + static_cast<std::size_t>(panel0) * w.panel_bytes();
    const std::uint8_t* a = args.a + static_cast<std::size_t>(row) * args.lda;
    __m256i acc[MR][4];
    for (int r = 0; r < MR; ++r)
      for (int g = 0; g < 4; ++g) acc[r][g] = _mm256_setzero_si256();

    int quads = w.padded_k() / kQGemmDepth;
    for (int q = 0; q < quads; ++q) {
      __m256i b[4];
      for (int g = 0; g < 4; ++g) {
        b[g] = _mm256_cvtepi8_epi16(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(panel + q * 64 + g * 16)));
      }
      for (int r = 0; r < MR; ++r) {
        std::uint32_t a4;
        std::memcpy(&a4, a + r * args.lda + q * kQGemmDepth, 4);
        std::uint64_t x = (a4 & 0xFFu) | (static_cast<std::uint64_t>((a4 >> 8) & 0xFFu) << 16) |
                          (static_cast<std::uint64_t>((a4 >> 16) & 0xFFu) << 32) |
                          (static_cast<std::uint64_t>(a4 >> 24) << 48);
        __m256i av = _mm256_set1_epi64x(static_cast<long long>(x));
        for (int g = 0; g < 4; ++g)
          acc[r][g] = _mm256_add_epi32(acc[r][g], _mm256_madd_epi16(b[g], av));
      }
    }

    int col = panel0 * kGemmPanel;
    int cols = w.n - col < kGemmPanel ? w.n - col : kGemmPanel;
    const __m256 lo = _mm256_set1_ps(static_cast<float>(-args.out_zero_point));
    const __m256 hi = _mm256_set1_ps(static_cast<float>(255 - args.out_zero_point));
    const __m256i zp = _mm256_set1_epi32(args.out_zero_point);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int r = 0; r < MR; ++r) {
      std::size_t at = static_cast<std::size_t>(row + r) * args.ldc + col;
      for (int half = 0; half < 2; ++half) {
        int n_here = cols - half * 8;
        if (n_here <= 0) break;
        __m256i sum = finish(acc[r][2 * half], acc[r][2 * half + 1]);
        sum = _mm256_add_epi32(
            sum,
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(args.offset + col + half * 8)));
        __m256 v =
            _mm256_mul_ps(_mm256_cvtepi32_ps(sum), _mm256_loadu_ps(args.scale + col + half * 8));
        if (args.row_scales != nullptr)
          v = _mm256_mul_ps(v, _mm256_set1_ps(args.row_scales[row + r]));
        if (args.bias_f32 != nullptr) {
          __m256i in_range = _mm256_cmpgt_epi32(_mm256_set1_epi32(n_here), lane);
          v = _mm256_add_ps(v, _mm256_maskload_ps(args.bias_f32 + col + half * 8, in_range));
        }
        v = activate8(v, args.act);  // relu or clamp: exact (checked by the driver)
        if (args.output == QGemmOutput::f32) {
          __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(n_here), lane);
          _mm256_maskstore_ps(args.c_f32 + at + half * 8, mask, v);
        } else {
          v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
          __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(v), zp);  // MXCSR: round to even
          alignas(32) std::int32_t out[8];
          _mm256_store_si256(reinterpret_cast<__m256i*>(out), q);
          for (int j = 0; j < n_here && j < 8; ++j) {
            args.c_u8[at + static_cast<std::size_t>(half * 8 + j)] =
                static_cast<std::uint8_t>(out[j]);
          }
        }
      }
    }
  }
};

}  // namespace

void qgemm_avx2(const QGemmArgs& args) {
  static constexpr TileTable<QGemmArgs, Tile, 2, 1> table;
  for_each_tile<2, 1>(table, args, args.m, args.panels.begin, args.panels.end_or(args.w->panels()));
}

}  // namespace lowp
