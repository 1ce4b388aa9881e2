// tests/kernels/transpose_test.cc: every transpose variant the CPU runs equals the plain
// definition out[c][r] = in[r][c], on sizes around the 8 and 16 tiles, with row strides
// wider than the rows (a sub-matrix) and the input and output ending against unreadable
// pages, so that any access past the last element faults.
#include <gtest/gtest.h>

#include "kernel_test_util.h"
#include "kernels/transpose/transpose.h"

namespace lowp {
namespace {

constexpr std::size_t kSizes[] = {0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 33, 100};

TEST(Transpose, EveryVariantMatchesTheDefinition) {
  for (const auto& variant : testing::variants_to_test(transpose_x32_kernels())) {
    for (std::size_t rows : kSizes) {
      for (std::size_t cols : kSizes) {
        for (std::size_t pad : {std::size_t{0}, std::size_t{3}}) {
          std::size_t in_stride = cols + pad, out_stride = rows + pad;
          // The last row needs only `cols` elements: the buffer ends there.
          std::size_t in_count = rows == 0 ? 0 : (rows - 1) * in_stride + cols;
          std::size_t out_count = cols == 0 ? 0 : (cols - 1) * out_stride + rows;
          testing::GuardedBuffer<std::uint32_t> in(in_count), out(out_count);
          for (std::size_t i = 0; i < in_count; ++i) in[i] = static_cast<std::uint32_t>(i * 2654435761u + 7);
          for (std::size_t i = 0; i < out_count; ++i) out[i] = 0xDEADBEEFu;
          variant.fn(in.data(), out.data(), rows, cols, in_stride, out_stride);
          SCOPED_TRACE(fmt::format("{} {}x{} pad {}", variant.name, rows, cols, pad));
          for (std::size_t c = 0; c < cols; ++c) {
            for (std::size_t r = 0; r < rows; ++r) {
              ASSERT_EQ(out[c * out_stride + r], in[r * in_stride + c]) << "r " << r << " c " << c;
            }
            for (std::size_t r = rows; r < rows + pad && c + 1 < cols; ++r) {
              ASSERT_EQ(out[c * out_stride + r], 0xDEADBEEFu) << "padding written at c " << c;
            }
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace lowp
