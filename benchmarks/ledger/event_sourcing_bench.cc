// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The ledger with event sourcing (DurableLedger), on one core applying: 1M accounts, batches of
// kBatchMax (8,189) simple transfers between random accounts, as the digital wallet issue
// measures them.
//
//   BM_DurableGroupCommit   the applier appends each batch's event and goes on; a second thread
//                           syncs whatever has been appended (one fsync covers every batch since
//                           the last); a pass ends when its last batch is durable. Floor: 1M
//                           transfers/s.
//   BM_DurableSyncEachBatch the same, but each batch is synced before the next is applied: no
//                           overlap of applying and syncing.
//   BM_InMemory             the same batches on a plain Ledger (no events, no log): the baseline
//                           that durability is measured against.
//   BM_Replay               opening the ledger: its events read back from the log (page cache)
//                           and applied without judging them again, into memory reserved at open
//                           (the time Open reports for the replay itself). Floor: 10M events/s,
//                           where an event is one created transfer or account.
//   BM_ReplayWholeOpen      the same, timing all of Open: the log's recovery scan, and reserving
//                           and first touching the memory.
//   BM_ReplayBaseline       the same history rebuilt by running its commands again through the
//                           ledger's checks: what replaying a log of commands would cost.
//   BM_SnapshotWrite / BM_SnapshotOpen
//                           writing the state's snapshot (synced, renamed into place), and
//                           opening from it.
//
// The log lives in a directory under $TMPDIR (or /tmp), removed afterwards.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/ledger/durable_ledger.h"
#include "keel/ledger/ledger.h"

namespace {

using keel::ledger::Account;
using keel::ledger::CreateTransfersResult;
using keel::ledger::DurableLedger;
using keel::ledger::DurableLedgerOptions;
using keel::ledger::kBatchMax;
using keel::ledger::Ledger;
using keel::ledger::Transfer;

const bool kSmoke = std::getenv("KEEL_BENCH_SMOKE") != nullptr;
uint64_t AccountCount() { return kSmoke ? 10'000 : 1'000'000; }
const size_t kBatches = kSmoke ? 2 : 64;  // 524k transfers per pass
constexpr int kPasses = 5;

// A scratch directory, removed with its contents.
class ScratchDir {
 public:
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/keel-ledger-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<std::vector<Account>> AccountBatches(uint64_t n) {
  std::vector<std::vector<Account>> batches;
  for (uint64_t id = 1; id <= n;) {
    std::vector<Account>& batch = batches.emplace_back();
    for (; id <= n && batch.size() < kBatchMax; ++id) {
      batch.push_back({.id = id, .ledger = 1, .code = 1});
    }
  }
  return batches;
}

std::vector<std::vector<Transfer>> TransferBatches(size_t batches, uint64_t first_id,
                                                   uint64_t seed) {
  keel::base::Random rng(seed);
  std::vector<std::vector<Transfer>> out(batches);
  uint64_t id = first_id;
  for (std::vector<Transfer>& batch : out) {
    batch.reserve(kBatchMax);
    for (uint32_t i = 0; i < kBatchMax; ++i) {
      const uint64_t debit = 1 + rng.Uniform(AccountCount());
      uint64_t credit = 1 + rng.Uniform(AccountCount() - 1);
      if (credit >= debit) ++credit;
      batch.push_back({.id = id++,
                       .debit_account_id = debit,
                       .credit_account_id = credit,
                       .amount = 1 + rng.Uniform(1000),
                       .ledger = 1,
                       .code = 1});
    }
  }
  return out;
}

// A durable ledger in `dir` with the accounts created and synced, and room reserved.
std::unique_ptr<DurableLedger> OpenWithAccounts(const std::string& dir, uint64_t& now) {
  auto opened = DurableLedger::Open(dir);
  if (!opened.ok()) std::abort();
  std::unique_ptr<DurableLedger> ledger = std::move(*opened);
  std::vector<keel::ledger::CreateAccountsResult> results;
  for (const auto& batch : AccountBatches(AccountCount())) {
    now += batch.size();
    if (!ledger->CreateAccounts(batch, now, results).ok() || !results.empty()) std::abort();
  }
  if (!ledger->Sync().ok()) std::abort();
  return ledger;
}

void RunDurable(benchmark::State& state, bool group_commit) {
  ScratchDir dir;
  uint64_t now = 1'000'000'000;
  std::unique_ptr<DurableLedger> ledger = OpenWithAccounts(dir.path() + "/ledger", now);
  std::vector<CreateTransfersResult> results;
  std::atomic<uint64_t> appended{ledger->position()};
  std::atomic<bool> stop{false};
  std::thread syncer;
  if (group_commit) {
    // Sleeps until a batch is appended, then syncs everything appended by then.
    syncer = std::thread([&] {
      uint64_t synced = appended.load();
      while (true) {
        appended.wait(synced);
        if (stop.load()) break;
        synced = appended.load();
        if (!ledger->WaitDurable(synced).ok()) std::abort();
      }
    });
  }
  uint64_t next_id = 1;
  int64_t transfers = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto batches = TransferBatches(kBatches, next_id, next_id);
    next_id += kBatches * kBatchMax;
    state.ResumeTiming();
    uint64_t position = 0;
    for (const auto& batch : batches) {
      now += batch.size();
      absl::StatusOr<uint64_t> applied = ledger->CreateTransfers(batch, now, results);
      if (!applied.ok() || !results.empty()) {
        state.SkipWithError("a transfer failed");
        break;
      }
      position = *applied;
      if (group_commit) {
        appended.store(position);
        appended.notify_one();
      } else if (!ledger->Sync().ok()) {
        state.SkipWithError("sync failed");
        break;
      }
    }
    // The pass ends when its last batch is durable.
    if (!ledger->WaitDurable(position).ok()) std::abort();
    transfers += static_cast<int64_t>(kBatches * kBatchMax);
  }
  if (syncer.joinable()) {
    stop.store(true);
    appended.store(UINT64_MAX);
    appended.notify_all();
    syncer.join();
  }
  state.SetItemsProcessed(transfers);
  state.counters["fsyncs"] = static_cast<double>(ledger->log().stats().syncs);
}

void BM_DurableGroupCommit(benchmark::State& state) { RunDurable(state, true); }
BENCHMARK(BM_DurableGroupCommit)->Unit(benchmark::kMillisecond)->Iterations(kPasses)->UseRealTime();

void BM_DurableSyncEachBatch(benchmark::State& state) { RunDurable(state, false); }
BENCHMARK(BM_DurableSyncEachBatch)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(kPasses)
    ->UseRealTime();

void BM_InMemory(benchmark::State& state) {
  Ledger ledger;
  if (!ledger.Reserve(AccountCount(), kPasses * kBatches * kBatchMax).ok()) std::abort();
  uint64_t now = 1'000'000'000;
  std::vector<keel::ledger::CreateAccountsResult> account_results;
  for (const auto& batch : AccountBatches(AccountCount())) {
    now += batch.size();
    if (!ledger.CreateAccounts(batch, now, account_results).ok()) std::abort();
  }
  std::vector<CreateTransfersResult> results;
  uint64_t next_id = 1;
  int64_t transfers = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto batches = TransferBatches(kBatches, next_id, next_id);
    next_id += kBatches * kBatchMax;
    state.ResumeTiming();
    for (const auto& batch : batches) {
      now += batch.size();
      if (!ledger.CreateTransfers(batch, now, results).ok() || !results.empty()) {
        state.SkipWithError("a transfer failed");
        return;
      }
    }
    transfers += static_cast<int64_t>(kBatches * kBatchMax);
  }
  state.SetItemsProcessed(transfers);
}
BENCHMARK(BM_InMemory)->Unit(benchmark::kMillisecond)->Iterations(kPasses);

// A history to replay: the accounts, then this many batches of transfers.
const size_t kReplayBatches = kSmoke ? 4 : 256;  // 2.1M transfers

struct History {
  ScratchDir dir;
  std::string path;
  std::vector<std::vector<Transfer>> batches;
  uint64_t events = 0;  // accounts and transfers created
};

History& SharedHistory() {
  static History* history = [] {
    auto* h = new History;
    h->path = h->dir.path() + "/ledger";
    uint64_t now = 1'000'000'000;
    std::unique_ptr<DurableLedger> ledger = OpenWithAccounts(h->path, now);
    h->batches = TransferBatches(kReplayBatches, 1, 7);
    std::vector<CreateTransfersResult> results;
    for (const auto& batch : h->batches) {
      now += batch.size();
      if (!ledger->CreateTransfers(batch, now, results).ok() || !results.empty()) std::abort();
    }
    if (!ledger->Sync().ok()) std::abort();
    h->events = AccountCount() + kReplayBatches * kBatchMax;
    return h;
  }();
  return *history;
}

DurableLedgerOptions ReplayOptions() {
  DurableLedgerOptions options;
  options.reserve_accounts = AccountCount();
  options.reserve_transfers = kReplayBatches * kBatchMax;
  return options;
}

// Replay alone: the time Open spends reading and applying events (report.replay_nanos), into
// memory reserved at open. `whole` counts all of Open instead: the log's recovery scan, and
// reserving (and first touching) the memory.
void RunReplay(benchmark::State& state, bool whole) {
  History& h = SharedHistory();
  uint64_t replayed = 0;
  for (auto _ : state) {
    keel::ledger::DurableLedgerReport report;
    const int64_t start = keel::base::MonotonicClock::Default().NowNanos();
    auto opened = DurableLedger::Open(h.path, ReplayOptions(), &report);
    const int64_t open_nanos = keel::base::MonotonicClock::Default().NowNanos() - start;
    if (!opened.ok()) {
      state.SkipWithError(std::string(opened.status().message()).c_str());
      return;
    }
    if (report.snapshot_loaded) std::abort();
    state.SetIterationTime(static_cast<double>(whole ? open_nanos : report.replay_nanos) / 1e9);
    replayed += AccountCount() + report.transfers_replayed;
    opened->reset();
  }
  state.SetItemsProcessed(static_cast<int64_t>(replayed));
}

void BM_Replay(benchmark::State& state) { RunReplay(state, false); }
BENCHMARK(BM_Replay)->Unit(benchmark::kMillisecond)->Iterations(kPasses)->UseManualTime();

void BM_ReplayWholeOpen(benchmark::State& state) { RunReplay(state, true); }
BENCHMARK(BM_ReplayWholeOpen)->Unit(benchmark::kMillisecond)->Iterations(kPasses)->UseManualTime();

// The same history rebuilt by running its commands again, into memory reserved the same way.
void BM_ReplayBaseline(benchmark::State& state) {
  History& h = SharedHistory();
  const auto accounts = AccountBatches(AccountCount());
  uint64_t replayed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto ledger = std::make_unique<Ledger>();
    if (!ledger->Reserve(AccountCount(), kReplayBatches * kBatchMax).ok()) std::abort();
    state.ResumeTiming();
    uint64_t now = 1'000'000'000;
    std::vector<keel::ledger::CreateAccountsResult> account_results;
    for (const auto& batch : accounts) {
      now += batch.size();
      if (!ledger->CreateAccounts(batch, now, account_results).ok()) std::abort();
    }
    std::vector<CreateTransfersResult> results;
    for (const auto& batch : h.batches) {
      now += batch.size();
      if (!ledger->CreateTransfers(batch, now, results).ok()) std::abort();
    }
    replayed += h.events;
    state.PauseTiming();
    ledger.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(replayed));
}
BENCHMARK(BM_ReplayBaseline)->Unit(benchmark::kMillisecond)->Iterations(kPasses)->UseRealTime();

void BM_SnapshotWrite(benchmark::State& state) {
  History& h = SharedHistory();
  auto opened = DurableLedger::Open(h.path);
  if (!opened.ok()) std::abort();
  for (auto _ : state) {
    if (!(*opened)->WriteSnapshot().ok()) std::abort();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * h.events));
}
BENCHMARK(BM_SnapshotWrite)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

void BM_SnapshotOpen(benchmark::State& state) {
  History& h = SharedHistory();
  for (auto _ : state) {
    keel::ledger::DurableLedgerReport report;
    auto opened = DurableLedger::Open(h.path, ReplayOptions(), &report);
    if (!opened.ok() || !report.snapshot_loaded) std::abort();
    state.PauseTiming();
    opened->reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * h.events));
}
BENCHMARK(BM_SnapshotOpen)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

}  // namespace
