// train/optimizer_loops.cc: the baseline build of the optimizer loops, the list and the choice.
#include "train/optimizer_loops.h"

#include "train/optimizer_loops_body.h"

namespace lowp::train {

const OptimizerLoops kOptimizerLoopsBaseline = kThisUnit;

namespace {
constexpr KernelEntry<const OptimizerLoops*> kList[] = {
    {"optimizer_update__avx512", IsaLevel::avx512, &kOptimizerLoopsAvx512},
    {"optimizer_update__baseline", IsaLevel::scalar, &kOptimizerLoopsBaseline},
};
}  // namespace

std::span<const KernelEntry<const OptimizerLoops*>> optimizer_loop_list() {
  return kList;
}

const OptimizerLoops& optimizer_loops() {
  static const OptimizerLoops* chosen = pick_kernel(optimizer_loop_list(), active_isa()).fn;
  return *chosen;
}

}  // namespace lowp::train
