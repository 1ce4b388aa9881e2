// kernels/qgemm/qgemm.h: int8 dense layers. u8 activations (with a zero point) times s8
// weights (symmetric, per output channel), accumulated exactly in int32, then one fused
// epilogue: add the column offset, scale to real or to the next layer's quantized domain,
// optional ReLU, and store fp32 or requantized u8.
//
//   acc[i][j]  = sum_k a[i][k] * w[j][k]                       (int32, exact)
//   v          = float(acc[i][j] + offset[j]) * scale[j]       (one fp32 rounding each)
//   offset[j]  = bias_q[j] - a_zero_point * sum_k w[j][k]      (precomputed, exact)
//   relu:  v = max(v, 0)
//   f32 out: c = v;   u8 out: c = clamp(v, -zp, 255 - zp) rounded half to even, + zp
// Every path computes exactly this, so all ISAs agree with the reference bit for bit.
//
// Weights are packed as panel[p][k/4][16][4]: for each group of 4 inputs, the 4 weights
// of each of 16 outputs sit together, the operand layout of vpdpbusd (AVX512-VNNI), which
// multiplies 4 u8 activations by 4 s8 weights and adds the 4 products to one int32 lane.
// k is padded to a multiple of 4 with zero weights, so activation rows must be readable up
// to padded_k() bytes (whatever those extra bytes hold, they meet zero weights).
//
// Without VNNI the u8 x s8 products are widened to int16 and summed in pairs by vpmaddwd
// into int32: |255 x -128| x 2 = 65280 fits int32, so nothing saturates. vpmaddubsw, the
// usual AVX2 shortcut, would add pairs into int16, and 255 x 127 x 2 = 64770 overflows it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/aligned_buffer.h"
#include "base/thread_pool.h"
#include "kernels/dispatch.h"
#include "kernels/gemm/gemm.h"

namespace lowp {

inline constexpr int kQGemmDepth = 4;  // inputs per 32-bit lane

struct PackedQGemmWeights {
  int n = 0;
  int k = 0;
  AlignedBuffer<std::int8_t> data;          // [panel][padded_k / 4][16][4]
  AlignedBuffer<std::int32_t> column_sums;  // [panels * 16], zero past n

  int panels() const { return (n + kGemmPanel - 1) / kGemmPanel; }
  int padded_k() const { return (k + kQGemmDepth - 1) / kQGemmDepth * kQGemmDepth; }
  std::size_t panel_bytes() const { return static_cast<std::size_t>(padded_k()) * kGemmPanel; }
};

// From plain [n][k] s8 weights. Throws lowp::Error on sizes < 1.
PackedQGemmWeights pack_qgemm(const std::int8_t* w, int n, int k);

// offset[j] = bias_q[j] - a_zero_point * column_sum[j], padded to panels * 16 entries.
// Throws lowp::Error if a value leaves int32 (k beyond ~66,000 with extreme values).
AlignedBuffer<std::int32_t> qgemm_column_offsets(const PackedQGemmWeights& w,
                                                 std::int32_t a_zero_point,
                                                 const std::int32_t* bias_q);

enum class QGemmOutput { f32, u8 };

struct QGemmArgs {
  int m = 0;
  const std::uint8_t* a = nullptr;  // [m][lda], lda >= padded_k
  std::size_t lda = 0;
  const PackedQGemmWeights* w = nullptr;
  const std::int32_t* offset = nullptr;  // [panels * 16]
  const float* scale = nullptr;          // [panels * 16]
  ActivationParams act = Activation::none;
  QGemmOutput output = QGemmOutput::f32;
  std::int32_t out_zero_point = 0;  // u8 output only
  // Dynamic quantization: each row's value is also multiplied by row_scales[row] (its
  // activation scale) and bias_f32[n] added, before the activation. Null: skipped.
  const float* row_scales = nullptr;  // [m]
  const float* bias_f32 = nullptr;    // [n]
  float* c_f32 = nullptr;
  std::uint8_t* c_u8 = nullptr;
  std::size_t ldc = 0;
  PanelRange panels;
  // Implicit rows (the int8 convolution without a gather), when `rows` is set: a and lda
  // are unused, and row i is `runs` runs of run_length bytes (a multiple of 4, so no quad
  // straddles two runs), run j at rows[i] + j * run_stride; k = runs * run_length. Only
  // the AVX-512 kernels read them (qgemm_reads_implicit_rows()).
  const std::uint8_t* const* rows = nullptr;
  int runs = 1;
  int run_length = 0;
  std::size_t run_stride = 0;
};
using QGemmFn = void (*)(const QGemmArgs&);
// Whether the kernel qgemm() runs at the active ISA level reads implicit rows.
bool qgemm_reads_implicit_rows();

std::span<const KernelEntry<QGemmFn>> qgemm_kernels();
void qgemm(const QGemmArgs& args, ThreadPool* pool = nullptr);
void qgemm_with(QGemmFn fn, const QGemmArgs& args, ThreadPool* pool = nullptr);
const char* qgemm_kernel_name();

// The epilogue of one element, shared by the reference and the scalar kernel:
//   v = float(acc + offset) * scale; v *= row_scale if given; v += bias if given; act(v).
float qgemm_dequantize(std::int32_t acc_plus_offset, float scale, ActivationParams act,
                       const float* row_scale = nullptr, const float* bias = nullptr);
std::uint8_t qgemm_requantize(float v, std::int32_t zero_point);

// Dynamic quantization of the activations (the int8-dynamic path for MLPs and
// transformers): each fp32 row is quantized on the fly, symmetric with its own scale
// sa = symmetric_scale(max|a|, 127) (kernels/quantize: 1 for a zero row), and stored as u8 with zero point 128, so that the
// s8 values ride the u8 x s8 instruction; then
//   y[n] = act(float(sum_k (qa - 128) w[n][k]) * weight_scale[n] * sa + bias[n]).
struct QGemmDynamicScratch {
  AlignedBuffer<std::uint8_t> rows;  // [m][padded_k]
  AlignedBuffer<float> row_scales;   // [m]
};
// offsets: qgemm_column_offsets(w, 128, nullptr); weight_scales: [panels * 16].
void qgemm_dynamic(const float* a, int m, std::size_t lda, const PackedQGemmWeights& w,
                   const std::int32_t* offsets, const float* weight_scales, const float* bias,
                   ActivationParams act, float* c, std::size_t ldc, QGemmDynamicScratch& scratch,
                   ThreadPool* pool = nullptr);
void qgemm_dynamic_ref(int m, int n, int k, const float* a, std::size_t lda, const std::int8_t* w,
                       const float* weight_scales, const float* bias, ActivationParams act,
                       float* c, std::size_t ldc);

// ---- Reference: the specification, on plain [n][k] weights. ----
void qgemm_ref(int m, int n, int k, const std::uint8_t* a, std::size_t lda,
               std::int32_t a_zero_point, const std::int8_t* w, const std::int32_t* bias_q,
               const float* scale, ActivationParams act, QGemmOutput output,
               std::int32_t out_zero_point, float* c_f32, std::uint8_t* c_u8, std::size_t ldc);

}  // namespace lowp
