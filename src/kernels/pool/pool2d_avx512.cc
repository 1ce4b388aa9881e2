// kernels/pool/pool2d_avx512.cc: 16 channels per register, masked at the channel tail. The average
// is a true division of the sum, as in the reference (a reciprocal multiply rounds differently).
#include <immintrin.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "kernels/pool/pool2d.h"

namespace lowp {

namespace {

// Max pooling without dilation as two passes per output row, both streaming: the largest
// of the window's input rows, element by element over the whole row (in_w x C contiguous
// floats, 16 at a time), then along it, the largest of each window's columns. A direct
// window walk loaded every input KH x KW times from scattered rows and waited on memory
// (SqueezeNet's three 3x3 pools took 0.43 ms against ORT's 0.12). Max is exact and, for
// values that are not NaN, does not depend on the order: the reference's bits.
void max_pool_rows(const Pool2dArgs& args) {
  const Conv2dShape& s = *args.shape;
  const int c = s.in_c, ow_count = s.out_w();
  const std::size_t row = static_cast<std::size_t>(s.in_w) * c;
  thread_local std::vector<float> rows_max;
  rows_max.resize(row);
  const __m512 lowest = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  const int tail = static_cast<int>(row % 16);
  const __mmask16 tail_mask = static_cast<__mmask16>((1u << tail) - 1u);
  const int c_tail = c % 16;
  const __mmask16 c_mask = c_tail == 0 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << c_tail) - 1u);
  for (int oh = args.row_begin; oh < args.row_end; ++oh) {
    const int ih0 = std::max(0, oh * s.stride_h - s.pad_top);
    const int ih1 = std::min(s.in_h, oh * s.stride_h - s.pad_top + s.kernel_h);
    float* v = rows_max.data();
    std::size_t x = 0;
    // Windows of 3 and 2 full rows (SqueezeNet's, ResNet's) unrolled, 4 vectors a step.
    const float* r0 = args.input + static_cast<std::size_t>(ih0) * row;
    if (ih1 - ih0 == 3 || ih1 - ih0 == 2) {
      const float* r1 = r0 + row;
      const float* r2 = ih1 - ih0 == 3 ? r1 + row : r1;
      for (; x + 64 <= row; x += 64) {
        for (std::size_t j = x; j < x + 64; j += 16) {
          __m512 m = _mm512_max_ps(_mm512_loadu_ps(r1 + j), _mm512_loadu_ps(r0 + j));
          _mm512_storeu_ps(v + j, _mm512_max_ps(_mm512_loadu_ps(r2 + j), m));
        }
      }
    }
    for (; x + 16 <= row; x += 16) {
      __m512 acc = lowest;
      for (int ih = ih0; ih < ih1; ++ih) {
        acc = _mm512_max_ps(_mm512_loadu_ps(args.input + static_cast<std::size_t>(ih) * row + x), acc);
      }
      _mm512_storeu_ps(v + x, acc);
    }
    if (tail != 0) {
      __m512 acc = lowest;
      for (int ih = ih0; ih < ih1; ++ih) {
        acc = _mm512_max_ps(_mm512_maskz_loadu_ps(tail_mask, args.input + static_cast<std::size_t>(ih) * row + x), acc);
      }
      _mm512_mask_storeu_ps(v + x, tail_mask, acc);
    }
    float* out_row = args.output + static_cast<std::size_t>(oh) * ow_count * c;
    for (int ow = 0; ow < ow_count; ++ow) {
      const int iw0 = std::max(0, ow * s.stride_w - s.pad_left);
      const int iw1 = std::min(s.in_w, ow * s.stride_w - s.pad_left + s.kernel_w);
      float* out = out_row + static_cast<std::size_t>(ow) * c;
      for (int ch = 0; ch < c; ch += 16) {
        const __mmask16 mask = c - ch >= 16 ? static_cast<__mmask16>(0xFFFF) : c_mask;
        __m512 acc = lowest;
        for (int iw = iw0; iw < iw1; ++iw) {
          acc = _mm512_max_ps(_mm512_maskz_loadu_ps(mask, v + static_cast<std::size_t>(iw) * c + ch), acc);
        }
        _mm512_mask_storeu_ps(out + ch, mask, acc);
      }
    }
  }
}

}  // namespace

void pool2d_avx512(const Pool2dArgs& args) {
  const Conv2dShape& s = *args.shape;
  const int c_count = s.in_c, ow_count = s.out_w();
  const bool is_max = args.kind == PoolKind::max;
  if (is_max && s.dilation_h == 1 && s.dilation_w == 1) {
    max_pool_rows(args);
    return;
  }
  for (int oh = args.row_begin; oh < args.row_end; ++oh) {
    for (int ow = 0; ow < ow_count; ++ow) {
      float* out = args.output + (static_cast<std::size_t>(oh) * ow_count + ow) * c_count;
      for (int c = 0; c < c_count; c += 16) {
        int left = c_count - c;
        __mmask16 mask =
            left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1u);
        __m512 acc = _mm512_set1_ps(is_max ? -std::numeric_limits<float>::infinity() : 0.0f);
        int count = 0;
        for (int kh = 0; kh < s.kernel_h; ++kh) {
          int ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
          if (ih < 0 || ih >= s.in_h) continue;
          for (int kw = 0; kw < s.kernel_w; ++kw) {
            int iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
            if (iw < 0 || iw >= s.in_w) continue;
            __m512 x = _mm512_maskz_loadu_ps(
                mask, args.input + (static_cast<std::size_t>(ih) * s.in_w + iw) * c_count + c);
            // max(x, acc): the reference's std::max(acc, x) keeps acc unless x is larger.
            acc = is_max ? _mm512_max_ps(x, acc) : _mm512_add_ps(acc, x);
            ++count;
          }
        }
        if (!is_max) {
          int divisor = args.count_include_pad ? s.kernel_h * s.kernel_w : count;
          acc = divisor > 0 ? _mm512_div_ps(acc, _mm512_set1_ps(static_cast<float>(divisor)))
                            : _mm512_set1_ps(0.0f);
        }
        _mm512_mask_storeu_ps(out + c, mask, acc);
      }
    }
  }
}

}  // namespace lowp
