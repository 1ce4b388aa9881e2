// kernels/conv/depthwise_avx512.cc: 16 channels per zmm. For each output row and 16-channel
// block, the row is swept in groups of 4 output pixels whose windows lie inside the input
// width: four independent accumulators (one FMA chain per pixel, not one chain of KH x KW
// dependent FMAs per pixel) sharing each tap's weight load. Pixels near the left and right
// edges, and the channel tail, take the checked one-pixel path. Taps are summed in the
// same (kh, kw) order everywhere, so the result does not depend on which path ran.
#include <immintrin.h>

#include "kernels/activation_avx512.h"
#include "kernels/conv/conv2d.h"
#include "kernels/conv/depthwise.h"

namespace lowp {
namespace {

struct Row {
  const Conv2dShape& s;
  const DepthwiseArgs& args;
  int oh;
  int kh_begin, kh_end;  // taps whose input row exists
};

// One output pixel, any position, masked channels.
inline __m512 one_pixel(const Row& r, int ow, int c, __mmask16 mask) {
  const Conv2dShape& s = r.s;
  const int c_count = s.in_c;
  __m512 acc = _mm512_setzero_ps();
  for (int kh = r.kh_begin; kh < r.kh_end; ++kh) {
    int ih = r.oh * s.stride_h - s.pad_top + kh * s.dilation_h;
    for (int kw = 0; kw < s.kernel_w; ++kw) {
      int iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
      if (iw < 0 || iw >= s.in_w) continue;
      const float* in = r.args.input + (static_cast<std::size_t>(ih) * s.in_w + iw) * c_count + c;
      const float* w =
          r.args.weights + static_cast<std::size_t>(kh * s.kernel_w + kw) * c_count + c;
      acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, in), _mm512_maskz_loadu_ps(mask, w), acc);
    }
  }
  return acc;
}

inline void store(const Row& r, int ow, int c, __mmask16 mask, __m512 acc, __m512 bias) {
  float* out = r.args.output + (static_cast<std::size_t>(r.oh) * r.s.out_w() + ow) * r.s.in_c + c;
  _mm512_mask_storeu_ps(out, mask, activate16(_mm512_add_ps(acc, bias), r.args.act));
}

}  // namespace

void depthwise_avx512(const DepthwiseArgs& args) {
  const Conv2dShape& s = *args.shape;
  const int c_count = s.in_c, ow_count = s.out_w();
  // Output columns whose whole window is inside the input width.
  int ow_lo = 0;
  while (ow_lo < ow_count && ow_lo * s.stride_w - s.pad_left < 0) ++ow_lo;
  int ow_hi = ow_count;  // exclusive
  while (ow_hi > ow_lo &&
         (ow_hi - 1) * s.stride_w - s.pad_left + (s.kernel_w - 1) * s.dilation_w >= s.in_w) {
    --ow_hi;
  }
  const std::size_t pixel_step = static_cast<std::size_t>(s.stride_w) * c_count;
  for (int oh = args.row_begin; oh < args.row_end; ++oh) {
    Row r{s, args, oh, 0, s.kernel_h};
    while (r.kh_begin < s.kernel_h && oh * s.stride_h - s.pad_top + r.kh_begin * s.dilation_h < 0)
      ++r.kh_begin;
    while (r.kh_end > r.kh_begin &&
           oh * s.stride_h - s.pad_top + (r.kh_end - 1) * s.dilation_h >= s.in_h)
      --r.kh_end;
    // Channels innermost: a group of 4 pixels' windows (KH x (KW + 3) input pixels x all
    // channels) stays in L1 while every channel block passes over it.
    auto edge_pixel = [&](int ow) {
      for (int c = 0; c < c_count; c += 16) {
        int left = c_count - c;
        __mmask16 mask =
            left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1u);
        __m512 bias =
            args.bias != nullptr ? _mm512_maskz_loadu_ps(mask, args.bias + c) : _mm512_setzero_ps();
        store(r, ow, c, mask, one_pixel(r, ow, c, mask), bias);
      }
    };
    const int full = c_count / 16 * 16;
    int ow = 0;
    for (; ow < ow_lo; ++ow) edge_pixel(ow);
    for (; ow + 4 <= ow_hi; ow += 4) {
      for (int c = 0; c < full; c += 16) {
        __m512 bias = args.bias != nullptr ? _mm512_loadu_ps(args.bias + c) : _mm512_setzero_ps();
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int kh = r.kh_begin; kh < r.kh_end; ++kh) {
          int ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
          const float* in_row = args.input + static_cast<std::size_t>(ih) * s.in_w * c_count + c;
          const float* w_row =
              args.weights + static_cast<std::size_t>(kh * s.kernel_w) * c_count + c;
          for (int kw = 0; kw < s.kernel_w; ++kw) {
            int iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
            const float* in = in_row + static_cast<std::size_t>(iw) * c_count;
            __m512 w = _mm512_loadu_ps(w_row + static_cast<std::size_t>(kw) * c_count);
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(in), w, a0);
            a1 = _mm512_fmadd_ps(_mm512_loadu_ps(in + pixel_step), w, a1);
            a2 = _mm512_fmadd_ps(_mm512_loadu_ps(in + 2 * pixel_step), w, a2);
            a3 = _mm512_fmadd_ps(_mm512_loadu_ps(in + 3 * pixel_step), w, a3);
          }
        }
        const __mmask16 all = static_cast<__mmask16>(0xFFFF);
        store(r, ow, c, all, a0, bias);
        store(r, ow + 1, c, all, a1, bias);
        store(r, ow + 2, c, all, a2, bias);
        store(r, ow + 3, c, all, a3, bias);
      }
      if (full < c_count) {  // the channel tail, one pixel at a time
        __mmask16 mask = static_cast<__mmask16>((1u << (c_count - full)) - 1u);
        __m512 bias = args.bias != nullptr ? _mm512_maskz_loadu_ps(mask, args.bias + full)
                                           : _mm512_setzero_ps();
        for (int p = 0; p < 4; ++p)
          store(r, ow + p, full, mask, one_pixel(r, ow + p, full, mask), bias);
      }
    }
    for (; ow < ow_count; ++ow) edge_pixel(ow);
  }
}

}  // namespace lowp
