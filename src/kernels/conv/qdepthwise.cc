// kernels/conv/qdepthwise.cc: the scalar int8 depthwise variant and the list.
#include "kernels/conv/qdepthwise.h"

#include "kernels/conv/conv2d.h"

namespace lowp {

void qdepthwise_scalar(const QDepthwiseArgs& args) {
  const Conv2dShape& s = *args.shape;
  const int c_count = s.in_c, ow_count = s.out_w();
  for (int oh = args.row_begin; oh < args.row_end; ++oh) {
    for (int ow = 0; ow < ow_count; ++ow) {
      std::size_t at = (static_cast<std::size_t>(oh) * ow_count + ow) * c_count;
      for (int c = 0; c < c_count; ++c) {
        std::int32_t acc = args.bias[c];
        for (int kh = 0; kh < s.kernel_h; ++kh) {
          int ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
          if (ih < 0 || ih >= s.in_h) continue;
          for (int kw = 0; kw < s.kernel_w; ++kw) {
            int iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
            if (iw < 0 || iw >= s.in_w) continue;
            std::int32_t x = args.input[(static_cast<std::size_t>(ih) * s.in_w + iw) * c_count + c];
            acc += (x - args.input_zero_point) *
                   args.weights[static_cast<std::size_t>(kh * s.kernel_w + kw) * c_count + c];
          }
        }
        float v = qgemm_dequantize(acc, args.scale[c], args.act);
        if (args.output == QGemmOutput::f32) {
          args.output_f32[at + c] = v;
        } else {
          args.output_u8[at + c] = qgemm_requantize(v, args.output_zero_point);
        }
      }
    }
  }
}

namespace {
constexpr KernelEntry<QDepthwiseFn> kQDepthwise[] = {
    {"qu8_qs8_dwconv_requant_16c__avx512", IsaLevel::avx512, qdepthwise_avx512},
    {"qu8_qs8_dwconv_requant_1c__scalar", IsaLevel::scalar, qdepthwise_scalar},
};
}  // namespace

std::span<const KernelEntry<QDepthwiseFn>> qdepthwise_kernels() {
  return kQDepthwise;
}

}  // namespace lowp
