// kernels/activate/activate_avx2.cc: 8 lanes at a time; the tail by masked load and store.
#include <immintrin.h>

#include "kernels/activate/activate.h"
#include "kernels/activation_avx2.h"

namespace lowp {

void activate_avx2(const float* x, std::size_t n, ActivationParams act, float* y) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, activate8(_mm256_loadu_ps(x + i), act));
  if (i < n) {
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n - i)),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    _mm256_maskstore_ps(y + i, mask, activate8(_mm256_maskload_ps(x + i, mask), act));
  }
}

}  // namespace lowp
