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

#include "fixtures.h"
#include "keel/base/strings.h"
#include "keel/shard/bounded_load.h"
#include "keel/shard/hash_ring.h"
#include "keel/shard/maglev.h"
#include "map_ring.h"

namespace keel::shard {
namespace {

NodeId Nodes(const benchmark::State& state) { return static_cast<NodeId>(state.range(0)); }

void BM_HashRingAddRemove(benchmark::State& state) {
  HashRing& ring = bench_fixtures::Ring(Nodes(state));
  for (auto _ : state) {
    KEEL_ASSERT(ring.AddNode({.id = Nodes(state)}).ok());
    KEEL_ASSERT(ring.RemoveNode(Nodes(state)).ok());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_MapRingAddRemoveBaseline(benchmark::State& state) {
  bench::MapRing& ring = bench_fixtures::MapRing(Nodes(state));
  for (auto _ : state) {
    ring.AddNode(Nodes(state), kDefaultVnodes, 0);
    ring.RemoveNode(Nodes(state), kDefaultVnodes, 0);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_MaglevAddRemove(benchmark::State& state) {
  Maglev& table = bench_fixtures::MaglevTable(Nodes(state));
  state.counters["table_size"] = table.table_size();
  for (auto _ : state) {
    KEEL_ASSERT(table.AddNode(Nodes(state)).ok());
    KEEL_ASSERT(table.RemoveNode(Nodes(state)).ok());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_BoundedLoadAddRemove(benchmark::State& state) {
  BoundedLoadRing& ring = bench_fixtures::Bounded(Nodes(state));
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
