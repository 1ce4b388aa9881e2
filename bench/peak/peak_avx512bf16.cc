// bench/peak/peak_avx512bf16.cc: vdpbf16ps zmm peak (pairs of bf16 products into fp32).
#include <immintrin.h>

#include "peak.h"

namespace lowp::peak {

float dot_bf16_zmm(std::int64_t blocks) {
  __m512 acc[kZmmAccumulators];
  for (int j = 0; j < kZmmAccumulators; ++j) acc[j] = _mm512_set1_ps(static_cast<float>(j));
  // bf16 0x3C00 = 2^-7: each instruction adds 2 * 2^-14 per lane, no overflow or denormals
  // for any run this program makes.
  const __m512bh x = reinterpret_cast<__m512bh>(_mm512_set1_epi16(0x3C00));
  for (std::int64_t b = 0; b < blocks; ++b) {
#pragma GCC unroll 16
    for (int j = 0; j < kZmmAccumulators; ++j) acc[j] = _mm512_dpbf16_ps(acc[j], x, x);
  }
  __m512 s = acc[0];
  for (int j = 1; j < kZmmAccumulators; ++j) s = _mm512_add_ps(s, acc[j]);
  return _mm512_reduce_add_ps(s);
}

}  // namespace lowp::peak
