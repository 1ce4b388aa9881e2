// bench/peak/peak_avx2.cc: AVX2 + FMA loops of peak.h (ymm FMA peak, 32-byte reads).
#include <immintrin.h>

#include "peak.h"

namespace lowp::peak {

float fma_f32_ymm(std::int64_t blocks) {
  __m256 acc[kYmmAccumulators];
  for (int j = 0; j < kYmmAccumulators; ++j) acc[j] = _mm256_set1_ps(static_cast<float>(j));
  // acc = acc * 0.999 + 0.001 converges to 1: normal numbers only, no denormal slow path.
  const __m256 mul = _mm256_set1_ps(0.999f), add = _mm256_set1_ps(0.001f);
  for (std::int64_t b = 0; b < blocks; ++b) {
#pragma GCC unroll 16
    for (int j = 0; j < kYmmAccumulators; ++j) acc[j] = _mm256_fmadd_ps(acc[j], mul, add);
  }
  __m256 s = acc[0];
  for (int j = 1; j < kYmmAccumulators; ++j) s = _mm256_add_ps(s, acc[j]);
  return _mm256_cvtss_f32(s);
}

namespace {

// `Streams` parts of the buffer, read side by side; each iteration takes kReadStep bytes from
// each, 16 x 32-byte loads into 8 accumulators (integer adds: 1-cycle latency, never the limit).
template <int Streams>
std::uint64_t read_streams(const std::byte* p, std::size_t bytes) {
  __m256i acc[8];
  for (__m256i& a : acc) a = _mm256_setzero_si256();
  const std::size_t part = bytes / Streams;
  for (std::size_t i = 0; i < part; i += kReadStep) {
    for (int s = 0; s < Streams; ++s) {
      const std::byte* q = p + s * part + i;
#pragma GCC unroll 32
      for (int j = 0; j < static_cast<int>(kReadStep / 32); ++j) {
        acc[j % 8] = _mm256_add_epi32(
            acc[j % 8], _mm256_load_si256(reinterpret_cast<const __m256i*>(q + 32 * j)));
      }
    }
  }
  __m256i sum = acc[0];
  for (int j = 1; j < 8; ++j) sum = _mm256_add_epi32(sum, acc[j]);
  return static_cast<std::uint64_t>(_mm256_extract_epi64(sum, 0));
}

}  // namespace

std::uint64_t read_avx2(const std::byte* p, std::size_t bytes, int streams) {
  return streams == 2 ? read_streams<2>(p, bytes) : read_streams<1>(p, bytes);
}

}  // namespace lowp::peak
