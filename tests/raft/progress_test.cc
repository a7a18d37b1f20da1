// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Quorum counting against brute force over subsets (a set of voters decides when it contains a
// majority of each half of the configuration), on random configurations of one to seven voters,
// simple and joint with overlapping halves, and on halves past what CommittedIndex counts on the
// stack; the inflight window against a std::deque; and a
// follower's Progress through random acknowledgements and rejections against the rules it states.
#include "keel/raft/internal/progress.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::raft::internal {
namespace {

// Whether `holds` is true of every member of some majority of `voters` (an empty set of voters
// has the empty majority), found by trying every subset.
template <typename Holds>
bool SomeMajority(const std::vector<NodeId>& voters, Holds holds) {
  const size_t n = voters.size();
  for (uint32_t subset = 0; subset < (uint32_t{1} << n); ++subset) {
    size_t size = 0;
    bool all = true;
    for (size_t i = 0; i < n; ++i) {
      if ((subset >> i & 1) == 0) continue;
      ++size;
      all = all && holds(voters[i]);
    }
    if (all && 2 * size > n) return true;
  }
  return n == 0;
}

template <typename Holds>
bool BothHalves(const QuorumConfig& config, Holds holds) {
  return SomeMajority(config.incoming, holds) && SomeMajority(config.outgoing, holds);
}

uint64_t BruteCommitted(const QuorumConfig& config, const std::map<NodeId, uint64_t>& match) {
  const auto match_of = [&](NodeId id) {
    const auto it = match.find(id);
    return it == match.end() ? 0 : it->second;
  };
  // The largest index that a majority of each half holds; it is some voter's match index.
  uint64_t committed = 0;
  for (NodeId candidate : config.AllVoters()) {
    const uint64_t index = match_of(candidate);
    if (BothHalves(config, [&](NodeId id) { return match_of(id) >= index; })) {
      committed = std::max(committed, index);
    }
  }
  return committed;
}

VoteResult BruteTally(const QuorumConfig& config, const std::map<NodeId, bool>& votes) {
  if (config.incoming.empty() && config.outgoing.empty()) return VoteResult::kLost;
  const auto granted = [&](NodeId id) {
    const auto it = votes.find(id);
    return it != votes.end() && it->second;
  };
  const auto not_refused = [&](NodeId id) {
    const auto it = votes.find(id);
    return it == votes.end() || it->second;
  };
  if (BothHalves(config, granted)) return VoteResult::kWon;
  // Lost when even every missing vote granted would not make a majority of some half.
  if (!BothHalves(config, not_refused)) return VoteResult::kLost;
  return VoteResult::kPending;
}

// `min_size` to `max_size` voters drawn from nodes 1..`nodes`.
std::vector<NodeId> RandomVoters(base::Random& rng, size_t min_size, size_t max_size = 7,
                                 NodeId nodes = 9) {
  std::vector<NodeId> voters;
  const size_t size = min_size + rng.Uniform(max_size - min_size + 1);
  while (voters.size() < size) {
    const NodeId id = 1 + rng.Uniform(nodes);
    if (std::find(voters.begin(), voters.end(), id) == voters.end()) voters.push_back(id);
  }
  std::sort(voters.begin(), voters.end());
  return voters;
}

// One to seven voters of nodes 1..9, so that the halves of a joint configuration overlap often.
QuorumConfig RandomConfig(base::Random& rng) {
  QuorumConfig config;
  config.incoming = RandomVoters(rng, 1);
  if (rng.Bernoulli(0.5)) config.outgoing = RandomVoters(rng, 1);
  return config;
}

// A match index: mostly from a few small values, so that voters tie often, sometimes any value
// at all (the largest included).
uint64_t RandomIndex(base::Random& rng) {
  switch (rng.Uniform(10)) {
    case 0:
      return rng.Next();
    case 1:
      return UINT64_MAX - rng.Uniform(3);
    default:
      return rng.Uniform(6);
  }
}

// CommittedIndex through IndexOf, checking that it asks for each voter of each half once.
uint64_t CountedCommittedIndex(const QuorumConfig& config,
                               const std::map<NodeId, uint64_t>& match) {
  std::map<NodeId, int> asked;
  const uint64_t committed = CommittedIndex(config, [&](NodeId id) -> uint64_t {
    ++asked[id];
    const auto it = match.find(id);
    return it == match.end() ? 0 : it->second;
  });
  std::map<NodeId, int> expected;
  for (NodeId id : config.incoming) ++expected[id];
  for (NodeId id : config.outgoing) ++expected[id];
  CHECK(asked == expected);
  return committed;
}

TEST_CASE("CommittedIndex TallyVotes and IsQuorum agree with brute force over every subset") {
  const uint64_t seed = keel::testing::TestSeed(501);
  CAPTURE(seed);
  base::Random rng(seed);
  int won = 0;
  int lost = 0;
  int pending = 0;
  for (int i = 0; i < 4000; ++i) {
    CAPTURE(i);
    const QuorumConfig config = RandomConfig(rng);
    // Nodes outside the configuration have match indexes and votes too; they must not count.
    std::map<NodeId, uint64_t> match;
    std::map<NodeId, bool> votes;
    std::vector<NodeId> active;
    for (NodeId id = 1; id <= 10; ++id) {
      if (rng.Bernoulli(0.8)) match[id] = RandomIndex(rng);
      if (rng.Bernoulli(0.7)) votes[id] = rng.Bernoulli(0.6);
      if (rng.Bernoulli(0.6)) active.push_back(id);
    }
    if (rng.Bernoulli(0.1)) active.push_back(active.empty() ? 1 : active.front());  // repeated
    const uint64_t committed = BruteCommitted(config, match);
    CHECK(CommittedIndex(config, match) == committed);
    CHECK(CountedCommittedIndex(config, match) == committed);
    const VoteResult result = TallyVotes(config, votes);
    CHECK(result == BruteTally(config, votes));
    won += result == VoteResult::kWon ? 1 : 0;
    lost += result == VoteResult::kLost ? 1 : 0;
    pending += result == VoteResult::kPending ? 1 : 0;
    const auto is_active = [&](NodeId id) {
      return std::find(active.begin(), active.end(), id) != active.end();
    };
    CHECK(IsQuorum(config, active) == BothHalves(config, is_active));
  }
  CHECK(won > 400);
  CHECK(lost > 400);
  CHECK(pending > 400);
}

TEST_CASE("CommittedIndex agrees with brute force on halves too large to count on the stack") {
  const uint64_t seed = keel::testing::TestSeed(504);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int i = 0; i < 100; ++i) {
    CAPTURE(i);
    QuorumConfig config;
    config.incoming = RandomVoters(rng, kInlineVoters + 1, kInlineVoters + 3, 12);
    if (rng.Bernoulli(0.5)) config.outgoing = RandomVoters(rng, 1, kInlineVoters + 3, 12);
    std::map<NodeId, uint64_t> match;
    for (NodeId id = 1; id <= 12; ++id) {
      if (rng.Bernoulli(0.9)) match[id] = RandomIndex(rng);
    }
    const uint64_t committed = BruteCommitted(config, match);
    CHECK(CommittedIndex(config, match) == committed);
    CHECK(CountedCommittedIndex(config, match) == committed);
  }
}

TEST_CASE("A configuration with no voters commits nothing and wins no election") {
  const QuorumConfig none;
  CHECK(CommittedIndex(none, {{1, 5}}) == 0);
  CHECK(TallyVotes(none, {{1, true}}) == VoteResult::kLost);
  const std::vector<NodeId> active = {1};
  CHECK(!IsQuorum(none, active));
  // One half empty: the other decides alone.
  const QuorumConfig incoming_only{.incoming = {1, 2, 3}, .outgoing = {}};
  CHECK(CommittedIndex(incoming_only, {{1, 5}, {2, 4}, {3, 1}}) == 4);
  const QuorumConfig outgoing_only{.incoming = {}, .outgoing = {1, 2, 3}};
  CHECK(CommittedIndex(outgoing_only, {{1, 5}, {2, 4}, {3, 1}}) == 4);
  // The largest index is an index like any other, not "no voters".
  CHECK(CommittedIndex(incoming_only, {{1, UINT64_MAX}, {2, UINT64_MAX}}) == UINT64_MAX);
  CHECK(incoming_only.AllVoters() == std::vector<NodeId>{1, 2, 3});
  const QuorumConfig joint{.incoming = {3, 1, 4}, .outgoing = {1, 2, 3}};
  CHECK(joint.AllVoters() == std::vector<NodeId>{1, 2, 3, 4});
  CHECK(joint.IsVoter(2));
  CHECK(joint.IsVoter(4));
  CHECK(!joint.IsVoter(5));
}

TEST_CASE("Inflights behaves as a bounded deque of acknowledged-in-order appends") {
  const uint64_t seed = keel::testing::TestSeed(502);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int run = 0; run < 200; ++run) {
    const uint32_t capacity = 1 + static_cast<uint32_t>(rng.Uniform(8));
    CAPTURE(capacity);
    Inflights inflights(capacity);
    std::deque<uint64_t> model;
    uint64_t last = 0;
    for (int step = 0; step < 200; ++step) {
      CAPTURE(step);
      switch (rng.Uniform(6)) {
        case 0:
        case 1:
        case 2:
          if (model.size() < capacity) {
            last += rng.Uniform(4);  // an empty append repeats the last index
            inflights.Add(last);
            model.push_back(last);
          }
          break;
        case 3: {
          const uint64_t acked = last - std::min<uint64_t>(last, rng.Uniform(6));
          inflights.FreeUpTo(acked);
          while (!model.empty() && model.front() <= acked) model.pop_front();
          break;
        }
        case 4:
          inflights.FreeFirst();
          if (!model.empty()) model.pop_front();
          break;
        case 5:
          if (rng.Bernoulli(0.2)) {
            inflights.Reset();
            model.clear();
          }
          break;
      }
      REQUIRE(inflights.count() == model.size());
      CHECK(inflights.full() == (model.size() == capacity));
    }
  }
}

// What Progress's comments promise, restated: the model of one follower's progress.
struct ProgressModel {
  uint64_t match = 0;
  uint64_t next = 1;
  Progress::State state = Progress::State::kProbe;
  bool probe_sent = false;
};

TEST_CASE("Progress follows acknowledgements and rejections as its contract says") {
  const uint64_t seed = keel::testing::TestSeed(503);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int run = 0; run < 300; ++run) {
    Progress progress(4);
    ProgressModel model;
    for (int step = 0; step < 100; ++step) {
      CAPTURE(run);
      CAPTURE(step);
      const uint64_t near = model.next + rng.Uniform(6);
      switch (rng.Uniform(7)) {
        case 0: {  // an acknowledgement, possibly stale
          const uint64_t index = near - std::min<uint64_t>(near, rng.Uniform(8));
          const bool news = model.match < index;
          CHECK(progress.MaybeUpdate(index) == news);
          if (news) {
            model.match = index;
            model.probe_sent = false;
          }
          model.next = std::max(model.next, index + 1);
          break;
        }
        case 1:
        case 2: {  // a rejection: mostly of the append awaited
          const uint64_t rejected =
              rng.Bernoulli(0.6) ? model.next - 1 : near - std::min<uint64_t>(near, rng.Uniform(8));
          const uint64_t hint = rng.Uniform(near + 2);
          bool decreased = false;
          if (model.state == Progress::State::kReplicate) {
            // Stale when at or below the match index; otherwise back to just after the match.
            if (rejected > model.match) {
              model.next = model.match + 1;
              decreased = true;
            }
          } else if (rejected == model.next - 1) {
            // Only the append most recently sent counts; back up to the hint, never behind the
            // match index, never forward.
            model.next = std::max(std::min(rejected, hint + 1), model.match + 1);
            model.probe_sent = false;
            decreased = true;
          }
          CHECK(progress.MaybeDecreaseTo(rejected, hint) == decreased);
          break;
        }
        case 3: {
          // After a snapshot the follower has everything up to it.
          const uint64_t snapshot = progress.snapshot_index;
          progress.BecomeProbe();
          model.next = model.state == Progress::State::kSnapshot
                           ? std::max(model.match + 1, snapshot + 1)
                           : model.match + 1;
          model.state = Progress::State::kProbe;
          model.probe_sent = false;
          break;
        }
        case 4:
          progress.BecomeReplicate();
          model.state = Progress::State::kReplicate;
          model.next = model.match + 1;
          model.probe_sent = false;
          break;
        case 5: {
          const uint64_t index = model.match + rng.Uniform(10);
          progress.BecomeSnapshot(index);
          CHECK(progress.snapshot_index == index);
          model.state = Progress::State::kSnapshot;
          model.probe_sent = false;
          break;
        }
        case 6:  // the leader sends
          if (model.state == Progress::State::kProbe && !model.probe_sent) {
            progress.probe_sent = model.probe_sent = true;
          } else if (model.state == Progress::State::kReplicate && !progress.inflights.full()) {
            progress.inflights.Add(model.next);
            model.next += 1;
            progress.next = model.next;
          }
          break;
      }
      REQUIRE(progress.match == model.match);
      REQUIRE(progress.next == model.next);
      REQUIRE(progress.state == model.state);
      REQUIRE(progress.probe_sent == model.probe_sent);
      CHECK(progress.match < progress.next);
      const bool paused = model.state == Progress::State::kSnapshot ||
                          (model.state == Progress::State::kProbe && model.probe_sent) ||
                          (model.state == Progress::State::kReplicate && progress.inflights.full());
      CHECK(progress.paused() == paused);
    }
  }
}

TEST_CASE("A probe backs up to the hint but not behind the match and ignores other rejections") {
  Progress progress(4);
  progress.match = 3;
  progress.next = 10;
  progress.probe_sent = true;
  CHECK(!progress.MaybeDecreaseTo(7, 2));  // not the append awaited (9)
  CHECK(progress.next == 10);
  CHECK(progress.probe_sent);
  CHECK(progress.MaybeDecreaseTo(9, 6));
  CHECK(progress.next == 7);
  CHECK(!progress.probe_sent);
  CHECK(progress.MaybeDecreaseTo(6, 0));
  CHECK(progress.next == 4);  // match + 1
  progress.BecomeSnapshot(20);
  CHECK(progress.paused());
  progress.BecomeProbe();
  CHECK(progress.next == 21);  // after the snapshot the follower has
  progress.BecomeReplicate();
  CHECK(progress.next == 4);
  CHECK(!progress.MaybeDecreaseTo(3, 0));  // stale: at the match index
  CHECK(progress.MaybeDecreaseTo(8, 0));
  CHECK(progress.next == 4);
}

}  // namespace
}  // namespace keel::raft::internal
