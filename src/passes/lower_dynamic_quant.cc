// passes/lower_dynamic_quant.cc: dynamically quantized layers (what `lowp quantize
// --precision int8-dynamic` and ONNX Runtime's quantize_dynamic write) become one
// lowp::DynamicQGemm, run by the int8 GEMM, instead of five ops and two int32 / fp32
// round trips through memory.
//
//   x_q, x_s, x_zp = DynamicQuantizeLinear(X)
//   acc   = MatMulInteger(x_q, W, x_zp [, W_zp])    W constant 2-D int8/uint8, W_zp constant
//   s     = Mul(x_s, W_scale)                        W_scale constant float: scalar or [N]
//   Y     = Mul(Cast<float>(acc), s)                 (either operand order)
//   [Y'   = Add(Y, bias)]                            bias constant float [N]
// ->
//   Y | Y' = lowp::DynamicQGemm(X, W - W_zp (int8 [K, N]), W_scale [N] [, bias])
//
// The fused op computes exactly the pattern (runtime/ops/quant.cc): the same dynamic
// quantization of the whole X, exact int32 sums of (x_q - x_zp) (W - W_zp), then
// float(acc) * float(x_s * W_scale[j]), then + bias[j], each a single fp32 rounding in
// this order, so its outputs equal the unfused ops' bit for bit. Conditions that keep this
// exact: W - W_zp fits int8, and K x 255 x 128 < 2^31 (no int32 wrap in the GEMM, where
// ONNX would wrap modulo 2^32); otherwise the pattern stays and runs op by op.
//
// The DynamicQuantizeLinear may be shared (Q, K and V projections read one X): each fused
// op then quantizes X itself, a pass over X that is small beside the GEMM (K x N per row),
// and the shared node goes once its last reader is fused.
#include <cstring>
#include <optional>
#include <set>

#include "base/error.h"
#include "ir/schema.h"
#include "passes/passes.h"
#include "passes/rewrite_util.h"

namespace lowp::passes {
namespace {

// The integer values of a constant int8 / uint8 tensor.
std::optional<std::vector<std::int32_t>> int8_values(const ir::Value* v) {
  if (!v || !v->constant) return std::nullopt;
  const Tensor& t = *v->constant;
  std::vector<std::int32_t> out(t.elements());
  if (t.dtype() == DType::int8) {
    auto s = t.values<std::int8_t>();
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = s[i];
  } else if (t.dtype() == DType::uint8) {
    auto s = t.values<std::uint8_t>();
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = s[i];
  } else {
    return std::nullopt;
  }
  return out;
}

// A constant float32 of one value or of n values along a rank-1 shape: per-column data.
bool per_column(const ir::Value* v, std::int64_t n, bool allow_scalar) {
  const Tensor* t = float_constant(v);
  if (!t) return false;
  if (allow_scalar && t->elements() == 1 && t->shape().rank() <= 1) return true;
  return t->shape().rank() == 1 && t->shape()[0] == n;
}

// The other operand of a binary node, given one of them.
ir::Value* other_operand(const ir::Node& n, const ir::Value* one) {
  if (n.inputs.size() != 2) return nullptr;
  if (n.inputs[0] == one) return n.inputs[1];
  if (n.inputs[1] == one) return n.inputs[0];
  return nullptr;
}

bool lower(ir::Graph& graph, const UseMap& uses, ir::Node& mmi, std::vector<ir::Node*>& removed) {
  if (mmi.inputs.size() < 3 || !mmi.has_input(2)) return false;
  ir::Value* xq = mmi.inputs[0];
  ir::Node* dql = xq ? xq->producer : nullptr;
  if (!is_op(dql, "DynamicQuantizeLinear") || dql->outputs.size() != 3 || dql->outputs[0] != xq ||
      mmi.inputs[2] != dql->outputs[2] || !dql->outputs[1]) {
    return false;
  }
  ir::Value* x = dql->inputs[0];
  if (!x || x->type.dtype != DType::float32) return false;

  // Weights minus their zero point, as int8 [K, N].
  const ir::Value* w = mmi.inputs[1];
  if (!w || !w->constant || w->constant->shape().rank() != 2) return false;
  const std::int64_t k = w->constant->shape()[0], n = w->constant->shape()[1];
  if (k < 1 || n < 1 || k > (std::int64_t{1} << 31) / (255 * 128) - 1) return false;
  auto wv = int8_values(w);
  if (!wv) return false;
  std::vector<std::int32_t> zv = {0};
  if (mmi.has_input(3)) {
    const ir::Value* z = mmi.inputs[3];
    auto zz = int8_values(z);
    if (!zz || z->constant->dtype() != w->constant->dtype()) return false;
    bool scalar = zz->size() == 1 && z->constant->shape().rank() <= 1;
    bool column = z->constant->shape().rank() == 1 && z->constant->shape()[0] == n;
    if (!scalar && !column) return false;
    zv = std::move(*zz);
  }
  auto weights = std::make_shared<Tensor>(DType::int8, Shape{k, n});
  auto dst = weights->values<std::int8_t>();
  const auto cols = static_cast<std::size_t>(n);
  std::vector<std::int32_t> zero(cols);
  for (std::size_t j = 0; j < cols; ++j) zero[j] = zv[zv.size() == 1 ? 0 : j];
  bool fits = true;
  for (std::size_t r = 0; r < static_cast<std::size_t>(k); ++r) {
    const std::int32_t* src = wv->data() + r * cols;
    std::int8_t* out = dst.data() + r * cols;
    for (std::size_t j = 0; j < cols; ++j) {
      std::int32_t v = src[j] - zero[j];
      fits = fits && v >= -128 && v <= 127;
      out[j] = static_cast<std::int8_t>(v);
    }
  }
  if (!fits) return false;

  // Cast to float, then Mul by x_scale * W_scale.
  ir::Node* cast = sole_consumer(graph, uses, mmi.outputs[0]);
  if (!is_op(cast, "Cast") || cast->attr_int("to", 0) != 1) return false;
  ir::Node* mul = sole_consumer(graph, uses, cast->outputs[0]);
  if (!is_op(mul, "Mul")) return false;
  ir::Value* scale = other_operand(*mul, cast->outputs[0]);
  ir::Node* scale_mul = scale ? scale->producer : nullptr;
  if (!is_op(scale_mul, "Mul") || graph.is_graph_output(scale)) return false;
  ir::Value* w_scale = other_operand(*scale_mul, dql->outputs[1]);
  if (!w_scale || !per_column(w_scale, n, true)) return false;

  // An optional bias Add.
  ir::Node* last = mul;
  ir::Value* bias = nullptr;
  ir::Node* add = sole_consumer(graph, uses, mul->outputs[0]);
  if (is_op(add, "Add")) {
    ir::Value* b = other_operand(*add, mul->outputs[0]);
    if (b && per_column(b, n, false)) {
      bias = b;
      last = add;
    }
  }

  // Rewrite the MatMulInteger in place; it writes the last node's output.
  auto scales = std::make_shared<Tensor>(DType::float32, Shape{n});
  auto sv = w_scale->constant->values<float>();
  auto sd = scales->values<float>();
  for (std::size_t j = 0; j < sd.size(); ++j) sd[j] = sv[sv.size() == 1 ? 0 : j];
  std::string stem = mmi.name.empty() ? mmi.outputs[0]->name : mmi.name;
  ir::Value* out = last->outputs[0];
  mmi.outputs[0]->producer = nullptr;
  mmi.inputs = {x, graph.add_constant(graph.unique_name(stem + "_weights_s8"), weights),
                graph.add_constant(graph.unique_name(stem + "_w_scales"), scales)};
  if (bias) mmi.inputs.push_back(bias);
  mmi.attributes.clear();
  mmi.op_type = "DynamicQGemm";
  mmi.domain = "lowp";
  last->outputs[0] = nullptr;
  mmi.outputs = {out};
  out->producer = &mmi;
  removed.push_back(cast);
  removed.push_back(mul);
  if (add && last == add) removed.push_back(add);
  // The scale Mul and the DynamicQuantizeLinear go once nothing reads them (dead nodes).
  return true;
}

}  // namespace

std::size_t lower_dynamic_quant(ir::Graph& graph) {
  bool any = false;
  for (const auto& n : graph.nodes()) any = any || is_op(n.get(), "MatMulInteger");
  if (!any) return 0;
  infer_types_where_possible(graph);
  std::size_t rewrites = 0;
  std::vector<ir::Node*> removed;
  std::set<const ir::Node*> gone;
  UseMap uses = graph.uses();
  for (const auto& n : graph.nodes()) {
    if (!is_op(n.get(), "MatMulInteger") || gone.contains(n.get())) continue;
    std::size_t before = removed.size();
    if (!lower(graph, uses, *n, removed)) continue;
    ++rewrites;
    for (std::size_t i = before; i < removed.size(); ++i) gone.insert(removed[i]);
    uses = graph.uses();
  }
  graph.remove_nodes(removed);
  if (rewrites) {
    eliminate_dead_nodes(graph);
    graph.sort_topologically();
  }
  return rewrites;
}

}  // namespace lowp::passes
