// kernels/transpose/transpose.cc: the best-first list, its dispatch, and the scalar
// reference variant.
#include "kernels/transpose/transpose.h"

#include "base/cpu.h"

namespace lowp {
namespace {

constexpr KernelEntry<TransposeX32Fn> kTransposeX32Kernels[] = {
    {"x32_transpose_16x16__avx512", IsaLevel::avx512, x32_transpose_16x16__avx512},
    {"x32_transpose_8x8__avx2", IsaLevel::avx2, x32_transpose_8x8__avx2},
    {"x32_transpose_8x8__scalar", IsaLevel::scalar, x32_transpose_8x8__scalar},
};

const KernelEntry<TransposeX32Fn>& chosen() {
  static const KernelEntry<TransposeX32Fn>& entry =
      pick_kernel(std::span<const KernelEntry<TransposeX32Fn>>(kTransposeX32Kernels), active_isa());
  return entry;
}

}  // namespace

std::span<const KernelEntry<TransposeX32Fn>> transpose_x32_kernels() {
  return kTransposeX32Kernels;
}

void transpose_x32(const std::uint32_t* in, std::uint32_t* out, std::size_t rows, std::size_t cols,
                   std::size_t in_stride, std::size_t out_stride) {
  chosen().fn(in, out, rows, cols, in_stride, out_stride);
}

const char* transpose_x32_kernel_name() {
  return chosen().name;
}

// Full 8x8 tiles gather into a local array row by row (contiguous loads) and leave it
// column by column (contiguous stores); the edges go element by element.
void x32_transpose_8x8__scalar(const std::uint32_t* in, std::uint32_t* out, std::size_t rows, std::size_t cols,
                               std::size_t in_stride, std::size_t out_stride) {
  constexpr std::size_t kTile = 8;
  std::size_t r = 0;
  for (; r + kTile <= rows; r += kTile) {
    std::size_t c = 0;
    for (; c + kTile <= cols; c += kTile) {
      std::uint32_t tile[kTile][kTile];
      for (std::size_t i = 0; i < kTile; ++i) {
        for (std::size_t j = 0; j < kTile; ++j) tile[j][i] = in[(r + i) * in_stride + c + j];
      }
      for (std::size_t j = 0; j < kTile; ++j) {
        for (std::size_t i = 0; i < kTile; ++i) out[(c + j) * out_stride + r + i] = tile[j][i];
      }
    }
    for (; c < cols; ++c) {
      for (std::size_t i = 0; i < kTile; ++i) out[c * out_stride + r + i] = in[(r + i) * in_stride + c];
    }
  }
  for (; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) out[c * out_stride + r] = in[r * in_stride + c];
  }
}

}  // namespace lowp
