// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Consumer: a member of a consumer group, pulling committed messages from the partitions the
// group gave it, as Kafka's consumer does.
//
// The group divides its topics' partitions among its members (keel/mq/assignor.h); Poll()
// heartbeats, notices when the group has rebalanced (a member joined, left or went silent), and
// fetches from its partitions, starting where the group's committed offsets say (or, for a
// partition the group never committed, at the earliest or latest message). Pulling, rather than
// having messages pushed, lets each consumer go at its own pace.
//
// Committing an offset says "everything before it is processed"; when that happens decides the
// delivery guarantee:
//
//   kAtMostOnce   Poll commits the new positions before returning the messages: a crash while
//                 processing loses them, but none is processed twice.
//   kAtLeastOnce  positions are committed after processing: by Commit(), or by the next Poll
//                 (which takes the previous batch as processed). A crash before the commit makes
//                 the group see those messages again.
//
// Exactly-once processing needs at-least-once delivery plus an idempotent producer (for what it
// writes) or an idempotent consumer (for what it does).
//
// Failed messages. With a RetryPolicy, Retry(message) sends a message the consumer could not
// process to the topic "<topic>.retry", delayed by an exponential backoff; the consumer
// subscribes to the retry topics as well, so it gets the message again later. After max_attempts
// the message goes to "<topic>.dlq", the dead-letter topic, for a person or another program.
//
// Example:
//
//   keel::mq::ConsumerOptions options;
//   options.group = "billing";
//   options.topics = {"orders"};
//   options.reset = keel::mq::OffsetReset::kEarliest;
//   KEEL_ASSIGN_OR_RETURN(auto consumer, keel::mq::Consumer::Join(*cluster, options));
//   for (;;) {
//     KEEL_ASSIGN_OR_RETURN(auto messages, consumer->Poll());
//     for (const keel::mq::ConsumedMessage& m : messages) {
//       if (!Bill(m.message.value).ok()) KEEL_RETURN_IF_ERROR(consumer->Retry(m));
//     }
//     KEEL_RETURN_IF_ERROR(consumer->Commit());
//   }
//
// Thread safety: a consumer belongs to one thread at a time.
#ifndef KEEL_MQ_CONSUMER_H_
#define KEEL_MQ_CONSUMER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/mq/cluster.h"

namespace keel::mq {

enum class DeliverySemantics { kAtMostOnce, kAtLeastOnce };

// Where to start in a partition the group has never committed: its oldest message, or its end
// (only messages produced from now on).
enum class OffsetReset { kEarliest, kLatest };

struct RetryPolicy {
  uint32_t max_attempts = 0;  // deliveries before the dead-letter topic; 0: no retry topics
  int64_t backoff_ns = base::kNanosPerSecond;  // the delay before the first retry...
  uint32_t backoff_multiplier = 2;             // ...multiplied by this for each further one
};

struct ConsumerOptions {
  std::string group;
  std::vector<std::string> topics;
  std::string member_id;  // empty: the cluster names it
  AssignmentStrategy strategy = AssignmentStrategy::kRange;
  OffsetReset reset = OffsetReset::kLatest;
  DeliverySemantics semantics = DeliverySemantics::kAtLeastOnce;
  std::vector<std::string> tags;  // only messages with these tags (filtered at the broker)
  uint32_t max_poll_messages = 500;
  RetryPolicy retry;
};

struct ConsumedMessage {
  std::string topic;
  uint32_t partition = 0;
  uint64_t offset = 0;
  Message message;
};

// The retry and dead-letter topics of `topic`.
[[nodiscard]] std::string RetryTopic(const std::string& topic);
[[nodiscard]] std::string DeadLetterTopic(const std::string& topic);

class Consumer {
 public:
  // Joins the group (creating the retry and dead-letter topics if the policy asks for them).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Consumer>> Join(
      Cluster& cluster, const ConsumerOptions& options);

  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;
  ~Consumer();  // leaves the group without committing

  // Up to `max_messages` (0: options.max_poll_messages) committed messages from this member's
  // partitions, taking turns between them; empty when there is nothing new.
  [[nodiscard]] absl::StatusOr<std::vector<ConsumedMessage>> Poll(uint32_t max_messages = 0);

  // Commits the positions after everything Poll returned. After a rebalance the old positions
  // cannot be committed (kFailedPrecondition): another member now owns those partitions.
  [[nodiscard]] absl::Status Commit();

  // Sends a message this consumer failed to process to its retry or dead-letter topic. Errors:
  // kFailedPrecondition without a RetryPolicy.
  [[nodiscard]] absl::Status Retry(const ConsumedMessage& message);

  // Commits (at least once) and leaves the group, which rebalances.
  [[nodiscard]] absl::Status Close();

  [[nodiscard]] const std::string& member_id() const { return member_id_; }
  [[nodiscard]] uint64_t generation() const { return generation_; }
  [[nodiscard]] const std::vector<TopicPartition>& assignment() const { return assignment_; }
  // The next offset Poll reads in each assigned partition.
  [[nodiscard]] const std::map<TopicPartition, uint64_t>& positions() const { return positions_; }

 private:
  Consumer(Cluster& cluster, const ConsumerOptions& options);
  absl::Status Rejoin();
  absl::Status TakeAssignment(const GroupAssignment& assignment);
  absl::Status CommitPositions();

  Cluster& cluster_;
  ConsumerOptions options_;
  std::vector<std::string> subscriptions_;  // topics, and their retry topics
  std::string member_id_;
  uint64_t generation_ = 0;
  std::vector<TopicPartition> assignment_;
  std::map<TopicPartition, uint64_t> positions_;
  std::map<TopicPartition, uint64_t> committed_;  // what this member last committed
  size_t turn_ = 0;                               // the partition Poll starts with
  bool closed_ = false;
};

}  // namespace keel::mq

#endif  // KEEL_MQ_CONSUMER_H_
