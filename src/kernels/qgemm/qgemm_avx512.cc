// kernels/qgemm/qgemm_avx512.cc: int8 GEMM on AVX-512 without VNNI. Weights are
// sign-extended and activations zero-extended to int16, and vpmaddwd adds products in pairs
// into int32: exact (see qgemm.h for why not vpmaddubsw). Each lane pair (k0+k1, k2+k3) of
// an output is summed once at the end. Tile 4 rows x 2 panels.
#include "kernels/qgemm/qgemm_avx512_tiles.h"

namespace lowp {
namespace {

struct WideningDot {
  struct Acc {
    __m512i lo, hi;  // outputs 0..7 and 8..15, two partial sums each
  };
  static Acc zero() { return {_mm512_setzero_si512(), _mm512_setzero_si512()}; }
  // The 4 activations as int16, repeated in every 64-bit group.
  static __m512i broadcast(std::uint32_t a4) {
    std::uint64_t x = (a4 & 0xFFu) | (static_cast<std::uint64_t>((a4 >> 8) & 0xFFu) << 16) |
                      (static_cast<std::uint64_t>((a4 >> 16) & 0xFFu) << 32) |
                      (static_cast<std::uint64_t>(a4 >> 24) << 48);
    return _mm512_set1_epi64(static_cast<long long>(x));
  }
  static Acc step(Acc acc, __m512i a, __m512i b) {
    __m512i b_lo = _mm512_cvtepi8_epi16(_mm512_castsi512_si256(b));
    __m512i b_hi = _mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(b, 1));
    return {_mm512_add_epi32(acc.lo, _mm512_madd_epi16(b_lo, a)),
            _mm512_add_epi32(acc.hi, _mm512_madd_epi16(b_hi, a))};
  }
  static __m512i finish(const Acc& acc) {
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    return _mm512_add_epi32(_mm512_permutex2var_epi32(acc.lo, even, acc.hi),
                            _mm512_permutex2var_epi32(acc.lo, odd, acc.hi));
  }
};

}  // namespace

void qgemm_avx512(const QGemmArgs& args) {
  run_qgemm<WideningDot, 4, 2>(args);
}

}  // namespace lowp
