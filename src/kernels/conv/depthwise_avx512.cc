// kernels/conv/depthwise_avx512.cc: 16 channels per zmm.
//
// 3x3 and 5x5 kernels at stride 1 or 2 without horizontal dilation (MobileNet's): for
// each output row and 16-channel block, the block's weights are loaded into registers
// once, and the row is swept in tiles of 8 output pixels (8 independent FMA chains),
// each input column loaded once per kernel row and shared by the pixels whose windows
// hold it; the edge pixels skip the taps outside the input. Other shapes: groups of 4
// output pixels whose windows lie inside the input width, with a checked one-pixel path
// near the edges and for the channel tail.
//
// Taps are summed in the same (kh, kw) order everywhere, so the result does not depend
// on which path ran. Measured against the 4-pixel path alone, 1 thread, Zen 5 (CPU time,
// MobileNetV2 layers): 112x112x32 0.212 -> 0.104 ms, 56x56x144 0.220 -> 0.090 ms,
// 14x14x384 0.043 -> 0.019 ms; the model's depthwise layers 1.46 -> 0.79 ms.
#include <immintrin.h>

#include <algorithm>

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
  float* out;            // output pixel (oh, 0)
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
  float* out = r.out + static_cast<std::size_t>(ow) * r.s.in_c + c;
  _mm512_mask_storeu_ps(out, mask, activate16(_mm512_add_ps(acc, bias), r.args.act));
}

// One block of 16 channels (the tail masked) of a KH x KW kernel at horizontal stride S,
// dilation 1: its weights and bias, in registers for a whole output row.
template <int KH, int KW>
struct ChannelBlock {
  int c;
  __mmask16 mask;
  __m512 w[KH][KW];
  __m512 bias;
};

// T adjacent output pixels of one channel block: T independent FMA chains. Kernel rows
// outside the input are skipped (r.kh_begin, r.kh_end); with Edge (T = 1 only), so are
// the taps outside the input width, else every window lies inside it. Each input column
// of a kernel row is loaded once, by a pointer stepping one pixel, and feeds every pixel
// whose window holds it (3x3 stride 1: T + 2 loads serve 3 T FMAs). Each pixel sums its
// taps in (kh, kw) order, as every other path does.
template <int KH, int KW, int S, int T, bool Edge>
inline void tile(const Row& r, const ChannelBlock<KH, KW>& b, int ow) {
  static_assert(!Edge || T == 1);
  constexpr int kColumns = S * (T - 1) + KW;
  const Conv2dShape& s = r.s;
  const std::size_t pixel = static_cast<std::size_t>(s.in_c);
  const int iw0 = ow * S - s.pad_left;
  const int ih0 = r.oh * s.stride_h - s.pad_top;
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
#pragma GCC unroll 8
  for (int kh = 0; kh < KH; ++kh) {
    if (kh < r.kh_begin || kh >= r.kh_end) continue;
    const float* in_row =
        r.args.input + static_cast<std::size_t>(ih0 + kh * s.dilation_h) * s.in_w * pixel + b.c;
    if constexpr (Edge) {
#pragma GCC unroll 8
      for (int kw = 0; kw < KW; ++kw) {
        if (iw0 + kw < 0 || iw0 + kw >= s.in_w) continue;
        __m512 x =
            _mm512_maskz_loadu_ps(b.mask, in_row + static_cast<std::size_t>(iw0 + kw) * pixel);
        acc[0] = _mm512_fmadd_ps(x, b.w[kh][kw], acc[0]);
      }
    } else {
      const float* q = in_row + static_cast<std::size_t>(iw0) * pixel;
#pragma GCC unroll 64
      for (int j = 0; j < kColumns; ++j) {
        const __m512 x = _mm512_maskz_loadu_ps(b.mask, q);
        q += pixel;
#pragma GCC unroll 16
        for (int t = 0; t < T; ++t) {
          const int kw = j - S * t;
          if (kw >= 0 && kw < KW) acc[t] = _mm512_fmadd_ps(x, b.w[kh][kw], acc[t]);
        }
      }
    }
  }
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t) store(r, ow + t, b.c, b.mask, acc[t], b.bias);
}

// One output row of a KH x KW kernel at stride S, channel block by channel block (the
// block's weights stay in registers; its input is read as three strided streams): the
// edge pixels one by one, the interior in tiles of 8 and one smaller tile.
template <int KH, int KW, int S>
void row_kxk(const Row& r, int ow_lo, int ow_hi) {
  const Conv2dShape& s = r.s;
  const int ow_count = s.out_w(), c_count = s.in_c;
  const std::size_t pixel = static_cast<std::size_t>(c_count);
  ow_hi = std::max(ow_hi, ow_lo);
  for (int c = 0; c < c_count; c += 16) {
    ChannelBlock<KH, KW> b;
    b.c = c;
    const int left = c_count - c;
    b.mask =
        left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1u);
    for (int kh = 0; kh < KH; ++kh)
      for (int kw = 0; kw < KW; ++kw)
        b.w[kh][kw] = _mm512_maskz_loadu_ps(
            b.mask, r.args.weights + static_cast<std::size_t>(kh * KW + kw) * pixel + c);
    b.bias = r.args.bias != nullptr ? _mm512_maskz_loadu_ps(b.mask, r.args.bias + c)
                                    : _mm512_setzero_ps();
    int ow = 0;
    for (; ow < ow_lo; ++ow) tile<KH, KW, S, 1, true>(r, b, ow);
    for (; ow + 8 <= ow_hi; ow += 8) tile<KH, KW, S, 8, false>(r, b, ow);
    switch (ow_hi - ow) {
      case 7:
        tile<KH, KW, S, 7, false>(r, b, ow);
        break;
      case 6:
        tile<KH, KW, S, 6, false>(r, b, ow);
        break;
      case 5:
        tile<KH, KW, S, 5, false>(r, b, ow);
        break;
      case 4:
        tile<KH, KW, S, 4, false>(r, b, ow);
        break;
      case 3:
        tile<KH, KW, S, 3, false>(r, b, ow);
        break;
      case 2:
        tile<KH, KW, S, 2, false>(r, b, ow);
        break;
      case 1:
        tile<KH, KW, S, 1, false>(r, b, ow);
        break;
      default:
        break;
    }
    for (ow = ow_hi; ow < ow_count; ++ow) tile<KH, KW, S, 1, true>(r, b, ow);
  }
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
    Row r{s, args,       oh,
          0, s.kernel_h, args.output + static_cast<std::size_t>(oh) * ow_count * c_count};
    while (r.kh_begin < s.kernel_h && oh * s.stride_h - s.pad_top + r.kh_begin * s.dilation_h < 0)
      ++r.kh_begin;
    while (r.kh_end > r.kh_begin &&
           oh * s.stride_h - s.pad_top + (r.kh_end - 1) * s.dilation_h >= s.in_h)
      --r.kh_end;
    if (s.dilation_w == 1 && s.kernel_h == 3 && s.kernel_w == 3 && s.stride_w <= 2) {
      if (s.stride_w == 1) {
        row_kxk<3, 3, 1>(r, ow_lo, ow_hi);
      } else {
        row_kxk<3, 3, 2>(r, ow_lo, ow_hi);
      }
      continue;
    }
    if (s.dilation_w == 1 && s.kernel_h == 5 && s.kernel_w == 5 && s.stride_w <= 2) {
      if (s.stride_w == 1) {
        row_kxk<5, 5, 1>(r, ow_lo, ow_hi);
      } else {
        row_kxk<5, 5, 2>(r, ow_lo, ow_hi);
      }
      continue;
    }
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
