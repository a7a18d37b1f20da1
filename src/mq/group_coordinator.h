// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// GroupCoordinator: consumer groups, as Kafka's group coordinator runs them. Members join (or
// rejoin with new subscriptions), heartbeat and leave; a member silent for session_timeout_ns is
// removed. Every change of membership bumps the group's generation and reassigns the partitions
// with the group's strategy (keel/mq/assignor.h). Committed offsets are stored durably in an
// OffsetStore; a commit is refused from a member that is not in the current generation or for a
// partition it does not hold, so that a member that missed a rebalance cannot overwrite its
// successor's progress. Membership itself lives in memory: a restarted process rejoins.
//
// Internal to keel/mq.
#ifndef KEEL_SRC_MQ_GROUP_COORDINATOR_H_
#define KEEL_SRC_MQ_GROUP_COORDINATOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "context.h"
#include "keel/mq/cluster.h"
#include "offset_store.h"

namespace keel::mq::internal {

class GroupCoordinator {
 public:
  // The number of partitions of `topic`, or nullopt if there is no such topic.
  using PartitionCount = std::function<std::optional<uint32_t>(const std::string& topic)>;

  // Opens the offsets log in `offsets_dir`.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<GroupCoordinator>> Open(
      Context& ctx, const std::string& offsets_dir, PartitionCount partitions);

  // As Cluster's methods of the same names, whose comments give the contracts. The topics and
  // partitions have been checked by the caller.
  [[nodiscard]] absl::StatusOr<GroupAssignment> Join(const std::string& group,
                                                     const std::string& member_id,
                                                     const std::vector<std::string>& topics,
                                                     AssignmentStrategy strategy);
  [[nodiscard]] absl::Status Leave(const std::string& group, const std::string& member_id);
  [[nodiscard]] absl::StatusOr<GroupAssignment> Heartbeat(const std::string& group,
                                                          const std::string& member_id);
  [[nodiscard]] absl::Status Commit(const std::string& group, const std::string& member_id,
                                    uint64_t generation,
                                    const std::map<TopicPartition, uint64_t>& offsets);
  [[nodiscard]] absl::StatusOr<std::optional<uint64_t>> Committed(
      const std::string& group, const TopicPartition& partition) const;
  [[nodiscard]] absl::StatusOr<GroupState> Describe(const std::string& group) const;

  // Removes members whose sessions expired by `now_ns`, rebalancing their groups.
  void ExpireMembers(int64_t now_ns);

  // Closes the offsets log; later commits and reads fail with kFailedPrecondition.
  void Close();

 private:
  struct Group {
    struct Member {
      std::vector<std::string> topics;
      int64_t last_heartbeat_ns = 0;
    };
    uint64_t generation = 0;
    AssignmentStrategy strategy = AssignmentStrategy::kRange;
    std::map<std::string, Member> members;
    std::map<std::string, std::vector<TopicPartition>> assignment;
  };

  GroupCoordinator(Context& ctx, PartitionCount partitions, std::unique_ptr<OffsetStore> offsets)
      : ctx_(ctx), partitions_(std::move(partitions)), offsets_(std::move(offsets)) {}
  // REQUIRES: mu_ held.
  void Rebalance(const std::string& name, Group& group, std::string_view why);

  Context& ctx_;
  const PartitionCount partitions_;

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Group>> groups_;
  uint64_t next_member_ = 1;
  mutable std::shared_mutex offsets_mu_;  // exclusive only to close the store
  std::unique_ptr<OffsetStore> offsets_;
};

}  // namespace keel::mq::internal

#endif  // KEEL_SRC_MQ_GROUP_COORDINATOR_H_
