// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// ReferenceLedger: the oracle for keel::ledger::Ledger. Not installed.
//
// It implements TigerBeetle 0.16.78's create_accounts / create_transfers semantics as plainly as
// possible, written from the spec (/work/notes/tigerbeetle-0.16-spec.md, cited below as §n) and
// keel/ledger/ledger.h, independently of src/ledger: std::map state, and a linked chain's
// savepoint is a copy of the whole state, so that a rollback is obviously complete. Each check is
// one line, in the order of the spec's tables, with the table row in a comment. The differential
// test in ledger_test.cc runs the same random batches through both and demands the same results,
// records, balances and statuses after every step.
//
// keel's deviations from TigerBeetle, which the reference shares:
//   - The flags imported and closed (account bits 4-5) and closing_debit, closing_credit and
//     imported (transfer bits 6-8) fail with reserved_flag, at TigerBeetle's reserved_flag
//     position. Every event is treated as not imported, so the frame's imported checks never
//     apply (an event with the imported bit and a non-zero timestamp is timestamp_must_be_zero).
//   - Expiry is the explicit ExpirePendingTransfers(timestamp) call: a pending transfer with
//     expires_at <= timestamp expires, the earliest (expires_at, creation timestamp) first, at
//     most kExpiryBatchMax per call, with no history rows.
//   - An invalid AccountFilter is kInvalidArgument, not an empty result.
//
// Where ledger.h leaves a detail open, the reference fixes it as follows:
//   - A batch of n events at timestamp T is refused with kInvalidArgument, nothing applied and no
//     timestamp used, when n > kBatchMax, T is not in 1..kTimestampMax, or T - n < the last
//     timestamp used (T < n included). An empty batch must pass the same rule but uses no
//     timestamp: the last one used stays what it was (as Ledger does; ledger.h does not say).
//   - ExpirePendingTransfers(T) follows that rule for no events (T in 1..kTimestampMax and T >=
//     the last timestamp used) and, unlike an empty batch, uses T up.
//   - kResourceExhausted (checked after the kInvalidArgument rules) when accounts + n >
//     max_accounts (transfers + n > max_transfers); nothing applied, no timestamp used.
//   - AccountFilter's timestamp_min > timestamp_max is invalid only when timestamp_max != 0 (0 is
//     unbounded), as in TigerBeetle (§12).
#ifndef KEEL_TESTS_LEDGER_REFERENCE_MODEL_H_
#define KEEL_TESTS_LEDGER_REFERENCE_MODEL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/ledger/ledger.h"
#include "keel/ledger/results.h"
#include "keel/ledger/types.h"

namespace keel::ledger::testing {

class ReferenceLedger {
 public:
  explicit ReferenceLedger(const LedgerOptions& options = {}) : options_(options) {}

  // The same contracts as Ledger's (ledger.h), with the choices above.
  [[nodiscard]] absl::Status CreateAccounts(std::span<const Account> events, uint64_t timestamp,
                                            std::vector<CreateAccountsResult>& results);
  [[nodiscard]] absl::Status CreateTransfers(std::span<const Transfer> events, uint64_t timestamp,
                                             std::vector<CreateTransfersResult>& results);
  [[nodiscard]] absl::StatusOr<uint32_t> ExpirePendingTransfers(uint64_t timestamp);
  [[nodiscard]] std::optional<uint64_t> NextExpiry() const;

  [[nodiscard]] std::optional<Account> LookupAccount(Uint128 id) const;
  [[nodiscard]] std::optional<Transfer> LookupTransfer(Uint128 id) const;
  [[nodiscard]] PendingStatus PendingStatusOf(Uint128 transfer_id) const;
  [[nodiscard]] absl::Status GetAccountBalances(const AccountFilter& filter,
                                                std::vector<AccountBalance>& balances) const;
  [[nodiscard]] std::vector<Account> Accounts() const;
  [[nodiscard]] LedgerStats stats() const;

  // Every transfer, in id order (Ledger has no such call; the differential test looks each one
  // up in Ledger).
  [[nodiscard]] std::vector<Transfer> Transfers() const;
  // Whether the id is remembered as failed (id_already_failed).
  [[nodiscard]] bool IdFailed(Uint128 id) const { return failed_ids_.contains(id); }

  // The model's own bookkeeping agrees with itself: per ledger, debits equal credits (pending and
  // posted apart), and each account's pending balances are the sums of its pending transfers.
  [[nodiscard]] absl::Status CheckInvariants() const;

 private:
  // One account's four balances right after one of its transfers (§12: the account event).
  struct HistoryRow {
    Uint128 transfer_id = 0;
    bool debit = false;  // the account is the transfer's debit account (else its credit account)
    AccountBalance balance;
  };

  // Everything a linked chain's rollback restores (§3: "Rollback is complete"). The failed ids,
  // the last timestamp and the expiry count live outside it: rollback never undoes them.
  struct State {
    std::map<Uint128, Account> accounts;
    std::map<Uint128, Transfer> transfers;
    std::map<Uint128, PendingStatus> pending_status;  // pending transfers only
    // By (account id, transfer timestamp), for every account, with history or not.
    std::map<std::pair<Uint128, uint64_t>, HistoryRow> history;
  };

  // The batch frame (§3) shared by both kinds of event. `create` is CreateAccount or
  // CreateTransfer.
  template <typename Event, typename Result, typename Entry, typename Create>
  void RunBatch(std::span<const Event> events, uint64_t timestamp, std::vector<Entry>& results,
                Create create);
  absl::Status CheckBatch(size_t n, uint64_t timestamp) const;

  CreateAccountResult CreateAccount(uint64_t ts, const Account& a);                 // §4.1
  CreateAccountResult AccountExists(const Account& a, const Account& e) const;      // §4.1
  CreateTransferResult CreateTransfer(uint64_t ts, const Transfer& t);              // §4.2
  CreateTransferResult SinglePhase(uint64_t ts, const Transfer& t);                 // §4.3
  CreateTransferResult PostOrVoid(uint64_t ts, const Transfer& t);                  // §4.4
  CreateTransferResult TransferExists(const Transfer& t, const Transfer& e) const;  // §4.5
  void RecordHistory(const Transfer& t);                                            // §12

  LedgerOptions options_;
  State state_;
  std::set<Uint128> failed_ids_;  // §6: survives rollback
  uint64_t last_timestamp_ = 0;
  uint64_t expired_ = 0;
};

// Whether a transfer result is one of the seven transient codes (§2.2, §6), the model's own list.
[[nodiscard]] bool ModelIsTransient(CreateTransferResult result);

}  // namespace keel::ledger::testing

#endif  // KEEL_TESTS_LEDGER_REFERENCE_MODEL_H_
