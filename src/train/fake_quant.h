// train/fake_quant.h: quantization-aware training (QAT) for int8, `lowp train --qat int8`,
// and the export of its result as the QDQ model that `lowp quantize --precision int8`
// writes (docs/design.md, "Quantization-aware training").
//
// prepare_qat() rewrites a chain of layers so that the forward pass computes what the
// int8 model will compute, in the same places:
//  - A Conv2d or Linear followed by BatchNorm gets the BatchNorm folded into it with its
//    running statistics (the formulas of passes/fold_batch_norm.cc), as the quantizer's
//    preparation folds it: the weight that is quantized in training is the weight that is
//    deployed, and BatchNorm is frozen for the rest of training.
//  - Where the quantizer would put Q/DQ pairs is asked of the quantizer itself
//    (quant::plan_int8 on the model's own graph): each Conv / Gemm it would make int8
//    becomes a QatConv2d / QatLinear (absorbing the ReLU after it, whose clamp the output
//    quantization performs), and each quantized tensor that no such layer produces (the
//    output of an fp32 layer such as the CNN's 1-channel stem, or the model's input) gets a
//    FakeQuant layer. MaxPool and Flatten pass quantized values through unchanged, as the
//    runtime runs them on bytes.
//
// Numerics, one definition: the runtime's. Weights are quantize_per_channel_s8 of the fp32
// master weights (quant/weight_quant.h), biases quantize_bias_s32, activations u8 with
// choose_u8_params of the observed range and the quantize kernels (= quantize_value). A
// QAT layer's forward then runs lowp's int8 kernels on those codes (qgemm, conv2d_int8)
// with their u8 output: exact int32 sums and the int8 GEMM's epilogue with the runtime's
// multiplier float(double(s_x) * s_w / s_y). Those are the codes the lowered model computes
// (passes/lower_qdq.cc: lowp::QGemm, QLinearConv), so in inference mode the QAT model and
// its export run by lowp's runtime give the same outputs bit for bit (in training a first
// pass with real-valued outputs feeds the range and the gradient mask). The next layer
// receives the codes' dequantized values (q - zp) * s, which quantize back to the same
// codes. (A float simulation, sum (x_q - zp) s_x w_q s_w in fp32 then round(y / s_y),
// would differ from that at rounding ties: by one step, but then also in every layer after.)
//
// Gradients: the straight-through estimator. Quantization counts as the identity inside
// its clamp range and blocks the gradient outside it: a FakeQuant passes dy where x lies in
// [(0 - zp) s, (255 - zp) s]; a QAT layer passes dy where its real output (the int8 sums
// scaled by s_x s_w, before output quantization) lies in that range of its output, and is
// > 0 with an absorbed ReLU; then it runs its float layer's backward on the dequantized
// input and weights. Weights are never clipped (symmetric absmax scales). Scales and zero
// points are not learned (no LSQ): they follow the observed ranges.
//
// Ranges: an exponential moving average of each batch's min and max (momentum 0.01, the
// averaging constant of PyTorch's QAT observers; the first batch sets them), updated in
// training mode before the batch is quantized with them, frozen in inference mode
// (evaluation, export). They are state tensors, so checkpoints keep them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/aligned_buffer.h"
#include "kernels/conv/conv2d.h"
#include "kernels/qgemm/qgemm.h"
#include "quant/observer.h"
#include "quant/quantize_report.h"
#include "train/conv2d.h"
#include "train/elementwise.h"
#include "train/linear.h"
#include "train/model.h"

namespace lowp::train {

// The range of one activation tensor during QAT, and its u8 parameters.
class RangeObserver {
 public:
  RangeObserver(std::string tensor, float momentum);
  // Training: moves the range towards this batch's finite min and max (of max(x, 0) with
  // `relu`); the first batch with a finite value sets it.
  void observe(std::span<const float> x, bool relu);
  // choose_u8_params of the range (scale 1, zero point 0 before any batch).
  AffineParams params() const;
  const std::string& tensor() const { return tensor_; }
  float lo() const { return state_.value[0]; }
  float hi() const { return state_.value[1]; }
  bool observed() const { return state_.value[2] != 0.0f; }
  StateTensor* state() { return &state_; }

 private:
  std::string tensor_;
  float momentum_;
  StateTensor state_;  // "<tensor>.qat_range": [lo, hi, observed (0 or 1)]
};

// Fake quantization of a tensor that no QAT layer produces: y = dequantize(quantize(x)).
class FakeQuant final : public Layer {
 public:
  FakeQuant(std::string tensor, float momentum);
  const char* kind() const override { return "FakeQuant"; }
  std::vector<int> output_shape(std::span<const int> in) const override {
    return {in.begin(), in.end()};
  }
  void forward(const Batch& x, Batch& y, const Context& ctx) override;
  void backward(const Batch& x, const Batch& y, const Batch& dy, Batch* dx,
                const Context& ctx) override;
  std::vector<StateTensor*> states() override { return {observer_.state()}; }
  // The identity: the quantizer adds the Q/DQ pair from the range.
  ir::Value* export_to(ir::Graph&, ir::Value* x) const override { return x; }

  const RangeObserver& observer() const { return observer_; }

 private:
  RangeObserver observer_;
  std::vector<std::uint8_t> codes_;
};

// What a QAT layer's output is: quantized u8 (a range of its own) or fp32 (the model's
// output), with or without the ReLU it absorbed.
struct QatOutput {
  std::unique_ptr<ActivationLayer> relu;  // absorbed ReLU, or null
  std::optional<RangeObserver> range;     // quantized output, or fp32
};

// A Linear layer (and the ReLU after it) in int8: u8 input codes x s8 weights on the
// int8 GEMM. Its parameters are the Linear's fp32 master weights.
class QatLinear final : public Layer {
 public:
  QatLinear(std::unique_ptr<Linear> linear, const RangeObserver* input, QatOutput output);
  const char* kind() const override { return "QatLinear"; }
  std::vector<int> output_shape(std::span<const int> in) const override;
  void forward(const Batch& x, Batch& y, const Context& ctx) override;
  void backward(const Batch& x, const Batch& y, const Batch& dy, Batch* dx,
                const Context& ctx) override;
  std::vector<Param*> params() override { return linear_->params(); }
  std::vector<StateTensor*> states() override;
  // Gemm (+ Relu) with the fp32 weights: the quantizer writes the int8 form.
  ir::Value* export_to(ir::Graph& graph, ir::Value* x) const override;

  const QatOutput& output() const { return out_; }

 private:
  std::unique_ptr<Linear> linear_;
  const RangeObserver* input_;
  QatOutput out_;
  std::vector<float> w_dq_;           // dequantized weights of the last forward
  std::vector<float> mask_;           // 1 where the output gradient passes, else 0
  AlignedBuffer<std::uint8_t> rows_;  // input codes, rows padded to padded_k
  std::vector<std::uint8_t> codes_;   // output codes
  PackedQGemmWeights packed_;
  AlignedBuffer<std::int32_t> offsets_;
  AlignedBuffer<float> scales_;
  Batch masked_;
};

// A Conv2d (and the ReLU after it) in int8, on lowp's int8 convolution. An output that
// is not quantized (a convolution ending the model) runs as the runtime runs it: the fp32
// convolution of the dequantized input, weights and bias.
class QatConv2d final : public Layer {
 public:
  QatConv2d(std::unique_ptr<Conv2d> conv, const RangeObserver* input, QatOutput output);
  const char* kind() const override { return "QatConv2d"; }
  std::vector<int> output_shape(std::span<const int> in) const override;
  void forward(const Batch& x, Batch& y, const Context& ctx) override;
  void backward(const Batch& x, const Batch& y, const Batch& dy, Batch* dx,
                const Context& ctx) override;
  std::vector<Param*> params() override { return conv_->params(); }
  std::vector<StateTensor*> states() override;
  ir::Value* export_to(ir::Graph& graph, ir::Value* x) const override;

  const QatOutput& output() const { return out_; }

 private:
  std::unique_ptr<Conv2d> conv_;
  const RangeObserver* input_;
  QatOutput out_;
  std::vector<float> w_dq_;
  std::vector<float> mask_;
  std::vector<std::uint8_t> in_codes_, out_codes_;
  Conv2dInt8Scratch scratch_;
  Batch masked_;
};

struct QatOptions {
  int min_conv_depth = 16;  // as `lowp quantize --min-conv-depth`: shallower convs stay fp32
  float momentum = 0.01f;   // of the range averages, in (0, 1]
};

// What prepare_qat did, for the report.
struct QatSummary {
  std::vector<std::string> folded;             // "bn1 into conv1"
  std::vector<quant::NodeDecision> decisions;  // each Conv / Gemm: int8, or fp32 and why
  std::vector<std::string> quantized_tensors;  // the tensors whose range is observed
};

// Rewrites `model` for int8 QAT (see the top of this file). Throws lowp::Error when the
// model has nothing that int8 quantization would quantize (naming why each candidate stays
// fp32), when it is already prepared, or when a quantized tensor falls where no layer can
// quantize it. Its input transform stays fp32.
QatSummary prepare_qat(Model& model, const QatOptions& options);

// Whether prepare_qat has rewritten `model`.
bool is_qat_model(const Model& model);

// The QDQ int8 graph of a prepared model: its fp32 graph quantized by
// quant::quantize_int8_with with the observed ranges, selecting exactly the QAT layers.
// Checks that the quantizer places its pairs where the model quantized (an error
// otherwise).
std::unique_ptr<ir::Graph> export_qat_int8(const Model& model);

}  // namespace lowp::train
