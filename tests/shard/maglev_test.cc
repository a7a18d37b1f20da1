// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/shard/maglev.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <vector>

#include "distribution.h"
#include "keel/base/random.h"
#include "shard_testing.h"
#include "testing/testing.h"

namespace keel::shard {
namespace {

testing::Assign MaglevAssign(uint32_t table_size, uint64_t seed) {
  return [table_size, seed](std::span<const NodeId> ids, std::span<const uint64_t> keys) {
    absl::StatusOr<Maglev> table = Maglev::Create(table_size, seed);
    KEEL_ASSERT(table.ok() && table->SetNodes(ids).ok());
    std::vector<NodeId> owners;
    owners.reserve(keys.size());
    for (const uint64_t key : keys) owners.push_back(*table->LookupHash(key));
    return owners;
  };
}

// The table's properties that do not depend on how it was filled: every entry names a node of
// the table, and the nodes' entry counts differ by at most one.
void CheckFilledAndEven(const Maglev& table) {
  const std::span<const NodeId> nodes = table.nodes();
  REQUIRE(table.entries().size() == (nodes.empty() ? 0 : table.table_size()));
  std::map<NodeId, size_t> counts;
  for (const NodeId node : table.entries()) {
    REQUIRE(std::binary_search(nodes.begin(), nodes.end(), node));
    ++counts[node];
  }
  if (nodes.empty()) return;
  REQUIRE(counts.size() == nodes.size());
  const size_t floor = table.table_size() / nodes.size();
  for (const auto& [node, count] : counts) {
    CAPTURE(node);
    REQUIRE((count == floor || count == floor + 1));
  }
}

// The fraction of entries that name another node after a change.
double ChangedEntries(const Maglev& before, const Maglev& after) {
  size_t changed = 0;
  for (size_t i = 0; i < before.table_size(); ++i) {
    changed += before.entries()[i] != after.entries()[i];
  }
  return static_cast<double>(changed) / before.table_size();
}

TEST_CASE("Every Maglev entry is filled and every node holds its share to within one entry") {
  const uint64_t seed = keel::testing::TestSeed(1241);
  CAPTURE(seed);
  base::Random rng(seed);
  for (const uint32_t size : {2u, 3u, 251u, 65537u}) {
    CAPTURE(size);
    absl::StatusOr<Maglev> table = Maglev::Create(size, seed);
    REQUIRE(table.ok());
    CheckFilledAndEven(*table);
    // Node counts up to the table size, ids from all of uint32 (the largest included).
    for (int round = 0; round < 8; ++round) {
      const size_t n = 1 + rng.Uniform(std::min<uint64_t>(size, 2000));
      std::vector<NodeId> ids;
      while (ids.size() < n) {
        const auto id =
            static_cast<NodeId>(rng.Uniform(4) == 0 ? UINT32_MAX - rng.Uniform(3) : rng.Next());
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
      }
      CAPTURE(n);
      REQUIRE(table->SetNodes(ids).ok());
      CheckFilledAndEven(*table);
      for (int k = 0; k < 100; ++k) {
        const uint64_t key = rng.Next();
        const uint32_t entry = table->EntryOf(key);
        REQUIRE(entry < size);
        REQUIRE(*table->LookupHash(key) == table->entries()[entry]);
      }
    }
  }
}

TEST_CASE("Adding and removing Maglev nodes one at a time equals setting them at once") {
  const uint64_t seed = keel::testing::TestSeed(1242);
  CAPTURE(seed);
  base::Random rng(seed);
  Maglev one_by_one = *Maglev::Create(1009, seed);
  std::vector<NodeId> ids;
  for (int step = 0; step < 200; ++step) {
    const auto id = static_cast<NodeId>(rng.Uniform(50));
    const bool there = std::find(ids.begin(), ids.end(), id) != ids.end();
    if (rng.Uniform(2) == 0) {
      REQUIRE(one_by_one.AddNode(id).ok() == !there);
      if (!there) ids.push_back(id);
    } else {
      REQUIRE(one_by_one.RemoveNode(id).ok() == there);
      std::erase(ids, id);
    }
    Maglev at_once = *Maglev::Create(1009, seed);
    rng.Shuffle(ids);  // the order given never matters
    REQUIRE(at_once.SetNodes(ids).ok());
    REQUIRE(std::equal(one_by_one.entries().begin(), one_by_one.entries().end(),
                       at_once.entries().begin(), at_once.entries().end()));
  }
}

TEST_CASE("Maglev disruption is bounded and shrinks as the table grows") {
  // Maglev is not minimal (section 3.4): when a node goes, the nodes that stay take their turns
  // in a different order and claim some different entries. The paper shows the churn falls as M
  // grows; measured here it also grows with n at a fixed M / n (at M = 100 n: about 1.02x the
  // ideal at n = 10, 1.6x at 100, 7x at 1000; at M = 1000 n and n = 1000, 3x). The bounds are
  // those figures with a margin: far below modulo hashing's n times the ideal, and they fail for
  // a table that depends on the order nodes were given in, or that is rebuilt from a new seed.
  const uint64_t seed = keel::testing::TestSeed(1243);
  CAPTURE(seed);
  struct Case {
    size_t n;
    uint32_t table_size;
    double max_ratio;  // changed entries over the ideal 1/n
  };
  for (const Case& c :
       {Case{10, 65537, 1.1}, Case{100, 65537, 2}, Case{1000, 100003, 9}, Case{1000, 1000003, 4}}) {
    CAPTURE(c.n);
    CAPTURE(c.table_size);
    std::vector<NodeId> ids(c.n);
    std::iota(ids.begin(), ids.end(), NodeId{0});
    Maglev before = *Maglev::Create(c.table_size, seed);
    REQUIRE(before.SetNodes(ids).ok());
    Maglev shrunk = before;
    REQUIRE(shrunk.RemoveNode(ids[c.n / 2]).ok());
    Maglev grown = before;
    REQUIRE(grown.AddNode(static_cast<NodeId>(c.n)).ok());
    const double removed = ChangedEntries(before, shrunk) * static_cast<double>(c.n);
    const double added = ChangedEntries(before, grown) * static_cast<double>(c.n + 1);
    CHECK(removed >= 0.98);  // at least the removed node's own entries
    CHECK(removed <= c.max_ratio);
    CHECK(added <= c.max_ratio);
    // Every entry of the removed node changed; every entry of the added node is new.
    for (size_t i = 0; i < c.table_size; ++i) {
      if (before.entries()[i] == ids[c.n / 2]) REQUIRE(shrunk.entries()[i] != ids[c.n / 2]);
    }
  }
}

TEST_CASE("Maglev balances keys as uniform choice does and moves a bounded multiple of the ideal") {
  const uint64_t seed = keel::testing::TestSeed(1244);
  CAPTURE(seed);
  const std::vector<uint64_t> keys = testing::KeyHashes(testing::BalanceKeys());
  for (const size_t n : {10, 100, 1000}) {
    CAPTURE(n);
    const uint32_t table_size = *Maglev::TableSizeFor(n + 1);
    CAPTURE(table_size);
    const testing::Measurement m =
        testing::Measure(MaglevAssign(table_size, seed), n, keys, static_cast<NodeId>(n / 2));
    testing::Report(base::Cat("Maglev, M = ", table_size), n, keys.size(), m);
    // The table is near perfectly even; what remains is the keys' own sampling noise.
    testing::CheckLikeUniformChoice(m.balance, n, keys.size());
    // Not minimal: some keys move between nodes that stay (see the disruption test).
    const double factor = n == 10 ? 1.1 : n == 100 ? 2 : 9;
    CHECK(m.added.Within(factor));
    CHECK(m.removed.Within(factor));
  }
}

TEST_CASE("Bad Maglev tables and requests are refused with the bad value named") {
  for (const uint32_t size : {0u, 1u, 4u, 65536u, 65535u, kMaglevMaxTableSize + 1}) {
    CAPTURE(size);
    testing::CheckRefused(Maglev::Create(size).status(), absl::StatusCode::kInvalidArgument,
                          base::Cat("table size ", size, " is not a prime"));
  }
  CHECK(!Maglev::Create(33554467).ok());  // prime, but past the limit
  CHECK(Maglev::Create(2).ok());
  CHECK(*Maglev::TableSizeFor(1) == 65537);
  CHECK(*Maglev::TableSizeFor(1000) == 100003);
  testing::CheckRefused(Maglev::TableSizeFor(1'000'000).status(),
                        absl::StatusCode::kInvalidArgument, "1000000 nodes");

  Maglev table = *Maglev::Create(5);
  testing::CheckRefused(table.Lookup("k").status(), absl::StatusCode::kFailedPrecondition,
                        "no nodes");
  const std::vector<NodeId> six = {1, 2, 3, 4, 5, 6};
  testing::CheckRefused(table.SetNodes(six), absl::StatusCode::kInvalidArgument,
                        "6 nodes do not fit a Maglev table of 5 entries");
  const std::vector<NodeId> twice = {1, 2, 1};
  testing::CheckRefused(table.SetNodes(twice), absl::StatusCode::kInvalidArgument,
                        "node 1 is listed twice");
  CHECK(table.entries().empty());  // unchanged by the refused calls
  REQUIRE(table.SetNodes(std::span<const NodeId>(six).first(5)).ok());
  testing::CheckRefused(table.AddNode(6), absl::StatusCode::kInvalidArgument, "node 6");
  testing::CheckRefused(table.AddNode(5), absl::StatusCode::kAlreadyExists, "node 5");
  testing::CheckRefused(table.RemoveNode(9), absl::StatusCode::kNotFound, "node 9");
  REQUIRE(table.SetNodes({}).ok());
  CHECK(!table.Lookup("k").ok());
}

}  // namespace
}  // namespace keel::shard
