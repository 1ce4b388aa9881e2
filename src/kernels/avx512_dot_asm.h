// kernels/avx512_dot_asm.h: vpdpbusd and vdpbf16ps through inline assembly, for the
// AVX512-VNNI and AVX512-BF16 translation units only.
//
// GCC 12 gives the accumulators of these intrinsics only registers zmm0-15 (the operand
// constraint shared with their VEX-encoded AVX-VNNI / AVX-NE forms). A micro-kernel with 16
// accumulators then copies each one in and out of zmm16-31 around every instruction: the
// int8 GEMM ran at ~750 GOP/s at 1024^3 that way, and at ~980 GOP/s with these wrappers,
// whose "v" constraint allows all 32 registers. Static: internal linkage in each TU.
#pragma once

#include <immintrin.h>

namespace lowp::dot_asm {

// acc + sum of 4 u8 x s8 products per 32-bit lane (u8 from `u`, s8 from `s`).
static inline __m512i dpbusd(__m512i acc, __m512i u, __m512i s) {
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(s));
  return acc;
}

#ifdef __AVX512BF16__
// acc + the two bf16 x bf16 products of each 32-bit lane.
static inline __m512 dpbf16ps(__m512 acc, __m512i a, __m512i b) {
  __asm__("vdpbf16ps %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
  return acc;
}
#endif

}  // namespace lowp::dot_asm
