// kernels/q4dot/q4dot_avx512vnni.cc: int4 x int8 with vpdpbusd (u4 weights as the unsigned
// operand, s8 activations as the signed one).
#include "kernels/avx512_dot_asm.h"
#include "kernels/q4dot/q4dot_avx512_tiles.h"

namespace lowp {
namespace {
struct VnniDot {
  // Not _mm512_dpbusd_epi32: see kernels/avx512_dot_asm.h.
  static __m512i step(__m512i acc, __m512i u, __m512i s) { return dot_asm::dpbusd(acc, u, s); }
};
}  // namespace

void q4dot_avx512vnni(const Q4DotArgs& args) {
  run_q4dot<VnniDot>(args);
}

}  // namespace lowp
