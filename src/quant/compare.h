// quant/compare.h: a float model against its quantized version, layer by layer, on the same
// inputs: where the quantization error comes from, named by the float model's nodes.
//
// Tensors are matched by name. A float tensor t of the reference corresponds, in the
// quantized model, to
//   (a) the output of a QuantizeLinear that reads t (per-tensor constant scale and zero
//       point), dequantized with that scale and zero point: lowering (passes/lower_qdq.cc)
//       keeps that 8-bit value, written by the fused integer op (QLinearConv, lowp::QGemm),
//       so what is measured is what lowp's integer kernels computed;
//   (b) else t itself, when it still exists as a float tensor (fp32, fp16, bf16) once the
//       quantized model is lowered: a layer kept in float, an op between DQ and Q.
// A tensor that lowering fuses away (a Conv's output before its Relu and Q) has no
// counterpart; the layer is then reported at the next tensor that has one, under the
// name of the first node of the chain (Conv -> BatchNormalization -> Relu is "conv1").
//
// The matched tensors become extra outputs of copies of both models. Observing must not
// change what runs: both models also run without the extra outputs, and the result says
// whether the outputs stayed bit-identical (CompareResult::observation_*).
//
// Inputs are split along axis 0 into batches when both models leave that dim symbolic, so
// memory stays bounded by one batch's tensors; metrics are accumulated exactly over all
// batches (sums in double).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"
#include "quant/model_runner.h"

namespace lowp::quant {

// Reference r against test t:
//   SQNR = 10 log10(sum r^2 / sum (r - t)^2) dB: +inf when the two are equal (no noise),
//          -inf when r is all zeros and t is not;
//   cosine = r.t / (|r| |t|): 1 when both are all zeros, 0 when only one is;
//   max_abs_error = max |r - t|.
// Pairs where either value is NaN or Inf are left out of the three and counted in
// `non_finite` (unless both are the same non-finite value). Never NaN.
struct TensorMetrics {
  double sqnr_db = 0;
  double noise_to_signal = 0;  // sum (r - t)^2 / sum r^2 (0 / 0 is 0, x / 0 is +inf)
  double cosine = 1;
  double max_abs_error = 0;
  std::size_t elements = 0;
  std::size_t non_finite = 0;
};

class MetricsAccumulator {
 public:
  // Throws lowp::Error when the sizes differ.
  void add(std::span<const float> reference, std::span<const float> test);
  TensorMetrics result() const;

 private:
  double signal_ = 0, noise_ = 0, dot_ = 0, ref_sq_ = 0, test_sq_ = 0, max_error_ = 0;
  std::size_t elements_ = 0, non_finite_ = 0;
};

TensorMetrics compare_tensors(std::span<const float> reference, std::span<const float> test);

// Ranks a worse first: non-finite mismatches, then lower SQNR, then lower cosine.
bool worse_than(const TensorMetrics& a, const TensorMetrics& b);

// The error a layer adds, from its output's and its input's noise-to-signal ratios:
// -10 log10(max(0, nsr_out - nsr_in)) dB, +inf when it adds none. Quantization noise of
// successive layers adds up in the noise-to-signal ratio while the relative error stays
// small, so this isolates a layer: the SQNR of the layers after a broken one is as bad as
// its own, the noise they add is not.
double added_noise_db(double nsr_out, double nsr_in);

struct LayerComparison {
  std::string node;                // the reference node that begins the layer
  std::string op_type;             // its op
  std::vector<std::string> nodes;  // every reference node folded into the row, in order
  std::string tensor;              // the reference tensor compared
  std::string observed;            // the quantized model's tensor read
  std::string form;                // "u8 scale=... zero_point=..." or the float dtype
  TensorMetrics metrics;
  std::string input;            // the tensor the layer's input error is read at ("" : exact)
  double input_sqnr_db = 0;     // SQNR at that input (+inf when exact)
  double added_db = 0;          // added_noise_db(metrics, input)
  std::size_t order = 0;  // position of the tensor in the reference model
};

enum class LayerOrder {
  added_noise,  // the noise each layer adds, worst first (default: finds the guilty layer)
  sqnr,         // the SQNR of each layer's output, worst first (cumulative)
};

struct OutputComparison {
  std::string name;
  TensorMetrics metrics;
  // Outputs shaped [rows, classes >= 2]: the fraction of rows whose argmax agrees.
  std::optional<double> top1_agreement;
  std::size_t rows = 0;
};

struct CompareResult {
  std::vector<LayerComparison> layers;  // worst first, in CompareOptions::order
  std::vector<OutputComparison> outputs;  // in the models' output order
  std::vector<std::string> unmatched;   // reference tensors without a counterpart
  std::size_t samples = 0;              // rows of axis 0 run (1 per run when not batched)
  std::size_t runs = 0;
  // Largest |difference| between a model's outputs with and without the observed extra
  // outputs, over every run: 0 means observing changed nothing.
  double observation_change_reference = 0;
  double observation_change_quantized = 0;
};

struct CompareInput {
  std::string name;
  Tensor tensor;
};

struct CompareOptions {
  std::string reference_name = "reference model";  // for messages (the file names)
  std::string quantized_name = "quantized model";
  std::size_t batch = 32;  // rows per run when axis 0 is symbolic in both models
  LayerOrder order = LayerOrder::added_noise;
};

// Throws lowp::Error naming the file and the input when the models' inputs or outputs
// differ, or an input is missing, extra, repeated, or of the wrong dtype or shape.
CompareResult compare_models(const ir::Graph& reference, const ir::Graph& quantized,
                             const std::vector<CompareInput>& inputs, const ModelBackend& backend,
                             const CompareOptions& options);

}  // namespace lowp::quant
