// kernels/qgemm/qgemm_avx512vnni.cc: int8 GEMM with vpdpbusd: one instruction multiplies
// 4 u8 activations by the 4 s8 weights of each of 16 outputs and adds them into int32
// lanes, exactly. Tile 4 rows x 4 panels (16 accumulators).
#include "kernels/avx512_dot_asm.h"
#include "kernels/qgemm/qgemm_avx512_tiles.h"

namespace lowp {
namespace {

struct VnniDot {
  using Acc = __m512i;
  static Acc zero() { return _mm512_setzero_si512(); }
  static __m512i broadcast(std::uint32_t a4) { return _mm512_set1_epi32(static_cast<int>(a4)); }
  // Not _mm512_dpbusd_epi32: see kernels/avx512_dot_asm.h.
  static Acc step(Acc acc, __m512i a, __m512i b) { return dot_asm::dpbusd(acc, a, b); }
  static __m512i finish(const Acc& acc) { return acc; }
};

}  // namespace

void qgemm_avx512vnni(const QGemmArgs& args) {
  run_qgemm<VnniDot, 4, 4>(args);
}

}  // namespace lowp
