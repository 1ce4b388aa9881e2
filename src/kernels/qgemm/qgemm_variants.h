// kernels/qgemm/qgemm_variants.h: the compiled variants behind qgemm.h's list. Internal.
#pragma once

#include "kernels/qgemm/qgemm.h"

namespace lowp {

void qgemm_scalar(const QGemmArgs& args);
void qgemm_avx2(const QGemmArgs& args);
void qgemm_avx512(const QGemmArgs& args);
void qgemm_avx512vnni(const QGemmArgs& args);

}  // namespace lowp
