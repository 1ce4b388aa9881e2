// kernels/activate/activate_avx512.cc: 16 lanes at a time; the tail by masked load and store.
#include <immintrin.h>

#include "kernels/activate/activate.h"
#include "kernels/activation_avx512.h"

namespace lowp {

void activate_avx512(const float* x, std::size_t n, ActivationParams act, float* y) {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, activate16(_mm512_loadu_ps(x + i), act));
  if (i < n) {
    const auto mask = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(y + i, mask, activate16(_mm512_maskz_loadu_ps(mask, x + i), act));
  }
}

}  // namespace lowp
