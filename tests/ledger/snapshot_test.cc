// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Ledger::Save, Restore and StateHash: a restored ledger is the same ledger (same hash, same
// answers to the same batches from then on), the bytes depend on the state alone, and damaged
// bytes are refused without a crash.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "keel/base/coding.h"
#include "keel/base/random.h"
#include "keel/ledger/ledger.h"
#include "testing/testing.h"

namespace keel::ledger {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;

std::string Saved(const Ledger& ledger) {
  std::string bytes;
  REQUIRE(ledger
              .Save([&](std::string_view piece) {
                bytes.append(piece);
                return absl::OkStatus();
              })
              .ok());
  return bytes;
}

// A ledger with some of everything: history accounts, posted, pending (with and without
// timeouts), posted and voided pending transfers, an expired one, and failed ids.
Ledger Populated() {
  Ledger ledger;
  std::vector<CreateAccountsResult> ar;
  std::vector<Account> accounts;
  for (uint32_t i = 1; i <= 6; ++i) {
    accounts.push_back({.id = Uint128{i} << 65 | i,
                        .ledger = 1,
                        .code = 1,
                        .flags = i % 2 == 0 ? AccountFlags::kHistory : uint16_t{0}});
  }
  REQUIRE(ledger.CreateAccounts(accounts, 100, ar).ok());
  REQUIRE(ar.empty());
  std::vector<Transfer> transfers;
  for (uint32_t i = 1; i <= 12; ++i) {
    Transfer t{.id = i,
               .debit_account_id = accounts[i % 6].id,
               .credit_account_id = accounts[(i + 1) % 6].id,
               .amount = i * 10,
               .ledger = 1,
               .code = 1};
    if (i % 3 == 0) {
      t.flags = TransferFlags::kPending;
      t.timeout = i % 2;
    }
    transfers.push_back(t);
  }
  transfers.push_back({.id = 50,
                       .debit_account_id = 777,
                       .credit_account_id = accounts[0].id,
                       .amount = 1,
                       .ledger = 1,
                       .code = 1});  // failed: not found
  std::vector<CreateTransfersResult> tr;
  REQUIRE(ledger.CreateTransfers(transfers, 1000, tr).ok());
  REQUIRE(tr.size() == 1);
  const std::vector<Transfer> resolve = {
      {.id = 60,
       .amount = kMaxUint128,
       .pending_id = 6,
       .flags = TransferFlags::kPostPendingTransfer},
      {.id = 61, .pending_id = 12, .flags = TransferFlags::kVoidPendingTransfer}};
  REQUIRE(ledger.CreateTransfers(resolve, 2000, tr).ok());
  REQUIRE(tr.empty());
  REQUIRE(ledger.ExpirePendingTransfers(10 * kSecond).ok());  // expires 3 and 9
  REQUIRE(ledger.stats().expired == 2);
  return ledger;
}

TEST_CASE("A restored ledger is the same ledger") {
  const Ledger original = Populated();
  const std::string bytes = Saved(original);
  absl::StatusOr<Ledger> restored = Ledger::Restore(bytes);
  REQUIRE_MESSAGE(restored.ok(), restored.status().ToString());
  CHECK(restored->StateHash() == original.StateHash());
  CHECK(Saved(*restored) == bytes);
  CHECK(restored->stats().pending == original.stats().pending);
  CHECK(restored->stats().failed_ids == 1);
  CHECK(restored->NextExpiry() == original.NextExpiry());
  CHECK(restored->PendingStatusOf(3) == PendingStatus::kExpired);
  CHECK(restored->PendingStatusOf(6) == PendingStatus::kPosted);
  CHECK(restored->CheckInvariants().ok());
  AccountFilter filter{.account_id = (Uint128{2} << 65) | 2,
                       .limit = 100,
                       .flags = AccountFilter::kDebits | AccountFilter::kCredits};
  std::vector<AccountBalance> a, b;
  REQUIRE(Populated().GetAccountBalances(filter, a).ok());
  REQUIRE(restored->GetAccountBalances(filter, b).ok());
  CHECK(a.size() == b.size());
  CHECK(!a.empty());

  // From here on both answer alike: a failed id stays failed, a pending transfer with a timeout
  // still expires, the timestamps go on.
  Ledger again = Populated();
  const std::vector<Transfer> more = {
      {.id = 50,
       .debit_account_id = 1,
       .credit_account_id = 2,
       .amount = 1,
       .ledger = 1,
       .code = 1},
      {.id = 70,
       .amount = kMaxUint128,
       .pending_id = 9,
       .flags = TransferFlags::kPostPendingTransfer},
      {.id = 71, .pending_id = 15, .flags = TransferFlags::kVoidPendingTransfer}};
  std::vector<CreateTransfersResult> r1, r2;
  REQUIRE(again.CreateTransfers(more, 20 * kSecond, r1).ok());
  REQUIRE(restored->CreateTransfers(more, 20 * kSecond, r2).ok());
  REQUIRE(r1.size() == r2.size());
  for (size_t i = 0; i < r1.size(); ++i) CHECK(r1[i].result == r2[i].result);
  CHECK(r1[0].result == CreateTransferResult::kIdAlreadyFailed);
  CHECK(again.StateHash() == restored->StateHash());
  CHECK(absl::IsInvalidArgument(restored->CreateTransfers(more, 20 * kSecond, r2)));
}

TEST_CASE("The snapshot's bytes depend only on the state") {
  // The same state reached with room reserved differently, and an empty ledger.
  Ledger reserved;
  REQUIRE(reserved.Reserve(1 << 15, 1 << 15, 1 << 10).ok());
  CHECK(Saved(reserved) == Saved(Ledger()));
  CHECK(reserved.StateHash() == Ledger().StateHash());
  const absl::StatusOr<Ledger> empty = Ledger::Restore(Saved(Ledger()));
  REQUIRE(empty.ok());
  CHECK(empty->stats().accounts == 0);
  // Any change shows in the hash.
  Ledger one;
  std::vector<CreateAccountsResult> r;
  REQUIRE(one.CreateAccounts(std::vector<Account>{{.id = 1, .ledger = 1, .code = 1}}, 5, r).ok());
  CHECK(one.StateHash() != Ledger().StateHash());
}

TEST_CASE("Damaged snapshot bytes are refused, never read past") {
  const std::string bytes = Saved(Populated());
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    const absl::Status status = Ledger::Restore(bytes.substr(0, cut)).status();
    CHECK_MESSAGE(absl::IsDataLoss(status), cut);
  }
  // A flipped bit is refused, or (in a field no check covers, such as user data or an amount
  // the invariants happen to allow) gives a ledger whose books still balance. Never a crash.
  const uint64_t seed = keel::testing::TestSeed(1561);
  CAPTURE(seed);
  base::Random rng(seed);
  size_t refused = 0;
  for (size_t at = 0; at < bytes.size(); ++at) {
    std::string flipped = bytes;
    flipped[at] = static_cast<char>(flipped[at] ^ (1 << rng.Uniform(8)));
    absl::StatusOr<Ledger> restored = Ledger::Restore(flipped);
    if (!restored.ok()) {
      CHECK((absl::IsDataLoss(restored.status()) || absl::IsResourceExhausted(restored.status())));
      ++refused;
    } else {
      CHECK(restored->CheckInvariants().ok());
      CHECK(restored->StateHash() != Populated().StateHash());
    }
  }
  CHECK(refused > 0);
  // Larger than the options allow.
  LedgerOptions small;
  small.max_accounts = 3;
  CHECK(absl::IsResourceExhausted(Ledger::Restore(bytes, small).status()));
  // A count that promises more than the bytes hold.
  std::string lying = bytes;
  base::EncodeFixed64(lying.data() + 8 + 16, uint64_t{1} << 60);
  CHECK(absl::IsDataLoss(Ledger::Restore(lying).status()));
}

}  // namespace
}  // namespace keel::ledger
