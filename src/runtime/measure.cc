// runtime/measure.cc
#include "runtime/measure.h"

#include <vector>

#include "base/timer.h"

namespace lowp {

double median_latency_us(const std::function<void(std::size_t)>& run_one,
                         const LatencyOptions& options) {
  std::size_t sample = 0;
  for (int i = 0; i < options.warmup_calls; ++i) run_one(sample++);
  std::vector<double> per_call;
  for (int b = 0; b < options.blocks; ++b) {
    Stopwatch watch;
    for (int i = 0; i < options.calls_per_block; ++i) run_one(sample++);
    per_call.push_back(watch.seconds() * 1e6 / options.calls_per_block);
  }
  return median(per_call);
}

double throughput_samples_per_second(const std::function<void()>& run_all, std::size_t rows,
                                     double min_seconds, int repeats) {
  run_all();  // warm-up
  std::vector<double> rates;
  for (int r = 0; r < repeats; ++r) {
    Stopwatch watch;
    std::size_t done = 0;
    do {
      run_all();
      done += rows;
    } while (watch.seconds() < min_seconds);
    rates.push_back(static_cast<double>(done) / watch.seconds());
  }
  return median(rates);
}

}  // namespace lowp
