// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Optimistic transactions over a VersionedStore: read records (remembering their versions),
// buffer the writes, and commit only if nothing read has changed since; otherwise abort, and let
// the caller run the whole transaction again.
//
// This is optimistic concurrency control as Kung and Robinson describe it ("On Optimistic Methods
// for Concurrency Control", ACM TODS 6(2), 1981): a read phase that touches only private copies, a
// validation phase, and a write phase. Validation and write are done as Silo does them (Tu, Zheng,
// Kohler, Liskov and Madden, "Speedy Transactions in Multicore In-Memory Databases", SOSP 2013):
// the commit latches the records it touches in one global order (the key order, so two commits
// cannot deadlock), checks that every record read is still at the version read, installs the
// buffered writes with each version one higher, and lets go. Nothing is locked while the caller's
// code runs, so a transaction never waits for another; under heavy contention it aborts instead,
// which is the case study's "performance is poor when data contention is heavy".
//
// What this version changes from Silo: Silo latches only the records written and checks the
// records only read with a lock-free read of their version word. Here values are arbitrary
// copyable types whose copy is not atomic, so every record read is latched too; the transactions
// keel serves (a booking that reads and writes the same few rows) write what they read anyway.
// Versions are per record (the chapter's version column), not Silo's epoch-based TIDs.
//
// A transaction that gives up instead of committing (a booking that finds the room sold out)
// decided on what it read, which may already be stale. RunOptimistic() therefore validates the
// reads of a transaction whose body fails, and retries it if they changed: a "sold out" answer is
// only returned if the rows were really sold out at one instant.
//
// Example (book `rooms` rooms for every night in `nights`):
//
//   keel::txn::RetryStats stats;
//   absl::Status booked = keel::txn::RunOptimistic(
//       inventory, {.max_attempts = 32},
//       [&](keel::txn::OptimisticTransaction<InventoryKey, InventoryRow>& txn) -> absl::Status {
//         for (const InventoryKey& night : nights) {
//           KEEL_ASSIGN_OR_RETURN(InventoryRow row, txn.Read(night));
//           if (row.total_reserved + rooms > row.limit()) return SoldOut(night);
//           row.total_reserved += rooms;
//           KEEL_RETURN_IF_ERROR(txn.Write(night, row));
//         }
//         return absl::OkStatus();
//       },
//       &stats);
//   // stats.attempts - 1 is how many times it was retried.
//
// Limits: a transaction touches at most max_records distinct records (Read and Write return
// kResourceExhausted beyond); RunOptimistic makes at most RetryOptions::max_attempts attempts.
// Allocation: each record touched copies its value once into the transaction.
//
// Thread safety: a transaction belongs to one thread; any number of transactions (and direct
// calls on the store) may run at once.
#ifndef KEEL_TXN_OPTIMISTIC_TRANSACTION_H_
#define KEEL_TXN_OPTIMISTIC_TRANSACTION_H_

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/base/assert.h"
#include "keel/base/strings.h"
#include "keel/txn/record_key.h"
#include "keel/txn/versioned_store.h"

namespace keel::txn {

inline constexpr size_t kDefaultMaxTransactionRecords = 1024;

template <RecordKey Key, std::copyable Value>
class OptimisticTransaction {
 public:
  // REQUIRES: max_records >= 1; `store` outlives the transaction.
  explicit OptimisticTransaction(VersionedStore<Key, Value>& store,
                                 size_t max_records = kDefaultMaxTransactionRecords);
  OptimisticTransaction(const OptimisticTransaction&) = delete;
  OptimisticTransaction& operator=(const OptimisticTransaction&) = delete;

  // The record's value as this transaction sees it: its own write if it wrote one, else the value
  // it read first (a second Read returns the same, the version stays the first one read).
  // kNotFound if there is no such record; kResourceExhausted past max_records;
  // kFailedPrecondition after Commit().
  [[nodiscard]] absl::StatusOr<Value> Read(const Key& key);

  // Buffers a write; nothing is visible to others until Commit(). A write without a read (a blind
  // write) is installed whatever the record's version then. Errors as Read.
  [[nodiscard]] absl::Status Write(const Key& key, Value value);

  // OK if every record read is still at the version read (at one instant: all are latched while
  // they are checked); kAborted naming the first that is not. Commits nothing.
  [[nodiscard]] absl::Status Validate() const;

  // Validates the reads and installs the writes atomically. OK, or kAborted naming the record and
  // the versions (nothing installed), or kFailedPrecondition if Commit() was already called. Either
  // way the transaction is finished: retry with a new one.
  [[nodiscard]] absl::Status Commit();

  // Distinct records read or written so far.
  [[nodiscard]] size_t records() const { return entries_.size(); }
  [[nodiscard]] bool finished() const { return finished_; }

 private:
  using RecordT = internal::Record<Value>;
  struct Entry {
    Key key;
    RecordT* record;
    std::optional<Versioned<Value>> read;  // set when the transaction read the record
    std::optional<Value> written;          // set when it wrote the record
  };

  // The entry of `key`, added (without reading) if new; errors as Read.
  absl::StatusOr<Entry*> Touch(const Key& key);
  absl::Status CheckOpen() const;
  // Latches the records of the entries that `include` selects, in key order.
  template <typename Include>
  internal::LatchGuard<Value> LatchInKeyOrder(Include include) const;
  absl::Status ValidateLatched() const;

  VersionedStore<Key, Value>* store_;
  size_t max_records_;
  std::vector<Entry> entries_;  // transactions are small: found by linear search
  bool finished_ = false;
};

struct RetryOptions {
  int max_attempts = 16;  // 1 to kMaxRetryAttempts
};
inline constexpr int kMaxRetryAttempts = 1'000'000;

struct RetryStats {
  int attempts = 0;  // transactions run; attempts - 1 were aborted and retried
};

// Runs `body` (absl::Status(OptimisticTransaction<Key, Value>&)) in a fresh transaction and
// commits it, until a commit succeeds or max_attempts transactions have been aborted by a
// conflict (then kAborted, with the last conflict). A body that returns an error decides the
// outcome only if its reads validate; if they changed meanwhile, its decision rests on stale data
// and it is retried too. Other errors (kNotFound, kResourceExhausted) are returned as they are.
// kInvalidArgument if max_attempts is out of range. `stats`, if given, receives the attempts.
template <RecordKey Key, std::copyable Value, typename Body>
[[nodiscard]] absl::Status RunOptimistic(VersionedStore<Key, Value>& store,
                                         const RetryOptions& options, Body&& body,
                                         RetryStats* stats = nullptr);

// ---------------------------------------------------------------------------------------------
// Implementation details.
// ---------------------------------------------------------------------------------------------
template <RecordKey Key, std::copyable Value>
OptimisticTransaction<Key, Value>::OptimisticTransaction(VersionedStore<Key, Value>& store,
                                                         size_t max_records)
    : store_(&store), max_records_(max_records) {
  KEEL_ASSERT(max_records >= 1, "max_records is ", max_records);
}

template <RecordKey Key, std::copyable Value>
absl::Status OptimisticTransaction<Key, Value>::CheckOpen() const {
  if (finished_) {
    return absl::FailedPreconditionError("the transaction has already committed or aborted");
  }
  return absl::OkStatus();
}

template <RecordKey Key, std::copyable Value>
absl::StatusOr<typename OptimisticTransaction<Key, Value>::Entry*>
OptimisticTransaction<Key, Value>::Touch(const Key& key) {
  if (absl::Status open = CheckOpen(); !open.ok()) return open;
  for (Entry& entry : entries_) {
    if (entry.key == key) return &entry;
  }
  if (entries_.size() >= max_records_) {
    return absl::ResourceExhaustedError(base::Cat("cannot touch record ", KeyString(key),
                                                  ": the transaction holds its limit of ",
                                                  max_records_, " records"));
  }
  RecordT* record = internal::StoreAccess::Find(*store_, key);
  if (record == nullptr) return absl::NotFoundError(base::Cat("no record ", KeyString(key)));
  entries_.push_back(Entry{key, record, std::nullopt, std::nullopt});
  return &entries_.back();
}

template <RecordKey Key, std::copyable Value>
absl::StatusOr<Value> OptimisticTransaction<Key, Value>::Read(const Key& key) {
  absl::StatusOr<Entry*> touched = Touch(key);
  if (!touched.ok()) return touched.status();
  Entry& entry = **touched;
  if (entry.written.has_value()) return *entry.written;
  if (!entry.read.has_value()) {
    std::lock_guard latch(entry.record->latch);
    entry.read.emplace(Versioned<Value>{entry.record->value, entry.record->version});
  }
  return entry.read->value;
}

template <RecordKey Key, std::copyable Value>
absl::Status OptimisticTransaction<Key, Value>::Write(const Key& key, Value value) {
  absl::StatusOr<Entry*> touched = Touch(key);
  if (!touched.ok()) return touched.status();
  (*touched)->written = std::move(value);
  return absl::OkStatus();
}

template <RecordKey Key, std::copyable Value>
template <typename Include>
internal::LatchGuard<Value> OptimisticTransaction<Key, Value>::LatchInKeyOrder(
    Include include) const {
  std::vector<const Entry*> selected;
  selected.reserve(entries_.size());
  for (const Entry& entry : entries_) {
    if (include(entry)) selected.push_back(&entry);
  }
  std::sort(selected.begin(), selected.end(),
            [](const Entry* a, const Entry* b) { return a->key < b->key; });
  std::vector<RecordT*> records;
  records.reserve(selected.size());
  for (const Entry* entry : selected) records.push_back(entry->record);
  return internal::LatchGuard<Value>(std::move(records));
}

template <RecordKey Key, std::copyable Value>
absl::Status OptimisticTransaction<Key, Value>::ValidateLatched() const {
  for (const Entry& entry : entries_) {
    if (entry.read.has_value() && entry.record->version != entry.read->version) {
      return internal::VersionMismatch(KeyString(entry.key), entry.read->version,
                                       entry.record->version);
    }
  }
  return absl::OkStatus();
}

template <RecordKey Key, std::copyable Value>
absl::Status OptimisticTransaction<Key, Value>::Validate() const {
  internal::LatchGuard<Value> guard =
      LatchInKeyOrder([](const Entry& entry) { return entry.read.has_value(); });
  return ValidateLatched();
}

template <RecordKey Key, std::copyable Value>
absl::Status OptimisticTransaction<Key, Value>::Commit() {
  if (absl::Status open = CheckOpen(); !open.ok()) return open;
  finished_ = true;
  internal::LatchGuard<Value> guard = LatchInKeyOrder([](const Entry&) { return true; });
  if (absl::Status valid = ValidateLatched(); !valid.ok()) return valid;
  for (Entry& entry : entries_) {
    if (!entry.written.has_value()) continue;
    entry.record->value = std::move(*entry.written);
    ++entry.record->version;
    KEEL_DCHECK(!entry.read.has_value() || entry.record->version == entry.read->version + 1);
  }
  return absl::OkStatus();
}

template <RecordKey Key, std::copyable Value, typename Body>
absl::Status RunOptimistic(VersionedStore<Key, Value>& store, const RetryOptions& options,
                           Body&& body, RetryStats* stats) {
  if (options.max_attempts < 1 || options.max_attempts > kMaxRetryAttempts) {
    return absl::InvalidArgumentError(base::Cat("max_attempts is ", options.max_attempts,
                                                "; it must be 1 to ", kMaxRetryAttempts));
  }
  absl::Status conflict;
  for (int attempt = 1; attempt <= options.max_attempts; ++attempt) {
    if (stats != nullptr) stats->attempts = attempt;
    if (attempt > 1) std::this_thread::yield();  // let the transaction that won finish
    OptimisticTransaction<Key, Value> txn(store);
    absl::Status outcome = body(txn);
    if (outcome.ok()) {
      conflict = txn.Commit();
    } else {
      // The body gave up: its decision stands only if what it read was current.
      conflict = txn.finished() ? absl::OkStatus() : txn.Validate();
      if (conflict.ok()) return outcome;
    }
    if (conflict.ok() || conflict.code() != absl::StatusCode::kAborted) return conflict;
  }
  return absl::AbortedError(base::Cat("gave up after ", options.max_attempts,
                                      " attempts; the last conflict: ", conflict.message()));
}

}  // namespace keel::txn

#endif  // KEEL_TXN_OPTIMISTIC_TRANSACTION_H_
