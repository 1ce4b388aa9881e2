// kernels/catalog.cc: every kernel family, for `lowp inspect --kernels`.
// A new family adds one line here.
#include "kernels/activate/activate.h"
#include "kernels/bf16dot/bf16dot.h"
#include "kernels/conv/conv_implicit.h"
#include "kernels/conv/depthwise.h"
#include "kernels/conv/qdepthwise.h"
#include "kernels/convert/convert.h"
#include "kernels/dispatch.h"
#include "kernels/gemm/gemm.h"
#include "kernels/pool/pool2d.h"
#include "kernels/q4dot/q4dot.h"
#include "kernels/qgemm/qgemm.h"
#include "kernels/quantize/quantize.h"
#include "kernels/softmax/softmax.h"
#include "kernels/transpose/transpose.h"

namespace lowp {

std::vector<KernelFamilyInfo> kernel_catalog() {
  std::vector<KernelFamilyInfo> families;
  families.push_back(describe_family("gemm_f32", gemm_kernels(GemmWeights::f32)));
  families.push_back(describe_family("gemm_f16_weights", gemm_kernels(GemmWeights::f16)));
  families.push_back(describe_family("gemm_bf16_weights", gemm_kernels(GemmWeights::bf16)));
  families.push_back(describe_family("gemm_int4_weights", gemm_kernels(GemmWeights::q4)));
  families.push_back(describe_family("gemm_bf16", bf16dot_kernels()));
  families.push_back(describe_family("gemm_int4_weights_int8_activations", q4dot_kernels()));
  families.push_back(describe_family("gemm_u8s8", qgemm_kernels()));
  families.push_back(describe_family("quantize_f32_u8", quantize_u8_kernels()));
  families.push_back(describe_family("quantize_f32_s8", quantize_s8_kernels()));
  families.push_back(describe_family("dequantize_u8_f32", dequantize_u8_kernels()));
  families.push_back(describe_family("absmax_f32", absmax_kernels()));
  families.push_back(describe_family("quantize_f32_s8_group_sums", quantize_s8_sums_kernels()));
  families.push_back(describe_family("conv2d_implicit", implicit_conv_kernels()));
  // AVX-512 only: below it the bf16 convolution gathers its rows (bf16dot.h).
  families.push_back(describe_family("conv2d_implicit_bf16", bf16dot_implicit_kernels()));
  families.push_back(describe_family("depthwise_conv2d", depthwise_kernels()));
  families.push_back(describe_family("depthwise_conv2d_int8", qdepthwise_kernels()));
  families.push_back(describe_family("pool2d", pool2d_kernels()));
  families.push_back(describe_family("softmax", softmax_kernels()));
  families.push_back(describe_family("activate", activate_kernels()));
  families.push_back(describe_family("convert_f32_to_f16", convert_f32_to_f16_kernels()));
  families.push_back(describe_family("convert_f16_to_f32", convert_f16_to_f32_kernels()));
  families.push_back(describe_family("convert_f32_to_bf16", convert_f32_to_bf16_kernels()));
  families.push_back(describe_family("convert_bf16_to_f32", convert_bf16_to_f32_kernels()));
  families.push_back(describe_family("convert_f32_to_f8e4m3fn", convert_f32_to_f8e4m3fn_kernels()));
  families.push_back(describe_family("convert_f8e4m3fn_to_f32", convert_f8e4m3fn_to_f32_kernels()));
  families.push_back(describe_family("convert_f32_to_f8e5m2", convert_f32_to_f8e5m2_kernels()));
  families.push_back(describe_family("convert_f8e5m2_to_f32", convert_f8e5m2_to_f32_kernels()));
  families.push_back(describe_family("transpose_x32", transpose_x32_kernels()));
  return families;
}

}  // namespace lowp
