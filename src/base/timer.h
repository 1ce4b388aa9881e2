// base/timer.h: wall-clock timing for benchmarks and reports (never for tests).
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace lowp {

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  void restart() { start_ = std::chrono::steady_clock::now(); }
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

// Median of samples (the vector is reordered). Empty input gives 0.
inline double median(std::vector<double>& samples) {
  if (samples.empty()) return 0.0;
  auto mid = samples.begin() + static_cast<std::ptrdiff_t>(samples.size() / 2);
  std::nth_element(samples.begin(), mid, samples.end());
  return *mid;
}

}  // namespace lowp
