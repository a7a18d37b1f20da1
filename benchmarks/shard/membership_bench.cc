// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What a membership change costs: one node added to n and removed again, per iteration. The ring
// rebuilds its sorted arrays (O(n * vnodes)); the std::map baseline inserts and erases 160 tree
// nodes; Maglev repopulates its whole table twice (O(M log M)); bounded loads also revisit every
// one of its 2^16 keys to find those the new node takes.
#include <benchmark/benchmark.h>

#include <numeric>
#include <string>
#include <vector>

#include "keel/base/strings.h"
#include "keel/shard/bounded_load.h"
#include "keel/shard/hash_ring.h"
#include "keel/shard/maglev.h"
#include "map_ring.h"

namespace keel::shard {
namespace {

NodeId Nodes(const benchmark::State& state) { return static_cast<NodeId>(state.range(0)); }

void BM_HashRingAddRemove(benchmark::State& state) {
  HashRing ring;
  std::vector<RingNode> nodes;
  for (NodeId id = 0; id < Nodes(state); ++id) nodes.push_back({.id = id});
  KEEL_ASSERT(ring.AddNodes(nodes).ok());
  for (auto _ : state) {
    KEEL_ASSERT(ring.AddNode({.id = Nodes(state)}).ok());
    KEEL_ASSERT(ring.RemoveNode(Nodes(state)).ok());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_MapRingAddRemoveBaseline(benchmark::State& state) {
  bench::MapRing ring;
  for (NodeId id = 0; id < Nodes(state); ++id) ring.AddNode(id, kDefaultVnodes, 0);
  for (auto _ : state) {
    ring.AddNode(Nodes(state), kDefaultVnodes, 0);
    ring.RemoveNode(Nodes(state), kDefaultVnodes, 0);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_MaglevAddRemove(benchmark::State& state) {
  Maglev table = *Maglev::Create(*Maglev::TableSizeFor(Nodes(state) + 1));
  std::vector<NodeId> ids(Nodes(state));
  std::iota(ids.begin(), ids.end(), NodeId{0});
  KEEL_ASSERT(table.SetNodes(ids).ok());
  state.counters["table_size"] = table.table_size();
  for (auto _ : state) {
    KEEL_ASSERT(table.AddNode(Nodes(state)).ok());
    KEEL_ASSERT(table.RemoveNode(Nodes(state)).ok());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_BoundedLoadAddRemove(benchmark::State& state) {
  BoundedLoadRing ring = *BoundedLoadRing::Create({.epsilon = 0.25});
  for (NodeId id = 0; id < Nodes(state); ++id) KEEL_ASSERT(ring.AddNode(id).ok());
  for (int i = 0; i < (1 << 16); ++i) KEEL_ASSERT(ring.AddKey(base::Cat("key:", i)).ok());
  size_t moved = 0;
  for (auto _ : state) {
    moved += ring.AddNode(Nodes(state))->size();
    moved += ring.RemoveNode(Nodes(state))->size();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["keys_moved"] =
      static_cast<double>(moved) / static_cast<double>(state.iterations());
}

BENCHMARK(BM_HashRingAddRemove)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);
BENCHMARK(BM_MapRingAddRemoveBaseline)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);
BENCHMARK(BM_MaglevAddRemove)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);
BENCHMARK(BM_BoundedLoadAddRemove)->Arg(10)->Arg(100)->Arg(1000);

}  // namespace
}  // namespace keel::shard
