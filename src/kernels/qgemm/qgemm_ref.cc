// kernels/qgemm/qgemm_ref.cc: the reference int8 dense layer (the specification), the
// shared epilogue, and weight packing.
#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "kernels/qgemm/qgemm.h"
#include "kernels/quantize/quantize.h"

namespace lowp {

float qgemm_dequantize(std::int32_t acc_plus_offset, float scale, ActivationParams act,
                       const float* row_scale, const float* bias) {
  float v = static_cast<float>(acc_plus_offset) * scale;
  if (row_scale != nullptr) v *= *row_scale;
  if (bias != nullptr) v += *bias;
  return act(v);
}

void qgemm_dynamic_ref(int m, int n, int k, const float* a, std::size_t lda, const std::int8_t* w,
                       const float* weight_scales, const float* bias, ActivationParams act,
                       float* c, std::size_t ldc) {
  for (int i = 0; i < m; ++i) {
    const float* row = a + static_cast<std::size_t>(i) * lda;
    float sa = symmetric_scale(absmax_ref(row, static_cast<std::size_t>(k)), 127);
    for (int j = 0; j < n; ++j) {
      std::int64_t acc = 0;
      for (int kk = 0; kk < k; ++kk) {
        acc += (quantize_value(row[kk], sa, 128, 0, 255) - 128) *
               w[static_cast<std::size_t>(j) * k + kk];
      }
      c[static_cast<std::size_t>(i) * ldc + j] =
          qgemm_dequantize(static_cast<std::int32_t>(acc), weight_scales[j], act, &sa,
                           bias != nullptr ? bias + j : nullptr);
    }
  }
}

std::uint8_t qgemm_requantize(float v, std::int32_t zero_point) {
  float lo = static_cast<float>(-zero_point), hi = static_cast<float>(255 - zero_point);
  v = std::min(std::max(v, lo), hi);
  return static_cast<std::uint8_t>(static_cast<std::int32_t>(std::nearbyint(v)) + zero_point);
}

void qgemm_ref(int m, int n, int k, const std::uint8_t* a, std::size_t lda,
               std::int32_t a_zero_point, const std::int8_t* w, const std::int32_t* bias_q,
               const float* scale, ActivationParams act, QGemmOutput output,
               std::int32_t out_zero_point, float* c_f32, std::uint8_t* c_u8, std::size_t ldc) {
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      std::int64_t acc = 0;
      for (int kk = 0; kk < k; ++kk) {
        acc += (static_cast<std::int32_t>(a[i * lda + kk]) - a_zero_point) *
               static_cast<std::int32_t>(w[static_cast<std::size_t>(j) * k + kk]);
      }
      if (bias_q != nullptr) acc += bias_q[j];
      float v = qgemm_dequantize(static_cast<std::int32_t>(acc), scale[j], act);
      if (output == QGemmOutput::f32) {
        c_f32[i * ldc + j] = v;
      } else {
        c_u8[i * ldc + j] = qgemm_requantize(v, out_zero_point);
      }
    }
  }
}

PackedQGemmWeights pack_qgemm(const std::int8_t* w, int n, int k) {
  LOWP_CHECK(n >= 1 && k >= 1, "int8 gemm weights: n = {} and k = {} must both be at least 1", n,
             k);
  PackedQGemmWeights packed;
  packed.n = n;
  packed.k = k;
  std::size_t panels = static_cast<std::size_t>(packed.panels());
  packed.data = AlignedBuffer<std::int8_t>(checked_mul(panels, packed.panel_bytes(), "int8 gemm"));
  packed.column_sums = AlignedBuffer<std::int32_t>(panels * kGemmPanel);
  for (int j = 0; j < n; ++j) {
    std::size_t panel = static_cast<std::size_t>(j / kGemmPanel);
    std::size_t lane = static_cast<std::size_t>(j % kGemmPanel);
    std::int32_t sum = 0;
    for (int kk = 0; kk < k; ++kk) {
      std::int8_t v = w[static_cast<std::size_t>(j) * k + kk];
      sum += v;
      std::size_t quad = static_cast<std::size_t>(kk / kQGemmDepth);
      packed.data[panel * packed.panel_bytes() + (quad * kGemmPanel + lane) * kQGemmDepth +
                  static_cast<std::size_t>(kk % kQGemmDepth)] = v;
    }
    packed.column_sums[static_cast<std::size_t>(j)] = sum;
  }
  return packed;
}

AlignedBuffer<std::int32_t> qgemm_column_offsets(const PackedQGemmWeights& w,
                                                 std::int32_t a_zero_point,
                                                 const std::int32_t* bias_q) {
  AlignedBuffer<std::int32_t> offsets(w.column_sums.size());
  for (int j = 0; j < w.n; ++j) {
    std::int64_t v =
        (bias_q != nullptr ? bias_q[j] : 0) -
        static_cast<std::int64_t>(a_zero_point) * w.column_sums[static_cast<std::size_t>(j)];
    // The accumulator plus offset must stay in int32 for the largest possible |acc|.
    std::int64_t max_acc = static_cast<std::int64_t>(255) * 128 * w.k;
    LOWP_CHECK(v + max_acc <= INT32_MAX && v - max_acc >= INT32_MIN,
               "int8 gemm: output {} can leave int32 (k = {}, offset {})", j, w.k, v);
    offsets[static_cast<std::size_t>(j)] = static_cast<std::int32_t>(v);
  }
  return offsets;
}

}  // namespace lowp
