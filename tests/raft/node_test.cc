// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel::raft::Node's features beyond the 6.5840 battery, in the deterministic simulator:
// membership changes (learners, promotion, removing the leader, joint configurations), leadership
// transfer, pre-vote and check-quorum, ReadIndex and lease reads, snapshots in chunks.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "raft/tester.h"
#include "testing/testing.h"

namespace keel::raft::testing {
namespace {

bool Contains(const std::vector<NodeId>& ids, NodeId id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

SimOptions Options(int nodes, uint64_t seed, std::vector<NodeId> voters = {}) {
  SimOptions options;
  options.nodes = nodes;
  options.seed = seed;
  options.voters = std::move(voters);
  return options;
}

ConfChange Change(std::vector<ConfChangeSingle> changes,
                  ConfChangeTransition transition = ConfChangeTransition::kAuto) {
  ConfChange change;
  change.transition = transition;
  change.changes = std::move(changes);
  return change;
}

// Proposes a membership change at the leader and runs until every live node has applied it.
void ChangeMembership(Tester& ts, const ConfChange& change) {
  Simulator& sim = ts.sim();
  const std::optional<int> leader = sim.WaitForLeader();
  REQUIRE(leader.has_value());
  const absl::StatusOr<uint64_t> index = sim.ProposeConfChange(*leader, change);
  REQUIRE_MESSAGE(index.ok(), index.status().ToString());
  const bool applied = sim.RunUntil(
      [&] {
        for (int i = 0; i < sim.size(); ++i) {
          if (sim.alive(i) && sim.node(i)->applied_index() < *index &&
              Contains(sim.node(*leader)->conf_state().voters, static_cast<NodeId>(i))) {
            return false;
          }
        }
        return true;
      },
      10 * kSeconds);
  REQUIRE_MESSAGE(applied, ts.Describe());
}

// The start most cases share: `expected` nodes agree on a first command, "1", so that a leader
// is elected and has committed an entry of its own term. Returns that leader.
int AgreeOnFirstCommand(Tester& ts, int expected) {
  ts.One("1", expected, true);
  const std::optional<int> leader = ts.sim().WaitForLeader();
  REQUIRE_MESSAGE(leader.has_value(), ts.Describe());
  return *leader;
}

TEST_CASE("a learner catches up without voting and is then promoted to voter") {
  const uint64_t seed = keel::testing::TestSeed(401);
  CAPTURE(seed);
  Tester ts(Options(4, seed, {0, 1, 2}));
  Simulator& sim = ts.sim();
  for (int i = 0; i < 20; ++i) ts.One(ts.RandCommand(), 3, true);
  // Node 3 is in no configuration yet: it never campaigns.
  CHECK(sim.node(3)->term() == 0);

  ChangeMembership(ts, Change({{ConfChangeType::kAddLearner, 3}}));
  REQUIRE(sim.RunUntil([&] { return sim.Applied(3, 20).has_value(); }, 5 * kSeconds));
  const ConfState conf = sim.node(*sim.Leader())->conf_state();
  CHECK(conf.learners == std::vector<NodeId>{3});
  CHECK(conf.voters == std::vector<NodeId>{0, 1, 2});

  // A learner does not campaign even when it stops hearing from the leader.
  const int leader = *sim.Leader();
  sim.SetLink(leader, 3, false);
  const uint64_t term = sim.node(3)->term();
  sim.RunFor(3 * kSeconds);
  CHECK(sim.node(3)->role() == Role::kFollower);
  CHECK(sim.node(3)->term() == term);
  sim.SetLink(leader, 3, true);

  ChangeMembership(ts, Change({{ConfChangeType::kAddVoter, 3}}));
  CHECK(sim.node(3)->conf_state().voters == std::vector<NodeId>{0, 1, 2, 3});
  // Four voters need three: with two of the old voters down, the promoted node makes the quorum.
  int down = 0;
  for (int i = 0; i < 3 && down < 1; ++i) {
    if (i != *sim.Leader()) {
      sim.Crash(i);
      ++down;
    }
  }
  ts.One("after promotion", 3, true);
  ts.CheckSafety();
}

TEST_CASE("removing the leader hands the cluster to the remaining voters") {
  const uint64_t seed = keel::testing::TestSeed(402);
  CAPTURE(seed);
  Tester ts(Options(3, seed));
  Simulator& sim = ts.sim();
  const int old_leader = AgreeOnFirstCommand(ts, 3);
  ChangeMembership(ts, Change({{ConfChangeType::kRemoveNode, static_cast<NodeId>(old_leader)}}));
  // The removed leader stepped down; the other two elect a leader and commit without it.
  const std::optional<int> new_leader = sim.WaitForLeader();
  REQUIRE(new_leader.has_value());
  CHECK(*new_leader != old_leader);
  ts.One("2", 2, true);
  // The removed node is not a voter in its own configuration: it never campaigns, so it cannot
  // disturb the others' terms.
  const uint64_t term = sim.node(*new_leader)->term();
  sim.RunFor(5 * kSeconds);
  CHECK(sim.node(old_leader)->role() == Role::kFollower);
  CHECK(sim.node(*new_leader)->term() == term);
  CHECK(*sim.Leader() == *new_leader);
  ts.CheckSafety();
}

TEST_CASE("a change of two voters goes through a joint configuration and leaves it") {
  const uint64_t seed = keel::testing::TestSeed(403);
  CAPTURE(seed);
  Tester ts(Options(5, seed, {0, 1, 2}));
  Simulator& sim = ts.sim();
  const int leader = AgreeOnFirstCommand(ts, 3);
  std::vector<NodeId> removed;
  for (NodeId id = 0; id < 3 && removed.size() < 1; ++id) {
    if (id != static_cast<NodeId>(leader)) removed.push_back(id);
  }
  // Add 3 and 4, remove one old voter: three voters change, so the change is joint.
  const absl::StatusOr<uint64_t> index =
      sim.ProposeConfChange(leader, Change({{ConfChangeType::kAddVoter, 3},
                                            {ConfChangeType::kAddVoter, 4},
                                            {ConfChangeType::kRemoveNode, removed[0]}}));
  REQUIRE(index.ok());
  // The leader applies the joint configuration, then proposes leaving it by itself.
  bool saw_joint = false;
  const bool left = sim.RunUntil(
      [&] {
        const ConfState& conf = sim.node(leader)->conf_state();
        saw_joint |= conf.joint();
        return saw_joint && !conf.joint();
      },
      10 * kSeconds);
  REQUIRE_MESSAGE(left, ts.Describe());
  std::vector<NodeId> expected = {3, 4};
  for (NodeId id = 0; id < 3; ++id) {
    if (id != removed[0]) expected.push_back(id);
  }
  std::sort(expected.begin(), expected.end());
  CHECK(sim.node(leader)->conf_state().voters == expected);
  ts.One("2", 4, true);
  ts.CheckSafety();
}

TEST_CASE("an explicit joint configuration stays until the application leaves it") {
  const uint64_t seed = keel::testing::TestSeed(404);
  CAPTURE(seed);
  Tester ts(Options(4, seed, {0, 1, 2}));
  Simulator& sim = ts.sim();
  ts.One("1", 3, true);
  ChangeMembership(ts,
                   Change({{ConfChangeType::kAddVoter, 3}}, ConfChangeTransition::kJointExplicit));
  const int leader = *sim.Leader();
  sim.RunFor(2 * kSeconds);
  CHECK(sim.node(leader)->conf_state().joint());
  CHECK(sim.node(leader)->conf_state().voters_outgoing == std::vector<NodeId>{0, 1, 2});
  ChangeMembership(ts, ConfChange{});
  CHECK_FALSE(sim.node(*sim.Leader())->conf_state().joint());
  CHECK(sim.node(*sim.Leader())->conf_state().voters == std::vector<NodeId>{0, 1, 2, 3});
  ts.CheckSafety();
}

TEST_CASE("only one membership change is pending at a time") {
  const uint64_t seed = keel::testing::TestSeed(405);
  CAPTURE(seed);
  Tester ts(Options(5, seed, {0, 1, 2}));
  Simulator& sim = ts.sim();
  const int leader = AgreeOnFirstCommand(ts, 3);
  REQUIRE(sim.ProposeConfChange(leader, Change({{ConfChangeType::kAddLearner, 3}})).ok());
  const absl::StatusOr<uint64_t> second =
      sim.ProposeConfChange(leader, Change({{ConfChangeType::kAddLearner, 4}}));
  CHECK(absl::IsFailedPrecondition(second.status()));
  CHECK(second.status().message().find("pending") != std::string_view::npos);
  // Changes that make no sense are refused up front.
  sim.RunFor(kSeconds);
  CHECK(absl::IsInvalidArgument(
      sim.ProposeConfChange(leader, Change({{ConfChangeType::kRemoveNode, 9}})).status()));
  CHECK(absl::IsInvalidArgument(sim.ProposeConfChange(leader, ConfChange{}).status()));
}

TEST_CASE("leadership transfer hands over within an election timeout") {
  const uint64_t seed = keel::testing::TestSeed(406);
  CAPTURE(seed);
  Tester ts(Options(3, seed));
  Simulator& sim = ts.sim();
  const int leader = AgreeOnFirstCommand(ts, 3);
  const int target = (leader + 1) % 3;
  // Make the target lag, so that the leader must catch it up first.
  sim.Disconnect(target);
  for (int i = 0; i < 5; ++i) ts.One(ts.RandCommand(), 2, true);
  sim.Connect(target);
  const uint64_t term = sim.node(leader)->term();
  REQUIRE(sim.node(leader)->TransferLeadership(static_cast<NodeId>(target)).ok());
  sim.Process(leader);
  // Proposals are refused while the transfer is under way.
  CHECK(absl::IsFailedPrecondition(sim.node(leader)->Propose("during").status()));
  const bool moved = sim.RunUntil([&] { return sim.GetState(target).second; }, 300 * kMillis);
  REQUIRE_MESSAGE(moved, ts.Describe());
  CHECK(sim.node(target)->term() == term + 1);
  // Asked through a follower, the request goes to the leader.
  sim.RunFor(200 * kMillis);  // the followers hear from the new leader
  const int next = (target + 1) % 3;
  const int follower = (target + 2) % 3;
  REQUIRE(sim.node(follower)->TransferLeadership(static_cast<NodeId>(next)).ok());
  sim.Process(follower);
  CHECK(sim.RunUntil([&] { return sim.GetState(next).second; }, 300 * kMillis));
  // Only voters can lead.
  CHECK(absl::IsInvalidArgument(sim.node(next)->TransferLeadership(7)));
  ts.One("2", 3, true);
  ts.CheckSafety();
}

// A follower cut off for a long time and then reconnected: with pre-vote and check-quorum it
// does not raise the term or depose the leader; without them it does (which shows the test can
// tell).
uint64_t TermAfterRejoin(bool pre_vote, bool check_quorum, uint64_t seed, bool* same_leader) {
  SimOptions options = Options(3, seed);
  options.node.pre_vote = pre_vote;
  options.node.check_quorum = check_quorum;
  Tester ts(options);
  Simulator& sim = ts.sim();
  const int leader = AgreeOnFirstCommand(ts, 3);
  const uint64_t term = sim.node(leader)->term();
  const int follower = (leader + 1) % 3;
  sim.Disconnect(follower);
  sim.RunFor(5 * kSeconds);
  sim.Connect(follower);
  sim.RunFor(2 * kSeconds);
  *same_leader = sim.Leader() == leader;
  ts.One("2", 3, true);
  ts.CheckSafety();
  return sim.node(leader)->term() - term;
}

TEST_CASE("pre-vote and check-quorum keep a rejoining node from disrupting the leader") {
  const uint64_t seed = keel::testing::TestSeed(407);
  CAPTURE(seed);
  bool same_leader = false;
  CHECK(TermAfterRejoin(true, true, seed, &same_leader) == 0);
  CHECK(same_leader);
  CHECK(TermAfterRejoin(false, false, seed, &same_leader) > 0);
}

TEST_CASE("check-quorum makes a leader cut off from the majority step down") {
  const uint64_t seed = keel::testing::TestSeed(408);
  CAPTURE(seed);
  Tester ts(Options(5, seed));
  Simulator& sim = ts.sim();
  const int leader = AgreeOnFirstCommand(ts, 5);
  sim.Disconnect(leader);
  // Within two election timeouts (300 ms each with 10 ms ticks) it knows it has lost the quorum.
  CHECK(sim.RunUntil([&] { return !sim.GetState(leader).second; }, 600 * kMillis));
}

TEST_CASE("ReadIndex answers on leader and followers with an index covering completed writes") {
  const uint64_t seed = keel::testing::TestSeed(409);
  CAPTURE(seed);
  Tester ts(Options(3, seed));
  Simulator& sim = ts.sim();
  for (int i = 0; i < 10; ++i) ts.One(ts.RandCommand(), 1, true);
  const int leader = *sim.WaitForLeader();
  for (int i = 0; i < 3; ++i) REQUIRE(sim.ReadIndex(i, "read" + std::to_string(i)).ok());
  for (int i = 0; i < 3; ++i) {
    auto& log = dynamic_cast<CommandLog&>(sim.application(i));
    REQUIRE_MESSAGE(sim.RunUntil([&] { return !log.reads().empty(); }, kSeconds), "node ", i,
                    " (leader ", leader, ") never served its read");
    CHECK(log.reads().front().first == "read" + std::to_string(i));
    CHECK(log.reads().front().second >= 10);
  }
}

TEST_CASE("a leader cut off from the majority serves no ReadIndex reads") {
  const uint64_t seed = keel::testing::TestSeed(410);
  CAPTURE(seed);
  Tester ts(Options(3, seed));
  Simulator& sim = ts.sim();
  const int leader = AgreeOnFirstCommand(ts, 3);
  sim.Disconnect(leader);
  REQUIRE(sim.ReadIndex(leader, "stale?").ok());
  sim.RunFor(3 * kSeconds);
  CHECK(dynamic_cast<CommandLog&>(sim.application(leader)).reads().empty());
  // A node that knows no leader refuses at once.
  CHECK(absl::IsUnavailable(sim.node(leader)->ReadIndex("again")));
}

TEST_CASE("lease reads are answered at once and never after another leader can exist") {
  const uint64_t seed = keel::testing::TestSeed(411);
  CAPTURE(seed);
  SimOptions options = Options(3, seed);
  options.node.read_only = ReadOnlyMode::kLeaseBased;
  options.node.read_lease_drift_ticks = 2;
  options.max_clock_drift = 0.02;  // 2% of 30 ticks is under the 2 ticks allowed
  Tester ts(options);
  Simulator& sim = ts.sim();
  const int leader = AgreeOnFirstCommand(ts, 3);
  sim.RunFor(200 * kMillis);  // a heartbeat round confirms the lease
  auto& log = dynamic_cast<CommandLog&>(sim.application(leader));
  const uint64_t delivered = sim.delivered();
  REQUIRE(sim.ReadIndex(leader, "lease").ok());
  sim.RunFor(0);
  REQUIRE(log.reads().size() == 1);
  CHECK(sim.delivered() == delivered);  // no round trip

  // Cut the leader off and keep asking it; it must stop before the others elect a leader.
  sim.Disconnect(leader);
  int64_t last_served = -1;
  int64_t first_new_leader = -1;
  for (int step = 0; step < 300 && first_new_leader < 0; ++step) {
    const size_t before = log.reads().size();
    (void)sim.ReadIndex(leader, "during partition");
    sim.RunFor(10 * kMillis);
    if (log.reads().size() > before) last_served = sim.now();
    for (int i = 0; i < 3; ++i) {
      if (i != leader && sim.GetState(i).second) first_new_leader = sim.now();
    }
  }
  REQUIRE(first_new_leader > 0);
  CHECK(last_served < first_new_leader);
}

TEST_CASE("a node added late receives a snapshot in small chunks over an unreliable network") {
  const uint64_t seed = keel::testing::TestSeed(412);
  CAPTURE(seed);
  SimOptions options = Options(4, seed, {0, 1, 2});
  options.snapshot_every_commands = 10;
  options.node.snapshot_chunk_bytes = 64;
  options.node.max_inflight_appends = 4;
  Tester ts(options);
  Simulator& sim = ts.sim();
  for (int i = 0; i < 60; ++i) ts.One(ts.RandCommand(), 3, true);
  sim.SetReliable(false);
  ChangeMembership(ts, Change({{ConfChangeType::kAddLearner, 3}}));
  REQUIRE_MESSAGE(
      sim.RunUntil(
          [&] { return sim.node(3)->applied_index() >= sim.node(*sim.Leader())->commit_index(); },
          20 * kSeconds),
      ts.Describe());
  for (uint64_t index = 1; index <= 60; ++index) {
    CHECK(sim.Applied(3, index) == sim.Applied(*sim.Leader(), index));
  }
  // The snapshot carried the configuration as of its index.
  CHECK(sim.node(3)->conf_state().learners == std::vector<NodeId>{3});
  ts.CheckSafety();
}

}  // namespace
}  // namespace keel::raft::testing

namespace keel::raft::testing {
namespace {

// Figure 8 of the paper, scripted: a leader must not count replicas of an entry from an earlier
// term as committing it. S0 leads, appends X, reaches only S1 and crashes; S4 leads the next term
// but reaches no one; S0 returns and leads again, and replicates X to S2 and S3 one entry per
// message, so that a quorum holds X before it holds S0's own new entry. Were X committed then
// (and S0 applies it), S4 could still be elected and replace X. Entries of the current term must
// come first.
TEST_CASE("a leader commits an entry of an earlier term only with one of its own (Figure 8)") {
  const uint64_t seed = keel::testing::TestSeed(413);
  CAPTURE(seed);
  SimOptions options;
  options.nodes = 5;
  options.seed = seed;
  options.node.election_ticks = 1000;  // elections happen only when the test calls them
  options.node.pre_vote = false;
  options.node.check_quorum = false;
  options.node.max_bytes_per_append = 1;  // one entry per append
  options.node.max_inflight_appends = 1;
  Tester ts(options);
  Simulator& sim = ts.sim();
  const auto only = [&](std::vector<int> group) {
    for (int i = 0; i < 5; ++i) {
      for (int j = 0; j < 5; ++j) {
        const bool in = std::find(group.begin(), group.end(), i) != group.end() &&
                        std::find(group.begin(), group.end(), j) != group.end();
        sim.SetLink(i, j, in);
      }
    }
  };
  // Campaigns until elected (a first try may ask for a term in which the others voted already).
  const auto campaign = [&](int i) {
    for (int attempt = 0; attempt < 3 && !sim.GetState(i).second; ++attempt) {
      if (sim.node(i)->Campaign().ok()) sim.Process(i);
      sim.RunUntil([&] { return sim.GetState(i).second; }, 200 * kMillis);
    }
    REQUIRE_MESSAGE(sim.GetState(i).second, ts.Describe());
  };

  only({0, 1, 2, 3, 4});
  campaign(0);
  ts.One("A", 5, false);

  only({0, 1});
  const StartResult x = sim.Start(0, "X");
  REQUIRE(x.is_leader);
  REQUIRE(sim.RunUntil([&] { return sim.node(1)->last_index() == x.raft_index; }, kSeconds));
  sim.Crash(0);

  only({2, 3, 4});
  campaign(4);
  only({});  // its no-op stays on S4
  sim.RunFor(10 * kMillis);
  sim.Crash(4);

  sim.Restart(0);
  only({0, 2, 3});
  campaign(0);
  // S2 and S3 get X, and nothing after it: S0's own entry (its no-op) goes nowhere.
  sim.SetFilter([&](Message& message) {
    if (message.from == 0) {
      std::erase_if(message.entries,
                    [&](const Entry& entry) { return entry.index > x.raft_index; });
    }
    return true;
  });
  REQUIRE(sim.RunUntil(
      [&] {
        return sim.node(2)->last_index() >= x.raft_index &&
               sim.node(3)->last_index() >= x.raft_index;
      },
      kSeconds));
  sim.RunFor(100 * kMillis);
  // X is on a quorum (S0, S1, S2, S3) but S0's term has nothing there: X is not committed.
  CHECK(sim.node(0)->commit_index() < x.raft_index);
  sim.Crash(0);
  sim.SetFilter(nullptr);

  // S4 (whose last entry has a later term than X) can now be elected and replace X.
  sim.Restart(4);
  only({1, 2, 3, 4});
  campaign(4);
  sim.RunFor(kSeconds);
  ts.CheckSafety();

  // Heal and make progress.
  only({0, 1, 2, 3, 4});
  sim.Restart(0);
  for (int i = 0; i < 5 && !sim.Leader(); ++i) {
    (void)sim.node(i)->Campaign();
    sim.Process(i);
    sim.RunFor(500 * kMillis);
  }
  ts.One("Z", 5, true);
  ts.CheckSafety();
}

}  // namespace
}  // namespace keel::raft::testing
