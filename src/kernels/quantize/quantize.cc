// kernels/quantize/quantize.cc: the reference rule, the scalar variants and the lists.
#include "kernels/quantize/quantize.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace lowp {

std::int32_t quantize_value(float x, float scale, std::int32_t zero_point, std::int32_t qmin,
                            std::int32_t qmax) {
  if (std::isnan(x)) return zero_point;
  float v = std::nearbyint(x / scale) + static_cast<float>(zero_point);
  v = std::min(std::max(v, static_cast<float>(qmin)), static_cast<float>(qmax));
  return static_cast<std::int32_t>(v);
}

void quantize_u8_scalar(const float* x, std::size_t n, float scale, std::int32_t zero_point,
                        std::uint8_t* q) {
  for (std::size_t i = 0; i < n; ++i) {
    q[i] = static_cast<std::uint8_t>(quantize_value(x[i], scale, zero_point, 0, 255));
  }
}

void quantize_s8_scalar(const float* x, std::size_t n, float scale, std::int32_t zero_point,
                        std::int8_t* q) {
  for (std::size_t i = 0; i < n; ++i) {
    q[i] = static_cast<std::int8_t>(quantize_value(x[i], scale, zero_point, -128, 127));
  }
}

void dequantize_u8_scalar(const std::uint8_t* q, std::size_t n, float scale,
                          std::int32_t zero_point, float* x) {
  for (std::size_t i = 0; i < n; ++i) x[i] = dequantize_value(q[i], scale, zero_point);
}

float symmetric_scale(float absmax, std::int32_t qmax) {
  if (!(absmax > 0.0f)) return 1.0f;
  return std::max(absmax / static_cast<float>(qmax), std::numeric_limits<float>::min());
}

float absmax_ref(const float* x, std::size_t n) {
  float m = 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isnan(x[i])) m = std::max(m, std::fabs(x[i]));
  }
  return m;
}

void quantize_s8_sums_ref(const float* x, std::size_t n, float scale, std::int8_t* q,
                          std::size_t group, std::int32_t* sums) {
  quantize_s8_scalar(x, n, scale, 0, q);
  for (std::size_t g = 0; g * group < n; ++g) {
    std::int32_t s = 0;
    for (std::size_t i = g * group; i < std::min(n, (g + 1) * group); ++i) s += q[i];
    sums[g] = s;
  }
}

namespace {

constexpr KernelEntry<QuantizeS8SumsFn> kQuantizeS8Sums[] = {
    {"f32_qs8_quantize_groupsum__avx512", IsaLevel::avx512, quantize_s8_sums_avx512},
    {"f32_qs8_quantize_groupsum__scalar", IsaLevel::scalar, quantize_s8_sums_ref},
};

constexpr KernelEntry<AbsMaxFn> kAbsMax[] = {
    {"f32_absmax__avx512", IsaLevel::avx512, absmax_avx512},
    {"f32_absmax__avx2", IsaLevel::avx2, absmax_avx2},
    {"f32_absmax__scalar", IsaLevel::scalar, absmax_ref},
};
constexpr KernelEntry<QuantizeU8Fn> kQuantizeU8[] = {
    {"f32_qu8_quantize__avx512", IsaLevel::avx512, quantize_u8_avx512},
    {"f32_qu8_quantize__avx2", IsaLevel::avx2, quantize_u8_avx2},
    {"f32_qu8_quantize__scalar", IsaLevel::scalar, quantize_u8_scalar},
};
constexpr KernelEntry<QuantizeS8Fn> kQuantizeS8[] = {
    {"f32_qs8_quantize__avx512", IsaLevel::avx512, quantize_s8_avx512},
    {"f32_qs8_quantize__avx2", IsaLevel::avx2, quantize_s8_avx2},
    {"f32_qs8_quantize__scalar", IsaLevel::scalar, quantize_s8_scalar},
};
constexpr KernelEntry<DequantizeU8Fn> kDequantizeU8[] = {
    {"qu8_f32_dequantize__avx512", IsaLevel::avx512, dequantize_u8_avx512},
    {"qu8_f32_dequantize__avx2", IsaLevel::avx2, dequantize_u8_avx2},
    {"qu8_f32_dequantize__scalar", IsaLevel::scalar, dequantize_u8_scalar},
};

}  // namespace

std::span<const KernelEntry<AbsMaxFn>> absmax_kernels() {
  return kAbsMax;
}
std::span<const KernelEntry<QuantizeS8SumsFn>> quantize_s8_sums_kernels() {
  return kQuantizeS8Sums;
}

void quantize_s8_sums(const float* x, std::size_t n, float scale, std::int8_t* q, std::size_t group,
                      std::int32_t* sums) {
  static const QuantizeS8SumsFn fn = pick_kernel(quantize_s8_sums_kernels(), active_isa()).fn;
  fn(x, n, scale, q, group, sums);
}
std::span<const KernelEntry<QuantizeU8Fn>> quantize_u8_kernels() {
  return kQuantizeU8;
}

float absmax(const float* x, std::size_t n) {
  static const AbsMaxFn fn = pick_kernel(absmax_kernels(), active_isa()).fn;
  return fn(x, n);
}
std::span<const KernelEntry<QuantizeS8Fn>> quantize_s8_kernels() {
  return kQuantizeS8;
}
std::span<const KernelEntry<DequantizeU8Fn>> dequantize_u8_kernels() {
  return kDequantizeU8;
}

void quantize_u8(const float* x, std::size_t n, float scale, std::int32_t zero_point,
                 std::uint8_t* q) {
  static const QuantizeU8Fn fn = pick_kernel(quantize_u8_kernels(), active_isa()).fn;
  fn(x, n, scale, zero_point, q);
}

void quantize_s8(const float* x, std::size_t n, float scale, std::int32_t zero_point,
                 std::int8_t* q) {
  static const QuantizeS8Fn fn = pick_kernel(quantize_s8_kernels(), active_isa()).fn;
  fn(x, n, scale, zero_point, q);
}

void dequantize_u8(const std::uint8_t* q, std::size_t n, float scale, std::int32_t zero_point,
                   float* x) {
  static const DequantizeU8Fn fn = pick_kernel(dequantize_u8_kernels(), active_isa()).fn;
  fn(q, n, scale, zero_point, x);
}

}  // namespace lowp
