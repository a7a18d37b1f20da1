// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "group_coordinator.h"

#include <algorithm>

#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::mq::internal {

absl::StatusOr<std::unique_ptr<GroupCoordinator>> GroupCoordinator::Open(
    Context& ctx, const std::string& offsets_dir, PartitionCount partitions) {
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<OffsetStore> offsets,
                        OffsetStore::Open(offsets_dir, ctx.fs(), ctx.clock()));
  return std::unique_ptr<GroupCoordinator>(
      new GroupCoordinator(ctx, std::move(partitions), std::move(offsets)));
}

void GroupCoordinator::Rebalance(const std::string& name, Group& group, std::string_view why) {
  ++group.generation;
  std::vector<GroupMember> members;
  std::map<std::string, uint32_t> counts;
  for (const auto& [id, member] : group.members) {
    members.push_back({id, member.topics});
    for (const std::string& t : member.topics) {
      if (const std::optional<uint32_t> n = partitions_(t)) counts[t] = *n;
    }
  }
  group.assignment = AssignPartitions(group.strategy, members, counts);
  std::string line = base::Cat("group ", name, " rebalanced to generation ", group.generation, " (",
                               why, ", ", StrategyName(group.strategy), "):");
  if (group.assignment.empty()) line += " no members";
  for (const auto& [id, partitions] : group.assignment) {
    line += base::Cat(" ", id, "=[");
    for (size_t i = 0; i < partitions.size(); ++i) {
      line += base::Cat(i > 0 ? " " : "", partitions[i].topic, "-", partitions[i].partition);
    }
    line += "]";
  }
  ctx_.Record(std::move(line));
}

absl::StatusOr<GroupAssignment> GroupCoordinator::Join(const std::string& group,
                                                       const std::string& member_id,
                                                       const std::vector<std::string>& topics,
                                                       AssignmentStrategy strategy) {
  std::lock_guard lock(mu_);
  std::unique_ptr<Group>& slot = groups_[group];
  if (slot == nullptr) {
    slot = std::make_unique<Group>();
    slot->strategy = strategy;
  }
  Group& g = *slot;
  if (!g.members.empty() && g.strategy != strategy) {
    return absl::InvalidArgumentError(base::Cat("group ", group, " assigns with ",
                                                StrategyName(g.strategy), ", not ",
                                                StrategyName(strategy)));
  }
  g.strategy = strategy;
  const std::string id = member_id.empty() ? base::Cat(group, "-", next_member_++) : member_id;
  std::vector<std::string> sorted = topics;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  auto it = g.members.find(id);
  const bool changed = it == g.members.end() || it->second.topics != sorted;
  Group::Member& member = g.members[id];
  member.topics = sorted;
  member.last_heartbeat_ns = ctx_.clock().NowNanos();
  if (changed) Rebalance(group, g, base::Cat(id, " joined"));
  return GroupAssignment{id, g.generation, g.assignment[id]};
}

absl::Status GroupCoordinator::Leave(const std::string& group, const std::string& member_id) {
  std::lock_guard lock(mu_);
  auto it = groups_.find(group);
  if (it == groups_.end() || !it->second->members.contains(member_id)) {
    return absl::NotFoundError(base::Cat("no member ", member_id, " in group ", group));
  }
  it->second->members.erase(member_id);
  it->second->assignment.erase(member_id);
  Rebalance(group, *it->second, base::Cat(member_id, " left"));
  return absl::OkStatus();
}

absl::StatusOr<GroupAssignment> GroupCoordinator::Heartbeat(const std::string& group,
                                                            const std::string& member_id) {
  std::lock_guard lock(mu_);
  auto it = groups_.find(group);
  if (it == groups_.end() || !it->second->members.contains(member_id)) {
    return absl::NotFoundError(base::Cat("no member ", member_id, " in group ", group,
                                         " (its session may have expired): join again"));
  }
  Group& g = *it->second;
  g.members[member_id].last_heartbeat_ns = ctx_.clock().NowNanos();
  return GroupAssignment{member_id, g.generation, g.assignment[member_id]};
}

absl::Status GroupCoordinator::Commit(const std::string& group, const std::string& member_id,
                                      uint64_t generation,
                                      const std::map<TopicPartition, uint64_t>& offsets) {
  // The group lock is held through the write: a rebalance in between would let a member that no
  // longer holds a partition overwrite its new owner's offset.
  std::lock_guard lock(mu_);
  auto it = groups_.find(group);
  const bool has_members = it != groups_.end() && !it->second->members.empty();
  if (has_members || !member_id.empty()) {
    if (!has_members || !it->second->members.contains(member_id)) {
      return absl::FailedPreconditionError(
          base::Cat("member ", base::Quoted(member_id), " is not in group ", group));
    }
    const Group& g = *it->second;
    if (generation != g.generation) {
      return absl::FailedPreconditionError(base::Cat("group ", group, " rebalanced: generation ",
                                                     generation, " is stale, ", "the group is at ",
                                                     g.generation));
    }
    const std::vector<TopicPartition>& owned = g.assignment.at(member_id);
    for (const auto& [tp, offset] : offsets) {
      if (!std::binary_search(owned.begin(), owned.end(), tp)) {
        return absl::FailedPreconditionError(base::Cat("member ", member_id, " of group ", group,
                                                       " does not hold ", tp.topic, "-",
                                                       tp.partition));
      }
    }
  }
  std::shared_lock offsets_lock(offsets_mu_);
  if (offsets_ == nullptr) return absl::FailedPreconditionError("the cluster is closed");
  return offsets_->Commit(group, offsets);
}

absl::StatusOr<std::optional<uint64_t>> GroupCoordinator::Committed(
    const std::string& group, const TopicPartition& partition) const {
  std::shared_lock lock(offsets_mu_);
  if (offsets_ == nullptr) return absl::FailedPreconditionError("the cluster is closed");
  return offsets_->Get(group, partition);
}

absl::StatusOr<GroupState> GroupCoordinator::Describe(const std::string& group) const {
  std::lock_guard lock(mu_);
  auto it = groups_.find(group);
  if (it == groups_.end()) return absl::NotFoundError(base::Cat("no group ", group));
  return GroupState{it->second->generation, it->second->strategy, it->second->assignment};
}

void GroupCoordinator::ExpireMembers(int64_t now_ns) {
  std::lock_guard lock(mu_);
  for (auto& [name, group] : groups_) {
    std::vector<std::string> expired;
    for (const auto& [id, member] : group->members) {
      if (now_ns - member.last_heartbeat_ns > ctx_.options().session_timeout_ns) {
        expired.push_back(id);
      }
    }
    for (const std::string& id : expired) {
      group->members.erase(id);
      group->assignment.erase(id);
    }
    if (!expired.empty()) {
      Rebalance(name, *group, base::Cat(expired.front(), " missed its heartbeats"));
    }
  }
}

void GroupCoordinator::Close() {
  std::unique_lock lock(offsets_mu_);
  offsets_.reset();
}

}  // namespace keel::mq::internal
