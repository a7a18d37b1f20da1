// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// TtlCache against the structures it is built over, on the same keys in the same run:
//
//   Put, Get      against an absl::flat_hash_map<uint64_t, int64_t, Hasher> with no expiry at all:
//                 what the expiry heap, the slot array and reading the clock cost. The Put workload
//                 is the nearby-friends one: every key is present and each Put overwrites it with a
//                 later expiry time (a location update), so the heap item sinks to the bottom.
//   PurgeExpired  against the naive design the tests use as their oracle, a std::map of
//                 (value, expiry) scanned in full for expired entries. A sliding window of n live
//                 entries: each iteration writes one entry and purges the one that just expired.
//
// The cache reads a ManualClock (an atomic load); BM_TtlCacheGetMonotonicClock shows the same Get
// reading CLOCK_MONOTONIC, which a real deployment would use.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "keel/base/clock.h"
#include "keel/base/hash.h"
#include "keel/base/random.h"
#include "keel/cache/ttl_cache.h"

namespace keel::cache {
namespace {

constexpr int64_t kTtlNs = 600 * base::kNanosPerSecond;

// n distinct random keys, and a sequence of 2^16 of them in random order to look up.
struct Workload {
  std::vector<uint64_t> keys;
  std::vector<uint64_t> lookups;
};

Workload MakeWorkload(size_t n) {
  base::Random rng(n);
  Workload w;
  w.keys.reserve(n);
  for (size_t i = 0; i < n; ++i) w.keys.push_back(rng.Next());
  w.lookups.reserve(1 << 16);
  for (size_t i = 0; i < (1 << 16); ++i) w.lookups.push_back(w.keys[rng.Uniform(n)]);
  return w;
}

TtlCache<uint64_t, int64_t> FilledCache(const base::Clock& clock, const Workload& w) {
  auto cache = TtlCache<uint64_t, int64_t>::Create(
      clock, {.default_ttl_ns = kTtlNs, .max_entries = w.keys.size()});
  if (!cache.ok()) std::abort();
  for (uint64_t key : w.keys) {
    if (!cache->Put(key, 1).ok()) std::abort();
  }
  return *std::move(cache);
}

void BM_TtlCachePut(benchmark::State& state) {
  const Workload w = MakeWorkload(static_cast<size_t>(state.range(0)));
  base::ManualClock clock(0);
  TtlCache<uint64_t, int64_t> cache = FilledCache(clock, w);
  int64_t i = 0;
  for (auto _ : state) {
    clock.Advance(1);
    const absl::Status status = cache.Put(w.lookups[static_cast<size_t>(i) & 0xffff], i);
    benchmark::DoNotOptimize(status.ok());
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_FlatHashMapPutBaseline(benchmark::State& state) {
  const Workload w = MakeWorkload(static_cast<size_t>(state.range(0)));
  absl::flat_hash_map<uint64_t, int64_t, base::Hasher> map;
  for (uint64_t key : w.keys) map[key] = 1;
  int64_t i = 0;
  for (auto _ : state) {
    map.insert_or_assign(w.lookups[static_cast<size_t>(i) & 0xffff], i);
    benchmark::ClobberMemory();
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

template <typename ClockType>
void RunTtlCacheGet(benchmark::State& state, const ClockType& clock) {
  const Workload w = MakeWorkload(static_cast<size_t>(state.range(0)));
  TtlCache<uint64_t, int64_t> cache = FilledCache(clock, w);
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(cache.Find(w.lookups[i++ & 0xffff]));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_TtlCacheGet(benchmark::State& state) {
  const base::ManualClock clock(0);
  RunTtlCacheGet(state, clock);
}

void BM_TtlCacheGetMonotonicClock(benchmark::State& state) {
  RunTtlCacheGet(state, base::MonotonicClock::Default());
}

void BM_FlatHashMapGetBaseline(benchmark::State& state) {
  const Workload w = MakeWorkload(static_cast<size_t>(state.range(0)));
  absl::flat_hash_map<uint64_t, int64_t, base::Hasher> map;
  for (uint64_t key : w.keys) map[key] = 1;
  size_t i = 0;
  for (auto _ : state) {
    const auto it = map.find(w.lookups[i++ & 0xffff]);
    benchmark::DoNotOptimize(it == map.end() ? nullptr : &it->second);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

#define KEEL_CACHE_SIZES ->Arg(1'000)->Arg(100'000)->Arg(1'000'000)
BENCHMARK(BM_TtlCachePut) KEEL_CACHE_SIZES;
BENCHMARK(BM_FlatHashMapPutBaseline) KEEL_CACHE_SIZES;
BENCHMARK(BM_TtlCacheGet) KEEL_CACHE_SIZES;
BENCHMARK(BM_TtlCacheGetMonotonicClock) KEEL_CACHE_SIZES;
BENCHMARK(BM_FlatHashMapGetBaseline) KEEL_CACHE_SIZES;
#undef KEEL_CACHE_SIZES

// Sliding window: n live entries written 1 ns apart with a TTL of n ns. Each iteration advances
// the clock by 1 ns, writes one new entry and purges, which removes exactly the oldest one.
void BM_TtlCachePurgeExpired(benchmark::State& state) {
  const auto n = static_cast<int64_t>(state.range(0));
  base::ManualClock clock(0);
  auto cache = TtlCache<uint64_t, int64_t>::Create(
      clock, {.default_ttl_ns = n, .max_entries = static_cast<size_t>(2 * n)});
  if (!cache.ok()) std::abort();
  uint64_t next_key = 0;
  for (int64_t i = 0; i < n; ++i) {
    clock.Advance(1);
    if (!cache->Put(next_key++, 1).ok()) std::abort();
  }
  size_t purged = 0;
  for (auto _ : state) {
    clock.Advance(1);
    if (!cache->Put(next_key++, 1).ok()) std::abort();
    purged += cache->PurgeExpired(/*max_entries=*/16);
  }
  if (purged != static_cast<size_t>(state.iterations()))
    state.SkipWithError("purged a different number of entries");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_OracleMapPurgeBaseline(benchmark::State& state) {
  struct Entry {
    int64_t value;
    int64_t expire_at_ns;
  };
  const auto n = static_cast<int64_t>(state.range(0));
  int64_t now_ns = 0;
  std::map<uint64_t, Entry> map;
  uint64_t next_key = 0;
  for (int64_t i = 0; i < n; ++i) map[next_key++] = {1, ++now_ns + n};
  size_t purged = 0;
  for (auto _ : state) {
    ++now_ns;
    map[next_key++] = {1, now_ns + n};
    purged +=
        std::erase_if(map, [now_ns](const auto& kv) { return kv.second.expire_at_ns <= now_ns; });
  }
  if (purged != static_cast<size_t>(state.iterations()))
    state.SkipWithError("purged a different number of entries");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK(BM_TtlCachePurgeExpired)->Arg(1'000)->Arg(10'000)->Arg(100'000);
BENCHMARK(BM_OracleMapPurgeBaseline)->Arg(1'000)->Arg(10'000)->Arg(100'000);

}  // namespace
}  // namespace keel::cache
