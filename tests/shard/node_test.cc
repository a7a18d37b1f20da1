// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel/shard/node.h's promise, for every scheme that keeps a membership: placement depends only
// on the node ids (and the seed) and the key bytes, never on the order nodes were added in, so
// two clients that learn of the same nodes in different orders route every key the same way.
#include "keel/shard/node.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/shard/hash_ring.h"
#include "keel/shard/maglev.h"
#include "keel/shard/rendezvous.h"
#include "testing/testing.h"

namespace keel::shard {
namespace {

// Node ids in ascending order and in a seeded random order.
std::pair<std::vector<NodeId>, std::vector<NodeId>> TwoOrders(base::Random& rng, size_t n) {
  std::vector<NodeId> ids;
  for (size_t i = 0; i < n; ++i) ids.push_back(static_cast<NodeId>(1000 + 7 * i));
  std::vector<NodeId> shuffled = ids;
  for (size_t i = shuffled.size(); i > 1; --i) std::swap(shuffled[i - 1], shuffled[rng.Uniform(i)]);
  return {ids, shuffled};
}

template <typename Scheme>
void CheckSamePlacement(const Scheme& a, const Scheme& b) {
  for (int k = 0; k < 20'000; ++k) {
    const std::string key = base::Cat("user:", k);
    const absl::StatusOr<NodeId> first = a.Lookup(key);
    const absl::StatusOr<NodeId> second = b.Lookup(key);
    REQUIRE(first.ok());
    REQUIRE(second.ok());
    REQUIRE_MESSAGE(*first == *second, key);
  }
}

TEST_CASE("Placement does not depend on the order nodes were added in") {
  const uint64_t seed = keel::testing::TestSeed(61);
  CAPTURE(seed);
  base::Random rng(seed);
  for (const size_t n : {1, 2, 5, 17, 64}) {
    CAPTURE(n);
    const auto [ordered, shuffled] = TwoOrders(rng, n);

    HashRing ring_a(seed), ring_b(seed);
    for (const NodeId id : ordered) REQUIRE(ring_a.AddNode({.id = id, .zone = id % 3}).ok());
    for (const NodeId id : shuffled) REQUIRE(ring_b.AddNode({.id = id, .zone = id % 3}).ok());
    CheckSamePlacement(ring_a, ring_b);

    Rendezvous hrw_a(seed), hrw_b(seed);
    for (const NodeId id : ordered) REQUIRE(hrw_a.AddNode(id, 1.0 + id % 3).ok());
    for (const NodeId id : shuffled) REQUIRE(hrw_b.AddNode(id, 1.0 + id % 3).ok());
    CheckSamePlacement(hrw_a, hrw_b);

    absl::StatusOr<Maglev> maglev_a = Maglev::Create(4099, seed);
    absl::StatusOr<Maglev> maglev_b = Maglev::Create(4099, seed);
    REQUIRE(maglev_a.ok());
    REQUIRE(maglev_b.ok());
    for (const NodeId id : ordered) REQUIRE(maglev_a->AddNode(id).ok());
    for (const NodeId id : shuffled) REQUIRE(maglev_b->AddNode(id).ok());
    CheckSamePlacement(*maglev_a, *maglev_b);
  }
}

TEST_CASE("A node removed and added again takes back exactly the keys it had") {
  const uint64_t seed = keel::testing::TestSeed(62);
  CAPTURE(seed);
  base::Random rng(seed);
  const auto [ordered, shuffled] = TwoOrders(rng, 12);
  HashRing ring(seed), reference(seed);
  for (const NodeId id : ordered) {
    REQUIRE(ring.AddNode({.id = id}).ok());
    REQUIRE(reference.AddNode({.id = id}).ok());
  }
  // Churn: remove some nodes in a random order, then add them back in another.
  std::vector<NodeId> removed(shuffled.begin(), shuffled.begin() + 5);
  for (const NodeId id : removed) REQUIRE(ring.RemoveNode(id).ok());
  for (size_t i = removed.size(); i > 1; --i) std::swap(removed[i - 1], removed[rng.Uniform(i)]);
  for (const NodeId id : removed) REQUIRE(ring.AddNode({.id = id}).ok());
  CheckSamePlacement(ring, reference);
}

}  // namespace
}  // namespace keel::shard
