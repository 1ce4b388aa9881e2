#include "passes/passes.h"
namespace lowp::passes {
std::size_t fold_batch_norm(ir::Graph&) { return 0; }
std::size_t fuse_matmul_bias(ir::Graph&) { return 0; }
std::size_t fuse_activations(ir::Graph&) { return 0; }
}
