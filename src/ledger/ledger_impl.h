// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The ledger's state and its undo log, shared by the files of src/ledger: ledger.cc (batches,
// chains, expiry, queries) and create.cc (the checks and effects of one account or transfer).
//
// Linked chains are all or nothing. Rather than copying the state at a chain's start, the ledger
// keeps an undo log while a chain is open: every change records how to reverse it (an account's
// previous balances, a transfer or history row to remove, a pending status to restore), and a
// chain that fails is unwound from that log. Events outside chains record nothing: one that fails
// fails before it changes anything.
#ifndef KEEL_SRC_LEDGER_LEDGER_IMPL_H_
#define KEEL_SRC_LEDGER_LEDGER_IMPL_H_

#include <cstdint>
#include <set>
#include <span>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "keel/ledger/ledger.h"

namespace keel::ledger::internal {

inline constexpr uint64_t kNanosPerSecond = 1'000'000'000;

struct StoredTransfer {
  Transfer transfer;
  PendingStatus status = PendingStatus::kNone;
};

// An account's balances right after one of its transfers (accounts with kHistory only).
struct HistoryRow {
  uint64_t timestamp = 0;
  Uint128 transfer_id = 0;
  Uint128 debits_pending = 0;
  Uint128 debits_posted = 0;
  Uint128 credits_pending = 0;
  Uint128 credits_posted = 0;
};

// A pending transfer with a timeout, in the order expiry takes them.
struct ExpiryKey {
  uint64_t expires_at = 0;
  uint64_t created = 0;  // the transfer's timestamp, unique
  Uint128 id = 0;
  bool operator<(const ExpiryKey& other) const {
    return std::tie(expires_at, created) < std::tie(other.expires_at, other.created);
  }
};

// How to reverse one change.
struct Undo {
  enum class Kind : uint8_t {
    kAccountInserted,   // erase `id`
    kAccountChanged,    // restore `account`
    kTransferInserted,  // erase `id`
    kStatusChanged,     // restore `status` of transfer `id`
    kExpiryInserted,    // erase `expiry`
    kExpiryErased,      // insert `expiry`
    kHistoryAppended,   // pop the last row of account `id`
  };
  Kind kind = Kind::kAccountInserted;
  Uint128 id = 0;
  Account account{};
  PendingStatus status = PendingStatus::kNone;
  ExpiryKey expiry{};
};

class LedgerImpl {
 public:
  explicit LedgerImpl(const LedgerOptions& options) : options_(options) {}

  // One event, at timestamp `ts`, after the batch frame's checks (create.cc).
  CreateAccountResult CreateAccount(const Account& a, uint64_t ts);
  CreateTransferResult CreateTransfer(const Transfer& t, uint64_t ts);

  // The batch frame: timestamps, linked chains, failed ids (ledger.cc).
  template <typename Event, typename Result, typename Create>
  void Execute(std::span<const Event> events, uint64_t timestamp, std::vector<Result>& results,
               Create create, bool remember_failures);

  // Savepoints for linked chains.
  void BeginChain();
  void CommitChain();
  void RollbackChain();

  // Changes, recorded in the undo log while a chain is open.
  Account& MutableAccount(Account& account);  // records its current value, returns it
  void InsertAccount(const Account& account);
  StoredTransfer& InsertTransfer(const Transfer& transfer, PendingStatus status);
  void SetStatus(StoredTransfer& stored, PendingStatus status);
  void InsertExpiry(const ExpiryKey& key);
  void EraseExpiry(const ExpiryKey& key);
  void AppendHistory(const Account& account, const Transfer& transfer);

  CreateTransferResult PostOrVoid(const Transfer& t, uint64_t ts);
  CreateTransferResult CompareWithExisting(const Transfer& t, const StoredTransfer& e) const;

  LedgerOptions options_;
  absl::flat_hash_map<Uint128, Account> accounts_;
  absl::flat_hash_map<Uint128, StoredTransfer> transfers_;
  absl::flat_hash_set<Uint128> failed_ids_;
  std::set<ExpiryKey> expiry_;
  absl::flat_hash_map<Uint128, std::vector<HistoryRow>> history_;
  uint64_t last_timestamp_ = 0;
  uint64_t pending_ = 0;
  uint64_t expired_ = 0;

  bool in_chain_ = false;
  std::vector<Undo> undo_;
};

}  // namespace keel::ledger::internal

#endif  // KEEL_SRC_LEDGER_LEDGER_IMPL_H_
