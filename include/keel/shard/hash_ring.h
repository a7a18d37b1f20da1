// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Consistent hashing on a ring with virtual nodes: which server owns a key, and which R distinct
// servers (in distinct zones, if asked) hold its replicas, such that adding or removing a server
// moves only the keys it takes or gives up.
//
// Karger, Lehman, Leighton, Panigrahy, Levine and Lewin, "Consistent Hashing and Random Trees"
// (STOC 1997), as Dynamo (DeCandia et al., SOSP 2007) and memcached's ketama clients use it. Keys
// and nodes are hashed onto the same circle of 2^64 positions; a key belongs to the first node
// point at or after its position, going clockwise. Each node is placed at many points (virtual
// nodes), so that its share of the circle is the sum of many small arcs and evens out: with v
// points per node a node's share varies by about 1/sqrt(v) (a single point gives shares as uneven
// as 1/n on average but up to about ln(n)/n). Giving one node more points gives it proportionally
// more keys: weights are vnode counts. Adding a node takes the keys on the arcs just before its
// points, from the nodes that held them, and nothing else moves; removing one gives its keys to
// the next points clockwise.
//
// Replicas (Dynamo's "preference list"): walking clockwise from the key, the first R distinct
// nodes; with distinct zones, a node whose zone already holds a replica is passed over too, so
// that losing a zone loses at most one copy.
//
// The ring is a sorted array of points and a parallel array of owners: a lookup is a binary search
// over 8-byte keys (about log2(n * v) cache misses), and adding or removing a node rebuilds the
// arrays in O(n * v). A std::map ring does the same search with a pointer chase per level and
// ~48 bytes per point; benchmarks/shard measures the two.
//
// Example:
//
//   keel::shard::HashRing ring;
//   for (keel::shard::NodeId id = 0; id < 3; ++id) {
//     KEEL_RETURN_IF_ERROR(ring.AddNode({.id = id, .zone = id % 2}));
//   }
//   KEEL_ASSIGN_OR_RETURN(keel::shard::NodeId owner, ring.Lookup("user:42"));
//   std::vector<keel::shard::NodeId> replicas;
//   KEEL_RETURN_IF_ERROR(ring.Replicas("user:42", 2, {.distinct_zones = true}, replicas));
//
// Allocation: 12 bytes per point plus one small map entry per node; AddNode and RemoveNode
// allocate new arrays, lookups never allocate (Replicas may grow `out` once).
// Thread safety: const methods may run concurrently; a mutation needs exclusive access.
#ifndef KEEL_SHARD_HASH_RING_H_
#define KEEL_SHARD_HASH_RING_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/base/hash.h"
#include "keel/shard/node.h"

namespace keel::shard {

// Points per node when not told otherwise: ketama's 160, which keeps a node's share within about
// 8% (one standard deviation) of its fair share.
inline constexpr uint32_t kDefaultVnodes = 160;
// Limits: points per node, and points on the ring (12 bytes each: 192 MiB at the limit).
inline constexpr uint32_t kMaxVnodesPerNode = uint32_t{1} << 16;
inline constexpr size_t kMaxRingPoints = size_t{1} << 24;

struct RingNode {
  NodeId id = 0;
  uint32_t vnodes = kDefaultVnodes;  // the node's weight: its share grows with its point count
  ZoneId zone = 0;
};

struct ReplicaOptions {
  bool distinct_zones = false;  // also skip nodes in a zone that already holds a replica
};

class HashRing {
 public:
  // `seed` places the points; every client of one ring must use the same seed.
  explicit HashRing(uint64_t seed = 0) : seed_(seed) {}

  // The position of point `vnode` of node `id`: HashInt(id << 32 | vnode, seed). Public so that
  // anything else (a client in another language, a test) can rebuild the same ring.
  [[nodiscard]] static uint64_t PointOf(NodeId id, uint32_t vnode, uint64_t seed) {
    return base::HashInt((uint64_t{id} << 32) | vnode, seed);
  }

  // Adds a node with `node.vnodes` points. kInvalidArgument for 0 or too many vnodes, or a ring
  // that would pass kMaxRingPoints; kAlreadyExists when the id is on the ring.
  absl::Status AddNode(const RingNode& node) { return AddNodes({&node, 1}); }
  // Adds several nodes with one rebuild of the arrays (adding n nodes one at a time costs
  // O(n^2 * vnodes)). On error (the first bad node, or a duplicate within `nodes`), nothing is
  // added.
  absl::Status AddNodes(std::span<const RingNode> nodes);
  // Removes a node and its points; kNotFound when it is not on the ring.
  absl::Status RemoveNode(NodeId id);

  // The node that owns `key` (hashed with keel::base::Hash64, seed 0). kFailedPrecondition when
  // the ring is empty.
  [[nodiscard]] absl::StatusOr<NodeId> Lookup(std::string_view key) const {
    return LookupHash(base::Hash64(key));
  }
  // The node that owns the key whose hash is `key_hash`: the owner of the first point at or after
  // it clockwise (of two points at one position, the lower node id's).
  [[nodiscard]] absl::StatusOr<NodeId> LookupHash(uint64_t key_hash) const;

  // Fills `out` with the first `count` distinct nodes clockwise from `key` (the owner first),
  // skipping nodes of zones already chosen when options.distinct_zones. kInvalidArgument when
  // count is 0 or more than the nodes (or zones) there are; kFailedPrecondition on an empty ring.
  absl::Status Replicas(std::string_view key, size_t count, const ReplicaOptions& options,
                        std::vector<NodeId>& out) const {
    return ReplicasOfHash(base::Hash64(key), count, options, out);
  }
  absl::Status ReplicasOfHash(uint64_t key_hash, size_t count, const ReplicaOptions& options,
                              std::vector<NodeId>& out) const;

  [[nodiscard]] bool Contains(NodeId id) const { return nodes_.contains(id); }
  [[nodiscard]] size_t node_count() const { return nodes_.size(); }
  [[nodiscard]] size_t zone_count() const { return zone_nodes_.size(); }
  [[nodiscard]] uint64_t seed() const { return seed_; }

  // The points in clockwise order, and the node that owns each. For code that walks the ring
  // itself (bounded loads do).
  [[nodiscard]] size_t point_count() const { return points_.size(); }
  [[nodiscard]] uint64_t point(size_t index) const { return points_[index]; }
  [[nodiscard]] NodeId point_owner(size_t index) const { return owners_[index]; }
  // The index of the first point at or after `hash` clockwise (0 past the last point).
  // REQUIRES: point_count() > 0.
  [[nodiscard]] size_t FirstPointAtOrAfter(uint64_t hash) const {
    const auto it = std::lower_bound(points_.begin(), points_.end(), hash);
    return it == points_.end() ? 0 : static_cast<size_t>(it - points_.begin());
  }

  // Bytes held by the ring's arrays and node table.
  [[nodiscard]] size_t memory_bytes() const;

 private:
  struct NodeInfo {
    uint32_t vnodes;
    ZoneId zone;
  };

  uint64_t seed_;
  std::vector<uint64_t> points_;  // sorted; ties ordered by owner id
  std::vector<NodeId> owners_;    // owners_[i] owns points_[i]
  absl::flat_hash_map<NodeId, NodeInfo> nodes_;
  absl::flat_hash_map<ZoneId, uint32_t> zone_nodes_;  // zone -> how many nodes it has
};

}  // namespace keel::shard

#endif  // KEEL_SHARD_HASH_RING_H_
