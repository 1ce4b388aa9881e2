// base/aligned_buffer.h: an owning, 64-byte aligned, zero-initialized array.
//
// 64 bytes is one cache line and one AVX-512 register: packed weights and activation
// buffers start on it so kernels may use aligned loads and never split a line.
//
// Buffers of 2 MiB and more (packed weights, the activation arena) start on a 2 MiB
// boundary and are advised to use transparent huge pages: a model's first run writes all
// of its packed weights into fresh memory, and with 4 KiB pages ResNet-18's 46 MB cost
// ~11,000 page faults there; huge pages also cut TLB misses when the weights stream.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <utility>

#ifdef __linux__
#include <sys/mman.h>
#endif

#include "base/checked_math.h"

namespace lowp {

inline constexpr std::size_t kBufferAlignment = 64;
inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

template <class T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t count) : AlignedBuffer(count, true) {}
  // Without the zero fill, for a buffer the caller overwrites at once (the padding after
  // `count` elements up to the alignment is still zeroed).
  struct Uninitialized {};
  AlignedBuffer(std::size_t count, Uninitialized) : AlignedBuffer(count, false) {}
  AlignedBuffer(const AlignedBuffer& other) : AlignedBuffer(other.size_) {
    if (size_ != 0) std::memcpy(static_cast<void*>(data_), other.data_, size_ * sizeof(T));
  }
  AlignedBuffer& operator=(const AlignedBuffer& other) {
    if (this != &other) *this = AlignedBuffer(other);
    return *this;
  }
  AlignedBuffer(AlignedBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    return *this;
  }
  ~AlignedBuffer() { std::free(data_); }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::size_t bytes() const { return size_ * sizeof(T); }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  std::span<T> span() { return {data_, size_}; }
  std::span<const T> span() const { return {data_, size_}; }

 private:
  AlignedBuffer(std::size_t count, bool zero) : size_(count) {
    if (count == 0) return;
    std::size_t used = checked_mul(count, sizeof(T), "aligned buffer");
    std::size_t bytes = round_up(used, kBufferAlignment);
    const bool huge = bytes >= kHugePageBytes;
    void* p = nullptr;
    if (::posix_memalign(&p, huge ? kHugePageBytes : kBufferAlignment, bytes) != 0) throw std::bad_alloc();
    data_ = static_cast<T*>(p);
#ifdef __linux__
    // Advice only: where transparent huge pages are off, this changes nothing.
    if (huge) ::madvise(p, bytes / kHugePageBytes * kHugePageBytes, MADV_HUGEPAGE);
#endif
    std::byte* raw = reinterpret_cast<std::byte*>(data_);
    std::memset(raw + (zero ? 0 : used), 0, zero ? bytes : bytes - used);
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace lowp
