// kernels/gemm/gemm_pack.cc: plain [n][k] weights into the panel layout of gemm.h.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/error.h"
#include "kernels/gemm/gemm.h"

namespace lowp {
namespace {

void check_sizes(int n, int k) {
  LOWP_CHECK(n >= 1 && k >= 1, "gemm weights: n = {} and k = {} must both be at least 1", n, k);
}

// Copies 16-bit or 32-bit elements into panel[p][k][16], zero padding beyond n. The
// output is written once, in order (a model's weights are packed at its first run: ResNet-
// 18's 46 MB took ~16 ms row by row into a zero-filled buffer, every write a new line).
// k_order: empty, or input kk of a row is at k_order[kk]. `packed` keeps its buffer when it
// already holds this type and shape (a training step repacks the same layer every call).
template <class T>
void pack_elements_into(GemmWeights type, const T* w, int n, int k, std::span<const std::uint32_t> k_order,
                        PackedGemmWeights& packed) {
  check_sizes(n, k);
  LOWP_CHECK(k_order.empty() || k_order.size() == static_cast<std::size_t>(k),
             "gemm weights: an input order of {} entries for k = {}", k_order.size(), k);
  for (std::uint32_t at : k_order)
    LOWP_CHECK(at < static_cast<std::uint32_t>(k), "gemm weights: input order entry {} is not below k = {}", at, k);
  const int block =
      type == GemmWeights::f16 && static_cast<std::size_t>(n) * static_cast<std::size_t>(k) * sizeof(T) >= (std::size_t{1} << 20)
          ? 4
          : 1;
  const int stored_panels = ((n + kGemmPanel - 1) / kGemmPanel + block - 1) / block * block;
  std::size_t count = checked_mul(checked_mul(static_cast<std::size_t>(stored_panels),
                                              static_cast<std::size_t>(k), "gemm weights"),
                                  kGemmPanel, "gemm weights");
  const std::size_t bytes = checked_mul(count, sizeof(T), "gemm weights");
  if (packed.type != type || packed.n != n || packed.k != k || packed.blocked_panels != block ||
      packed.data.size() != bytes) {
    packed = PackedGemmWeights{};
    packed.type = type;
    packed.n = n;
    packed.k = k;
    packed.blocked_panels = block;
    packed.data = AlignedBuffer<std::byte>(bytes, AlignedBuffer<std::byte>::Uninitialized{});
  }
  const auto kk_count = static_cast<std::size_t>(k);
  const std::size_t step = packed.k_stride() / sizeof(T);  // elements from kk to kk + 1
  for (int panel = 0; panel < stored_panels; ++panel) {
    const int first = panel * kGemmPanel, lanes = std::clamp(n - first, 0, kGemmPanel);
    const T* rows = w + static_cast<std::size_t>(std::min(first, n - 1)) * kk_count;
    T* dst = reinterpret_cast<T*>(const_cast<std::byte*>(packed.panel_start(panel)));
    for (std::size_t kk = 0; kk < kk_count; ++kk, dst += step) {
      const std::size_t at = k_order.empty() ? kk : k_order[kk];
      for (int lane = 0; lane < lanes; ++lane) dst[lane] = rows[static_cast<std::size_t>(lane) * kk_count + at];
      for (int lane = lanes; lane < kGemmPanel; ++lane) dst[lane] = T{};
    }
  }
}

template <class T>
PackedGemmWeights pack_elements(GemmWeights type, const T* w, int n, int k, std::span<const std::uint32_t> k_order = {}) {
  PackedGemmWeights packed;
  pack_elements_into(type, w, n, k, k_order, packed);
  return packed;
}

}  // namespace

std::size_t PackedGemmWeights::panel_bytes() const {
  return k_bytes() * static_cast<std::size_t>(k);
}

PackedGemmWeights pack_gemm_f32(const float* w, int n, int k) {
  return pack_elements(GemmWeights::f32, w, n, k);
}
void pack_gemm_f32(const float* w, int n, int k, PackedGemmWeights& out) {
  pack_elements_into(GemmWeights::f32, w, n, k, {}, out);
}
PackedGemmWeights pack_gemm_f32_reordered(const float* w, int n, int k, std::span<const std::uint32_t> k_order) {
  return pack_elements(GemmWeights::f32, w, n, k, k_order);
}
void pack_gemm_f32_kn(const float* b, std::size_t ldb, int k, int n, PackedGemmWeights& out) {
  check_sizes(n, k);
  if (out.type != GemmWeights::f32 || out.n != n || out.k != k || out.data.size() == 0) {
    out = PackedGemmWeights{};
    out.type = GemmWeights::f32;
    out.n = n;
    out.k = k;
    std::size_t count = checked_mul(checked_mul(static_cast<std::size_t>(out.panels()),
                                                static_cast<std::size_t>(k), "gemm weights"),
                                    kGemmPanel, "gemm weights");
    out.data = AlignedBuffer<std::byte>(checked_mul(count, sizeof(float), "gemm weights"));
  }
  float* dst = reinterpret_cast<float*>(out.data.data());
  for (int p = 0; p < out.panels(); ++p) {
    int first = p * kGemmPanel;
    int width = std::min(kGemmPanel, n - first);
    for (int kk = 0; kk < k; ++kk) {
      float* row = dst + (static_cast<std::size_t>(p) * k + kk) * kGemmPanel;
      std::memcpy(row, b + static_cast<std::size_t>(kk) * ldb + first, sizeof(float) * width);
      // Lanes past n stay zero from the allocation.
    }
  }
}

PackedGemmWeights pack_gemm_f16(const std::uint16_t* w_bits, int n, int k) {
  return pack_elements(GemmWeights::f16, w_bits, n, k);
}
PackedGemmWeights pack_gemm_bf16(const std::uint16_t* w_bits, int n, int k) {
  return pack_elements(GemmWeights::bf16, w_bits, n, k);
}

PackedGemmWeights pack_gemm_q4(const std::int8_t* q, const float* scales, int n, int k,
                               int group_size) {
  check_sizes(n, k);
  LOWP_CHECK(group_size >= 1, "int4 gemm weights: group size {} must be at least 1", group_size);
  PackedGemmWeights packed;
  packed.type = GemmWeights::q4;
  packed.n = n;
  packed.k = k;
  packed.group_size = group_size;
  std::size_t panels = static_cast<std::size_t>(packed.panels());
  std::size_t groups = static_cast<std::size_t>(packed.groups());
  packed.data = AlignedBuffer<std::byte>(checked_mul(panels, packed.panel_bytes(), "int4 gemm"));
  packed.group_scales = AlignedBuffer<float>(checked_mul(panels * groups, kGemmPanel, "int4 gemm"));
  auto* out = reinterpret_cast<std::uint8_t*>(packed.data.data());
  for (int row = 0; row < n; ++row) {
    std::size_t panel = static_cast<std::size_t>(row / kGemmPanel);
    int lane = row % kGemmPanel;
    for (int kk = 0; kk < k; ++kk) {
      std::int8_t v = q[static_cast<std::size_t>(row) * k + kk];
      LOWP_CHECK(v >= -8 && v <= 7, "int4 gemm weights: value {} at [{}][{}] outside [-8, 7]", v,
                 row, kk);
      std::uint8_t nibble = static_cast<std::uint8_t>(v) & 0x0F;
      std::uint8_t& byte =
          out[panel * packed.panel_bytes() + static_cast<std::size_t>(kk) * (kGemmPanel / 2) +
              static_cast<std::size_t>(lane / 2)];
      byte |= static_cast<std::uint8_t>(lane % 2 == 0 ? nibble : nibble << 4);
    }
    for (std::size_t g = 0; g < groups; ++g) {
      float s = scales[static_cast<std::size_t>(row) * groups + g];
      LOWP_CHECK(std::isfinite(s) && s >= 0.0f,
                 "int4 gemm weights: scale {} of output {} group {} must be finite and >= 0", s,
                 row, g);
      packed.group_scales[(panel * groups + g) * kGemmPanel + static_cast<std::size_t>(lane)] = s;
    }
  }
  return packed;
}

}  // namespace lowp
