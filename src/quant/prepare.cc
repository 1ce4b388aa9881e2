// quant/prepare.cc
#include "quant/prepare.h"

#include "ir/schema.h"
#include "passes/passes.h"

namespace lowp::quant {

std::unique_ptr<ir::Graph> prepare_for_quantization(const ir::Graph& model, const ModelBackend& backend) {
  auto g = model.clone();
  passes::remove_identities(*g);
  passes::fold_constants(*g, backend.evaluate);
  passes::eliminate_dead_nodes(*g);
  passes::fold_batch_norm(*g);
  passes::eliminate_dead_nodes(*g);
  g->sort_topologically();
  ir::infer_types(*g);
  return g;
}

}  // namespace lowp::quant
