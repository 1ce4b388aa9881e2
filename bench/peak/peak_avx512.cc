// bench/peak/peak_avx512.cc: AVX-512 F loops of peak.h (zmm FMA peak, 64-byte reads).
#include <immintrin.h>

#include "peak.h"

namespace lowp::peak {

float fma_f32_zmm(std::int64_t blocks) {
  __m512 acc[kZmmAccumulators];
  for (int j = 0; j < kZmmAccumulators; ++j) acc[j] = _mm512_set1_ps(static_cast<float>(j));
  const __m512 mul = _mm512_set1_ps(0.999f), add = _mm512_set1_ps(0.001f);  // stays normal
  for (std::int64_t b = 0; b < blocks; ++b) {
#pragma GCC unroll 16
    for (int j = 0; j < kZmmAccumulators; ++j) acc[j] = _mm512_fmadd_ps(acc[j], mul, add);
  }
  __m512 s = acc[0];
  for (int j = 1; j < kZmmAccumulators; ++j) s = _mm512_add_ps(s, acc[j]);
  return _mm512_reduce_add_ps(s);
}

namespace {

// `Streams` parts of the buffer, read side by side; each iteration takes kReadStep bytes from
// each, 8 x 64-byte loads into 8 accumulators (integer adds: 1-cycle latency, never the limit).
template <int Streams>
std::uint64_t read_streams(const std::byte* p, std::size_t bytes) {
  __m512i acc[8];
  for (__m512i& a : acc) a = _mm512_setzero_si512();
  const std::size_t part = bytes / Streams;
  for (std::size_t i = 0; i < part; i += kReadStep) {
    for (int s = 0; s < Streams; ++s) {
      const std::byte* q = p + s * part + i;
#pragma GCC unroll 32
      for (int j = 0; j < static_cast<int>(kReadStep / 64); ++j) {
        acc[j % 8] = _mm512_add_epi32(
            acc[j % 8], _mm512_load_si512(reinterpret_cast<const __m512i*>(q + 64 * j)));
      }
    }
  }
  __m512i sum = acc[0];
  for (int j = 1; j < 8; ++j) sum = _mm512_add_epi32(sum, acc[j]);
  return static_cast<std::uint64_t>(_mm512_reduce_add_epi32(sum));
}

}  // namespace

std::uint64_t read_avx512(const std::byte* p, std::size_t bytes, int streams) {
  return streams == 2 ? read_streams<2>(p, bytes) : read_streams<1>(p, bytes);
}

}  // namespace lowp::peak
