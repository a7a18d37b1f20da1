// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// TtlCache: a bounded key-value cache in which every entry expires a time-to-live after it was
// written, with the semantics of Redis keys written with SET ... PX or given an EXPIRE.
//
// The nearby-friends design keeps each active user's latest location in a Redis cache with a TTL.
// Every location update overwrites the user's entry and starts its TTL again; a user who stops
// sending updates (closed the app, lost the network) drops out of the cache by themselves, with no
// one having to delete them. TtlCache is that cache inside one process, on keel's clock.
//
// The Redis behaviour it mirrors (https://redis.io/docs/latest/commands/expire/ for EXPIRE and
// "How Redis expires keys", https://redis.io/docs/latest/commands/ttl/ for TTL):
//
//   Lifetime     an entry written at time t with a TTL of d nanoseconds is live while
//                t <= now < t + d and expired from now >= t + d on: it lives exactly d ns, so a
//                live entry always has TtlRemaining() >= 1. Redis deletes a key only once
//                now > expire time (a key's TTL can read 0 while it still exists); keel takes the
//                half-open interval instead, which is what a deadline means everywhere else in
//                keel (see keel/base/clock.h). The two differ by one clock tick.
//   Overwrite    Put() on a present key replaces its value and restarts its TTL, as SET replaces
//                both the value and the old expire time.
//   Lazy expiry  an expired entry is never returned. An operation that finds one (Get, Find,
//                Contains, TtlRemaining, Erase, or a Put to its key) removes it there and then, as
//                Redis's "passive" expiry does.
//   Active expiry  PurgeExpired(n) removes up to n expired entries, earliest expiry first, for a
//                caller to run periodically (Redis runs its active expire cycle 10 times a
//                second). Redis samples 20 random keys with a TTL and repeats while more than 25%
//                of them were expired; keel keeps its entries ordered by expiry time, so it finds
//                exactly the expired entries and bounded work never touches a live one.
//   Size bound   at most `max_entries` entries are stored. When the cache is full and Put() adds a
//                new key, the entry with the earliest expiry time makes room: an expired entry if
//                there is one (counted as an expiration), otherwise the live entry closest to
//                expiry (counted as an eviction). That is Redis's `volatile-ttl` maxmemory policy
//                (https://redis.io/docs/latest/develop/reference/eviction/). Ties between equal
//                expiry times go to the entry written first. The new entry is stored even when its
//                own TTL is shorter than that of the entry it displaces.
//
// size() counts stored entries, including expired ones not yet removed, as Redis's DBSIZE does.
//
// Time never runs backwards for a cache: it uses the latest time its clock has shown, so a clock
// that can step back (SystemClock) does not bring expired entries back to life.
//
// Example:
//
//   keel::base::ManualClock clock(0);
//   auto cache = keel::cache::TtlCache<std::string, Location>::Create(
//       clock, {.default_ttl_ns = 600 * keel::base::kNanosPerSecond, .max_entries = 1'000'000});
//   if (!cache.ok()) return cache.status();
//   KEEL_RETURN_IF_ERROR(cache->Put("user:42", Location{37.77, -122.42}));
//   std::optional<Location> where = cache->Get("user:42");           // found
//   clock.Advance(600 * keel::base::kNanosPerSecond);
//   assert(!cache->Get("user:42").has_value());                      // expired: removed
//   size_t purged = cache->PurgeExpired(/*max_entries=*/100);        // from a periodic task
//
// How expiry order is kept: entries that share a TTL expire in the order they were written, so
// each distinct TTL in use has a FIFO list of its entries in write order, and a binary heap orders
// the lists by the expiry time of their first entries. With k distinct TTLs in use (k = 1 when
// every Put uses the default), Put, Erase, and each entry removed by expiry or by the size bound
// cost one hash operation, O(1) list work and O(log k) heap work when a list's first entry
// changes; Get, Find, Contains and TtlRemaining are one hash lookup. Nothing scans the entries.
//
// Memory: entries live in a slot array (about 40 bytes plus the key and value each) indexed by an
// absl::flat_hash_set of 32-bit slot numbers. Both grow with the cache towards max_entries and are
// never shrunk; removed slots are reused. Once they have grown, Put allocates only what
// constructing a new key or value allocates (a long std::string key, say), and the first Put with
// a TTL not in use allocates its list's header; overwriting an existing key constructs no key.
//
// Thread safety: none, like the standard and Abseil containers. Every method except the const
// accessors changes the cache (lazy expiry, statistics), so even concurrent readers need an
// exclusive lock. The clock must outlive the cache.
#ifndef KEEL_CACHE_TTL_CACHE_H_
#define KEEL_CACHE_TTL_CACHE_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/base/assert.h"
#include "keel/base/clock.h"
#include "keel/base/hash.h"
#include "keel/base/strings.h"

namespace keel::cache {

// The largest `max_entries` a TtlCache accepts: slots are numbered with 32 bits, and the largest
// 32-bit number means "no slot".
inline constexpr size_t kTtlCacheMaxEntriesLimit = std::numeric_limits<uint32_t>::max() - 1;

struct TtlCacheOptions {
  // The TTL of entries written by Put(key, value). Must be > 0.
  int64_t default_ttl_ns = 600 * base::kNanosPerSecond;
  // The most entries stored at once (expired ones not yet removed included). Must be in
  // [1, kTtlCacheMaxEntriesLimit].
  size_t max_entries = size_t{1} << 20;
};

struct TtlCacheStats {
  uint64_t hits = 0;         // Get/Find calls that found a live entry
  uint64_t misses = 0;       // Get/Find calls that found none (absent or expired)
  uint64_t expirations = 0;  // expired entries removed: lazily, by PurgeExpired, or to make room
  uint64_t evictions = 0;    // live entries removed to make room under max_entries
};

// Checks `options`: kInvalidArgument naming the bad value if default_ttl_ns <= 0, max_entries == 0
// or max_entries > kTtlCacheMaxEntriesLimit.
[[nodiscard]] inline absl::Status ValidateTtlCacheOptions(const TtlCacheOptions& options);

// A cache from K to V. Keys are hashed with `Hash` (keel::base::Hasher: strings, integers and
// enums) and compared with `Eq`. For std::string keys every lookup takes a std::string_view, so
// std::string, std::string_view and string literals all work without building a std::string.
// K must be move-constructible, V move-constructible and move-assignable (and copy-constructible
// for Get).
template <typename K, typename V, typename Hash = base::Hasher, typename Eq = std::equal_to<>>
class TtlCache {
 public:
  // What lookups (and Put) take: std::string_view for std::string keys, const K& otherwise. Hash
  // and Eq must accept it (keel::base::Hasher and std::equal_to<> do).
  using KeyArg = std::conditional_t<std::is_same_v<K, std::string>, std::string_view, const K&>;

  // Builds an empty cache reading `clock`, which must outlive it. Errors: those of
  // ValidateTtlCacheOptions.
  [[nodiscard]] static absl::StatusOr<TtlCache> Create(const base::Clock& clock,
                                                       TtlCacheOptions options = {});

  TtlCache(TtlCache&&) noexcept = default;
  TtlCache& operator=(TtlCache&&) noexcept = default;
  TtlCache(const TtlCache&) = delete;
  TtlCache& operator=(const TtlCache&) = delete;
  ~TtlCache() = default;

  // Stores `value` under `key` with the default TTL, replacing any value there and restarting its
  // TTL. Errors: kInvalidArgument if now + TTL overflows int64_t nanoseconds.
  absl::Status Put(KeyArg key, V value) {
    return Put(key, std::move(value), options_.default_ttl_ns);
  }

  // The same with an explicit TTL. Errors (kInvalidArgument, the cache unchanged): ttl_ns <= 0,
  // or now + ttl_ns overflows int64_t nanoseconds.
  absl::Status Put(KeyArg key, V value, int64_t ttl_ns);

  // A copy of the live value under `key`, or nothing. Counts a hit or a miss; removes the entry
  // if it has expired.
  [[nodiscard]] std::optional<V> Get(KeyArg key);

  // Get() without the copy: a pointer to the live value, or null. The pointer is valid until the
  // next call of a non-const method.
  [[nodiscard]] const V* Find(KeyArg key);

  // Removes `key`. Returns true if a live entry was removed; false if there was none or it had
  // expired (it is removed and counted as an expiration, as Redis's DEL returns 0 for an expired
  // key).
  bool Erase(KeyArg key);

  // Whether a live entry is stored under `key` (no hit or miss counted).
  [[nodiscard]] bool Contains(KeyArg key);

  // The nanoseconds until the live entry under `key` expires (always >= 1), or nothing if there is
  // no live entry: Redis's PTTL, whose -2 for "no such key" becomes std::nullopt.
  [[nodiscard]] std::optional<int64_t> TtlRemaining(KeyArg key);

  // Removes up to `max_entries` expired entries, earliest expiry first, and returns how many it
  // removed. Its work is proportional to the number removed (times log k, above), however many
  // live entries there are.
  size_t PurgeExpired(size_t max_entries);

  // Entries stored, expired ones not yet removed included.
  [[nodiscard]] size_t size() const { return index_.size(); }
  [[nodiscard]] bool empty() const { return index_.empty(); }
  [[nodiscard]] const TtlCacheStats& stats() const { return stats_; }
  [[nodiscard]] const TtlCacheOptions& options() const { return options_; }

 private:
  // Implementation details, below.
  struct Entry;
  struct Slot;
  struct Arena;
  struct TtlList;
  struct SlotRef;
  struct SlotHash;
  struct SlotEq;
  using Index = absl::flat_hash_set<SlotRef, SlotHash, SlotEq>;

  static constexpr uint32_t kNil = std::numeric_limits<uint32_t>::max();
  static constexpr uint32_t kDefaultList = 0;  // the default TTL's list; never released

  TtlCache(const base::Clock& clock, TtlCacheOptions options);

  // The clock's time, or the latest time seen if the clock has gone back.
  [[nodiscard]] int64_t Now();
  // The slot holding `key`, or nullptr.
  [[nodiscard]] Slot* Lookup(KeyArg key, uint32_t* id);
  // Gives an existing slot a new value and expiry time: it moves to the end of its TTL's list.
  void Rewrite(uint32_t id, V&& value, int64_t ttl_ns, int64_t now_ns);
  // Removes a stored entry: from the index, its list and its slot.
  void Remove(uint32_t id);
  // Removes the entry with the earliest (expiry, write order), counting an expiration or an
  // eviction. REQUIRES: !empty().
  void RemoveEarliest(int64_t now_ns);
  [[nodiscard]] uint32_t NewSlot(KeyArg key, V&& value, int64_t ttl_ns, int64_t now_ns);

  // The lists of slots with one TTL each.
  [[nodiscard]] uint32_t ListFor(int64_t ttl_ns);
  void Link(uint32_t id, uint32_t list);
  void Unlink(uint32_t id);

  // The heap of non-empty lists, ordered by their first slot's (expiry, write order).
  [[nodiscard]] bool ListBefore(uint32_t a, uint32_t b) const;
  void HeapPush(uint32_t list);
  void HeapErase(uint32_t pos);
  void HeapSiftUp(uint32_t pos);
  void HeapSiftDown(uint32_t pos);
  void HeapPlace(uint32_t pos, uint32_t list);

  const base::Clock* clock_;
  TtlCacheOptions options_;
  int64_t latest_now_ns_ = std::numeric_limits<int64_t>::min();
  // On the heap so that the index's hash and equality functors, which point at it, stay valid
  // when the cache is moved.
  std::unique_ptr<Arena> arena_;
  Index index_;
  std::vector<TtlList> lists_;
  std::vector<uint32_t> free_lists_;
  absl::flat_hash_map<int64_t, uint32_t, base::Hasher> list_by_ttl_;  // all but the default TTL
  std::vector<uint32_t> heap_;  // list numbers: a binary min-heap under ListBefore
  uint64_t next_write_seq_ = 0;
  TtlCacheStats stats_;
};

// ---------------------------------------------------------------------------------------------
// Implementation details.
//
// The index is a flat_hash_set of 32-bit slot numbers whose hash and equality functors look the
// key up in the slot array, so each key is stored once, in its slot, and lookups by KeyArg go
// through Abseil's heterogeneous lookup.
//
// Each slot is on the doubly linked list of its TTL. Because the cache's time never decreases,
// appending at the tail keeps every list sorted by (expiry, write order), so a list's head is its
// earliest entry and the heap's top list holds the cache's earliest entry. Only a change of a
// list's head touches the heap: an append to a non-empty list never does, which makes the usual
// workload (one TTL, entries overwritten again and again) O(1) apart from hashing.
// ---------------------------------------------------------------------------------------------

inline absl::Status ValidateTtlCacheOptions(const TtlCacheOptions& options) {
  if (options.default_ttl_ns <= 0) {
    return absl::InvalidArgumentError(
        base::Cat("TtlCache default_ttl_ns ", options.default_ttl_ns, " is not positive"));
  }
  if (options.max_entries == 0) {
    return absl::InvalidArgumentError("TtlCache max_entries 0 leaves no room for any entry");
  }
  if (options.max_entries > kTtlCacheMaxEntriesLimit) {
    return absl::InvalidArgumentError(base::Cat("TtlCache max_entries ", options.max_entries,
                                                " exceeds the limit ", kTtlCacheMaxEntriesLimit));
  }
  return absl::OkStatus();
}

template <typename K, typename V, typename Hash, typename Eq>
struct TtlCache<K, V, Hash, Eq>::Entry {
  K key;
  V value;
};

template <typename K, typename V, typename Hash, typename Eq>
struct TtlCache<K, V, Hash, Eq>::Slot {
  std::optional<Entry> entry;  // empty while the slot is free
  int64_t expire_at_ns = 0;
  uint64_t write_seq = 0;  // breaks ties between equal expiry times: the earlier write goes first
  uint32_t prev = kNil;    // neighbours on the list of its TTL
  uint32_t next = kNil;
  uint32_t list = kNil;
};

template <typename K, typename V, typename Hash, typename Eq>
struct TtlCache<K, V, Hash, Eq>::Arena {
  std::vector<Slot> slots;
  std::vector<uint32_t> free_ids;

  const K& KeyOf(uint32_t id) const { return slots[id].entry->key; }
};

template <typename K, typename V, typename Hash, typename Eq>
struct TtlCache<K, V, Hash, Eq>::TtlList {
  int64_t ttl_ns = 0;
  uint32_t head = kNil;
  uint32_t tail = kNil;
  uint32_t heap_pos = kNil;  // kNil while empty
};

template <typename K, typename V, typename Hash, typename Eq>
struct TtlCache<K, V, Hash, Eq>::SlotRef {
  uint32_t id;
};

template <typename K, typename V, typename Hash, typename Eq>
struct TtlCache<K, V, Hash, Eq>::SlotHash {
  using is_transparent = void;

  const Arena* arena;
  Hash hash;

  size_t operator()(SlotRef ref) const { return hash(arena->KeyOf(ref.id)); }
  size_t operator()(KeyArg key) const { return hash(key); }
};

template <typename K, typename V, typename Hash, typename Eq>
struct TtlCache<K, V, Hash, Eq>::SlotEq {
  using is_transparent = void;

  const Arena* arena;
  Eq eq;

  bool operator()(SlotRef a, SlotRef b) const {
    return a.id == b.id || eq(arena->KeyOf(a.id), arena->KeyOf(b.id));
  }
  bool operator()(SlotRef a, KeyArg key) const { return eq(arena->KeyOf(a.id), key); }
  bool operator()(KeyArg key, SlotRef a) const { return eq(arena->KeyOf(a.id), key); }
};

template <typename K, typename V, typename Hash, typename Eq>
TtlCache<K, V, Hash, Eq>::TtlCache(const base::Clock& clock, TtlCacheOptions options)
    : clock_(&clock),
      options_(options),
      arena_(std::make_unique<Arena>()),
      index_(/*bucket_count=*/0, SlotHash{arena_.get(), Hash()}, SlotEq{arena_.get(), Eq()}) {
  lists_.push_back(TtlList{.ttl_ns = options.default_ttl_ns});  // kDefaultList
}

template <typename K, typename V, typename Hash, typename Eq>
absl::StatusOr<TtlCache<K, V, Hash, Eq>> TtlCache<K, V, Hash, Eq>::Create(const base::Clock& clock,
                                                                          TtlCacheOptions options) {
  if (absl::Status status = ValidateTtlCacheOptions(options); !status.ok()) return status;
  return TtlCache(clock, options);
}

template <typename K, typename V, typename Hash, typename Eq>
absl::Status TtlCache<K, V, Hash, Eq>::Put(KeyArg key, V value, int64_t ttl_ns) {
  const int64_t now_ns = Now();
  if (ttl_ns <= 0) {
    return absl::InvalidArgumentError(base::Cat("TtlCache ttl_ns ", ttl_ns, " is not positive"));
  }
  if (now_ns > std::numeric_limits<int64_t>::max() - ttl_ns) {
    return absl::InvalidArgumentError(base::Cat("TtlCache ttl_ns ", ttl_ns, " at time ", now_ns,
                                                " ns overflows int64_t nanoseconds"));
  }

  if (index_.size() < options_.max_entries) {
    // Room for a new key: one probe finds the key or the place to insert it.
    bool inserted = false;
    const auto it = index_.lazy_emplace(key, [&](const auto& construct) {
      inserted = true;
      construct(SlotRef{NewSlot(key, std::move(value), ttl_ns, now_ns)});
    });
    if (!inserted) Rewrite(it->id, std::move(value), ttl_ns, now_ns);
    return absl::OkStatus();
  }

  uint32_t id = 0;
  if (Lookup(key, &id) != nullptr) {
    Rewrite(id, std::move(value), ttl_ns, now_ns);
    return absl::OkStatus();
  }
  RemoveEarliest(now_ns);
  index_.insert(SlotRef{NewSlot(key, std::move(value), ttl_ns, now_ns)});
  return absl::OkStatus();
}

template <typename K, typename V, typename Hash, typename Eq>
std::optional<V> TtlCache<K, V, Hash, Eq>::Get(KeyArg key) {
  const V* value = Find(key);
  if (value == nullptr) return std::nullopt;
  return *value;
}

template <typename K, typename V, typename Hash, typename Eq>
const V* TtlCache<K, V, Hash, Eq>::Find(KeyArg key) {
  uint32_t id = 0;
  Slot* slot = Lookup(key, &id);
  if (slot == nullptr) {
    ++stats_.misses;
    return nullptr;
  }
  if (slot->expire_at_ns <= Now()) {
    ++stats_.expirations;
    ++stats_.misses;
    Remove(id);
    return nullptr;
  }
  ++stats_.hits;
  return &slot->entry->value;
}

template <typename K, typename V, typename Hash, typename Eq>
bool TtlCache<K, V, Hash, Eq>::Erase(KeyArg key) {
  uint32_t id = 0;
  Slot* slot = Lookup(key, &id);
  if (slot == nullptr) return false;
  const bool live = slot->expire_at_ns > Now();
  if (!live) ++stats_.expirations;
  Remove(id);
  return live;
}

template <typename K, typename V, typename Hash, typename Eq>
bool TtlCache<K, V, Hash, Eq>::Contains(KeyArg key) {
  return TtlRemaining(key).has_value();
}

template <typename K, typename V, typename Hash, typename Eq>
std::optional<int64_t> TtlCache<K, V, Hash, Eq>::TtlRemaining(KeyArg key) {
  uint32_t id = 0;
  Slot* slot = Lookup(key, &id);
  if (slot == nullptr) return std::nullopt;
  const int64_t now_ns = Now();
  if (slot->expire_at_ns <= now_ns) {
    ++stats_.expirations;
    Remove(id);
    return std::nullopt;
  }
  return slot->expire_at_ns - now_ns;
}

template <typename K, typename V, typename Hash, typename Eq>
size_t TtlCache<K, V, Hash, Eq>::PurgeExpired(size_t max_entries) {
  if (max_entries == 0 || heap_.empty()) return 0;
  const int64_t now_ns = Now();
  size_t removed = 0;
  while (removed < max_entries && !heap_.empty()) {
    const uint32_t earliest = lists_[heap_.front()].head;
    if (arena_->slots[earliest].expire_at_ns > now_ns) break;
    ++stats_.expirations;
    Remove(earliest);
    ++removed;
  }
  return removed;
}

template <typename K, typename V, typename Hash, typename Eq>
int64_t TtlCache<K, V, Hash, Eq>::Now() {
  latest_now_ns_ = std::max(latest_now_ns_, clock_->NowNanos());
  return latest_now_ns_;
}

template <typename K, typename V, typename Hash, typename Eq>
typename TtlCache<K, V, Hash, Eq>::Slot* TtlCache<K, V, Hash, Eq>::Lookup(KeyArg key,
                                                                          uint32_t* id) {
  const auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  *id = it->id;
  return &arena_->slots[it->id];
}

template <typename K, typename V, typename Hash, typename Eq>
void TtlCache<K, V, Hash, Eq>::Rewrite(uint32_t id, V&& value, int64_t ttl_ns, int64_t now_ns) {
  Slot& slot = arena_->slots[id];
  if (slot.expire_at_ns <= now_ns) ++stats_.expirations;  // the old entry was already gone
  slot.entry->value = std::move(value);
  // Unlink before ListFor: unlinking may release the list, and ListFor may then reuse it.
  Unlink(id);
  slot.expire_at_ns = now_ns + ttl_ns;
  slot.write_seq = next_write_seq_++;
  Link(id, ListFor(ttl_ns));
}

template <typename K, typename V, typename Hash, typename Eq>
void TtlCache<K, V, Hash, Eq>::Remove(uint32_t id) {
  Slot& slot = arena_->slots[id];
  KEEL_DCHECK(slot.entry.has_value(), "TtlCache slot ", id, " is already free");
  // The index hashes the key held in the slot, so it must go before the key does.
  const size_t erased = index_.erase(SlotRef{id});
  KEEL_ASSERT(erased == 1, "TtlCache slot ", id, " is missing from the index");
  Unlink(id);
  slot.entry.reset();
  arena_->free_ids.push_back(id);
}

template <typename K, typename V, typename Hash, typename Eq>
void TtlCache<K, V, Hash, Eq>::RemoveEarliest(int64_t now_ns) {
  KEEL_ASSERT(!heap_.empty(), "TtlCache is full with max_entries ", options_.max_entries,
              " but holds no list");
  const uint32_t earliest = lists_[heap_.front()].head;
  if (arena_->slots[earliest].expire_at_ns <= now_ns) {
    ++stats_.expirations;
  } else {
    ++stats_.evictions;
  }
  Remove(earliest);
}

template <typename K, typename V, typename Hash, typename Eq>
uint32_t TtlCache<K, V, Hash, Eq>::NewSlot(KeyArg key, V&& value, int64_t ttl_ns, int64_t now_ns) {
  Arena& arena = *arena_;
  uint32_t id;
  if (!arena.free_ids.empty()) {
    id = arena.free_ids.back();
    arena.free_ids.pop_back();
  } else {
    KEEL_ASSERT(arena.slots.size() < kTtlCacheMaxEntriesLimit, "TtlCache ran out of slot ids");
    id = static_cast<uint32_t>(arena.slots.size());
    arena.slots.emplace_back();
  }
  Slot& slot = arena.slots[id];
  slot.entry.emplace(Entry{K(key), std::move(value)});
  slot.expire_at_ns = now_ns + ttl_ns;
  slot.write_seq = next_write_seq_++;
  Link(id, ListFor(ttl_ns));
  return id;
}

template <typename K, typename V, typename Hash, typename Eq>
uint32_t TtlCache<K, V, Hash, Eq>::ListFor(int64_t ttl_ns) {
  if (ttl_ns == options_.default_ttl_ns) return kDefaultList;
  const auto [it, inserted] = list_by_ttl_.try_emplace(ttl_ns, kNil);
  if (inserted) {
    if (!free_lists_.empty()) {
      it->second = free_lists_.back();
      free_lists_.pop_back();
      lists_[it->second] = TtlList{.ttl_ns = ttl_ns};
    } else {
      it->second = static_cast<uint32_t>(lists_.size());
      lists_.push_back(TtlList{.ttl_ns = ttl_ns});
    }
  }
  return it->second;
}

template <typename K, typename V, typename Hash, typename Eq>
void TtlCache<K, V, Hash, Eq>::Link(uint32_t id, uint32_t list) {
  std::vector<Slot>& slots = arena_->slots;
  TtlList& l = lists_[list];
  Slot& slot = slots[id];
  KEEL_DCHECK(l.tail == kNil || slots[l.tail].expire_at_ns <= slot.expire_at_ns,
              "TtlCache list of ttl ", l.ttl_ns, " would fall out of expiry order");
  slot.list = list;
  slot.prev = l.tail;
  slot.next = kNil;
  if (l.tail == kNil) {
    l.head = id;
    l.tail = id;
    HeapPush(list);
  } else {
    slots[l.tail].next = id;
    l.tail = id;
  }
}

template <typename K, typename V, typename Hash, typename Eq>
void TtlCache<K, V, Hash, Eq>::Unlink(uint32_t id) {
  std::vector<Slot>& slots = arena_->slots;
  Slot& slot = slots[id];
  const uint32_t list = slot.list;
  TtlList& l = lists_[list];
  const bool was_head = l.head == id;
  if (slot.prev != kNil) {
    slots[slot.prev].next = slot.next;
  } else {
    l.head = slot.next;
  }
  if (slot.next != kNil) {
    slots[slot.next].prev = slot.prev;
  } else {
    l.tail = slot.prev;
  }
  slot.prev = kNil;
  slot.next = kNil;
  slot.list = kNil;
  if (l.head == kNil) {
    HeapErase(l.heap_pos);
    l.heap_pos = kNil;
    if (list != kDefaultList) {
      list_by_ttl_.erase(l.ttl_ns);
      free_lists_.push_back(list);
    }
  } else if (was_head) {
    HeapSiftDown(l.heap_pos);  // the new head expires no earlier than the old one
  }
}

template <typename K, typename V, typename Hash, typename Eq>
bool TtlCache<K, V, Hash, Eq>::ListBefore(uint32_t a, uint32_t b) const {
  const Slot& x = arena_->slots[lists_[a].head];
  const Slot& y = arena_->slots[lists_[b].head];
  return x.expire_at_ns != y.expire_at_ns ? x.expire_at_ns < y.expire_at_ns
                                          : x.write_seq < y.write_seq;
}

template <typename K, typename V, typename Hash, typename Eq>
void TtlCache<K, V, Hash, Eq>::HeapPush(uint32_t list) {
  heap_.push_back(list);
  const auto pos = static_cast<uint32_t>(heap_.size() - 1);
  lists_[list].heap_pos = pos;
  HeapSiftUp(pos);
}

template <typename K, typename V, typename Hash, typename Eq>
void TtlCache<K, V, Hash, Eq>::HeapErase(uint32_t pos) {
  KEEL_DCHECK(pos < heap_.size());
  const auto last = static_cast<uint32_t>(heap_.size() - 1);
  const uint32_t moved = heap_[last];
  heap_.pop_back();
  if (pos == last) return;
  HeapPlace(pos, moved);
  HeapSiftUp(pos);
  HeapSiftDown(lists_[moved].heap_pos);
}

template <typename K, typename V, typename Hash, typename Eq>
void TtlCache<K, V, Hash, Eq>::HeapSiftUp(uint32_t pos) {
  const uint32_t list = heap_[pos];
  while (pos > 0) {
    const uint32_t parent = (pos - 1) / 2;
    if (!ListBefore(list, heap_[parent])) break;
    HeapPlace(pos, heap_[parent]);
    pos = parent;
  }
  HeapPlace(pos, list);
}

template <typename K, typename V, typename Hash, typename Eq>
void TtlCache<K, V, Hash, Eq>::HeapSiftDown(uint32_t pos) {
  const uint32_t list = heap_[pos];
  const size_t n = heap_.size();
  while (true) {
    size_t child = 2 * size_t{pos} + 1;
    if (child >= n) break;
    if (child + 1 < n && ListBefore(heap_[child + 1], heap_[child])) ++child;
    if (!ListBefore(heap_[child], list)) break;
    HeapPlace(pos, heap_[child]);
    pos = static_cast<uint32_t>(child);
  }
  HeapPlace(pos, list);
}

template <typename K, typename V, typename Hash, typename Eq>
void TtlCache<K, V, Hash, Eq>::HeapPlace(uint32_t pos, uint32_t list) {
  heap_[pos] = list;
  lists_[list].heap_pos = pos;
}

}  // namespace keel::cache

#endif  // KEEL_CACHE_TTL_CACHE_H_
