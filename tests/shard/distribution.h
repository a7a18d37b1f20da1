// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Measuring a sharding scheme the way docs/shard.md tabulates it: how evenly it spreads keys
// (standard deviation and peak of the per-node load, over the mean), and how many keys move when
// a node is added or removed, against the ideal 1/n.
//
//   BalanceKeys()          how many keys to place: KEEL_SHARD_KEYS, or 2^20 (2^18 in debug and
//                          sanitizer builds, which run the same code five to ten times slower)
//   KeyHashes(count)       Hash64 of "key:0", "key:1", ...: realistic keys, hashed once
//   Measure(assign, ...)   places the keys on nodes 0..n-1, then with node n added, then with one
//                          node removed, and returns the balance and both movements
//
// A scheme is given as a function from (the node ids, the key hashes) to each key's node.
#ifndef KEEL_TESTS_SHARD_DISTRIBUTION_H_
#define KEEL_TESTS_SHARD_DISTRIBUTION_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "keel/shard/node.h"

namespace keel::shard::testing {

[[nodiscard]] size_t BalanceKeys();
[[nodiscard]] std::vector<uint64_t> KeyHashes(size_t count);

using Assign =
    std::function<std::vector<NodeId>(std::span<const NodeId> nodes, std::span<const uint64_t>)>;

struct Balance {
  double stddev = 0;  // standard deviation of the per-node key count, over the mean
  double peak = 0;    // the largest per-node key count, over the mean
};

struct Movement {
  double moved = 0;         // the fraction of keys whose node changed
  double ideal = 0;         // 1/n: the share the added (or removed) node takes (or gave up)
  double noise = 0;         // one standard deviation of `moved` from sampling m keys alone
  bool only_needed = true;  // every moved key went to the added node (came from the removed one)

  // moved <= factor * ideal, allowing four standard deviations of sampling noise.
  [[nodiscard]] bool Within(double factor) const { return moved <= factor * ideal + 4 * noise; }
};

struct Measurement {
  Balance balance;   // on nodes 0..n-1
  Movement added;    // from nodes 0..n-1 to 0..n
  Movement removed;  // from nodes 0..n-1 to those without `removed_node`
};

// Places `keys` with `assign` on n nodes, n + 1 nodes and n - 1 nodes (without `removed_node`).
[[nodiscard]] Measurement Measure(const Assign& assign, size_t n, std::span<const uint64_t> keys,
                                  NodeId removed_node);

// The relative standard deviation of per-node loads when m keys pick among n nodes uniformly at
// random: sqrt((n - 1) / m). No scheme beats it by much without looking at the keys; jump hash,
// rendezvous and Maglev should match it, a ring adds its arcs' unevenness.
[[nodiscard]] double UniformStddev(size_t n, size_t m);

// The balance of an assignment over nodes 0..n-1.
[[nodiscard]] Balance BalanceOf(std::span<const NodeId> owners, size_t n);

// Checks (doctest CHECKs) that a balance is as even as uniform choice among n nodes gives for m
// keys: the standard deviation within 1.2x of UniformStddev, the peak within five of those
// deviations of the mean.
void CheckLikeUniformChoice(const Balance& balance, size_t n, size_t m);

// Checks that only the keys that had to move moved (to the added node, from the removed one),
// and at most `factor` times the ideal each way.
void CheckOnlyNeededMoves(const Measurement& m, double factor);

// With KEEL_SHARD_REPORT set, prints one row of the docs/shard.md table.
void Report(std::string_view scheme, size_t n, size_t keys, const Measurement& m);

}  // namespace keel::shard::testing

#endif  // KEEL_TESTS_SHARD_DISTRIBUTION_H_
