// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/market/internal/price_ladder.h"
// The trie alone, behind the ladder's window, is checked the same way.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <vector>

#include "keel/base/random.h"
#include "keel/market/internal/price_trie.h"
#include "testing/testing.h"

namespace keel::market::internal {
namespace {

constexpr uint64_t kLimit = PriceLadder::kKeyLimit;

// The oracle: std::map's answers to the same questions.
std::optional<uint64_t> MapAbove(const std::map<uint64_t, uint32_t>& map, uint64_t key) {
  const auto it = map.upper_bound(key);
  if (it == map.end()) return std::nullopt;
  return it->first;
}

std::optional<uint64_t> MapBelow(const std::map<uint64_t, uint32_t>& map, uint64_t key) {
  const auto it = map.lower_bound(key);
  if (it == map.begin()) return std::nullopt;
  return std::prev(it)->first;
}

// Checks every query at `key` against the map.
template <typename Ladder>
void CheckAt(const Ladder& ladder, const std::map<uint64_t, uint32_t>& map, uint64_t key) {
  CAPTURE(key);
  const auto it = map.find(key);
  CHECK(ladder.Find(key) == (it == map.end() ? Ladder::kAbsent : it->second));
  CHECK(ladder.Above(key) == MapAbove(map, key));
  CHECK(ladder.Below(key) == MapBelow(map, key));
}

template <typename Ladder>
void CheckWhole(const Ladder& ladder, const std::map<uint64_t, uint32_t>& map) {
  REQUIRE(ladder.size() == map.size());
  REQUIRE(ladder.empty() == map.empty());
  if (map.empty()) return;
  CHECK(ladder.First() == map.begin()->first);
  CHECK(ladder.Last() == map.rbegin()->first);
}

// Keys next to the boundaries of the 6-bit digits, where a walk changes subtrees: 63/64,
// 4095/4096, ..., and the two ends of the key space.
std::vector<uint64_t> BoundaryKeys() {
  std::vector<uint64_t> keys = {0, 1, 2, kLimit - 2, kLimit - 1};
  for (int bits = PriceLadder::kDigitBits; bits < PriceLadder::kDigits * PriceLadder::kDigitBits;
       bits += PriceLadder::kDigitBits) {
    const uint64_t b = uint64_t{1} << bits;
    for (const uint64_t k : {b - 2, b - 1, b, b + 1}) keys.push_back(k);
    // The same boundary one digit up from the bottom, e.g. 2*4096-1 and 2*4096.
    for (const uint64_t k : {3 * b - 1, 3 * b}) {
      if (k < kLimit) keys.push_back(k);
    }
  }
  return keys;
}

TEST_CASE("PriceLadder starts empty and answers queries with nothing") {
  const PriceLadder ladder;
  const std::map<uint64_t, uint32_t> map;
  CheckWhole(ladder, map);
  for (const uint64_t key : BoundaryKeys()) CheckAt(ladder, map, key);
}

TEST_CASE("PriceLadder holds the smallest and largest keys") {
  PriceLadder ladder;
  std::map<uint64_t, uint32_t> map;
  for (const uint64_t key : {uint64_t{0}, kLimit - 1}) {
    ladder.Insert(key, static_cast<uint32_t>(key & 0xffff));
    map[key] = static_cast<uint32_t>(key & 0xffff);
    CheckWhole(ladder, map);
    for (const uint64_t probe : BoundaryKeys()) CheckAt(ladder, map, probe);
  }
  CHECK(ladder.Above(0) == kLimit - 1);
  CHECK(ladder.Below(kLimit - 1) == 0);
  CHECK(ladder.Above(kLimit - 1) == std::nullopt);
  CHECK(ladder.Below(0) == std::nullopt);
  ladder.Erase(0);
  map.erase(0);
  CheckWhole(ladder, map);
  ladder.Erase(kLimit - 1);
  map.erase(kLimit - 1);
  CheckWhole(ladder, map);
  for (const uint64_t probe : BoundaryKeys()) CheckAt(ladder, map, probe);
}

TEST_CASE("PriceLadder finds neighbours across every digit boundary") {
  const std::vector<uint64_t> keys = BoundaryKeys();
  // Each boundary key alone, then all of them, then every other one.
  for (const uint64_t key : keys) {
    PriceLadder ladder;
    std::map<uint64_t, uint32_t> map;
    ladder.Insert(key, 7);
    map[key] = 7;
    CheckWhole(ladder, map);
    for (const uint64_t probe : keys) CheckAt(ladder, map, probe);
  }
  PriceLadder ladder;
  std::map<uint64_t, uint32_t> map;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (map.contains(keys[i])) continue;
    ladder.Insert(keys[i], static_cast<uint32_t>(i));
    map[keys[i]] = static_cast<uint32_t>(i);
  }
  CheckWhole(ladder, map);
  for (const uint64_t probe : keys) CheckAt(ladder, map, probe);
  bool erase = false;
  for (const auto& [key, value] : std::map(map)) {
    if ((erase = !erase)) {
      ladder.Erase(key);
      map.erase(key);
    }
  }
  CheckWhole(ladder, map);
  for (const uint64_t probe : keys) CheckAt(ladder, map, probe);
}

// A random mix of inserts (Insert, or FindOrInsert of present and absent keys) and erases, with
// every query checked against std::map after each.
// `pick` draws the keys: its spread makes the set dense (a few hundred adjacent prices) or sparse
// (anywhere in the 48-bit key space).
template <typename Ladder, typename Pick>
void RandomRun(base::Random& rng, Pick pick, int steps) {
  Ladder ladder;
  std::map<uint64_t, uint32_t> map;
  for (int step = 0; step < steps; ++step) {
    CAPTURE(step);
    const uint64_t key = pick();
    // Insert twice as often as erase until the set is large, then evenly.
    const bool insert = rng.Uniform(map.size() < 200 ? 3 : 2) != 0;
    if (insert && map.contains(key)) {
      // FindOrInsert of a present key finds it and changes nothing.
      CHECK(ladder.FindOrInsert(key, 12345) == map[key]);
    } else if (insert) {
      const auto value = static_cast<uint32_t>(rng.Uniform(Ladder::kAbsent));
      if (rng.Uniform(2) == 0) {
        ladder.Insert(key, value);
      } else {
        CHECK(ladder.FindOrInsert(key, value) == value);
      }
      map[key] = value;
    } else if (!insert && !map.empty()) {
      // Erase a key that is present: the one at or above `key`, or the first.
      auto it = map.lower_bound(key);
      if (it == map.end()) it = map.begin();
      ladder.Erase(it->first);
      map.erase(it);
    }
    CheckWhole(ladder, map);
    CheckAt(ladder, map, key);
    CheckAt(ladder, map, pick());
    if (!map.empty()) {
      // Next to a present key, where Above and Below must step over it.
      const uint64_t present = map.begin()->first;
      CheckAt(ladder, map, present);
      if (present > 0) CheckAt(ladder, map, present - 1);
      if (present + 1 < kLimit) CheckAt(ladder, map, present + 1);
    }
  }
  // Emptying it returns every node to the pool; filling it again must give the same answers.
  while (!map.empty()) {
    ladder.Erase(map.begin()->first);
    map.erase(map.begin());
  }
  CheckWhole(ladder, map);
  for (int i = 0; i < 100; ++i) {
    const uint64_t key = pick();
    if (map.contains(key)) continue;
    ladder.Insert(key, 1);
    map[key] = 1;
  }
  CheckWhole(ladder, map);
  for (int i = 0; i < 100; ++i) CheckAt(ladder, map, pick());
}

template <typename Ladder>
void RandomRuns() {
  const uint64_t seed = keel::testing::TestSeed(501);
  CAPTURE(seed);
  base::Random rng(seed);
  SUBCASE("dense around a digit boundary") {
    RandomRun<Ladder>(
        rng, [&] { return 4096 - 150 + rng.Uniform(300); }, 20'000);
  }
  SUBCASE("dense at the bottom of the key space") {
    RandomRun<Ladder>(
        rng, [&] { return rng.Uniform(300); }, 20'000);
  }
  SUBCASE("dense at the top of the key space") {
    RandomRun<Ladder>(
        rng, [&] { return kLimit - 1 - rng.Uniform(300); }, 20'000);
  }
  SUBCASE("sparse over the whole key space") {
    RandomRun<Ladder>(
        rng, [&] { return rng.Uniform(kLimit); }, 20'000);
  }
  SUBCASE("clustered at a few random places and their boundaries") {
    const std::vector<uint64_t> boundaries = BoundaryKeys();
    RandomRun<Ladder>(
        rng,
        [&] {
          const uint64_t centre = boundaries[rng.Uniform(boundaries.size())];
          const uint64_t offset = rng.Uniform(9);
          if (centre < 4) return centre + offset;
          return std::min(centre + offset - 4, kLimit - 1);
        },
        20'000);
  }
  SUBCASE("a cluster drifting far, leaving keys behind, and now and then a stray") {
    // The ladder's window must follow it, moving its keys to the trie and back.
    uint64_t centre = 1'000'000;
    RandomRun<Ladder>(
        rng,
        [&] {
          centre += rng.Uniform(7);  // drifts up by about 3 a key: many windows over the run
          if (rng.Uniform(50) == 0) return rng.Uniform(kLimit);
          return centre - 300 + rng.Uniform(600);
        },
        30'000);
  }
  SUBCASE("two clusters far apart, used in turn") {
    RandomRun<Ladder>(
        rng,
        [&] {
          const uint64_t centre = (rng.Uniform(1000) < 500) ? 5'000 : 9'000'000;
          return centre + rng.Uniform(1500);
        },
        20'000);
  }
}

TEST_CASE("PriceLadder agrees with std::map on random dense and sparse key sets") {
  RandomRuns<PriceLadder>();
}

TEST_CASE("PriceTrie agrees with std::map on random dense and sparse key sets") {
  RandomRuns<PriceTrie>();
}

TEST_CASE("PriceLadder reuses the nodes of erased keys") {
  PriceLadder ladder;
  base::Random rng(7);
  std::vector<uint64_t> keys;
  for (int i = 0; i < 1000; ++i) keys.push_back(rng.Uniform(kLimit));
  for (int round = 0; round < 10; ++round) {
    std::map<uint64_t, uint32_t> map;
    for (const uint64_t k : keys) {
      if (map.contains(k)) continue;
      ladder.Insert(k, 1);
      map[k] = 1;
    }
    for (const auto& [k, v] : map) ladder.Erase(k);
  }
  const size_t bytes = ladder.memory_bytes();
  for (int round = 0; round < 10; ++round) {
    std::map<uint64_t, uint32_t> map;
    for (const uint64_t k : keys) {
      if (map.contains(k)) continue;
      ladder.Insert(k, 1);
      map[k] = 1;
    }
    for (const auto& [k, v] : map) ladder.Erase(k);
  }
  CHECK(ladder.memory_bytes() == bytes);
  CHECK(ladder.empty());
}

}  // namespace
}  // namespace keel::market::internal
