// kernels/gemm/gemm.h: dense layers, C[m, n] = act(A[m, k] * W[n, k]^T + bias[n]), with the
// weights stored as fp32, fp16, bf16 or group-quantized int4, and fp32 activations.
//
// W is given as PyTorch and ONNX Gemm(transB=1) hold a Linear layer: one row of k inputs
// per output. It is packed once into panels of 16 outputs, panel[p][k][16], the outputs
// padded with zeros to a multiple of 16: at every k the micro-kernel loads the 16 weights
// of one panel with one vector load and multiplies them by one broadcast activation. One
// layout serves every ISA path (AVX-512 reads a panel row as one zmm, AVX2 as two ymm),
// so weights are packed once whatever kernel ends up running them.
//
// int4 panels hold two outputs per byte (output 2j in the low nibble of byte j of the
// k-row), with one fp32 scale per output and group of `group_size` inputs along k
// (symmetric, no zero point), the last group shorter when group_size does not divide k;
// the kernel dequantizes on the fly and applies each group's scale to that group's partial
// sum.
//
// Accumulation is fp32 in k order, one accumulator per output, so the result of a row
// never depends on tiling or on the thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/aligned_buffer.h"
#include "base/thread_pool.h"
#include "kernels/activation.h"
#include "kernels/dispatch.h"

namespace lowp {

inline constexpr int kGemmPanel = 16;  // outputs per packed panel


// The panels (groups of 16 outputs) a call computes: all by default. A driver gives each
// thread its own range when there are too few rows to split (batch 1), which changes no
// bit of any output: each output is computed the same way whichever range holds it.
struct PanelRange {
  int begin = 0;
  int end = -1;  // -1: up to the last panel
  int end_or(int all) const { return end < 0 ? all : end; }
};

enum class GemmWeights { f32, f16, bf16, q4 };
const char* gemm_weights_name(GemmWeights type);

// Weights packed for the float-output GEMM kernels. `data` holds panels of `element`
// type (float, fp16 bits, bf16 bits, or int4 bytes).
struct PackedGemmWeights {
  GemmWeights type = GemmWeights::f32;
  int n = 0;                          // outputs
  int k = 0;                          // inputs
  int group_size = 0;                 // q4 only
  AlignedBuffer<std::byte> data;      // panels
  AlignedBuffer<float> group_scales;  // q4 only: [panel][group][16]

  int panels() const { return (n + kGemmPanel - 1) / kGemmPanel; }
  int groups() const { return group_size > 0 ? (k + group_size - 1) / group_size : 0; }
  // Bytes of one panel's 16 weights of one input, and of one panel in `data`.
  std::size_t k_bytes() const {
    return type == GemmWeights::f32 ? kGemmPanel * 4 : type == GemmWeights::q4 ? kGemmPanel / 2 : kGemmPanel * 2;
  }
  std::size_t panel_bytes() const;
  // Large fp16 matrices (1 MiB and more, weights streamed from memory) store their panels
  // in blocks of 4, k by k (the 4 panels' 32 bytes of input kk side by side), so that a
  // batch-1 tile of 4 panels reads one stream (docs/design.md, "fp16 at batch 1"); the
  // panel count is then padded to a multiple of 4. Everything else: one panel after the
  // other (small fp16 layers ran ~5% slower blocked, from cache).
  int blocked_panels = 1;  // 1, or 4 (the only block size)
  // Bytes from input kk to kk + 1 within a panel.
  std::size_t k_stride() const { return k_bytes() * static_cast<std::size_t>(blocked_panels); }
  // Input 0 of panel p (no division: tiles call this for every panel they read).
  const std::byte* panel_start(int p) const {
    if (blocked_panels == 1) return data.data() + static_cast<std::size_t>(p) * panel_bytes();
    return data.data() + static_cast<std::size_t>(p >> 2) * 4 * panel_bytes() + static_cast<std::size_t>(p & 3) * k_bytes();
  }
};

// Packing from the plain [n][k] row-major layouts. Throws lowp::Error on sizes < 1.
PackedGemmWeights pack_gemm_f32(const float* w, int n, int k);
// The same into `out`, keeping its buffer when it already has this n and k (a training
// step repacks its layers' weights every call: no allocation after the first).
void pack_gemm_f32(const float* w, int n, int k, PackedGemmWeights& out);
// The same with the inputs reordered: input kk of row r is w[r * k + k_order[kk]], k_order
// a permutation of [0, k) (a convolution's [c][kh][kw] weights taken in (kh, kw, c) order).
PackedGemmWeights pack_gemm_f32_reordered(const float* w, int n, int k, std::span<const std::uint32_t> k_order);
// From [k][n] storage (a MatMul's B, row stride ldb): panel row k is a plain copy of 16
// consecutive floats of B's row k, so this is cheap enough to run per call. `out` keeps
// its buffer when it already has this n and k: no allocation on repeated calls.
void pack_gemm_f32_kn(const float* b, std::size_t ldb, int k, int n, PackedGemmWeights& out);
PackedGemmWeights pack_gemm_f16(const std::uint16_t* w_bits, int n, int k);
PackedGemmWeights pack_gemm_bf16(const std::uint16_t* w_bits, int n, int k);
// q: int4 values in [-8, 7], [n][k]; scales: [n][groups].
PackedGemmWeights pack_gemm_q4(const std::int8_t* q, const float* scales, int n, int k,
                               int group_size);

struct GemmArgs {
  int m = 0;
  const float* a = nullptr;  // [m][lda]
  std::size_t lda = 0;
  const PackedGemmWeights* w = nullptr;
  const float* bias = nullptr;  // [n] or null
  ActivationParams act = Activation::none;
  float* c = nullptr;  // [m][ldc]
  std::size_t ldc = 0;
  PanelRange panels;
};
using GemmFn = void (*)(const GemmArgs&);

// Best-first lists, one per weight type.
std::span<const KernelEntry<GemmFn>> gemm_kernels(GemmWeights type);

// Runs the kernel chosen for this CPU (and LOWP_ISA), splitting rows over the pool when one
// is given. Throws lowp::Error on mismatched sizes.
void gemm(const GemmArgs& args, ThreadPool* pool = nullptr);
// The same with an explicit kernel (tests, benchmarks).
void gemm_with(GemmFn fn, const GemmArgs& args, ThreadPool* pool = nullptr);
const char* gemm_kernel_name(GemmWeights type);

// ---- References: the specification, on plain [n][k] weights. ----
void gemm_f32_ref(int m, int n, int k, const float* a, std::size_t lda, const float* w,
                  const float* bias, ActivationParams act, float* c, std::size_t ldc);
void gemm_f16_ref(int m, int n, int k, const float* a, std::size_t lda, const std::uint16_t* w_bits,
                  const float* bias, ActivationParams act, float* c, std::size_t ldc);
void gemm_bf16_ref(int m, int n, int k, const float* a, std::size_t lda,
                   const std::uint16_t* w_bits, const float* bias, ActivationParams act, float* c,
                   std::size_t ldc);
// out = sum over groups g of scale[n][g] * (sum over k in g of a[k] * q[n][k]).
void gemm_q4_ref(int m, int n, int k, int group_size, const float* a, std::size_t lda,
                 const std::int8_t* q, const float* scales, const float* bias, ActivationParams act,
                 float* c, std::size_t ldc);

}  // namespace lowp
