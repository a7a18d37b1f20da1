// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// KeyStore's shards. Each key is one block from the shard's arena: a 64-byte header, then its
// identity (tenant and key), fingerprint and outcome. A shard indexes its blocks in an
// open-addressing table of (hash, block) slots with linear probing, so that a lookup costs the
// slot's cache line and the block's first two or three, and growth rehashes from the stored
// hashes without touching a block. Both live on 2 MiB pages once large: with 10M keys, 4 KiB
// pages would add a TLB miss, and a page-table walk, to each of those reads. The blocks are
// also on an intrusive list in the order their keys began, from which expired keys are dropped.
// Tickets name blocks in flight by a generation number, through a small map of those in flight,
// so that a stale ticket is refused rather than followed to freed memory.
#include "keel/idempotency/key_store.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "keel/base/assert.h"
#include "keel/base/hash.h"
#include "keel/base/internal/arena.h"
#include "keel/base/internal/prefetch.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::idempotency {

std::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kExecute:
      return "execute";
    case Verdict::kReplay:
      return "replay";
    case Verdict::kMismatch:
      return "mismatch";
    case Verdict::kInUse:
      return "in use";
  }
  return "unknown";
}

namespace internal {

struct KeyStoreTotals {
  std::atomic<uint64_t> keys{0};
  std::atomic<uint64_t> bytes{0};

  // Takes `n` of `limit` from `counter`, or nothing if that would pass the limit.
  static bool Take(std::atomic<uint64_t>& counter, uint64_t n, uint64_t limit) {
    uint64_t have = counter.load(std::memory_order_relaxed);
    do {
      if (n > limit || have > limit - n) return false;
    } while (!counter.compare_exchange_weak(have, have + n, std::memory_order_relaxed));
    return true;
  }
};

namespace {

// The identity of a key: its tenant's length in one byte, the tenant, the key. The length byte
// keeps ("ab", "c") and ("a", "bc") apart.
constexpr size_t kMaxIdentityBytes = 1 + kMaxTenantBytes + kMaxKeyBytes;

size_t EncodeIdentity(std::string_view tenant, std::string_view key, char* out) {
  out[0] = static_cast<char>(static_cast<uint8_t>(tenant.size()));
  std::memcpy(out + 1, tenant.data(), tenant.size());
  std::memcpy(out + 1 + tenant.size(), key.data(), key.size());
  return 1 + tenant.size() + key.size();
}

}  // namespace

struct Block {
  uint64_t hash = 0;
  int64_t created_ns = 0;
  uint64_t position = 0;
  uint64_t generation = 0;
  uint32_t outcome_size = 0;
  uint16_t identity_size = 0;
  uint16_t fingerprint_size = 0;
  bool completed = false;
  Block* older = nullptr;  // the expiry list, by the time each key began
  Block* newer = nullptr;

  char* bytes() { return reinterpret_cast<char*>(this + 1); }
  const char* bytes() const { return reinterpret_cast<const char*>(this + 1); }
  std::string_view identity() const { return {bytes(), identity_size}; }
  std::string_view fingerprint() const { return {bytes() + identity_size, fingerprint_size}; }
  std::string_view outcome() const {
    return {bytes() + identity_size + fingerprint_size, outcome_size};
  }
  StoredEntry View() const {
    const std::string_view id = identity();
    const auto tenant_size = static_cast<uint8_t>(id[0]);
    return {id.substr(1, tenant_size), id.substr(1 + tenant_size), fingerprint(), outcome(),
            created_ns};
  }
  // What counts against max_bytes.
  uint64_t charged_bytes() const {
    return uint64_t{identity_size} - 1 + fingerprint_size + outcome_size;
  }

  size_t allocated_bytes() const {
    return sizeof(Block) + identity_size + fingerprint_size + outcome_size;
  }

  static Block* New(base::internal::Arena& arena, uint64_t hash, std::string_view identity,
                    std::string_view fingerprint, std::string_view outcome) {
    void* memory =
        arena.Allocate(sizeof(Block) + identity.size() + fingerprint.size() + outcome.size());
    Block* b = new (memory) Block;
    b->hash = hash;
    b->identity_size = static_cast<uint16_t>(identity.size());
    b->fingerprint_size = static_cast<uint16_t>(fingerprint.size());
    b->outcome_size = static_cast<uint32_t>(outcome.size());
    char* at = b->bytes();
    for (const std::string_view part : {identity, fingerprint, outcome}) {
      if (!part.empty()) std::memcpy(at, part.data(), part.size());  // data() may be null
      at += part.size();
    }
    return b;
  }
  static void Delete(base::internal::Arena& arena, Block* b) {
    const size_t bytes = b->allocated_bytes();
    b->~Block();
    arena.Free(b, bytes);
  }
};
static_assert(sizeof(Block) == 64, "a block's header is one cache line");

// A shard's index: a power-of-two array of (hash, block) slots, zero-filled (all empty). Once it
// is 2 MiB or more it is mapped as huge pages of its own: a lookup reads one slot at random, and
// with 4 KiB pages most such reads would also miss the TLB (measured: a random read over 256 MiB
// costs ~270 ns on 4 KiB pages and ~130-150 ns on 2 MiB ones on the benchmark machine).
struct Slot {
  uint64_t hash = 0;
  Block* block = nullptr;
};

class SlotArray {
 public:
  explicit SlotArray(size_t size) : size_(size) {
    const size_t bytes = size * sizeof(Slot);
    if (bytes % base::internal::Arena::kHugeChunkBytes == 0) {
      slots_ = reinterpret_cast<Slot*>(base::internal::MapHugePages(bytes));
      mapped_ = slots_ != nullptr;
    }
    if (slots_ == nullptr) slots_ = new Slot[size]();
  }
  ~SlotArray() { Release(); }
  SlotArray(const SlotArray&) = delete;
  SlotArray& operator=(const SlotArray&) = delete;
  SlotArray(SlotArray&& other) noexcept
      : slots_(std::exchange(other.slots_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        mapped_(other.mapped_) {}
  SlotArray& operator=(SlotArray&& other) noexcept {
    Release();
    slots_ = std::exchange(other.slots_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = other.mapped_;
    return *this;
  }

  size_t size() const { return size_; }
  Slot& operator[](size_t i) { return slots_[i]; }
  const Slot& operator[](size_t i) const { return slots_[i]; }
  Slot* begin() { return slots_; }
  Slot* end() { return slots_ + size_; }
  const Slot* begin() const { return slots_; }
  const Slot* end() const { return slots_ + size_; }

 private:
  void Release() {
    if (slots_ == nullptr) return;
    if (mapped_) {
      base::internal::UnmapHugePages(slots_, size_ * sizeof(Slot));
    } else {
      delete[] slots_;
    }
    slots_ = nullptr;
  }

  Slot* slots_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
};

// Aligned to a cache line so that two shards' locks, taken by different threads, never share one.
class alignas(64) KeyStoreShard {
 public:
  mutable std::mutex mu;
  // Begin's verdicts and expiries in this shard, counted under mu (KeyStore::stats sums them).
  uint64_t executes = 0;
  uint64_t replays = 0;
  uint64_t mismatches = 0;
  uint64_t in_use = 0;
  uint64_t expired = 0;
  uint64_t in_flight_count = 0;
  uint64_t next_generation = 1;
  absl::flat_hash_map<uint64_t, Block*> in_flight;  // by generation

  KeyStoreShard() : slots_(kInitialSlots) {}

  static bool Expired(const Block& b, int64_t now_ns, int64_t retention_ns) {
    return retention_ns != kRetainForever && now_ns - b.created_ns >= retention_ns;
  }

  // The block of `identity`, or null.
  Block* Find(uint64_t hash, std::string_view identity) const {
    for (size_t i = hash & mask();; i = (i + 1) & mask()) {
      const Slot& slot = slots_[i];
      if (slot.block == nullptr) return nullptr;
      if (slot.hash == hash) {
        // The block's header says where its identity ends, so reading it line by line would
        // wait for memory once per line: ask for its first lines together instead.
        const char* line = reinterpret_cast<const char*>(slot.block);
        base::internal::Prefetch(line + 64);
        base::internal::Prefetch(line + 128);
        if (slot.block->identity() == identity) return slot.block;
      }
    }
  }

  Block* FindTicket(const Ticket& ticket) const {
    auto it = in_flight.find(ticket.generation);
    return it == in_flight.end() ? nullptr : it->second;
  }

  // A new block in flight.
  Block* Add(uint64_t hash, std::string_view identity, std::string_view fingerprint,
             int64_t created_ns) {
    Block* b = Block::New(arena_, hash, identity, fingerprint, {});
    b->created_ns = created_ns;
    b->generation = next_generation++;
    if ((size_ + 1) * 4 > slots_.size() * 3) Grow();
    slots_[FreeSlotFor(hash)] = {hash, b};
    ++size_;
    LinkNewest(b);
    in_flight.emplace(b->generation, b);
    ++in_flight_count;
    return b;
  }

  // A completed block, as recovery inserts it.
  Block* AddCompleted(uint64_t hash, std::string_view identity, std::string_view fingerprint,
                      std::string_view outcome, int64_t created_ns) {
    Block* b = Block::New(arena_, hash, identity, fingerprint, outcome);
    b->created_ns = created_ns;
    b->generation = next_generation++;
    b->completed = true;
    if ((size_ + 1) * 4 > slots_.size() * 3) Grow();
    slots_[FreeSlotFor(hash)] = {hash, b};
    ++size_;
    LinkNewest(b);
    return b;
  }

  // Replaces the in-flight block `old` with a completed one holding `outcome`.
  void Complete(Block* old, std::string_view outcome, uint64_t position) {
    Block* b = Block::New(arena_, old->hash, old->identity(), old->fingerprint(), outcome);
    b->created_ns = old->created_ns;
    b->generation = old->generation;
    b->position = position;
    b->completed = true;
    b->older = old->older;
    b->newer = old->newer;
    (b->older != nullptr ? b->older->newer : oldest_) = b;
    (b->newer != nullptr ? b->newer->older : newest_) = b;
    slots_[SlotOf(old)].block = b;
    in_flight.erase(old->generation);
    --in_flight_count;
    Block::Delete(arena_, old);
  }

  // Drops `b`, giving back what it was charged.
  void Erase(Block* b, KeyStoreTotals& totals) {
    totals.bytes.fetch_sub(b->charged_bytes(), std::memory_order_relaxed);
    totals.keys.fetch_sub(1, std::memory_order_relaxed);
    if (!b->completed) {
      in_flight.erase(b->generation);
      --in_flight_count;
    }
    RemoveSlot(SlotOf(b));
    Unlink(b);
    Block::Delete(arena_, b);
  }

  // Drops expired completed keys from the old end of the list. Keys still in flight are passed
  // over (there are few of them) and expire once completed.
  size_t ExpireOldest(int64_t now_ns, int64_t retention_ns, KeyStoreTotals& totals) {
    if (retention_ns == kRetainForever) return 0;
    size_t dropped = 0;
    Block* b = oldest_;
    while (b != nullptr && Expired(*b, now_ns, retention_ns)) {
      Block* newer = b->newer;
      if (b->completed) {
        Erase(b, totals);
        ++dropped;
      }
      b = newer;
    }
    expired += dropped;
    return dropped;
  }

  uint64_t MemoryBytes() const {
    return arena_.held_bytes() + slots_.size() * sizeof(Slot) +
           in_flight.capacity() * (sizeof(std::pair<uint64_t, Block*>) + 1);
  }

  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const Slot& slot : slots_) {
      if (slot.block != nullptr) fn(*slot.block);
    }
  }

 private:
  static constexpr size_t kInitialSlots = 64;

  size_t mask() const { return slots_.size() - 1; }

  size_t FreeSlotFor(uint64_t hash) const {
    size_t i = hash & mask();
    while (slots_[i].block != nullptr) i = (i + 1) & mask();
    return i;
  }

  size_t SlotOf(const Block* b) const {
    for (size_t i = b->hash & mask();; i = (i + 1) & mask()) {
      if (slots_[i].block == b) return i;
      KEEL_ASSERT(slots_[i].block != nullptr, "an idempotency block is missing from its index");
    }
  }

  // Backward-shift deletion: later slots of the probe run move back, so that no lookup stops
  // early at the hole.
  void RemoveSlot(size_t hole) {
    --size_;
    for (size_t i = (hole + 1) & mask();; i = (i + 1) & mask()) {
      Slot& slot = slots_[i];
      if (slot.block == nullptr) break;
      const size_t home = slot.hash & mask();
      // Move the slot into the hole if its home is not in (hole, i], cyclically.
      const bool stays = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
      if (!stays) {
        slots_[hole] = slot;
        hole = i;
      }
    }
    slots_[hole] = {};
  }

  void Grow() {
    SlotArray old = std::move(slots_);
    slots_ = SlotArray(old.size() * 2);
    for (const Slot& slot : old) {
      if (slot.block != nullptr) slots_[FreeSlotFor(slot.hash)] = slot;
    }
  }

  void LinkNewest(Block* b) {
    b->older = newest_;
    b->newer = nullptr;
    (newest_ != nullptr ? newest_->newer : oldest_) = b;
    newest_ = b;
  }

  void Unlink(Block* b) {
    (b->older != nullptr ? b->older->newer : oldest_) = b->newer;
    (b->newer != nullptr ? b->newer->older : newest_) = b->older;
  }

  base::internal::Arena arena_;  // the blocks; first, so that it is destroyed after the slots
  SlotArray slots_;
  size_t size_ = 0;
  Block* oldest_ = nullptr;
  Block* newest_ = nullptr;
};

}  // namespace internal

namespace {

absl::Status CheckSizes(std::string_view tenant, std::string_view key,
                        std::string_view fingerprint) {
  if (key.empty()) return absl::InvalidArgumentError("idempotency key is empty");
  if (key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(base::Cat("idempotency key ", base::Quoted(key), " has ",
                                                key.size(), " bytes; the most is ", kMaxKeyBytes));
  }
  if (tenant.size() > kMaxTenantBytes) {
    return absl::InvalidArgumentError(base::Cat("tenant ", base::Quoted(tenant), " has ",
                                                tenant.size(), " bytes; the most is ",
                                                kMaxTenantBytes));
  }
  if (fingerprint.size() > kMaxFingerprintBytes) {
    return absl::InvalidArgumentError(base::Cat("fingerprint of idempotency key ",
                                                base::Quoted(key), " has ", fingerprint.size(),
                                                " bytes; the most is ", kMaxFingerprintBytes));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status KeyStore::Validate(const KeyStoreOptions& options) {
  if (options.retention_ns <= 0) {
    return absl::InvalidArgumentError(
        base::Cat("retention_ns is ", options.retention_ns, "; it must be > 0"));
  }
  if (options.max_keys == 0) return absl::InvalidArgumentError("max_keys is 0; it must be >= 1");
  if (options.max_bytes == 0) {
    return absl::InvalidArgumentError("max_bytes is 0; it must be >= 1");
  }
  if (options.shards == 0 || options.shards > 1024 ||
      (options.shards & (options.shards - 1)) != 0) {
    return absl::InvalidArgumentError(
        base::Cat("shards is ", options.shards, "; it must be a power of two from 1 to 1024"));
  }
  return absl::OkStatus();
}

KeyStore::KeyStore(const KeyStoreOptions& options)
    : options_(options),
      shards_(std::make_unique<internal::KeyStoreShard[]>(options.shards)),
      totals_(std::make_unique<internal::KeyStoreTotals>()) {
  const absl::Status valid = Validate(options);
  KEEL_ASSERT(valid.ok(), valid.ToString());
  if (options_.clock == nullptr) options_.clock = &base::CoarseMonotonicClock::Default();
  // A clock that trails the true time by up to `lag` could stamp a key's start that much early:
  // waiting that much longer keeps a key at least retention_ns.
  const int64_t lag = options_.clock->MaxLagNanos();
  expire_after_ns_ = options_.retention_ns;
  if (expire_after_ns_ != kRetainForever) {
    expire_after_ns_ += std::min(lag, kRetainForever - 1 - expire_after_ns_);
  }
}

KeyStore::~KeyStore() = default;

internal::KeyStoreShard* KeyStore::ShardFor(const Ticket& ticket) const {
  return ticket.shard < options_.shards ? &shards_[ticket.shard] : nullptr;
}

namespace {

// Where a key lives: its identity's bytes, their hash, and the shard the hash picks.
// REQUIRES: the tenant and key are within their limits (CheckSizes).
struct KeyLocation {
  KeyLocation(std::string_view tenant, std::string_view key, uint32_t shards)
      : size(internal::EncodeIdentity(tenant, key, bytes)),
        hash(base::Hash64(identity())),
        shard(static_cast<uint32_t>(hash >> 54) & (shards - 1)) {}
  KeyLocation(const KeyLocation&) = delete;  // identity() views its own bytes
  KeyLocation& operator=(const KeyLocation&) = delete;

  std::string_view identity() const { return {bytes, size}; }

  char bytes[internal::kMaxIdentityBytes];
  const size_t size;
  const uint64_t hash;
  const uint32_t shard;
};

absl::Status StaleTicket(const Ticket& ticket) {
  return absl::FailedPreconditionError(base::Cat("ticket (shard ", ticket.shard, ", generation ",
                                                 ticket.generation,
                                                 ") was already completed or released"));
}

}  // namespace

absl::StatusOr<Claim> KeyStore::Begin(std::string_view tenant, std::string_view key,
                                      std::string_view fingerprint, uint64_t visible_before) {
  KEEL_RETURN_IF_ERROR(CheckSizes(tenant, key, fingerprint));
  KeyLocation where(tenant, key, options_.shards);
  const std::string_view identity = where.identity();
  const uint64_t hash = where.hash;
  const uint32_t shard_index = where.shard;
  internal::KeyStoreShard& shard = shards_[shard_index];
  const uint64_t charge = tenant.size() + key.size() + fingerprint.size();

  // A store at its limits first sweeps every shard for expired keys (a shard only expires its
  // own as it goes), then tries once more.
  for (int attempt = 0;; ++attempt) {
    const int64_t now_ns = options_.clock->NowNanos();
    Claim claim;
    std::unique_lock lock(shard.mu);
    shard.ExpireOldest(now_ns, expire_after_ns_, *totals_);
    if (internal::Block* b = shard.Find(hash, identity); b != nullptr) {
      if (b->completed && shard.Expired(*b, now_ns, expire_after_ns_)) {
        shard.Erase(b, *totals_);
        ++shard.expired;
      } else if (b->fingerprint() != fingerprint) {
        ++shard.mismatches;
        claim.verdict = Verdict::kMismatch;
        return claim;
      } else if (!b->completed || b->position >= visible_before) {
        ++shard.in_use;
        claim.verdict = Verdict::kInUse;
        return claim;
      } else {
        ++shard.replays;
        claim.verdict = Verdict::kReplay;
        claim.outcome.assign(b->outcome());
        return claim;
      }
    }
    const bool key_taken = internal::KeyStoreTotals::Take(totals_->keys, 1, options_.max_keys);
    const bool bytes_taken =
        key_taken && internal::KeyStoreTotals::Take(totals_->bytes, charge, options_.max_bytes);
    if (bytes_taken) {
      const internal::Block* b = shard.Add(hash, identity, fingerprint, now_ns);
      ++shard.executes;
      claim.verdict = Verdict::kExecute;
      claim.ticket = {shard_index, b->generation};
      return claim;
    }
    if (key_taken) totals_->keys.fetch_sub(1, std::memory_order_relaxed);
    lock.unlock();
    if (attempt == 0 && options_.retention_ns != kRetainForever && ExpireNow() > 0) continue;
    if (!key_taken) {
      return absl::ResourceExhaustedError(base::Cat("idempotency store holds max_keys ",
                                                    options_.max_keys, " keys; key ",
                                                    base::Quoted(key), " was not taken"));
    }
    return absl::ResourceExhaustedError(
        base::Cat("idempotency store holds max_bytes ", options_.max_bytes, " bytes; key ",
                  base::Quoted(key), " (", charge, " bytes) was not taken"));
  }
}

absl::Status KeyStore::Complete(const Ticket& ticket, std::string_view outcome, uint64_t position) {
  internal::KeyStoreShard* shard = ShardFor(ticket);
  if (shard == nullptr) return StaleTicket(ticket);
  if (outcome.size() > kMaxOutcomeBytes) {
    return absl::InvalidArgumentError(
        base::Cat("outcome has ", outcome.size(), " bytes; the most is ", kMaxOutcomeBytes));
  }
  std::lock_guard lock(shard->mu);
  internal::Block* b = shard->FindTicket(ticket);
  if (b == nullptr) return StaleTicket(ticket);
  if (!internal::KeyStoreTotals::Take(totals_->bytes, outcome.size(), options_.max_bytes)) {
    return absl::ResourceExhaustedError(base::Cat("idempotency store holds max_bytes ",
                                                  options_.max_bytes, " bytes; an outcome of ",
                                                  outcome.size(), " bytes does not fit"));
  }
  shard->Complete(b, outcome, position);
  return absl::OkStatus();
}

absl::StatusOr<StoredEntry> KeyStore::Pending(const Ticket& ticket) const {
  internal::KeyStoreShard* shard = ShardFor(ticket);
  if (shard == nullptr) return StaleTicket(ticket);
  std::lock_guard lock(shard->mu);
  const internal::Block* b = shard->FindTicket(ticket);
  if (b == nullptr) return StaleTicket(ticket);
  return b->View();
}

absl::Status KeyStore::Release(const Ticket& ticket) {
  internal::KeyStoreShard* shard = ShardFor(ticket);
  if (shard == nullptr) return StaleTicket(ticket);
  std::lock_guard lock(shard->mu);
  internal::Block* b = shard->FindTicket(ticket);
  if (b == nullptr) return StaleTicket(ticket);
  shard->Erase(b, *totals_);
  return absl::OkStatus();
}

absl::Status KeyStore::Insert(std::string_view tenant, std::string_view key,
                              std::string_view fingerprint, std::string_view outcome,
                              int64_t created_ns) {
  KEEL_RETURN_IF_ERROR(CheckSizes(tenant, key, fingerprint));
  if (outcome.size() > kMaxOutcomeBytes) {
    return absl::InvalidArgumentError(base::Cat("outcome of key ", base::Quoted(key), " has ",
                                                outcome.size(), " bytes; the most is ",
                                                kMaxOutcomeBytes));
  }
  KeyLocation where(tenant, key, options_.shards);
  const std::string_view identity = where.identity();
  const uint64_t hash = where.hash;
  internal::KeyStoreShard& shard = shards_[where.shard];
  std::lock_guard lock(shard.mu);
  if (internal::Block* b = shard.Find(hash, identity); b != nullptr) {
    // A key that had expired by the time it was used again is replaced, as Begin would have.
    if (!b->completed || !shard.Expired(*b, created_ns, expire_after_ns_)) {
      return absl::AlreadyExistsError(
          base::Cat("idempotency key ", base::Quoted(key), " is already held"));
    }
    shard.Erase(b, *totals_);
  }
  const uint64_t charge = tenant.size() + key.size() + fingerprint.size() + outcome.size();
  if (!internal::KeyStoreTotals::Take(totals_->keys, 1, options_.max_keys)) {
    return absl::ResourceExhaustedError(base::Cat("idempotency store holds max_keys ",
                                                  options_.max_keys, " keys; key ",
                                                  base::Quoted(key), " was not inserted"));
  }
  if (!internal::KeyStoreTotals::Take(totals_->bytes, charge, options_.max_bytes)) {
    totals_->keys.fetch_sub(1, std::memory_order_relaxed);
    return absl::ResourceExhaustedError(
        base::Cat("idempotency store holds max_bytes ", options_.max_bytes, " bytes; key ",
                  base::Quoted(key), " (", charge, " bytes) was not inserted"));
  }
  shard.AddCompleted(hash, identity, fingerprint, outcome, created_ns);
  return absl::OkStatus();
}

size_t KeyStore::ExpireNow() {
  const int64_t now_ns = options_.clock->NowNanos();
  size_t dropped = 0;
  for (uint32_t i = 0; i < options_.shards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    dropped += shards_[i].ExpireOldest(now_ns, expire_after_ns_, *totals_);
  }
  return dropped;
}

void KeyStore::ForEachCompleted(const std::function<void(const StoredEntry&)>& fn) const {
  const int64_t now_ns = options_.clock->NowNanos();
  for (uint32_t i = 0; i < options_.shards; ++i) {
    const internal::KeyStoreShard& shard = shards_[i];
    std::lock_guard lock(shard.mu);
    shard.ForEach([&](const internal::Block& b) {
      if (b.completed && !shard.Expired(b, now_ns, expire_after_ns_)) fn(b.View());
    });
  }
}

KeyStoreStats KeyStore::stats() const {
  KeyStoreStats s;
  s.keys = totals_->keys.load(std::memory_order_relaxed);
  s.bytes = totals_->bytes.load(std::memory_order_relaxed);
  for (uint32_t i = 0; i < options_.shards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    const internal::KeyStoreShard& shard = shards_[i];
    s.in_flight += shard.in_flight_count;
    s.executes += shard.executes;
    s.replays += shard.replays;
    s.mismatches += shard.mismatches;
    s.in_use += shard.in_use;
    s.expired += shard.expired;
    s.memory_bytes += shard.MemoryBytes();
  }
  return s;
}

}  // namespace keel::idempotency
