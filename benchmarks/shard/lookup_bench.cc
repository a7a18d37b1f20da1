// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Which node owns a key, by every scheme in keel::shard, at 10 to 10,000 nodes, on the same
// 2^20 random key hashes visited in order (so lookups miss the cache as a server's would).
// Baselines in the same run: a std::map ring with the same points as HashRing (the textbook
// implementation), and key mod n (no consistency at all: the floor).
//
// The `bytes` counter is the structure's memory; `bytes_per_node` divides it by the node count.
#include <benchmark/benchmark.h>

#include <numeric>
#include <string>
#include <vector>

#include "fixtures.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/shard/bounded_load.h"
#include "keel/shard/hash_ring.h"
#include "keel/shard/hash_slot.h"
#include "keel/shard/jump_hash.h"
#include "keel/shard/maglev.h"
#include "keel/shard/rendezvous.h"
#include "map_ring.h"

namespace keel::shard {
namespace {

constexpr size_t kKeys = size_t{1} << 20;

const std::vector<uint64_t>& KeyHashes() {
  static const std::vector<uint64_t> hashes = [] {
    base::Random rng(42);
    std::vector<uint64_t> out(kKeys);
    for (uint64_t& h : out) h = rng.Next();
    return out;
  }();
  return hashes;
}

// Runs `lookup` over the key hashes, one per iteration, and sets the counters.
template <typename Lookup>
void RunLookups(benchmark::State& state, size_t bytes, Lookup&& lookup) {
  const std::vector<uint64_t>& keys = KeyHashes();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(lookup(keys[i]));
    i = (i + 1) & (kKeys - 1);
  }
  state.SetItemsProcessed(state.iterations());
  const auto n = static_cast<double>(state.range(0));
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["bytes_per_node"] = static_cast<double>(bytes) / n;
}

size_t Nodes(const benchmark::State& state) { return static_cast<size_t>(state.range(0)); }

void BM_HashRing(benchmark::State& state) {
  const HashRing& ring = bench_fixtures::Ring(Nodes(state));
  RunLookups(state, ring.memory_bytes(), [&](uint64_t h) { return *ring.LookupHash(h); });
}

void BM_MapRingBaseline(benchmark::State& state) {
  const bench::MapRing& ring = bench_fixtures::MapRing(Nodes(state));
  RunLookups(state, ring.memory_bytes(), [&](uint64_t h) { return ring.Lookup(h); });
}

void BM_JumpHash(benchmark::State& state) {
  const auto buckets = static_cast<uint32_t>(Nodes(state));
  RunLookups(state, 0, [&](uint64_t h) { return *JumpBucket(h, buckets); });
}

void BM_Rendezvous(benchmark::State& state) {
  Rendezvous nodes;
  for (NodeId id = 0; id < Nodes(state); ++id) KEEL_ASSERT(nodes.AddNode(id).ok());
  RunLookups(state, nodes.memory_bytes(), [&](uint64_t h) { return *nodes.LookupHash(h); });
}

void BM_RendezvousWeighted(benchmark::State& state) {
  Rendezvous nodes;
  for (NodeId id = 0; id < Nodes(state); ++id) KEEL_ASSERT(nodes.AddNode(id, 1 + id % 4).ok());
  RunLookups(state, nodes.memory_bytes(), [&](uint64_t h) { return *nodes.LookupHash(h); });
}

void BM_Maglev(benchmark::State& state) {
  const Maglev& table = bench_fixtures::MaglevTable(Nodes(state));
  state.counters["table_size"] = table.table_size();
  RunLookups(state, table.memory_bytes(), [&](uint64_t h) { return *table.LookupHash(h); });
}

// Bounded loads keep their keys, so a lookup is of a placed key by its bytes: 2^16 keys placed.
void BM_BoundedLoad(benchmark::State& state) {
  const BoundedLoadRing& ring = bench_fixtures::Bounded(Nodes(state));
  std::vector<std::string> keys;
  for (int i = 0; i < bench_fixtures::kBoundedKeys; ++i) keys.push_back(base::Cat("key:", i));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(*ring.Lookup(keys[i]));
    i = (i + 1) & (keys.size() - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

// Redis Cluster: CRC16 of a 16-byte key, then the slot table (slots split evenly over n nodes).
void BM_HashSlot(benchmark::State& state) {
  SlotTable table;
  const size_t n = Nodes(state);
  for (size_t node = 0; node < n && node < kSlotCount; ++node) {
    const auto first = static_cast<uint32_t>(node * kSlotCount / std::min(n, size_t{kSlotCount}));
    const auto last =
        static_cast<uint32_t>((node + 1) * kSlotCount / std::min(n, size_t{kSlotCount}) - 1);
    KEEL_ASSERT(table.Assign({first, last}, static_cast<NodeId>(node)).ok());
  }
  std::vector<std::string> keys;
  for (int i = 0; i < (1 << 16); ++i) keys.push_back(base::Cat("player:", 10'000'000 + i));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(table.RouteKey(keys[i])->owner);
    i = (i + 1) & (keys.size() - 1);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes"] = sizeof(SlotTable);
}

void BM_ModuloBaseline(benchmark::State& state) {
  const uint64_t n = Nodes(state);
  RunLookups(state, 0, [&](uint64_t h) { return h % n; });
}

#define KEEL_SHARD_NODE_COUNTS ->Arg(10)->Arg(100)->Arg(1000)->Arg(10000)
BENCHMARK(BM_HashRing) KEEL_SHARD_NODE_COUNTS;
BENCHMARK(BM_MapRingBaseline) KEEL_SHARD_NODE_COUNTS;
BENCHMARK(BM_JumpHash) KEEL_SHARD_NODE_COUNTS;
BENCHMARK(BM_Rendezvous) KEEL_SHARD_NODE_COUNTS;
BENCHMARK(BM_RendezvousWeighted) KEEL_SHARD_NODE_COUNTS;
BENCHMARK(BM_Maglev) KEEL_SHARD_NODE_COUNTS;
BENCHMARK(BM_BoundedLoad) KEEL_SHARD_NODE_COUNTS;
BENCHMARK(BM_HashSlot) KEEL_SHARD_NODE_COUNTS;
BENCHMARK(BM_ModuloBaseline) KEEL_SHARD_NODE_COUNTS;

}  // namespace
}  // namespace keel::shard
