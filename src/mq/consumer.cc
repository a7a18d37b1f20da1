// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/mq/consumer.h"

#include <algorithm>

#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::mq {

std::string RetryTopic(const std::string& topic) { return topic + ".retry"; }
std::string DeadLetterTopic(const std::string& topic) { return topic + ".dlq"; }

Consumer::Consumer(Cluster& cluster, const ConsumerOptions& options)
    : cluster_(cluster), options_(options), member_id_(options.member_id) {}

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Join(Cluster& cluster,
                                                         const ConsumerOptions& options) {
  if (options.max_poll_messages < 1) {
    return absl::InvalidArgumentError("max_poll_messages must be at least 1");
  }
  if (options.retry.max_attempts > 0 &&
      (options.retry.backoff_ns < 0 || options.retry.backoff_multiplier < 1)) {
    return absl::InvalidArgumentError("retry backoff_ns must be >= 0 and its multiplier >= 1");
  }
  std::unique_ptr<Consumer> consumer(new Consumer(cluster, options));
  consumer->subscriptions_ = options.topics;
  if (options.retry.max_attempts > 0) {
    for (const std::string& topic : options.topics) {
      KEEL_ASSIGN_OR_RETURN(const TopicConfig config, cluster.GetTopic(topic));
      for (const std::string& side : {RetryTopic(topic), DeadLetterTopic(topic)}) {
        const absl::Status created = cluster.CreateTopic(side, config);
        if (!created.ok() && !absl::IsAlreadyExists(created)) return created;
      }
      consumer->subscriptions_.push_back(RetryTopic(topic));
    }
  }
  KEEL_RETURN_IF_ERROR(consumer->Rejoin());
  return consumer;
}

Consumer::~Consumer() {
  if (!closed_) (void)cluster_.LeaveGroup(options_.group, member_id_);
}

absl::Status Consumer::Rejoin() {
  KEEL_ASSIGN_OR_RETURN(
      const GroupAssignment assignment,
      cluster_.JoinGroup(options_.group, member_id_, subscriptions_, options_.strategy));
  member_id_ = assignment.member_id;
  return TakeAssignment(assignment);
}

// Positions come from the group's committed offsets; uncommitted progress on partitions this
// member held before is given up, since another member may have consumed them meanwhile.
absl::Status Consumer::TakeAssignment(const GroupAssignment& assignment) {
  generation_ = assignment.generation;
  assignment_ = assignment.partitions;
  positions_.clear();
  committed_.clear();
  for (const TopicPartition& tp : assignment_) {
    KEEL_ASSIGN_OR_RETURN(const std::optional<uint64_t> committed,
                          cluster_.CommittedOffset(options_.group, tp));
    if (committed) {
      positions_[tp] = *committed;
      committed_[tp] = *committed;
      continue;
    }
    KEEL_ASSIGN_OR_RETURN(const PartitionState state,
                          cluster_.DescribePartition(tp.topic, tp.partition));
    positions_[tp] =
        options_.reset == OffsetReset::kEarliest ? state.log_start : state.high_watermark;
  }
  turn_ = 0;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ConsumedMessage>> Consumer::Poll(uint32_t max_messages) {
  if (closed_) return absl::FailedPreconditionError("the consumer is closed");
  const uint32_t budget = max_messages > 0 ? max_messages : options_.max_poll_messages;
  absl::StatusOr<GroupAssignment> heartbeat = cluster_.Heartbeat(options_.group, member_id_);
  if (absl::IsNotFound(heartbeat.status())) {
    KEEL_RETURN_IF_ERROR(Rejoin());  // the session expired: join as a new member
  } else {
    KEEL_RETURN_IF_ERROR(heartbeat.status());
    if (heartbeat->generation != generation_) {
      KEEL_RETURN_IF_ERROR(TakeAssignment(*heartbeat));
    } else if (options_.semantics == DeliverySemantics::kAtLeastOnce) {
      KEEL_RETURN_IF_ERROR(CommitPositions());  // the previous batch counts as processed
    }
  }

  std::vector<ConsumedMessage> out;
  FetchOptions fetch;
  fetch.tags = options_.tags;
  for (size_t i = 0; i < assignment_.size() && out.size() < budget; ++i) {
    const TopicPartition& tp = assignment_[(turn_ + i) % assignment_.size()];
    uint64_t& position = positions_[tp];
    fetch.max_messages = budget - static_cast<uint32_t>(out.size());
    absl::StatusOr<FetchResult> result = cluster_.Fetch(tp.topic, tp.partition, position, fetch);
    if (absl::IsOutOfRange(result.status())) {
      // Retention deleted the position, or it is past the end: start again inside the log.
      KEEL_ASSIGN_OR_RETURN(const PartitionState state,
                            cluster_.DescribePartition(tp.topic, tp.partition));
      position = position < state.log_start ? state.log_start : state.high_watermark;
      result = cluster_.Fetch(tp.topic, tp.partition, position, fetch);
    }
    if (absl::IsUnavailable(result.status())) continue;  // no leader now; try again next poll
    KEEL_RETURN_IF_ERROR(result.status());
    for (FetchedMessage& f : result->messages) {
      out.push_back({tp.topic, tp.partition, f.offset, std::move(f.message)});
    }
    position = result->next_offset;
  }
  if (!assignment_.empty()) turn_ = (turn_ + 1) % assignment_.size();
  if (options_.semantics == DeliverySemantics::kAtMostOnce) {
    KEEL_RETURN_IF_ERROR(CommitPositions());
  }
  return out;
}

absl::Status Consumer::CommitPositions() {
  std::map<TopicPartition, uint64_t> changed;
  for (const auto& [tp, position] : positions_) {
    auto it = committed_.find(tp);
    if (it == committed_.end() || it->second != position) changed[tp] = position;
  }
  if (changed.empty()) return absl::OkStatus();
  KEEL_RETURN_IF_ERROR(cluster_.CommitOffsets(options_.group, member_id_, generation_, changed));
  for (const auto& [tp, position] : changed) committed_[tp] = position;
  return absl::OkStatus();
}

absl::Status Consumer::Commit() {
  if (closed_) return absl::FailedPreconditionError("the consumer is closed");
  return CommitPositions();
}

absl::Status Consumer::Retry(const ConsumedMessage& consumed) {
  if (options_.retry.max_attempts == 0) {
    return absl::FailedPreconditionError("this consumer has no retry policy");
  }
  Message m = consumed.message;
  const std::string origin = m.origin_topic.empty() ? consumed.topic : m.origin_topic;
  if (m.origin_topic.empty()) m.origin_partition = consumed.partition;
  m.origin_topic = origin;
  m.producer_id = 0;
  m.sequence = 0;
  m.attempts += 1;
  const int64_t now = cluster_.clock().NowNanos();
  m.timestamp_ns = now;
  std::string target;
  if (m.attempts >= options_.retry.max_attempts) {
    target = DeadLetterTopic(origin);
    m.deliver_at_ns = 0;
  } else {
    target = RetryTopic(origin);
    int64_t delay = options_.retry.backoff_ns;
    for (uint32_t i = 1; i < m.attempts && delay < INT64_MAX / options_.retry.backoff_multiplier;
         ++i) {
      delay *= options_.retry.backoff_multiplier;
    }
    m.deliver_at_ns = now + delay;
  }
  KEEL_ASSIGN_OR_RETURN(const TopicConfig config, cluster_.GetTopic(target));
  const uint32_t partition = m.origin_partition % config.partitions;
  return cluster_.Produce(target, partition, {&m, 1}, Acks::kAll).status();
}

absl::Status Consumer::Close() {
  if (closed_) return absl::OkStatus();
  absl::Status status;
  if (options_.semantics == DeliverySemantics::kAtLeastOnce) status = CommitPositions();
  status.Update(cluster_.LeaveGroup(options_.group, member_id_));
  closed_ = true;
  return status;
}

}  // namespace keel::mq
