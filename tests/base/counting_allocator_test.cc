// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/base/counting_allocator.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::base {
namespace {

TEST_CASE("CountingAllocator counts a vector's capacity and returns to zero") {
  MemoryCounter memory;
  {
    std::vector<int64_t, CountingAllocator<int64_t>> v{CountingAllocator<int64_t>(&memory)};
    CHECK(memory.bytes() == 0);
    v.reserve(1000);
    CHECK(memory.bytes() == 8000);
    v.resize(1000);
    CHECK(memory.bytes() == 8000);
    v.shrink_to_fit();
    v.clear();
    v.shrink_to_fit();
    CHECK(memory.bytes() == 0);
    v.push_back(1);
    CHECK(memory.bytes() == static_cast<int64_t>(v.capacity() * sizeof(int64_t)));
  }
  CHECK(memory.bytes() == 0);
}

TEST_CASE("CountingAllocator follows rebinding in node-based and Abseil containers") {
  MemoryCounter memory;
  {
    using Pair = std::pair<const uint64_t, double>;
    absl::btree_map<uint64_t, double, std::less<uint64_t>, CountingAllocator<Pair>> tree{
        CountingAllocator<Pair>(&memory)};
    absl::flat_hash_map<uint64_t, double, absl::Hash<uint64_t>, std::equal_to<uint64_t>,
                        CountingAllocator<Pair>>
        table{CountingAllocator<Pair>(&memory)};
    std::map<uint64_t, double, std::less<uint64_t>, CountingAllocator<Pair>> map{
        CountingAllocator<Pair>(&memory)};
    Random rng(testing::TestSeed(9));
    int64_t previous = 0;
    for (int i = 0; i < 10000; ++i) {
      const uint64_t key = rng.Next();
      tree[key] = 1;
      table[key] = 2;
      map[key] = 3;
      CHECK(memory.bytes() >= previous);
      previous = memory.bytes();
    }
    // At least the payload, and a std::map node per element.
    CHECK(memory.bytes() > static_cast<int64_t>(3 * 10000 * sizeof(Pair)));
    tree.clear();
    table.clear();
    map.clear();
    table.rehash(0);
    CHECK(memory.bytes() < previous);
  }
  CHECK(memory.bytes() == 0);
}

TEST_CASE("CountingAllocators compare equal when they share a counter") {
  MemoryCounter a;
  MemoryCounter b;
  CHECK(CountingAllocator<int>(&a) == CountingAllocator<double>(&a));
  CHECK(!(CountingAllocator<int>(&a) == CountingAllocator<int>(&b)));
}

}  // namespace
}  // namespace keel::base
