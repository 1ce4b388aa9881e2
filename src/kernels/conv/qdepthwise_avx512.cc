// kernels/conv/qdepthwise_avx512.cc: 16 channels per zmm: u8 inputs and int16 weights
// widened to int32, exact multiply-adds (vpmulld), the int8 GEMM's epilogue on the sums.
#include <immintrin.h>

#include "kernels/activation_avx512.h"
#include "kernels/conv/conv2d.h"
#include "kernels/conv/qdepthwise.h"

namespace lowp {

void qdepthwise_avx512(const QDepthwiseArgs& args) {
  const Conv2dShape& s = *args.shape;
  const int c_count = s.in_c, ow_count = s.out_w();
  const __m512i zp_in = _mm512_set1_epi32(args.input_zero_point);
  const __m512 lo = _mm512_set1_ps(static_cast<float>(-args.output_zero_point));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(255 - args.output_zero_point));
  const __m512i zp_out = _mm512_set1_epi32(args.output_zero_point);
  for (int oh = args.row_begin; oh < args.row_end; ++oh) {
    for (int ow = 0; ow < ow_count; ++ow) {
      std::size_t at = (static_cast<std::size_t>(oh) * ow_count + ow) * c_count;
      for (int c = 0; c < c_count; c += 16) {
        int left = c_count - c;
        __mmask16 mask =
            left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1u);
        __m512i acc = _mm512_maskz_loadu_epi32(mask, args.bias + c);
        for (int kh = 0; kh < s.kernel_h; ++kh) {
          int ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
          if (ih < 0 || ih >= s.in_h) continue;
          for (int kw = 0; kw < s.kernel_w; ++kw) {
            int iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
            if (iw < 0 || iw >= s.in_w) continue;
            const std::uint8_t* in =
                args.input + (static_cast<std::size_t>(ih) * s.in_w + iw) * c_count + c;
            const std::int16_t* w =
                args.weights + static_cast<std::size_t>(kh * s.kernel_w + kw) * c_count + c;
            __m512i x =
                _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, in)), zp_in);
            __m512i wv = _mm512_cvtepi16_epi32(_mm256_maskz_loadu_epi16(mask, w));
            acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(x, wv));
          }
        }
        __m512 v =
            _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_maskz_loadu_ps(mask, args.scale + c));
        v = activate16(v, args.act);  // relu or clamp: exact
        if (args.output == QGemmOutput::f32) {
          _mm512_mask_storeu_ps(args.output_f32 + at + c, mask, v);
        } else {
          v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
          __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), zp_out);  // MXCSR: round to even
          _mm_mask_storeu_epi8(args.output_u8 + at + c, mask, _mm512_cvtusepi32_epi8(q));
        }
      }
    }
  }
}

}  // namespace lowp
