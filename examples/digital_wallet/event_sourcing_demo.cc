// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The event-sourcing part of the narrated run (event_sourcing_demo.h). Wallets are ledger
// accounts that may not go below zero (debits_must_not_exceed_credits); a bank account funds
// them. Every figure printed is measured in this run.
#include "digital_wallet/event_sourcing_demo.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/scratch_dir.h"
#include "keel/base/random.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/ledger/durable_ledger.h"
#include "keel/ledger/read_model.h"

namespace keel::examples::wallet {
namespace {

using keel::examples::ScratchDir;

using keel::ledger::Account;
using keel::ledger::AccountFlags;
using keel::ledger::CreateTransfersResult;
using keel::ledger::DurableLedger;
using keel::ledger::kBatchMax;
using keel::ledger::ReadModel;
using keel::ledger::Transfer;
using keel::ledger::Uint128;

constexpr Uint128 kBank = 1;
constexpr uint64_t kFirstWallet = 1000;
constexpr uint64_t kDeposit = 10'000;  // cents each wallet starts with

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

std::string Money(Uint128 cents) {
  return base::Cat(ledger::DecimalString(cents / 100), ".",
                   absl::StrFormat("%02d", static_cast<int>(cents % 100)));
}

// The clock of the demo: nanoseconds, a batch of n events taking n of them.
struct Clock {
  uint64_t now = uint64_t{1'700'000'000} * 1'000'000'000;
  uint64_t Take(size_t n) { return now += n; }
};

std::vector<Transfer> RandomTransfers(base::Random& rng, uint64_t wallets, uint64_t& next_id) {
  std::vector<Transfer> batch;
  batch.reserve(kBatchMax);
  for (uint32_t i = 0; i < kBatchMax; ++i) {
    const uint64_t from = kFirstWallet + rng.Uniform(wallets);
    uint64_t to = kFirstWallet + rng.Uniform(wallets - 1);
    if (to >= from) ++to;
    // Mostly small amounts; now and then more than a wallet holds, which validation refuses.
    const uint64_t amount = rng.Bernoulli(0.02) ? 50'000 : 1 + rng.Uniform(500);
    batch.push_back({.id = next_id++,
                     .debit_account_id = from,
                     .credit_account_id = to,
                     .amount = amount,
                     .ledger = 1,
                     .code = 1});
  }
  return batch;
}

}  // namespace

absl::Status RunEventSourcingDemo(bool short_run) {
  const uint64_t wallets = short_run ? 20'000 : 1'000'000;
  const size_t batches = short_run ? 8 : 128;
  ScratchDir scratch("keel-wallet");
  if (scratch.path().empty()) return absl::InternalError("cannot create a scratch directory");
  const std::string dir = scratch.path() + "/ledger";

  std::printf(
      "Event sourcing: a command (a batch of transfers) is validated against the state in\n"
      "memory; what it changed is appended to keel's write-ahead log as an event; the event is\n"
      "what survives. The state is rebuilt from the events, or from a snapshot and the events\n"
      "after it, and a read model (CQRS) rebuilt from the events shows any past balance.\n\n");

  ledger::DurableLedgerOptions options;
  options.reserve_accounts = wallets + 1;
  options.reserve_transfers = wallets + batches * kBatchMax * 2;
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<DurableLedger> wallet, DurableLedger::Open(dir, options));
  Clock clock;

  // The bank, and the wallets, each funded with one deposit.
  std::vector<ledger::CreateAccountsResult> account_results;
  std::vector<Account> accounts = {{.id = kBank, .ledger = 1, .code = 1}};
  for (uint64_t i = 0; i < wallets; ++i) {
    const uint16_t history = i < 4 ? AccountFlags::kHistory : 0;
    accounts.push_back(
        {.id = kFirstWallet + i,
         .ledger = 1,
         .code = 2,
         .flags = static_cast<uint16_t>(AccountFlags::kDebitsMustNotExceedCredits | history)});
  }
  for (size_t start = 0; start < accounts.size(); start += kBatchMax) {
    const std::span<const Account> batch = std::span<const Account>(accounts).subspan(
        start, std::min<size_t>(kBatchMax, accounts.size() - start));
    KEEL_RETURN_IF_ERROR(
        wallet->CreateAccounts(batch, clock.Take(batch.size()), account_results).status());
    if (!account_results.empty()) return absl::InternalError("an account was refused");
  }
  uint64_t next_id = 1;
  std::vector<CreateTransfersResult> results;
  for (uint64_t start = 0; start < wallets; start += kBatchMax) {
    std::vector<Transfer> deposits;
    for (uint64_t i = start; i < std::min(wallets, start + kBatchMax); ++i) {
      deposits.push_back({.id = next_id++,
                          .debit_account_id = kBank,
                          .credit_account_id = kFirstWallet + i,
                          .amount = kDeposit,
                          .ledger = 1,
                          .code = 10});
    }
    KEEL_RETURN_IF_ERROR(
        wallet->CreateTransfers(deposits, clock.Take(deposits.size()), results).status());
  }
  KEEL_RETURN_IF_ERROR(wallet->Sync());
  std::printf("%s wallets funded with %s each: %llu events in the log so far.\n\n",
              base::Cat(wallets).c_str(), Money(kDeposit).c_str(),
              static_cast<unsigned long long>(wallet->position()));

  // Transfers, durable with group commit: this thread validates and appends; another makes the
  // log durable, one fsync for whatever was appended meanwhile. A batch is acknowledged (its
  // results may be sent) once durable_position() covers it.
  base::Random rng(2026);
  std::vector<std::vector<Transfer>> workload;
  for (size_t b = 0; b < batches; ++b) workload.push_back(RandomTransfers(rng, wallets, next_id));
  std::atomic<uint64_t> appended{wallet->position()};
  std::atomic<bool> stop{false};
  std::thread syncer([&] {
    uint64_t synced = appended.load();
    while (true) {
      appended.wait(synced);
      if (stop.load()) return;
      synced = appended.load();
      if (!wallet->WaitDurable(synced).ok()) return;
    }
  });
  const uint64_t syncs_before = wallet->log().stats().syncs;
  uint64_t refused = 0;
  const auto start = std::chrono::steady_clock::now();
  uint64_t position = 0;
  uint64_t snapshot_position = 0;
  uint64_t midpoint_timestamp = 0;
  for (size_t b = 0; b < workload.size(); ++b) {
    KEEL_ASSIGN_OR_RETURN(position,
                          wallet->CreateTransfers(workload[b], clock.Take(kBatchMax), results));
    refused += results.size();
    appended.store(position);
    appended.notify_one();
    if (b + 1 == workload.size() / 2) midpoint_timestamp = clock.now;
  }
  KEEL_RETURN_IF_ERROR(wallet->WaitDurable(position));
  const double elapsed = Seconds(start);
  stop.store(true);
  appended.store(UINT64_MAX);
  appended.notify_all();
  syncer.join();
  const uint64_t transferred = workload.size() * kBatchMax;
  std::printf(
      "%llu transfers in %zu batches, durable: %.2fM transfers/s, %llu fsyncs.\n"
      "  %llu refused by validation (exceeds_credits: a wallet may not go below zero); they\n"
      "  change nothing and leave no fact in the events.\n\n",
      static_cast<unsigned long long>(transferred), workload.size(),
      static_cast<double>(transferred) / elapsed / 1e6,
      static_cast<unsigned long long>(wallet->log().stats().syncs - syncs_before),
      static_cast<unsigned long long>(refused));

  // A retry of a batch whose answer was lost: every transfer is `exists`, nothing changes.
  const std::vector<Account> before_retry = wallet->ledger().Accounts();
  const uint64_t transfers_before_retry = wallet->ledger().stats().transfers;
  KEEL_RETURN_IF_ERROR(
      wallet->CreateTransfers(workload[0], clock.Take(kBatchMax), results).status());
  size_t exists = 0;
  for (const CreateTransfersResult& r : results) {
    exists += r.result == ledger::CreateTransferResult::kExists ||
              r.result == ledger::CreateTransferResult::kIdAlreadyFailed;
  }
  const std::vector<Account> after_retry = wallet->ledger().Accounts();
  const bool unchanged = wallet->ledger().stats().transfers == transfers_before_retry &&
                         std::memcmp(before_retry.data(), after_retry.data(),
                                     before_retry.size() * sizeof(Account)) == 0;
  std::printf(
      "The first batch retried (a client that timed out): %zu of %u answered exists or\n"
      "id_already_failed; no transfer created, no balance moved: %s.\n\n",
      exists, kBatchMax, unchanged ? "yes" : "NO");
  if (!unchanged) return absl::InternalError("a retried batch changed the ledger");

  // A snapshot, then recovery two ways.
  auto snapshot_start = std::chrono::steady_clock::now();
  KEEL_ASSIGN_OR_RETURN(snapshot_position, wallet->WriteSnapshot());
  const double snapshot_seconds = Seconds(snapshot_start);
  const uint64_t hash = wallet->ledger().StateHash();
  wallet.reset();
  ledger::DurableLedgerReport from_snapshot;
  KEEL_ASSIGN_OR_RETURN(wallet, DurableLedger::Open(dir, options, &from_snapshot));
  const bool same_from_snapshot = wallet->ledger().StateHash() == hash;
  wallet.reset();
  std::filesystem::rename(dir + "/snapshot", scratch.path() + "/snapshot.aside");
  ledger::DurableLedgerReport from_start;
  KEEL_ASSIGN_OR_RETURN(wallet, DurableLedger::Open(dir, options, &from_start));
  const bool same_from_start = wallet->ledger().StateHash() == hash;
  const uint64_t facts = wallets + 1 + from_start.transfers_replayed;
  std::printf(
      "Snapshot at event %llu written in %.0f ms. Recovered:\n"
      "  from the snapshot: loaded in %.0f ms, %llu events after it replayed; same state: %s\n"
      "  from the first event: %llu events (%.1fM accounts and transfers) replayed in %.0f ms\n"
      "    (%.1fM facts/s; a replay applies facts without judging them again); same state: %s\n\n",
      static_cast<unsigned long long>(snapshot_position), snapshot_seconds * 1e3,
      static_cast<double>(from_snapshot.snapshot_nanos) / 1e6,
      static_cast<unsigned long long>(from_snapshot.events_replayed),
      same_from_snapshot ? "yes" : "NO",
      static_cast<unsigned long long>(from_start.events_replayed), static_cast<double>(facts) / 1e6,
      static_cast<double>(from_start.replay_nanos) / 1e6,
      static_cast<double>(facts) / (static_cast<double>(from_start.replay_nanos) / 1e9) / 1e6,
      same_from_start ? "yes" : "NO");

  // Reproducibility: the read model rebuilt from the events as of the midpoint.
  KEEL_ASSIGN_OR_RETURN(ReadModel past,
                        ReadModel::Build(wallet->log(), {.timestamp = midpoint_timestamp}));
  KEEL_ASSIGN_OR_RETURN(ReadModel now, ReadModel::Build(wallet->log()));
  std::printf(
      "Reproducibility: the read model rebuilt from the events as of the middle of the run\n"
      "(event %llu of %llu):\n\n    %-8s %14s %14s %12s\n",
      static_cast<unsigned long long>(past.position()),
      static_cast<unsigned long long>(now.position()), "wallet", "then", "now", "transfers");
  for (uint64_t w = kFirstWallet; w < kFirstWallet + 4; ++w) {
    const auto then_balances = past.BalancesOf(w);
    const auto now_balances = now.BalancesOf(w);
    const auto balance = [](const std::optional<ledger::Balances>& b) {
      return b.has_value() ? b->credits_posted - b->debits_posted : 0;
    };
    std::printf("    %-8llu %14s %14s %12zu\n", static_cast<unsigned long long>(w),
                Money(balance(then_balances)).c_str(), Money(balance(now_balances)).c_str(),
                now.TransfersOf(w).size());
  }
  // The read model agrees with the write side, and the books balance.
  size_t differing = 0;
  Uint128 total = 0;
  for (const auto& [id, b] : now.AllBalances()) {
    const std::optional<Account> account = wallet->ledger().LookupAccount(id);
    if (!account.has_value() || account->debits_posted != b.debits_posted ||
        account->credits_posted != b.credits_posted) {
      ++differing;
    }
    if (id != kBank) total += b.credits_posted - b.debits_posted;
  }
  KEEL_RETURN_IF_ERROR(wallet->ledger().CheckInvariants());
  std::printf(
      "\nThe read model and the ledger differ on %zu accounts. The wallets hold %s in all,\n"
      "exactly the %s the bank paid in: no money created or lost (and each ledger's debits\n"
      "equal its credits: Ledger::CheckInvariants).\n",
      differing, Money(total).c_str(), Money(Uint128{kDeposit} * wallets).c_str());
  if (!same_from_snapshot || !same_from_start || differing != 0 ||
      total != Uint128{kDeposit} * wallets || wallet->ledger().StateHash() != hash) {
    return absl::InternalError("the event-sourcing demo's checks failed");
  }
  return absl::OkStatus();
}

}  // namespace keel::examples::wallet
