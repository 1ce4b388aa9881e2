// bench/peak/peak_baseline.cc: the loops of peak.h that baseline x86-64 can run anywhere: a
// dependent add chain (one add per cycle, so it times the core clock) and SSE2 reads.
#include <emmintrin.h>

#include "peak.h"

namespace lowp::peak {

std::uint64_t add_chain(std::int64_t blocks) {
  // Register operands, not immediates: some cores fold chains of add-immediate at rename.
  std::uint64_t x = 0, step = 1;
  for (std::int64_t b = 0; b < blocks; ++b) {
    static_assert(kAddChainLength == 128, "the .rept count below");
    __asm__ volatile(".rept 128\n\tadd %1, %0\n\t.endr" : "+r"(x) : "r"(step));
  }
  return x;
}

namespace {

// `Streams` parts of the buffer, read side by side; each iteration takes kReadStep bytes from
// each, 32 x 16-byte loads into 8 accumulators (integer adds: 1-cycle latency, never the limit).
template <int Streams>
std::uint64_t read_streams(const std::byte* p, std::size_t bytes) {
  __m128i acc[8];
  for (__m128i& a : acc) a = _mm_setzero_si128();
  const std::size_t part = bytes / Streams;
  for (std::size_t i = 0; i < part; i += kReadStep) {
    for (int s = 0; s < Streams; ++s) {
      const std::byte* q = p + s * part + i;
#pragma GCC unroll 32
      for (int j = 0; j < static_cast<int>(kReadStep / 16); ++j) {
        acc[j % 8] =
            _mm_add_epi32(acc[j % 8], _mm_load_si128(reinterpret_cast<const __m128i*>(q + 16 * j)));
      }
    }
  }
  __m128i sum = acc[0];
  for (int j = 1; j < 8; ++j) sum = _mm_add_epi32(sum, acc[j]);
  return static_cast<std::uint64_t>(_mm_cvtsi128_si64(sum));
}

}  // namespace

std::uint64_t read_sse2(const std::byte* p, std::size_t bytes, int streams) {
  return streams == 2 ? read_streams<2>(p, bytes) : read_streams<1>(p, bytes);
}

}  // namespace lowp::peak
