// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// ProducerStateMap: what one replica of a partition knows of its idempotent producers, as Kafka's
// ProducerStateManager keeps it: per producer id, its epoch, the next sequence number it may send,
// and its last few runs of messages (first sequence, count, first offset), so that a retried batch
// is answered with the offsets it got the first time instead of being appended again.
//
// Every replica keeps its own map and updates it with each message it appends (the leader) or
// copies (a follower), in log order, so a new leader already knows every producer and an election
// reads nothing. A run grows while a producer's messages follow each other in the log with
// consecutive sequence numbers, which makes the map a function of the log alone: a follower that
// copied the leader's records in pieces has the same map as the leader.
//
// Checking a batch (Check), Kafka's rules (ProducerAppendInfo):
//   - an unknown producer may start at any sequence (its state may have expired);
//   - an epoch below the producer's is fenced (Error::kProducerFenced);
//   - an epoch above it must start at sequence 0 (a new epoch restarts the numbering);
//   - in the producer's epoch, a batch inside one of its recent runs is a duplicate; one at the
//     next sequence is new; one before it is too old to answer (Error::kDuplicateSequence); one
//     after it leaves a gap (Error::kOutOfOrderSequence).
//
// Snapshots. Encode(offset) writes the map as of a log offset, so that a replica that opens reads
// the latest snapshot at or below its log end and replays only the messages after it:
//
//   snapshot := version (varint32, 1) offset (varint64) count (varint32) producer*
//   producer := id (varint64) epoch (varint32) next_sequence (varint64)
//               last_append_ns (zigzag varint64) runs (varint32) run*
//   run := first_sequence (varint64) count (varint32) base_offset (varint64)
//
// Limits: kRecentRuns runs per producer; a producer idle for producer_id_expiration_ns is
// forgotten (Expire). Internal to keel/mq; not thread-safe (the replica's write lock guards it).
#ifndef KEEL_SRC_MQ_PRODUCER_STATE_H_
#define KEEL_SRC_MQ_PRODUCER_STATE_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "keel/mq/message.h"

namespace keel::mq::internal {

// A batch from one idempotent producer, as Check and Apply see it.
struct ProducerBatch {
  uint64_t producer_id = 0;  // never 0
  uint32_t producer_epoch = 0;
  uint64_t first_sequence = 0;
  uint32_t count = 0;  // at least 1
};

class ProducerStateMap {
 public:
  static constexpr size_t kRecentRuns = 5;

  struct Run {
    uint64_t first_sequence = 0;
    uint32_t count = 0;
    uint64_t base_offset = 0;
    friend bool operator==(const Run&, const Run&) = default;
  };
  struct Producer {
    uint32_t epoch = 0;
    uint64_t next_sequence = 0;
    int64_t last_append_ns = 0;  // when this replica last applied one of its messages
    std::deque<Run> runs;        // the last kRecentRuns, oldest first
    friend bool operator==(const Producer&, const Producer&) = default;
  };

  // Whether `batch` may be appended: nullopt if it is new, or the offset of its first message if
  // it is a duplicate of messages the log has. Errors as the file comment says.
  [[nodiscard]] absl::StatusOr<std::optional<uint64_t>> Check(const ProducerBatch& batch,
                                                              std::string_view partition) const;

  // Notes a message appended at `offset` (in log order); messages of producer 0 are not noted.
  void Apply(const MessageHeader& message, uint64_t offset, int64_t now_ns);

  // Forgets producers that applied nothing since `before_ns`; returns how many.
  size_t Expire(int64_t before_ns);

  // The snapshot as of log offset `offset`, and back (returning its offset). Errors: kDataLoss
  // naming what is wrong.
  [[nodiscard]] std::string Encode(uint64_t offset) const;
  [[nodiscard]] absl::StatusOr<uint64_t> Decode(std::string_view bytes);

  void Clear() { producers_.clear(); }
  [[nodiscard]] size_t size() const { return producers_.size(); }
  [[nodiscard]] const absl::flat_hash_map<uint64_t, Producer>& producers() const {
    return producers_;
  }

  friend bool operator==(const ProducerStateMap&, const ProducerStateMap&) = default;

 private:
  absl::flat_hash_map<uint64_t, Producer> producers_;
};

}  // namespace keel::mq::internal

#endif  // KEEL_SRC_MQ_PRODUCER_STATE_H_
