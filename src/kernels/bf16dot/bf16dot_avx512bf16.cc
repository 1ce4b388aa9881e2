// kernels/bf16dot/bf16dot_avx512bf16.cc: bf16 GEMM with vdpbf16ps.
#include "kernels/bf16dot/bf16dot_avx512_tiles.h"

namespace lowp {
namespace {
struct Bf16Dot {
  static __m512 step(__m512 acc, __m512i a, __m512i b) {
    return _mm512_dpbf16_ps(acc, reinterpret_cast<__m512bh>(a), reinterpret_cast<__m512bh>(b));
  }
};
}  // namespace

void bf16dot_avx512bf16(const Bf16DotArgs& args) {
  run_bf16dot<Bf16Dot>(args);
}

}  // namespace lowp
