// kernels/conv/depthwise_avx512.cc: 16 channels per zmm, masked at the channel tail.
#include <immintrin.h>

#include "kernels/activation_avx512.h"

#include "kernels/conv/conv2d.h"
#include "kernels/conv/depthwise.h"

namespace lowp {

void depthwise_avx512(const DepthwiseArgs& args) {
  const Conv2dShape& s = *args.shape;
  const int c_count = s.in_c, ow_count = s.out_w();
  for (int oh = args.row_begin; oh < args.row_end; ++oh) {
    for (int ow = 0; ow < ow_count; ++ow) {
      float* out = args.output + (static_cast<std::size_t>(oh) * ow_count + ow) * c_count;
      for (int c = 0; c < c_count; c += 16) {
        int left = c_count - c;
        __mmask16 mask =
            left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1u);
        __m512 acc = _mm512_setzero_ps();
        for (int kh = 0; kh < s.kernel_h; ++kh) {
          int ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
          if (ih < 0 || ih >= s.in_h) continue;
          for (int kw = 0; kw < s.kernel_w; ++kw) {
            int iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
            if (iw < 0 || iw >= s.in_w) continue;
            const float* in =
                args.input + (static_cast<std::size_t>(ih) * s.in_w + iw) * c_count + c;
            const float* w =
                args.weights + static_cast<std::size_t>(kh * s.kernel_w + kw) * c_count + c;
            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, in), _mm512_maskz_loadu_ps(mask, w),
                                  acc);
          }
        }
        __m512 bias =
            args.bias != nullptr ? _mm512_maskz_loadu_ps(mask, args.bias + c) : _mm512_setzero_ps();
        __m512 v = _mm512_add_ps(acc, bias);
        v = activate16(v, args.act);
        _mm512_mask_storeu_ps(out + c, mask, v);
      }
    }
  }
}

}  // namespace lowp
