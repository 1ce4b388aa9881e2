// kernels/activate/activate.cc: the reference and the list.
#include "kernels/activate/activate.h"

namespace lowp {

void activate_ref(const float* x, std::size_t n, ActivationParams act, float* y) {
  for (std::size_t i = 0; i < n; ++i) y[i] = act(x[i]);
}

namespace {
constexpr KernelEntry<ActivateFn> kActivate[] = {
    {"f32_activate__avx512", IsaLevel::avx512, activate_avx512},
    {"f32_activate__avx2", IsaLevel::avx2, activate_avx2},
    {"f32_activate__scalar", IsaLevel::scalar, activate_ref},
};
}  // namespace

std::span<const KernelEntry<ActivateFn>> activate_kernels() {
  return kActivate;
}

void activate(const float* x, std::size_t n, ActivationParams act, float* y) {
  static const ActivateFn fn = pick_kernel(activate_kernels(), active_isa()).fn;
  fn(x, n, act, y);
}

}  // namespace lowp
