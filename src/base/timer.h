// base/timer.h: wall-clock (and thread CPU) timing for benchmarks and reports (never for
// tests).
#pragma once

#include <algorithm>
#include <chrono>
#include <ctime>
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

// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID): on a shared machine, the time
// the scheduler gives other processes is not counted. Single-threaded measurements only.
class ThreadCpuStopwatch {
 public:
  ThreadCpuStopwatch() : start_(now()) {}
  void restart() { start_ = now(); }
  double seconds() const { return now() - start_; }

 private:
  static double now() {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
  }
  double start_;
};

// Median of samples (the vector is reordered). Empty input gives 0.
inline double median(std::vector<double>& samples) {
  if (samples.empty()) return 0.0;
  auto mid = samples.begin() + static_cast<std::ptrdiff_t>(samples.size() / 2);
  std::nth_element(samples.begin(), mid, samples.end());
  return *mid;
}

}  // namespace lowp
