// kernels/q4dot/q4dot_avx512.cc: int4 x int8 on AVX-512 without VNNI: vpmaddubsw sums
// u4 x s8 pairs into int16 (at most 2 x 15 x 127 = 3810: no saturation), vpmaddwd by ones
// widens the pairs into the int32 accumulator.
#include "kernels/q4dot/q4dot_avx512_tiles.h"

namespace lowp {
namespace {
struct MaddDot {
  static __m512i step(__m512i acc, __m512i u, __m512i s) {
    __m512i pairs = _mm512_maddubs_epi16(u, s);
    return _mm512_add_epi32(acc, _mm512_madd_epi16(pairs, _mm512_set1_epi16(1)));
  }
};
}  // namespace

void q4dot_avx512(const Q4DotArgs& args) {
  run_q4dot<MaddDot>(args);
}

}  // namespace lowp
