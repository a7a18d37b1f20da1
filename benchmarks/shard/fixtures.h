// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The structures the shard benchmarks run on, built once per node count and kept for the life of
// the binary: Google Benchmark calls a benchmark function several times while it sizes the
// iteration count, and rebuilding 1.6 million ring points (or a std::map of them) on each call
// would cost more than the measurement. Membership benchmarks add a node and remove it again, so
// the structures they share with the lookup benchmarks come back to the same membership.
#ifndef KEEL_BENCHMARKS_SHARD_FIXTURES_H_
#define KEEL_BENCHMARKS_SHARD_FIXTURES_H_

#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "keel/base/assert.h"
#include "keel/base/strings.h"
#include "keel/shard/bounded_load.h"
#include "keel/shard/hash_ring.h"
#include "keel/shard/maglev.h"
#include "map_ring.h"

namespace keel::shard::bench_fixtures {

// Keys placed in the bounded-load ring.
inline constexpr int kBoundedKeys = 1 << 16;

inline std::vector<NodeId> Ids(size_t n) {
  std::vector<NodeId> ids(n);
  std::iota(ids.begin(), ids.end(), NodeId{0});
  return ids;
}

template <typename T, typename Build>
T& Cached(size_t n, Build build) {
  static std::map<size_t, std::unique_ptr<T>> cache;
  std::unique_ptr<T>& slot = cache[n];
  if (slot == nullptr) slot = build(n);
  return *slot;
}

// Nodes 0..n-1 with kDefaultVnodes points each, seed 0.
inline HashRing& Ring(size_t n) {
  return Cached<HashRing>(n, [](size_t count) {
    auto ring = std::make_unique<HashRing>();
    std::vector<RingNode> nodes;
    for (const NodeId id : Ids(count)) nodes.push_back({.id = id});
    KEEL_ASSERT(ring->AddNodes(nodes).ok());
    return ring;
  });
}

// The same points in a std::map.
inline bench::MapRing& MapRing(size_t n) {
  return Cached<bench::MapRing>(n, [](size_t count) {
    auto ring = std::make_unique<bench::MapRing>();
    for (const NodeId id : Ids(count)) ring->AddNode(id, kDefaultVnodes, 0);
    return ring;
  });
}

// Nodes 0..n-1 in a table of Maglev::TableSizeFor(n) entries.
inline Maglev& MaglevTable(size_t n) {
  return Cached<Maglev>(n, [](size_t count) {
    auto table = std::make_unique<Maglev>(*Maglev::Create(*Maglev::TableSizeFor(count)));
    KEEL_ASSERT(table->SetNodes(Ids(count)).ok());
    return table;
  });
}

// Nodes 0..n-1, epsilon 0.25, and kBoundedKeys keys "key:0", "key:1", ... placed.
inline BoundedLoadRing& Bounded(size_t n) {
  return Cached<BoundedLoadRing>(n, [](size_t count) {
    auto ring = std::make_unique<BoundedLoadRing>(*BoundedLoadRing::Create({.epsilon = 0.25}));
    KEEL_ASSERT(ring->AddNodes(Ids(count)).ok());
    for (int i = 0; i < kBoundedKeys; ++i) KEEL_ASSERT(ring->AddKey(base::Cat("key:", i)).ok());
    return ring;
  });
}

}  // namespace keel::shard::bench_fixtures

#endif  // KEEL_BENCHMARKS_SHARD_FIXTURES_H_
