// passes/fold_flatten_transpose.cc: the NHWC -> NCHW transpose before a CNN's classifier,
// folded into the classifier's weights.
//
//   Transpose(x_nhwc, perm 0,3,1,2) -> Flatten(axis 1) -> dense layer W[K, N]
// becomes
//   Flatten(x_nhwc) -> dense layer W'[K, N],   W'[(h * W + w) * C + c] = W[(c * H + h) * W + w]
// The product is the same sum over the same terms (the rows of W are renamed, not
// changed); only the order of the terms in each dot product differs, which for the
// integer layers changes nothing and for fp32 is within the GEMM's own rounding. The
// transpose was a full pass over the feature map (for u8 data a byte shuffle as slow as
// the layer after it), and the NHWC layout exists only because of layout_nhwc.
//
// Dense layers: lowp::FusedGemm (W [K, N]) and lowp::QGemm (W [K, N], or [N, K] with
// transB), constant weights, the flattened value read by that layer only.
#include <cstring>

#include "passes/passes.h"
#include "passes/rewrite_util.h"

namespace lowp::passes {
namespace {

bool is_perm_to_nchw(const ir::Node& t) {
  return t.domain.empty() && t.op_type == "Transpose" && t.attr_ints("perm") == std::vector<std::int64_t>{0, 3, 1, 2};
}

// W with its K axis renamed from NCHW order to NHWC order.
std::shared_ptr<Tensor> permuted_rows(const Tensor& w, bool k_is_rows, std::int64_t c, std::int64_t h,
                                      std::int64_t wd) {
  std::int64_t k = c * h * wd;
  std::int64_t n = w.shape()[k_is_rows ? 1 : 0];
  std::size_t item = dtype_bits(w.dtype()) / 8;
  auto out = std::make_shared<Tensor>(w.dtype(), w.shape());
  const std::byte* src = w.raw();
  std::byte* dst = out->raw();
  for (std::int64_t ci = 0; ci < c; ++ci)
    for (std::int64_t hi = 0; hi < h; ++hi)
      for (std::int64_t wi = 0; wi < wd; ++wi) {
        std::int64_t from = (ci * h + hi) * wd + wi, to = (hi * wd + wi) * c + ci;
        if (k_is_rows) {
          std::memcpy(dst + static_cast<std::size_t>(to * n) * item, src + static_cast<std::size_t>(from * n) * item,
                      static_cast<std::size_t>(n) * item);
        } else {
          for (std::int64_t j = 0; j < n; ++j)
            std::memcpy(dst + static_cast<std::size_t>(j * k + to) * item, src + static_cast<std::size_t>(j * k + from) * item, item);
        }
      }
  return out;
}

}  // namespace

std::size_t fold_flatten_transpose(ir::Graph& graph) {
  UseMap uses = graph.uses();
  std::vector<ir::Node*> removed;
  std::size_t rewrites = 0;
  for (const auto& n : graph.nodes()) {
    ir::Node& flatten = *n;
    if (!flatten.domain.empty() || flatten.op_type != "Flatten" || flatten.attr_int("axis", 1) != 1) continue;
    ir::Value* t_out = flatten.inputs[0];
    ir::Node* t = t_out ? t_out->producer : nullptr;
    if (!t || !is_perm_to_nchw(*t) || sole_consumer(graph, uses, t_out) != &flatten) continue;
    const ir::TensorType& x = t->inputs[0]->type;  // NHWC
    if (!x.dims || x.rank() != 4) continue;
    const auto& d = *x.dims;  // the batch may stay symbolic
    if (!d[1].is_known() || !d[2].is_known() || !d[3].is_known()) continue;
    std::int64_t h = d[1].value, wd = d[2].value, c = d[3].value;
    ir::Node* layer = sole_consumer(graph, uses, flatten.outputs[0]);
    if (!layer || layer->domain != "lowp" || !layer->has_input(0) || layer->inputs[0] != flatten.outputs[0]) continue;
    std::size_t wi = 0;
    bool k_is_rows = true;
    if (layer->op_type == "FusedGemm") {
      wi = 1;
    } else if (layer->op_type == "QGemm") {
      wi = 3;
      k_is_rows = layer->attr_int("transB", 0) == 0;
    } else {
      continue;
    }
    const ir::Value* w = layer->inputs[wi];
    if (!w || !w->constant || w->constant->shape().rank() != 2) continue;
    if (w->constant->shape()[k_is_rows ? 0 : 1] != c * h * wd) continue;
    auto moved = permuted_rows(*w->constant, k_is_rows, c, h, wd);
    layer->inputs[wi] = graph.add_constant(graph.unique_name(w->name + "_nhwc_rows"), moved);
    flatten.inputs[0] = t->inputs[0];
    removed.push_back(t);
    ++rewrites;
  }
  graph.remove_nodes(removed);
  return rewrites;
}

}  // namespace lowp::passes
