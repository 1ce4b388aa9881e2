// kernels/softmax/softmax.cc: the reference softmax and the list.
#include "kernels/softmax/softmax.h"

#include <algorithm>
#include <cmath>

namespace lowp {

void softmax_ref(const float* x, std::size_t rows, std::size_t cols, float* y) {
  for (std::size_t i = 0; i < rows; ++i) {
    const float* in = x + i * cols;
    float* out = y + i * cols;
    float max = in[0];
    for (std::size_t j = 1; j < cols; ++j) max = std::max(max, in[j]);
    float sum = 0.0f;
    for (std::size_t j = 0; j < cols; ++j) {
      out[j] = std::exp(in[j] - max);
      sum += out[j];
    }
    for (std::size_t j = 0; j < cols; ++j) out[j] /= sum;
  }
}

namespace {
constexpr KernelEntry<SoftmaxFn> kSoftmax[] = {
    {"f32_softmax_rows__avx512", IsaLevel::avx512, softmax_avx512},
    {"f32_softmax_rows__avx2", IsaLevel::avx2, softmax_avx2},
    {"f32_softmax_rows__scalar", IsaLevel::scalar, softmax_ref},
};
}  // namespace

std::span<const KernelEntry<SoftmaxFn>> softmax_kernels() {
  return kSoftmax;
}

void softmax(const float* x, std::size_t rows, std::size_t cols, float* y) {
  static const SoftmaxFn fn = pick_kernel(softmax_kernels(), active_isa()).fn;
  if (rows == 0 || cols == 0) return;
  fn(x, rows, cols, y);
}

}  // namespace lowp
