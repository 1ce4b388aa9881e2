// kernels/activation.h: the activations a GEMM or convolution epilogue applies, and their
// scalar definition (the specification the SIMD epilogues are tested against).
//
//   relu(x)  = max(x, 0)
//   clamp(x) = min(max(x, lo), hi)                 (ReLU6 is clamp(0, 6))
//   gelu(x)  = x / 2 * (1 + erf(x / sqrt(2)))      (ONNX Gelu, approximate = "none")
//   silu(x)  = x / (1 + exp(-x))                   (Swish with beta 1)
// The SIMD forms of gelu and silu use polynomial exp and erf (activation_avx512.h,
// activation_avx2.h): within 5e-7 (1 + |x|) of these (measured: 1.3e-7), not bit-exact;
// relu and clamp are exact.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

namespace lowp {

enum class Activation { none, relu, clamp, gelu, silu };


const char* activation_name(Activation act);

inline float apply_activation(float x, Activation act, float lo, float hi) {
  switch (act) {
    case Activation::none: return x;
    case Activation::relu: return std::max(x, 0.0f);
    case Activation::clamp: return std::min(std::max(x, lo), hi);
    case Activation::gelu:
      return static_cast<float>(0.5 * x * (1.0 + std::erf(x * 0.70710678118654752440)));
    case Activation::silu: return static_cast<float>(x / (1.0 + std::exp(-static_cast<double>(x))));
  }
  return x;
}

struct ActivationParams {
  Activation kind = Activation::none;
  float lo = -std::numeric_limits<float>::infinity();  // clamp only
  float hi = std::numeric_limits<float>::infinity();

  ActivationParams() = default;
  ActivationParams(Activation k) : kind(k) {}  // NOLINT: implicit, `args.act = Activation::relu`
  ActivationParams(Activation k, float low, float high) : kind(k), lo(low), hi(high) {}
  float operator()(float x) const { return apply_activation(x, kind, lo, hi); }
};

// Exact on every path (relu, clamp, none): what integer kernels, which promise bit-exact
// results, accept.
inline bool activation_is_exact(Activation act) {
  return act == Activation::none || act == Activation::relu || act == Activation::clamp;
}

// Constants of the vector forms.
namespace activation_poly {
// erf(|z|) = 1 - t (a1 + t (a2 + t (a3 + t (a4 + t a5)))) exp(-z^2), t = 1 / (1 + p |z|)
// (Abramowitz and Stegun 7.1.26, |error| <= 1.5e-7).
inline constexpr float kErfP = 0.3275911f;
inline constexpr float kErfA[5] = {0.254829592f, -0.284496736f, 1.421413741f, -1.453152027f,
                                   1.061405429f};
inline constexpr float kInvSqrt2 = 0.70710678118654752440f;
inline constexpr float kExpMax = 88.0f;  // exp's input is clamped here (e^88 ~ 1.7e38)
}  // namespace activation_poly

}  // namespace lowp
