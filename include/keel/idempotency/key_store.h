// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// KeyStore: idempotency keys, so that a request retried after a timeout or a dropped connection
// takes effect once. A client sends a key of its choosing with each request that changes
// something (the hotel case study uses the reservation id); the server remembers the key, a
// fingerprint of the request and its outcome, and answers a retry from memory instead of doing
// the work again.
//
// The semantics are Stripe's idempotency keys ("Idempotent requests", Stripe API reference) and
// the IETF's Idempotency-Key header (draft-ietf-httpapi-idempotency-key-header):
//
//   - the first request with a key executes (Begin says kExecute); its outcome is stored with
//     Complete, or nothing is stored with Release (a request that failed validation, or one whose
//     failure should let the client try again);
//   - a retry with the same key and the same fingerprint gets the stored outcome, byte for byte
//     (kReplay), and does not execute;
//   - the same key with another fingerprint is the client's mistake (kMismatch; HTTP 422), and
//     nothing executes;
//   - a retry while the first request is still executing gets kInUse (HTTP 409);
//   - keys are scoped by tenant (an account, an API client): two tenants may use the same key;
//   - a key expires `retention_ns` after its first request began (Stripe keeps them 24 hours);
//     after that the same key is new again.
//
// The fingerprint is whatever identifies the request's payload to the caller: the canonical bytes
// of its fields (exact), or a hash of them (Stripe compares the request's parameters).
//
// Memory is bounded: at most max_keys keys and max_bytes of keys, fingerprints and outcomes are
// held; a new key beyond either gets kResourceExhausted (after expired keys are dropped), never
// the eviction of a live key, which would let its retry execute twice.
//
// Durability: this store is in memory. keel/idempotency/durable_key_store.h logs each outcome
// together with the request's effects on keel's write-ahead log, so that both survive a crash or
// neither does. It uses the `visible_before` argument below: an outcome is handed to retries only
// once it is durable, so no client is ever told an outcome that a crash could take back.
//
// Example:
//
//   keel::idempotency::KeyStore keys({.retention_ns = 24 * 3600 * keel::base::kNanosPerSecond});
//   KEEL_ASSIGN_OR_RETURN(keel::idempotency::Claim claim,
//                         keys.Begin(tenant, request.idempotency_key, request.CanonicalBytes()));
//   switch (claim.verdict) {
//     case keel::idempotency::Verdict::kReplay:   return Reply(claim.outcome);
//     case keel::idempotency::Verdict::kMismatch: return Reply(422);
//     case keel::idempotency::Verdict::kInUse:    return Reply(409);
//     case keel::idempotency::Verdict::kExecute:  break;
//   }
//   if (!request.Valid()) { KEEL_RETURN_IF_ERROR(keys.Release(claim.ticket)); return Reply(400); }
//   std::string outcome = Execute(request);
//   KEEL_RETURN_IF_ERROR(keys.Complete(claim.ticket, outcome));
//   return Reply(outcome);
//
// Thread safety: every method may be called from several threads at once. Keys are spread over
// shards, each behind its own mutex.
//
// Costs: each key is one block holding its tenant, key, fingerprint and outcome, carved from its
// shard's arena (keel/base/internal/arena.h) on 2 MiB pages, and found through the shard's index,
// an open-addressing array of (hash, block) slots, also on 2 MiB pages once it is large. So a
// retry's lookup reads one slot and one block, and with 10M keys (over a gigabyte) each is a read
// from main memory: the store is as fast as two memory reads allow (docs/idempotency.md has the
// figures). Begin allocates the block and Complete reallocates it with the outcome. A shard's index
// doubles when three quarters full, which pauses that shard alone (it rehashes from stored hashes,
// without touching the blocks).
#ifndef KEEL_IDEMPOTENCY_KEY_STORE_H_
#define KEEL_IDEMPOTENCY_KEY_STORE_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/base/clock.h"

namespace keel::idempotency {

// Limits on what one entry may hold.
inline constexpr uint32_t kMaxTenantBytes = 255;
inline constexpr uint32_t kMaxKeyBytes = 255;
inline constexpr uint32_t kMaxFingerprintBytes = 4096;
inline constexpr uint32_t kMaxOutcomeBytes = 1 << 20;

// Keys never expire.
inline constexpr int64_t kRetainForever = std::numeric_limits<int64_t>::max();

struct KeyStoreOptions {
  // How long a key is remembered after its first request began. kRetainForever: always. > 0.
  int64_t retention_ns = 24 * 3600 * base::kNanosPerSecond;
  // The most keys held at once, in flight or completed. At least 1.
  uint64_t max_keys = uint64_t{1} << 20;
  // The most bytes of tenants, keys, fingerprints and outcomes held at once. At least 1.
  uint64_t max_bytes = uint64_t{1} << 30;
  // The number of independently locked parts: a power of two, 1 to 1024.
  uint32_t shards = 16;
  // Ages keys; CoarseMonotonicClock::Default() when null (a few ns per read, where a request's
  // own cost is ~100 ns; keys then live up to one kernel tick past their retention). Must outlive
  // the store.
  const base::Clock* clock = nullptr;
};

enum class Verdict {
  kExecute,   // a new key: execute the request, then Complete or Release the ticket
  kReplay,    // a retry: `outcome` is the first request's, byte for byte
  kMismatch,  // the key was used with another fingerprint (HTTP 422); nothing to execute
  kInUse,     // the first request with this key is still executing (HTTP 409)
};

// "execute", "replay", "mismatch", "in use".
[[nodiscard]] std::string_view VerdictName(Verdict verdict);

// Names the entry a kExecute claim created, for Complete or Release. Copyable; valid until it is
// completed or released (later uses get kFailedPrecondition).
struct Ticket {
  uint32_t shard = 0;
  uint64_t generation = 0;  // 0: no ticket
};

struct Claim {
  Verdict verdict = Verdict::kExecute;
  std::string outcome;  // kReplay: the stored outcome
  Ticket ticket;        // kExecute: the entry to complete or release
};

struct KeyStoreStats {
  uint64_t keys = 0;       // held now, in flight or completed
  uint64_t in_flight = 0;  // held now and not completed
  uint64_t bytes = 0;      // of tenants, keys, fingerprints and outcomes held now
  uint64_t executes = 0;   // Begin verdicts since the start
  uint64_t replays = 0;
  uint64_t mismatches = 0;
  uint64_t in_use = 0;
  uint64_t expired = 0;  // keys dropped because their retention passed
  // Bytes held from the system for all of the above: the shards' indexes and the chunks their
  // entries are carved from, in use or free for reuse. Expired and released entries leave free
  // room that later entries of the same size class reuse, so a store that churns keys of steady
  // sizes holds steady memory.
  uint64_t memory_bytes = 0;
};

// A completed entry, as ForEachCompleted shows it.
struct StoredEntry {
  std::string_view tenant;
  std::string_view key;
  std::string_view fingerprint;
  std::string_view outcome;
  int64_t created_ns = 0;
};

namespace internal {
class KeyStoreShard;
struct KeyStoreTotals;
}  // namespace internal

class KeyStore {
 public:
  // Every outcome is visible: the default `visible_before` of Begin.
  static constexpr uint64_t kAllVisible = std::numeric_limits<uint64_t>::max();

  // REQUIRES: options are valid (Validate).
  explicit KeyStore(const KeyStoreOptions& options);
  ~KeyStore();
  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;

  // Checks options: kInvalidArgument naming the bad field.
  [[nodiscard]] static absl::Status Validate(const KeyStoreOptions& options);

  // Claims `key` for `tenant` (see the verdicts above). A kExecute claim holds the key until its
  // ticket is completed or released. Completed entries whose `position` (Complete's argument) is
  // not below `visible_before` are not shown yet: their retries get kInUse. Errors:
  // kInvalidArgument for an empty key, or a tenant, key or fingerprint over its limit (naming
  // it); kResourceExhausted when max_keys or max_bytes would be passed.
  [[nodiscard]] absl::StatusOr<Claim> Begin(std::string_view tenant, std::string_view key,
                                            std::string_view fingerprint,
                                            uint64_t visible_before = kAllVisible);

  // Stores `outcome` for the ticket's key: its retries get it from now on (or, for a `position`
  // other than 0, once Begin's visible_before has passed it). Errors: kFailedPrecondition for a
  // ticket already completed or released, or not this store's; kInvalidArgument for an outcome
  // over kMaxOutcomeBytes; kResourceExhausted when max_bytes would be passed (the key stays in
  // flight: release it or complete it with a smaller outcome).
  [[nodiscard]] absl::Status Complete(const Ticket& ticket, std::string_view outcome,
                                      uint64_t position = 0);

  // The tenant, key, fingerprint and start time of an entry in flight (outcome empty). The views
  // stay valid until the ticket is completed or released. Errors: as Release.
  [[nodiscard]] absl::StatusOr<StoredEntry> Pending(const Ticket& ticket) const;

  // Forgets the ticket's key, storing nothing: the next request with it executes. Errors:
  // kFailedPrecondition for a ticket already completed or released, or not this store's.
  [[nodiscard]] absl::Status Release(const Ticket& ticket);

  // Stores a completed entry directly, as recovery does: Begin and Complete in one, keeping
  // `created_ns`. Errors: as Begin and Complete; kAlreadyExists for a key already held.
  [[nodiscard]] absl::Status Insert(std::string_view tenant, std::string_view key,
                                    std::string_view fingerprint, std::string_view outcome,
                                    int64_t created_ns);

  // Drops every key whose retention has passed. Returns how many went. Begin drops expired keys
  // of the shard it visits as it goes; this sweeps all of them.
  size_t ExpireNow();

  // Calls fn for every completed, unexpired entry (in no particular order), one shard at a time,
  // holding that shard's lock: fn must not call the store.
  void ForEachCompleted(const std::function<void(const StoredEntry&)>& fn) const;

  [[nodiscard]] KeyStoreStats stats() const;
  [[nodiscard]] const KeyStoreOptions& options() const { return options_; }

 private:
  [[nodiscard]] internal::KeyStoreShard* ShardFor(const Ticket& ticket) const;

  KeyStoreOptions options_;
  int64_t expire_after_ns_ = 0;  // retention_ns, plus the clock's lag (kRetainForever: never)
  std::unique_ptr<internal::KeyStoreShard[]> shards_;
  std::unique_ptr<internal::KeyStoreTotals> totals_;
};

}  // namespace keel::idempotency

#endif  // KEEL_IDEMPOTENCY_KEY_STORE_H_
