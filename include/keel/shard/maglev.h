// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Maglev hashing: a lookup table of M entries (M prime, 65,537 by default), each naming a node,
// filled so that every node holds M/n entries to within one and a change of nodes rewrites few
// entries. A lookup is one hash and one array read.
//
// Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load Balancer" (NSDI 2016),
// section 3.4. Each node i ranks the table's entries in its own order, a permutation given by two
// hashes of the node: offset = h1(i) mod M and skip = h2(i) mod (M - 1) + 1, so that its j-th
// preference is (offset + j * skip) mod M (M prime makes every skip coprime to M, so the
// preferences cover the table). The table is filled in turns: each node in turn claims its most
// preferred entry not yet claimed, until all M are claimed. Every node claims one entry per full
// turn, so shares differ by at most one entry: the balance is near perfect, which a ring with
// virtual nodes cannot give. The cost is disruption: when a node comes or goes, the nodes that
// remain may claim slightly different entries, so a little more than the ideal 1/n of the keys
// move (the paper measures it; so do this module's tests and docs/shard.md). The paper's load
// balancer keeps connections on their backend with a connection table; for sharding, the extra
// movement is a cost to weigh against the balance. Keep M well above the node count (the paper
// suggests M > 100 n): with few entries per node, shares are uneven by one entry in M/n and the
// disruption grows.
//
// The permutation is built from the node id hashed with keel::base::HashInt (h1 with the seed,
// h2 with the seed xor a constant), nodes take turns in increasing id order, and a key's entry is
// (Hash64(key) * M) >> 64 (a multiply, not a division: both pick an entry uniformly).
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(keel::shard::Maglev table, keel::shard::Maglev::Create());
//   std::vector<keel::shard::NodeId> servers = {1, 2, 3};
//   KEEL_RETURN_IF_ERROR(table.SetNodes(servers));
//   KEEL_ASSIGN_OR_RETURN(keel::shard::NodeId owner, table.Lookup("channel:user:42"));
//   KEEL_RETURN_IF_ERROR(table.AddNode(4));  // rebuilds the table
//
// Allocation: 4 bytes per entry (256 KiB at the default size) and 4 bytes per node; a rebuild
// allocates its scratch arrays (16 bytes per node) and costs O(M log M).
// Thread safety: const methods may run concurrently; a mutation needs exclusive access.
#ifndef KEEL_SHARD_MAGLEV_H_
#define KEEL_SHARD_MAGLEV_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/base/hash.h"
#include "keel/shard/node.h"

namespace keel::shard {

inline constexpr uint32_t kMaglevDefaultTableSize = 65537;
// The largest table (a prime below this): 4 bytes an entry, so 128 MiB.
inline constexpr uint32_t kMaglevMaxTableSize = uint32_t{1} << 25;

class Maglev {
 public:
  // An empty table of `table_size` entries. kInvalidArgument when the size is not a prime
  // between 2 and kMaglevMaxTableSize.
  [[nodiscard]] static absl::StatusOr<Maglev> Create(uint32_t table_size = kMaglevDefaultTableSize,
                                                     uint64_t seed = 0);

  // The smallest prime table size of at least 100 entries per node and at least the default
  // size, as the paper advises. kInvalidArgument when that passes kMaglevMaxTableSize.
  [[nodiscard]] static absl::StatusOr<uint32_t> TableSizeFor(size_t nodes);
  [[nodiscard]] static bool IsPrime(uint64_t n);

  // Replaces the nodes and rebuilds the table once. kInvalidArgument for a duplicate id or more
  // nodes than entries; the table is unchanged then. An empty list empties the table.
  absl::Status SetNodes(std::span<const NodeId> ids);
  // Adds or removes one node and rebuilds (O(M log M): for many changes at once, use SetNodes).
  // kAlreadyExists / kNotFound for an id that is / is not there; kInvalidArgument when the table
  // has no entry left for another node.
  absl::Status AddNode(NodeId id);
  absl::Status RemoveNode(NodeId id);

  // The node of `key` (hashed with keel::base::Hash64, seed 0). kFailedPrecondition when the
  // table has no nodes.
  [[nodiscard]] absl::StatusOr<NodeId> Lookup(std::string_view key) const {
    return LookupHash(base::Hash64(key));
  }
  [[nodiscard]] absl::StatusOr<NodeId> LookupHash(uint64_t key_hash) const {
    if (entries_.empty()) [[unlikely]] {
      return absl::FailedPreconditionError("lookup in a Maglev table with no nodes");
    }
    return entries_[EntryOf(key_hash)];
  }
  // The entry a key hash selects, 0 to table_size() - 1.
  [[nodiscard]] uint32_t EntryOf(uint64_t key_hash) const {
    return static_cast<uint32_t>(absl::Uint128High64(absl::uint128(key_hash) * table_size_));
  }

  // The table: entry -> node (empty when there are no nodes).
  [[nodiscard]] std::span<const NodeId> entries() const { return entries_; }
  // The nodes, in increasing id order.
  [[nodiscard]] std::span<const NodeId> nodes() const { return nodes_; }
  [[nodiscard]] uint32_t table_size() const { return table_size_; }
  [[nodiscard]] uint64_t seed() const { return seed_; }
  [[nodiscard]] size_t memory_bytes() const {
    return entries_.capacity() * sizeof(NodeId) + nodes_.capacity() * sizeof(NodeId);
  }

 private:
  Maglev(uint32_t table_size, uint64_t seed) : table_size_(table_size), seed_(seed) {}
  void Populate();

  uint32_t table_size_;
  uint64_t seed_;
  std::vector<NodeId> nodes_;    // sorted
  std::vector<NodeId> entries_;  // table_size_ entries, or none
};

}  // namespace keel::shard

#endif  // KEEL_SHARD_MAGLEV_H_
