// kernels/convert/convert.cc: the best-first conversion lists and their dispatch.
//
// One list per direction and type; each dispatching function resolves its list once, on
// first call (a function-local static, so thread-safe), against active_isa(), which
// LOWP_ISA can lower.
#include "kernels/convert/convert.h"

#include "base/cpu.h"

namespace lowp {
namespace {

constexpr KernelEntry<ConvertF32ToF16Fn> kConvertF32ToF16Kernels[] = {
    {"f32_to_f16_convert__avx512", IsaLevel::avx512, f32_to_f16_convert__avx512},
    {"f32_to_f16_convert__avx2", IsaLevel::avx2, f32_to_f16_convert__avx2},
    {"f32_to_f16_convert__scalar", IsaLevel::scalar, f32_to_f16_convert__scalar},
};

constexpr KernelEntry<ConvertF16ToF32Fn> kConvertF16ToF32Kernels[] = {
    {"f16_to_f32_convert__avx512", IsaLevel::avx512, f16_to_f32_convert__avx512},
    {"f16_to_f32_convert__avx2", IsaLevel::avx2, f16_to_f32_convert__avx2},
    {"f16_to_f32_convert__scalar", IsaLevel::scalar, f16_to_f32_convert__scalar},
};

constexpr KernelEntry<ConvertF32ToBF16Fn> kConvertF32ToBF16Kernels[] = {
    {"f32_to_bf16_convert__avx512", IsaLevel::avx512, f32_to_bf16_convert__avx512},
    {"f32_to_bf16_convert__avx2", IsaLevel::avx2, f32_to_bf16_convert__avx2},
    {"f32_to_bf16_convert__scalar", IsaLevel::scalar, f32_to_bf16_convert__scalar},
};

constexpr KernelEntry<ConvertBF16ToF32Fn> kConvertBF16ToF32Kernels[] = {
    {"bf16_to_f32_convert__avx512", IsaLevel::avx512, bf16_to_f32_convert__avx512},
    {"bf16_to_f32_convert__avx2", IsaLevel::avx2, bf16_to_f32_convert__avx2},
    {"bf16_to_f32_convert__scalar", IsaLevel::scalar, bf16_to_f32_convert__scalar},
};

constexpr KernelEntry<ConvertF32ToF8Fn> kConvertF32ToF8E4M3FNKernels[] = {
    {"f32_to_f8e4m3fn_convert__avx512", IsaLevel::avx512, f32_to_f8e4m3fn_convert__avx512},
    {"f32_to_f8e4m3fn_convert__avx2", IsaLevel::avx2, f32_to_f8e4m3fn_convert__avx2},
    {"f32_to_f8e4m3fn_convert__scalar", IsaLevel::scalar, f32_to_f8e4m3fn_convert__scalar},
};

constexpr KernelEntry<ConvertF8ToF32Fn> kConvertF8E4M3FNToF32Kernels[] = {
    {"f8e4m3fn_to_f32_convert__avx512", IsaLevel::avx512, f8e4m3fn_to_f32_convert__avx512},
    {"f8e4m3fn_to_f32_convert__avx2", IsaLevel::avx2, f8e4m3fn_to_f32_convert__avx2},
    {"f8e4m3fn_to_f32_convert__scalar", IsaLevel::scalar, f8e4m3fn_to_f32_convert__scalar},
};

constexpr KernelEntry<ConvertF32ToF8Fn> kConvertF32ToF8E5M2Kernels[] = {
    {"f32_to_f8e5m2_convert__avx512", IsaLevel::avx512, f32_to_f8e5m2_convert__avx512},
    {"f32_to_f8e5m2_convert__avx2", IsaLevel::avx2, f32_to_f8e5m2_convert__avx2},
    {"f32_to_f8e5m2_convert__scalar", IsaLevel::scalar, f32_to_f8e5m2_convert__scalar},
};

constexpr KernelEntry<ConvertF8ToF32Fn> kConvertF8E5M2ToF32Kernels[] = {
    {"f8e5m2_to_f32_convert__avx512", IsaLevel::avx512, f8e5m2_to_f32_convert__avx512},
    {"f8e5m2_to_f32_convert__avx2", IsaLevel::avx2, f8e5m2_to_f32_convert__avx2},
    {"f8e5m2_to_f32_convert__scalar", IsaLevel::scalar, f8e5m2_to_f32_convert__scalar},
};

template <class Fn>
Fn pick(std::span<const KernelEntry<Fn>> list) {
  return pick_kernel(list, active_isa()).fn;
}

}  // namespace

std::span<const KernelEntry<ConvertF32ToF16Fn>> convert_f32_to_f16_kernels() {
  return kConvertF32ToF16Kernels;
}
std::span<const KernelEntry<ConvertF16ToF32Fn>> convert_f16_to_f32_kernels() {
  return kConvertF16ToF32Kernels;
}
std::span<const KernelEntry<ConvertF32ToBF16Fn>> convert_f32_to_bf16_kernels() {
  return kConvertF32ToBF16Kernels;
}
std::span<const KernelEntry<ConvertBF16ToF32Fn>> convert_bf16_to_f32_kernels() {
  return kConvertBF16ToF32Kernels;
}
std::span<const KernelEntry<ConvertF32ToF8Fn>> convert_f32_to_f8e4m3fn_kernels() {
  return kConvertF32ToF8E4M3FNKernels;
}
std::span<const KernelEntry<ConvertF8ToF32Fn>> convert_f8e4m3fn_to_f32_kernels() {
  return kConvertF8E4M3FNToF32Kernels;
}
std::span<const KernelEntry<ConvertF32ToF8Fn>> convert_f32_to_f8e5m2_kernels() {
  return kConvertF32ToF8E5M2Kernels;
}
std::span<const KernelEntry<ConvertF8ToF32Fn>> convert_f8e5m2_to_f32_kernels() {
  return kConvertF8E5M2ToF32Kernels;
}

void convert_f32_to_f16(const float* in, std::uint16_t* out, std::size_t n) {
  static const ConvertF32ToF16Fn fn = pick(convert_f32_to_f16_kernels());
  fn(in, out, n);
}

void convert_f16_to_f32(const std::uint16_t* in, float* out, std::size_t n) {
  static const ConvertF16ToF32Fn fn = pick(convert_f16_to_f32_kernels());
  fn(in, out, n);
}

void convert_f32_to_bf16(const float* in, std::uint16_t* out, std::size_t n) {
  static const ConvertF32ToBF16Fn fn = pick(convert_f32_to_bf16_kernels());
  fn(in, out, n);
}

void convert_bf16_to_f32(const std::uint16_t* in, float* out, std::size_t n) {
  static const ConvertBF16ToF32Fn fn = pick(convert_bf16_to_f32_kernels());
  fn(in, out, n);
}

void convert_f32_to_f8e4m3fn(const float* in, std::uint8_t* out, std::size_t n, bool saturate) {
  static const ConvertF32ToF8Fn fn = pick(convert_f32_to_f8e4m3fn_kernels());
  fn(in, out, n, saturate);
}

void convert_f8e4m3fn_to_f32(const std::uint8_t* in, float* out, std::size_t n) {
  static const ConvertF8ToF32Fn fn = pick(convert_f8e4m3fn_to_f32_kernels());
  fn(in, out, n);
}

void convert_f32_to_f8e5m2(const float* in, std::uint8_t* out, std::size_t n, bool saturate) {
  static const ConvertF32ToF8Fn fn = pick(convert_f32_to_f8e5m2_kernels());
  fn(in, out, n, saturate);
}

void convert_f8e5m2_to_f32(const std::uint8_t* in, float* out, std::size_t n) {
  static const ConvertF8ToF32Fn fn = pick(convert_f8e5m2_to_f32_kernels());
  fn(in, out, n);
}

}  // namespace lowp
