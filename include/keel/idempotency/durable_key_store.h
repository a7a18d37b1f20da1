// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// DurableKeyStore: idempotency keys whose outcomes are stored atomically with the effects of the
// requests that produced them, on keel's write-ahead log. A reservation and the key that names it
// are written in one log record, so that after a crash either both are there (a retry gets the
// stored outcome and nothing is reserved twice) or neither is (the retry executes afresh). This is
// Stripe's rule that the idempotency key is saved in the same database transaction as the work.
//
// The store does not know the application's state; the application hands it two functions.
// `apply` redoes one logged change (the `effects` bytes given to Complete or LogEffects) on the
// application's state, and `restore` loads the state a checkpoint saved. Open() recovers: it
// restores the latest checkpoint, then replays every record logged after it, in log order, into
// both the keys and the application. Checkpoint() saves the keys and the application's state
// together and drops the log before them, so that the log does not grow forever.
//
//   dir/log/          the write-ahead log (keel/wal/log.h); docs/idempotency.md has its records
//   dir/checkpoint    the latest checkpoint, replaced atomically
//
// Durability and visibility. Complete appends the record and returns its offset; the record is
// durable after Sync() (or WaitDurable), which the caller runs before it answers the client, so
// that many requests can share one fsync. Until then the outcome is not shown to retries (they
// get kInUse): no client is told an outcome that a crash could take back. The application's own
// effects are visible to later requests at once, as a database's committed rows are before the
// log flush: a later record can depend on an earlier one, and recovery replays a prefix of the
// log, so a crash never keeps a record whose dependencies it lost.
//
// Order. Recovery replays records in log order, so the application must log its changes in the
// order it applied them: apply and log under the same lock (the lock that makes a check of the
// inventory and the reservation atomic in the first place), and sync outside it.
//
// Example:
//
//   keel::idempotency::DurableKeyStore::Application app{
//       .restore = [&](std::string_view state) { return hotel.Restore(state); },
//       .apply = [&](std::string_view effects) { return hotel.Apply(effects); }};
//   KEEL_ASSIGN_OR_RETURN(auto store,
//                         keel::idempotency::DurableKeyStore::Open(dir, options, app));
//   KEEL_ASSIGN_OR_RETURN(keel::idempotency::Claim claim, store->Begin("", key, fields));
//   if (claim.verdict == keel::idempotency::Verdict::kExecute) {
//     std::lock_guard lock(hotel_mu);
//     const Result result = hotel.Reserve(request);  // changes the inventory in memory
//     KEEL_ASSIGN_OR_RETURN(uint64_t offset,
//                           store->Complete(claim.ticket, result.outcome, result.effects));
//   }
//   KEEL_RETURN_IF_ERROR(store->Sync());  // now answer the client
//
// Thread safety: Begin, Complete, Release, LogEffects, Sync and WaitDurable may be called from
// several threads; Checkpoint must not overlap Complete or LogEffects (the caller's lock).
#ifndef KEEL_IDEMPOTENCY_DURABLE_KEY_STORE_H_
#define KEEL_IDEMPOTENCY_DURABLE_KEY_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/idempotency/key_store.h"
#include "keel/wal/log.h"

namespace keel::idempotency {

// The largest checkpoint written or read: it is read whole into memory.
inline constexpr uint64_t kMaxCheckpointBytes = uint64_t{1} << 34;

struct DurableKeyStoreOptions {
  KeyStoreOptions keys;
  // The log under dir/log. Its sync policy decides when Complete's records become durable on
  // their own: with the default, kEveryAppend, Complete returns once its record is durable
  // (concurrent callers share fsyncs); with kNone, only Sync() and WaitDurable() sync, which
  // lets one caller commit a batch of requests with one fsync. Its file_system and clock serve
  // the checkpoint too.
  wal::LogOptions log;
  // ShouldCheckpoint() turns true once the log holds this many bytes after the last checkpoint.
  uint64_t checkpoint_log_bytes = uint64_t{64} << 20;
};

struct DurableRecovery {
  bool checkpoint = false;         // a checkpoint was loaded
  uint64_t checkpoint_offset = 0;  // the log offset it covers up to
  uint64_t checkpoint_keys = 0;    // keys it held
  uint64_t replayed_records = 0;   // log records replayed after it
  wal::RecoveryReport log;         // what the log's own recovery found
};

class DurableKeyStore {
 public:
  struct Application {
    // Loads the application's state as a checkpoint saved it; called once by Open, with an empty
    // string when there is no checkpoint.
    std::function<absl::Status(std::string_view state)> restore;
    // Redoes one change, as logged by Complete (non-empty effects) or LogEffects.
    std::function<absl::Status(std::string_view effects)> apply;
  };

  // Opens (creating if needed) the store in `dir` and recovers it into `app`. Errors:
  // kInvalidArgument for bad options; kDataLoss for a damaged checkpoint or log record, or a log
  // that no longer reaches the checkpoint; the errors of the log's Open and of `app`.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<DurableKeyStore>> Open(
      const std::string& dir, const DurableKeyStoreOptions& options, const Application& app,
      DurableRecovery* recovery = nullptr);

  ~DurableKeyStore();
  DurableKeyStore(const DurableKeyStore&) = delete;
  DurableKeyStore& operator=(const DurableKeyStore&) = delete;

  // As KeyStore::Begin; outcomes not yet durable are kInUse.
  [[nodiscard]] absl::StatusOr<Claim> Begin(std::string_view tenant, std::string_view key,
                                            std::string_view fingerprint);

  // Logs the ticket's key, its outcome and `effects` (may be empty) in one record, stores the
  // outcome, and returns the record's offset: it is durable once Sync() or WaitDurable(offset + 1)
  // returns. Errors: those of KeyStore::Complete (nothing logged); the log's (the ticket stays in
  // flight and the log refuses further writes: stop, and reopen to recover).
  [[nodiscard]] absl::StatusOr<uint64_t> Complete(const Ticket& ticket, std::string_view outcome,
                                                  std::string_view effects);

  // As KeyStore::Release: nothing is logged.
  [[nodiscard]] absl::Status Release(const Ticket& ticket);

  // Logs a change that no key names (setting a hotel's inventory, say). Returns its offset.
  [[nodiscard]] absl::StatusOr<uint64_t> LogEffects(std::string_view effects);

  // Makes every record logged so far durable.
  [[nodiscard]] absl::Status Sync();
  // Blocks until every record before `end_offset` is durable.
  [[nodiscard]] absl::Status WaitDurable(uint64_t end_offset);

  // Whether the log has grown past checkpoint_log_bytes since the last checkpoint.
  [[nodiscard]] bool ShouldCheckpoint() const;

  // Saves every completed key and `state`, the application's state after every change logged so
  // far, as the new checkpoint (atomically: a crash leaves the old one or the new), then drops the
  // log's segments before it. REQUIRES: no Complete or LogEffects runs meanwhile. Errors: I/O.
  [[nodiscard]] absl::Status Checkpoint(std::string_view state);

  [[nodiscard]] const KeyStore& keys() const;
  [[nodiscard]] const wal::Log& log() const;

 private:
  class Impl;
  explicit DurableKeyStore(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace keel::idempotency

#endif  // KEEL_IDEMPOTENCY_DURABLE_KEY_STORE_H_
