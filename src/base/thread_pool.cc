// base/thread_pool.cc
#include "base/thread_pool.h"

#include <algorithm>

#include "base/error.h"

namespace lowp {

ThreadPool::ThreadPool(int threads) {
  LOWP_CHECK(threads >= 1 && threads <= 1024, "thread count {} is out of range 1..1024", threads);
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
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
  {
    std::lock_guard lock(mutex_);
    job_ = &fn;
    job_n_ = n;
    job_slices_ = slices;
    pending_ = slices - 1;
    ++generation_;
  }
  work_ready_.notify_all();
  auto [begin, end] = slice_range(n, slices, 0);
  fn(0, begin, end);
  std::unique_lock lock(mutex_);
  work_done_.wait(lock, [this] { return pending_ == 0; });
  job_ = nullptr;
}

void ThreadPool::worker_loop(int index) {
  unsigned long seen = 0;
  for (;;) {
    const std::function<void(int, std::size_t, std::size_t)>* job = nullptr;
    std::size_t n = 0;
    int slices = 0;
    {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      job = job_;
      n = job_n_;
      slices = job_slices_;
    }
    if (index < slices) {
      auto [begin, end] = slice_range(n, slices, index);
      (*job)(index, begin, end);
      std::lock_guard lock(mutex_);
      if (--pending_ == 0) work_done_.notify_one();
    }
  }
}

}  // namespace lowp
