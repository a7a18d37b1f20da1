// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A thread-safe table of records, each carrying a version number: the storage under keel's three
// answers to "two guests book the last room at once".
//
// The hotel case study keeps one inventory row per (hotel, room type, date) with total_inventory
// and total_reserved. Optimistic locking adds a version column to that row: a client reads the row
// and its version, and its write succeeds only if the version is still the one it read; every
// write sets the version to exactly one more than before, so "unchanged" is a comparison of two
// integers (the case study prefers a version number to a timestamp, because server clocks drift).
// A VersionedStore is that table, for any key and value:
//
//   Insert(key, value)             adds a record at version 1 (records are never deleted)
//   Get(key)                       the value and its version
//   Put(key, value)                an unconditional write; the version goes up by 1
//   PutIfVersion(key, value, v)    the write only if the record is still at version v (a
//                                  single-record compare-and-set, the chapter's scheme as is)
//   Snapshot()                     every record, consistent across records (all latched at once)
//
// Transactions over several records are in keel/txn/optimistic_transaction.h; all-or-nothing
// updates guarded by a constraint (the "database constraint" approach) in
// keel/txn/conditional_update.h. Both are built on the same per-record latches.
//
// Each record has a short latch (a mutex held only while a value is copied in or out, never while
// the caller thinks), and a multi-record operation takes its latches in key order, which is what
// makes it atomic without deadlocking on another. The map from key to record has a reader-writer
// latch of its own, taken shared by lookups and exclusively only by Insert.
//
// Example:
//
//   keel::txn::VersionedStore<InventoryKey, InventoryRow> inventory;
//   KEEL_RETURN_IF_ERROR(inventory.Insert(key, {.total_inventory = 100, .total_reserved = 0}));
//   KEEL_ASSIGN_OR_RETURN(auto row, inventory.Get(key));       // row.version == 1
//   row.value.total_reserved += 2;
//   absl::StatusOr<uint64_t> v = inventory.PutIfVersion(key, row.value, row.version);
//   // kAborted if another client wrote the row in between: read again and retry.
//
// Limits: Options::max_records (Insert returns kResourceExhausted at it). Allocation: Insert
// allocates the record; Get, Put and PutIfVersion copy the value and allocate only as its copy
// does.
//
// Thread safety: every method may be called from any thread at once.
#ifndef KEEL_TXN_VERSIONED_STORE_H_
#define KEEL_TXN_VERSIONED_STORE_H_

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/base/assert.h"
#include "keel/base/strings.h"
#include "keel/txn/record_key.h"

namespace keel::txn {

// A value and the version it was read at. Versions start at 1 and go up by exactly 1 per write.
template <typename Value>
struct Versioned {
  Value value;
  uint64_t version = 0;
};

inline constexpr size_t kDefaultMaxRecords = size_t{1} << 22;

namespace internal {
struct StoreAccess;
template <typename Value>
struct Record;
}  // namespace internal

template <RecordKey Key, std::copyable Value>
class VersionedStore {
 public:
  struct Options {
    size_t max_records = kDefaultMaxRecords;  // Insert fails with kResourceExhausted beyond it
  };

  VersionedStore() : VersionedStore(Options{}) {}
  // REQUIRES: options.max_records >= 1.
  explicit VersionedStore(const Options& options);
  VersionedStore(const VersionedStore&) = delete;
  VersionedStore& operator=(const VersionedStore&) = delete;

  // Adds a record at version 1. kAlreadyExists if the key has one; kResourceExhausted at
  // max_records.
  [[nodiscard]] absl::Status Insert(const Key& key, Value value);

  // The record's value and version; kNotFound if there is none.
  [[nodiscard]] absl::StatusOr<Versioned<Value>> Get(const Key& key) const;

  // Replaces the value and returns the new version. kNotFound if there is no record.
  [[nodiscard]] absl::StatusOr<uint64_t> Put(const Key& key, Value value);

  // Replaces the value only if the record is at `expected_version`, and returns the new version;
  // kAborted naming the key and both versions if it is not; kNotFound if there is no record.
  [[nodiscard]] absl::StatusOr<uint64_t> PutIfVersion(const Key& key, Value value,
                                                      uint64_t expected_version);

  // Every record with its version, sorted by key: a consistent cut (all records are latched, in
  // key order, while they are copied), so an invariant that every commit keeps holds in it even
  // while other threads commit. Costs O(n log n) and blocks writers meanwhile: for tests, checks
  // and reports, not for serving.
  [[nodiscard]] std::vector<std::pair<Key, Versioned<Value>>> Snapshot() const;

  [[nodiscard]] size_t size() const;
  [[nodiscard]] const Options& options() const { return options_; }

 private:
  friend struct internal::StoreAccess;
  using RecordT = internal::Record<Value>;

  // The record of `key`, or null. Records live as long as the store, so the pointer stays valid.
  RecordT* Find(const Key& key) const;

  Options options_;
  mutable std::shared_mutex map_latch_;
  absl::flat_hash_map<Key, std::unique_ptr<RecordT>> records_;  // guarded by map_latch_
};

// ---------------------------------------------------------------------------------------------
// Implementation details.
// ---------------------------------------------------------------------------------------------
namespace internal {

template <typename Value>
struct Record {
  mutable std::mutex latch;
  Value value;           // guarded by latch
  uint64_t version = 1;  // guarded by latch

  explicit Record(Value v) : value(std::move(v)) {}
};

// Latches a set of records for as long as it lives. REQUIRES: the records are distinct and
// sorted in the global (key) order, so that two guards can never wait on each other.
template <typename Value>
class LatchGuard {
 public:
  explicit LatchGuard(std::vector<Record<Value>*> records) : records_(std::move(records)) {
    for (Record<Value>* record : records_) record->latch.lock();
  }
  ~LatchGuard() {
    for (auto it = records_.rbegin(); it != records_.rend(); ++it) (*it)->latch.unlock();
  }
  LatchGuard(const LatchGuard&) = delete;
  LatchGuard& operator=(const LatchGuard&) = delete;

 private:
  std::vector<Record<Value>*> records_;
};

// How optimistic transactions and conditional updates reach a store's records.
struct StoreAccess {
  template <typename Key, typename Value>
  static Record<Value>* Find(const VersionedStore<Key, Value>& store, const Key& key) {
    return store.Find(key);
  }
};

inline absl::Status VersionMismatch(const std::string& key, uint64_t expected, uint64_t actual) {
  return absl::AbortedError(base::Cat("record ", key, " was read at version ", expected,
                                      " but is now at version ", actual));
}

}  // namespace internal

template <RecordKey Key, std::copyable Value>
VersionedStore<Key, Value>::VersionedStore(const Options& options) : options_(options) {
  KEEL_ASSERT(options.max_records >= 1, "max_records is ", options.max_records);
}

template <RecordKey Key, std::copyable Value>
absl::Status VersionedStore<Key, Value>::Insert(const Key& key, Value value) {
  std::unique_lock lock(map_latch_);
  if (records_.contains(key)) {
    return absl::AlreadyExistsError(base::Cat("record ", KeyString(key), " already exists"));
  }
  if (records_.size() >= options_.max_records) {
    return absl::ResourceExhaustedError(base::Cat("cannot insert record ", KeyString(key),
                                                  ": the store holds its limit of ",
                                                  options_.max_records, " records"));
  }
  records_.emplace(key, std::make_unique<RecordT>(std::move(value)));
  return absl::OkStatus();
}

template <RecordKey Key, std::copyable Value>
typename VersionedStore<Key, Value>::RecordT* VersionedStore<Key, Value>::Find(
    const Key& key) const {
  std::shared_lock lock(map_latch_);
  auto it = records_.find(key);
  return it == records_.end() ? nullptr : it->second.get();
}

template <RecordKey Key, std::copyable Value>
absl::StatusOr<Versioned<Value>> VersionedStore<Key, Value>::Get(const Key& key) const {
  const RecordT* record = Find(key);
  if (record == nullptr) return absl::NotFoundError(base::Cat("no record ", KeyString(key)));
  std::lock_guard latch(record->latch);
  return Versioned<Value>{record->value, record->version};
}

template <RecordKey Key, std::copyable Value>
absl::StatusOr<uint64_t> VersionedStore<Key, Value>::Put(const Key& key, Value value) {
  RecordT* record = Find(key);
  if (record == nullptr) return absl::NotFoundError(base::Cat("no record ", KeyString(key)));
  std::lock_guard latch(record->latch);
  record->value = std::move(value);
  return ++record->version;
}

template <RecordKey Key, std::copyable Value>
absl::StatusOr<uint64_t> VersionedStore<Key, Value>::PutIfVersion(const Key& key, Value value,
                                                                  uint64_t expected_version) {
  RecordT* record = Find(key);
  if (record == nullptr) return absl::NotFoundError(base::Cat("no record ", KeyString(key)));
  std::lock_guard latch(record->latch);
  if (record->version != expected_version) {
    return internal::VersionMismatch(KeyString(key), expected_version, record->version);
  }
  record->value = std::move(value);
  return ++record->version;
}

template <RecordKey Key, std::copyable Value>
std::vector<std::pair<Key, Versioned<Value>>> VersionedStore<Key, Value>::Snapshot() const {
  std::vector<std::pair<Key, RecordT*>> sorted;
  {
    std::shared_lock lock(map_latch_);
    sorted.reserve(records_.size());
    for (const auto& [key, record] : records_) sorted.emplace_back(key, record.get());
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<RecordT*> records;
  records.reserve(sorted.size());
  for (const auto& entry : sorted) records.push_back(entry.second);
  internal::LatchGuard<Value> guard(std::move(records));
  std::vector<std::pair<Key, Versioned<Value>>> out;
  out.reserve(sorted.size());
  for (const auto& [key, record] : sorted) {
    out.emplace_back(key, Versioned<Value>{record->value, record->version});
  }
  return out;
}

template <RecordKey Key, std::copyable Value>
size_t VersionedStore<Key, Value>::size() const {
  std::shared_lock lock(map_latch_);
  return records_.size();
}

}  // namespace keel::txn

#endif  // KEEL_TXN_VERSIONED_STORE_H_
