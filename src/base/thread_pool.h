// base/thread_pool.h: a fixed pool of worker threads for data-parallel kernels.
//
// parallel_for(n, fn) calls fn(begin, end) on contiguous, static slices of [0, n): slice t
// of T always gets the same range, so which thread computes which rows is fixed, and
// kernels that never reduce across slices give the same bits at every thread count. The
// calling thread runs slice 0 itself; with one thread, or n small, nothing is handed off.
//
// Hand-off: a model runs hundreds of parallel_for calls per inference, tens of
// microseconds apart, and waking a thread through a futex costs about as much on these
// VMs (MobileNetV2 at 2 threads ran slower than at 1). So workers spin on an atomic job
// counter for a while (kSpinRounds pause instructions, ~0.1 ms) after each job before
// sleeping on the condition variable, and the caller spins likewise while waiting. With
// more threads than cores nobody spins (a spinning thread would take the core another
// one needs).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lowp {

class ThreadPool {
 public:
  // threads >= 1 is the total, the calling thread included.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(begin, end) over at most threads() slices of [0, n) of at least min_grain
  // items each, and returns when all are done. fn must not throw.
  void parallel_for(std::size_t n, std::size_t min_grain,
                    const std::function<void(std::size_t, std::size_t)>& fn);
  // The same, telling fn which slice (0 .. threads() - 1) it runs, so that it can use
  // per-slice scratch memory: fn(slice, begin, end).
  void parallel_for_slices(std::size_t n, std::size_t min_grain,
                           const std::function<void(int, std::size_t, std::size_t)>& fn);

 private:
  void worker_loop(int index);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  // Written before generation_ is bumped (release), read after it is seen (acquire).
  const std::function<void(int, std::size_t, std::size_t)>* job_ = nullptr;
  std::size_t job_n_ = 0;
  int job_slices_ = 0;
  std::atomic<unsigned long> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stopping_{false};
  int spin_rounds_ = 0;  // 0 when there are more threads than cores
};

// The range of slice `index` when n items are cut into `slices` near-equal parts.
inline std::pair<std::size_t, std::size_t> slice_range(std::size_t n, int slices, int index) {
  std::size_t s = static_cast<std::size_t>(slices);
  std::size_t i = static_cast<std::size_t>(index);
  std::size_t base = n / s, extra = n % s;
  std::size_t begin = i * base + (i < extra ? i : extra);
  return {begin, begin + base + (i < extra ? 1 : 0)};
}

}  // namespace lowp
