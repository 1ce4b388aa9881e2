// kernels/transpose/transpose_avx512.cc: 16x16 tiles of 4-byte elements in zmm registers.
//
// Four stages: unpack pairs of rows (2x2 blocks), shuffle within 128-bit lanes (4x4),
// then two rounds of 128-bit lane shuffles (vshufi32x4) that finish the 8x8 and 16x16
// levels. One tile fills a 64-byte line of 16 output rows. Only shuffles touch the data.
// Fewer than 16 rows left (an NCHW image of 3 channels to NHWC is 3 rows of H x W) run
// the same tile on the rows there are, with zeros for the rest, and store only the first
// `live_rows` elements of each output row: 3 x 50176 took 57-89 us element by element.
// Internal linkage except the listed variant.
#include <immintrin.h>

#include "kernels/transpose/transpose.h"

namespace lowp {
namespace {

// live_rows < 16: rows past it are not read, and each output row gets live_rows elements.
template <bool kFull>
inline void tile_16x16(const std::uint32_t* in, std::uint32_t* out, std::size_t in_stride, std::size_t out_stride,
                       int live_rows = 16) {
  __m512i r[16], t[16];
  for (int i = 0; i < 16; ++i) {
    r[i] = kFull || i < live_rows ? _mm512_loadu_si512(in + i * in_stride) : _mm512_setzero_si512();
  }
  const __mmask16 live = kFull ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << live_rows) - 1u);
  auto store = [&](std::uint32_t* at, __m512i v) {
    if constexpr (kFull) {
      _mm512_storeu_si512(at, v);
    } else {
      _mm512_mask_storeu_epi32(at, live, v);
    }
  };
  // 2x2: t[2k] = (r[2k][0], r[2k+1][0], r[2k][1], r[2k+1][1] | ...) per 128-bit lane.
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  // 4x4 within each 128-bit lane.
  for (int q = 0; q < 4; ++q) {  // groups of four rows
    __m512i a = t[4 * q], b = t[4 * q + 1], c = t[4 * q + 2], d = t[4 * q + 3];
    r[4 * q + 0] = _mm512_unpacklo_epi64(a, c);
    r[4 * q + 1] = _mm512_unpackhi_epi64(a, c);
    r[4 * q + 2] = _mm512_unpacklo_epi64(b, d);
    r[4 * q + 3] = _mm512_unpackhi_epi64(b, d);
  }
  // Now r[4q + k] holds, in its 128-bit lane L, column 4L + k of rows 4q..4q+3; output
  // row 4L + k needs lane L of r[k], r[4 + k], r[8 + k], r[12 + k]. Two rounds of lane
  // shuffles gather them: t[k] = (lanes 0, 2 of r[k]; lanes 0, 2 of r[4 + k]), ...
  for (int k = 0; k < 4; ++k) {
    for (int q = 0; q < 4; q += 2) {
      __m512i a = r[4 * q + k], b = r[4 * (q + 1) + k];
      t[4 * q + k] = _mm512_shuffle_i32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0));        // a0 a2 b0 b2
      t[4 * (q + 1) + k] = _mm512_shuffle_i32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1));  // a1 a3 b1 b3
    }
  }
  // ... then t[k] and t[8 + k] give columns k (lanes 0) and 8 + k (lanes 1); t[4 + k] and
  // t[12 + k] columns 4 + k and 12 + k, each as rows 0-3, 4-7, 8-11, 12-15.
  for (int k = 0; k < 4; ++k) {
    for (int h = 0; h < 2; ++h) {
      __m512i a = t[4 * h + k], b = t[4 * (h + 2) + k];
      __m512i lo = _mm512_shuffle_i32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0));
      __m512i hi = _mm512_shuffle_i32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1));
      store(out + (4 * h + k) * out_stride, lo);
      store(out + (4 * (h + 2) + k) * out_stride, hi);
    }
  }
}

}  // namespace

void x32_transpose_16x16__avx512(const std::uint32_t* in, std::uint32_t* out, std::size_t rows, std::size_t cols,
                                 std::size_t in_stride, std::size_t out_stride) {
  constexpr std::size_t kTile = 16;
  std::size_t full_rows = rows / kTile * kTile, full_cols = cols / kTile * kTile;
  for (std::size_t r = 0; r < full_rows; r += kTile) {
    for (std::size_t c = 0; c < full_cols; c += kTile) {
      tile_16x16<true>(in + r * in_stride + c, out + c * out_stride + r, in_stride, out_stride);
    }
  }
  std::size_t done_cols = 0;  // of the rows past full_rows
  if (rows > full_rows) {
    const int live = static_cast<int>(rows - full_rows);
    for (std::size_t c = 0; c < full_cols; c += kTile) {
      tile_16x16<false>(in + full_rows * in_stride + c, out + c * out_stride + full_rows, in_stride, out_stride, live);
    }
    done_cols = full_cols;
  }
  for (std::size_t r = 0; r < full_rows; ++r) {
    for (std::size_t c = full_cols; c < cols; ++c) out[c * out_stride + r] = in[r * in_stride + c];
  }
  for (std::size_t r = full_rows; r < rows; ++r) {
    for (std::size_t c = done_cols; c < cols; ++c) out[c * out_stride + r] = in[r * in_stride + c];
  }
}

}  // namespace lowp
