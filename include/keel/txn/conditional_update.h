// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// All-or-nothing updates guarded by a constraint: the "database constraint" answer to double
// booking.
//
// The case study's third approach leaves the race to the database: the booking is one statement,
// `UPDATE room_type_inventory SET total_reserved = total_reserved + rooms ...`, and a CHECK
// constraint on the table (total_reserved <= floor(total_inventory * 1.1)) makes the database
// refuse any update whose new row breaks it. The client neither reads first nor retries: the
// statement either applies to every night or to none, and a refusal means "sold out".
//
// UpdateIf() is that statement over a VersionedStore. It latches the records (in key order, like
// every multi-record operation of the store), applies `mutation` to a copy of each, checks
// `constraint` on every new value, and installs them all (each version one higher) only if every
// check passed. If one fails, nothing is written and the error names the record that broke the
// constraint, with the constraint's own message. The whole thing holds the latches for the time
// of a few copies and comparisons, and never aborts because of another writer: conflicting
// updates simply run one after the other. What it cannot do is decide on data outside the rows it
// updates, or run the caller's code between reading and writing; that needs a transaction
// (keel/txn/optimistic_transaction.h) or locks (keel/txn/lock_manager.h).
//
// Example (book `rooms` for every night in `nights`):
//
//   absl::Status booked = keel::txn::UpdateIf(
//       inventory, std::span<const InventoryKey>(nights),
//       [&](const InventoryKey&, InventoryRow& row) { row.total_reserved += rooms; },
//       [](const InventoryKey&, const InventoryRow& row) -> absl::Status {
//         if (row.total_reserved <= row.total_inventory * 11 / 10) return absl::OkStatus();
//         return absl::FailedPreconditionError(keel::base::Cat("total_reserved would be ",
//                                                              row.total_reserved));
//       });
//   // kFailedPrecondition "record (1, 2, 2026-07-04): total_reserved would be 111": sold out,
//   // and no night was booked.
//
// Limits: at most kMaxUpdateRecords records per call (kInvalidArgument beyond). Allocation: one
// copy of each value, and two small vectors.
//
// Thread safety: any number of calls, transactions and direct store calls may run at once.
#ifndef KEEL_TXN_CONDITIONAL_UPDATE_H_
#define KEEL_TXN_CONDITIONAL_UPDATE_H_

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "keel/base/strings.h"
#include "keel/txn/record_key.h"
#include "keel/txn/versioned_store.h"

namespace keel::txn {

inline constexpr size_t kMaxUpdateRecords = 1 << 16;

// Applies `mutation` (void(const Key&, Value&)) to every record of `keys` and installs the results
// only if `constraint` (absl::Status(const Key&, const Value& new_value)) accepts every new value;
// all of this atomically. Returns:
//   OK                    every record was updated, each version one higher;
//   the constraint's code (kFailedPrecondition, say), its message prefixed with "record <key>: "
//                         the first record (in key order) whose new value broke it; nothing
//                         written;
//   kNotFound             a key has no record; nothing written;
//   kInvalidArgument      no keys, a key listed twice, or more than kMaxUpdateRecords keys.
// The mutation must not throw and must not touch the store; the constraint must not return OK
// for a value it does not accept (an OK status is acceptance).
template <RecordKey Key, std::copyable Value, typename Mutation, typename Constraint>
[[nodiscard]] absl::Status UpdateIf(VersionedStore<Key, Value>& store, std::span<const Key> keys,
                                    Mutation&& mutation, Constraint&& constraint);

// ---------------------------------------------------------------------------------------------
// Implementation details.
// ---------------------------------------------------------------------------------------------
template <RecordKey Key, std::copyable Value, typename Mutation, typename Constraint>
absl::Status UpdateIf(VersionedStore<Key, Value>& store, std::span<const Key> keys,
                      Mutation&& mutation, Constraint&& constraint) {
  if (keys.empty()) return absl::InvalidArgumentError("an update needs at least one record");
  if (keys.size() > kMaxUpdateRecords) {
    return absl::InvalidArgumentError(base::Cat(
        "an update of ", keys.size(), " records is over the limit of ", kMaxUpdateRecords));
  }
  std::vector<const Key*> sorted;
  sorted.reserve(keys.size());
  for (const Key& key : keys) sorted.push_back(&key);
  std::sort(sorted.begin(), sorted.end(), [](const Key* a, const Key* b) { return *a < *b; });
  using RecordT = internal::Record<Value>;
  std::vector<RecordT*> records;
  records.reserve(keys.size());
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0 && *sorted[i] == *sorted[i - 1]) {
      return absl::InvalidArgumentError(
          base::Cat("record ", KeyString(*sorted[i]), " is listed twice in one update"));
    }
    RecordT* record = internal::StoreAccess::Find(store, *sorted[i]);
    if (record == nullptr) {
      return absl::NotFoundError(base::Cat("no record ", KeyString(*sorted[i])));
    }
    records.push_back(record);
  }

  internal::LatchGuard<Value> guard(records);
  std::vector<Value> updated;
  updated.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    updated.push_back(records[i]->value);
    mutation(*sorted[i], updated.back());
    absl::Status accepted = constraint(*sorted[i], std::as_const(updated.back()));
    if (!accepted.ok()) {
      return absl::Status(accepted.code(),
                          base::Cat("record ", KeyString(*sorted[i]), ": ", accepted.message()));
    }
  }
  for (size_t i = 0; i < records.size(); ++i) {
    records[i]->value = std::move(updated[i]);
    ++records[i]->version;
  }
  return absl::OkStatus();
}

}  // namespace keel::txn

#endif  // KEEL_TXN_CONDITIONAL_UPDATE_H_
