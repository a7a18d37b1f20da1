// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// KeyStore's shards. Each shard keeps its entries in a slot vector with a free list, a hash map
// from the entry's identity (tenant and key) to its slot, and a queue of slots in the order their
// keys began, from which expired entries are dropped. The identity bytes live in the entry's own
// buffer, which never moves, so the map can key on a view of them without a second copy.
#include "keel/idempotency/key_store.h"

#include <atomic>
#include <cstring>
#include <deque>
#include <mutex>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "keel/base/assert.h"
#include "keel/base/hash.h"
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
  std::atomic<uint64_t> executes{0};
  std::atomic<uint64_t> replays{0};
  std::atomic<uint64_t> mismatches{0};
  std::atomic<uint64_t> in_use{0};
  std::atomic<uint64_t> expired{0};

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

struct Entry {
  std::unique_ptr<char[]> bytes;  // identity, then fingerprint
  std::string outcome;
  int64_t created_ns = 0;
  uint64_t position = 0;
  uint64_t generation = 0;  // 0: the slot is free
  uint16_t identity_size = 0;
  uint16_t fingerprint_size = 0;
  bool completed = false;
  bool queued = false;  // in the expiry queue

  std::string_view identity() const { return {bytes.get(), identity_size}; }
  std::string_view fingerprint() const { return {bytes.get() + identity_size, fingerprint_size}; }
  StoredEntry View() const {
    const std::string_view id = identity();
    const auto tenant_size = static_cast<uint8_t>(id[0]);
    return {id.substr(1, tenant_size), id.substr(1 + tenant_size), fingerprint(), outcome,
            created_ns};
  }
  // What counts against max_bytes.
  uint64_t charged_bytes() const {
    return uint64_t{identity_size} - 1 + fingerprint_size + outcome.size();
  }
};

class KeyStoreShard {
 public:
  struct Queued {
    int64_t created_ns;
    uint32_t slot;
    uint64_t generation;
  };

  mutable std::mutex mu;
  std::vector<Entry> entries;
  std::vector<uint32_t> free_slots;
  absl::flat_hash_map<std::string_view, uint32_t, base::Hasher> index;
  std::deque<Queued> expiry;  // by the time each key began, oldest first (near enough)
  uint64_t next_generation = 1;
  uint64_t in_flight = 0;

  bool Expired(const Entry& e, int64_t now_ns, int64_t retention_ns) const {
    return retention_ns != kRetainForever && now_ns - e.created_ns >= retention_ns;
  }

  Entry* Find(const Ticket& ticket) {
    if (ticket.generation == 0 || ticket.slot >= entries.size()) return nullptr;
    Entry& e = entries[ticket.slot];
    return e.generation == ticket.generation && !e.completed ? &e : nullptr;
  }

  // Drops the entry in `slot`, giving back what it was charged.
  void Erase(uint32_t slot, KeyStoreTotals& totals) {
    Entry& e = entries[slot];
    KEEL_ASSERT(e.generation != 0, "erasing a free idempotency slot");
    index.erase(e.identity());
    totals.bytes.fetch_sub(e.charged_bytes(), std::memory_order_relaxed);
    totals.keys.fetch_sub(1, std::memory_order_relaxed);
    if (!e.completed) --in_flight;
    e.bytes.reset();
    std::string().swap(e.outcome);
    e.generation = 0;
    free_slots.push_back(slot);
  }

  // Drops entries from the front of the expiry queue whose retention has passed. An entry still
  // in flight leaves the queue and rejoins it when completed.
  size_t ExpireFront(int64_t now_ns, int64_t retention_ns, KeyStoreTotals& totals) {
    size_t dropped = 0;
    while (!expiry.empty()) {
      const Queued front = expiry.front();
      if (retention_ns == kRetainForever || now_ns - front.created_ns < retention_ns) break;
      expiry.pop_front();
      Entry& e = entries[front.slot];
      if (e.generation != front.generation) continue;  // released or replaced since
      e.queued = false;
      if (!e.completed) continue;
      Erase(front.slot, totals);
      ++dropped;
    }
    totals.expired.fetch_add(dropped, std::memory_order_relaxed);
    return dropped;
  }

  // A new entry, charged `charge` bytes already taken from the totals.
  uint32_t Add(std::string_view identity, std::string_view fingerprint, int64_t created_ns) {
    uint32_t slot;
    if (free_slots.empty()) {
      slot = static_cast<uint32_t>(entries.size());
      entries.emplace_back();
    } else {
      slot = free_slots.back();
      free_slots.pop_back();
    }
    Entry& e = entries[slot];
    e.bytes = std::make_unique_for_overwrite<char[]>(identity.size() + fingerprint.size());
    std::memcpy(e.bytes.get(), identity.data(), identity.size());
    std::memcpy(e.bytes.get() + identity.size(), fingerprint.data(), fingerprint.size());
    e.identity_size = static_cast<uint16_t>(identity.size());
    e.fingerprint_size = static_cast<uint16_t>(fingerprint.size());
    e.created_ns = created_ns;
    e.position = 0;
    e.completed = false;
    e.generation = next_generation++;
    e.queued = true;
    index.emplace(e.identity(), slot);
    expiry.push_back({created_ns, slot, e.generation});
    ++in_flight;
    return slot;
  }
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
  if (options_.clock == nullptr) options_.clock = &base::MonotonicClock::Default();
}

KeyStore::~KeyStore() = default;

internal::KeyStoreShard* KeyStore::ShardFor(const Ticket& ticket) const {
  return ticket.shard < options_.shards ? &shards_[ticket.shard] : nullptr;
}

absl::StatusOr<Claim> KeyStore::Begin(std::string_view tenant, std::string_view key,
                                      std::string_view fingerprint, uint64_t visible_before) {
  KEEL_RETURN_IF_ERROR(CheckSizes(tenant, key, fingerprint));
  char identity_bytes[internal::kMaxIdentityBytes];
  const std::string_view identity(identity_bytes,
                                  internal::EncodeIdentity(tenant, key, identity_bytes));
  const uint64_t hash = base::Hash64(identity);
  const auto shard_index = static_cast<uint32_t>(hash >> 54) & (options_.shards - 1);
  internal::KeyStoreShard& shard = shards_[shard_index];
  const uint64_t charge = tenant.size() + key.size() + fingerprint.size();

  // A store at its limits first sweeps every shard for expired keys (a shard only expires its
  // own as it goes), then tries once more.
  for (int attempt = 0;; ++attempt) {
    const int64_t now_ns = options_.clock->NowNanos();
    Claim claim;
    std::unique_lock lock(shard.mu);
    shard.ExpireFront(now_ns, options_.retention_ns, *totals_);
    if (auto it = shard.index.find(identity); it != shard.index.end()) {
      internal::Entry& e = shard.entries[it->second];
      if (e.completed && shard.Expired(e, now_ns, options_.retention_ns)) {
        shard.Erase(it->second, *totals_);
        totals_->expired.fetch_add(1, std::memory_order_relaxed);
      } else if (e.fingerprint() != fingerprint) {
        totals_->mismatches.fetch_add(1, std::memory_order_relaxed);
        claim.verdict = Verdict::kMismatch;
        return claim;
      } else if (!e.completed || e.position >= visible_before) {
        totals_->in_use.fetch_add(1, std::memory_order_relaxed);
        claim.verdict = Verdict::kInUse;
        return claim;
      } else {
        totals_->replays.fetch_add(1, std::memory_order_relaxed);
        claim.verdict = Verdict::kReplay;
        claim.outcome.assign(e.outcome);
        return claim;
      }
    }
    const bool key_taken = internal::KeyStoreTotals::Take(totals_->keys, 1, options_.max_keys);
    const bool bytes_taken =
        key_taken && internal::KeyStoreTotals::Take(totals_->bytes, charge, options_.max_bytes);
    if (bytes_taken) {
      const uint32_t slot = shard.Add(identity, fingerprint, now_ns);
      totals_->executes.fetch_add(1, std::memory_order_relaxed);
      claim.verdict = Verdict::kExecute;
      claim.ticket = {shard_index, slot, shard.entries[slot].generation};
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
  if (shard == nullptr) return absl::FailedPreconditionError("not a ticket of this store");
  if (outcome.size() > kMaxOutcomeBytes) {
    return absl::InvalidArgumentError(
        base::Cat("outcome has ", outcome.size(), " bytes; the most is ", kMaxOutcomeBytes));
  }
  std::lock_guard lock(shard->mu);
  internal::Entry* e = shard->Find(ticket);
  if (e == nullptr) {
    return absl::FailedPreconditionError(base::Cat("ticket (slot ", ticket.slot, ", generation ",
                                                   ticket.generation,
                                                   ") was already completed or released"));
  }
  if (!internal::KeyStoreTotals::Take(totals_->bytes, outcome.size(), options_.max_bytes)) {
    return absl::ResourceExhaustedError(base::Cat("idempotency store holds max_bytes ",
                                                  options_.max_bytes, " bytes; an outcome of ",
                                                  outcome.size(), " bytes does not fit"));
  }
  e->outcome.assign(outcome);
  e->completed = true;
  e->position = position;
  --shard->in_flight;
  if (!e->queued) {
    e->queued = true;
    shard->expiry.push_back({e->created_ns, ticket.slot, e->generation});
  }
  return absl::OkStatus();
}

absl::StatusOr<StoredEntry> KeyStore::Pending(const Ticket& ticket) const {
  internal::KeyStoreShard* shard = ShardFor(ticket);
  if (shard == nullptr) return absl::FailedPreconditionError("not a ticket of this store");
  std::lock_guard lock(shard->mu);
  const internal::Entry* e = shard->Find(ticket);
  if (e == nullptr) {
    return absl::FailedPreconditionError(base::Cat("ticket (slot ", ticket.slot, ", generation ",
                                                   ticket.generation,
                                                   ") was already completed or released"));
  }
  return e->View();
}

absl::Status KeyStore::Release(const Ticket& ticket) {
  internal::KeyStoreShard* shard = ShardFor(ticket);
  if (shard == nullptr) return absl::FailedPreconditionError("not a ticket of this store");
  std::lock_guard lock(shard->mu);
  if (shard->Find(ticket) == nullptr) {
    return absl::FailedPreconditionError(base::Cat("ticket (slot ", ticket.slot, ", generation ",
                                                   ticket.generation,
                                                   ") was already completed or released"));
  }
  shard->Erase(ticket.slot, *totals_);
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
  char identity_bytes[internal::kMaxIdentityBytes];
  const std::string_view identity(identity_bytes,
                                  internal::EncodeIdentity(tenant, key, identity_bytes));
  const uint64_t hash = base::Hash64(identity);
  const auto shard_index = static_cast<uint32_t>(hash >> 54) & (options_.shards - 1);
  internal::KeyStoreShard& shard = shards_[shard_index];
  std::lock_guard lock(shard.mu);
  if (auto it = shard.index.find(identity); it != shard.index.end()) {
    // A key that had expired by the time it was used again is replaced, as Begin would have.
    const internal::Entry& e = shard.entries[it->second];
    if (!e.completed || !shard.Expired(e, created_ns, options_.retention_ns)) {
      return absl::AlreadyExistsError(
          base::Cat("idempotency key ", base::Quoted(key), " is already held"));
    }
    shard.Erase(it->second, *totals_);
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
  const uint32_t slot = shard.Add(identity, fingerprint, created_ns);
  internal::Entry& e = shard.entries[slot];
  e.outcome.assign(outcome);
  e.completed = true;
  --shard.in_flight;
  return absl::OkStatus();
}

size_t KeyStore::ExpireNow() {
  const int64_t now_ns = options_.clock->NowNanos();
  size_t dropped = 0;
  for (uint32_t i = 0; i < options_.shards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    dropped += shards_[i].ExpireFront(now_ns, options_.retention_ns, *totals_);
  }
  return dropped;
}

void KeyStore::ForEachCompleted(const std::function<void(const StoredEntry&)>& fn) const {
  const int64_t now_ns = options_.clock->NowNanos();
  for (uint32_t i = 0; i < options_.shards; ++i) {
    const internal::KeyStoreShard& shard = shards_[i];
    std::lock_guard lock(shard.mu);
    for (const internal::Entry& e : shard.entries) {
      if (e.generation == 0 || !e.completed || shard.Expired(e, now_ns, options_.retention_ns)) {
        continue;
      }
      fn(e.View());
    }
  }
}

KeyStoreStats KeyStore::stats() const {
  KeyStoreStats s;
  s.keys = totals_->keys.load(std::memory_order_relaxed);
  s.bytes = totals_->bytes.load(std::memory_order_relaxed);
  s.executes = totals_->executes.load(std::memory_order_relaxed);
  s.replays = totals_->replays.load(std::memory_order_relaxed);
  s.mismatches = totals_->mismatches.load(std::memory_order_relaxed);
  s.in_use = totals_->in_use.load(std::memory_order_relaxed);
  s.expired = totals_->expired.load(std::memory_order_relaxed);
  for (uint32_t i = 0; i < options_.shards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    s.in_flight += shards_[i].in_flight;
  }
  return s;
}

}  // namespace keel::idempotency
