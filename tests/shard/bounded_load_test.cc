// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/shard/bounded_load.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "distribution.h"
#include "keel/base/random.h"
#include "shard_testing.h"
#include "testing/testing.h"

namespace keel::shard {
namespace {

// The test's own record of where every key is, kept only from what the ring reports (the node
// AddKey returns and the moves every mutation returns), and the oracle's answers computed from it
// by brute force.
struct Model {
  BoundedLoadOptions options;
  std::map<NodeId, size_t> loads;       // every node, with its key count
  std::map<std::string, NodeId> where;  // every key

  size_t Capacity() const {
    if (where.empty() || loads.empty()) return 0;
    return static_cast<size_t>(std::ceil((1 + options.epsilon) * static_cast<double>(where.size()) /
                                         static_cast<double>(loads.size())));
  }

  // Where a new key goes: look at every point, clockwise from the key, and take the first whose
  // node is below the capacity the ring will have with the key added.
  NodeId Walk(uint64_t hash, size_t cap) const {
    std::vector<std::pair<uint64_t, NodeId>> points;
    for (const auto& [id, load] : loads) {
      for (uint32_t v = 0; v < options.vnodes; ++v) {
        points.emplace_back(HashRing::PointOf(id, v, options.seed) - hash, id);
      }
    }
    std::sort(points.begin(), points.end());
    for (const auto& [distance, id] : points) {
      if (loads.at(id) < cap) return id;
    }
    return UINT32_MAX;
  }

  void Apply(const std::vector<KeyMove>& moves) {
    for (const KeyMove& move : moves) {
      std::string key(move.key);
      REQUIRE(where.at(key) == move.from);
      REQUIRE(move.from != move.to);
      where[key] = move.to;
      if (loads.contains(move.from)) --loads[move.from];
      ++loads[move.to];
    }
  }

  void CheckAgainst(const BoundedLoadRing& ring) const {
    REQUIRE(ring.key_count() == where.size());
    REQUIRE(ring.node_count() == loads.size());
    REQUIRE(ring.capacity() == Capacity());
    for (const auto& [id, load] : loads) {
      CAPTURE(id);
      REQUIRE(ring.load(id) == load);
      REQUIRE(load <= Capacity());  // the bound itself
    }
    for (const auto& [key, node] : where) REQUIRE(*ring.Lookup(key) == node);
  }
};

TEST_CASE("Bounded loads agree with a brute-force model on random keys and nodes") {
  const uint64_t seed = keel::testing::TestSeed(1251);
  CAPTURE(seed);
  base::Random rng(seed);
  for (const double epsilon : {0.05, 0.25, 1.0}) {
    CAPTURE(epsilon);
    const BoundedLoadOptions options{.epsilon = epsilon, .vnodes = 8, .seed = seed};
    BoundedLoadRing ring = *BoundedLoadRing::Create(options);
    Model model{.options = options, .loads = {}, .where = {}};
    std::vector<std::string> keys;
    for (int step = 0; step < 1500; ++step) {
      CAPTURE(step);
      const uint64_t op = rng.Uniform(20);
      if (op == 0 || (model.loads.size() < 2 && op < 4)) {
        // One node, or a few at once (now and then one listed twice: refused, nothing changes).
        std::vector<NodeId> ids(1 + rng.Uniform(3));
        for (NodeId& id : ids) id = static_cast<NodeId>(rng.Uniform(12));
        bool fresh = true;
        for (size_t i = 0; i < ids.size(); ++i) {
          fresh = fresh && !model.loads.contains(ids[i]) &&
                  std::find(ids.begin(), ids.begin() + static_cast<long>(i), ids[i]) ==
                      ids.begin() + static_cast<long>(i);
        }
        const absl::StatusOr<std::vector<KeyMove>> moves = ring.AddNodes(ids);
        REQUIRE(moves.ok() == fresh);
        if (!moves.ok()) continue;
        for (const NodeId id : ids) model.loads.emplace(id, 0);
        model.Apply(*moves);
      } else if (op == 1 && !model.loads.empty()) {
        const NodeId id =
            std::next(model.loads.begin(), static_cast<long>(rng.Uniform(model.loads.size())))
                ->first;
        const size_t had = model.loads.at(id);
        const absl::StatusOr<std::vector<KeyMove>> moves = ring.RemoveNode(id);
        REQUIRE(moves.ok() == (model.loads.size() > 1 || model.where.empty()));
        if (!moves.ok()) continue;
        // Exactly its keys move, and nothing else: the capacity only grows.
        REQUIRE(moves->size() == had);
        for (const KeyMove& move : *moves) REQUIRE(move.from == id);
        model.loads.erase(id);
        model.Apply(*moves);
      } else if (op < 14) {
        const std::string key = base::Cat("k", rng.Uniform(400));
        const absl::StatusOr<NodeId> node = ring.AddKey(key);
        REQUIRE(node.ok() == (!model.where.contains(key) && !model.loads.empty()));
        if (!node.ok()) continue;
        model.where[key] = UINT32_MAX;
        REQUIRE(*node == model.Walk(base::Hash64(key), model.Capacity()));
        model.where[key] = *node;
        ++model.loads[*node];
      } else {
        const std::string key = base::Cat("k", rng.Uniform(400));
        const size_t old_cap = model.Capacity();
        const absl::StatusOr<std::vector<KeyMove>> moves = ring.RemoveKey(key);
        REQUIRE(moves.ok() == model.where.contains(key));
        if (!moves.ok()) continue;
        --model.loads[model.where.at(key)];
        model.where.erase(key);
        // Others move only when the capacity dropped, and then at most one per node over it.
        if (model.Capacity() == old_cap) REQUIRE(moves->empty());
        REQUIRE(moves->size() <= model.loads.size());
        model.Apply(*moves);
      }
      model.CheckAgainst(ring);
    }
  }
}

TEST_CASE("No node holds more than the capacity and movement stays near the ideal") {
  const uint64_t seed = keel::testing::TestSeed(1252);
  CAPTURE(seed);
  const size_t m = testing::BalanceKeys() / 8;
  std::vector<std::string> keys;
  for (size_t i = 0; i < m; ++i) keys.push_back(base::Cat("key:", i));
  for (const size_t n : {10, 100, 1000}) {
    CAPTURE(n);
    BoundedLoadRing ring =
        *BoundedLoadRing::Create({.epsilon = 0.25, .vnodes = kDefaultVnodes, .seed = seed});
    std::vector<NodeId> ids(n);
    std::iota(ids.begin(), ids.end(), NodeId{0});
    REQUIRE(ring.AddNodes(ids).ok());
    std::vector<NodeId> owners;
    for (const std::string& key : keys) owners.push_back(*ring.AddKey(key));
    const size_t cap = ring.capacity();
    CHECK(cap ==
          static_cast<size_t>(std::ceil(1.25 * static_cast<double>(m) / static_cast<double>(n))));
    size_t peak = 0;
    for (NodeId id = 0; id < n; ++id) peak = std::max(peak, ring.load(id));
    CHECK(peak <= cap);
    const testing::Balance balance = testing::BalanceOf(owners, n);
    const absl::StatusOr<std::vector<KeyMove>> added = ring.AddNode(static_cast<NodeId>(n));
    REQUIRE(added.ok());
    const absl::StatusOr<std::vector<KeyMove>> removed =
        ring.RemoveNode(static_cast<NodeId>(n / 2));
    REQUIRE(removed.ok());
    const double ideal_added = 1 / static_cast<double>(n + 1);  // n + 1 nodes after the add
    const double ideal_removed = ideal_added;                   // and before the removal
    const double moved_added = static_cast<double>(added->size()) / static_cast<double>(m);
    const double moved_removed = static_cast<double>(removed->size()) / static_cast<double>(m);
    testing::Report("bounded loads, e = 0.25", n, m,
                    {.balance = balance,
                     .added = {.moved = moved_added, .ideal = ideal_added},
                     .removed = {.moved = moved_removed, .ideal = ideal_removed}});
    CHECK(balance.peak <= 1.25 + static_cast<double>(n) / static_cast<double>(m));
    // Measured about 1.1x the ideal either way: the capacity's ripples move a few more keys than
    // a plain ring, where exactly the node's share moves.
    CHECK(moved_added <= 2 * ideal_added);
    CHECK(moved_removed <= 2 * ideal_removed);
  }
}

TEST_CASE("Bad bounded-load requests are refused with the bad value named") {
  for (const double epsilon : {0.0, -0.5, std::numeric_limits<double>::quiet_NaN(),
                               std::numeric_limits<double>::infinity(), 2e6}) {
    CAPTURE(epsilon);
    testing::CheckRefused(BoundedLoadRing::Create({.epsilon = epsilon}).status(),
                          absl::StatusCode::kInvalidArgument, base::Cat("epsilon is ", epsilon));
  }
  testing::CheckRefused(BoundedLoadRing::Create({.vnodes = 0}).status(),
                        absl::StatusCode::kInvalidArgument, "vnodes is 0");
  BoundedLoadRing ring = *BoundedLoadRing::Create({});
  testing::CheckRefused(ring.AddKey("a").status(), absl::StatusCode::kFailedPrecondition,
                        "\"a\": the ring has no nodes");
  testing::CheckRefused(ring.Lookup("a").status(), absl::StatusCode::kNotFound, "\"a\"");
  testing::CheckRefused(ring.RemoveKey("a").status(), absl::StatusCode::kNotFound, "\"a\"");
  testing::CheckRefused(ring.RemoveNode(1).status(), absl::StatusCode::kNotFound, "node 1");
  REQUIRE(ring.AddNode(1).ok());
  testing::CheckRefused(ring.AddNode(1).status(), absl::StatusCode::kAlreadyExists, "node 1");
  const std::vector<NodeId> twice = {2, 2};
  testing::CheckRefused(ring.AddNodes(twice).status(), absl::StatusCode::kAlreadyExists,
                        "node 2 is listed twice");
  CHECK(ring.node_count() == 1);
  REQUIRE(ring.AddKey("a").ok());
  testing::CheckRefused(ring.AddKey("a").status(), absl::StatusCode::kAlreadyExists, "\"a\"");
  testing::CheckRefused(ring.RemoveNode(1).status(), absl::StatusCode::kFailedPrecondition,
                        "node 1 is the last node and holds 1 keys");
  REQUIRE(ring.RemoveKey("a").ok());
  REQUIRE(ring.RemoveNode(1).ok());
  CHECK(ring.capacity() == 0);
}

}  // namespace
}  // namespace keel::shard
