// kernels/activation_avx2.h: the epilogue activations on 8 lanes, for AVX2
// translation units only (internal linkage there). Definitions in kernels/activation.h.
#pragma once

#include <immintrin.h>

#include "kernels/activation.h"
#include "kernels/softmax/exp_poly.h"

namespace lowp {
namespace {

// exp for x in [kExpMin, kExpMax]; 0 below (see exp_poly.h).
inline __m256 exp8_clamped(__m256 x) {
  using namespace exp_poly;
  x = _mm256_min_ps(x, _mm256_set1_ps(activation_poly::kExpMax));
  __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  __m256 p = _mm256_set1_ps(kC[6]);
  for (int i = 5; i >= 0; --i) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kC[i]));
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  __m256 result = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  __m256 underflow = _mm256_cmp_ps(x, _mm256_set1_ps(kExpMin), _CMP_LT_OQ);
  return _mm256_andnot_ps(underflow, result);
}

inline __m256 activate8(__m256 v, const ActivationParams& a) {
  using namespace activation_poly;
  switch (a.kind) {
    case Activation::none: return v;
    case Activation::relu: return _mm256_max_ps(v, _mm256_setzero_ps());
    case Activation::clamp:
      return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(a.lo)), _mm256_set1_ps(a.hi));
    case Activation::gelu: {
      __m256 z = _mm256_mul_ps(v, _mm256_set1_ps(kInvSqrt2));
      __m256 az = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), z);
      __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(az, _mm256_set1_ps(kErfP), _mm256_set1_ps(1.0f)));
      __m256 poly = _mm256_set1_ps(kErfA[4]);
      for (int i = 3; i >= 0; --i) poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(kErfA[i]));
      poly = _mm256_mul_ps(poly, t);
      __m256 erf_abs = _mm256_fnmadd_ps(poly, exp8_clamped(_mm256_mul_ps(_mm256_sub_ps(_mm256_setzero_ps(), az), az)),
                                        _mm256_set1_ps(1.0f));
      // erf is odd: copy z's sign onto erf(|z|).
      __m256 sign = _mm256_and_ps(z, _mm256_set1_ps(-0.0f));
      __m256 erf = _mm256_or_ps(erf_abs, sign);
      return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), _mm256_add_ps(_mm256_set1_ps(1.0f), erf));
    }
    case Activation::silu: {
      __m256 e = exp8_clamped(_mm256_sub_ps(_mm256_setzero_ps(), v));
      return _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
    }
  }
  return v;
}

}  // namespace
}  // namespace lowp
