// runtime/memory_plan.h: places activations in one arena by liveness.
//
// Each value lives from the step that writes it to the last step that reads it. Values
// are placed largest first at the lowest 64-byte aligned offset that does not overlap a
// placed value alive at the same time (greedy by size, as TFLite's arena planner does):
// simple, deterministic, and within a few percent of the lower bound (the largest sum of
// simultaneously live sizes) on the CNNs and encoders measured in docs/design.md.
#pragma once

#include <cstddef>
#include <vector>

namespace lowp::runtime {

struct Lifetime {
  std::size_t first = 0;  // step that writes it
  std::size_t last = 0;   // last step that reads it (>= first)
  std::size_t bytes = 0;
};

struct ArenaLayout {
  std::vector<std::size_t> offsets;  // per lifetime
  std::size_t total_bytes = 0;
  std::size_t lower_bound = 0;  // peak of live bytes: no placement can use less
};

ArenaLayout plan_arena(const std::vector<Lifetime>& values);

}  // namespace lowp::runtime
