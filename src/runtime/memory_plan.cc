// runtime/memory_plan.cc
#include "runtime/memory_plan.h"

#include <algorithm>
#include <numeric>

#include "base/aligned_buffer.h"
#include "base/checked_math.h"

namespace lowp::runtime {

ArenaLayout plan_arena(const std::vector<Lifetime>& values) {
  ArenaLayout layout;
  layout.offsets.assign(values.size(), 0);
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return values[a].bytes > values[b].bytes;
  });
  struct Placed {
    std::size_t offset, end, first, last;
  };
  std::vector<Placed> placed;
  for (std::size_t i : order) {
    const Lifetime& v = values[i];
    std::size_t size = round_up(std::max<std::size_t>(v.bytes, 1), kBufferAlignment);
    // Blocks alive at the same time, by offset; take the first gap that fits.
    std::vector<const Placed*> overlapping;
    for (const Placed& p : placed) {
      if (p.first <= v.last && v.first <= p.last) overlapping.push_back(&p);
    }
    std::sort(overlapping.begin(), overlapping.end(),
              [](const Placed* a, const Placed* b) { return a->offset < b->offset; });
    std::size_t offset = 0;
    for (const Placed* p : overlapping) {
      if (p->offset >= offset + size) break;
      offset = std::max(offset, p->end);
    }
    layout.offsets[i] = offset;
    placed.push_back({offset, offset + size, v.first, v.last});
    layout.total_bytes = std::max(layout.total_bytes, offset + size);
  }
  // The lower bound: the most bytes alive at any one step.
  std::size_t steps = 0;
  for (const Lifetime& v : values) steps = std::max(steps, v.last + 1);
  std::vector<std::size_t> live(steps, 0);
  for (const Lifetime& v : values) {
    for (std::size_t s = v.first; s <= v.last; ++s) live[s] += round_up(std::max<std::size_t>(v.bytes, 1), kBufferAlignment);
  }
  for (std::size_t l : live) layout.lower_bound = std::max(layout.lower_bound, l);
  return layout;
}

}  // namespace lowp::runtime
