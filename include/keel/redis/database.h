// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Database: keel-server's keyspace, a map from byte-string keys to values (strings and sorted
// sets; a geo set is a sorted set), with Redis's expiry semantics
// (https://redis.io/docs/latest/commands/expire/).
//
// A key may carry an expiry time, in milliseconds since the Unix epoch. Once that time has come
// the key is gone for every command: a lookup that meets it deletes it first (Redis's "passive"
// expiry), and DeleteExpired removes the keys whose time has come, in order of their times, in
// bounded steps that a server runs between requests (Redis's "active" expiry; Redis samples
// keys at random, keel keeps them ordered by deadline, so an expired key never lingers past the
// next step). Each deletion by expiry is reported to the observer set with set_on_expired, so
// that persistence can log it as a DEL, as Redis propagates one.
//
// Time is the caller's: set_now_ms before each command, so that every key a command touches is
// judged against one instant (Redis caches the time per command the same way).
//
// Example:
//
//   keel::redis::Database db;
//   db.set_now_ms(clock.NowMillis());
//   db.Set("session:42", keel::redis::Value::String("alice"));
//   db.SetExpiry("session:42", db.now_ms() + 30'000);
//   if (keel::redis::Value* v = db.Find("session:42")) Use(v->string());
//
// Thread safety: none; keel-server serialises commands on the engine's lock.
#ifndef KEEL_REDIS_DATABASE_H_
#define KEEL_REDIS_DATABASE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/container/btree_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/hash/hash.h"
#include "keel/zset/sorted_set.h"

namespace keel::redis {

enum class ValueType { kString, kZset };

// The name TYPE replies with: "string", "zset".
[[nodiscard]] std::string_view TypeName(ValueType type);

class Value {
 public:
  static Value String(std::string bytes) { return Value(std::move(bytes)); }
  static Value Zset(zset::SortedSet set) {
    return Value(std::make_unique<zset::SortedSet>(std::move(set)));
  }

  [[nodiscard]] ValueType type() const { return zset_ ? ValueType::kZset : ValueType::kString; }
  // REQUIRES: the value is of that type.
  [[nodiscard]] std::string& string() { return string_; }
  [[nodiscard]] const std::string& string() const { return string_; }
  [[nodiscard]] zset::SortedSet& zset() { return *zset_; }
  [[nodiscard]] const zset::SortedSet& zset() const { return *zset_; }

  // Whether Redis would hold this sorted set in its compact encoding (a listpack: at most 128
  // members of at most 64 bytes). It shows in one place: a listpack stores a score of -0 as 0,
  // which a later ZSCORE returns. keel keeps the flag to give the same replies.
  [[nodiscard]] bool compact() const { return compact_; }
  void set_compact(bool compact) { compact_ = compact; }

 private:
  explicit Value(std::string bytes) : string_(std::move(bytes)) {}
  explicit Value(std::unique_ptr<zset::SortedSet> set) : zset_(std::move(set)) {}
  // A sorted set is held by pointer so that a string key's entry stays small.
  std::string string_;
  std::unique_ptr<zset::SortedSet> zset_;
  bool compact_ = false;
};

class Database {
 public:
  static constexpr int64_t kNoExpiry = INT64_MIN;

  Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  [[nodiscard]] int64_t now_ms() const { return now_ms_; }
  void set_now_ms(int64_t now_ms) { now_ms_ = now_ms; }

  // The value of `key`, or nullptr if there is none (or its time has come: it is deleted now).
  [[nodiscard]] Value* Find(std::string_view key);
  // Find without expiring anything or counting a hit: for a replica of the keyspace on disk.
  [[nodiscard]] const Value* Peek(std::string_view key) const;

  // Stores `value` under `key`, replacing any value. The key's expiry is cleared unless
  // keep_expiry is set (SET ... KEEPTTL). Returns the stored value.
  Value& Set(std::string_view key, Value value, bool keep_expiry = false);
  // Deletes the key; false if there was none.
  bool Delete(std::string_view key);

  // The key's expiry time, or kNoExpiry. REQUIRES: nothing; an absent key has none.
  [[nodiscard]] int64_t Expiry(std::string_view key) const;
  // REQUIRES: the key exists.
  void SetExpiry(std::string_view key, int64_t at_ms);
  // Clears the key's expiry; false if it had none (or there is no such key).
  bool Persist(std::string_view key);

  [[nodiscard]] size_t size() const { return entries_.size(); }
  [[nodiscard]] size_t volatile_size() const { return deadlines_.size(); }

  // SCAN: visits up to `count` keys in a fixed order (by a per-process salted hash) from
  // `cursor` (0 to start), skipping keys whose time has come, and returns the cursor to pass
  // next, 0 when the walk is done. A key present for the whole walk is visited exactly once,
  // however the keyspace changes meanwhile (Redis promises at least once). O(log n + count).
  uint64_t Scan(uint64_t cursor, size_t count,
                const std::function<void(std::string_view key, const Value& value)>& visit);

  // Deletes up to `limit` keys whose time has come, earliest first; returns how many.
  size_t DeleteExpired(size_t limit);

  void Clear();

  // Visits every key (for persistence snapshots and SCAN's fallback). `fn(key, value, expiry)`.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const auto& [key, entry] : entries_)
      fn(std::string_view(key), entry.value, entry.expiry_ms);
  }

  void set_on_expired(std::function<void(std::string_view key)> fn) { on_expired_ = std::move(fn); }

  // INFO's keyspace_hits, keyspace_misses and expired_keys.
  [[nodiscard]] uint64_t hits() const { return hits_; }
  [[nodiscard]] uint64_t misses() const { return misses_; }
  [[nodiscard]] uint64_t expired() const { return expired_; }

 private:
  struct Entry {
    explicit Entry(Value v) : value(std::move(v)) {}
    Value value;
    int64_t expiry_ms = kNoExpiry;
  };

  // Keys hash with Abseil's per-process salted hash, so that clients cannot choose keys that
  // collide; std::string_view finds a std::string key without a copy.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return absl::Hash<std::string_view>()(key); }
  };
  struct KeyEq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const { return a == b; }
  };
  // Node-based, so that keys keep their addresses for the SCAN order below (and a Value*
  // stays valid while other keys come and go).
  using Map = absl::node_hash_map<std::string, Entry, KeyHash, KeyEq>;

  // SCAN's order: keys by (salted 64-bit hash, key). A cursor is a hash value; a walk resumes
  // at the first key at or after it, so insertions and deletions elsewhere never make it skip
  // or repeat a key.
  struct ScanLess {
    bool operator()(const std::pair<uint64_t, const std::string*>& a,
                    const std::pair<uint64_t, const std::string*>& b) const {
      return a.first != b.first ? a.first < b.first : *a.second < *b.second;
    }
  };
  [[nodiscard]] uint64_t ScanHash(std::string_view key) const;

  void Remove(Map::iterator it);

  Map entries_;
  absl::btree_set<std::pair<uint64_t, const std::string*>, ScanLess> scan_order_;
  uint64_t scan_seed_;
  // The keys that have an expiry, by (time, key): the next to expire first.
  absl::btree_set<std::pair<int64_t, std::string>> deadlines_;
  int64_t now_ms_ = 0;
  std::function<void(std::string_view)> on_expired_;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
  uint64_t expired_ = 0;
};

}  // namespace keel::redis

#endif  // KEEL_REDIS_DATABASE_H_
