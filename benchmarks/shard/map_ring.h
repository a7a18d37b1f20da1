// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The textbook consistent-hash ring, as most implementations write it: a std::map from point to
// node, searched with lower_bound. The baseline for keel::shard::HashRing's sorted arrays: the
// same points (HashRing::PointOf), the same answers, a red-black tree instead of a flat array.
// Its memory is counted exactly with a CountingAllocator.
#ifndef KEEL_BENCHMARKS_SHARD_MAP_RING_H_
#define KEEL_BENCHMARKS_SHARD_MAP_RING_H_

#include <cstdint>
#include <functional>
#include <map>
#include <utility>

#include "keel/base/counting_allocator.h"
#include "keel/shard/hash_ring.h"

namespace keel::bench {

class MapRing {
 public:
  MapRing()
      : points_(base::CountingAllocator<std::pair<const uint64_t, shard::NodeId>>(&memory_)) {}
  MapRing(const MapRing&) = delete;
  MapRing& operator=(const MapRing&) = delete;

  void AddNode(shard::NodeId id, uint32_t vnodes, uint64_t seed) {
    // emplace keeps the first owner of a position; HashRing keeps the lower id. Nodes are added
    // in increasing id order here, so the two agree.
    for (uint32_t v = 0; v < vnodes; ++v)
      points_.emplace(shard::HashRing::PointOf(id, v, seed), id);
  }

  void RemoveNode(shard::NodeId id, uint32_t vnodes, uint64_t seed) {
    for (uint32_t v = 0; v < vnodes; ++v) {
      const auto it = points_.find(shard::HashRing::PointOf(id, v, seed));
      if (it != points_.end() && it->second == id) points_.erase(it);
    }
  }

  shard::NodeId Lookup(uint64_t key_hash) const {
    auto it = points_.lower_bound(key_hash);
    if (it == points_.end()) it = points_.begin();
    return it->second;
  }

  size_t memory_bytes() const { return static_cast<size_t>(memory_.bytes()); }

 private:
  base::MemoryCounter memory_;
  std::map<uint64_t, shard::NodeId, std::less<>,
           base::CountingAllocator<std::pair<const uint64_t, shard::NodeId>>>
      points_;
};

}  // namespace keel::bench

#endif  // KEEL_BENCHMARKS_SHARD_MAP_RING_H_
