// tests/kernels/kernel_test_util.h: what every kernel test needs: the variants this CPU
// can run (announcing the ones it cannot), seeded random data, and buffers that end
// against an unreadable page so that any read or write past the end faults.
#pragma once

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <span>
#include <vector>

#include "base/cpu.h"
#include "kernels/dispatch.h"

namespace lowp::testing {

// Every entry of a list that this CPU supports; prints the ones it has to leave out, so a
// run on a smaller machine says what it did not test.
template <class Fn>
std::vector<KernelEntry<Fn>> variants_to_test(std::span<const KernelEntry<Fn>> list) {
  std::vector<KernelEntry<Fn>> out;
  for (const KernelEntry<Fn>& e : list) {
    if (e.isa <= supported_isa()) {
      out.push_back(e);
    } else {
      std::printf("[  NOTE    ] %s not tested: this CPU lacks %s\n", e.name, isa_name(e.isa));
    }
  }
  return out;
}

// `count` elements of T placed so that the byte after the last one is the first byte of
// a PROT_NONE page.
template <class T>
class GuardedBuffer {
 public:
  explicit GuardedBuffer(std::size_t count) : count_(count) {
    std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    std::size_t bytes = count * sizeof(T);
    data_pages_ = (bytes + page - 1) / page * page;
    total_ = data_pages_ + page;
    void* p = mmap(nullptr, total_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    base_ = static_cast<std::byte*>(p);
    mprotect(base_ + data_pages_, page, PROT_NONE);
    data_ = reinterpret_cast<T*>(base_ + data_pages_ - bytes);
  }
  ~GuardedBuffer() { munmap(base_, total_); }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return count_; }
  T& operator[](std::size_t i) { return data_[i]; }

 private:
  std::byte* base_ = nullptr;
  std::size_t total_ = 0, data_pages_ = 0, count_ = 0;
  T* data_ = nullptr;
};

inline std::vector<float> random_floats(std::size_t n, std::uint64_t seed, float lo = -1.0f,
                                        float hi = 1.0f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

template <class Int>
std::vector<Int> random_ints(std::size_t n, std::uint64_t seed, int lo, int hi) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<Int> v(n);
  for (Int& x : v) x = static_cast<Int>(dist(rng));
  return v;
}

inline std::uint32_t float_bits(float x) {
  std::uint32_t b;
  std::memcpy(&b, &x, 4);
  return b;
}

}  // namespace lowp::testing
