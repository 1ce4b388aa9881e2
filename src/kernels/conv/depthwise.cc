// kernels/conv/depthwise.cc: the scalar depthwise variant and the list. Sums taps in
// (kh, kw) order, then adds the bias, as the reference convolution does.
#include "kernels/conv/depthwise.h"

#include <algorithm>

#include "kernels/conv/conv2d.h"

namespace lowp {

void depthwise_scalar(const DepthwiseArgs& args) {
  const Conv2dShape& s = *args.shape;
  const int c_count = s.in_c, ow_count = s.out_w();
  for (int oh = args.row_begin; oh < args.row_end; ++oh) {
    for (int ow = 0; ow < ow_count; ++ow) {
      float* out = args.output + (static_cast<std::size_t>(oh) * ow_count + ow) * c_count;
      std::fill_n(out, c_count, 0.0f);
      for (int kh = 0; kh < s.kernel_h; ++kh) {
        int ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
        if (ih < 0 || ih >= s.in_h) continue;
        for (int kw = 0; kw < s.kernel_w; ++kw) {
          int iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
          if (iw < 0 || iw >= s.in_w) continue;
          const float* in = args.input + (static_cast<std::size_t>(ih) * s.in_w + iw) * c_count;
          const float* w = args.weights + static_cast<std::size_t>(kh * s.kernel_w + kw) * c_count;
          for (int c = 0; c < c_count; ++c) out[c] += in[c] * w[c];
        }
      }
      for (int c = 0; c < c_count; ++c) {
        float v = out[c] + (args.bias != nullptr ? args.bias[c] : 0.0f);
        out[c] = args.act(v);
      }
    }
  }
}

namespace {
constexpr KernelEntry<DepthwiseFn> kDepthwise[] = {
    {"f32_dwconv_bias_act_16c__avx512", IsaLevel::avx512, depthwise_avx512},
    {"f32_dwconv_bias_act_8c__avx2", IsaLevel::avx2, depthwise_avx2},
    {"f32_dwconv_bias_act_1c__scalar", IsaLevel::scalar, depthwise_scalar},
};
}  // namespace

std::span<const KernelEntry<DepthwiseFn>> depthwise_kernels() {
  return kDepthwise;
}

}  // namespace lowp
