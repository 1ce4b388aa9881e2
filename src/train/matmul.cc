// train/matmul.cc
#include "train/matmul.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "base/error.h"
#include "kernels/transpose/transpose.h"

namespace lowp::train {

namespace {

// C = A W^T (+ bias) on the bf16 kernels, A already bf16 rows of even length lda; fp32
// or bf16 (rows) on the B side, already packed. The one call of both entry points below.
void run_bf16(int m, const std::uint16_t* a, std::size_t lda, const PackedBf16DotWeights& w,
              const float* bias, float* c, std::size_t ldc, ThreadPool* pool) {
  Bf16DotArgs args;
  args.m = m;
  args.a = a;
  args.lda = lda;
  args.w = &w;
  args.bias = bias;
  args.c = c;
  args.ldc = ldc;
  bf16dot_gemm(args, pool_for_gemm(pool, static_cast<std::size_t>(m),
                                   static_cast<std::size_t>(w.n), static_cast<std::size_t>(w.k)));
}

}  // namespace

void matmul_packed_bf16(int m, const float* a, std::size_t lda, const PackedBf16DotWeights& w,
                        const float* bias, float* c, std::size_t ldc, MatmulScratch& scratch,
                        ThreadPool* pool) {
  const std::size_t padded_k = static_cast<std::size_t>(w.padded_k());
  scratch.rows_bf16.resize(static_cast<std::size_t>(m) * padded_k);
  bf16dot_convert_rows(a, m, lda, w.k, scratch.rows_bf16.data(), padded_k);
  run_bf16(m, scratch.rows_bf16.data(), padded_k, w, bias, c, ldc, pool);
}

void matmul_abt_bf16_rows(int m, int k, int n, const std::uint16_t* a, std::size_t lda,
                          const float* w, std::size_t ldw, const float* bias, float* c,
                          std::size_t ldc, MatmulScratch& scratch, ThreadPool* pool) {
  pack_bf16dot_from_f32_nk(w, ldw, n, k, scratch.packed_bf16);
  const std::size_t padded_k = static_cast<std::size_t>(scratch.packed_bf16.padded_k());
  if (k % 2 != 0 || lda % 2 != 0) {
    // The kernels read whole pairs from rows of even length: copy with a zero pad.
    scratch.rows_bf16.assign(static_cast<std::size_t>(m) * padded_k, 0);
    for (int r = 0; r < m; ++r) {
      std::memcpy(scratch.rows_bf16.data() + static_cast<std::size_t>(r) * padded_k,
                  a + static_cast<std::size_t>(r) * lda,
                  static_cast<std::size_t>(k) * sizeof(std::uint16_t));
    }
    a = scratch.rows_bf16.data();
    lda = padded_k;
  }
  run_bf16(m, a, lda, scratch.packed_bf16, bias, c, ldc, pool);
}

void matmul_atb_bf16_b(int m, int k, int n, const float* a, std::size_t lda,
                       const std::uint16_t* b, std::size_t ldb, float* c, std::size_t ldc,
                       MatmulScratch& scratch, ThreadPool* pool) {
  scratch.transposed.resize(static_cast<std::size_t>(m) * static_cast<std::size_t>(k));
  transpose_x32(reinterpret_cast<const std::uint32_t*>(a),
                reinterpret_cast<std::uint32_t*>(scratch.transposed.data()),
                static_cast<std::size_t>(k), static_cast<std::size_t>(m), lda,
                static_cast<std::size_t>(k));
  pack_bf16dot_from_bf16_kn(b, ldb, k, n, scratch.packed_bf16);
  matmul_packed_bf16(m, scratch.transposed.data(), static_cast<std::size_t>(k),
                     scratch.packed_bf16, nullptr, c, ldc, scratch, pool);
}

void matmul_abt(int m, int k, int n, const float* a, std::size_t lda, const float* w,
                std::size_t ldw, const float* bias, float* c, std::size_t ldc,
                MatmulScratch& scratch, ThreadPool* pool, MatrixPrecision precision) {
  if (precision == MatrixPrecision::bf16) {
    pack_bf16dot_from_f32_nk(w, ldw, n, k, scratch.packed_bf16);
    matmul_packed_bf16(m, a, lda, scratch.packed_bf16, bias, c, ldc, scratch, pool);
    return;
  }
  LOWP_CHECK(ldw == static_cast<std::size_t>(k), "matmul_abt: fp32 weights must be dense rows");
  pack_gemm_f32(w, n, k, scratch.packed);
  GemmArgs args;
  args.m = m;
  args.a = a;
  args.lda = lda;
  args.w = &scratch.packed;
  args.bias = bias;
  args.c = c;
  args.ldc = ldc;
  gemm(args, pool_for_gemm(pool, static_cast<std::size_t>(m), static_cast<std::size_t>(n),
                           static_cast<std::size_t>(k)));
}

void matmul_ab(int m, int k, int n, const float* a, std::size_t lda, const float* b,
               std::size_t ldb, float* c, std::size_t ldc, MatmulScratch& scratch,
               ThreadPool* pool, MatrixPrecision precision) {
  if (precision == MatrixPrecision::bf16) {
    pack_bf16dot_from_f32_kn(b, ldb, k, n, scratch.packed_bf16);
    matmul_packed_bf16(m, a, lda, scratch.packed_bf16, nullptr, c, ldc, scratch, pool);
    return;
  }
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
                ThreadPool* pool, MatrixPrecision precision) {
  // A^T as a row-major [m][k] copy; the sum over k then runs in the GEMM in k order.
  scratch.transposed.resize(static_cast<std::size_t>(m) * static_cast<std::size_t>(k));
  transpose_x32(reinterpret_cast<const std::uint32_t*>(a),
                reinterpret_cast<std::uint32_t*>(scratch.transposed.data()),
                static_cast<std::size_t>(k), static_cast<std::size_t>(m), lda,
                static_cast<std::size_t>(k));
  matmul_ab(m, k, n, scratch.transposed.data(), static_cast<std::size_t>(k), b, ldb, c, ldc,
            scratch, pool, precision);
}

namespace {

template <class T>
void sum_rows_of(int rows, int cols, const T* a, std::size_t lda, float* out, ThreadPool* pool) {
  std::vector<double> acc(static_cast<std::size_t>(cols));
  const std::size_t width = static_cast<std::size_t>(cols);
  blocked_sums(
      pool, static_cast<std::size_t>(rows), width,
      [&](std::size_t begin, std::size_t end, double* sums) {
        for (std::size_t r = begin; r < end; ++r) {
          const T* row = a + r * lda;
          for (std::size_t j = 0; j < width; ++j) sums[j] += value_of(row[j]);
        }
      },
      acc.data());
  for (std::size_t j = 0; j < width; ++j) out[j] = static_cast<float>(acc[j]);
}

}  // namespace

void sum_rows(int rows, int cols, const float* a, std::size_t lda, float* out, ThreadPool* pool) {
  sum_rows_of(rows, cols, a, lda, out, pool);
}

void sum_rows_bf16(int rows, int cols, const std::uint16_t* a, std::size_t lda, float* out,
                   ThreadPool* pool) {
  sum_rows_of(rows, cols, a, lda, out, pool);
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
