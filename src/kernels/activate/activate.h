// kernels/activate/activate.h: an epilogue activation (kernels/activation.h) over an array,
// for the standalone ops (Gelu) that no GEMM or convolution absorbed: int8-dynamic layers
// (lowp::DynamicQGemm promises the unfused pattern's bits, so it takes no GELU) and models
// whose activation follows something other than a dense layer. The reference is the scalar
// definition; the SIMD forms are the epilogues' own (activate8 / activate16), within
// 5e-7 (1 + |x|) of it for gelu and silu, exact for none, relu and clamp.
#pragma once

#include <cstddef>
#include <span>

#include "kernels/activation.h"
#include "kernels/dispatch.h"

namespace lowp {

using ActivateFn = void (*)(const float* x, std::size_t n, ActivationParams act, float* y);

void activate_ref(const float* x, std::size_t n, ActivationParams act, float* y);
void activate_avx2(const float* x, std::size_t n, ActivationParams act, float* y);
void activate_avx512(const float* x, std::size_t n, ActivationParams act, float* y);

std::span<const KernelEntry<ActivateFn>> activate_kernels();
// In place is allowed (y == x).
void activate(const float* x, std::size_t n, ActivationParams act, float* y);

}  // namespace lowp
