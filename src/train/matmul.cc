// train/matmul.cc
#include "train/matmul.h"

#include <cstdint>
#include <vector>

#include "kernels/transpose/transpose.h"

namespace lowp::train {

void matmul_ab(int m, int k, int n, const float* a, std::size_t lda, const float* b,
               std::size_t ldb, float* c, std::size_t ldc, MatmulScratch& scratch,
               ThreadPool* pool) {
  pack_gemm_f32_kn(b, ldb, k, n, scratch.packed);
  GemmArgs args;
  args.m = m;
  args.a = a;
  args.lda = lda;
  args.w = &scratch.packed;
  args.c = c;
  args.ldc = ldc;
  gemm(args, pool_for_gemm(pool, static_cast<std::size_t>(m), static_cast<std::size_t>(n),
                           static_cast<std::size_t>(k)));
}

void matmul_atb(int m, int k, int n, const float* a, std::size_t lda, const float* b,
                std::size_t ldb, float* c, std::size_t ldc, MatmulScratch& scratch,
                ThreadPool* pool) {
  // A^T as a row-major [m][k] copy; the sum over k then runs in the GEMM in k order.
  scratch.transposed.resize(static_cast<std::size_t>(m) * static_cast<std::size_t>(k));
  transpose_x32(reinterpret_cast<const std::uint32_t*>(a),
                reinterpret_cast<std::uint32_t*>(scratch.transposed.data()),
                static_cast<std::size_t>(k), static_cast<std::size_t>(m), lda,
                static_cast<std::size_t>(k));
  matmul_ab(m, k, n, scratch.transposed.data(), static_cast<std::size_t>(k), b, ldb, c, ldc,
            scratch, pool);
}

void sum_rows(int rows, int cols, const float* a, std::size_t lda, float* out, ThreadPool* pool) {
  std::vector<double> acc(static_cast<std::size_t>(cols));
  const std::size_t width = static_cast<std::size_t>(cols);
  blocked_sums(
      pool, static_cast<std::size_t>(rows), width,
      [&](std::size_t begin, std::size_t end, double* sums) {
        for (std::size_t r = begin; r < end; ++r) {
          const float* row = a + r * lda;
          for (std::size_t j = 0; j < width; ++j) sums[j] += row[j];
        }
      },
      acc.data());
  for (std::size_t j = 0; j < width; ++j) out[j] = static_cast<float>(acc[j]);
}

void matmul_ab_ref(int m, int k, int n, const float* a, std::size_t lda, const float* b,
                   std::size_t ldb, float* c, std::size_t ldc) {
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double s = 0.0;
      for (int p = 0; p < k; ++p) {
        s += static_cast<double>(
                 a[static_cast<std::size_t>(i) * lda + static_cast<std::size_t>(p)]) *
             b[static_cast<std::size_t>(p) * ldb + static_cast<std::size_t>(j)];
      }
      c[static_cast<std::size_t>(i) * ldc + static_cast<std::size_t>(j)] = static_cast<float>(s);
    }
  }
}

}  // namespace lowp::train
