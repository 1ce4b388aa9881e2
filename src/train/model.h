// train/model.h: a trainable model, the chain of layers whose tape train/layer.h
// describes, and the three built-in networks of `lowp train`.
//
// A Model may start with a frozen input transform (SimpleNet's PCA projection): layers
// that the trainer applies to the whole data set once, before training, instead of at
// every step, and that export writes in front of the trained layers, so the ONNX model
// takes the same input as the data set.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/random.h"
#include "ir/graph.h"
#include "train/layer.h"

namespace lowp::train {

class Model {
 public:
  std::string name;
  std::vector<int> input_shape;  // one sample: [H, W, C] (NHWC) or [features]
  std::vector<std::unique_ptr<Layer>> input_transform;  // frozen, applied to the data once
  std::vector<std::unique_ptr<Layer>> layers;

  // Checks that shapes flow through every layer from `input_shape` (the input transform
  // included); throws lowp::Error naming the first layer that does not fit.
  std::vector<int> output_shape() const;
  std::vector<int> trained_input_shape() const;  // after the input transform

  // Runs the trained layers on x (which must stay alive until backward) and returns the
  // output (always fp32); in training mode keeps every activation for backward(). In bf16
  // training the layers that handle it pass bf16 batches (Layer::handles_bf16). With fp16 storage
  // the input and every output are rounded to fp16, and forward_overflow() names the
  // first layer whose output is not finite ("" when all are).
  const Batch& forward(const Batch& x, const Context& ctx);
  const std::string& forward_overflow() const { return forward_overflow_; }
  // From dL/d(output): every trainable parameter's grad. With fp16 storage every input
  // gradient is rounded to fp16; returns the first layer, in backward order, whose input
  // or parameter gradients are not finite ("" when all are, and always without fp16).
  std::string backward(const Batch& grad_output, const Context& ctx);
  // The input transform on a whole data set (rows in blocks, inference mode).
  Batch transform_inputs(const Batch& x, ThreadPool* pool);

  std::vector<Param*> params();        // trained layers' parameters, in layer order
  std::vector<StateTensor*> states();  // likewise
  std::size_t parameter_count();

  // The inference graph in ONNX's layout: input "input" [N, C, H, W] (or [N, features]),
  // one output, types inferred. When `values` is given it receives layers.size() + 1
  // values: [0] the trained layers' input (after the input transform), [i + 1] the output
  // of layers[i] (the train/fake_quant.h export maps its ranges to tensors by them).
  std::unique_ptr<ir::Graph> to_graph(std::vector<ir::Value*>* values = nullptr) const;

 private:
  const Batch* input_ = nullptr;
  Batch rounded_input_;         // fp16 storage: the input rounded
  std::vector<Batch> outputs_;  // outputs_[i]: output of layer i
  // bf16 training: fp32 copies of the inputs of layers that do not take bf16.
  std::vector<Batch> staged_;
  std::vector<bool> staged_used_;
  Batch final_output_;  // the last output in fp32 when the last layer gave bf16
  std::string forward_overflow_;
  Batch grad_a_, grad_b_;
};

// The CNN of the quantization work, on [28, 28, 1] images: Conv(1->32, 3x3, pad 1) +
// BatchNorm + ReLU -> MaxPool 2x2 -> Conv(32->64, 3x3, pad 1) + BatchNorm + ReLU ->
// MaxPool 2x2 -> Flatten -> Linear(3136->128) + ReLU -> Linear(128->10).
Model make_cnn(Random& rng);
// 784 -> 512 -> 512 -> classes, ReLU between.
Model make_mlp(int inputs, int classes, Random& rng);
// SimpleNet of the seed workflow: a frozen projection (PCA: components [k][inputs] and
// their mean) then Linear(k, hidden) -> ReLU -> Linear(hidden, classes).
Model make_simplenet(const std::vector<float>& components, const std::vector<float>& mean,
                     int inputs, int k, int hidden, int classes, Random& rng);

// A chain-shaped inference graph (one input, one output, each node feeding the next) as a
// trainable Model, weights taken from its constants: Conv, BatchNormalization, Relu, Gelu,
// Sigmoid, Tanh, MaxPool, AveragePool, Flatten, Gemm, MatMul (with the Add of a constant
// bias after it, when one follows), LayerNormalization, Dropout, Identity. The chains that
// `lowp compress --lowrank` writes (Gemm -> Gemm, MatMul -> MatMul [-> Add], 1x1 Conv ->
// 1x1 Conv) are such chains: each factor becomes a layer of its own. Throws lowp::Error naming the node whose op has
// no gradient here, or whose attributes the layers do not cover.
Model model_from_graph(const ir::Graph& graph);

}  // namespace lowp::train
