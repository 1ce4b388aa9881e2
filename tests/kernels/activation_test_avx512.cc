// tests/kernels/activation_test_avx512.cc: the epilogue activations on 16 lanes
// (activation_test_body.h), compiled with the avx512 flags (its file name).
#include "kernels/activation_avx512.h"

#define LOWP_ACT_TEST_NAME Activation16Lanes
#define LOWP_ACT_LEVEL IsaLevel::avx512
#define LOWP_ACT_LANES 16
#define LOWP_ACT_FN activate16
#define LOWP_ACT_LOAD _mm512_loadu_ps
#define LOWP_ACT_STORE _mm512_storeu_ps
#include "activation_test_body.h"
