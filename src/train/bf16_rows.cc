// train/bf16_rows.cc: the baseline build of the bf16 row loops, the list and the choice.
#include "train/bf16_rows.h"

#include "train/bf16_rows_body.h"

namespace lowp::train {

const Bf16RowKernels kBf16RowsBaseline = kThisUnit;

namespace {
constexpr KernelEntry<const Bf16RowKernels*> kList[] = {
    {"bf16_training_rows__avx512", IsaLevel::avx512, &kBf16RowsAvx512},
    {"bf16_training_rows__baseline", IsaLevel::scalar, &kBf16RowsBaseline},
};
}  // namespace

std::span<const KernelEntry<const Bf16RowKernels*>> bf16_row_kernel_list() {
  return kList;
}

const Bf16RowKernels& bf16_row_kernels() {
  static const Bf16RowKernels* chosen = pick_kernel(bf16_row_kernel_list(), active_isa()).fn;
  return *chosen;
}

}  // namespace lowp::train
