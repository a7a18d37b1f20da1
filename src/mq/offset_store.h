// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// OffsetStore: consumer groups' committed offsets, kept durably in a write-ahead log of their
// own, as Kafka keeps them in its __consumer_offsets topic. A commit is one synced record holding
// the group and its new offsets; opening the store replays the log, later records winning. When
// the log holds many more records than the state needs, the store writes every group's offsets as
// one batch and drops the segments before it, so the log stays small however often groups commit.
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

class OffsetStore {
 public:
  using Offsets = std::map<TopicPartition, uint64_t>;

  [[nodiscard]] static absl::StatusOr<std::unique_ptr<OffsetStore>> Open(const std::string& dir,
                                                                         wal::FileSystem& fs,
                                                                         const base::Clock& clock);

  // Stores `offsets` for `group` durably (merged with what it had).
  [[nodiscard]] absl::Status Commit(const std::string& group, const Offsets& offsets);
  [[nodiscard]] std::optional<uint64_t> Get(const std::string& group,
                                            const TopicPartition& partition) const;

  // Records in the log, for tests of compaction.
  [[nodiscard]] uint64_t log_records() const;

 private:
  explicit OffsetStore(std::unique_ptr<wal::Log> log) : log_(std::move(log)) {}
  absl::Status Compact();  // REQUIRES: mu_ held

  mutable std::mutex mu_;
  std::unique_ptr<wal::Log> log_;
  std::map<std::string, Offsets> groups_;
  size_t entries_ = 0;  // (group, partition) pairs in groups_
};

}  // namespace keel::mq::internal

#endif  // KEEL_SRC_MQ_OFFSET_STORE_H_
