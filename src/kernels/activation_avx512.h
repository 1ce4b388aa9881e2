// kernels/activation_avx512.h: the epilogue activations on 16 lanes, for AVX-512
// translation units only (internal linkage there). Definitions in kernels/activation.h.
#pragma once

#include <immintrin.h>

#include "kernels/activation.h"
#include "kernels/softmax/exp_poly.h"

namespace lowp {
namespace {

// exp for x in [kExpMin, kExpMax]; 0 below (see exp_poly.h).
inline __m512 exp16_clamped(__m512 x) {
  using namespace exp_poly;
  x = _mm512_min_ps(x, _mm512_set1_ps(activation_poly::kExpMax));
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_set1_ps(kC[6]);
  for (int i = 5; i >= 0; --i) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC[i]));
  __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  __m512 result = _mm512_mul_ps(p, _mm512_castsi512_ps(e));
  __mmask16 underflow = _mm512_cmp_ps_mask(x, _mm512_set1_ps(kExpMin), _CMP_LT_OQ);
  return _mm512_mask_blend_ps(underflow, result, _mm512_setzero_ps());
}

inline __m512 activate16(__m512 v, const ActivationParams& a) {
  using namespace activation_poly;
  switch (a.kind) {
    case Activation::none: return v;
    case Activation::relu: return _mm512_max_ps(v, _mm512_setzero_ps());
    case Activation::clamp:
      return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(a.lo)), _mm512_set1_ps(a.hi));
    case Activation::gelu: {
      __m512 z = _mm512_mul_ps(v, _mm512_set1_ps(kInvSqrt2));
      __m512 az = _mm512_abs_ps(z);
      __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(az, _mm512_set1_ps(kErfP), _mm512_set1_ps(1.0f)));
      __m512 poly = _mm512_set1_ps(kErfA[4]);
      for (int i = 3; i >= 0; --i) poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(kErfA[i]));
      poly = _mm512_mul_ps(poly, t);
      __m512 erf_abs = _mm512_fnmadd_ps(poly, exp16_clamped(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), az), az)),
                                        _mm512_set1_ps(1.0f));
      // erf is odd: copy z's sign onto erf(|z|).
      __m512 sign = _mm512_and_ps(z, _mm512_set1_ps(-0.0f));
      __m512 erf = _mm512_or_ps(erf_abs, sign);
      return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v), _mm512_add_ps(_mm512_set1_ps(1.0f), erf));
    }
    case Activation::silu: {
      __m512 e = exp16_clamped(_mm512_sub_ps(_mm512_setzero_ps(), v));
      return _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    }
  }
  return v;
}

}  // namespace
}  // namespace lowp
