// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// ReadModel: the query side of the digital wallet's CQRS. The write side (DurableLedger) judges
// commands and appends their events; the read model is built from those events alone, into the
// shape queries want: each account's balances and the list of its transfers. Because it is built
// only from the event stream, it can be rebuilt at any position of it: the balances of every
// account as they were after any event, which is the chapter's reproducibility ("reconstruct
// historical balance states by replaying the events from the very beginning").
//
// It follows a live ledger with CatchUp (the events appended since the last call), or is built
// to a chosen point with Build: a position (a number of events) or a timestamp (every event at
// or before it). It is a separate structure, not a copy of the Ledger: its own hash maps, applying
// facts (balances move; pending amounts wait for their post, void or expiry), so that it is also
// a check on the write side: its balances must equal the ledger's at every position (tested).
//
// Example (the balances of every account at midnight):
//
//   KEEL_ASSIGN_OR_RETURN(keel::ledger::ReadModel past,
//                         keel::ledger::ReadModel::Build(wallet->log(), {.timestamp = midnight}));
//   for (const auto& [id, balances] : past.AllBalances()) Print(id, balances);
//
// Thread safety: none; CatchUp may run while another thread appends to the log.
#ifndef KEEL_LEDGER_READ_MODEL_H_
#define KEEL_LEDGER_READ_MODEL_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/ledger/types.h"
#include "keel/wal/log.h"

namespace keel::ledger {

struct Balances {
  Uint128 debits_pending = 0;
  Uint128 debits_posted = 0;
  Uint128 credits_pending = 0;
  Uint128 credits_posted = 0;
  bool operator==(const Balances&) const = default;
};

// One transfer as an account's statement shows it.
struct TransferEntry {
  Uint128 id = 0;
  Uint128 debit_account_id = 0;
  Uint128 credit_account_id = 0;
  Uint128 amount = 0;
  Uint128 pending_id = 0;
  uint16_t flags = 0;  // TransferFlags
  uint64_t timestamp = 0;
};

// Where a build stops: after `position` events, or after the last event at or before
// `timestamp`, whichever comes first.
struct ReadModelLimit {
  uint64_t position = std::numeric_limits<uint64_t>::max();
  uint64_t timestamp = std::numeric_limits<uint64_t>::max();
};

namespace internal {
class ReadModelState;
}

class ReadModel {
 public:
  ReadModel();
  ~ReadModel();
  ReadModel(ReadModel&&) noexcept;
  ReadModel& operator=(ReadModel&&) noexcept;

  // The model after the events of `log` up to `limit`, from the first event. Errors:
  // kFailedPrecondition when the log no longer starts at the first event (compacted after a
  // snapshot); kDataLoss for an event that is damaged or does not follow from the ones before;
  // the log's read errors.
  [[nodiscard]] static absl::StatusOr<ReadModel> Build(const wal::Log& log,
                                                       const ReadModelLimit& limit = {});

  // Applies the events appended to `log` since the model's position. Errors: Build's.
  [[nodiscard]] absl::Status CatchUp(const wal::Log& log);

  // Events applied, and the timestamp of the last one (0 for none).
  [[nodiscard]] uint64_t position() const;
  [[nodiscard]] uint64_t last_timestamp() const;

  // An account's balances, or nullopt for an account that did not exist yet.
  [[nodiscard]] std::optional<Balances> BalancesOf(Uint128 account_id) const;
  // Every account's balances, in id order.
  [[nodiscard]] std::vector<std::pair<Uint128, Balances>> AllBalances() const;
  // The transfers that debited or credited the account, oldest first (posts and voids of pending
  // transfers are transfers of their own, as in the ledger).
  [[nodiscard]] std::vector<TransferEntry> TransfersOf(Uint128 account_id) const;

 private:
  std::unique_ptr<internal::ReadModelState> state_;
};

}  // namespace keel::ledger

#endif  // KEEL_LEDGER_READ_MODEL_H_
