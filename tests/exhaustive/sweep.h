// tests/exhaustive/sweep.h: run a check over every 32-bit pattern on all cores.
//
// The 2^32 fp32 patterns are cut into chunks that threads take from a shared counter
// (std::thread::hardware_concurrency() of them), so uneven chunks (NaN ranges are cheap,
// others not) still keep every core busy. Each thread keeps the count of mismatches and
// the first few; the test reports the lowest inputs, in hex, with ADD_FAILURE, never
// millions of EXPECTs.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lowp::testing {

struct Mismatch {
  std::uint64_t input;
  std::uint64_t got;
  std::uint64_t want;
  const char* note;  // e.g. which variant or mode; never null
};

// What one thread (or all of them, merged) found.
class Mismatches {
 public:
  static constexpr std::size_t kKept = 8;

  void add(std::uint64_t input, std::uint64_t got, std::uint64_t want, const char* note = "") {
    ++count_;
    if (first_.size() < kKept) first_.push_back({input, got, want, note});
  }
  void merge(const Mismatches& other) {
    count_ += other.count_;
    first_.insert(first_.end(), other.first_.begin(), other.first_.end());
    std::sort(first_.begin(), first_.end(),
              [](const Mismatch& a, const Mismatch& b) { return a.input < b.input; });
    if (first_.size() > kKept) first_.resize(kKept);
  }
  std::uint64_t count() const { return count_; }
  const std::vector<Mismatch>& first() const { return first_; }

 private:
  std::uint64_t count_ = 0;
  std::vector<Mismatch> first_;
};

inline unsigned sweep_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

// Calls check(begin, end, mismatches) on chunks covering [0, total), chunk_size at a time
// (total is a multiple of chunk_size), from sweep_threads() threads. check must not use
// gtest assertions (they are not thread-safe here): it records into `mismatches`.
template <class Check>
Mismatches parallel_sweep(std::uint64_t total, std::uint64_t chunk_size, const Check& check) {
  std::atomic<std::uint64_t> next{0};
  std::mutex merge_mutex;
  Mismatches all;
  auto worker = [&] {
    Mismatches mine;
    for (;;) {
      const std::uint64_t begin = next.fetch_add(chunk_size);
      if (begin >= total) break;
      check(begin, std::min(begin + chunk_size, total), mine);
    }
    std::lock_guard<std::mutex> lock(merge_mutex);
    all.merge(mine);
  };
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < sweep_threads(); ++t) threads.emplace_back(worker);
  worker();
  for (std::thread& t : threads) t.join();
  return all;
}

// ADD_FAILURE for each kept mismatch (lowest inputs first) and one for the total.
inline void report(const Mismatches& found, const std::string& what, int input_hex_digits,
                   int output_hex_digits) {
  if (found.count() == 0) return;
  for (const Mismatch& m : found.first()) {
    char line[256];
    std::snprintf(line, sizeof line,
                  "%s%s%s: input 0x%0*" PRIx64 " gave 0x%0*" PRIx64 ", expected 0x%0*" PRIx64,
                  what.c_str(), *m.note != '\0' ? " " : "", m.note, input_hex_digits, m.input,
                  output_hex_digits, m.got, output_hex_digits, m.want);
    ADD_FAILURE() << line;
  }
  ADD_FAILURE() << what << ": " << found.count() << " mismatching inputs in all";
}

}  // namespace lowp::testing
