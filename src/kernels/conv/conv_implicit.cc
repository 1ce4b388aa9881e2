// kernels/conv/conv_implicit.cc: the scalar implicit-GEMM variant and the list. The scalar
// variant sums each output in k order from zero, then adds the bias and applies the
// activation, as gemm_packed_scalar does on gathered rows.
#include "kernels/conv/conv_implicit.h"

#include <algorithm>

#include "kernels/conv/conv2d.h"

namespace lowp {

bool implicit_conv_applies(const Conv2dShape& s) {
  return s.groups == 1 && s.dilation_w == 1;
}

void implicit_conv_scalar(const ImplicitConvArgs& args) {
  const Conv2dShape& s = *args.shape;
  const PackedGemmWeights& w = *args.w;
  const int ow_count = s.out_w(), run = s.kernel_w * s.in_c;
  const float* panels = reinterpret_cast<const float*>(w.data.data());
  const std::size_t panel_floats = static_cast<std::size_t>(w.k) * kGemmPanel;
  const std::size_t run_stride = args.row_stride * static_cast<std::size_t>(s.dilation_h);
  for (int p = args.pixel_begin; p < args.pixel_end; ++p) {
    int oh = p / ow_count, ow = p - oh * ow_count;
    const float* a = args.image + static_cast<std::size_t>(oh) * s.stride_h * args.row_stride +
                     static_cast<std::size_t>(ow) * s.stride_w * s.in_c;
    float* out = args.output + static_cast<std::size_t>(p - args.pixel_begin) * args.ldc;
    for (int panel = 0; panel < w.panels(); ++panel) {
      const float* b = panels + static_cast<std::size_t>(panel) * panel_floats;
      float acc[kGemmPanel] = {};
      for (int kh = 0; kh < s.kernel_h; ++kh) {
        const float* ak = a + static_cast<std::size_t>(kh) * run_stride;
        const float* bk = b + static_cast<std::size_t>(kh) * run * kGemmPanel;
        for (int j = 0; j < run; ++j)
          for (int o = 0; o < kGemmPanel; ++o) acc[o] += ak[j] * bk[j * kGemmPanel + o];
      }
      int cols = std::min(kGemmPanel, w.n - panel * kGemmPanel);
      for (int o = 0; o < cols; ++o) {
        int col = panel * kGemmPanel + o;
        float v = acc[o] + (args.bias != nullptr ? args.bias[col] : 0.0f);
        if (args.residual != nullptr) v += args.residual[static_cast<std::size_t>(p - args.pixel_begin) * s.out_c + col];
        out[col] = args.act(v);
      }
    }
  }
}

namespace {
constexpr KernelEntry<ImplicitConvFn> kImplicitConv[] = {
    {"f32_conv_implicit_bias_act_6x64__avx512", IsaLevel::avx512, implicit_conv_avx512},
    {"f32_conv_implicit_bias_act_6x16__avx2", IsaLevel::avx2, implicit_conv_avx2},
    {"f32_conv_implicit_bias_act_1x16__scalar", IsaLevel::scalar, implicit_conv_scalar},
};
}  // namespace

std::span<const KernelEntry<ImplicitConvFn>> implicit_conv_kernels() {
  return kImplicitConv;
}

}  // namespace lowp
