// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// LeaderEpochCache: which leader epoch wrote which stretch of a replica's log, so that after a
// change of leader a replica can find where its log stops agreeing with the new leader's (Kafka's
// KIP-101, with the refinement of KIP-279).
//
// Every message carries the epoch of the leader that appended it (keel/mq/message.h), and each
// epoch has one leader, which only appends. So two replicas that hold a message of epoch E at
// offset o hold the same messages up to o. The cache keeps, per replica, the first offset of each
// epoch its log holds: entries (epoch, start_offset), both strictly increasing. Asked for an epoch
// E, a leader answers with the largest epoch E' <= E it has and where E' ends in its log (the
// start of its next epoch, or its log end); DivergencePoint() turns the answers into the offset a
// follower must cut its log back to. A follower whose latest epoch the leader does not have (the
// follower led an epoch whose messages never reached the new leader) learns that E' < E; it then
// cuts at the end of E' in both logs and asks again, until the epochs agree: KIP-279's fix of
// KIP-101, which compared the leader's E' end with the follower's whole log.
//
// Durability. The cache lives in a checksummed file beside the replica's log, replaced whole
// (keel/wal/atomic_file.h):
//
//   leader-epochs := version (varint32, 1) count (varint32) (epoch (varint64) start (varint64))*
//
// A new epoch's entry is written before the first message of that epoch is appended, and a
// truncation of the log is done before the entries past the cut go. So after a crash the file
// may have entries at or past the log's end (their messages were lost, or cut), never lack one
// for a message the log holds; Load() drops those past the end. Retention's trimming of old
// entries is written with the next change.
//
// Limits: one entry per epoch the log holds messages of; retention removes those of deleted
// segments. Internal to keel/mq. Thread safety: every method may be called from many threads at
// once (a follower asks its leader's cache while the leader appends).
#ifndef KEEL_SRC_MQ_LEADER_EPOCH_CACHE_H_
#define KEEL_SRC_MQ_LEADER_EPOCH_CACHE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/wal/file_system.h"

namespace keel::mq::internal {

struct EpochEntry {
  uint64_t epoch = 0;
  uint64_t start_offset = 0;

  friend bool operator==(const EpochEntry&, const EpochEntry&) = default;
};

// A leader's answer to OffsetsForLeaderEpoch(E): the largest epoch <= E it has, and the offset
// where that epoch ends in its log. `epoch` is nullopt when it has none (every entry is later).
struct EpochEnd {
  std::optional<uint64_t> epoch;
  uint64_t end_offset = 0;

  friend bool operator==(const EpochEnd&, const EpochEnd&) = default;
};

// The answer `entries` give for `epoch` in a log ending at `log_end` (a pure function, shared by
// the cache and its tests).
[[nodiscard]] EpochEnd EndOffsetFor(const std::vector<EpochEntry>& entries, uint64_t epoch,
                                    uint64_t log_end);

// Where a follower whose log is [log_start, log_end) with epochs `entries` must cut its log back
// to so that it is a prefix of the leader's, asking the leader with `ask` (its EndOffsetFor).
// nullopt: the logs share no epoch (the leader's retention has deleted every epoch the follower
// has, or the follower holds messages its cache has no epoch for), and the follower must start
// over empty at the leader's log start.
[[nodiscard]] std::optional<uint64_t> DivergencePoint(
    const std::vector<EpochEntry>& entries, uint64_t log_start, uint64_t log_end,
    const std::function<EpochEnd(uint64_t epoch)>& ask);

class LeaderEpochCache {
 public:
  static constexpr char kFileName[] = "leader-epochs";

  // Loads `dir`/leader-epochs (an empty cache if there is none), dropping entries at or past
  // `log_end`. Errors: kDataLoss for a damaged file or entries out of order; I/O errors.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<LeaderEpochCache>> Load(
      wal::FileSystem& fs, const std::string& dir, uint64_t log_end);

  // An empty cache for `dir`, in memory only (Replace writes it).
  [[nodiscard]] static std::unique_ptr<LeaderEpochCache> Empty(wal::FileSystem& fs,
                                                               const std::string& dir);

  // Notes, durably, that messages of `epoch` start at `start_offset`, before they are appended.
  // Nothing to do if `epoch` is the latest already. Errors: kInternal for an epoch below the
  // latest, or a start before the latest entry's (either would break the cache's order: the
  // caller truncates first); I/O errors (the cache is unchanged).
  [[nodiscard]] absl::Status Assign(uint64_t epoch, uint64_t start_offset);

  // After the log was cut to end at `end_offset`: drops the entries that start at or past it,
  // durably.
  [[nodiscard]] absl::Status TruncateFromEnd(uint64_t end_offset);

  // After retention moved the log's start to `start_offset`: drops the entries whose epochs end
  // at or before it. Written with the next durable change (a stale file only has extra entries
  // for deleted messages, which are never asked about).
  void TruncateFromStart(uint64_t start_offset);

  // Replaces every entry, durably (after a reset, or a rebuild from the log).
  [[nodiscard]] absl::Status Replace(std::vector<EpochEntry> entries);

  [[nodiscard]] std::optional<uint64_t> latest_epoch() const;
  [[nodiscard]] EpochEnd EndOffsetFor(uint64_t epoch, uint64_t log_end) const;
  [[nodiscard]] std::vector<EpochEntry> entries() const;

 private:
  LeaderEpochCache(wal::FileSystem& fs, std::string dir, std::vector<EpochEntry> entries)
      : fs_(fs), dir_(std::move(dir)), entries_(std::move(entries)) {}
  // REQUIRES: mu_ held.
  absl::Status Save(const std::vector<EpochEntry>& entries) const;

  wal::FileSystem& fs_;
  const std::string dir_;
  mutable std::mutex mu_;
  std::vector<EpochEntry> entries_;
};

}  // namespace keel::mq::internal

#endif  // KEEL_SRC_MQ_LEADER_EPOCH_CACHE_H_
