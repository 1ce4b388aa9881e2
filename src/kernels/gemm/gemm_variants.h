// kernels/gemm/gemm_variants.h: the compiled variants behind gemm.h's lists. Internal to
// kernels/gemm; each is defined in the translation unit of its ISA.
#pragma once

#include "kernels/gemm/gemm.h"

namespace lowp {

void gemm_packed_scalar(const GemmArgs& args);  // every weight type

void gemm_f32_avx2(const GemmArgs& args);
void gemm_f16_avx2(const GemmArgs& args);
void gemm_bf16_avx2(const GemmArgs& args);
void gemm_q4_avx2(const GemmArgs& args);

void gemm_f32_avx512(const GemmArgs& args);
void gemm_f16_avx512(const GemmArgs& args);
void gemm_bf16_avx512(const GemmArgs& args);
void gemm_q4_avx512(const GemmArgs& args);

}  // namespace lowp
