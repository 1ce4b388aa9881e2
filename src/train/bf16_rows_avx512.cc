// train/bf16_rows_avx512.cc: the AVX-512 build of the bf16 row loops (bf16_rows_body.h).
#include "train/bf16_rows_body.h"

namespace lowp::train {

const Bf16RowKernels kBf16RowsAvx512 = kThisUnit;

}  // namespace lowp::train
