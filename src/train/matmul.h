// train/matmul.h: the three matrix products of training, on lowp's packed fp32 GEMM.
//
// The GEMM kernel computes C = A W^T with W packed from [n][k] (or, cheaply, from a
// row-major [k][n] B, pack_gemm_f32_kn). Training needs forward Y = X W^T, input gradient
// dX = dY W and weight gradient dW = dY^T X; the last two are C = A B with B row-major,
// the first operand transposed for dW. These helpers say which is which once, so the
// layers never juggle leading dimensions. Each output is one fp32 sum over k in k order
// (the GEMM's contract), so results do not depend on the thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/bf16dot/bf16dot.h"
#include "kernels/gemm/gemm.h"
#include "train/layer.h"

namespace lowp::train {

// The pool when a GEMM of m x n x k multiply-adds is worth splitting, else null. A
// SimpleNet layer at batch 64 (64 x 50 x 100) costs less than handing half of it to
// another thread; splitting it made a training epoch several times slower at 2 threads on
// a busy machine. Rows are independent, so this changes no result.
inline ThreadPool* pool_for_gemm(ThreadPool* pool, std::size_t m, std::size_t n, std::size_t k) {
  constexpr std::size_t kMinMacs = std::size_t{1} << 20;
  return m * n * k >= kMinMacs ? pool : nullptr;
}

// Reusable buffers of the helpers (no allocation once sized).
struct MatmulScratch {
  PackedGemmWeights packed;
  std::vector<float> transposed;
  PackedBf16DotWeights packed_bf16;
  std::vector<std::uint16_t> rows_bf16;  // A's rows in bf16, padded to whole pairs
};

// C[m][n] = A[m][k] W^T + bias, W [n][k] (ldw): the forward product of a dense layer.
void matmul_abt(int m, int k, int n, const float* a, std::size_t lda, const float* w,
                std::size_t ldw, const float* bias, float* c, std::size_t ldc,
                MatmulScratch& scratch, ThreadPool* pool,
                MatrixPrecision precision = MatrixPrecision::fp32);

// C[m][n] = A[m][k] B[k][n] (row-major, leading dimensions lda, ldb, ldc).
void matmul_ab(int m, int k, int n, const float* a, std::size_t lda, const float* b,
               std::size_t ldb, float* c, std::size_t ldc, MatmulScratch& scratch,
               ThreadPool* pool, MatrixPrecision precision = MatrixPrecision::fp32);

// C[m][n] = A^T B with A stored [k][m] (lda) and B [k][n] (ldb): the weight gradient,
// k being the batch (or pixel) axis that is summed over, in order.
void matmul_atb(int m, int k, int n, const float* a, std::size_t lda, const float* b,
                std::size_t ldb, float* c, std::size_t ldc, MatmulScratch& scratch,
                ThreadPool* pool, MatrixPrecision precision = MatrixPrecision::fp32);

// bf16 training, operands already in bf16 bits:
//   C[m][n] = A W^T + bias, A [m][k] bf16 (lda), W [n][k] fp32 rounded while packed;
void matmul_abt_bf16_rows(int m, int k, int n, const std::uint16_t* a, std::size_t lda,
                          const float* w, std::size_t ldw, const float* bias, float* c,
                          std::size_t ldc, MatmulScratch& scratch, ThreadPool* pool);
//   C[m][n] = A^T B, A stored [k][m] fp32 (lda), B [k][n] bf16 (ldb).
void matmul_atb_bf16_b(int m, int k, int n, const float* a, std::size_t lda,
                       const std::uint16_t* b, std::size_t ldb, float* c, std::size_t ldc,
                       MatmulScratch& scratch, ThreadPool* pool);

// C = A W with W already packed for the bf16 kernels (B side), A fp32 [m][k] rounded
// to bf16 on the way in: the shared last step of the bf16 products.
void matmul_packed_bf16(int m, const float* a, std::size_t lda, const PackedBf16DotWeights& w,
                        const float* bias, float* c, std::size_t ldc, MatmulScratch& scratch,
                        ThreadPool* pool);

// out[j] = sum over rows r of a[r][j], a [rows][cols] with leading dimension lda: bias
// gradients. In double, in fixed blocks of rows (blocked_sums in train/layer.h): the same
// bits at any thread count.
void sum_rows(int rows, int cols, const float* a, std::size_t lda, float* out, ThreadPool* pool);
// The same over bf16 bits (bf16 training's gradients).
void sum_rows_bf16(int rows, int cols, const std::uint16_t* a, std::size_t lda, float* out,
                   ThreadPool* pool);

// The reference for the two products: plain loops in double.
void matmul_ab_ref(int m, int k, int n, const float* a, std::size_t lda, const float* b,
                   std::size_t ldb, float* c, std::size_t ldc);

}  // namespace lowp::train
