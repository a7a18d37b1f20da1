// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/shard/bounded_load.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "keel/base/assert.h"
#include "keel/base/strings.h"

namespace keel::shard {

absl::StatusOr<BoundedLoadRing> BoundedLoadRing::Create(const BoundedLoadOptions& options) {
  // Written so that NaN fails too.
  if (!(options.epsilon > 0 && options.epsilon <= kBoundedLoadMaxEpsilon)) {
    return absl::InvalidArgumentError(base::Cat("bounded-load epsilon is ", options.epsilon,
                                                ": want above 0 and at most ",
                                                kBoundedLoadMaxEpsilon));
  }
  if (options.vnodes == 0 || options.vnodes > kMaxVnodesPerNode) {
    return absl::InvalidArgumentError(
        base::Cat("bounded-load vnodes is ", options.vnodes, ": want 1 to ", kMaxVnodesPerNode));
  }
  return BoundedLoadRing(options);
}

size_t BoundedLoadRing::Capacity(size_t keys, size_t nodes) const {
  if (keys == 0 || nodes == 0) return 0;
  const double cap =
      std::ceil((1 + options_.epsilon) * static_cast<double>(keys) / static_cast<double>(nodes));
  // ceil((1 + e) m / n) >= m / n always; the floating point must not round it below.
  const size_t at_least = (keys + nodes - 1) / nodes;
  return std::max(at_least, static_cast<size_t>(cap));
}

size_t BoundedLoadRing::load(NodeId id) const {
  const auto it = nodes_.find(id);
  return it == nodes_.end() ? 0 : it->second.members.size();
}

size_t BoundedLoadRing::Walk(size_t start, size_t cap) const {
  size_t point = start;
  for (size_t step = 0; step < ring_.point_count(); ++step) {
    if (nodes_.at(ring_.point_owner(point)).members.size() < cap) return point;
    point = point + 1 == ring_.point_count() ? 0 : point + 1;
  }
  // n * capacity >= m, so some node has room for the key being placed: a bug if not.
  KEEL_ASSERT(false, "no node below capacity ", cap, " for ", keys_.size(), " keys on ",
              nodes_.size(), " nodes");
  return 0;
}

size_t BoundedLoadRing::IndexOf(uint64_t position, NodeId node) const {
  size_t point = ring_.FirstPointAtOrAfter(position);
  // Points at one position are ordered by owner; step to `node`'s.
  while (ring_.point_owner(point) != node) {
    KEEL_ASSERT(ring_.point(point) == position, "node ", node, " has no point at ", position);
    ++point;
  }
  return point;
}

void BoundedLoadRing::Attach(Entry& entry, size_t point) {
  const NodeId node = ring_.point_owner(point);
  std::vector<Entry*>& members = nodes_.at(node).members;
  entry.second.point = ring_.point(point);
  entry.second.node = node;
  entry.second.index = static_cast<uint32_t>(members.size());
  members.push_back(&entry);
}

void BoundedLoadRing::Detach(Entry& entry) {
  std::vector<Entry*>& members = nodes_.at(entry.second.node).members;
  Entry* last = members.back();
  members[entry.second.index] = last;
  last->second.index = entry.second.index;
  members.pop_back();
}

void BoundedLoadRing::Shed(size_t cap, std::vector<KeyMove>& moves) {
  // In id order, so that the result does not depend on the hash map's iteration order.
  std::vector<NodeId> over;
  for (const auto& [id, state] : nodes_) {
    if (state.members.size() > cap) over.push_back(id);
  }
  std::sort(over.begin(), over.end());
  for (const NodeId id : over) {
    std::vector<Entry*>& members = nodes_.at(id).members;
    while (members.size() > cap) {
      Entry& entry = *members.back();
      const size_t from = IndexOf(entry.second.point, id);
      Detach(entry);
      Attach(entry, Walk(from + 1 == ring_.point_count() ? 0 : from + 1, cap));
      moves.push_back({entry.first, id, entry.second.node});
    }
  }
}

absl::StatusOr<NodeId> BoundedLoadRing::AddKey(std::string_view key) {
  if (nodes_.empty()) {
    return absl::FailedPreconditionError(
        base::Cat("cannot place key ", base::Quoted(key), ": the ring has no nodes"));
  }
  const auto [it, inserted] = keys_.try_emplace(std::string(key));
  if (!inserted) {
    return absl::AlreadyExistsError(base::Cat("key ", base::Quoted(key), " is already placed"));
  }
  it->second.hash = base::Hash64(key);
  Attach(*it, Walk(ring_.FirstPointAtOrAfter(it->second.hash), capacity()));
  return it->second.node;
}

absl::StatusOr<std::vector<KeyMove>> BoundedLoadRing::RemoveKey(std::string_view key) {
  const auto it = keys_.find(key);
  if (it == keys_.end()) {
    return absl::NotFoundError(base::Cat("key ", base::Quoted(key), " is not placed"));
  }
  const size_t old_cap = capacity();
  Detach(*it);
  keys_.erase(it);
  std::vector<KeyMove> moves;
  if (capacity() < old_cap) Shed(capacity(), moves);
  return moves;
}

absl::StatusOr<NodeId> BoundedLoadRing::Lookup(std::string_view key) const {
  const auto it = keys_.find(key);
  if (it == keys_.end()) {
    return absl::NotFoundError(base::Cat("key ", base::Quoted(key), " is not placed"));
  }
  return it->second.node;
}

absl::StatusOr<std::vector<KeyMove>> BoundedLoadRing::AddNodes(std::span<const NodeId> ids) {
  std::vector<RingNode> added;
  for (const NodeId id : ids) added.push_back({.id = id, .vnodes = options_.vnodes});
  if (absl::Status status = ring_.AddNodes(added); !status.ok()) return status;
  for (const NodeId id : ids) nodes_.try_emplace(id);
  const size_t cap = capacity();

  // The new nodes' points, as the ring placed them (by position, then owner).
  std::vector<std::pair<uint64_t, NodeId>> points;
  for (const NodeId id : ids) {
    for (uint32_t v = 0; v < options_.vnodes; ++v) {
      points.emplace_back(HashRing::PointOf(id, v, ring_.seed()), id);
    }
  }
  std::sort(points.begin(), points.end());

  // The keys whose walk reaches a new point before the point they sit at: that new node comes
  // first in their walk now. Nearest first, as a walk would meet them.
  struct Candidate {
    uint64_t distance;  // clockwise from the key to the new point
    std::pair<uint64_t, NodeId> point;
    Entry* entry;
  };
  std::vector<Candidate> candidates;
  for (Entry& entry : keys_) {
    const Place& place = entry.second;
    auto next = std::lower_bound(points.begin(), points.end(), std::pair(place.hash, NodeId{0}));
    if (next == points.end()) next = points.begin();
    const uint64_t to_new = next->first - place.hash;  // unsigned: clockwise, wrapping at 2^64
    const uint64_t to_current = place.point - place.hash;
    if (to_new < to_current || (to_new == to_current && next->second < place.node)) {
      candidates.push_back({to_new, *next, &entry});
    }
  }
  const auto order = [](const Candidate& c) {
    return std::tie(c.distance, c.entry->second.hash, c.entry->first);
  };
  std::sort(candidates.begin(), candidates.end(),
            [&](const Candidate& a, const Candidate& b) { return order(a) < order(b); });

  std::vector<KeyMove> moves;
  for (const Candidate& candidate : candidates) {
    const auto [point, id] = candidate.point;
    if (nodes_.at(id).members.size() >= cap) continue;
    Entry& entry = *candidate.entry;
    const NodeId from = entry.second.node;
    Detach(entry);
    Attach(entry, IndexOf(point, id));
    moves.push_back({entry.first, from, id});
  }
  Shed(cap, moves);
  return moves;
}

absl::StatusOr<std::vector<KeyMove>> BoundedLoadRing::RemoveNode(NodeId id) {
  const auto it = nodes_.find(id);
  if (it == nodes_.end()) {
    return absl::NotFoundError(base::Cat("node ", id, " is not on the ring"));
  }
  if (nodes_.size() == 1 && !keys_.empty()) {
    return absl::FailedPreconditionError(
        base::Cat("node ", id, " is the last node and holds ", keys_.size(), " keys"));
  }
  std::vector<Entry*> orphans = std::move(it->second.members);
  nodes_.erase(it);
  KEEL_ASSERT(ring_.RemoveNode(id).ok());
  // In key order, so that where they land does not depend on the order they were placed in.
  std::sort(orphans.begin(), orphans.end(), [](const Entry* a, const Entry* b) {
    return std::tie(a->second.hash, a->first) < std::tie(b->second.hash, b->first);
  });
  const size_t cap = capacity();
  std::vector<KeyMove> moves;
  for (Entry* entry : orphans) {
    Attach(*entry, Walk(ring_.FirstPointAtOrAfter(entry->second.hash), cap));
    moves.push_back({entry->first, id, entry->second.node});
  }
  return moves;
}

}  // namespace keel::shard
