// kernels/bf16dot/bf16dot_avx512.cc: bf16 GEMM on AVX-512 without BF16: each 32-bit lane's
// two bf16 are widened to fp32 (the even one by a 16-bit shift, the odd one by masking off
// the low half) and multiplied in with two FMAs, odd first, as vdpbf16ps adds them.
#include "kernels/bf16dot/bf16dot_avx512_tiles.h"

namespace lowp {
namespace {
struct WideningDot {
  static __m512 step(__m512 acc, __m512i a, __m512i b) {
    const __m512i high = _mm512_set1_epi32(static_cast<int>(0xFFFF0000u));
    __m512 a_odd = _mm512_castsi512_ps(_mm512_and_si512(a, high));
    __m512 b_odd = _mm512_castsi512_ps(_mm512_and_si512(b, high));
    __m512 a_even = _mm512_castsi512_ps(_mm512_slli_epi32(a, 16));
    __m512 b_even = _mm512_castsi512_ps(_mm512_slli_epi32(b, 16));
    return _mm512_fmadd_ps(a_even, b_even, _mm512_fmadd_ps(a_odd, b_odd, acc));
  }
};
}  // namespace

void bf16dot_avx512(const Bf16DotArgs& args) {
  run_bf16dot<WideningDot>(args);
}

void bf16dot_implicit_avx512(const Bf16ImplicitArgs& args) {
  run_bf16dot_implicit<WideningDot>(args);
}

}  // namespace lowp
