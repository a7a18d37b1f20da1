// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/mq/assignor.h"

#include <doctest/doctest.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::mq {
namespace {

using Assignment = std::map<std::string, std::vector<TopicPartition>>;

// The examples in the documentation of Kafka's RangeAssignor and RoundRobinAssignor: two
// consumers subscribed to two topics of three partitions each.
TEST_CASE("Range and round-robin match Kafka's documented examples") {
  const std::vector<GroupMember> members = {{"C0", {"t0", "t1"}}, {"C1", {"t0", "t1"}}};
  const std::map<std::string, uint32_t> counts = {{"t0", 3}, {"t1", 3}};
  CHECK(AssignPartitions(AssignmentStrategy::kRange, members, counts) ==
        Assignment{{"C0", {{"t0", 0}, {"t0", 1}, {"t1", 0}, {"t1", 1}}},
                   {"C1", {{"t0", 2}, {"t1", 2}}}});
  CHECK(AssignPartitions(AssignmentStrategy::kRoundRobin, members, counts) ==
        Assignment{{"C0", {{"t0", 0}, {"t0", 2}, {"t1", 1}}},
                   {"C1", {{"t0", 1}, {"t1", 0}, {"t1", 2}}}});
}

TEST_CASE("Round-robin skips members not subscribed to a topic") {
  // Kafka's second RoundRobinAssignor example: C0 takes t0; C1 t0 and t1; C2 t0, t1 and t2, with
  // t0 of one partition, t1 of two and t2 of three.
  const std::vector<GroupMember> members = {
      {"C0", {"t0"}}, {"C1", {"t0", "t1"}}, {"C2", {"t0", "t1", "t2"}}};
  const std::map<std::string, uint32_t> counts = {{"t0", 1}, {"t1", 2}, {"t2", 3}};
  CHECK(AssignPartitions(AssignmentStrategy::kRoundRobin, members, counts) ==
        Assignment{{"C0", {{"t0", 0}}},
                   {"C1", {{"t1", 0}}},
                   {"C2", {{"t1", 1}, {"t2", 0}, {"t2", 1}, {"t2", 2}}}});
}

TEST_CASE("Every subscribed partition goes to exactly one subscriber in random groups") {
  const uint64_t seed = keel::testing::TestSeed(203);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int trial = 0; trial < 500; ++trial) {
    const int topics = static_cast<int>(rng.UniformInRange(1, 4));
    std::map<std::string, uint32_t> counts;
    for (int t = 0; t < topics; ++t) {
      counts[absl::StrCat("t", t)] = static_cast<uint32_t>(rng.UniformInRange(1, 12));
    }
    std::vector<GroupMember> members(static_cast<size_t>(rng.UniformInRange(1, 7)));
    const bool uniform = rng.Bernoulli(0.5);
    for (size_t i = 0; i < members.size(); ++i) {
      members[i].id = absl::StrCat("m", rng.Uniform(1000), "-", i);
      for (const auto& [topic, count] : counts) {
        if (uniform || rng.Bernoulli(0.6)) members[i].topics.push_back(topic);
      }
    }
    for (const AssignmentStrategy strategy :
         {AssignmentStrategy::kRange, AssignmentStrategy::kRoundRobin}) {
      CAPTURE(trial);
      const Assignment got = AssignPartitions(strategy, members, counts);
      REQUIRE(got.size() == members.size());
      std::set<TopicPartition> seen;
      for (const GroupMember& m : members) {
        for (const TopicPartition& tp : got.at(m.id)) {
          CHECK(seen.insert(tp).second);  // nobody else has it
          CHECK(std::find(m.topics.begin(), m.topics.end(), tp.topic) != m.topics.end());
        }
      }
      // The oracle: every partition of every topic someone subscribes to is assigned.
      std::set<TopicPartition> want;
      for (const GroupMember& m : members) {
        for (const std::string& t : m.topics) {
          for (uint32_t p = 0; p < counts[t]; ++p) want.insert({t, p});
        }
      }
      CHECK(seen == want);
      if (uniform) {
        size_t fewest = SIZE_MAX, most = 0;
        for (const auto& [id, tps] : got) {
          fewest = std::min(fewest, tps.size());
          most = std::max(most, tps.size());
        }
        if (strategy == AssignmentStrategy::kRoundRobin) CHECK(most - fewest <= 1);
        // Range balances topic by topic: at most one extra per topic.
        if (strategy == AssignmentStrategy::kRange) CHECK(most - fewest <= counts.size());
      }
    }
  }
}

}  // namespace
}  // namespace keel::mq
