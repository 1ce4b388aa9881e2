// kernels/bf16dot/bf16dot_avx512bf16.cc: bf16 GEMM with vdpbf16ps.
#include "kernels/avx512_dot_asm.h"
#include "kernels/bf16dot/bf16dot_avx512_tiles.h"

namespace lowp {
namespace {
struct Bf16Dot {
  // Not _mm512_dpbf16_ps: see kernels/avx512_dot_asm.h.
  static __m512 step(__m512 acc, __m512i a, __m512i b) { return dot_asm::dpbf16ps(acc, a, b); }
};
}  // namespace

void bf16dot_avx512bf16(const Bf16DotArgs& args) {
  run_bf16dot<Bf16Dot>(args);
}

void bf16dot_implicit_avx512bf16(const Bf16ImplicitArgs& args) {
  run_bf16dot_implicit<Bf16Dot>(args);
}

}  // namespace lowp
