// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/shard/jump_hash.h"

#include <doctest/doctest.h>

#include <vector>

#include "distribution.h"
#include "keel/base/random.h"
#include "shard_testing.h"
#include "testing/testing.h"

namespace keel::shard {
namespace {

std::vector<NodeId> AssignJump(std::span<const NodeId> nodes, std::span<const uint64_t> keys) {
  std::vector<NodeId> owners;
  owners.reserve(keys.size());
  const auto buckets = static_cast<uint32_t>(nodes.size());
  for (const uint64_t key : keys) owners.push_back(nodes[*JumpBucket(key, buckets)]);
  return owners;
}

TEST_CASE("Jump hash gives the buckets other implementations of the paper give") {
  // Published test values of independent implementations: the Guava-compatible suites (C, Go,
  // Rust, TypeScript ports) and ClickHouse's jumpConsistentHash tests.
  struct Case {
    uint64_t key;
    uint32_t buckets;
    uint32_t bucket;
  };
  for (const Case& c : {Case{10863919174838991u, 11, 6}, Case{2016238256797177309u, 11, 3},
                        Case{1673758223894951030u, 11, 5}, Case{2, 100001, 80343},
                        Case{2201, 100001, 22152}, Case{2202, 100001, 15018}, Case{1, 1, 0},
                        Case{42, 57, 43}, Case{256, 1024, 520}, Case{3735883980u, 1, 0},
                        Case{3735883980u, 666, 361}, Case{16045690984833335023u, 255, 237}}) {
    CAPTURE(c.key);
    CAPTURE(c.buckets);
    CHECK(*JumpBucket(c.key, c.buckets) == c.bucket);
  }
  const uint32_t golden100[] = {0,  55, 62, 8,  45, 59, 86, 97, 82, 59,
                                73, 37, 17, 56, 86, 21, 90, 37, 38, 83};
  for (uint64_t key = 0; key < 20; ++key) CHECK(*JumpBucket(key, 100) == golden100[key]);
  const uint32_t deadbeef[] = {0, 1, 2, 3, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 16, 16, 16};
  for (uint32_t n = 1; n <= 19; ++n) CHECK(*JumpBucket(0xdeadbeef, n) == deadbeef[n - 1]);
}

TEST_CASE("Growing by one bucket moves a key only into the new bucket") {
  const uint64_t seed = keel::testing::TestSeed(1211);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int i = 0; i < 300; ++i) {
    const uint64_t key = rng.Next();
    CAPTURE(key);
    uint32_t bucket = 0;
    for (uint32_t n = 1; n < 2000; ++n) {
      const uint32_t next = *JumpBucket(key, n + 1);
      REQUIRE((next == bucket || next == n));
      bucket = next;
    }
  }
  // And at the top of the range.
  for (int i = 0; i < 100; ++i) {
    const uint64_t key = rng.Next();
    const uint32_t top = *JumpBucket(key, kJumpMaxBuckets);
    const uint32_t below = *JumpBucket(key, kJumpMaxBuckets - 1);
    CHECK(top < kJumpMaxBuckets);
    CHECK((top == below || top == kJumpMaxBuckets - 1));
  }
}

TEST_CASE("Jump hash balances keys as uniform choice does and moves the ideal share") {
  const std::vector<uint64_t> keys = testing::KeyHashes(testing::BalanceKeys());
  for (const size_t n : {10, 100, 1000}) {
    CAPTURE(n);
    // Jump hash can only drop its last bucket.
    const testing::Measurement m =
        testing::Measure(AssignJump, n, keys, static_cast<NodeId>(n - 1));
    testing::Report("jump hash", n, keys.size(), m);
    testing::CheckLikeUniformChoice(m.balance, n, keys.size());
    testing::CheckOnlyNeededMoves(m, 1.1);
  }
}

TEST_CASE("The movement check fails modulo hashing") {
  // key mod n is perfectly balanced but moves almost every key when n changes: the bound that
  // consistent schemes pass must catch it, or it proves nothing.
  const testing::Assign modulo = [](std::span<const NodeId> nodes, std::span<const uint64_t> keys) {
    std::vector<NodeId> owners;
    for (const uint64_t key : keys) owners.push_back(nodes[key % nodes.size()]);
    return owners;
  };
  const std::vector<uint64_t> keys = testing::KeyHashes(testing::BalanceKeys() / 4);
  for (const size_t n : {10, 100, 1000}) {
    CAPTURE(n);
    const testing::Measurement m = testing::Measure(modulo, n, keys, static_cast<NodeId>(n - 1));
    testing::Report("key mod n", n, keys.size(), m);
    testing::CheckLikeUniformChoice(m.balance, n, keys.size());
    CHECK(!m.added.Within(1.1));
    CHECK(!m.added.only_needed);
    CHECK(!m.removed.Within(1.1));
    CHECK(m.added.moved > 0.8);
  }
}

TEST_CASE("Jump hash refuses zero buckets and more than it can number") {
  testing::CheckRefused(JumpBucket(1, 0).status(), absl::StatusCode::kInvalidArgument,
                        "bucket count is 0");
  testing::CheckRefused(JumpBucket(1, kJumpMaxBuckets + 1).status(),
                        absl::StatusCode::kInvalidArgument, "2147483649");
  testing::CheckRefused(JumpBucketOfKey("k", 0).status(), absl::StatusCode::kInvalidArgument, "0");
  CHECK(*JumpBucketOfKey("k", 1) == 0);
  CHECK(*JumpBucketOfKey("k", 7) == *JumpBucket(base::Hash64("k"), 7));
}

}  // namespace
}  // namespace keel::shard
