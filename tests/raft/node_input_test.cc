// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Bad input to Node: options and initial states Node::Create must refuse, naming the field; and
// messages Step must refuse (kInvalidArgument naming what is wrong) while leaving the node
// exactly as it was, in every role. Then random well-addressed messages with arbitrary fields,
// stepped into followers, candidates and leaders with logs and snapshots: whatever a broken or
// confused peer sends, the node answers with a status, never a crash (ASan and UBSan watch).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "keel/base/coding.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/raft/codec.h"
#include "keel/raft/node.h"
#include "testing/testing.h"

namespace keel::raft {
namespace {

constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();

// Everything a node shows of itself, to compare before and after.
std::string Describe(const Node& node) {
  const NodeStatus s = node.status();
  std::string out = base::Cat(
      "id=", s.id, " role=", RoleName(s.role), " leader=", s.leader, " term=", s.term,
      " vote=", s.vote, " commit=", s.commit, " applied=", s.applied, " first=", s.first_index,
      " last=", s.last_index, " transferee=", s.transferee, " ready=", node.HasReady(), " voters=");
  for (NodeId id : s.conf.voters) out += base::Cat(id, ",");
  out += " outgoing=";
  for (NodeId id : s.conf.voters_outgoing) out += base::Cat(id, ",");
  out += " learners=";
  for (NodeId id : s.conf.learners) out += base::Cat(id, ",");
  out += " match=";
  for (const auto& [id, match] : s.match) out += base::Cat(id, ":", match, ",");
  return out;
}

NodeOptions Options() {
  NodeOptions options;
  options.id = 1;
  options.random_seed = 7;
  options.snapshot_chunk_bytes = 4;
  options.max_inflight_appends = 2;
  options.max_bytes_per_append = 16;
  return options;
}

// Starts from a configuration at index 0 of term 0 (where InitialState::Bootstrap puts it at 1),
// so that the logs below count from 1.
std::unique_ptr<Node> Create(const NodeOptions& options = Options()) {
  InitialState initial;
  initial.snapshot.metadata.conf.voters = {1, 2, 3};
  absl::StatusOr<std::unique_ptr<Node>> node = Node::Create(options, std::move(initial));
  REQUIRE(node.ok());
  return std::move(*node);
}

// Handles every Ready as an application would (nothing is sent anywhere), applying the
// membership changes that decode and apply.
void Drain(Node& node) {
  while (node.HasReady()) {
    const Ready ready = node.GetReady();
    for (const Entry& entry : ready.committed_entries) {
      if (entry.type != EntryType::kConfChange) continue;
      if (absl::StatusOr<ConfChange> change = DecodeConfChange(entry.data); change.ok()) {
        (void)node.ApplyConfChange(*change);
      }
    }
    node.Advance(ready);
  }
}

Message To1(MessageType type, NodeId from, uint64_t term) {
  Message message;
  message.type = type;
  message.from = from;
  message.to = 1;
  message.term = term;
  return message;
}

Entry MakeEntry(uint64_t index, uint64_t term, std::string data = "x") {
  Entry entry;
  entry.index = index;
  entry.term = term;
  entry.data = std::move(data);
  return entry;
}

// Node 2, the leader of `term`, appends entries 1..last of its term to a new node and commits up to
// `commit`; the node persists and applies them.
void FollowLeader(Node& node, uint64_t term, uint64_t last, uint64_t commit) {
  Message append = To1(MessageType::kAppend, 2, term);
  for (uint64_t index = 1; index <= last; ++index) append.entries.push_back(MakeEntry(index, term));
  append.commit = commit;
  REQUIRE(node.Step(append).ok());
  Drain(node);
}

// Node 1 as a follower of node 2 in term 2, with entries 1..6 (1..4 committed and applied) and a
// snapshot at 2.
std::unique_ptr<Node> Follower() {
  std::unique_ptr<Node> node = Create();
  FollowLeader(*node, /*term=*/2, /*last=*/6, /*commit=*/4);
  REQUIRE(node->Compact(2, "snapshot").ok());
  REQUIRE(node->role() == Role::kFollower);
  return node;
}

// Node 1 as the leader of term 1, elected by votes stepped in by hand, with entries committed
// (node 2 acknowledged them), a snapshot at 3, and node 3 never heard from.
std::unique_ptr<Node> Leader() {
  std::unique_ptr<Node> node = Create();
  REQUIRE(node->Campaign().ok());  // a pre-vote first
  Message granted = To1(MessageType::kPreVoteResponse, 2, 1);
  REQUIRE(node->Step(granted).ok());
  granted.type = MessageType::kVoteResponse;
  REQUIRE(node->Step(granted).ok());
  REQUIRE(node->role() == Role::kLeader);
  for (int i = 0; i < 5; ++i) REQUIRE(node->Propose(std::string(5, 'p')).ok());
  Drain(*node);
  Message ack = To1(MessageType::kAppendResponse, 2, 1);
  ack.index = node->last_index();
  REQUIRE(node->Step(ack).ok());
  Drain(*node);
  REQUIRE(node->commit_index() == node->last_index());
  REQUIRE(node->Compact(3, "leader's snapshot").ok());
  return node;
}

std::unique_ptr<Node> Candidate(bool pre_vote) {
  NodeOptions options = Options();
  options.pre_vote = pre_vote;
  std::unique_ptr<Node> node = Create(options);
  REQUIRE(node->Campaign().ok());
  Drain(*node);
  REQUIRE(node->role() == (pre_vote ? Role::kPreCandidate : Role::kCandidate));
  return node;
}

TEST_CASE("Node::Create refuses each bad option naming the field and the value") {
  struct Case {
    std::function<void(NodeOptions&)> set;
    std::string words;
  };
  const std::vector<Case> cases = {
      {[](NodeOptions& o) { o.id = kNoNode; }, "NodeOptions.id is not set"},
      {[](NodeOptions& o) { o.heartbeat_ticks = 0; }, "NodeOptions.heartbeat_ticks 0"},
      {[](NodeOptions& o) { o.heartbeat_ticks = -3; }, "NodeOptions.heartbeat_ticks -3"},
      {[](NodeOptions& o) { o.election_ticks = 1; }, "NodeOptions.election_ticks 1"},
      {[](NodeOptions& o) { o.election_ticks = std::numeric_limits<int>::max(); },
       "NodeOptions.election_ticks 2147483647"},
      {[](NodeOptions& o) { o.max_bytes_per_append = 0; }, "NodeOptions.max_bytes_per_append 0"},
      {[](NodeOptions& o) { o.snapshot_chunk_bytes = 0; }, "NodeOptions.snapshot_chunk_bytes 0"},
      {[](NodeOptions& o) { o.snapshot_chunk_bytes = kMax64; },
       base::Cat("NodeOptions.snapshot_chunk_bytes ", kMax64)},
      {[](NodeOptions& o) { o.max_committed_bytes_per_ready = 0; },
       "NodeOptions.max_committed_bytes_per_ready 0"},
      {[](NodeOptions& o) { o.max_inflight_appends = 0; }, "NodeOptions.max_inflight_appends 0"},
      {[](NodeOptions& o) { o.max_inflight_appends = std::numeric_limits<uint32_t>::max(); },
       "NodeOptions.max_inflight_appends 4294967295"},
      {[](NodeOptions& o) {
         o.read_only = ReadOnlyMode::kLeaseBased;
         o.check_quorum = false;
       },
       "NodeOptions.check_quorum"},
      {[](NodeOptions& o) {
         o.read_only = ReadOnlyMode::kLeaseBased;
         o.read_lease_drift_ticks = -1;
       },
       "NodeOptions.read_lease_drift_ticks -1"},
      {[](NodeOptions& o) {
         o.read_only = ReadOnlyMode::kLeaseBased;
         o.read_lease_drift_ticks = o.election_ticks;
       },
       "NodeOptions.read_lease_drift_ticks 10"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.words);
    NodeOptions options;
    options.id = 1;
    c.set(options);
    const absl::StatusOr<std::unique_ptr<Node>> node =
        Node::Create(options, InitialState::Bootstrap({1, 2, 3}));
    CAPTURE(node.status());
    CHECK(node.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(node.status().message(), c.words));
  }
}

TEST_CASE("Node::Create refuses an initial log with a gap or with terms past the hard state") {
  InitialState initial = InitialState::Bootstrap({1, 2, 3});
  initial.snapshot.metadata.index = 3;
  initial.snapshot.metadata.term = 1;
  initial.hard_state.term = 2;
  initial.entries = {MakeEntry(4, 1), MakeEntry(5, 2), MakeEntry(7, 2)};
  absl::StatusOr<std::unique_ptr<Node>> node = Node::Create(Options(), initial);
  CHECK(node.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(
      absl::StrContains(node.status().message(), "initial entry has index 7 where 6 was expected"));

  initial.entries = {MakeEntry(3, 1)};  // not after the snapshot
  node = Node::Create(Options(), initial);
  CHECK(
      absl::StrContains(node.status().message(), "initial entry has index 3 where 4 was expected"));

  initial.entries = {MakeEntry(4, 1), MakeEntry(5, 3)};
  node = Node::Create(Options(), initial);
  CHECK(node.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(node.status().message(),
                          "initial log has term 3 past the hard state's term 2"));

  initial.entries = {MakeEntry(4, 1), MakeEntry(5, 2)};
  CHECK(Node::Create(Options(), initial).ok());
}

// Messages Step must refuse in any role, with the words the refusal must contain. They carry a
// term above the node's, which would make it a follower if it took them.
std::vector<std::pair<Message, std::string>> MalformedMessages(uint64_t node_term) {
  const uint64_t term = node_term + 2;
  std::vector<std::pair<Message, std::string>> cases;
  const auto add = [&](Message message, std::string words) {
    cases.emplace_back(std::move(message), std::move(words));
  };
  Message m = To1(MessageType::kHeartbeat, 2, term);
  m.to = 2;
  add(m, "Heartbeat for node 2 was given to node 1");
  m.to = kNoNode;
  add(m, base::Cat("Heartbeat for node ", kNoNode, " was given to node 1"));
  for (const int type : {kMessageTypeCount, 99, 255}) {
    m = To1(static_cast<MessageType>(type), 2, term);
    add(m, base::Cat("unknown message type ", type));
  }
  m = To1(MessageType::kAppendResponse, kNoNode, term);
  add(m, base::Cat("AppendResponse has a bad sender ", kNoNode));
  m = To1(MessageType::kVote, 1, term + 1);
  add(m, "Vote has a bad sender 1");

  Message append = To1(MessageType::kAppend, 2, term);
  append.index = 3;
  append.log_term = 1;
  m = append;
  m.entries = {MakeEntry(4, 1), MakeEntry(6, 1)};
  add(m, "has entry 6 (term 1) where index 5");
  m.entries = {MakeEntry(5, 1)};
  add(m, "has entry 5 (term 1) where index 4");
  m.entries = {MakeEntry(4, term), MakeEntry(5, 1)};
  add(m, base::Cat("has entry 5 (term 1) where index 5 with a term in [", term));
  m.entries = {MakeEntry(4, term + 1)};
  add(m, base::Cat("has entry 4 (term ", term + 1, ")"));
  m.log_term = term;
  m.entries = {MakeEntry(4, term - 1)};
  add(m, base::Cat("has entry 4 (term ", term - 1, ") where index 4 with a term in [", term));
  m = append;
  m.index = kMax64;
  m.entries = {MakeEntry(0, 1)};
  add(m, "previous index overflows");

  m = To1(MessageType::kSnapshot, 2, term);
  m.snapshot.index = 50;
  m.snapshot.term = 1;
  m.snapshot_offset = kMax64 - 2;
  m.snapshot_chunk = "abcde";
  add(m, base::Cat("Snapshot chunk at offset ", kMax64 - 2, " overflows"));
  m.snapshot_offset = 0;
  m.snapshot.term = term + 1;
  add(m, base::Cat("snapshot of term ", term + 1, " in a message of term ", term));
  return cases;
}

void CheckRefusesMalformed(Node& node) {
  for (const auto& [message, words] : MalformedMessages(node.term())) {
    CAPTURE(words);
    const std::string before = Describe(node);
    const absl::Status status = node.Step(message);
    CAPTURE(status);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(status.message(), words));
    CHECK(Describe(node) == before);
  }
}

TEST_CASE("Step refuses malformed messages and leaves a follower unchanged") {
  CheckRefusesMalformed(*Follower());
  CheckRefusesMalformed(*Create());
}

TEST_CASE("Step refuses malformed messages and leaves a candidate unchanged") {
  CheckRefusesMalformed(*Candidate(/*pre_vote=*/true));
  CheckRefusesMalformed(*Candidate(/*pre_vote=*/false));
}

TEST_CASE("Step refuses malformed messages and leaves a leader unchanged") {
  CheckRefusesMalformed(*Leader());
}

TEST_CASE("A leader refuses acknowledgements of entries or snapshot bytes it never sent") {
  std::unique_ptr<Node> leader = Leader();
  const uint64_t last = leader->last_index();
  const uint64_t term = leader->term();

  // An acknowledgement past the leader's log would count the follower for entries appended later.
  Message ack = To1(MessageType::kAppendResponse, 2, term);
  ack.index = last + 5;
  std::string before = Describe(*leader);
  absl::Status status = leader->Step(ack);
  CAPTURE(status);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(status.message(), base::Cat("AppendResponse from 2 acknowledges index ",
                                                      last + 5, " past the last entry ", last)));
  CHECK(Describe(*leader) == before);

  // Node 3 has nothing: it rejects, and the leader, whose log starts after its snapshot at 3,
  // sends the snapshot in chunks of 4 bytes.
  // (Its first append, at index 0, is still unanswered.)
  Message reject = To1(MessageType::kAppendResponse, 3, term);
  reject.reject = true;
  reject.index = 0;
  REQUIRE(leader->Step(reject).ok());
  Ready ready = leader->GetReady();
  const std::vector<Message> sent = ready.messages;
  leader->Advance(ready);
  const auto chunk = std::find_if(sent.begin(), sent.end(), [](const Message& message) {
    return message.to == 3 && message.type == MessageType::kSnapshot;
  });
  REQUIRE(chunk != sent.end());
  const uint64_t size = std::string("leader's snapshot").size();
  CHECK(chunk->snapshot.index == 3);

  // A response claiming more bytes than the snapshot has: once the leader resent from there, it
  // read past the end of the snapshot.
  Message bogus = To1(MessageType::kSnapshotResponse, 3, term);
  bogus.snapshot.index = 3;
  bogus.snapshot_offset = size + 1;
  before = Describe(*leader);
  status = leader->Step(bogus);
  CAPTURE(status);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(status.message(), base::Cat("SnapshotResponse from 3 acknowledges ",
                                                      size + 1, " bytes of a snapshot of ", size)));
  CHECK(Describe(*leader) == before);
  // Heartbeat responses without progress make the leader resend from the acknowledged byte.
  for (int i = 0; i < 3; ++i) {
    CHECK(leader->Step(To1(MessageType::kHeartbeatResponse, 3, term)).ok());
    Drain(*leader);
  }
  // The whole snapshot, acknowledged, is fine.
  bogus.snapshot_offset = size;
  CHECK(leader->Step(bogus).ok());
}

TEST_CASE("A follower that already holds a snapshot's last entry acknowledges only the snapshot") {
  // Entries 1..12 of term 1 from the leader of term 1 (node 2), 1..5 of them committed.
  std::unique_ptr<Node> node = Create();
  FollowLeader(*node, /*term=*/1, /*last=*/12, /*commit=*/5);
  // The leader of term 2 (node 3) kept 1..8 and wrote entries of its own after them; it sends its
  // snapshot at 8 (a lost acknowledgement made it think this node lacks it). This node keeps its
  // log, which has entry 8, but entries 9..12 are not the leader's: acknowledging them would let
  // the leader count this node towards its own 9..12.
  Message chunk = To1(MessageType::kSnapshot, 3, 2);
  chunk.snapshot.index = 8;
  chunk.snapshot.term = 1;
  chunk.snapshot.conf.voters = {1, 2, 3};
  chunk.snapshot_chunk = "state";
  chunk.snapshot_done = true;
  REQUIRE(node->Step(chunk).ok());
  const Ready ready = node->GetReady();
  const auto ack = std::find_if(ready.messages.begin(), ready.messages.end(), [](const Message& m) {
    return m.to == 3 && m.type == MessageType::kAppendResponse;
  });
  REQUIRE(ack != ready.messages.end());
  CHECK(!ack->reject);
  CHECK(ack->index == 8);
  CHECK(node->commit_index() == 8);
  node->Advance(ready);
}

// A random message to node 1 whose fields are near the node's own positions, or anywhere.
Message RandomMessage(base::Random& rng, const Node& node) {
  const uint64_t term = node.term();
  const uint64_t last = node.last_index();
  const auto near = [&]() -> uint64_t {
    switch (rng.Uniform(6)) {
      case 0:
        return 0;
      case 1:
        return last + rng.Uniform(3);
      case 2:
        return node.commit_index() + rng.Uniform(3);
      case 3:
        return node.status().first_index - 1 + rng.Uniform(3);
      case 4:
        return rng.Uniform(last + 4);
      default:
        return rng.Next() >> rng.Uniform(64);
    }
  };
  Message m;
  m.type = static_cast<MessageType>(rng.Uniform(kMessageTypeCount));
  m.from = 2 + rng.Uniform(3);  // 4 is not a member
  m.to = 1;
  // Mostly the node's term: a higher one ends a leader's or candidate's role at once.
  const uint64_t pick = rng.Uniform(20);
  m.term = pick < 3 ? term - std::min<uint64_t>(term, 1) : pick < 19 ? term : term + 1;
  m.index = near();
  m.log_term = rng.Uniform(m.term + 1);
  const size_t count = m.index > kMax64 - 3 ? 0 : rng.Uniform(4);
  uint64_t entry_term = m.log_term;
  for (size_t i = 0; i < count; ++i) {
    entry_term += rng.Uniform(m.term - entry_term + 1);
    Entry entry = MakeEntry(m.index + 1 + i, entry_term, std::string(rng.Uniform(6), 'e'));
    if (rng.Bernoulli(0.2)) {
      entry.type = EntryType::kConfChange;
      ConfChange change;
      change.transition = static_cast<ConfChangeTransition>(rng.Uniform(3));
      if (rng.Bernoulli(0.8)) {
        change.changes.push_back({static_cast<ConfChangeType>(rng.Uniform(3)), 1 + rng.Uniform(5)});
      }
      entry.data = rng.Bernoulli(0.9) ? EncodeConfChange(change) : "not a change";
    }
    m.entries.push_back(std::move(entry));
  }
  m.commit = near();
  m.reject = rng.Bernoulli(0.3);
  m.reject_hint = near();
  m.snapshot.index = near();
  m.snapshot.term = rng.Uniform(m.term + 1);
  for (NodeId id = 1; id <= 4; ++id) {
    if (rng.Bernoulli(0.6)) m.snapshot.conf.voters.push_back(id);
  }
  m.snapshot_offset = rng.Bernoulli(0.5) ? 0 : rng.Uniform(24);
  m.snapshot_chunk = std::string(rng.Uniform(8), 's');
  m.snapshot_done = rng.Bernoulli(0.5);
  if (rng.Bernoulli(0.5)) {
    base::PutVarint64(m.context, rng.Uniform(20));  // a read-index round
  } else if (rng.Bernoulli(0.3)) {
    m.context = "transfer";
  }
  return m;
}

TEST_CASE("Random well-addressed messages never crash a node in any role") {
  const uint64_t seed = keel::testing::TestSeed(701);
  const uint64_t runs = keel::testing::TestRounds("KEEL_RAFT_STEP_FUZZ_RUNS", 120);
  for (uint64_t run = 0; run < runs; ++run) {
    const uint64_t run_seed = seed + run;
    CAPTURE(run_seed);
    base::Random rng(run_seed);
    std::unique_ptr<Node> node;
    switch (run % 4) {
      case 0:
        node = Follower();
        break;
      case 1:
        node = Leader();
        break;
      case 2:
        node = Candidate(/*pre_vote=*/true);
        break;
      default:
        node = Candidate(/*pre_vote=*/false);
        break;
    }
    for (int step = 0; step < 300; ++step) {
      CAPTURE(step);
      switch (rng.Uniform(10)) {
        case 0:
          node->Tick();
          break;
        case 1:
          if (node->role() == Role::kLeader) (void)node->Propose("command");
          if (rng.Bernoulli(0.3)) (void)node->TransferLeadership(2 + rng.Uniform(3));
          if (rng.Bernoulli(0.3)) (void)node->ReadIndex("read");
          break;
        case 2:
          if (node->applied_index() > node->status().first_index) {
            CHECK(node->Compact(node->applied_index(), "snap").ok());
          }
          break;
        default: {
          const Message message = RandomMessage(rng, *node);
          CAPTURE(MessageTypeName(message.type));
          const std::string before = Describe(*node);
          const absl::Status status = node->Step(message);
          if (!status.ok()) {
            CAPTURE(status);
            // Refusals leave the node as it was; only a leader's own term being claimed by
            // another leader is an internal error.
            CHECK((status.code() == absl::StatusCode::kInvalidArgument ||
                   status.code() == absl::StatusCode::kInternal));
            CHECK(Describe(*node) == before);
          }
          break;
        }
      }
      Drain(*node);
    }
  }
}

}  // namespace
}  // namespace keel::raft
