// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel::txn's primitives alone, uncontended, on one thread: what one optimistic commit, one
// conditional update and one lock/unlock cost against the plain mutexes they would replace.
//
//   OccCommit             read a record, write it, commit (validation and install under the
//                         record's latch); baseline: std::mutex around a std::map lookup and
//                         update.
//   UpdateIf              the same change as one conditional update.
//   PutIfVersion          the single-record compare-and-set.
//   LockUnlock            LockManager::Lock and Unlock of one record by a live transaction, in
//                         each mode; baselines: std::mutex and std::shared_mutex.
//   BeginLockEnd          a whole pessimistic transaction of one record: Begin, Lock, End.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <shared_mutex>

#include "keel/base/clock.h"
#include "keel/txn/conditional_update.h"
#include "keel/txn/lock_manager.h"
#include "keel/txn/optimistic_transaction.h"
#include "keel/txn/versioned_store.h"

namespace keel::txn {
namespace {

constexpr int64_t kRecords = 1024;

struct Row {
  int64_t total_inventory = 1 << 30;
  int64_t total_reserved = 0;
};

void FillStore(VersionedStore<int64_t, Row>& store) {
  for (int64_t k = 0; k < kRecords; ++k) (void)store.Insert(k, Row{});
}

void BM_OccCommit(benchmark::State& state) {
  VersionedStore<int64_t, Row> store;
  FillStore(store);
  int64_t key = 0;
  for (auto _ : state) {
    OptimisticTransaction<int64_t, Row> txn(store);
    Row row = *txn.Read(key);
    ++row.total_reserved;
    (void)txn.Write(key, row);
    benchmark::DoNotOptimize(txn.Commit());
    key = (key + 1) % kRecords;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_UpdateIf(benchmark::State& state) {
  VersionedStore<int64_t, Row> store;
  FillStore(store);
  int64_t key = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(UpdateIf(
        store, std::span<const int64_t>(&key, 1),
        [](const int64_t&, Row& row) { ++row.total_reserved; },
        [](const int64_t&, const Row& row) {
          return row.total_reserved <= row.total_inventory ? absl::OkStatus()
                                                           : absl::FailedPreconditionError("full");
        }));
    key = (key + 1) % kRecords;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_PutIfVersion(benchmark::State& state) {
  VersionedStore<int64_t, Row> store;
  FillStore(store);
  int64_t key = 0;
  for (auto _ : state) {
    Versioned<Row> row = *store.Get(key);
    ++row.value.total_reserved;
    benchmark::DoNotOptimize(store.PutIfVersion(key, row.value, row.version));
    key = (key + 1) % kRecords;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_OccCommit_MutexMapBaseline(benchmark::State& state) {
  std::mutex mu;
  std::map<int64_t, Row> rows;
  for (int64_t k = 0; k < kRecords; ++k) rows[k] = Row{};
  int64_t key = 0;
  for (auto _ : state) {
    {
      std::lock_guard lock(mu);
      Row& row = rows.at(key);
      if (row.total_reserved < row.total_inventory) ++row.total_reserved;
    }
    benchmark::ClobberMemory();
    key = (key + 1) % kRecords;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_LockUnlock(benchmark::State& state) {
  const LockMode mode = state.range(0) == 0 ? LockMode::kShared : LockMode::kExclusive;
  LockManager<int64_t> locks(base::MonotonicClock::Default());
  const TxnId txn = *locks.Begin();
  int64_t key = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(locks.Lock(txn, key, mode));
    benchmark::DoNotOptimize(locks.Unlock(txn, key));
    key = (key + 1) % kRecords;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(LockModeName(mode));
}

void BM_BeginLockEnd(benchmark::State& state) {
  LockManager<int64_t> locks(base::MonotonicClock::Default());
  int64_t key = 0;
  for (auto _ : state) {
    const TxnId txn = *locks.Begin();
    benchmark::DoNotOptimize(locks.Lock(txn, key, LockMode::kExclusive));
    benchmark::DoNotOptimize(locks.End(txn));
    key = (key + 1) % kRecords;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_LockUnlock_MutexBaseline(benchmark::State& state) {
  std::mutex mu;
  for (auto _ : state) {
    mu.lock();
    benchmark::ClobberMemory();
    mu.unlock();
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_LockUnlock_SharedMutexBaseline(benchmark::State& state) {
  std::shared_mutex mu;
  const bool shared = state.range(0) == 0;
  for (auto _ : state) {
    if (shared) {
      mu.lock_shared();
      benchmark::ClobberMemory();
      mu.unlock_shared();
    } else {
      mu.lock();
      benchmark::ClobberMemory();
      mu.unlock();
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(shared ? "shared" : "exclusive");
}

BENCHMARK(BM_OccCommit);
BENCHMARK(BM_UpdateIf);
BENCHMARK(BM_PutIfVersion);
BENCHMARK(BM_OccCommit_MutexMapBaseline);
BENCHMARK(BM_LockUnlock)->Arg(0)->Arg(1);
BENCHMARK(BM_BeginLockEnd);
BENCHMARK(BM_LockUnlock_MutexBaseline);
BENCHMARK(BM_LockUnlock_SharedMutexBaseline)->Arg(0)->Arg(1);

}  // namespace
}  // namespace keel::txn
