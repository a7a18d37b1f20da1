// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Replica: one broker's copy of one partition, and everything that copy keeps on disk:
//
//   broker-<b>/<topic>-<p>/log/                  the messages, a keel::wal::Log
//   broker-<b>/<topic>-<p>/leader-epochs         which leader epoch wrote which offsets
//   broker-<b>/<topic>-<p>/producers-<offset>    the idempotent producers as of <offset>
//
// (leader_epoch_cache.h and producer_state.h give the two files' formats.) A Replica keeps the
// three consistent through every change of its log, which is what lets a replica open, lead, or
// follow a new leader without reading its whole log:
//
//   Append     a new leader epoch's entry is written before its first message; each message
//              updates the producer state after it is appended.
//   Truncate   the log is cut first, then the epochs past the cut and the snapshots past it go
//              (with a directory sync: a snapshot of a cut history that reappeared after a crash
//              would be taken for the new one), and the producer state is reloaded.
//   Reset      the snapshots go first, then the epochs, then the log's messages.
//   Open       the log recovers; epochs and snapshots past its end are dropped; the producer state
//              is the latest snapshot within the log plus the messages after it.
//
// Snapshots are written by MaybeSnapshot (from the maintenance thread, after a segment's worth of
// messages, and on Close) outside the write lock; a truncation that runs meanwhile bumps a
// generation count, and the snapshot is dropped instead of written.
//
// Damage. A log that Open finds damaged (kDataLoss in the default recovery mode) is opened again
// in kPointInTime mode, which cuts it at the damage, and the replica reports itself damaged: it
// may have lost messages the ISR counted on, so its partition takes it out of the ISR and it
// copies the rest from the leader. A damaged or missing leader-epochs file is rebuilt from the
// log; a damaged snapshot is skipped for an older one.
//
// Internal to keel/mq. Thread safety: the mutators require write_mu() (held by the leader's
// appends and a follower's copies); readers of the log may run at any time.
#ifndef KEEL_SRC_MQ_REPLICA_H_
#define KEEL_SRC_MQ_REPLICA_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "context.h"
#include "keel/mq/message.h"
#include "keel/wal/log.h"
#include "leader_epoch_cache.h"
#include "producer_state.h"

namespace keel::mq::internal {

class Replica {
 public:
  // Opens the replica in `dir`, creating it (and syncing its parent) if needed. `label` names it
  // in events ("orders-0 on broker 2"). Sets `*damaged` as the file comment says. Errors: I/O
  // errors; kDataLoss only if even kPointInTime recovery cannot open the log.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Replica>> Open(Context& ctx,
                                                                     const std::string& dir,
                                                                     std::string label,
                                                                     bool* damaged);

  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;
  // Closes the log without a sync, as a crash would.
  ~Replica();

  std::mutex& write_mu() { return write_mu_; }
  wal::Log& log() const { return *log_; }
  LeaderEpochCache& epochs() const { return *epochs_; }
  // REQUIRES: write_mu() held.
  ProducerStateMap& producers() { return producers_; }

  // Appends `records` as one batch (the leader's messages, or those a follower copied), whose
  // headers are `headers`: notes a new leader epoch first, durably, and each message in the
  // producer state after. Returns the first offset. REQUIRES: write_mu() held; the epochs do
  // not go down (the caller truncated first).
  [[nodiscard]] absl::StatusOr<uint64_t> Append(std::span<const std::string_view> records,
                                                std::span<const MessageHeader> headers);

  // Cuts the log to end at `end` (see the file comment). REQUIRES: write_mu() held.
  [[nodiscard]] absl::Status Truncate(uint64_t end);
  // Empties the log, to restart at `next_offset`. REQUIRES: write_mu() held.
  [[nodiscard]] absl::Status Reset(uint64_t next_offset);

  // Retention, and the delay queue's clean-up, on the log; the epochs follow the new log start.
  [[nodiscard]] absl::StatusOr<size_t> ApplyRetention(uint64_t max_bytes, int64_t max_age_ns,
                                                      uint64_t keep_from);
  [[nodiscard]] absl::Status DropBefore(uint64_t offset);

  // Writes a producer snapshot if at least `min_bytes` were appended since the last one (any
  // number with `force`), and keeps only the newest kKeptSnapshots. Takes write_mu() itself.
  [[nodiscard]] absl::Status MaybeSnapshot(uint64_t min_bytes, bool force);
  static constexpr size_t kKeptSnapshots = 2;

  // Forgets producers idle since `before_ns`. Takes write_mu() itself.
  size_t ExpireProducers(int64_t before_ns);

  // A snapshot and a sync, so that the next Open replays nothing.
  [[nodiscard]] absl::Status Close();

  [[nodiscard]] const std::string& label() const { return label_; }

 private:
  Replica(Context& ctx, std::string dir, std::string label)
      : ctx_(ctx), dir_(std::move(dir)), label_(std::move(label)) {}

  absl::Status OpenLog(bool* damaged);
  absl::Status LoadEpochs();
  absl::StatusOr<std::vector<EpochEntry>> ScanEpochs() const;
  // The producer state as of the log's end: the latest readable snapshot within the log, plus
  // the messages after it. Removes snapshots past the end first (durably).
  absl::Status LoadProducerState();
  absl::Status Replay(uint64_t from);
  // The offsets of the snapshot files, ascending.
  absl::StatusOr<std::vector<uint64_t>> ListSnapshots() const;
  // Removes the snapshots past `end` (all with nullopt), syncing the directory if any went.
  absl::Status RemoveSnapshotsAfter(std::optional<uint64_t> end);
  std::string SnapshotName(uint64_t offset) const;

  Context& ctx_;
  const std::string dir_;
  const std::string label_;
  std::unique_ptr<wal::Log> log_;
  std::unique_ptr<LeaderEpochCache> epochs_;

  std::mutex write_mu_;
  ProducerStateMap producers_;           // guarded by write_mu_
  uint64_t bytes_since_snapshot_ = 0;    // guarded by write_mu_
  std::atomic<uint64_t> generation_{0};  // bumped by Truncate and Reset
  std::mutex snapshot_mu_;               // one snapshot file change at a time
};

}  // namespace keel::mq::internal

#endif  // KEEL_SRC_MQ_REPLICA_H_
