// kernels/parallel.h: the row split every GEMM driver uses. Rows of a GEMM are
// independent, so any split gives the same bits; small m runs on the calling thread.
#pragma once

#include <algorithm>
#include <cstddef>

#include "base/thread_pool.h"
#include "kernels/gemm/gemm.h"

namespace lowp {

// Calls body(begin, end) over row ranges of [0, m), on the pool when it pays.
template <class Body>
void split_rows(ThreadPool* pool, int m, const Body& body) {
  constexpr int kMinRowsToSplit = 8;
  if (pool == nullptr || pool->threads() == 1 || m < kMinRowsToSplit) {
    body(std::size_t{0}, static_cast<std::size_t>(m));
    return;
  }
  pool->parallel_for(static_cast<std::size_t>(m), 4, body);
}

// For GEMMs with too few rows to split (batch 1 to 7): calls body(row_begin, row_end,
// panels) with all rows and a range of weight panels per thread, when each thread's share
// is worth the hand-off (kMinMacsPerSlice multiply-adds; a batch-1 SimpleNet layer is far
// below it and stays on the calling thread). Otherwise splits rows as split_rows does.
// Either way every output is computed exactly as on one thread. Panel ranges start at
// multiples of `block` (weights stored in blocks of panels: one stream per tile).
template <class Body>
void split_rows_or_panels(ThreadPool* pool, int m, int panels, int k, const Body& body, int block = 1) {
  constexpr std::size_t kMinRowsToSplit = 8;
  constexpr std::size_t kMinMacsPerSlice = std::size_t{1} << 18;
  if (pool != nullptr && pool->threads() > 1 && static_cast<std::size_t>(m) < kMinRowsToSplit) {
    const std::size_t blocks = static_cast<std::size_t>((panels + block - 1) / block);
    std::size_t macs_per_block =
        static_cast<std::size_t>(m) * static_cast<std::size_t>(k) * kGemmPanel * static_cast<std::size_t>(block);
    std::size_t grain = (kMinMacsPerSlice + macs_per_block - 1) / macs_per_block;
    if (blocks >= 2 * grain) {
      pool->parallel_for(blocks, grain, [&](std::size_t begin, std::size_t end) {
        body(std::size_t{0}, static_cast<std::size_t>(m),
             PanelRange{static_cast<int>(begin) * block, std::min(static_cast<int>(end) * block, panels)});
      });
      return;
    }
  }
  split_rows(pool, m, [&](std::size_t begin, std::size_t end) { body(begin, end, PanelRange{}); });
}

}  // namespace lowp
