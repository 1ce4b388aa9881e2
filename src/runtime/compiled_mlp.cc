// runtime/compiled_mlp.cc
#include "runtime/compiled_mlp.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/error.h"
#include "kernels/convert/convert.h"
#include "kernels/quantize/quantize.h"
#include "quant/weight_quant.h"

namespace lowp {
namespace {

// int32 bias in the accumulator's scale, as ONNX QLinear ops hold it: round(b / (s_in s_w)).
std::int32_t quantize_bias(float bias, double accumulator_scale) {
  double q = std::nearbyint(static_cast<double>(bias) / accumulator_scale);
  q = std::clamp(q, static_cast<double>(std::numeric_limits<std::int32_t>::min()),
                 static_cast<double>(std::numeric_limits<std::int32_t>::max()));
  return static_cast<std::int32_t>(q);
}

AlignedBuffer<float> copy_floats(const std::vector<float>& v) {
  AlignedBuffer<float> out(v.size());
  std::copy(v.begin(), v.end(), out.data());
  return out;
}

}  // namespace

CompiledMlp::CompiledMlp(const Mlp& mlp, Precision precision, const MlpCalibration* calibration,
                         int max_batch)
    : precision_(precision), max_batch_(max_batch) {
  LOWP_CHECK(!mlp.layers.empty(), "compile: the network has no layers");
  LOWP_CHECK(max_batch >= 1, "compile: max batch {} must be at least 1", max_batch);
  inputs_ = mlp.inputs();
  outputs_ = mlp.outputs();
  const std::size_t batch = static_cast<std::size_t>(max_batch);
  const std::size_t layers = mlp.layers.size();

  if (precision == Precision::int4) {
    for (std::size_t l = 0; l < layers; ++l) {
      const LinearLayer& layer = mlp.layers[l];
      QuantizedWeights q =
          quantize_groupwise_s4(layer.weight.data(), layer.out, layer.in, kInt4GroupSize);
      std::vector<std::uint8_t> u(q.q.size());  // stored unsigned: q + 8
      for (std::size_t i = 0; i < u.size(); ++i) u[i] = static_cast<std::uint8_t>(q.q[i] + 8);
      Int4Layer compiled{
          pack_q4dot(u.data(), q.scales.data(), nullptr, layer.out, layer.in, kInt4GroupSize),
          copy_floats(layer.bias), l + 1 < layers ? Activation::relu : Activation::none};
      // Packed nibbles, one fp32 scale per output and group, fp32 biases.
      weight_bytes_ += (q.q.size() + 1) / 2 + q.scales.size() * sizeof(float) +
                       layer.bias.size() * sizeof(float);
      int4_layers_.push_back(std::move(compiled));
      if (l + 1 < layers) float_buffers_.emplace_back(batch * static_cast<std::size_t>(layer.out));
    }
    // Sized once for the widest layer, so run() never allocates.
    int widest_k = 0, most_groups = 0;
    for (const Int4Layer& l : int4_layers_) {
      widest_k = std::max(widest_k, l.weights.padded_k());
      most_groups = std::max(most_groups, l.weights.groups());
    }
    int4_scratch_.resize(max_batch, widest_k, most_groups);
    return;
  }

  if (precision != Precision::int8) {
    for (std::size_t l = 0; l < layers; ++l) {
      const LinearLayer& layer = mlp.layers[l];
      const std::size_t count = layer.weight.size();
      FloatLayer compiled{
          {}, copy_floats(layer.bias), l + 1 < layers ? Activation::relu : Activation::none};
      std::size_t bias_bytes = layer.bias.size() * sizeof(float);
      switch (precision) {
        case Precision::fp32:
          compiled.weights = pack_gemm_f32(layer.weight.data(), layer.out, layer.in);
          weight_bytes_ += count * 4 + bias_bytes;
          break;
        case Precision::fp16:
        case Precision::bf16: {
          std::vector<std::uint16_t> bits(count);
          if (precision == Precision::fp16) {
            convert_f32_to_f16(layer.weight.data(), bits.data(), count);
            compiled.weights = pack_gemm_f16(bits.data(), layer.out, layer.in);
          } else {
            convert_f32_to_bf16(layer.weight.data(), bits.data(), count);
            compiled.weights = pack_gemm_bf16(bits.data(), layer.out, layer.in);
          }
          weight_bytes_ += count * 2 + bias_bytes;
          break;
        }
        case Precision::int4:
          break;  // handled above
        case Precision::int8:
          break;
      }
      float_layers_.push_back(std::move(compiled));
      if (l + 1 < layers) {
        float_buffers_.emplace_back(batch * static_cast<std::size_t>(layer.out));
      }
    }
    return;
  }

  LOWP_CHECK(calibration != nullptr, "compile: int8 needs a calibration");
  LOWP_CHECK(calibration->layer_inputs.size() == layers,
             "compile: calibration has {} layer inputs, the network {} layers",
             calibration->layer_inputs.size(), layers);
  input_params_ = calibration->layer_inputs[0];
  for (std::size_t l = 0; l < layers; ++l) {
    const LinearLayer& layer = mlp.layers[l];
    const bool last = l + 1 == layers;
    const AffineParams in = calibration->layer_inputs[l];
    QuantizedWeights q = quantize_per_channel_s8(layer.weight.data(), layer.out, layer.in);
    Int8Layer compiled;
    compiled.weights = pack_qgemm(q.q.data(), layer.out, layer.in);
    std::vector<std::int32_t> bias_q(static_cast<std::size_t>(layer.out));
    compiled.scale = AlignedBuffer<float>(compiled.weights.column_sums.size());
    for (int j = 0; j < layer.out; ++j) {
      double accumulator_scale =
          static_cast<double>(in.scale) * q.scales[static_cast<std::size_t>(j)];
      bias_q[static_cast<std::size_t>(j)] =
          quantize_bias(layer.bias[static_cast<std::size_t>(j)], accumulator_scale);
      double out_scale = last ? 1.0 : calibration->layer_inputs[l + 1].scale;
      compiled.scale[static_cast<std::size_t>(j)] =
          static_cast<float>(accumulator_scale / out_scale);
    }
    compiled.offset = qgemm_column_offsets(compiled.weights, in.zero_point, bias_q.data());
    compiled.act = last ? Activation::none : Activation::relu;
    compiled.output = last ? QGemmOutput::f32 : QGemmOutput::u8;
    compiled.out_zero_point = last ? 0 : calibration->layer_inputs[l + 1].zero_point;
    // s8 weights, one fp32 scale per output, int32 biases, and the u8 input's fp32 scale
    // and one-byte zero point.
    weight_bytes_ += q.q.size() + q.scales.size() * 4 + bias_q.size() * 4 + 5;
    std::size_t stride = static_cast<std::size_t>(compiled.weights.padded_k());
    u8_strides_.push_back(stride);
    u8_buffers_.emplace_back(batch * stride);
    int8_layers_.push_back(std::move(compiled));
  }
}

std::size_t CompiledMlp::packed_bytes() const {
  std::size_t bytes = 0;
  for (const FloatLayer& l : float_layers_) {
    bytes += l.weights.data.bytes() + l.weights.group_scales.bytes() + l.bias.bytes();
  }
  for (const Int4Layer& l : int4_layers_) {
    bytes += l.weights.data.bytes() + l.weights.scales.bytes() + l.bias.bytes();
  }
  for (const Int8Layer& l : int8_layers_) {
    bytes += l.weights.data.bytes() + l.offset.bytes() + l.scale.bytes();
  }
  return bytes;
}

std::vector<std::string> CompiledMlp::kernel_names() const {
  std::vector<std::string> names;
  for (const FloatLayer& l : float_layers_) names.emplace_back(gemm_kernel_name(l.weights.type));
  for (std::size_t i = 0; i < int4_layers_.size(); ++i) names.emplace_back(q4dot_kernel_name());
  if (!int8_layers_.empty()) {
    names.emplace_back(pick_kernel(quantize_u8_kernels(), active_isa()).name);
    for (std::size_t i = 0; i < int8_layers_.size(); ++i) names.emplace_back(qgemm_kernel_name());
  }
  return names;
}

void CompiledMlp::run(const float* x, std::size_t rows, float* logits, ThreadPool* pool) {
  for (std::size_t start = 0; start < rows; start += static_cast<std::size_t>(max_batch_)) {
    std::size_t count = std::min(rows - start, static_cast<std::size_t>(max_batch_));
    run_chunk(x + start * static_cast<std::size_t>(inputs_), static_cast<int>(count),
              logits + start * static_cast<std::size_t>(outputs_), pool);
  }
}

void CompiledMlp::run_chunk(const float* x, int rows, float* logits, ThreadPool* pool) {
  if (!int4_layers_.empty()) {
    const float* input = x;
    std::size_t lda = static_cast<std::size_t>(inputs_);
    for (std::size_t l = 0; l < int4_layers_.size(); ++l) {
      const Int4Layer& layer = int4_layers_[l];
      bool last = l + 1 == int4_layers_.size();
      float* out = last ? logits : float_buffers_[l].data();
      std::size_t ldc = static_cast<std::size_t>(layer.weights.n);
      q4dot_gemm(input, rows, lda, layer.weights, layer.bias.data(), layer.act, out, ldc,
                 int4_scratch_, pool);
      input = out;
      lda = ldc;
    }
    return;
  }
  if (int8_layers_.empty()) {
    const float* input = x;
    std::size_t lda = static_cast<std::size_t>(inputs_);
    for (std::size_t l = 0; l < float_layers_.size(); ++l) {
      const FloatLayer& layer = float_layers_[l];
      bool last = l + 1 == float_layers_.size();
      GemmArgs args;
      args.m = rows;
      args.a = input;
      args.lda = lda;
      args.w = &layer.weights;
      args.bias = layer.bias.data();
      args.act = layer.act;
      args.c = last ? logits : float_buffers_[l].data();
      args.ldc = static_cast<std::size_t>(layer.weights.n);
      gemm(args, pool);
      input = args.c;
      lda = args.ldc;
    }
    return;
  }

  // Quantize the input once; padding bytes past `inputs_` stay zero from allocation.
  const std::size_t k = static_cast<std::size_t>(inputs_);
  std::uint8_t* q = u8_buffers_[0].data();
  if (u8_strides_[0] == k) {
    quantize_u8(x, static_cast<std::size_t>(rows) * k, input_params_.scale,
                input_params_.zero_point, q);
  } else {
    for (int r = 0; r < rows; ++r) {
      quantize_u8(x + static_cast<std::size_t>(r) * k, k, input_params_.scale,
                  input_params_.zero_point, q + static_cast<std::size_t>(r) * u8_strides_[0]);
    }
  }
  for (std::size_t l = 0; l < int8_layers_.size(); ++l) {
    const Int8Layer& layer = int8_layers_[l];
    bool last = l + 1 == int8_layers_.size();
    QGemmArgs args;
    args.m = rows;
    args.a = u8_buffers_[l].data();
    args.lda = u8_strides_[l];
    args.w = &layer.weights;
    args.offset = layer.offset.data();
    args.scale = layer.scale.data();
    args.act = layer.act;
    args.output = layer.output;
    args.out_zero_point = layer.out_zero_point;
    if (last) {
      args.c_f32 = logits;
      args.ldc = static_cast<std::size_t>(outputs_);
    } else {
      args.c_u8 = u8_buffers_[l + 1].data();
      args.ldc = u8_strides_[l + 1];
    }
    qgemm(args, pool);
  }
}

}  // namespace lowp
