// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// An allocator that counts the bytes its containers hold, for reporting memory use exactly.
//
// keel's data structures report how much memory they use ("bytes per point" is one of the
// proximity-service trade-offs). Estimating that from sizes and load factors is guesswork for a
// B-tree or a Swiss table; counting what the containers actually ask the allocator for is not.
// Every container of a structure is given a CountingAllocator pointing at one MemoryCounter, which
// then holds the live bytes requested (the allocator's own bookkeeping, malloc headers and
// rounding, is not included).
//
// Example:
//
//   keel::base::MemoryCounter memory;
//   std::vector<int, keel::base::CountingAllocator<int>> v{
//       keel::base::CountingAllocator<int>(&memory)};
//   v.reserve(1000);
//   memory.bytes();  // 4000
//
// A structure holding containers with such allocators must not be copied or moved in a way that
// leaves them pointing at another object's counter; keel's indexes are neither copyable nor
// movable for that reason. The counter is atomic, so containers counted by one counter may be
// modified from several threads (each container still needs its own synchronisation).
#ifndef KEEL_BASE_COUNTING_ALLOCATOR_H_
#define KEEL_BASE_COUNTING_ALLOCATOR_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "keel/base/assert.h"

namespace keel::base {

// Live bytes allocated through the CountingAllocators that point here.
class MemoryCounter {
 public:
  MemoryCounter() = default;
  MemoryCounter(const MemoryCounter&) = delete;
  MemoryCounter& operator=(const MemoryCounter&) = delete;

  [[nodiscard]] int64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }

  void Add(int64_t delta) { bytes_.fetch_add(delta, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> bytes_{0};
};

template <typename T>
class CountingAllocator {
 public:
  using value_type = T;

  // REQUIRES: counter is not null and outlives every container using this allocator.
  explicit CountingAllocator(MemoryCounter* counter) : counter_(counter) {
    KEEL_ASSERT(counter != nullptr);
  }

  template <typename U>
  CountingAllocator(const CountingAllocator<U>& other)  // NOLINT: rebinding must be implicit
      : counter_(other.counter()) {}

  T* allocate(size_t n) {
    T* p = std::allocator<T>().allocate(n);
    counter_->Add(static_cast<int64_t>(n * sizeof(T)));
    return p;
  }

  void deallocate(T* p, size_t n) {
    counter_->Add(-static_cast<int64_t>(n * sizeof(T)));
    std::allocator<T>().deallocate(p, n);
  }

  [[nodiscard]] MemoryCounter* counter() const { return counter_; }

  template <typename U>
  friend bool operator==(const CountingAllocator& a, const CountingAllocator<U>& b) {
    return a.counter() == b.counter();
  }

 private:
  MemoryCounter* counter_;
};

}  // namespace keel::base

#endif  // KEEL_BASE_COUNTING_ALLOCATOR_H_
