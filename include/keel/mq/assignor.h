// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Partition assignment for consumer groups: which member of a group consumes which partitions.
// Within a group each partition goes to exactly one member, so that the group shares the work and
// each partition's messages are processed in order. The two strategies are Kafka's (its
// RangeAssignor and RoundRobinAssignor, as documented for the consumer configuration
// `partition.assignment.strategy`):
//
//   kRange        topic by topic, the topic's partitions are cut into contiguous ranges, one per
//                 member subscribed to it (in member id order); the first (partitions % members)
//                 members get one extra. Members get the same partition numbers of every topic,
//                 which co-partitioned topics want, but with many topics the first members carry
//                 more.
//   kRoundRobin   all subscribed partitions, sorted by topic and partition, are dealt one at a
//                 time to the members in id order, skipping members not subscribed to the topic.
//                 Counts differ by at most one when every member subscribes to the same topics.
//
// Both are pure functions of their input, so every member of a group computes the same answer.
//
// Example:
//
//   std::vector<keel::mq::GroupMember> members = {{"a", {"clicks"}}, {"b", {"clicks"}}};
//   std::map<std::string, uint32_t> partitions = {{"clicks", 5}};
//   auto assignment = keel::mq::AssignPartitions(keel::mq::AssignmentStrategy::kRange, members,
//                                                partitions);
//   // a: clicks-0, clicks-1, clicks-2; b: clicks-3, clicks-4
#ifndef KEEL_MQ_ASSIGNOR_H_
#define KEEL_MQ_ASSIGNOR_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace keel::mq {

struct TopicPartition {
  std::string topic;
  uint32_t partition = 0;

  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
};

enum class AssignmentStrategy { kRange, kRoundRobin };

[[nodiscard]] std::string_view StrategyName(AssignmentStrategy strategy);

struct GroupMember {
  std::string id;
  std::vector<std::string> topics;  // what it subscribes to
};

// Each member's partitions, sorted; every member appears, with nothing if nothing is left for it.
// Topics missing from `partition_counts` have no partitions. Member ids must be distinct.
[[nodiscard]] std::map<std::string, std::vector<TopicPartition>> AssignPartitions(
    AssignmentStrategy strategy, const std::vector<GroupMember>& members,
    const std::map<std::string, uint32_t>& partition_counts);

}  // namespace keel::mq

#endif  // KEEL_MQ_ASSIGNOR_H_
