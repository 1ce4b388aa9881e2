// kernels/bf16dot/bf16dot.h: bf16 x bf16 dense layers with fp32 accumulation, the bf16
// precision's GEMM for large batches. With AVX512-BF16, vdpbf16ps multiplies pairs of bf16
// activations by pairs of bf16 weights and adds both products into an fp32 lane: twice the
// work of an fp32 FMA per instruction, and half the bytes.
//
//   c[i][j] = act(sum over pairs p of (a[2p+1] w[j][2p+1] + a[2p] w[j][2p]) + bias[j])
// Each product of two bf16 is exact in fp32; the sums are fp32 (odd element first, as the
// instruction's definition adds). vdpbf16ps also treats subnormal inputs and results as
// zero; paths without it widen bf16 to fp32 (a shift) and use FMA in the same order.
// The reference sums products in pair order; tests allow the K-derived fp32 tolerance.
//
// Packing: panels of 16 outputs, panel[p][k/2][16][2]: for each pair of inputs the two
// weights of each output sit in one 32-bit lane, the operand layout of vdpbf16ps. k is
// padded to even with a zero weight; activation rows are bf16 padded likewise (the
// padding activation must be finite: it meets a zero weight).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/aligned_buffer.h"
#include "base/thread_pool.h"
#include "kernels/dispatch.h"
#include "kernels/gemm/gemm.h"

namespace lowp {

struct PackedBf16DotWeights {
  int n = 0, k = 0;
  AlignedBuffer<std::uint16_t> data;  // [panel][padded_k / 2][16][2] bf16 bits

  int panels() const { return (n + kGemmPanel - 1) / kGemmPanel; }
  int padded_k() const { return (k + 1) / 2 * 2; }
  std::size_t panel_elements() const { return static_cast<std::size_t>(padded_k()) * kGemmPanel; }
};

// From plain [n][k] bf16 bits. Throws lowp::Error on sizes < 1.
PackedBf16DotWeights pack_bf16dot(const std::uint16_t* w_bits, int n, int k);

struct Bf16DotArgs {
  int m = 0;
  const std::uint16_t* a = nullptr;  // [m][lda] bf16 bits, lda >= padded_k, even
  std::size_t lda = 0;
  const PackedBf16DotWeights* w = nullptr;
  const float* bias = nullptr;
  ActivationParams act = Activation::none;
  float* c = nullptr;
  std::size_t ldc = 0;
  PanelRange panels;
};
using Bf16DotFn = void (*)(const Bf16DotArgs&);

std::span<const KernelEntry<Bf16DotFn>> bf16dot_kernels();
const char* bf16dot_kernel_name();
void bf16dot_gemm(const Bf16DotArgs& args, ThreadPool* pool = nullptr);
void bf16dot_gemm_with(Bf16DotFn fn, const Bf16DotArgs& args, ThreadPool* pool = nullptr);

// The same packing straight from fp32 matrices, rounding to bf16 (nearest even) on the
// way, into `out` (its buffer reused when the size allows). For operands that change at
// every call, as in training, where both the weights and the activations take the
// "weights" side in turn:
//   _nk: w is [n][k] (row j is output j's weights), ldw >= k: the 32-bit pairs of a row
//        are already the kernel's lanes, so packing is a transpose of 32-bit elements.
//   _kn: b is [k][n] (row p is input p for every output), ldb >= n: rows 2q and 2q+1
//        interleave into pair q.
void pack_bf16dot_from_f32_nk(const float* w, std::size_t ldw, int n, int k,
                              PackedBf16DotWeights& out);
void pack_bf16dot_from_f32_kn(const float* b, std::size_t ldb, int k, int n,
                              PackedBf16DotWeights& out);
// The _kn packing of a matrix already in bf16 bits.
void pack_bf16dot_from_bf16_kn(const std::uint16_t* b, std::size_t ldb, int k, int n,
                               PackedBf16DotWeights& out);

// fp32 activation rows to the padded bf16 rows the kernel reads (round to nearest even;
// the padding element is set to 0).
void bf16dot_convert_rows(const float* a, int m, std::size_t lda, int k, std::uint16_t* out,
                          std::size_t ldo);

// ---- Reference: the specification, on plain [n][k] bf16 weights and [m][k] activations. ----
void bf16dot_gemm_ref(int m, int n, int k, const std::uint16_t* a, std::size_t lda,
                      const std::uint16_t* w, const float* bias, ActivationParams act, float* c,
                      std::size_t ldc);

// ---- Implicit rows (the bf16 convolution without a gather): row i of A is `runs` runs
// of run_length bf16 values (even: pairs never straddle two runs), run j starting at
// rows[i] + j * run_stride; the product is bf16dot_gemm's on those rows laid end to end,
// summed in the same order (the same bits as the variant of the same instruction set). ----
struct Bf16ImplicitArgs {
  int m = 0;
  const std::uint16_t* const* rows = nullptr;
  int runs = 1;
  int run_length = 0;
  std::size_t run_stride = 0;
  const PackedBf16DotWeights* w = nullptr;  // k = runs * run_length
  const float* bias = nullptr;
  ActivationParams act = Activation::none;
  float* c = nullptr;
  std::size_t ldc = 0;
};
using Bf16ImplicitFn = void (*)(const Bf16ImplicitArgs&);
// AVX-512 only (with and without AVX512-BF16); empty below, where the convolution gathers.
std::span<const KernelEntry<Bf16ImplicitFn>> bf16dot_implicit_kernels();
void bf16dot_implicit_avx512bf16(const Bf16ImplicitArgs& args);
void bf16dot_implicit_avx512(const Bf16ImplicitArgs& args);

// Variants (internal).
void bf16dot_scalar(const Bf16DotArgs& args);
void bf16dot_avx2(const Bf16DotArgs& args);
void bf16dot_avx512(const Bf16DotArgs& args);
void bf16dot_avx512bf16(const Bf16DotArgs& args);

}  // namespace lowp
