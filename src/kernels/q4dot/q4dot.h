// kernels/q4dot/q4dot.h: int4 weights times dynamically quantized int8 activations, the
// small-batch int4 path (llama.cpp's Q4 x Q8 idea; ONNX Runtime's MatMulNBits with
// accuracy_level 4). Every byte of weight memory carries two weights, and the products are
// integer dot products (vpdpbusd), so at batch 1 the layer streams its weights at memory
// speed instead of spending its time widening nibbles to fp32.
//
// Weights are stored unsigned, u = q + zero_point in [0, 15], with one fp32 scale and one
// zero point per output and group of `group` inputs along k (symmetric int4 is zero point
// 8). Each activation row is quantized on the fly, symmetric s8 with its own scale:
//   qa = quantize_value(a, sa, 0, -127, 127),  sa = symmetric_scale(max|a|, 127)
// and then
//   acc[g]  = sum_{k in g} u[n][k] * qa[k]              (int32, exact)
//   y[n]    = sa * sum_g scale[n][g] * float(acc[g] - zp[n][g] * sum_{k in g} qa[k]) + bias
// The integer part is exact on every path; the float part (one conversion and one
// multiply-add per group, then the row scale) is summed over groups in order.
//
// Packing: panels of 16 outputs; per 8 inputs (an octet) 64 bytes, byte 4j + d holding
// output j's weight for input 8o + d in its low nibble and for input 8o + 4 + d in its
// high nibble. `v & 15` is then exactly the vpdpbusd operand for inputs 8o..8o+3 and
// `v >> 4 & 15` the one for 8o+4..8o+7. group must be a multiple of 8; k is padded to a
// multiple of 8 with weight 0 (and activation 0, so padding adds nothing).
// Panels are stored in blocks of 4 (64 outputs), octet by octet: the 4 panels' 64 bytes
// of octet o side by side, so a tile of 4 panels reads one contiguous stream. A batch-1
// layer is a stream over its weights, and this machine's DRAM serves one stream faster
// than four 32 KB apart (docs/design.md, "int4 at batch 1"). The panel count is padded to
// a multiple of 4 with zero weights.
//
// Without VNNI, u8 x s8 pairs go through vpmaddubsw: |15 x -127| x 2 = 3810 fits int16,
// so this pairwise int16 sum cannot saturate (it could with full-range u8 activations;
// here the unsigned operand is the 4-bit weight).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/aligned_buffer.h"
#include "base/thread_pool.h"
#include "kernels/dispatch.h"
#include "kernels/gemm/gemm.h"

namespace lowp {

inline constexpr int kQ4DotOctet = 8;

struct PackedQ4DotWeights {
  int n = 0, k = 0, group = 0;
  bool has_zero_points = false;             // false: all 8 (symmetric)
  AlignedBuffer<std::uint8_t> data;         // [panel][padded_k / 8][64]
  // Per block of 4 panels, group by group: [block][group][4][16] (scale_index), 0 past n.
  AlignedBuffer<float> scales;
  AlignedBuffer<std::uint8_t> zero_points;  // the same layout, when has_zero_points

  static constexpr int kBlockPanels = 4;
  static constexpr std::size_t kOctetStride = kBlockPanels * 64;  // bytes from octet o to o + 1
  int panels() const { return (n + kGemmPanel - 1) / kGemmPanel; }
  int groups() const { return (k + group - 1) / group; }
  int padded_k() const { return (k + kQ4DotOctet - 1) / kQ4DotOctet * kQ4DotOctet; }
  std::size_t panel_bytes() const { return static_cast<std::size_t>(padded_k()) * kGemmPanel / 2; }
  // Where panel p's 16 scales (and zero points) of group 0 start; group g is
  // g * kScaleGroupStride further (kernels step by it, no division per group).
  static constexpr std::size_t kScaleGroupStride = kBlockPanels * kGemmPanel;
  std::size_t scale_index(int p) const {
    return (static_cast<std::size_t>(p / kBlockPanels) * groups() * kBlockPanels + p % kBlockPanels) * kGemmPanel;
  }
  // Octet 0 of panel p; octet o is kOctetStride * o bytes further.
  const std::uint8_t* panel_start(int p) const {
    return data.data() + static_cast<std::size_t>(p / kBlockPanels) * kBlockPanels * panel_bytes() +
           static_cast<std::size_t>(p % kBlockPanels) * 64;
  }
};

// u: [n][k] in [0, 15]; scales: [n][groups]; zero_points: [n][groups] in [0, 15] or null
// for symmetric (8). Throws lowp::Error on values out of range, group not a positive
// multiple of 8, or sizes < 1.
PackedQ4DotWeights pack_q4dot(const std::uint8_t* u, const float* scales,
                              const std::uint8_t* zero_points, int n, int k, int group);

// Activation rows quantized for the kernel: per row a scale, s8 values padded with zeros
// to padded_k, and the sum of the values of each group.
struct QuantizedRows {
  int m = 0, padded_k = 0, groups = 0;
  AlignedBuffer<std::int8_t> values;       // [m][padded_k]
  AlignedBuffer<float> scales;             // [m]
  AlignedBuffer<std::int32_t> group_sums;  // [m][groups]
  void resize(int rows, int padded_k, int groups);
};
// Quantizes rows [0, m) of a (k floats each, stride lda) for weights `w`. NaN becomes 0;
// +-Inf makes the row's scale infinite (the outputs then are NaN, never garbage).
void quantize_rows_for_q4dot(const float* a, int m, std::size_t lda, const PackedQ4DotWeights& w,
                             QuantizedRows& out);

struct Q4DotArgs {
  int m = 0;
  const QuantizedRows* a = nullptr;
  const PackedQ4DotWeights* w = nullptr;
  const float* bias = nullptr;
  ActivationParams act = Activation::none;
  float* c = nullptr;
  std::size_t ldc = 0;
  int row0 = 0;  // first row of `a` (a thread's slice)
  PanelRange panels;
};
using Q4DotFn = void (*)(const Q4DotArgs&);

std::span<const KernelEntry<Q4DotFn>> q4dot_kernels();
const char* q4dot_kernel_name();
// C = act(dequant(A) W^T + bias): quantizes A into `scratch`, then runs the kernel.
void q4dot_gemm(const float* a, int m, std::size_t lda, const PackedQ4DotWeights& w,
                const float* bias, ActivationParams act, float* c, std::size_t ldc,
                QuantizedRows& scratch, ThreadPool* pool = nullptr);
void q4dot_gemm_with(Q4DotFn fn, const float* a, int m, std::size_t lda,
                     const PackedQ4DotWeights& w, const float* bias, ActivationParams act, float* c,
                     std::size_t ldc, QuantizedRows& scratch, ThreadPool* pool = nullptr);

// ---- Reference: the specification, on plain [n][k] weights. ----
void q4dot_gemm_ref(int m, int n, int k, int group, const float* a, std::size_t lda,
                    const std::uint8_t* u, const float* scales, const std::uint8_t* zero_points,
                    const float* bias, ActivationParams act, float* c, std::size_t ldc);

// Variants (internal).
void q4dot_scalar(const Q4DotArgs& args);
void q4dot_avx2(const Q4DotArgs& args);
void q4dot_avx512(const Q4DotArgs& args);
void q4dot_avx512vnni(const Q4DotArgs& args);

}  // namespace lowp
