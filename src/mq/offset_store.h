// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// OffsetStore: consumer groups' committed offsets, kept durably in a write-ahead log of their
// own, as Kafka keeps them in its __consumer_offsets topic. A commit is one synced batch of
// records holding the group and its new offsets; opening the store replays the log, later records
// winning. When the log holds many more records since the last snapshot than the state needs, the
// store writes a snapshot (every group's offsets, as ordinary commit records) and drops the
// segments before it, so the log stays small however often groups commit.
//
// Sizes. The log refuses a record over max_record_bytes and a batch larger than a segment, so
// no record the store writes holds more than a quarter of a segment (a group with many partitions
// takes several), and a snapshot is written in batches of at most a quarter of a segment each:
// however many groups and partitions there are, compaction never writes what the log refuses.
//
// Crash safety. Only once the snapshot's last batch is durable are the segments before its first
// dropped. A crash part-way leaves the old records followed by part of the snapshot; every entry
// in that part restates the offset the old records already give its group and partition, so
// replaying it changes nothing and recovery needs no marker to tell a whole snapshot from a torn
// one. (A snapshot that forgot entries, or wrote anything but the current offsets, would need one.)
//
// Internal to keel/mq.
#ifndef KEEL_SRC_MQ_OFFSET_STORE_H_
#define KEEL_SRC_MQ_OFFSET_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "keel/mq/assignor.h"
#include "keel/wal/log.h"

namespace keel::mq::internal {

struct OffsetStoreOptions {
  // The log's (see wal::LogOptions); tests make them small to exercise the limits.
  uint64_t max_segment_bytes = 4 << 20;
  uint32_t max_record_bytes = 2 << 20;
  // Compact when the log holds this many more records since the last snapshot than there are
  // (group, partition) pairs.
  uint64_t compaction_slack = 4096;
};

class OffsetStore {
 public:
  using Offsets = std::map<TopicPartition, uint64_t>;

  // Errors: as wal::Log::Open; kDataLoss for a record that is not a commit.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<OffsetStore>> Open(
      const std::string& dir, wal::FileSystem& fs, const base::Clock& clock,
      const OffsetStoreOptions& options = {});

  // Stores `offsets` for `group` durably (merged with what it had), all or none. Errors:
  // kInvalidArgument for a group and topic name too long for one record, or offsets too many for
  // one segment (nothing is stored); the log's I/O errors. A compaction that fails after the
  // commit is durable is reported too, with a message that says the offsets are stored.
  [[nodiscard]] absl::Status Commit(const std::string& group, const Offsets& offsets);
  [[nodiscard]] std::optional<uint64_t> Get(const std::string& group,
                                            const TopicPartition& partition) const;

  // For tests of compaction: records in the log, and compactions since Open.
  [[nodiscard]] uint64_t log_records() const;
  [[nodiscard]] uint64_t compactions() const;

 private:
  OffsetStore(std::unique_ptr<wal::Log> log, const OffsetStoreOptions& options);
  absl::Status Compact();  // REQUIRES: mu_ held

  const OffsetStoreOptions options_;
  // What one batch the store appends may hold, framing included, and one record's payload.
  const uint64_t batch_bytes_max_;
  const size_t record_bytes_max_;

  mutable std::mutex mu_;
  std::unique_ptr<wal::Log> log_;
  std::map<std::string, Offsets> groups_;
  size_t entries_ = 0;           // (group, partition) pairs in groups_
  uint64_t snapshot_start_ = 0;  // the offset of the last snapshot's first record
  uint64_t compactions_ = 0;
};

}  // namespace keel::mq::internal

#endif  // KEEL_SRC_MQ_OFFSET_STORE_H_
