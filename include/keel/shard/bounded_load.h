// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Consistent hashing with bounded loads: a hash ring that never lets a node hold more than
// ceil((1 + epsilon) * m / n) of the m keys, by passing a key on to the next node clockwise when
// its own is full.
//
// Mirrokni, Thorup and Zadimoghaddam, "Consistent Hashing with Bounded Loads" (SODA 2018), as
// Google Cloud Pub/Sub and HAProxy use it. Plain consistent hashing balances keys only on average:
// a node's share varies by 1/sqrt(vnodes), and a burst of hot keys can land on one node. With
// bounded loads every node has a capacity of ceil((1 + epsilon) * m / n); a key walks clockwise
// from its position past full nodes and stays at the first node with room. The paper shows the
// walk is short (expected O(1/epsilon^2) nodes for small epsilon) and that an insertion or
// deletion moves O(1/epsilon^2) other keys in expectation, so the bound costs little movement.
//
// Unlike the stateless schemes, where a key lands depends on the keys already there, so the
// structure keeps the keys and their places:
//   AddKey      the key walks from its position to the first node below capacity (capacity only
//               grows as m grows, so nothing else moves).
//   RemoveKey   frees its place; if the capacity drops, each node now above it passes keys on
//               clockwise until it is within (the capacity drops by at most
//               ceil((1 + epsilon) / n), so with epsilon < n - 1 a removal moves at most one key
//               per node, and rarely any).
//   AddNode     the new node takes, up to its capacity, the keys whose walk passed one of its
//               points (nearest first), then nodes above the new, lower capacity pass keys on
//               (AddNodes does the same for several nodes in one pass).
//   RemoveNode  its keys walk on from their own positions; the capacity grows, so nothing else
//               moves.
// Every mutation returns the keys it moved, so a caller can migrate their data. After every
// mutation each node holds at most capacity() keys (the test checks this after every step).
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(auto ring, keel::shard::BoundedLoadRing::Create({.epsilon = 0.25}));
//   for (keel::shard::NodeId id = 0; id < 3; ++id) KEEL_RETURN_IF_ERROR(ring.AddNode(id).status());
//   KEEL_ASSIGN_OR_RETURN(keel::shard::NodeId owner, ring.AddKey("channel:42"));
//   KEEL_ASSIGN_OR_RETURN(std::vector<keel::shard::KeyMove> moved, ring.AddNode(3));
//
// Allocation: each key is stored once (its bytes, about 64 bytes of bookkeeping); mutations
// allocate their result. AddNode costs O(m log vnodes); the others O(walk) plus O(n) when the
// capacity changes.
// Thread safety: const methods may run concurrently; a mutation needs exclusive access.
#ifndef KEEL_SHARD_BOUNDED_LOAD_H_
#define KEEL_SHARD_BOUNDED_LOAD_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/base/hash.h"
#include "keel/shard/hash_ring.h"
#include "keel/shard/node.h"

namespace keel::shard {

// Limits: epsilon from just above 0 (capacity m/n rounded up: tight, long walks) to
// kBoundedLoadMaxEpsilon (effectively plain consistent hashing).
inline constexpr double kBoundedLoadMaxEpsilon = 1e6;

struct BoundedLoadOptions {
  double epsilon = 0.25;             // capacity is ceil((1 + epsilon) * m / n)
  uint32_t vnodes = kDefaultVnodes;  // points per node on the ring
  uint64_t seed = 0;                 // places the points, as HashRing's seed
};

// A key that changed nodes. `key` points into the ring's copy of the key: valid until that key
// is removed.
struct KeyMove {
  std::string_view key;
  NodeId from = 0;
  NodeId to = 0;
};

class BoundedLoadRing {
 public:
  // kInvalidArgument for epsilon <= 0, NaN or above kBoundedLoadMaxEpsilon, or vnodes 0 or above
  // kMaxVnodesPerNode.
  [[nodiscard]] static absl::StatusOr<BoundedLoadRing> Create(const BoundedLoadOptions& options);

  // Movable, not copyable: the member lists point into the key map's nodes.
  BoundedLoadRing(BoundedLoadRing&&) = default;
  BoundedLoadRing& operator=(BoundedLoadRing&&) = default;
  BoundedLoadRing(const BoundedLoadRing&) = delete;
  BoundedLoadRing& operator=(const BoundedLoadRing&) = delete;

  // kAlreadyExists for a node already there; kInvalidArgument when the ring is full.
  [[nodiscard]] absl::StatusOr<std::vector<KeyMove>> AddNode(NodeId id) {
    return AddNodes({&id, 1});
  }
  // Adds several nodes at once: one rebuild of the ring and one pass over the keys (each key goes
  // to the first new point on its walk, nearest first, while that node has room). On error (a
  // node already there, or listed twice), nothing changes.
  [[nodiscard]] absl::StatusOr<std::vector<KeyMove>> AddNodes(std::span<const NodeId> ids);
  // kNotFound for an unknown node; kFailedPrecondition when it is the last node and keys remain.
  [[nodiscard]] absl::StatusOr<std::vector<KeyMove>> RemoveNode(NodeId id);

  // Places a key and returns its node. kAlreadyExists when it is placed already;
  // kFailedPrecondition when there are no nodes.
  [[nodiscard]] absl::StatusOr<NodeId> AddKey(std::string_view key);
  // kNotFound for a key not placed.
  [[nodiscard]] absl::StatusOr<std::vector<KeyMove>> RemoveKey(std::string_view key);

  // The node holding `key`; kNotFound when it is not placed.
  [[nodiscard]] absl::StatusOr<NodeId> Lookup(std::string_view key) const;

  // ceil((1 + epsilon) * m / n); 0 with no keys or no nodes.
  [[nodiscard]] size_t capacity() const { return Capacity(keys_.size(), nodes_.size()); }
  // Keys on `id` (0 for an unknown node).
  [[nodiscard]] size_t load(NodeId id) const;
  [[nodiscard]] size_t key_count() const { return keys_.size(); }
  [[nodiscard]] size_t node_count() const { return nodes_.size(); }
  [[nodiscard]] double epsilon() const { return options_.epsilon; }
  [[nodiscard]] const HashRing& ring() const { return ring_; }

 private:
  struct Place {
    uint64_t hash;   // Hash64 of the key
    uint64_t point;  // the position of the ring point it sits at (indexes shift; positions stay)
    NodeId node;     // the owner of that point
    uint32_t index;  // its position in its node's member list
  };
  using Entry = std::pair<const std::string, Place>;
  struct NodeState {
    std::vector<Entry*> members;
  };

  explicit BoundedLoadRing(const BoundedLoadOptions& options)
      : options_(options), ring_(options.seed) {}

  [[nodiscard]] size_t Capacity(size_t keys, size_t nodes) const;
  // The first point at or after `start` (a point index) whose node holds fewer than `cap` keys.
  [[nodiscard]] size_t Walk(size_t start, size_t cap) const;
  // The index of the point at `position` owned by `node`.
  [[nodiscard]] size_t IndexOf(uint64_t position, NodeId node) const;
  void Attach(Entry& entry, size_t point);
  void Detach(Entry& entry);
  // Moves one key from every node above `cap` to the next node with room; appends the moves.
  void Shed(size_t cap, std::vector<KeyMove>& moves);

  BoundedLoadOptions options_;
  HashRing ring_;
  absl::flat_hash_map<NodeId, NodeState> nodes_;
  // Node-based, so the Entry pointers in member lists stay valid as keys come and go.
  absl::node_hash_map<std::string, Place, base::Hasher, std::equal_to<>> keys_;
};

}  // namespace keel::shard

#endif  // KEEL_SHARD_BOUNDED_LOAD_H_
