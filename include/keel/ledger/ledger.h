// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Ledger: a double-entry ledger in memory with TigerBeetle 0.16's semantics, the state machine
// that the digital wallet's event log is applied to. It creates accounts and transfers in batches
// and answers lookups and balance history. Every result is decided by the batch and the state
// before it, never by the wall clock or by chance, so replaying the same batches with the same
// timestamps rebuilds the same ledger (keel/ledger's event sourcing relies on that).
//
// What a batch does (TigerBeetle's docs/reference/requests/create_transfers.md, and its
// src/state_machine.zig at 0.16.78 for the order of the checks; docs/ledger.md sums them up):
//
//   - Events are applied in order; each gets the timestamp `timestamp - n + i + 1`, so a batch
//     takes the n nanoseconds ending at its timestamp.
//   - An event fails with the first fault in TigerBeetle's order of precedence (results.h). A
//     repeated id is `exists` when the request matches the stored one, else
//     `exists_with_different_<field>`: clients retry batches safely.
//   - Events with the linked flag form a chain with the event after them: all of the chain is
//     applied or none. The event that fails keeps its own result, the chain's others get
//     linked_event_failed; a chain still open at the end of the batch fails with
//     linked_event_chain_open.
//   - A transfer that failed for a reason of the moment (an account not found, a balance limit)
//     leaves its id failed for good: id_already_failed, so that a retry cannot succeed later by
//     surprise.
//   - Two-phase transfers: a pending transfer reserves its amount; a post (of all of it or part)
//     or a void resolves it, once. A pending transfer with a timeout expires when
//     ExpirePendingTransfers reaches it, releasing its amount; it cannot be posted or voided from
//     its expiry on, even before that call.
//   - Balancing transfers move at most what the accounts' balances allow, down to 0.
//
// Invariant, checked by CheckInvariants: on each ledger the sum of all accounts' debits equals
// the sum of their credits, pending and posted apart; no money is created or lost.
//
// Differences from TigerBeetle: imported events and closing accounts (the flags imported,
// closed, closing_debit and closing_credit) are not supported and fail with reserved_flag, and an
// invalid AccountFilter is an error status rather than an empty result.
//
// Example:
//
//   keel::ledger::Ledger ledger;
//   std::vector<keel::ledger::CreateAccountsResult> account_results;
//   KEEL_RETURN_IF_ERROR(ledger.CreateAccounts(accounts, now_ns, account_results));
//   std::vector<keel::ledger::CreateTransfersResult> results;
//   KEEL_RETURN_IF_ERROR(ledger.CreateTransfers(transfers, now_ns + 1000, results));
//   for (const auto& r : results) Reject(transfers[r.index], r.result);  // the rest were created
//
// Thread safety: none; one thread applies batches (the state machine of a replicated log).
// Memory: accounts, transfers and history rows are held in memory, bounded by LedgerOptions.
#ifndef KEEL_LEDGER_LEDGER_H_
#define KEEL_LEDGER_LEDGER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/ledger/command.h"
#include "keel/ledger/results.h"
#include "keel/ledger/types.h"

namespace keel::ledger {

struct LedgerOptions {
  // The most accounts and transfers held. A batch that could pass either is refused whole with
  // kResourceExhausted (before any of it applies), so that results never depend on how full the
  // ledger is.
  uint64_t max_accounts = uint64_t{1} << 24;
  uint64_t max_transfers = uint64_t{1} << 28;
};

struct LedgerStats {
  uint64_t accounts = 0;
  uint64_t transfers = 0;
  uint64_t pending = 0;     // pending transfers not yet posted, voided or expired
  uint64_t failed_ids = 0;  // transfer ids failed for good
  uint64_t expired = 0;     // pending transfers expired so far
  uint64_t last_timestamp = 0;
};

namespace internal {
class LedgerImpl;
class LedgerAccess;
}  // namespace internal

class Ledger {
 public:
  explicit Ledger(const LedgerOptions& options = {});
  ~Ledger();
  Ledger(Ledger&&) noexcept;
  Ledger& operator=(Ledger&&) noexcept;
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Makes room for `accounts` accounts, `transfers` transfers and `history_rows` balance-history
  // rows in all (a transfer adds one row per side whose account has kHistory), allocating and
  // touching the memory now, so that batches that add them later do not pay for fresh memory (on
  // a virtual machine the first touch of a page can cost more than the transfers written to it).
  // As TigerBeetle allocates everything at startup. Errors: kInvalidArgument past max_accounts
  // or max_transfers.
  [[nodiscard]] absl::Status Reserve(uint64_t accounts, uint64_t transfers,
                                     uint64_t history_rows = 0);

  // Applies a batch of account creations at `timestamp` and puts the failed events' results in
  // `results` (cleared first), in index order. An empty batch changes nothing, the last
  // timestamp used included. Errors, with nothing applied: kInvalidArgument for
  // a batch over kBatchMax events, or a timestamp out of 1..kTimestampMax or not after every
  // timestamp used before (timestamp - n must be >= last_timestamp); kResourceExhausted when the
  // batch could pass max_accounts.
  [[nodiscard]] absl::Status CreateAccounts(std::span<const Account> events, uint64_t timestamp,
                                            std::vector<CreateAccountsResult>& results);

  // The same for transfers (max_transfers).
  [[nodiscard]] absl::Status CreateTransfers(std::span<const Transfer> events, uint64_t timestamp,
                                             std::vector<CreateTransfersResult>& results);

  // Expires up to kExpiryBatchMax pending transfers whose timeout has run out by `timestamp`
  // (created at t with a timeout of s seconds: expired once t + s * 10^9 <= timestamp), the
  // earliest first, releasing their amounts. Returns how many expired; call again while it
  // returns kExpiryBatchMax. `timestamp` is used up like a batch's. Errors: kInvalidArgument for
  // a timestamp out of range or before the last one used.
  [[nodiscard]] absl::StatusOr<uint32_t> ExpirePendingTransfers(uint64_t timestamp);

  // Applies a command (command.h): CreateAccounts, CreateTransfers or ExpirePendingTransfers at
  // the command's timestamp. Errors: theirs.
  [[nodiscard]] absl::StatusOr<CommandResult> Execute(const Command& command);

  // When the next pending transfer expires, if one has a timeout.
  [[nodiscard]] std::optional<uint64_t> NextExpiry() const;

  [[nodiscard]] std::optional<Account> LookupAccount(Uint128 id) const;
  [[nodiscard]] std::optional<Transfer> LookupTransfer(Uint128 id) const;
  // kNone for a transfer that is not pending, or not there.
  [[nodiscard]] PendingStatus PendingStatusOf(Uint128 transfer_id) const;

  // The balances of a kHistory account after each of its transfers that match `filter`, oldest
  // first (newest first with kReversed), at most min(limit, kBatchMax) of them. Empty for an
  // account that does not exist or keeps no history. Errors: kInvalidArgument naming the bad
  // field of an invalid filter (an account id of 0 or 2^128 - 1, limit 0, neither kDebits nor
  // kCredits, unknown flags, a timestamp out of range or min > max).
  [[nodiscard]] absl::Status GetAccountBalances(const AccountFilter& filter,
                                                std::vector<AccountBalance>& balances) const;

  // Every account, in id order.
  [[nodiscard]] std::vector<Account> Accounts() const;

  // Checks that each ledger's debits equal its credits (pending and posted apart) and that the
  // pending balances add up to the pending transfers' amounts. kInternal naming the first
  // difference; O(accounts + transfers).
  [[nodiscard]] absl::Status CheckInvariants() const;

  [[nodiscard]] LedgerStats stats() const;

  // Snapshots. Save passes the whole state to `write` in pieces, in a format that depends only on
  // the state (not on the order of hash tables or on what memory was reserved): accounts,
  // transfers with their pending status and failed ids, balance history, the last timestamp.
  // It stops at the first error `write` returns. Restore rebuilds a ledger from Save's bytes,
  // checking them: kDataLoss naming what is inconsistent (a size, a row a link points past, a
  // duplicate id, unbalanced books), kResourceExhausted when they hold more than `options`
  // allows. docs/ledger.md has the format.
  [[nodiscard]] absl::Status Save(absl::FunctionRef<absl::Status(std::string_view)> write) const;
  [[nodiscard]] static absl::StatusOr<Ledger> Restore(std::string_view bytes,
                                                      const LedgerOptions& options = {});

  // XXH3-64 of Save's bytes: ledgers with the same state have the same hash, whatever way they
  // got there (batches, replayed events, a restored snapshot).
  [[nodiscard]] uint64_t StateHash() const;

 private:
  friend class internal::LedgerAccess;
  std::unique_ptr<internal::LedgerImpl> impl_;
};

}  // namespace keel::ledger

#endif  // KEEL_LEDGER_LEDGER_H_
