// kernels/conv/depthwise_avx2.cc: 8 channels per ymm, masked at the channel tail.
#include <immintrin.h>

#include "kernels/activation_avx2.h"

#include "kernels/conv/conv2d.h"
#include "kernels/conv/depthwise.h"

namespace lowp {

void depthwise_avx2(const DepthwiseArgs& args) {
  const Conv2dShape& s = *args.shape;
  const int c_count = s.in_c, ow_count = s.out_w();
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (int oh = args.row_begin; oh < args.row_end; ++oh) {
    for (int ow = 0; ow < ow_count; ++ow) {
      float* out = args.output + (static_cast<std::size_t>(oh) * ow_count + ow) * c_count;
      for (int c = 0; c < c_count; c += 8) {
        __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(c_count - c), lane);
        __m256 acc = _mm256_setzero_ps();
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
            acc = _mm256_fmadd_ps(_mm256_maskload_ps(in, mask), _mm256_maskload_ps(w, mask), acc);
          }
        }
        __m256 bias =
            args.bias != nullptr ? _mm256_maskload_ps(args.bias + c, mask) : _mm256_setzero_ps();
        __m256 v = _mm256_add_ps(acc, bias);
        v = activate8(v, args.act);
        _mm256_maskstore_ps(out + c, mask, v);
      }
    }
  }
}

}  // namespace lowp
