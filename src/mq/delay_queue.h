// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// DelayQueue: messages that must not be delivered before a given time. As RocketMQ does with its
// schedule topic, a delayed message is not put in its own partition (where it would hold up the
// messages behind it, or break their order) but in an internal, replicated topic; when its time
// comes the cluster appends it to the partition it was sent to, and only then can consumers see
// it. So a delayed message's offset in its partition reflects when it was delivered, not sent.
//
// The internal topic holds two kinds of record, both Messages: a delayed message wrapped in one
// whose key names the target topic (origin_partition its partition) and whose value is the
// encoded message; and a marker (empty key, tag "delivered", value the wrapped record's offset)
// appended after the message reached its partition. Loading replays both to find what is still
// pending. Both are appended with Acks::kAll and a message is pending only once committed: a
// marker names an offset, and only a committed offset is sure to hold the same record after a
// change of leader. A crash between a delivery and its marker delivers that message again on
// restart: delivery is at least once. Delayed messages are not deduplicated by producer id.
// Internal to keel/mq.
#ifndef KEEL_SRC_MQ_DELAY_QUEUE_H_
#define KEEL_SRC_MQ_DELAY_QUEUE_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "keel/mq/cluster.h"

namespace keel::mq::internal {

class ClusterImpl;
class Partition;

class DelayQueue {
 public:
  DelayQueue(ClusterImpl& cluster, Partition& store) : cluster_(cluster), store_(store) {}

  // Replays the internal topic.
  absl::Status Load();

  // Holds `messages` for `topic`/`partition` until their delivery times. They are stored with
  // Acks::kAll whatever the producer asked for (see Load).
  absl::StatusOr<ProduceResult> Add(const std::string& topic, uint32_t partition,
                                    std::span<const Message> messages);

  // Appends every message due by `now_ns` to its partition (waiting for all in-sync replicas),
  // oldest delivery time first. A partition that is unavailable or slow keeps its messages for the
  // next round (and says so in the status) while the others' go ahead. Returns how many it
  // delivered.
  absl::StatusOr<size_t> DeliverDue(int64_t now_ns);

  size_t pending() const;

 private:
  struct Pending {
    std::string topic;
    uint32_t partition = 0;
    Message message;
  };

  ClusterImpl& cluster_;
  Partition& store_;
  std::mutex deliver_mu_;  // one delivery round at a time
  mutable std::mutex mu_;
  std::map<std::pair<int64_t, uint64_t>, Pending> pending_;  // by (deliver_at_ns, offset)
};

}  // namespace keel::mq::internal

#endif  // KEEL_SRC_MQ_DELAY_QUEUE_H_
