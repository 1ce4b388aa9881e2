// kernels/transpose/transpose_avx2.cc: 8x8 tiles of 4-byte elements in ymm registers.
//
// The classic three stages: unpack pairs of rows (2x2 blocks of elements), shuffle pairs
// of those (4x4 blocks within each 128-bit lane), then swap 128-bit halves. Tiles go in
// strips of 16 rows, so that each output row of a strip receives 64 contiguous bytes (a
// cache line when aligned) before the strip moves on. (Panels of 128 columns on top, to
// keep the output rows in L1, were tried and were not faster on a 768 x 3072 matrix.) Only shuffles touch the data:
// the bits arrive unchanged. Internal linkage except the listed variant.
#include <immintrin.h>

#include "kernels/transpose/transpose.h"

namespace lowp {
namespace {

inline void tile_8x8(const std::uint32_t* in, std::uint32_t* out, std::size_t in_stride, std::size_t out_stride) {
  __m256 r[8];
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm256_castsi256_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i * in_stride)));
  }
  __m256 t[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  __m256 u[8];
  for (int h = 0; h < 2; ++h) {  // rows 0-3, then 4-7
    __m256 a = t[4 * h], b = t[4 * h + 1], c = t[4 * h + 2], d = t[4 * h + 3];
    u[4 * h + 0] = _mm256_shuffle_ps(a, c, _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * h + 1] = _mm256_shuffle_ps(a, c, _MM_SHUFFLE(3, 2, 3, 2));
    u[4 * h + 2] = _mm256_shuffle_ps(b, d, _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * h + 3] = _mm256_shuffle_ps(b, d, _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    __m256 lo = _mm256_permute2f128_ps(u[i], u[4 + i], 0x20);
    __m256 hi = _mm256_permute2f128_ps(u[i], u[4 + i], 0x31);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i * out_stride), _mm256_castps_si256(lo));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + (4 + i) * out_stride), _mm256_castps_si256(hi));
  }
}

}  // namespace

void x32_transpose_8x8__avx2(const std::uint32_t* in, std::uint32_t* out, std::size_t rows, std::size_t cols,
                             std::size_t in_stride, std::size_t out_stride) {
  constexpr std::size_t kTile = 8, kStrip = 16;
  std::size_t full_rows = rows / kTile * kTile, full_cols = cols / kTile * kTile;
  for (std::size_t r0 = 0; r0 < full_rows; r0 += kStrip) {
    std::size_t r1 = r0 + kStrip <= full_rows ? r0 + kStrip : full_rows;
    for (std::size_t c = 0; c < full_cols; c += kTile) {
      for (std::size_t r = r0; r < r1; r += kTile) {
        tile_8x8(in + r * in_stride + c, out + c * out_stride + r, in_stride, out_stride);
      }
    }
  }
  // Edges: the columns right of the last full tile, then the rows below.
  for (std::size_t r = 0; r < full_rows; ++r) {
    for (std::size_t c = full_cols; c < cols; ++c) out[c * out_stride + r] = in[r * in_stride + c];
  }
  for (std::size_t r = full_rows; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) out[c * out_stride + r] = in[r * in_stride + c];
  }
}

}  // namespace lowp
