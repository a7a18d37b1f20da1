// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/market/internal/used_ids.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::market::internal {
namespace {

using Runs = std::vector<std::pair<uint64_t, uint64_t>>;

Runs RunsOf(const UsedIds& ids) {
  Runs runs;
  ids.ForEachRun([&](uint64_t first, uint64_t last) { runs.emplace_back(first, last); });
  return runs;
}

// The maximal runs of a std::set, by brute force.
Runs RunsOf(const std::set<uint64_t>& ids) {
  Runs runs;
  for (const uint64_t id : ids) {
    if (!runs.empty() && runs.back().second + 1 == id && runs.back().second != UINT64_MAX) {
      runs.back().second = id;
    } else {
      runs.emplace_back(id, id);
    }
  }
  return runs;
}

// Ids as engines see them, in several shapes: one counter with holes (rejected orders), several
// sessions counting up side by side, late ids (older than the window), random ones, huge jumps
// and the very top of the range.
class IdStream {
 public:
  IdStream(base::Random& rng, int shape) : rng_(rng), shape_(shape) {
    for (uint64_t& c : counters_) c = 1 + rng_.Uniform(1 << 20);
  }

  uint64_t Next() {
    switch (shape_) {
      case 0:  // one counter, 5% of ids skipped, now and then a repeat
        if (rng_.Uniform(20) == 0) ++counters_[0];
        if (rng_.Uniform(30) == 0) return counters_[0] - rng_.Uniform(3);
        return counters_[0]++;
      case 1:  // eight sessions side by side, each counting up in its own block
        return (rng_.Uniform(8) << 32) + counters_[rng_.Uniform(8)]++;
      case 2:  // a counter with late ids from far behind the window
        if (rng_.Uniform(10) == 0) return rng_.Uniform(counters_[0] + 1);
        return counters_[0]++;
      case 3:  // random ids in a small range: many collisions, many runs
        return rng_.Uniform(20'000);
      case 4:  // jumps over the window, and the top of the id range
        if (rng_.Uniform(50) == 0) counters_[0] += rng_.Uniform(uint64_t{1} << 40);
        if (rng_.Uniform(100) == 0) return UINT64_MAX - rng_.Uniform(200);
        return counters_[0]++;
      default:  // random 64-bit ids
        return rng_.Next();
    }
  }

 private:
  base::Random& rng_;
  int shape_;
  uint64_t counters_[8] = {};
};

TEST_CASE("UsedIds agrees with a std::set on every insert and lookup") {
  const uint64_t seed = keel::testing::TestSeed(601);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int shape = 0; shape < 6; ++shape) {
    CAPTURE(shape);
    IdStream stream(rng, shape);
    UsedIds ids;
    std::set<uint64_t> oracle;
    for (int i = 0; i < 20'000; ++i) {
      const uint64_t id = stream.Next();
      CAPTURE(id);
      REQUIRE(ids.Insert(id) == oracle.insert(id).second);
      // Probes near the id (both sides of the window's edges) and anywhere.
      for (const uint64_t probe : {id - 1, id + 1, id - UsedIds::kWindowIds, stream.Next()}) {
        REQUIRE(ids.Contains(probe) == oracle.contains(probe));
      }
      if (i % 1000 == 0) REQUIRE(RunsOf(ids) == RunsOf(oracle));
    }
    CHECK(ids.size() == oracle.size());
    const Runs runs = RunsOf(oracle);
    CHECK(RunsOf(ids) == runs);
    CHECK(ids.stored_runs() <= runs.size());
    // Rebuilt from its runs, it is the same set.
    UsedIds rebuilt;
    for (const auto& [first, last] : runs) rebuilt.AppendRun(first, last);
    CHECK(rebuilt.size() == ids.size());
    CHECK(RunsOf(rebuilt) == runs);
    for (int i = 0; i < 2000; ++i) {
      const uint64_t probe = stream.Next();
      REQUIRE(rebuilt.Contains(probe) == oracle.contains(probe));
      const bool fresh = oracle.insert(probe).second;
      REQUIRE(rebuilt.Insert(probe) == fresh);
      REQUIRE(ids.Insert(probe) == fresh);
    }
  }
}

TEST_CASE("UsedIds stores consecutive ids as one run however many there are") {
  UsedIds ids;
  for (uint64_t id = 1; id <= 1'000'000; ++id) REQUIRE(ids.Insert(id));
  CHECK(ids.size() == 1'000'000);
  CHECK(ids.stored_runs() == 1);
  CHECK(RunsOf(ids) == Runs{{1, 1'000'000}});
  CHECK(!ids.Insert(500'000));
  CHECK(ids.Contains(1'000'000));
  CHECK(!ids.Contains(1'000'001));
  CHECK(!ids.Contains(0));
}

TEST_CASE("UsedIds fills a gap below the window by joining the runs on both sides") {
  UsedIds ids;
  for (uint64_t id = 1; id <= 3 * UsedIds::kWindowIds; ++id) {
    if (id != 10 && id != 12) REQUIRE(ids.Insert(id));
  }
  CHECK(ids.stored_runs() == 3);  // 1..9, 11, 13..
  CHECK(ids.Insert(12));
  CHECK(ids.stored_runs() == 2);
  CHECK(ids.Insert(10));
  CHECK(ids.stored_runs() == 1);
  CHECK(RunsOf(ids) == Runs{{1, 3 * UsedIds::kWindowIds}});
  CHECK(!ids.Insert(10));
}

TEST_CASE("UsedIds holds the largest and the smallest ids") {
  UsedIds ids;
  CHECK(ids.Insert(UINT64_MAX));
  CHECK(ids.Insert(0));
  CHECK(ids.Insert(UINT64_MAX - 1));
  CHECK(!ids.Insert(UINT64_MAX));
  CHECK(!ids.Insert(0));
  CHECK(RunsOf(ids) == Runs{{0, 0}, {UINT64_MAX - 1, UINT64_MAX}});
  UsedIds rebuilt;
  rebuilt.AppendRun(0, 0);
  rebuilt.AppendRun(UINT64_MAX - 1, UINT64_MAX);
  CHECK(rebuilt.Contains(UINT64_MAX));
  CHECK(!rebuilt.Contains(1));
  CHECK(rebuilt.size() == 3);
}

}  // namespace
}  // namespace keel::market::internal
