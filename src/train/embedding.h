// train/embedding.h: a lookup table, [N, T] token ids -> [N, T, dim] rows of a weight
// [num][dim] (nn.Embedding, exported as ONNX Gather). The ids arrive as floats holding
// integers, since every activation here is fp32; one that is not an integer in [0, num)
// is a lowp::Error naming the layer. Ids have no gradient, so Embedding must be a
// model's first layer; the weight's gradient adds dy's rows into the rows of their ids,
// in input order.
#pragma once

#include "base/random.h"
#include "train/layer.h"

namespace lowp::train {

class Embedding final : public Layer {
 public:
  // Weights normal(0, 1) as nn.Embedding initializes them (Box-Muller on lowp's Random).
  Embedding(std::string name, int num, int dim, Random& rng);

  const char* kind() const override { return "Embedding"; }
  std::vector<int> output_shape(std::span<const int> in) const override;
  void forward(const Batch& x, Batch& y, const Context& ctx) override;
  void backward(const Batch& x, const Batch& y, const Batch& dy, Batch* dx,
                const Context& ctx) override;
  std::vector<Param*> params() override { return {&weight_}; }
  ir::Value* export_to(ir::Graph& graph, ir::Value* x) const override;

 private:
  int num_, dim_;
  Param weight_;
};

}  // namespace lowp::train
