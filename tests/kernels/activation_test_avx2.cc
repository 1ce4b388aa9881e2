// tests/kernels/activation_test_avx2.cc: the epilogue activations on 8 lanes
// (activation_test_body.h), compiled with the avx2 flags (its file name).
#include "kernels/activation_avx2.h"

#define LOWP_ACT_TEST_NAME Activation8Lanes
#define LOWP_ACT_LEVEL IsaLevel::avx2
#define LOWP_ACT_LANES 8
#define LOWP_ACT_FN activate8
#define LOWP_ACT_LOAD _mm256_loadu_ps
#define LOWP_ACT_STORE _mm256_storeu_ps
#include "activation_test_body.h"
