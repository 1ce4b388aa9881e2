// kernels/parallel.h: the row split every GEMM driver uses. Rows of a GEMM are
// independent, so any split gives the same bits; small m runs on the calling thread.
#pragma once

#include <cstddef>

#include "base/thread_pool.h"

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

}  // namespace lowp
