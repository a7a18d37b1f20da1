// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/shard/rendezvous.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>
#include <vector>

#include "distribution.h"
#include "keel/base/random.h"
#include "shard_testing.h"
#include "testing/testing.h"

namespace keel::shard {
namespace {

// The oracle: every node's score computed from the definition in the header, and the nodes
// sorted by it.
std::vector<NodeId> OracleRanking(const std::map<NodeId, double>& weights, uint64_t key_hash,
                                  uint64_t seed) {
  std::vector<std::tuple<double, uint64_t, NodeId>> scored;
  for (const auto& [id, weight] : weights) {
    const uint64_t pair = base::HashInt(key_hash, base::HashInt(id, seed));
    const double u = (static_cast<double>(pair >> 11) + 0.5) / 9007199254740992.0;  // 2^53
    scored.emplace_back(-weight / std::log(u), pair, id);
  }
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
    if (std::get<0>(a) != std::get<0>(b)) return std::get<0>(a) > std::get<0>(b);
    if (std::get<1>(a) != std::get<1>(b)) return std::get<1>(a) > std::get<1>(b);
    return std::get<2>(a) < std::get<2>(b);
  });
  std::vector<NodeId> ranking;
  for (const auto& s : scored) ranking.push_back(std::get<2>(s));
  return ranking;
}

testing::Assign RendezvousAssign(uint64_t seed) {
  return [seed](std::span<const NodeId> ids, std::span<const uint64_t> keys) {
    Rendezvous nodes(seed);
    for (const NodeId id : ids) KEEL_ASSERT(nodes.AddNode(id).ok());
    std::vector<NodeId> owners;
    owners.reserve(keys.size());
    for (const uint64_t key : keys) owners.push_back(*nodes.LookupHash(key));
    return owners;
  };
}

TEST_CASE("Rendezvous ranks nodes as scoring every node by the definition does") {
  const uint64_t seed = keel::testing::TestSeed(1231);
  CAPTURE(seed);
  base::Random rng(seed);
  Rendezvous nodes(seed);
  std::map<NodeId, double> oracle;
  std::vector<NodeId> top;
  for (int step = 0; step < 4000; ++step) {
    CAPTURE(step);
    const auto id = static_cast<NodeId>(rng.Uniform(40));
    switch (rng.Uniform(6)) {
      case 0: {
        // Half the runs keep every weight 1, the path that compares hashes without logarithms.
        const double weight =
            seed % 2 == 0 && rng.Uniform(2) == 0 ? 1.0 : rng.UniformDouble(0.1, 10);
        REQUIRE(nodes.AddNode(id, weight).ok() == !oracle.contains(id));
        oracle.emplace(id, weight);
        break;
      }
      case 1:
        REQUIRE(nodes.RemoveNode(id).ok() == (oracle.erase(id) == 1));
        break;
      default: {
        const uint64_t key = rng.Next();
        const absl::StatusOr<NodeId> owner = nodes.LookupHash(key);
        REQUIRE(owner.ok() == !oracle.empty());
        if (!owner.ok()) break;
        const std::vector<NodeId> ranking = OracleRanking(oracle, key, seed);
        REQUIRE(*owner == ranking[0]);
        const size_t count = 1 + rng.Uniform(oracle.size());
        REQUIRE(nodes.TopOfHash(key, count, top).ok());
        REQUIRE(top == std::vector<NodeId>(ranking.begin(),
                                           ranking.begin() + static_cast<ptrdiff_t>(count)));
      }
    }
    REQUIRE(nodes.node_count() == oracle.size());
  }
}

TEST_CASE("Rendezvous gives each node keys in proportion to its weight") {
  Rendezvous nodes;
  const std::vector<double> weights = {1, 2, 3, 4, 0.5};
  for (NodeId id = 0; id < weights.size(); ++id) REQUIRE(nodes.AddNode(id, weights[id]).ok());
  const std::vector<uint64_t> keys = testing::KeyHashes(testing::BalanceKeys() / 4);
  std::vector<double> load(weights.size());
  for (const uint64_t key : keys) ++load[*nodes.LookupHash(key)];
  const double total = 10.5;
  for (size_t i = 0; i < weights.size(); ++i) {
    CAPTURE(i);
    CHECK(load[i] / static_cast<double>(keys.size()) ==
          doctest::Approx(weights[i] / total).epsilon(0.03));
  }
}

TEST_CASE("Changing one node's weight moves keys only to or from that node") {
  const std::vector<uint64_t> keys = testing::KeyHashes(testing::BalanceKeys() / 16);
  Rendezvous before;
  Rendezvous after;
  for (NodeId id = 0; id < 20; ++id) {
    REQUIRE(before.AddNode(id, 1 + id % 3).ok());
    REQUIRE(after.AddNode(id, id == 7 ? 4 : 1 + id % 3).ok());  // node 7: weight 2 -> 4
  }
  size_t moved = 0;
  for (const uint64_t key : keys) {
    const NodeId a = *before.LookupHash(key);
    const NodeId b = *after.LookupHash(key);
    if (a == b) continue;
    ++moved;
    REQUIRE(b == 7);  // heavier: it only gains
  }
  // Its share goes from 2/39 to 4/41: it gains about 4.6% of the keys.
  CHECK(static_cast<double>(moved) / static_cast<double>(keys.size()) ==
        doctest::Approx(4.0 / 41 - 2.0 / 39).epsilon(0.1));
}

TEST_CASE("The top nodes of a key are its replicas: removing one promotes the next") {
  Rendezvous nodes;
  for (NodeId id = 0; id < 10; ++id) REQUIRE(nodes.AddNode(id).ok());
  std::vector<NodeId> top;
  std::vector<NodeId> after;
  REQUIRE(nodes.Top("bucket/photo.jpg", 3, top).ok());
  REQUIRE(nodes.RemoveNode(top[1]).ok());
  REQUIRE(nodes.Top("bucket/photo.jpg", 2, after).ok());
  CHECK(after == std::vector<NodeId>{top[0], top[2]});
  REQUIRE(nodes.Top("bucket/photo.jpg", 9, after).ok());  // more than fit on the stack path too
  CHECK(after.size() == 9);
}

TEST_CASE("Rendezvous balances keys as uniform choice does and moves only the ideal share") {
  const uint64_t seed = keel::testing::TestSeed(1232);
  CAPTURE(seed);
  for (const size_t n : {10, 100, 1000}) {
    CAPTURE(n);
    // A lookup scores every node: fewer keys for more nodes, to keep the run short (the noise
    // allowance in the bounds grows to match).
    const std::vector<uint64_t> keys =
        testing::KeyHashes(std::min(testing::BalanceKeys(), testing::BalanceKeys() * 8 / n));
    const testing::Measurement m =
        testing::Measure(RendezvousAssign(seed), n, keys, static_cast<NodeId>(n / 2));
    testing::Report("rendezvous", n, keys.size(), m);
    testing::CheckLikeUniformChoice(m.balance, n, keys.size());
    testing::CheckOnlyNeededMoves(m, 1.1);
  }
}

TEST_CASE("Bad rendezvous requests are refused with the bad value named") {
  Rendezvous nodes;
  std::vector<NodeId> out = {1};
  testing::CheckRefused(nodes.Lookup("k").status(), absl::StatusCode::kFailedPrecondition,
                        "no nodes");
  testing::CheckRefused(nodes.Top("k", 1, out), absl::StatusCode::kFailedPrecondition, "no nodes");
  CHECK(out.empty());
  for (const double weight : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN(),
                              std::numeric_limits<double>::infinity(), 2e6, 1e-7}) {
    CAPTURE(weight);
    testing::CheckRefused(nodes.AddNode(4, weight), absl::StatusCode::kInvalidArgument,
                          base::Cat("node 4 has weight ", weight));
  }
  REQUIRE(nodes.AddNode(4).ok());
  testing::CheckRefused(nodes.AddNode(4, 2), absl::StatusCode::kAlreadyExists, "node 4");
  testing::CheckRefused(nodes.RemoveNode(5), absl::StatusCode::kNotFound, "node 5");
  testing::CheckRefused(nodes.Top("k", 0, out), absl::StatusCode::kInvalidArgument, "top 0 of 1");
  testing::CheckRefused(nodes.Top("k", 2, out), absl::StatusCode::kInvalidArgument, "top 2 of 1");
  CHECK(*nodes.Lookup("k") == 4);
}

}  // namespace
}  // namespace keel::shard
