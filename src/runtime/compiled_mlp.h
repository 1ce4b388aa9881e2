// runtime/compiled_mlp.h: an Mlp compiled for inference at one precision.
//
// Compiling converts and packs every weight once (fp16, bf16, int8 per channel, int4 per
// group of 32) and allocates all activation buffers for a batch of up to max_batch rows;
// run() then allocates nothing, which matters at batch 1 where the whole network takes
// well under a microsecond. Larger inputs run in chunks of max_batch rows.
//
// int4 runs the int4 x int8 dot-product kernel: weights symmetric in groups of 32 inputs,
// each layer's input quantized per row to s8 on the fly (kernels/q4dot/q4dot.h).
//
// int8 keeps activations in u8 from end to end: the input is quantized once with the
// calibrated scale, each hidden layer's epilogue applies ReLU and requantizes straight to
// the next layer's input scale, and only the last layer dequantizes to fp32 logits.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "base/aligned_buffer.h"
#include "base/thread_pool.h"
#include "core/precision.h"
#include "kernels/gemm/gemm.h"
#include "kernels/q4dot/q4dot.h"
#include "kernels/qgemm/qgemm.h"
#include "runtime/mlp.h"
#include "runtime/mlp_calibration.h"

namespace lowp {

inline constexpr int kInt4GroupSize = 32;

class CompiledMlp {
 public:
  // calibration is required for int8 and ignored otherwise. Throws lowp::Error on a
  // missing or mismatched calibration and on weights that cannot be quantized.
  CompiledMlp(const Mlp& mlp, Precision precision, const MlpCalibration* calibration,
              int max_batch = 256);

  // x: [rows][inputs] fp32, logits: [rows][outputs] fp32.
  void run(const float* x, std::size_t rows, float* logits, ThreadPool* pool = nullptr);

  Precision precision() const { return precision_; }
  int inputs() const { return inputs_; }
  int outputs() const { return outputs_; }
  // Bytes of the model as stored at this precision: weights, scales, zero points and biases
  // (what a serialized model holds). packed_bytes() is what the runtime holds, padding of
  // the 16-wide panels included.
  std::size_t weight_bytes() const { return weight_bytes_; }
  std::size_t packed_bytes() const;
  // The kernel each layer runs, e.g. "f32_gemm_bias_act_4x64__avx512".
  std::vector<std::string> kernel_names() const;

 private:
  struct FloatLayer {
    PackedGemmWeights weights;
    AlignedBuffer<float> bias;
    Activation act;
  };
  struct Int4Layer {
    PackedQ4DotWeights weights;
    AlignedBuffer<float> bias;
    Activation act;
  };
  struct Int8Layer {
    PackedQGemmWeights weights;
    AlignedBuffer<std::int32_t> offset;
    AlignedBuffer<float> scale;
    Activation act;
    QGemmOutput output;
    std::int32_t out_zero_point;
  };

  void run_chunk(const float* x, int rows, float* logits, ThreadPool* pool);

  Precision precision_;
  int inputs_ = 0, outputs_ = 0, max_batch_ = 0;
  std::size_t weight_bytes_ = 0;
  std::vector<FloatLayer> float_layers_;
  std::vector<Int4Layer> int4_layers_;
  QuantizedRows int4_scratch_;
  std::vector<Int8Layer> int8_layers_;
  AffineParams input_params_;                            // int8: quantization of the network input
  std::vector<AlignedBuffer<float>> float_buffers_;      // hidden activations, fp32
  std::vector<AlignedBuffer<std::uint8_t>> u8_buffers_;  // int8: layer inputs, padded rows
  std::vector<std::size_t> u8_strides_;
};

}  // namespace lowp
