// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/shard/hash_ring.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <vector>

#include "distribution.h"
#include "keel/base/random.h"
#include "shard_testing.h"
#include "testing/testing.h"

namespace keel::shard {
namespace {

// The oracle: the nodes in a std::map, and every question answered by looking at every point.
struct OracleRing {
  uint64_t seed;
  std::map<NodeId, RingNode> nodes;

  // Every point, ordered clockwise from `hash` (distance, then owner id: the ring's tie rule).
  std::vector<std::pair<uint64_t, NodeId>> ClockwiseFrom(uint64_t hash) const {
    std::vector<std::pair<uint64_t, NodeId>> points;
    for (const auto& [id, node] : nodes) {
      for (uint32_t v = 0; v < node.vnodes; ++v) {
        points.emplace_back(HashRing::PointOf(id, v, seed) - hash, id);
      }
    }
    std::sort(points.begin(), points.end());
    return points;
  }

  NodeId Lookup(uint64_t hash) const {
    std::pair<uint64_t, NodeId> best{UINT64_MAX, UINT32_MAX};
    for (const auto& [id, node] : nodes) {
      for (uint32_t v = 0; v < node.vnodes; ++v) {
        best = std::min(best, {HashRing::PointOf(id, v, seed) - hash, id});
      }
    }
    return best.second;
  }

  std::vector<NodeId> Replicas(uint64_t hash, size_t count, bool distinct_zones) const {
    std::vector<NodeId> out;
    std::vector<ZoneId> zones;
    for (const auto& [distance, id] : ClockwiseFrom(hash)) {
      if (out.size() == count) break;
      if (std::find(out.begin(), out.end(), id) != out.end()) continue;
      const ZoneId zone = nodes.at(id).zone;
      if (distinct_zones && std::find(zones.begin(), zones.end(), zone) != zones.end()) continue;
      out.push_back(id);
      zones.push_back(zone);
    }
    return out;
  }

  size_t Zones() const {
    std::vector<ZoneId> zones;
    for (const auto& [id, node] : nodes) zones.push_back(node.zone);
    std::sort(zones.begin(), zones.end());
    return static_cast<size_t>(std::unique(zones.begin(), zones.end()) - zones.begin());
  }
};

testing::Assign RingAssign(uint32_t vnodes, uint64_t seed) {
  return [vnodes, seed](std::span<const NodeId> ids, std::span<const uint64_t> keys) {
    HashRing ring(seed);
    std::vector<RingNode> nodes;
    for (const NodeId id : ids) nodes.push_back({.id = id, .vnodes = vnodes});
    KEEL_ASSERT(ring.AddNodes(nodes).ok());
    std::vector<NodeId> owners;
    owners.reserve(keys.size());
    for (const uint64_t key : keys) owners.push_back(*ring.LookupHash(key));
    return owners;
  };
}

TEST_CASE("A ring lookup is the owner of the nearest point clockwise") {
  HashRing ring(/*seed=*/7);
  REQUIRE(ring.AddNode({.id = 1, .vnodes = 3}).ok());
  REQUIRE(ring.AddNode({.id = 2, .vnodes = 3}).ok());
  REQUIRE(ring.point_count() == 6);
  for (size_t i = 0; i < ring.point_count(); ++i) {
    const uint64_t at = ring.point(i);
    CHECK(*ring.LookupHash(at) == ring.point_owner(i));                // a point owns its position
    CHECK(*ring.LookupHash(at + 1) == ring.point_owner((i + 1) % 6));  // and not the next one
    if (i > 0) CHECK(ring.point(i - 1) < at);
  }
  // Past the last point, the ring wraps to the first.
  CHECK(*ring.LookupHash(ring.point(5) + 1) == ring.point_owner(0));
  CHECK(*ring.Lookup("user:42") == *ring.LookupHash(base::Hash64("user:42")));
}

TEST_CASE("A ring agrees with a linear scan of every point on random membership and lookups") {
  const uint64_t seed = keel::testing::TestSeed(1221);
  CAPTURE(seed);
  base::Random rng(seed);
  HashRing ring(seed);
  OracleRing oracle{.seed = seed, .nodes = {}};
  std::vector<NodeId> replicas;
  for (int step = 0; step < 3000; ++step) {
    CAPTURE(step);
    const auto id = static_cast<NodeId>(rng.Uniform(30));
    switch (rng.Uniform(8)) {
      case 0: {
        const RingNode node{.id = id,
                            .vnodes = static_cast<uint32_t>(1 + rng.Uniform(40)),
                            .zone = static_cast<ZoneId>(rng.Uniform(4))};
        REQUIRE(ring.AddNode(node).ok() == !oracle.nodes.contains(id));
        oracle.nodes.emplace(id, node);
        break;
      }
      case 1:
        REQUIRE(ring.RemoveNode(id).ok() == (oracle.nodes.erase(id) == 1));
        break;
      default: {
        // Random positions, and positions right on a point or just past it.
        uint64_t hash = rng.Next();
        if (ring.point_count() > 0 && rng.Uniform(3) == 0) {
          hash = ring.point(rng.Uniform(ring.point_count())) + rng.Uniform(2);
        }
        const absl::StatusOr<NodeId> owner = ring.LookupHash(hash);
        REQUIRE(owner.ok() == !oracle.nodes.empty());
        if (!owner.ok()) break;
        REQUIRE(*owner == oracle.Lookup(hash));
        const size_t count = 1 + rng.Uniform(oracle.nodes.size() + 1);
        const bool zones = rng.Uniform(2) == 0;
        const absl::Status status =
            ring.ReplicasOfHash(hash, count, {.distinct_zones = zones}, replicas);
        REQUIRE(status.ok() == (count <= (zones ? oracle.Zones() : oracle.nodes.size())));
        if (status.ok()) REQUIRE(replicas == oracle.Replicas(hash, count, zones));
      }
    }
    REQUIRE(ring.node_count() == oracle.nodes.size());
    REQUIRE(ring.zone_count() == oracle.Zones());
  }
}

TEST_CASE("Replicas in distinct zones put one copy in each zone") {
  HashRing ring;
  std::vector<RingNode> nodes;
  for (NodeId id = 0; id < 12; ++id) nodes.push_back({.id = id, .zone = id % 3});
  REQUIRE(ring.AddNodes(nodes).ok());
  std::vector<NodeId> replicas;
  for (int k = 0; k < 1000; ++k) {
    const std::string key = base::Cat("object:", k);
    REQUIRE(ring.Replicas(key, 3, {.distinct_zones = true}, replicas).ok());
    REQUIRE(replicas.size() == 3);
    CHECK(replicas[0] == *ring.Lookup(key));
    CHECK(((replicas[0] % 3) != (replicas[1] % 3) && (replicas[1] % 3) != (replicas[2] % 3) &&
           (replicas[0] % 3) != (replicas[2] % 3)));
    REQUIRE(ring.Replicas(key, 12, {}, replicas).ok());
    std::sort(replicas.begin(), replicas.end());
    CHECK(std::adjacent_find(replicas.begin(), replicas.end()) == replicas.end());
  }
}

TEST_CASE("A node's share of keys grows with its vnode count") {
  HashRing ring;
  REQUIRE(
      ring.AddNodes(
              {{{.id = 0, .vnodes = 500}, {.id = 1, .vnodes = 1000}, {.id = 2, .vnodes = 1500}}})
          .ok());
  const std::vector<uint64_t> keys = testing::KeyHashes(testing::BalanceKeys() / 4);
  std::vector<double> load(3);
  for (const uint64_t key : keys) ++load[*ring.LookupHash(key)];
  const double m = static_cast<double>(keys.size());
  CHECK(load[0] / m == doctest::Approx(1.0 / 6).epsilon(0.12));
  CHECK(load[1] / m == doctest::Approx(2.0 / 6).epsilon(0.12));
  CHECK(load[2] / m == doctest::Approx(3.0 / 6).epsilon(0.12));
}

TEST_CASE("A ring with enough vnodes balances keys and moves only the ideal share") {
  const uint64_t seed = keel::testing::TestSeed(1222);
  CAPTURE(seed);
  const std::vector<uint64_t> keys = testing::KeyHashes(testing::BalanceKeys());
  for (const uint32_t vnodes : {160u, 1000u}) {
    CAPTURE(vnodes);
    // A node's share is the sum of `vnodes` arcs: about 1/sqrt(vnodes) relative deviation.
    const double arcs = 1 / std::sqrt(static_cast<double>(vnodes));
    for (const size_t n : {10, 100, 1000}) {
      CAPTURE(n);
      const testing::Measurement m =
          testing::Measure(RingAssign(vnodes, seed), n, keys, static_cast<NodeId>(n / 2));
      testing::Report(base::Cat("ring, ", vnodes, " vnodes"), n, keys.size(), m);
      const double expected = std::hypot(arcs, testing::UniformStddev(n, keys.size()));
      CHECK(m.balance.stddev <= 1.3 * expected);
      CHECK(m.balance.peak <= 1 + 5 * expected);
      // The node added or removed holds its share, 1/n give or take four deviations of its arcs.
      testing::CheckOnlyNeededMoves(m, 1 + 4 * arcs);
    }
  }
}

TEST_CASE("The balance check fails a ring with one point per node") {
  const std::vector<uint64_t> keys = testing::KeyHashes(testing::BalanceKeys() / 4);
  const testing::Measurement m = testing::Measure(RingAssign(1, 1), 100, keys, 50);
  const double expected =
      std::hypot(1 / std::sqrt(160.0), testing::UniformStddev(100, keys.size()));
  CHECK(m.balance.stddev > 1.3 * expected);
  CHECK(m.balance.peak > 1 + 5 * expected);
}

TEST_CASE("Bad ring requests are refused with the bad value named") {
  HashRing ring;
  std::vector<NodeId> out = {99};
  testing::CheckRefused(ring.Lookup("k").status(), absl::StatusCode::kFailedPrecondition,
                        "no nodes");
  testing::CheckRefused(ring.Replicas("k", 1, {}, out), absl::StatusCode::kFailedPrecondition,
                        "no nodes");
  CHECK(out.empty());
  testing::CheckRefused(ring.AddNode({.id = 3, .vnodes = 0}), absl::StatusCode::kInvalidArgument,
                        "node 3 has 0 vnodes");
  testing::CheckRefused(ring.AddNode({.id = 3, .vnodes = kMaxVnodesPerNode + 1}),
                        absl::StatusCode::kInvalidArgument, "65537");
  REQUIRE(ring.AddNode({.id = 3, .zone = 1}).ok());
  testing::CheckRefused(ring.AddNode({.id = 3}), absl::StatusCode::kAlreadyExists, "node 3");
  testing::CheckRefused(ring.AddNodes({{{.id = 4}, {.id = 4}}}), absl::StatusCode::kAlreadyExists,
                        "node 4 is listed twice");
  CHECK(!ring.Contains(4));  // nothing of a refused batch is added
  testing::CheckRefused(ring.RemoveNode(5), absl::StatusCode::kNotFound, "node 5");
  testing::CheckRefused(ring.Replicas("k", 0, {}, out), absl::StatusCode::kInvalidArgument,
                        "asked for 0 replicas");
  testing::CheckRefused(ring.Replicas("k", 2, {}, out), absl::StatusCode::kInvalidArgument,
                        "asked for 2 replicas");
  REQUIRE(ring.AddNode({.id = 4, .zone = 1}).ok());
  CHECK(ring.Replicas("k", 2, {}, out).ok());
  testing::CheckRefused(ring.Replicas("k", 2, {.distinct_zones = true}, out),
                        absl::StatusCode::kInvalidArgument, "1 zones");
  // The point limit.
  std::vector<RingNode> many;
  for (NodeId id = 10; id < 10 + kMaxRingPoints / kMaxVnodesPerNode + 1; ++id) {
    many.push_back({.id = id, .vnodes = kMaxVnodesPerNode});
  }
  testing::CheckRefused(ring.AddNodes(many), absl::StatusCode::kInvalidArgument,
                        "limit of 16777216 points");
  CHECK(ring.node_count() == 2);
  REQUIRE(ring.RemoveNode(3).ok());
  REQUIRE(ring.RemoveNode(4).ok());
  CHECK(ring.point_count() == 0);
  CHECK(!ring.Lookup("k").ok());
}

}  // namespace
}  // namespace keel::shard
