// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// ReadModel: built from the events alone, at every position it holds the balances the ledger held
// there (checked against a plain Ledger after each command), and each account's statement lists
// exactly the transfers that touched it.
#include "keel/ledger/read_model.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <vector>

#include "keel/ledger/durable_ledger.h"
#include "keel/ledger/ledger.h"
#include "keel/wal/memory_file_system.h"
#include "ledger/workload.h"
#include "testing/testing.h"

namespace keel::ledger {
namespace {

using testing::Workload;

std::vector<std::pair<Uint128, Balances>> BalancesOf(const Ledger& ledger) {
  std::vector<std::pair<Uint128, Balances>> all;
  for (const Account& a : ledger.Accounts()) {
    all.emplace_back(
        a.id, Balances{a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted});
  }
  return all;
}

DurableLedgerOptions Options(wal::FileSystem* fs) {
  DurableLedgerOptions options;
  options.log.file_system = fs;
  options.log.salt = 3;
  return options;
}

TEST_CASE("The read model holds the ledger's balances at every position") {
  const uint64_t seed = keel::testing::TestSeed(1571);
  CAPTURE(seed);
  constexpr size_t kCommands = 120;
  wal::MemoryFileSystem fs;
  auto opened = DurableLedger::Open("/l", Options(&fs));
  REQUIRE(opened.ok());
  DurableLedger& durable = **opened;
  Ledger reference;
  Workload workload(seed);
  ReadModel following;
  std::vector<std::vector<std::pair<Uint128, Balances>>> history = {{}};
  std::vector<uint64_t> timestamps = {0};
  for (size_t i = 0; i < kCommands; ++i) {
    const Command command = workload.Next();
    CommandResult result;
    REQUIRE(durable.Execute(command, result).ok());
    REQUIRE(reference.Execute(command).ok());
    REQUIRE(following.CatchUp(durable.log()).ok());
    CHECK(following.position() == i + 1);
    history.push_back(BalancesOf(reference));
    timestamps.push_back(reference.stats().last_timestamp);
    CHECK(following.last_timestamp() == timestamps.back());
    REQUIRE(following.AllBalances() == history.back());
  }
  // Rebuilt at any position, or at any timestamp, it is the past.
  for (size_t k = 0; k <= kCommands; k += 7) {
    CAPTURE(k);
    absl::StatusOr<ReadModel> past = ReadModel::Build(durable.log(), {.position = k});
    REQUIRE(past.ok());
    CHECK(past->position() == k);
    CHECK(past->AllBalances() == history[k]);
    if (k > 0) {
      absl::StatusOr<ReadModel> at = ReadModel::Build(durable.log(), {.timestamp = timestamps[k]});
      REQUIRE(at.ok());
      CHECK(at->position() == k);
      CHECK(at->AllBalances() == history[k]);
    }
  }
  // Before any event: nothing.
  absl::StatusOr<ReadModel> before = ReadModel::Build(durable.log(), {.timestamp = 1});
  REQUIRE(before.ok());
  CHECK(before->position() == 0);
  CHECK(!before->BalancesOf(1).has_value());

  // Each account's statement: every transfer that touched it, oldest first.
  std::map<Uint128, std::vector<Transfer>> expected;
  for (Uint128 id = 1; id < 4 * kCommands * 24; ++id) {
    if (const std::optional<Transfer> t = reference.LookupTransfer(id); t.has_value()) {
      expected[t->debit_account_id].push_back(*t);
      expected[t->credit_account_id].push_back(*t);
    }
  }
  size_t checked = 0;
  for (const auto& [account, balances] : following.AllBalances()) {
    std::vector<Transfer>& want = expected[account];
    std::sort(want.begin(), want.end(),
              [](const Transfer& a, const Transfer& b) { return a.timestamp < b.timestamp; });
    const std::vector<TransferEntry> got = following.TransfersOf(account);
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].id == want[i].id);
      CHECK(got[i].amount == want[i].amount);
      CHECK(got[i].timestamp == want[i].timestamp);
    }
    checked += got.size();
  }
  CHECK(checked > 100);
  CHECK(following.TransfersOf(987654321).empty());
}

TEST_CASE("A read model needs the log from its first event") {
  wal::MemoryFileSystem fs;
  DurableLedgerOptions options = Options(&fs);
  options.compact_log_on_snapshot = true;
  options.log.max_segment_bytes = 2 << 20;
  options.log.max_record_bytes = 3 << 19;
  auto opened = DurableLedger::Open("/l", options);
  REQUIRE(opened.ok());
  DurableLedger& durable = **opened;
  std::vector<CreateAccountsResult> ar;
  REQUIRE(durable
              .CreateAccounts(std::vector<Account>{{.id = 1, .ledger = 1, .code = 1},
                                                   {.id = 2, .ledger = 1, .code = 1}},
                              10, ar)
              .ok());
  for (uint64_t batch = 0; batch < 2; ++batch) {
    std::vector<Transfer> transfers;
    for (uint64_t i = 0; i < kBatchMax; ++i) {
      transfers.push_back({.id = 1 + batch * kBatchMax + i,
                           .debit_account_id = 1,
                           .credit_account_id = 2,
                           .amount = 1,
                           .ledger = 1,
                           .code = 1});
    }
    std::vector<CreateTransfersResult> tr;
    REQUIRE(durable.CreateTransfers(transfers, (batch + 1) * 1'000'000, tr).ok());
  }
  absl::StatusOr<ReadModel> whole = ReadModel::Build(durable.log());
  REQUIRE(whole.ok());
  CHECK(whole->BalancesOf(2)->credits_posted == 2 * kBatchMax);
  REQUIRE(durable.WriteSnapshot().ok());
  REQUIRE(durable.log().first_offset() > 0);
  CHECK(absl::IsFailedPrecondition(ReadModel::Build(durable.log()).status()));
}

}  // namespace
}  // namespace keel::ledger
