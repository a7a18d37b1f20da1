// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The ledger in memory, on one core: transfers per second between 1M accounts in batches of
// kBatchMax (8,189) events, as the digital wallet issue measures them. Simple transfers,
// two-phase transfers (a pending batch, then a batch posting them) and transfers between
// accounts that keep their balance history. Baseline, on the same transfers: the chapter's first
// design, balances in a std::unordered_map updated in place with only an existence check (no
// transfer records, no idempotency, no limits, no history).
//
// TigerBeetle's published figure (about 0.6M transfers/s, durable and replicated on three
// machines) is quoted in docs/benchmarks.md for comparison; it is not run here.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <unordered_map>
#include <vector>

#include "absl/hash/hash.h"
#include "keel/base/random.h"
#include "keel/ledger/ledger.h"

namespace {

using keel::ledger::Account;
using keel::ledger::AccountFlags;
using keel::ledger::kBatchMax;
using keel::ledger::Ledger;
using keel::ledger::Transfer;
using keel::ledger::TransferFlags;
using keel::ledger::Uint128;

const bool kSmoke = std::getenv("KEEL_BENCH_SMOKE") != nullptr;

uint64_t AccountCount() { return kSmoke ? 10'000 : 1'000'000; }

// A ledger with `n` accounts (ids 1..n) on ledger 1, each with `flags`, and the next timestamp.
struct Setup {
  std::unique_ptr<Ledger> ledger;
  uint64_t now = 1'000'000'000;
};

// Passes each benchmark runs: fixed, so that the ledger can reserve its memory before timing
// (as TigerBeetle allocates everything at startup).
constexpr int kPasses = 5;

Setup MakeLedger(uint64_t n, uint16_t flags, uint64_t transfers) {
  Setup s;
  s.ledger = std::make_unique<Ledger>();
  const uint64_t history_rows = (flags & AccountFlags::kHistory) != 0 ? 2 * transfers : 0;
  if (!s.ledger->Reserve(n, transfers, history_rows).ok()) std::abort();
  std::vector<Account> batch;
  std::vector<keel::ledger::CreateAccountsResult> results;
  for (uint64_t id = 1; id <= n;) {
    batch.clear();
    for (; id <= n && batch.size() < kBatchMax; ++id) {
      batch.push_back({.id = id, .ledger = 1, .code = 1, .flags = flags});
    }
    s.now += batch.size();
    if (!s.ledger->CreateAccounts(batch, s.now, results).ok() || !results.empty()) std::abort();
  }
  return s;
}

// Batches of transfers between random accounts, ids from `first_id` on.
std::vector<std::vector<Transfer>> RandomBatches(size_t batches, uint64_t accounts,
                                                 uint64_t first_id, uint16_t flags, uint64_t seed) {
  keel::base::Random rng(seed);
  std::vector<std::vector<Transfer>> out(batches);
  uint64_t id = first_id;
  for (std::vector<Transfer>& batch : out) {
    batch.reserve(kBatchMax);
    for (uint32_t i = 0; i < kBatchMax; ++i) {
      const uint64_t debit = 1 + rng.Uniform(accounts);
      uint64_t credit = 1 + rng.Uniform(accounts - 1);
      if (credit >= debit) ++credit;
      batch.push_back({.id = id++,
                       .debit_account_id = debit,
                       .credit_account_id = credit,
                       .amount = 1 + rng.Uniform(1000),
                       .ledger = 1,
                       .code = 1,
                       .flags = flags});
    }
  }
  return out;
}

const size_t kBatches = kSmoke ? 2 : 64;  // 524k transfers per pass

// Passes of kBatches fresh random batches (drawn untimed), each batch through `apply`, which
// says whether every transfer in it was created.
template <typename Apply>
void TimePasses(benchmark::State& state, Apply apply) {
  uint64_t next_id = 1;
  int64_t transfers = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto batches = RandomBatches(kBatches, AccountCount(), next_id, 0, next_id);
    next_id += kBatches * kBatchMax;
    state.ResumeTiming();
    for (const auto& batch : batches) {
      if (!apply(batch)) {
        state.SkipWithError("a transfer failed");
        return;
      }
    }
    transfers += static_cast<int64_t>(kBatches * kBatchMax);
  }
  state.SetItemsProcessed(transfers);
}

void RunTransfers(benchmark::State& state, uint16_t account_flags) {
  Setup s = MakeLedger(AccountCount(), account_flags, kPasses * kBatches * kBatchMax);
  std::vector<keel::ledger::CreateTransfersResult> results;
  TimePasses(state, [&](const std::vector<Transfer>& batch) {
    s.now += batch.size();
    return s.ledger->CreateTransfers(batch, s.now, results).ok() && results.empty();
  });
}

void BM_SimpleTransfers(benchmark::State& state) { RunTransfers(state, 0); }
BENCHMARK(BM_SimpleTransfers)->Unit(benchmark::kMillisecond)->Iterations(kPasses);

void BM_HistoryTransfers(benchmark::State& state) { RunTransfers(state, AccountFlags::kHistory); }
BENCHMARK(BM_HistoryTransfers)->Unit(benchmark::kMillisecond)->Iterations(kPasses);

// Each pass: a batch of pending transfers, then a batch posting each of them; both count.
void BM_TwoPhaseTransfers(benchmark::State& state) {
  Setup s = MakeLedger(AccountCount(), 0, kPasses * kBatches * kBatchMax);
  std::vector<keel::ledger::CreateTransfersResult> results;
  uint64_t next_id = 1;
  int64_t transfers = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto pending =
        RandomBatches(kBatches / 2, AccountCount(), next_id, TransferFlags::kPending, next_id);
    std::vector<std::vector<Transfer>> posts(pending.size());
    uint64_t post_id = next_id + (kBatches / 2) * kBatchMax;
    for (size_t b = 0; b < pending.size(); ++b) {
      for (const Transfer& p : pending[b]) {
        posts[b].push_back({.id = post_id++,
                            .amount = keel::ledger::kMaxUint128,
                            .pending_id = p.id,
                            .flags = TransferFlags::kPostPendingTransfer});
      }
    }
    next_id = post_id;
    state.ResumeTiming();
    for (size_t b = 0; b < pending.size(); ++b) {
      for (const auto* batch : {&pending[b], &posts[b]}) {
        s.now += batch->size();
        if (!s.ledger->CreateTransfers(*batch, s.now, results).ok() || !results.empty()) {
          state.SkipWithError("a transfer failed");
          return;
        }
      }
    }
    transfers += static_cast<int64_t>(kBatches * kBatchMax);
  }
  state.SetItemsProcessed(transfers);
}
BENCHMARK(BM_TwoPhaseTransfers)->Unit(benchmark::kMillisecond)->Iterations(kPasses);

// The baseline: balances in a hash map, changed in place.
void BM_SimpleTransfersBaseline(benchmark::State& state) {
  struct Balance {
    Uint128 debits = 0;
    Uint128 credits = 0;
  };
  std::unordered_map<Uint128, Balance, absl::Hash<Uint128>> balances;
  balances.reserve(AccountCount());
  for (uint64_t id = 1; id <= AccountCount(); ++id) balances[id] = {};
  TimePasses(state, [&](const std::vector<Transfer>& batch) {
    for (const Transfer& t : batch) {
      auto debit = balances.find(t.debit_account_id);
      auto credit = balances.find(t.credit_account_id);
      if (debit == balances.end() || credit == balances.end()) return false;
      debit->second.debits += t.amount;
      credit->second.credits += t.amount;
    }
    return true;
  });
}
BENCHMARK(BM_SimpleTransfersBaseline)->Unit(benchmark::kMillisecond)->Iterations(kPasses);

}  // namespace
