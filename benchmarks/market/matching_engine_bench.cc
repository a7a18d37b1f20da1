// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The matching engine's memory of used order ids, against the hash map it replaced.
//
// Used ids: 1,000,000 accepted ids in four shapes, generated before timing: counting up; counting
// up with 5% of the ids never accepted (rejected or refused orders: holes); sixteen sessions
// counting up side by side, each in its own block of ids; random 64-bit ids. Each run checks and
// inserts every id (what the engine does for a new order) into a fresh set. keel's UsedIds
// (runs of consecutive ids behind a bitmap window) against absl::flat_hash_map<OrderId, uint32_t>,
// the engine's set of every id before it. Memory is what the heap holds for the finished set
// (glibc's mallinfo2, before and after), per id.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "keel/base/random.h"
#include "keel/market/internal/used_ids.h"
#include "keel/market/order_book.h"

namespace keel::market {
namespace {

// ---------------------------------------------------------------------------------------------
// Used ids.
// ---------------------------------------------------------------------------------------------

constexpr size_t kIds = 1'000'000;
constexpr const char* kShapes[] = {"counting", "counting_5pct_holes", "16_sessions", "random"};

const std::vector<OrderId>& Ids(int shape) {
  static std::vector<OrderId> ids[std::size(kShapes)];
  std::vector<OrderId>& out = ids[shape];
  if (!out.empty()) return out;
  base::Random rng(7 + static_cast<uint64_t>(shape));
  OrderId counters[16];
  for (OrderId& c : counters) c = 1;
  out.reserve(kIds);
  while (out.size() < kIds) {
    switch (shape) {
      case 0:
        out.push_back(counters[0]++);
        break;
      case 1:
        if (rng.Uniform(20) != 0) out.push_back(counters[0]);
        ++counters[0];
        break;
      case 2: {
        const uint64_t session = rng.Uniform(16);
        out.push_back((session << 40) + counters[session]++);
        break;
      }
      default:
        out.push_back(rng.Next());
        break;
    }
  }
  return out;
}

// Bytes the heap has handed out: small blocks, and large ones glibc maps on their own.
size_t HeapBytes() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

template <typename Set, typename Insert>
void RunUsedIds(benchmark::State& state, Insert insert) {
  const int shape = static_cast<int>(state.range(0));
  const std::vector<OrderId>& ids = Ids(shape);
  size_t bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const size_t before = HeapBytes();
    auto set = std::make_unique<Set>();
    state.ResumeTiming();
    size_t fresh = 0;
    for (const OrderId id : ids) fresh += insert(*set, id);
    benchmark::DoNotOptimize(fresh);
    state.PauseTiming();
    bytes = HeapBytes() - before;
    if (fresh != ids.size() && shape != 3) state.SkipWithError("an id was taken for a duplicate");
    set.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(ids.size()));
  state.counters["bytes_per_id"] = static_cast<double>(bytes) / static_cast<double>(ids.size());
  state.SetLabel(kShapes[shape]);
}

void BM_UsedIds_Keel(benchmark::State& state) {
  RunUsedIds<internal::UsedIds>(state, [](internal::UsedIds& set, OrderId id) {
    return !set.Contains(id) && set.Insert(id);
  });
}

void BM_UsedIds_HashMapBaseline(benchmark::State& state) {
  using Map = absl::flat_hash_map<OrderId, uint32_t>;
  RunUsedIds<Map>(
      state, [](Map& set, OrderId id) { return !set.contains(id) && set.emplace(id, 0).second; });
}

BENCHMARK(BM_UsedIds_Keel)->DenseRange(0, 3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_UsedIds_HashMapBaseline)->DenseRange(0, 3)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace keel::market
