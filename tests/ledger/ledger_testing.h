// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Helpers for keel/ledger's tests. Not installed.
//
//   Twin          a Ledger and a ReferenceLedger (reference_model.h) fed the same calls. Every
//                 call checks that both answer the same (statuses, results, counts, rows) and
//                 that their whole states agree afterwards: every account, every transfer and
//                 pending status of every id ever submitted, stats(), NextExpiry(), each history
//                 account's balances, and both CheckInvariants(). The table tests then check the
//                 answers against the values TigerBeetle's semantics give.
//   Describe(...) accounts, transfers, balances and result lists as text, transfers and accounts
//                 as C++ designated initializers to paste into a test.
//   Acc, Xfer, Post, Void, Balances
//                 short constructors and a balance summary for the table tests.
//
// Results are compared as text, "index:name" pairs joined by spaces ("1:linked_event_failed
// 2:exceeds_credits"); "" means every event was created.
#ifndef KEEL_TESTS_LEDGER_LEDGER_TESTING_H_
#define KEEL_TESTS_LEDGER_LEDGER_TESTING_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/ledger/durable_ledger.h"
#include "keel/ledger/ledger.h"
#include "keel/wal/file_system.h"
#include "ledger/reference_model.h"

namespace keel::ledger::testing {

// "kMaxUint128", "kMaxUint128 - 5", or the decimal value.
[[nodiscard]] std::string ToString(Uint128 value);
[[nodiscard]] std::string Describe(const Account& account);
[[nodiscard]] std::string Describe(const Transfer& transfer);
[[nodiscard]] std::string Describe(const AccountBalance& balance);
[[nodiscard]] std::string Describe(std::span<const AccountBalance> balances);
[[nodiscard]] std::string Describe(std::span<const Account> accounts);
[[nodiscard]] std::string Describe(std::span<const Transfer> transfers);
[[nodiscard]] std::string Describe(std::span<const CreateAccountsResult> results);
[[nodiscard]] std::string Describe(std::span<const CreateTransfersResult> results);
[[nodiscard]] std::string Describe(const LedgerStats& stats);
[[nodiscard]] std::string Describe(const AccountFilter& filter);

// Short constructors for tables: an account on `ledger` with code 1; a transfer on ledger 1
// with code 1; a post (of all of it by default) and a void of `pending_id`.
[[nodiscard]] Account Acc(Uint128 id, uint16_t flags = 0, uint32_t ledger = 1);
[[nodiscard]] Transfer Xfer(Uint128 id, Uint128 dr, Uint128 cr, Uint128 amount, uint16_t flags = 0);
[[nodiscard]] Transfer Post(Uint128 id, Uint128 pending_id, Uint128 amount = kMaxUint128,
                            uint16_t flags = 0);
[[nodiscard]] Transfer Void(Uint128 id, Uint128 pending_id);
// An account's four balances: "debits_pending debits_posted credits_pending credits_posted".
[[nodiscard]] std::string Balances(const Account& account);

class Twin {
 public:
  // The clock starts at `start_timestamp`: the first batch of n events takes start + 1 .. start +
  // n.
  explicit Twin(const LedgerOptions& options = {}, uint64_t start_timestamp = 1'000'000'000);

  // Applies the batch to both at the next timestamps (now() + 1 .. now() + n; an empty batch at
  // now() + 1) and returns the results as text. Fails the test case unless both return OK.
  std::string Accounts(std::vector<Account> events);
  std::string Transfers(std::vector<Transfer> events);

  // The same at an explicit batch timestamp, for the error cases: returns both's status code
  // (checking they agree) and puts the results text in `results` when given. The clock moves to
  // `timestamp` when both accept it.
  absl::StatusCode AccountsAt(std::span<const Account> events, uint64_t timestamp,
                              std::string* results = nullptr);
  absl::StatusCode TransfersAt(std::span<const Transfer> events, uint64_t timestamp,
                               std::string* results = nullptr);

  // ExpirePendingTransfers on both at `timestamp`; their answers must agree.
  absl::StatusOr<uint32_t> ExpireAt(uint64_t timestamp);
  // ExpirePendingTransfers at now() + 1.
  uint32_t Expire();

  // Moves the clock on (the next batch starts after now() + ns).
  void Advance(uint64_t ns) { now_ += ns; }
  void AdvanceSeconds(uint64_t seconds) { now_ += seconds * 1'000'000'000; }
  [[nodiscard]] uint64_t now() const { return now_; }

  // GetAccountBalances on both: the rows (checking the status is OK), or the status code.
  std::vector<AccountBalance> Balances(const AccountFilter& filter);
  absl::StatusCode BalancesStatus(const AccountFilter& filter);

  // Lookups on both, which must agree; `account` and `transfer` fail the test case when absent.
  Account account(Uint128 id);
  Transfer transfer(Uint128 id);
  bool HasTransfer(Uint128 id);
  PendingStatus status(Uint128 transfer_id);

  // Compares the whole states (see above). Every call above ends with it, or, between every
  // `period`-th call (set_full_check_period; 1 by default), with a cheaper check for long runs:
  // both invariants, stats(), NextExpiry(), every account, the transfers and pending statuses the
  // call named, and the newest rows of each history account. Every ExpirePendingTransfers call
  // is followed by the full check (it changes statuses the call does not name).
  void CheckSame();
  void set_full_check_period(uint32_t period) { full_check_period_ = period; }
  // Whether any answer or state has differed so far (each difference also fails the test case).
  [[nodiscard]] bool diverged() const { return diverged_; }

  Ledger& ledger() { return ledger_; }
  ReferenceLedger& model() { return model_; }

  // Event sourcing: from now on every call also goes to a DurableLedger in `dir` on `fs`, which
  // must answer alike; every full check also compares the states' hashes. ReopenDurable closes it
  // and opens it again, rebuilding its state from its snapshot and events, after writing a
  // snapshot when `snapshot_first`; then compares the hashes.
  void EnableDurable(wal::FileSystem& fs, std::string dir);
  void ReopenDurable(bool snapshot_first);
  [[nodiscard]] const DurableLedger* durable() const { return durable_.get(); }

 private:
  template <typename Event, typename Result, typename Create>
  absl::StatusCode Batch(const char* what, std::span<const Event> events, uint64_t timestamp,
                         std::string* results, Create create);
  void AfterCall(std::span<const Uint128> transfer_ids, bool full);
  void CheckCommon();
  void CheckTransfer(Uint128 id);
  void CheckHistory(uint32_t limit);
  template <typename T, typename What>
  void Same(const What& what, const T& ledger_value, const T& model_value);
  void Differ(const std::string& message);

  LedgerOptions options_;
  Ledger ledger_;
  ReferenceLedger model_;
  std::unique_ptr<DurableLedger> durable_;
  wal::FileSystem* durable_fs_ = nullptr;
  std::string durable_dir_;
  bool diverged_ = false;
  uint32_t full_check_period_ = 1;
  uint64_t calls_ = 0;
  uint64_t now_;
  // Every id ever submitted (and 0, 2^128 - 1): those whose lookups are compared.
  std::set<Uint128> account_ids_;
  std::set<Uint128> transfer_ids_;
};

}  // namespace keel::ledger::testing

#endif  // KEEL_TESTS_LEDGER_LEDGER_TESTING_H_
