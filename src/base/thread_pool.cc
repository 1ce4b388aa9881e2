// base/thread_pool.cc
#include "base/thread_pool.h"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "base/error.h"

namespace lowp {
namespace {

// About 0.1 ms of pause instructions (tens of ns each on current x86 cores).
constexpr int kSpinRounds = 4000;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
  LOWP_CHECK(threads >= 1 && threads <= 1024, "thread count {} is out of range 1..1024", threads);
  // More threads than cores: a spinning thread would hold the core another one needs.
  unsigned cores = std::thread::hardware_concurrency();
  spin_rounds_ = (cores == 0 || static_cast<unsigned>(threads) <= cores) ? kSpinRounds : 0;
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stopping_.store(true, std::memory_order_release);
  {
    std::lock_guard lock(mutex_);  // a worker between its check and its wait sees it
  }
  work_ready_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::parallel_for(std::size_t n, std::size_t min_grain,
                              const std::function<void(std::size_t, std::size_t)>& fn) {
  parallel_for_slices(n, min_grain,
                      [&fn](int, std::size_t begin, std::size_t end) { fn(begin, end); });
}

void ThreadPool::parallel_for_slices(std::size_t n, std::size_t min_grain,
                                     const std::function<void(int, std::size_t, std::size_t)>& fn) {
  if (n == 0) return;
  std::size_t grain = std::max<std::size_t>(min_grain, 1);
  int slices = static_cast<int>(std::min<std::size_t>(threads(), (n + grain - 1) / grain));
  if (slices <= 1) {
    fn(0, 0, n);
    return;
  }
  job_ = &fn;
  job_n_ = n;
  job_slices_ = slices;
  // Every worker checks in, even one without a slice: the job's fields are then never
  // rewritten for the next call while a worker still reads them.
  pending_.store(threads() - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  {
    std::lock_guard lock(mutex_);  // sleeping workers re-check the counter under it
  }
  work_ready_.notify_all();
  auto [begin, end] = slice_range(n, slices, 0);
  fn(0, begin, end);
  for (int i = 0; i < spin_rounds_ && pending_.load(std::memory_order_acquire) != 0; ++i) cpu_relax();
  if (pending_.load(std::memory_order_acquire) != 0) {
    std::unique_lock lock(mutex_);
    work_done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
  }
  job_ = nullptr;
}

void ThreadPool::worker_loop(int index) {
  unsigned long seen = 0;
  for (;;) {
    auto ready = [&] {
      return stopping_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen;
    };
    for (int i = 0; i < spin_rounds_ && !ready(); ++i) cpu_relax();
    if (!ready()) {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, ready);
    }
    if (stopping_.load(std::memory_order_acquire)) return;
    seen = generation_.load(std::memory_order_acquire);
    const auto* job = job_;
    std::size_t n = job_n_;
    int slices = job_slices_;
    if (index < slices) {
      auto [begin, end] = slice_range(n, slices, index);
      (*job)(index, begin, end);
    }
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      {
        std::lock_guard lock(mutex_);  // the caller re-checks pending_ under it
      }
      work_done_.notify_one();
    }
  }
}

}  // namespace lowp
