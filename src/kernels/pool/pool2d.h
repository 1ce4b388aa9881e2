// kernels/pool/pool2d.h: max and average pooling in NHWC, channels in the vector lanes
// (as the depthwise convolution), and global average pooling as the whole-image window.
//
// Max pooling ignores padded positions (ONNX MaxPool). Average pooling divides by the
// number of in-image positions, or by the whole window when count_include_pad (ONNX
// AveragePool's attribute). A window with no in-image position gives -inf for max (ONNX
// leaves it unspecified; lowp's shape validation rejects such windows) and 0 for average.
#pragma once

#include <span>

#include "kernels/conv/conv2d.h"
#include "kernels/dispatch.h"

namespace lowp {

enum class PoolKind { max, average };

struct Pool2dArgs {
  const Conv2dShape* shape = nullptr;  // in_c channels; out_c, groups unused
  PoolKind kind = PoolKind::max;
  bool count_include_pad = false;
  const float* input = nullptr;  // one image [in_h][in_w][c]
  float* output = nullptr;       // one image [out_h][out_w][c]
  int row_begin = 0, row_end = 0;
};
using Pool2dFn = void (*)(const Pool2dArgs&);

std::span<const KernelEntry<Pool2dFn>> pool2d_kernels();
void pool2d_ref(const Pool2dArgs& args);
void pool2d_avx2(const Pool2dArgs& args);
void pool2d_avx512(const Pool2dArgs& args);

// Validates (shape.validate() with out_c = in_c) and runs every image, rows over the pool.
void pool2d(const Conv2dShape& shape, PoolKind kind, bool count_include_pad, const float* input,
            float* output, ThreadPool* pool = nullptr);

// 8-bit NHWC max pooling (quantized models: max commutes with the monotonic map from q to
// real, so it runs on the stored integers). Padding never wins (it is not a value). One
// loop over contiguous channel bytes, 16 at a time with SSE2's unsigned byte max (every
// x86-64 has it; s8 goes through the order-preserving flip x ^ 0x80), the rest scalar;
// tested against the float reference pool on the same integers.
void max_pool2d_u8(const Conv2dShape& shape, const std::uint8_t* input, std::uint8_t* output,
                   ThreadPool* pool = nullptr);
void max_pool2d_s8(const Conv2dShape& shape, const std::int8_t* input, std::int8_t* output,
                   ThreadPool* pool = nullptr);

}  // namespace lowp
