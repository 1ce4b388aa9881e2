// kernels/softmax/softmax.h: row-wise softmax, y[i][j] = exp(x[i][j] - max_i) / sum_j(...).
//
// The reference uses std::exp. The SIMD paths use the polynomial exp of the epilogues
// (activation_avx512.h / activation_avx2.h, constants in exp_poly.h), accurate to
// about 2 ulp, and sum each row in a fixed lane order, so a row's result depends on the
// row alone, never on threads. Tests hold them to a relative error of 4 ulp per exp plus
// cols x eps for the sum (written in tests/kernels/softmax_test.cc).
#pragma once

#include <cstddef>
#include <span>

#include "kernels/dispatch.h"

namespace lowp {

using SoftmaxFn = void (*)(const float* x, std::size_t rows, std::size_t cols, float* y);

void softmax_ref(const float* x, std::size_t rows, std::size_t cols, float* y);
void softmax_avx2(const float* x, std::size_t rows, std::size_t cols, float* y);
void softmax_avx512(const float* x, std::size_t rows, std::size_t cols, float* y);

std::span<const KernelEntry<SoftmaxFn>> softmax_kernels();
// In place is allowed (y == x).
void softmax(const float* x, std::size_t rows, std::size_t cols, float* y);

}  // namespace lowp
