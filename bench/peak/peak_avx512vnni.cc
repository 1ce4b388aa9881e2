// bench/peak/peak_avx512vnni.cc: vpdpbusd zmm peak (the instruction of lowp's int8 GEMM).
#include <immintrin.h>

#include "peak.h"

namespace lowp::peak {

std::int32_t dot_u8s8_zmm(std::int64_t blocks) {
  __m512i acc[kZmmAccumulators];
  for (int j = 0; j < kZmmAccumulators; ++j) acc[j] = _mm512_set1_epi32(j);
  // Any values do: int32 accumulation wraps, and the timing does not depend on the data.
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-5);
  for (std::int64_t i = 0; i < blocks; ++i) {
#pragma GCC unroll 16
    for (int j = 0; j < kZmmAccumulators; ++j) acc[j] = _mm512_dpbusd_epi32(acc[j], a, b);
  }
  __m512i s = acc[0];
  for (int j = 1; j < kZmmAccumulators; ++j) s = _mm512_add_epi32(s, acc[j]);
  return _mm512_reduce_add_epi32(s);
}

}  // namespace lowp::peak
