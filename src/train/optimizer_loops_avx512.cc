// train/optimizer_loops_avx512.cc: the AVX-512 build of the optimizer loops.
#include "train/optimizer_loops_body.h"

namespace lowp::train {

const OptimizerLoops kOptimizerLoopsAvx512 = kThisUnit;

}  // namespace lowp::train
