// train/linear.cc
#include "train/linear.h"

#include <cmath>

#include "base/error.h"

namespace lowp::train {

Linear::Linear(std::string name, int in, int out, Random& rng, bool bias)
    : Layer(std::move(name)), in_(in), out_(out), has_bias_(bias) {
  LOWP_CHECK(in >= 1 && out >= 1, "{}: Linear({}, {}) needs sizes of at least 1", this->name(), in,
             out);
  const float bound = 1.0f / std::sqrt(static_cast<float>(in));
  weight_ = Param{this->name() + ".weight", {out, in}, {}, {}, true};
  weight_.value.resize(static_cast<std::size_t>(out) * static_cast<std::size_t>(in));
  for (float& w : weight_.value) w = rng.uniform(-bound, bound);
  weight_.grad.assign(weight_.value.size(), 0.0f);
  if (has_bias_) {
    bias_ = Param{this->name() + ".bias", {out}, {}, {}, true};
    bias_.value.resize(static_cast<std::size_t>(out));
    for (float& b : bias_.value) b = rng.uniform(-bound, bound);
    bias_.grad.assign(bias_.value.size(), 0.0f);
  }
}

std::vector<int> Linear::output_shape(std::span<const int> in) const {
  LOWP_CHECK(in.size() == 2 && in[1] == in_, "{}: Linear({}, {}) takes [N, {}], not {}", name(),
             in_, out_, in_, shape_str(in));
  return {in[0], out_};
}

void Linear::forward(const Batch& x, Batch& y, const Context& ctx) {
  y.resize(output_shape(x.shape));
  const float* bias = has_bias_ ? bias_.value.data() : nullptr;
  const std::size_t in = static_cast<std::size_t>(in_), out = static_cast<std::size_t>(out_);
  if (x.bf16) {
    matmul_abt_bf16_rows(x.rows(), in_, out_, x.bits.data(), in, weight_.value.data(), in, bias,
                         y.data.data(), out, scratch_, ctx.pool);
    return;
  }
  matmul_abt(x.rows(), in_, out_, x.data.data(), in, weight_.value.data(), in, bias,
             y.data.data(), out, scratch_, ctx.pool, ctx.matrix);
}

void Linear::backward(const Batch& x, const Batch&, const Batch& dy, Batch* dx,
                      const Context& ctx) {
  const int rows = x.rows();
  const std::size_t in = static_cast<std::size_t>(in_), out = static_cast<std::size_t>(out_);
  const MatrixPrecision precision = x.bf16 ? MatrixPrecision::bf16 : ctx.matrix;
  if (weight_.trainable) {
    // dW[o][i] = sum_r dy[r][o] x[r][i]
    if (x.bf16) {
      matmul_atb_bf16_b(out_, rows, in_, dy.data.data(), out, x.bits.data(), in,
                        weight_.grad.data(), in, scratch_, ctx.pool);
    } else {
      matmul_atb(out_, rows, in_, dy.data.data(), out, x.data.data(), in, weight_.grad.data(), in,
                 scratch_, ctx.pool, precision);
    }
    if (has_bias_) sum_rows(rows, out_, dy.data.data(), out, bias_.grad.data(), ctx.pool);
  }
  if (dx != nullptr) {
    // dx[r][i] = sum_o dy[r][o] W[o][i], in the input's format.
    dx->resize_as(x.shape, x.bf16);
    float* dxf = dx->data.data();
    if (x.bf16) {
      dx_f32_.resize(dx->bits.size());
      dxf = dx_f32_.data();
    }
    matmul_ab(rows, out_, in_, dy.data.data(), out, weight_.value.data(), in, dxf, in, scratch_,
              ctx.pool, precision);
    if (x.bf16) narrow_to_bf16(dxf, dx->bits.data(), dx->bits.size(), ctx.pool);
  }
}

std::vector<Param*> Linear::params() {
  if (has_bias_) return {&weight_, &bias_};
  return {&weight_};
}

ir::Value* Linear::export_to(ir::Graph& graph, ir::Value* x) const {
  std::vector<ir::Value*> inputs = {
      x, export_constant(graph, weight_.name, weight_.shape, weight_.value)};
  if (has_bias_) inputs.push_back(export_constant(graph, bias_.name, bias_.shape, bias_.value));
  ir::Value* y = export_value(graph, name());
  ir::Node* node = graph.add_node("Gemm", inputs, {y}, graph.unique_name(name()));
  node->attributes["transB"] = ir::Attribute::of_int(1);
  return y;
}

}  // namespace lowp::train
