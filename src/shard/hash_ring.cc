// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/shard/hash_ring.h"

#include <utility>

#include "keel/base/assert.h"
#include "keel/base/strings.h"

namespace keel::shard {

absl::Status HashRing::AddNodes(std::span<const RingNode> nodes) {
  size_t total = points_.size();
  absl::flat_hash_map<NodeId, NodeInfo> added_nodes;
  for (const RingNode& node : nodes) {
    if (node.vnodes == 0 || node.vnodes > kMaxVnodesPerNode) {
      return absl::InvalidArgumentError(base::Cat("node ", node.id, " has ", node.vnodes,
                                                  " vnodes: want 1 to ", kMaxVnodesPerNode));
    }
    if (nodes_.contains(node.id)) {
      return absl::AlreadyExistsError(base::Cat("node ", node.id, " is already on the ring"));
    }
    if (!added_nodes.emplace(node.id, NodeInfo{node.vnodes, node.zone}).second) {
      return absl::AlreadyExistsError(base::Cat("node ", node.id, " is listed twice"));
    }
    total += node.vnodes;
    if (total > kMaxRingPoints) {
      return absl::InvalidArgumentError(base::Cat("adding node ", node.id, " with ", node.vnodes,
                                                  " vnodes would pass the ring's limit of ",
                                                  kMaxRingPoints, " points"));
    }
  }
  // The new points, sorted as the ring keeps them: by position, then owner.
  std::vector<std::pair<uint64_t, NodeId>> added;
  added.reserve(total - points_.size());
  for (const RingNode& node : nodes) {
    for (uint32_t v = 0; v < node.vnodes; ++v)
      added.emplace_back(PointOf(node.id, v, seed_), node.id);
  }
  std::sort(added.begin(), added.end());

  // Merge them into the sorted arrays.
  std::vector<uint64_t> points;
  std::vector<NodeId> owners;
  points.reserve(total);
  owners.reserve(total);
  size_t old = 0;
  for (const auto& [point, owner] : added) {
    while (old < points_.size() &&
           std::pair(points_[old], owners_[old]) < std::pair(point, owner)) {
      points.push_back(points_[old]);
      owners.push_back(owners_[old]);
      ++old;
    }
    points.push_back(point);
    owners.push_back(owner);
  }
  points.insert(points.end(), points_.begin() + static_cast<ptrdiff_t>(old), points_.end());
  owners.insert(owners.end(), owners_.begin() + static_cast<ptrdiff_t>(old), owners_.end());
  points_ = std::move(points);
  owners_ = std::move(owners);
  for (const auto& [id, info] : added_nodes) {
    nodes_.emplace(id, info);
    ++zone_nodes_[info.zone];
  }
  return absl::OkStatus();
}

absl::Status HashRing::RemoveNode(NodeId id) {
  const auto it = nodes_.find(id);
  if (it == nodes_.end()) {
    return absl::NotFoundError(base::Cat("node ", id, " is not on the ring"));
  }
  size_t kept = 0;
  for (size_t i = 0; i < points_.size(); ++i) {
    if (owners_[i] == id) continue;
    points_[kept] = points_[i];
    owners_[kept] = owners_[i];
    ++kept;
  }
  KEEL_ASSERT(kept + it->second.vnodes == points_.size());
  points_.resize(kept);
  owners_.resize(kept);
  if (--zone_nodes_[it->second.zone] == 0) zone_nodes_.erase(it->second.zone);
  nodes_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<NodeId> HashRing::LookupHash(uint64_t key_hash) const {
  if (points_.empty()) [[unlikely]] {
    return absl::FailedPreconditionError("lookup on a hash ring with no nodes");
  }
  return owners_[FirstPointAtOrAfter(key_hash)];
}

absl::Status HashRing::ReplicasOfHash(uint64_t key_hash, size_t count,
                                      const ReplicaOptions& options,
                                      std::vector<NodeId>& out) const {
  out.clear();
  if (points_.empty()) {
    return absl::FailedPreconditionError("replica lookup on a hash ring with no nodes");
  }
  const size_t available = options.distinct_zones ? zone_nodes_.size() : nodes_.size();
  if (count == 0 || count > available) {
    return absl::InvalidArgumentError(base::Cat("asked for ", count, " replicas on a ring of ",
                                                nodes_.size(), " nodes in ", zone_nodes_.size(),
                                                " zones: want 1 to ", available,
                                                options.distinct_zones ? " (one per zone)" : ""));
  }
  // Replica counts are small, so the chosen nodes are searched linearly (and their zones looked
  // up again) rather than kept in a set that would allocate.
  const auto zone_taken = [&](ZoneId zone) {
    return std::any_of(out.begin(), out.end(),
                       [&](NodeId chosen) { return nodes_.at(chosen).zone == zone; });
  };
  size_t index = FirstPointAtOrAfter(key_hash);
  for (size_t visited = 0; visited < points_.size() && out.size() < count; ++visited) {
    const NodeId owner = owners_[index];
    index = index + 1 == points_.size() ? 0 : index + 1;
    if (std::find(out.begin(), out.end(), owner) != out.end()) continue;
    if (options.distinct_zones && zone_taken(nodes_.at(owner).zone)) continue;
    out.push_back(owner);
  }
  KEEL_ASSERT(out.size() == count, "a full turn of the ring found ", out.size(), " of ", count,
              " replicas");
  return absl::OkStatus();
}

size_t HashRing::memory_bytes() const {
  return points_.capacity() * sizeof(uint64_t) + owners_.capacity() * sizeof(NodeId) +
         nodes_.capacity() * (sizeof(NodeId) + sizeof(NodeInfo) + 1) +
         zone_nodes_.capacity() * (sizeof(ZoneId) + sizeof(uint32_t) + 1);
}

}  // namespace keel::shard
