// kernels/q4dot/q4dot_avx512vnni.cc: int4 x int8 with vpdpbusd (u4 weights as the unsigned
// operand, s8 activations as the signed one).
#include "kernels/q4dot/q4dot_avx512_tiles.h"

namespace lowp {
namespace {
struct VnniDot {
  static __m512i step(__m512i acc, __m512i u, __m512i s) { return _mm512_dpbusd_epi32(acc, u, s); }
};
}  // namespace

void q4dot_avx512vnni(const Q4DotArgs& args) {
  run_q4dot<VnniDot>(args);
}

}  // namespace lowp
