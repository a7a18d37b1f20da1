// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Membership changes (src/raft/membership.cc's NextConfState, which tests cannot include) through
// Node::ApplyConfChange and Node::ProposeConfChange: against a model written with sets, on random
// well-formed configurations, simple and joint; every refusal names what it refuses and leaves the
// node unchanged; and a joint configuration with auto-leave is left even when leadership moves
// while it is being entered.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/raft/codec.h"
#include "keel/raft/node.h"
#include "testing/testing.h"

namespace keel::raft {
namespace {

using IdSet = std::set<NodeId>;

std::vector<NodeId> Sorted(const IdSet& ids) { return {ids.begin(), ids.end()}; }
IdSet Set(const std::vector<NodeId>& ids) { return {ids.begin(), ids.end()}; }

// A configuration, its lists in the order of ConfState's fields.
ConfState Conf(std::vector<NodeId> voters, std::vector<NodeId> outgoing,
               std::vector<NodeId> learners, std::vector<NodeId> learners_next,
               bool auto_leave = false) {
  return ConfState{.voters = std::move(voters),
                   .voters_outgoing = std::move(outgoing),
                   .learners = std::move(learners),
                   .learners_next = std::move(learners_next),
                   .auto_leave = auto_leave};
}

std::unique_ptr<Node> NodeWith(const ConfState& conf, NodeId id = 1) {
  InitialState initial;
  initial.snapshot.metadata.conf = conf;
  absl::StatusOr<std::unique_ptr<Node>> node = Node::Create(NodeOptions{.id = id}, initial);
  REQUIRE(node.ok());
  return std::move(*node);
}

// What a change should do, or the words its refusal should contain.
struct Expected {
  std::optional<ConfState> conf;
  std::string error;
};

// The model of a membership change (etcd/raft's confchange rules, section 4.3 of the
// dissertation), with sets.
Expected ModelNext(const ConfState& current, const ConfChange& change) {
  if (change.changes.empty()) {
    if (current.voters_outgoing.empty()) return {std::nullopt, "is not joint"};
    IdSet learners = Set(current.learners);
    learners.insert(current.learners_next.begin(), current.learners_next.end());
    return {Conf(current.voters, {}, Sorted(learners), {}), ""};
  }
  if (!current.voters_outgoing.empty()) return {std::nullopt, "while the configuration is joint"};
  const IdSet old_voters = Set(current.voters);
  IdSet voters = old_voters;
  IdSet learners = Set(current.learners);
  for (const ConfChangeSingle& single : change.changes) {
    if (single.node == kNoNode) return {std::nullopt, "names no node"};
    switch (single.type) {
      case ConfChangeType::kAddVoter:
        voters.insert(single.node);
        learners.erase(single.node);
        break;
      case ConfChangeType::kAddLearner:
        learners.insert(single.node);
        voters.erase(single.node);
        break;
      case ConfChangeType::kRemoveNode:
        if (voters.erase(single.node) + learners.erase(single.node) == 0) {
          return {std::nullopt, base::Cat("cannot remove node ", single.node)};
        }
        break;
    }
  }
  if (voters.empty()) return {std::nullopt, "cannot remove every voter"};
  size_t voters_changed = 0;
  for (NodeId id : old_voters) voters_changed += voters.contains(id) ? 0 : 1;
  for (NodeId id : voters) voters_changed += old_voters.contains(id) ? 0 : 1;
  if (change.transition == ConfChangeTransition::kAuto && voters_changed <= 1) {
    return {Conf(Sorted(voters), {}, Sorted(learners), {}), ""};
  }
  IdSet learners_now;
  IdSet learners_next;
  for (NodeId id : learners) (old_voters.contains(id) ? learners_next : learners_now).insert(id);
  return {Conf(Sorted(voters), current.voters, Sorted(learners_now), Sorted(learners_next),
               change.transition != ConfChangeTransition::kJointExplicit),
          ""};
}

// Whether a configuration is one Raft can be in: sorted lists, a voter, no node both a voter and
// a learner, learners_next only outgoing voters that are not incoming, and only when joint.
void CheckWellFormed(const ConfState& conf) {
  for (const auto* ids :
       {&conf.voters, &conf.voters_outgoing, &conf.learners, &conf.learners_next}) {
    CHECK(std::is_sorted(ids->begin(), ids->end()));
    CHECK(std::adjacent_find(ids->begin(), ids->end()) == ids->end());
  }
  CHECK(!conf.voters.empty());
  const IdSet voters = Set(conf.voters);
  const IdSet outgoing = Set(conf.voters_outgoing);
  for (NodeId id : conf.learners) {
    CHECK(!voters.contains(id));
    CHECK(!outgoing.contains(id));
  }
  for (NodeId id : conf.learners_next) {
    CHECK(outgoing.contains(id));
    CHECK(!voters.contains(id));
  }
  if (!conf.joint()) {
    CHECK(conf.learners_next.empty());
    CHECK(!conf.auto_leave);
  }
}

std::vector<NodeId> RandomSubset(base::Random& rng, const std::vector<NodeId>& from,
                                 size_t min_size) {
  std::vector<NodeId> subset;
  while (subset.size() < min_size) {
    subset.clear();
    for (NodeId id : from) {
      if (rng.Bernoulli(0.5)) subset.push_back(id);
    }
  }
  return subset;
}

// A well-formed configuration of nodes 1..6, joint or not.
ConfState RandomConf(base::Random& rng) {
  const std::vector<NodeId> all = {1, 2, 3, 4, 5, 6};
  ConfState conf;
  conf.voters = RandomSubset(rng, all, 1);
  if (rng.Bernoulli(0.4)) {
    conf.voters_outgoing = RandomSubset(rng, all, 1);
    for (NodeId id : conf.voters_outgoing) {
      if (!Set(conf.voters).contains(id) && rng.Bernoulli(0.4)) conf.learners_next.push_back(id);
    }
    conf.auto_leave = rng.Bernoulli(0.5);
  }
  for (NodeId id : all) {
    if (!Set(conf.voters).contains(id) && !Set(conf.voters_outgoing).contains(id) &&
        rng.Bernoulli(0.3)) {
      conf.learners.push_back(id);
    }
  }
  return conf;
}

ConfChange RandomChange(base::Random& rng) {
  ConfChange change;
  change.transition = static_cast<ConfChangeTransition>(rng.Uniform(3));
  change.changes.resize(rng.Bernoulli(0.15) ? 0 : 1 + rng.Uniform(3));
  for (ConfChangeSingle& single : change.changes) {
    single.type = static_cast<ConfChangeType>(rng.Uniform(3));
    single.node = rng.Bernoulli(0.03) ? kNoNode : 1 + rng.Uniform(7);
  }
  return change;
}

TEST_CASE("Membership changes match a model on random configurations") {
  const uint64_t seed = keel::testing::TestSeed(601);
  CAPTURE(seed);
  base::Random rng(seed);
  int applied = 0;
  int joint_entered = 0;
  for (int i = 0; i < 3000; ++i) {
    CAPTURE(i);
    const ConfState conf = RandomConf(rng);
    CheckWellFormed(conf);
    const ConfChange change = RandomChange(rng);
    const std::unique_ptr<Node> node = NodeWith(conf);
    const Expected expected = ModelNext(conf, change);
    const absl::StatusOr<ConfState> next = node->ApplyConfChange(change);
    if (expected.conf) {
      REQUIRE(next.ok());
      CHECK(*next == *expected.conf);
      CHECK(node->conf_state() == *expected.conf);
      CheckWellFormed(*next);
      ++applied;
      joint_entered += next->joint() && !conf.joint() ? 1 : 0;
    } else {
      CAPTURE(next.status());
      CAPTURE(expected.error);
      REQUIRE(!next.ok());
      CHECK(next.status().code() == absl::StatusCode::kInvalidArgument);
      CHECK(absl::StrContains(next.status().message(), expected.error));
      CHECK(node->conf_state() == conf);
    }
  }
  // Both outcomes, and joint configurations, were reached often.
  CHECK(applied > 500);
  CHECK(joint_entered > 200);
}

TEST_CASE("A chain of random membership changes keeps the configuration well formed") {
  const uint64_t seed = keel::testing::TestSeed(602);
  CAPTURE(seed);
  base::Random rng(seed);
  const std::unique_ptr<Node> node = NodeWith(Conf({1, 2, 3}, {}, {}, {}));
  for (int i = 0; i < 2000; ++i) {
    CAPTURE(i);
    const ConfState before = node->conf_state();
    const ConfChange change = RandomChange(rng);
    const Expected expected = ModelNext(before, change);
    const absl::StatusOr<ConfState> next = node->ApplyConfChange(change);
    REQUIRE(next.ok() == expected.conf.has_value());
    if (next.ok()) CHECK(*next == *expected.conf);
    CheckWellFormed(node->conf_state());
  }
}

TEST_CASE("Joint configurations are entered and left as the transition says") {
  const ConfState three = Conf({1, 2, 3}, {}, {4}, {});
  const auto change = [](ConfChangeTransition transition, std::vector<ConfChangeSingle> singles) {
    return ConfChange{.transition = transition, .changes = std::move(singles), .context = ""};
  };
  SUBCASE("one voter changes in one step") {
    const std::unique_ptr<Node> node = NodeWith(three);
    const absl::StatusOr<ConfState> next = node->ApplyConfChange(
        change(ConfChangeTransition::kAuto, {{ConfChangeType::kAddVoter, 4}}));
    REQUIRE(next.ok());
    CHECK(next->voters == std::vector<NodeId>{1, 2, 3, 4});
    CHECK(next->learners.empty());
    CHECK(!next->joint());
  }
  SUBCASE("two voters go through a joint configuration left automatically") {
    const std::unique_ptr<Node> node = NodeWith(three);
    const absl::StatusOr<ConfState> next = node->ApplyConfChange(
        change(ConfChangeTransition::kAuto,
               {{ConfChangeType::kAddVoter, 4}, {ConfChangeType::kAddLearner, 3}}));
    REQUIRE(next.ok());
    CHECK(next->voters == std::vector<NodeId>{1, 2, 4});
    CHECK(next->voters_outgoing == std::vector<NodeId>{1, 2, 3});
    CHECK(next->learners.empty());
    // Node 3 votes in the outgoing half until the joint configuration is left.
    CHECK(next->learners_next == std::vector<NodeId>{3});
    CHECK(next->auto_leave);
    const absl::StatusOr<ConfState> left = node->ApplyConfChange(ConfChange{});
    REQUIRE(left.ok());
    CHECK(left->voters == std::vector<NodeId>{1, 2, 4});
    CHECK(left->learners == std::vector<NodeId>{3});
    CHECK(!left->joint());
    CHECK(left->learners_next.empty());
    CHECK(!left->auto_leave);
  }
  SUBCASE("an explicit joint change waits for the application to leave") {
    const std::unique_ptr<Node> node = NodeWith(three);
    const absl::StatusOr<ConfState> next = node->ApplyConfChange(
        change(ConfChangeTransition::kJointExplicit, {{ConfChangeType::kAddVoter, 5}}));
    REQUIRE(next.ok());
    CHECK(next->joint());
    CHECK(!next->auto_leave);
    CHECK(next->voters == std::vector<NodeId>{1, 2, 3, 5});
  }
}

TEST_CASE("Refused membership changes name what is wrong and change nothing") {
  const ConfState simple = Conf({1, 2, 3}, {}, {7}, {});
  const ConfState joint = Conf({1, 2, 4}, {1, 2, 3}, {}, {3}, /*auto_leave=*/true);
  struct Case {
    ConfState conf;
    ConfChange change;
    std::string words;
  };
  const auto single = [](ConfChangeType type, NodeId id) {
    return ConfChange{
        .transition = ConfChangeTransition::kAuto, .changes = {{type, id}}, .context = ""};
  };
  ConfChange remove_all = single(ConfChangeType::kRemoveNode, 1);
  remove_all.changes.push_back({ConfChangeType::kRemoveNode, 2});
  remove_all.changes.push_back({ConfChangeType::kAddLearner, 3});
  ConfChange bad_transition = single(ConfChangeType::kAddVoter, 4);
  bad_transition.transition = static_cast<ConfChangeTransition>(7);
  ConfChange bad_type = single(ConfChangeType::kAddVoter, 4);
  bad_type.changes[0].type = static_cast<ConfChangeType>(9);
  const std::vector<Case> cases = {
      {simple, single(ConfChangeType::kRemoveNode, 9), "cannot remove node 9: it is not a member"},
      {simple, remove_all, "cannot remove every voter: it removes or demotes all of [1, 2, 3]"},
      {simple, single(ConfChangeType::kAddVoter, kNoNode), "names no node"},
      {simple, ConfChange{}, "the configuration (voters [1, 2, 3]) is not joint"},
      {joint, single(ConfChangeType::kAddVoter, 5),
       "while the configuration is joint (voters [1, 2, 4], outgoing [1, 2, 3])"},
      {simple, bad_transition, "unknown membership change transition 7"},
      {simple, bad_type, "unknown membership change type 9"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.words);
    const std::unique_ptr<Node> node = NodeWith(c.conf);
    const absl::StatusOr<ConfState> next = node->ApplyConfChange(c.change);
    CAPTURE(next.status());
    CHECK(next.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(next.status().message(), c.words));
    CHECK(node->conf_state() == c.conf);
  }
}

// Nodes that exchange every message at once and handle every Ready in full, in a fixed order:
// enough to drive a few steps of a small cluster by hand.
class Cluster {
 public:
  explicit Cluster(const std::vector<NodeId>& voters) {
    for (NodeId id : voters) {
      absl::StatusOr<std::unique_ptr<Node>> node =
          Node::Create(NodeOptions{.id = id, .random_seed = id}, InitialState::Bootstrap(voters));
      REQUIRE(node.ok());
      nodes_[id] = std::move(*node);
    }
  }

  Node& node(NodeId id) { return *nodes_.at(id); }

  // Handles Readys and delivers messages until nothing is left to do.
  void Settle() {
    for (int round = 0; round < 1000; ++round) {
      bool busy = false;
      for (auto& [id, node] : nodes_) {
        while (node->HasReady()) {
          busy = true;
          Ready ready = node->GetReady();
          for (Message& message : ready.messages) in_flight_.push_back(std::move(message));
          for (const Entry& entry : ready.committed_entries) {
            if (entry.type != EntryType::kConfChange) continue;
            const absl::StatusOr<ConfChange> change = DecodeConfChange(entry.data);
            REQUIRE(change.ok());
            REQUIRE(node->ApplyConfChange(*change).ok());
          }
          node->Advance(ready);
        }
      }
      while (!in_flight_.empty()) {
        busy = true;
        const Message message = std::move(in_flight_.front());
        in_flight_.pop_front();
        if (isolated_.contains(message.from) || isolated_.contains(message.to)) continue;
        if (auto it = nodes_.find(message.to); it != nodes_.end()) {
          const absl::Status status = it->second->Step(message);
          CAPTURE(status);
          REQUIRE(status.ok());
        }
      }
      if (!busy) return;
    }
    FAIL("the cluster did not settle");
  }

  // Drops every message to or from `id` from now on.
  void Isolate(NodeId id) { isolated_.insert(id); }

  void Tick(int ticks) {
    for (int i = 0; i < ticks; ++i) {
      for (auto& [id, node] : nodes_) node->Tick();
      Settle();
    }
  }

 private:
  std::map<NodeId, std::unique_ptr<Node>> nodes_;
  std::deque<Message> in_flight_;
  std::set<NodeId> isolated_;
};

void ElectNodeOne(Cluster& cluster) {
  REQUIRE(cluster.node(1).Campaign().ok());
  cluster.Settle();
  REQUIRE(cluster.node(1).role() == Role::kLeader);
}

// A joint configuration with the same voters and one more learner: no other node needs to exist.
ConfChange JointAddingLearnerFour() {
  return ConfChange{.transition = ConfChangeTransition::kJointImplicit,
                    .changes = {{ConfChangeType::kAddLearner, 4}},
                    .context = ""};
}

TEST_CASE("ProposeConfChange refuses what ApplyConfChange would and one change at a time") {
  Cluster cluster({1});
  ElectNodeOne(cluster);
  Node& leader = cluster.node(1);
  const auto single = [](ConfChangeType type, NodeId id) {
    return ConfChange{
        .transition = ConfChangeTransition::kAuto, .changes = {{type, id}}, .context = ""};
  };
  const uint64_t last = leader.last_index();
  for (const auto& [change, words] : std::vector<std::pair<ConfChange, std::string>>{
           {single(ConfChangeType::kRemoveNode, 5), "cannot remove node 5"},
           {single(ConfChangeType::kRemoveNode, 1), "cannot remove every voter"},
           {ConfChange{}, "is not joint"}}) {
    const absl::StatusOr<uint64_t> index = leader.ProposeConfChange(change);
    CAPTURE(index.status());
    CHECK(index.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(index.status().message(), words));
  }
  CHECK(leader.last_index() == last);

  const absl::StatusOr<uint64_t> index =
      leader.ProposeConfChange(single(ConfChangeType::kAddLearner, 2));
  REQUIRE(index.ok());
  const absl::StatusOr<uint64_t> second =
      leader.ProposeConfChange(single(ConfChangeType::kAddLearner, 3));
  CHECK(second.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(second.status().message(), base::Cat("pending at index ", *index)));
  cluster.Settle();
  CHECK(leader.conf_state().learners == std::vector<NodeId>{2});
  CHECK(leader.ProposeConfChange(single(ConfChangeType::kAddLearner, 3)).ok());
}

TEST_CASE("A joint configuration is left automatically even when leadership moves meanwhile") {
  Cluster cluster({1, 2, 3});
  ElectNodeOne(cluster);
  // Enter a joint configuration and, while its entry is being replicated, hand leadership to node
  // 2. Node 1 applies the entry while the transfer is under way (it may not propose then).
  REQUIRE(cluster.node(1).ProposeConfChange(JointAddingLearnerFour()).ok());
  REQUIRE(cluster.node(1).TransferLeadership(2).ok());
  cluster.Settle();
  CHECK(cluster.node(2).role() == Role::kLeader);
  // The new leader leaves the joint configuration once it has committed an entry of its term.
  cluster.Tick(3);
  for (NodeId id : {1, 2, 3}) {
    CAPTURE(id);
    const ConfState& conf = cluster.node(id).conf_state();
    CHECK(!conf.joint());
    CHECK(conf.voters == std::vector<NodeId>{1, 2, 3});
    CHECK(conf.learners == std::vector<NodeId>{4});
  }
}

TEST_CASE("A leader that could not leave a joint configuration at once leaves it later") {
  Cluster cluster({1, 2, 3});
  ElectNodeOne(cluster);
  // Node 1 applies the joint entry while handing leadership to node 3, which is cut off: it cannot
  // propose leaving then. The transfer is abandoned after an election timeout, and node 1, still
  // the leader, must then leave the joint configuration by itself.
  cluster.Isolate(3);
  REQUIRE(cluster.node(1).ProposeConfChange(JointAddingLearnerFour()).ok());
  REQUIRE(cluster.node(1).TransferLeadership(3).ok());
  cluster.Settle();
  REQUIRE(cluster.node(1).conf_state().joint());
  CHECK(cluster.node(1).status().transferee == 3);
  cluster.Tick(12);
  CHECK(cluster.node(1).role() == Role::kLeader);
  CHECK(cluster.node(1).status().transferee == kNoNode);
  for (NodeId id : {1, 2}) {
    CAPTURE(id);
    CHECK(!cluster.node(id).conf_state().joint());
    CHECK(cluster.node(id).conf_state().learners == std::vector<NodeId>{4});
  }
}

}  // namespace
}  // namespace keel::raft
