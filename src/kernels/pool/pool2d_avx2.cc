// kernels/pool/pool2d_avx2.cc: 8 channels per register, masked at the channel tail. The average
// is a true division of the sum, as in the reference (a reciprocal multiply rounds differently).
#include <immintrin.h>

#include <limits>

#include "kernels/pool/pool2d.h"

namespace lowp {

void pool2d_avx2(const Pool2dArgs& args) {
  const Conv2dShape& s = *args.shape;
  const int c_count = s.in_c, ow_count = s.out_w();
  const bool is_max = args.kind == PoolKind::max;
  for (int oh = args.row_begin; oh < args.row_end; ++oh) {
    for (int ow = 0; ow < ow_count; ++ow) {
      float* out = args.output + (static_cast<std::size_t>(oh) * ow_count + ow) * c_count;
      for (int c = 0; c < c_count; c += 8) {
        __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(c_count - c),
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256 acc = _mm256_set1_ps(is_max ? -std::numeric_limits<float>::infinity() : 0.0f);
        int count = 0;
        for (int kh = 0; kh < s.kernel_h; ++kh) {
          int ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
          if (ih < 0 || ih >= s.in_h) continue;
          for (int kw = 0; kw < s.kernel_w; ++kw) {
            int iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
            if (iw < 0 || iw >= s.in_w) continue;
            __m256 x = _mm256_maskload_ps(
                args.input + (static_cast<std::size_t>(ih) * s.in_w + iw) * c_count + c, mask);
            // max(x, acc): the reference's std::max(acc, x) keeps acc unless x is larger.
            acc = is_max ? _mm256_max_ps(x, acc) : _mm256_add_ps(acc, x);
            ++count;
          }
        }
        if (!is_max) {
          int divisor = args.count_include_pad ? s.kernel_h * s.kernel_w : count;
          acc = divisor > 0 ? _mm256_div_ps(acc, _mm256_set1_ps(static_cast<float>(divisor)))
                            : _mm256_set1_ps(0.0f);
        }
        _mm256_maskstore_ps(out + c, mask, acc);
      }
    }
  }
}

}  // namespace lowp
