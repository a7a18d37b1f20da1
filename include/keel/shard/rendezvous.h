// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Rendezvous hashing, or highest random weight: every node scores every key, and the key belongs
// to the node with the highest score; its replicas to the next highest.
//
// Thaler and Ravishankar, "Using Name-Based Mappings to Increase Hit Rates" (IEEE/ACM Transactions
// on Networking, 1998). The score of a key on a node is a hash of the pair, so each key ranks the
// nodes in its own random order. Removing a node moves only the keys it ranked first (each to its
// second choice, spread evenly over the rest), adding one takes from every node the keys that rank
// it first, and the top R of the ranking are R distinct nodes with no walking: the natural choice
// for replica placement (object storage's data nodes) and for small pools of servers. The cost is
// a lookup in O(n): every node is scored. Past a few hundred nodes, use HashRing or Maglev.
//
// Weights, by the logarithmic method (Schindelhauer and Schomaker, "Weighted Distributed Hash
// Tables", SPAA 2005; the same form Resch's "weighted rendezvous hashing" uses): with u the pair's
// hash as a uniform number in (0, 1), the score is -w / ln(u). The winner's distribution is then
// exactly proportional to the weights (score^-1 is exponential with rate w, and the smallest of
// independent exponentials is the one of rate w_i with probability w_i / sum w), and changing one
// node's weight moves keys only to or from that node. With all weights equal the score orders the
// pairs as their hashes do, so that case compares 64-bit hashes and takes no logarithms.
//
//   pair hash   HashInt(key_hash, HashInt(node id, seed))            (XXH3 of 8 bytes, seeded)
//   u           ((pair hash >> 11) + 0.5) / 2^53                     (never 0 or 1)
//   score       -weight / ln(u)
//   order       score descending, then pair hash descending, then node id ascending
//
// Example:
//
//   keel::shard::Rendezvous nodes;
//   KEEL_RETURN_IF_ERROR(nodes.AddNode(1));
//   KEEL_RETURN_IF_ERROR(nodes.AddNode(2, /*weight=*/2.0));  // twice the keys of node 1
//   KEEL_ASSIGN_OR_RETURN(keel::shard::NodeId owner, nodes.Lookup("bucket/photo.jpg"));
//   std::vector<keel::shard::NodeId> replicas;
//   KEEL_RETURN_IF_ERROR(nodes.Top("bucket/photo.jpg", 2, replicas));
//
// Allocation: 24 bytes per node; lookups never allocate (Top may grow `out` once).
// Thread safety: const methods may run concurrently; a mutation needs exclusive access.
#ifndef KEEL_SHARD_RENDEZVOUS_H_
#define KEEL_SHARD_RENDEZVOUS_H_

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/base/hash.h"
#include "keel/shard/node.h"

namespace keel::shard {

// Limits: nodes (a lookup scores every one), and the weight range (a weight is relative; the
// bounds keep scores finite and distinct).
inline constexpr size_t kRendezvousMaxNodes = size_t{1} << 20;
inline constexpr double kRendezvousMinWeight = 1e-6;
inline constexpr double kRendezvousMaxWeight = 1e6;

class Rendezvous {
 public:
  explicit Rendezvous(uint64_t seed = 0) : seed_(seed) {}

  // The hash of the pair (key, node), as the header comment defines it.
  [[nodiscard]] static uint64_t PairHash(uint64_t key_hash, NodeId id, uint64_t seed) {
    return base::HashInt(key_hash, base::HashInt(id, seed));
  }
  // The weighted score of a pair hash: -weight / ln(u).
  [[nodiscard]] static double Score(uint64_t pair_hash, double weight) {
    const double u = (static_cast<double>(pair_hash >> 11) + 0.5) * 0x1.0p-53;
    return -weight / std::log(u);
  }

  // Adds a node. kInvalidArgument for a weight outside kRendezvousMinWeight..kRendezvousMaxWeight
  // (zero, negative, NaN, infinite) or past kRendezvousMaxNodes; kAlreadyExists for a known id.
  absl::Status AddNode(NodeId id, double weight = 1.0);
  // Removes a node; kNotFound when it is not there.
  absl::Status RemoveNode(NodeId id);

  // The node with the highest score for `key` (hashed with keel::base::Hash64, seed 0).
  // kFailedPrecondition when there are no nodes.
  [[nodiscard]] absl::StatusOr<NodeId> Lookup(std::string_view key) const {
    return LookupHash(base::Hash64(key));
  }
  [[nodiscard]] absl::StatusOr<NodeId> LookupHash(uint64_t key_hash) const;

  // Fills `out` with the `count` highest-scoring nodes for `key`, best first. kInvalidArgument
  // when count is 0 or more than the nodes; kFailedPrecondition when there are none.
  absl::Status Top(std::string_view key, size_t count, std::vector<NodeId>& out) const {
    return TopOfHash(base::Hash64(key), count, out);
  }
  absl::Status TopOfHash(uint64_t key_hash, size_t count, std::vector<NodeId>& out) const;

  [[nodiscard]] bool Contains(NodeId id) const;
  [[nodiscard]] size_t node_count() const { return nodes_.size(); }
  [[nodiscard]] uint64_t seed() const { return seed_; }
  [[nodiscard]] size_t memory_bytes() const { return nodes_.capacity() * sizeof(Node); }

 private:
  struct Node {
    uint64_t hash;  // HashInt(id, seed): the seed of its pair hashes
    double weight;
    NodeId id;
  };
  struct Candidate {
    double score;
    uint64_t pair_hash;
    NodeId id;
  };

  [[nodiscard]] Candidate Rank(const Node& node, uint64_t key_hash) const;
  [[nodiscard]] static bool Better(const Candidate& a, const Candidate& b);
  [[nodiscard]] absl::Status CheckNotEmpty() const;

  uint64_t seed_;
  std::vector<Node> nodes_;  // in the order added; the order never changes a result
  bool equal_weights_ = true;
};

}  // namespace keel::shard

#endif  // KEEL_SHARD_RENDEZVOUS_H_
