// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The matching engine's state: its memory of used order ids, and its snapshots.
//
// Used ids: 1,000,000 accepted ids in four shapes, generated before timing: counting up; counting
// up with 5% of the ids never accepted (rejected or refused orders: holes); sixteen sessions
// counting up side by side, each in its own block of ids; random 64-bit ids. Each run checks and
// inserts every id (what the engine does for a new order) into a fresh set. keel's UsedIds
// (runs of consecutive ids behind a bitmap window) against absl::flat_hash_map<OrderId, uint32_t>,
// the engine's set of every id before it. Memory is what the heap holds for the finished set
// (glibc's mallinfo2, before and after), per id.
//
// Snapshots: a sequencer's directory whose command log holds 100,000 or 1,000,000 commands (GTC
// orders around a wandering middle over eight symbols, 30% cancels, some orders crossing; about a
// third of the orders still rest at the end), built before timing, with the page cache warm.
// Timed: opening the sequencer from a snapshot written after the last command (the log's
// recovery, a snapshot load and an empty tail), against the baseline of opening it from the log
// alone (the log's recovery and a replay from the start); reading the snapshot file alone; and
// writing a snapshot (state encoded, written, fsynced, renamed, the directory fsynced). Reported:
// the snapshot's size and bytes per resting order.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "keel/base/random.h"
#include "keel/market/internal/used_ids.h"
#include "keel/market/order_book.h"
#include "keel/market/sequencer.h"
#include "keel/market/snapshot.h"

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

// ---------------------------------------------------------------------------------------------
// Snapshots.
// ---------------------------------------------------------------------------------------------

constexpr std::string_view kSymbols[] = {"AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH"};

SequencerOptions BenchOptions() {
  SequencerOptions o;
  o.sync = wal::SyncPolicy::kNone;
  o.snapshots.every_commands = 0;
  o.snapshots.every_log_bytes = 0;
  o.engine.book.max_orders = 1 << 20;
  return o;
}

// Two sequencer directories with the same log of `commands` commands:
// `log_only` without a snapshot, `snapshotted` with one after the last command.
struct SnapshotWorkload {
  std::string root;
  std::string log_only;
  std::string snapshotted;
  uint64_t snapshot_bytes = 0;
  uint64_t commands = 0;
  size_t resting = 0;
  uint64_t hash = 0;
};

void Fail(const absl::Status& status) {
  std::fprintf(stderr, "snapshot workload: %s\n", status.ToString().c_str());
  std::abort();
}

const SnapshotWorkload& Snapshots(size_t commands) {
  static std::map<size_t, SnapshotWorkload> workloads;
  SnapshotWorkload& w = workloads[commands];
  if (!w.root.empty()) return w;
  w.root = (std::filesystem::temp_directory_path() /
            ("keel_snapshot_bench_" + std::to_string(::getpid()) + "_" + std::to_string(commands)))
               .string();
  std::filesystem::remove_all(w.root);
  std::filesystem::create_directories(w.root);
  std::atexit([] {
    for (const auto& [n, workload] : workloads) std::filesystem::remove_all(workload.root);
  });
  w.log_only = w.root + "/log_only";
  w.snapshotted = w.root + "/snapshotted";
  {
    absl::StatusOr<std::unique_ptr<Sequencer>> opened = Sequencer::Open(w.log_only, BenchOptions());
    if (!opened.ok()) Fail(opened.status());
    Sequencer& sequencer = **opened;
    base::Random rng(11);
    std::vector<std::vector<OrderId>> live(std::size(kSymbols));
    std::vector<EngineEvent> events;
    Price middle = 100'000;
    OrderId next_id = 1;
    for (size_t i = 0; i < commands; ++i) {
      const size_t s = rng.Uniform(std::size(kSymbols));
      if (rng.Uniform(64) == 0) middle += static_cast<Price>(rng.Uniform(5)) - 2;
      Command c;
      const uint64_t dice = rng.Uniform(100);
      if (dice < 30 && !live[s].empty()) {
        // Cancel a random live order (some are gone already: unknown_order, as in life).
        const size_t at = rng.Uniform(live[s].size());
        c.kind = CommandKind::kCancel;
        c.order.id = live[s][at];
        live[s][at] = live[s].back();
        live[s].pop_back();
      } else {
        c.kind = CommandKind::kNew;
        c.symbol = kSymbols[s];
        c.order.id = next_id++;
        c.order.client = 1 + rng.Uniform(500);
        c.order.side = rng.Uniform(2) == 0 ? Side::kBuy : Side::kSell;
        const auto away = static_cast<Price>(rng.Uniform(dice < 35 ? 3 : 400));
        const bool cross = dice < 35;  // some orders trade
        c.order.price = (c.order.side == Side::kBuy) != cross ? middle - away : middle + away;
        c.order.quantity = static_cast<Quantity>(1 + rng.Uniform(100));
        live[s].push_back(c.order.id);
      }
      events.clear();
      const absl::StatusOr<uint64_t> sequenced = sequencer.Submit(c, events);
      if (!sequenced.ok()) Fail(sequenced.status());
    }
    w.commands = sequencer.engine().commands();
    w.hash = sequencer.engine().StateHash();
    for (uint32_t s = 0; s < sequencer.engine().symbol_count(); ++s) {
      w.resting += sequencer.engine().book(s).order_count();
    }
  }
  std::filesystem::copy(w.log_only, w.snapshotted, std::filesystem::copy_options::recursive);
  std::filesystem::remove(w.snapshotted + "/log/LOCK");
  absl::StatusOr<std::unique_ptr<Sequencer>> opened =
      Sequencer::Open(w.snapshotted, BenchOptions());
  if (!opened.ok()) Fail(opened.status());
  const absl::StatusOr<uint64_t> written = (*opened)->WriteSnapshot();
  if (!written.ok()) Fail(written.status());
  w.snapshot_bytes =
      std::filesystem::file_size(w.snapshotted + "/snapshots/" + SnapshotFileName(w.commands));
  return w;
}

void SnapshotCounters(benchmark::State& state, const SnapshotWorkload& w) {
  state.counters["resting_orders"] = static_cast<double>(w.resting);
  state.counters["commands"] = static_cast<double>(w.commands);
  state.counters["snapshot_bytes"] = static_cast<double>(w.snapshot_bytes);
  state.counters["bytes_per_order"] =
      static_cast<double>(w.snapshot_bytes) / static_cast<double>(w.resting);
}

// Opens the sequencer in `dir` and checks it rebuilt the workload's state.
void OpenAndCheck(benchmark::State& state, const std::string& dir, const SnapshotWorkload& w,
                  bool want_snapshot) {
  absl::StatusOr<std::unique_ptr<Sequencer>> opened = Sequencer::Open(dir, BenchOptions());
  if (!opened.ok()) Fail(opened.status());
  if ((*opened)->recovery().from_snapshot != want_snapshot ||
      (*opened)->engine().StateHash() != w.hash) {
    state.SkipWithError("the sequencer did not rebuild the state it was meant to");
  }
  state.PauseTiming();
  opened->reset();  // closing is not part of opening
  state.ResumeTiming();
}

void BM_Snapshot_Open(benchmark::State& state) {
  const SnapshotWorkload& w = Snapshots(static_cast<size_t>(state.range(0)));
  for (auto _ : state) OpenAndCheck(state, w.snapshotted, w, /*want_snapshot=*/true);
  SnapshotCounters(state, w);
}

void BM_Snapshot_OpenReplayBaseline(benchmark::State& state) {
  const SnapshotWorkload& w = Snapshots(static_cast<size_t>(state.range(0)));
  for (auto _ : state) OpenAndCheck(state, w.log_only, w, /*want_snapshot=*/false);
  SnapshotCounters(state, w);
}

void BM_Snapshot_Read(benchmark::State& state) {
  const SnapshotWorkload& w = Snapshots(static_cast<size_t>(state.range(0)));
  const std::string path = w.snapshotted + "/snapshots/" + SnapshotFileName(w.commands);
  for (auto _ : state) {
    absl::StatusOr<std::unique_ptr<MatchingEngine>> engine =
        ReadSnapshot(wal::FileSystem::Posix(), path, BenchOptions().engine);
    if (!engine.ok()) Fail(engine.status());
    if ((*engine)->StateHash() != w.hash) state.SkipWithError("a different state");
    state.PauseTiming();
    engine->reset();
    state.ResumeTiming();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.snapshot_bytes));
  SnapshotCounters(state, w);
}

void BM_Snapshot_Write(benchmark::State& state) {
  const SnapshotWorkload& w = Snapshots(static_cast<size_t>(state.range(0)));
  absl::StatusOr<std::unique_ptr<Sequencer>> opened =
      Sequencer::Open(w.snapshotted, BenchOptions());
  if (!opened.ok()) Fail(opened.status());
  for (auto _ : state) {
    const absl::StatusOr<uint64_t> written = (*opened)->WriteSnapshot();
    if (!written.ok()) Fail(written.status());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.snapshot_bytes));
  SnapshotCounters(state, w);
}

BENCHMARK(BM_Snapshot_Open)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Snapshot_OpenReplayBaseline)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Snapshot_Read)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Snapshot_Write)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace keel::market
