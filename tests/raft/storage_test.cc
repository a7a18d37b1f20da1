// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel::raft::Storage: round trips of each kind of change, bad input, a randomized differential
// run against the in-memory model, and real nodes restarted from their storage. Crashes and
// damage are in storage_crash_test.cc.
#include "keel/raft/storage.h"

#include <doctest/doctest.h>

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/raft/codec.h"
#include "keel/wal/fault_injecting_file_system.h"
#include "keel/wal/memory_file_system.h"
#include "raft/storage_testing.h"
#include "testing/testing.h"

namespace keel::raft {
namespace {

using namespace storage_testing;  // NOLINT: the shared helpers are the vocabulary of these tests

constexpr char kDir[] = "/node";

Entry MakeEntry(uint64_t index, uint64_t term, std::string data = "") {
  return Entry{.term = term, .index = index, .data = data.empty() ? base::Cat("e", index) : data};
}

Ready EntriesReady(std::vector<Entry> entries, std::optional<HardState> hard = std::nullopt) {
  Ready ready;
  ready.hard_state = hard;
  ready.entries = std::move(entries);
  ready.must_sync = true;
  return ready;
}

// Reopens the storage and checks it against what the test expects.
void ExpectRecovered(wal::FileSystem& fs, const HardState& hard, const Snapshot& snapshot,
                     const std::vector<Entry>& entries) {
  absl::StatusOr<InitialState> got = Recover(kDir, TestOptions(&fs));
  REQUIRE_MESSAGE(got.ok(), got.status());
  CHECK(got->hard_state == hard);
  CHECK(got->snapshot.metadata == snapshot.metadata);
  CHECK(got->snapshot.bytes() == snapshot.bytes());
  CHECK(got->entries == entries);
}

TEST_CASE("A new directory starts from the bootstrap configuration and reopens to it") {
  wal::MemoryFileSystem fs;
  StorageRecovery report;
  {
    auto storage = Storage::Open(kDir, TestOptions(&fs), {2, 0, 1}, &report);
    REQUIRE_MESSAGE(storage.ok(), storage.status());
    CHECK(report.created);
    const InitialState initial = (*storage)->TakeInitialState();
    CHECK(initial.snapshot.metadata.conf.voters == std::vector<NodeId>{0, 1, 2});
    CHECK(initial.hard_state == InitialState::Bootstrap({0, 1, 2}).hard_state);
    CHECK(initial.entries.empty());
    CHECK((*storage)->stats().last_index == 1);  // the configuration is a snapshot at 1
  }
  // The directory keeps its own configuration: other voters are ignored.
  auto storage = Storage::Open(kDir, TestOptions(&fs), {7}, &report);
  REQUIRE(storage.ok());
  CHECK_FALSE(report.created);
  CHECK((*storage)->TakeInitialState().snapshot.metadata.conf.voters ==
        std::vector<NodeId>{0, 1, 2});
}

TEST_CASE("A node that will join a cluster starts with no configuration") {
  wal::MemoryFileSystem fs;
  absl::StatusOr<InitialState> got = Recover(kDir, TestOptions(&fs), {});
  REQUIRE(got.ok());
  CHECK(got->snapshot.metadata == SnapshotMetadata{});
  got = Recover(kDir, TestOptions(&fs), {});
  REQUIRE(got.ok());
  CHECK(got->snapshot.metadata.conf.voters.empty());
}

TEST_CASE("Entries a term and a vote survive a reopen and a conflicting suffix is replaced") {
  wal::MemoryFileSystem fs;
  const Snapshot bootstrap = InitialState::Bootstrap({0, 1, 2}).snapshot;
  {
    auto storage = *Storage::Open(kDir, TestOptions(&fs), {0, 1, 2});
    REQUIRE(storage->Save(EntriesReady(Entries(2, 10, 2), HardState{2, 1, 1})).ok());
    // Commit 6; then a leader of term 3 replaces 8 to 10 and adds 11.
    Ready commit;
    commit.hard_state = HardState{2, 1, 6};
    REQUIRE(storage->Save(commit).ok());
    REQUIRE(storage->Save(EntriesReady(Entries(8, 11, 3), HardState{3, 2, 6})).ok());
    CHECK(storage->stats().last_index == 11);
  }
  std::vector<Entry> want = Entries(2, 7, 2);
  for (const Entry& entry : Entries(8, 11, 3)) want.push_back(entry);
  // The commit index was written with term 3, when entries up to 7 were durable and kept.
  ExpectRecovered(fs, HardState{3, 2, 6}, bootstrap, want);
}

TEST_CASE("A received snapshot replaces the log and entries after it follow") {
  wal::MemoryFileSystem fs;
  const Snapshot snapshot = MakeSnapshot(20, 4, "state at 20", {0, 1});
  {
    auto storage = *Storage::Open(kDir, TestOptions(&fs), {0, 1, 2});
    REQUIRE(storage->Save(EntriesReady(Entries(2, 12, 2), HardState{2, 1, 3})).ok());
    Ready install;
    install.hard_state = HardState{4, kNoNode, 20};
    install.snapshot = snapshot;
    install.entries = Entries(21, 23, 4);
    install.must_sync = true;
    REQUIRE(storage->Save(install).ok());
    CHECK(storage->stats().snapshot_index == 20);
    CHECK(storage->stats().last_index == 23);
    REQUIRE(storage->Save(EntriesReady(Entries(24, 25, 4))).ok());
  }
  // The commit index written with term 4 was clamped to the old commit (the old log could
  // disagree with the snapshot past it); the snapshot's own index is committed.
  ExpectRecovered(fs, HardState{4, kNoNode, 20}, snapshot, Entries(21, 25, 4));
}

TEST_CASE("A local snapshot compacts the log and reopen skips the entries it covers") {
  wal::MemoryFileSystem fs;
  const std::string big(300, 'x');
  std::vector<Entry> all;
  for (uint64_t index = 2; index <= 61; ++index) all.push_back(MakeEntry(index, 1, big));
  {
    auto storage = *Storage::Open(kDir, TestOptions(&fs), {0});
    REQUIRE(storage->Save(EntriesReady(all, HardState{1, 0, 50})).ok());
    const size_t segments = storage->stats().log_segments;
    CHECK(segments > 3);
    REQUIRE(storage->SaveSnapshot(MakeSnapshot(45, 1, "state at 45", {0})).ok());
    CHECK(storage->stats().log_segments < segments);
    CHECK(storage->stats().snapshot_index == 45);
  }
  StorageRecovery report;
  auto storage = Storage::Open(kDir, TestOptions(&fs), {0}, &report);
  REQUIRE(storage.ok());
  CHECK(report.covered_entries > 0);  // whole segments only: some of 1 to 45 are still there
  const InitialState got = (*storage)->TakeInitialState();
  CHECK(got.snapshot.metadata.index == 45);
  CHECK(got.entries == std::vector<Entry>(all.begin() + 44, all.end()));  // 46 on
  // The commit index was written before the entries (with a vote): only the configuration at
  // index 1 was durable then.
  CHECK(got.hard_state.commit == 45);
}

TEST_CASE("A Ready that only moves the commit index costs no fsync") {
  wal::MemoryFileSystem fs;
  auto storage = *Storage::Open(kDir, TestOptions(&fs), {0});
  REQUIRE(storage->Save(EntriesReady(Entries(2, 4, 1), HardState{1, 0, 1})).ok());
  const StorageStats before = storage->stats();
  Ready commit;
  commit.hard_state = HardState{1, 0, 4};
  REQUIRE(storage->Save(commit).ok());
  CHECK(storage->stats().syncs == before.syncs);
  CHECK(storage->stats().hard_state_writes == before.hard_state_writes);
  // Entries cost one fsync of the log; a new term two more (the file and its directory).
  REQUIRE(storage->Save(EntriesReady(Entries(5, 5, 1))).ok());
  CHECK(storage->stats().syncs == before.syncs + 1);
  REQUIRE(storage->Save(EntriesReady(Entries(6, 6, 2), HardState{2, 0, 4})).ok());
  CHECK(storage->stats().syncs == before.syncs + 4);
  CHECK(storage->stats().entries_written == 5);
}

TEST_CASE("A Ready larger than a segment is appended in batches that fit") {
  wal::MemoryFileSystem fs;
  std::vector<Entry> entries;
  for (uint64_t index = 2; index <= 41; ++index) {
    entries.push_back(MakeEntry(index, 1, std::string(1000 + index, 'a')));
  }
  {
    auto storage = *Storage::Open(kDir, TestOptions(&fs), {0});
    REQUIRE(storage->Save(EntriesReady(entries, HardState{1, 0, 1})).ok());
    CHECK(storage->stats().log_segments >= 10);
  }
  ExpectRecovered(fs, HardState{1, 0, 1}, InitialState::Bootstrap({0}).snapshot, entries);
}

TEST_CASE("A second Storage on the same directory is refused while the first is open") {
  wal::MemoryFileSystem fs;
  auto first = *Storage::Open(kDir, TestOptions(&fs), {0});
  CHECK(Storage::Open(kDir, TestOptions(&fs), {0}).status().code() ==
        absl::StatusCode::kUnavailable);
  first.reset();
  CHECK(Storage::Open(kDir, TestOptions(&fs), {0}).ok());
}

TEST_CASE("Storage refuses bad options naming the field") {
  wal::MemoryFileSystem fs;
  StorageOptions options = TestOptions(&fs);
  options.max_segment_bytes = 100;
  absl::Status status = Storage::Open(kDir, options, {0}).status();
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(status.message(), "max_segment_bytes 100"));
  options = TestOptions(&fs);
  options.max_entry_bytes = 4096;
  status = Storage::Open(kDir, options, {0}).status();
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(status.message(), "max_entry_bytes 4096"));
}

TEST_CASE("Storage refuses Readys and snapshots that contradict what it holds and stays usable") {
  wal::MemoryFileSystem fs;
  auto storage = *Storage::Open(kDir, TestOptions(&fs), {0, 1, 2});
  REQUIRE(storage->Save(EntriesReady(Entries(2, 10, 3), HardState{3, 1, 5})).ok());
  auto refused = [&](const Ready& ready, const char* says) {
    const absl::Status status = storage->Save(ready);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK_MESSAGE(absl::StrContains(status.message(), says), status.message());
  };
  Ready ready;
  ready.hard_state = HardState{2, 1, 5};
  refused(ready, "term 2 is below the stored term 3");
  ready.hard_state = HardState{3, 2, 5};
  refused(ready, "changes the vote of term 3 from 1 to 2");
  refused(EntriesReady(Entries(12, 12, 3)), "start at index 12, outside [2, 11]");
  refused(EntriesReady(Entries(5, 6, 3)), "from index 5 would replace committed entries up to 5");
  refused(EntriesReady(Entries(11, 11, 4)), "entry 11 has term 4, outside [3, 3]");
  refused(EntriesReady(Entries(8, 9, 2)), "entry 8 has term 2, outside [3, 3]");
  std::vector<Entry> gap = Entries(11, 12, 3);
  gap[1].index = 13;
  refused(EntriesReady(gap), "entry 1 has index 13, not 12");
  refused(EntriesReady({MakeEntry(11, 3, std::string(3000, 'x'))}), "over max_entry_bytes 2048");
  Ready install;
  install.snapshot = MakeSnapshot(4, 3, "old");
  refused(install, "snapshot at index 4 is within the commit index 5");
  install.snapshot = MakeSnapshot(30, 9, "future");
  refused(install, "snapshot has term 9, above the term 3");

  auto refused_snapshot = [&](const Snapshot& snapshot, const char* says) {
    const absl::Status status = storage->SaveSnapshot(snapshot);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK_MESSAGE(absl::StrContains(status.message(), says), status.message());
  };
  refused_snapshot(MakeSnapshot(7, 3, ""), "is past the commit index 5");
  refused_snapshot(MakeSnapshot(4, 2, ""), "has term 2, but the entry there has term 3");
  REQUIRE(storage->SaveSnapshot(MakeSnapshot(4, 3, "at 4")).ok());
  refused_snapshot(MakeSnapshot(4, 3, ""), "is not newer than the stored one at 4");
  install.snapshot = MakeSnapshot(3, 3, "");
  install.hard_state = HardState{3, 1, 5};
  refused(install, "not newer than the stored one at 4");

  // Nothing refused was written, and the storage still takes good Readys.
  REQUIRE(storage->Save(EntriesReady(Entries(11, 11, 3))).ok());
  storage.reset();
  std::vector<Entry> want = Entries(5, 11, 3);
  // The hard state was written before entries 1 to 10: its commit index is the snapshot's.
  ExpectRecovered(fs, HardState{3, 1, 4}, MakeSnapshot(4, 3, "at 4"), want);
}

TEST_CASE("Storage refuses every write after an I/O error until it is reopened") {
  wal::MemoryFileSystem memory;
  wal::FaultInjectingFileSystem fs(memory);
  {
    auto storage = *Storage::Open(kDir, TestOptions(&fs), {0});
    REQUIRE(storage->Save(EntriesReady(Entries(2, 4, 1), HardState{1, 0, 1})).ok());
    fs.FailSyncs(true);
    CHECK_FALSE(storage->Save(EntriesReady(Entries(5, 5, 1))).ok());
    fs.FailSyncs(false);
    const absl::Status refused = storage->Save(EntriesReady(Entries(5, 5, 1)));
    CHECK(refused.code() == absl::StatusCode::kFailedPrecondition);
    CHECK(storage->SaveSnapshot(MakeSnapshot(1, 1, "")).code() ==
          absl::StatusCode::kFailedPrecondition);
  }
  REQUIRE(fs.PowerCut().ok());
  auto storage = *Storage::Open(kDir, TestOptions(&fs), {0});
  const InitialState got = storage->TakeInitialState();
  // Entry 5 was written but not synced: the power cut took it.
  CHECK(got.entries == Entries(2, 4, 1));
  REQUIRE(storage->Save(EntriesReady(Entries(5, 5, 1))).ok());
}

TEST_CASE("Storage matches the in-memory model through random saves snapshots and reopens") {
  const uint64_t seed = keel::testing::TestSeed(811);
  CAPTURE(seed);
  const uint64_t rounds = keel::testing::TestRounds("KEEL_RAFT_STORAGE_ROUNDS", 12);
  for (uint64_t round = 0; round < rounds; ++round) {
    CAPTURE(round);
    wal::MemoryFileSystem fs;
    Workload workload(seed + round, WorkloadOptions{.voters = {0, 1, 2}});
    auto storage = *Storage::Open(kDir, TestOptions(&fs), {0, 1, 2});
    REQUIRE(CheckExact(workload.model(), storage->TakeInitialState()).ok());
    for (int step = 0; step < 150; ++step) {
      CAPTURE(step);
      const Op op = workload.Next();
      CAPTURE(op.ToString());
      switch (op.kind) {
        case Op::Kind::kSave: {
          const absl::Status saved = storage->Save(op.ready);
          REQUIRE_MESSAGE(saved.ok(), saved);
          break;
        }
        case Op::Kind::kSaveSnapshot: {
          const absl::Status saved = storage->SaveSnapshot(op.snapshot);
          REQUIRE_MESSAGE(saved.ok(), saved);
          break;
        }
        case Op::Kind::kReopen: {
          storage.reset();
          auto reopened = Storage::Open(kDir, TestOptions(&fs), {0, 1, 2});
          REQUIRE_MESSAGE(reopened.ok(), reopened.status());
          storage = *std::move(reopened);
          const absl::Status same = CheckExact(workload.model(), storage->TakeInitialState());
          REQUIRE_MESSAGE(same.ok(), same);
          break;
        }
      }
      const StorageStats stats = storage->stats();
      REQUIRE(stats.snapshot_index == workload.model().snapshot_index());
      REQUIRE(stats.last_index == workload.model().last_index());
    }
    storage.reset();
    absl::StatusOr<InitialState> got = Recover(kDir, TestOptions(&fs));
    REQUIRE(got.ok());
    const absl::Status same = CheckExact(workload.model(), *got);
    REQUIRE_MESSAGE(same.ok(), same);
  }
}

// --- Real nodes on their storage.

// A cluster of nodes that persist to Storage and restart from it, with a network that delivers
// every message in order unless a node is cut off. Each node's application records the entries
// it applies, so that the test checks no two nodes apply different entries at an index.
class Cluster {
 public:
  Cluster(wal::FileSystem& fs, int size, uint64_t seed) : fs_(fs), rng_(seed), members_(size) {
    for (int i = 0; i < size; ++i) Start(i);
  }

  void Start(int i) {
    Member& m = members_[i];
    std::vector<NodeId> voters;
    for (size_t k = 0; k < members_.size(); ++k) voters.push_back(k);
    auto storage = Storage::Open(base::Cat("/node", i), TestOptions(&fs_), voters);
    REQUIRE_MESSAGE(storage.ok(), storage.status());
    m.storage = *std::move(storage);
    NodeOptions options{.id = static_cast<NodeId>(i), .election_ticks = 10, .heartbeat_ticks = 1};
    options.random_seed = rng_.Next();
    InitialState init = m.storage->TakeInitialState();
    auto node = Node::Create(options, std::move(init));
    REQUIRE_MESSAGE(node.ok(), node.status());
    m.node = *std::move(node);
    m.applied_since_snapshot = 0;
  }

  void Restart(int i) {
    members_[i].node.reset();
    members_[i].storage.reset();
    Start(i);
  }

  void Tick() {
    for (Member& m : members_) m.node->Tick();
  }

  // Handles every Ready and delivers every message until nothing is left to do.
  void Settle() {
    for (int rounds = 0; rounds < 1000; ++rounds) {
      bool busy = false;
      for (size_t i = 0; i < members_.size(); ++i) busy = Process(static_cast<int>(i)) || busy;
      while (!network_.empty()) {
        busy = true;
        Message message = std::move(network_.front());
        network_.pop_front();
        if (cut_[message.from] || cut_[message.to]) continue;
        REQUIRE(members_[message.to].node->Step(message).ok());
      }
      if (!busy) return;
    }
    FAIL("the cluster never settled");
  }

  Node& node(int i) { return *members_[i].node; }
  const std::map<uint64_t, Entry>& applied() const { return applied_; }
  int installs() const { return installs_; }
  Storage& storage(int i) { return *members_[i].storage; }
  void Cut(int i, bool cut) { cut_[i] = cut; }
  int Leader() const {
    for (size_t i = 0; i < members_.size(); ++i) {
      if (members_[i].node->role() == Role::kLeader && !cut_[i]) return static_cast<int>(i);
    }
    return -1;
  }

 private:
  struct Member {
    std::unique_ptr<Storage> storage;
    std::unique_ptr<Node> node;
    uint64_t applied_since_snapshot = 0;
  };

  bool Process(int i) {
    Member& m = members_[i];
    bool busy = false;
    while (m.node->HasReady()) {
      busy = true;
      Ready ready = m.node->GetReady();
      const absl::Status saved = m.storage->Save(ready);
      REQUIRE_MESSAGE(saved.ok(), saved);
      if (ready.snapshot) ++installs_;
      for (Message& message : ready.messages) network_.push_back(std::move(message));
      for (const Entry& entry : ready.committed_entries) {
        const auto [it, inserted] = applied_.try_emplace(entry.index, entry);
        REQUIRE_MESSAGE(it->second == entry, "node ", i, " applied entry ", entry.index, "@",
                        entry.term, " ", base::Quoted(entry.data), " where ", it->second.term, " ",
                        base::Quoted(it->second.data), " was applied");
        ++m.applied_since_snapshot;
      }
      m.node->Advance(ready);
      if (m.applied_since_snapshot >= 7) {
        absl::StatusOr<Snapshot> snapshot = m.node->Compact(
            m.node->applied_index(), base::Cat("applied ", m.node->applied_index()));
        if (snapshot.ok()) {
          const absl::Status saved_snapshot = m.storage->SaveSnapshot(*snapshot);
          REQUIRE_MESSAGE(saved_snapshot.ok(), saved_snapshot);
        }
        m.applied_since_snapshot = 0;
      }
    }
    return busy;
  }

  wal::FileSystem& fs_;
  base::Random rng_;
  std::vector<Member> members_;
  std::deque<Message> network_;
  std::vector<bool> cut_ = std::vector<bool>(8, false);
  std::map<uint64_t, Entry> applied_;
  int installs_ = 0;
};

TEST_CASE("Nodes restarted from their storage keep every acknowledged command") {
  const uint64_t seed = keel::testing::TestSeed(812);
  CAPTURE(seed);
  base::Random rng(seed);
  wal::MemoryFileSystem fs;
  Cluster cluster(fs, 3, seed);
  // Index -> the commands proposed there (a leader's uncommitted proposal may be replaced by
  // another leader's).
  std::map<uint64_t, std::set<std::string>> proposed;
  for (int tick = 0; tick < 600; ++tick) {
    cluster.Tick();
    cluster.Settle();
    const int leader = cluster.Leader();
    if (leader >= 0 && rng.Bernoulli(0.6)) {
      const std::string command = base::Cat("c", tick);
      absl::StatusOr<uint64_t> index = cluster.node(leader).Propose(command);
      if (index.ok()) proposed[*index].insert(command);
      cluster.Settle();
    }
    // Node 2 is cut off for a while, long enough that the others compact past it and it needs
    // a snapshot; any node restarts now and then, from its storage alone.
    if (tick == 100) cluster.Cut(2, true);
    if (tick == 300) cluster.Cut(2, false);
    if (rng.Bernoulli(0.03)) cluster.Restart(static_cast<int>(rng.Uniform(3)));
  }
  for (int tick = 0; tick < 100; ++tick) {
    cluster.Tick();
    cluster.Settle();
  }
  // Every node restarts from its storage alone and catches up.
  for (int i = 0; i < 3; ++i) cluster.Restart(i);
  for (int tick = 0; tick < 100; ++tick) {
    cluster.Tick();
    cluster.Settle();
  }
  const int leader = cluster.Leader();
  REQUIRE(leader >= 0);
  const uint64_t last = cluster.node(leader).last_index();
  for (int i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(cluster.node(i).applied_index() == last);
    CHECK(cluster.storage(i).stats().last_index == last);
  }
  // Node 2 fell behind the others' compaction and installed a snapshot.
  CHECK(cluster.installs() > 0);
  // Every index was applied somewhere, once, and the commands committed are the ones proposed.
  size_t commands = 0;
  for (uint64_t index = 2; index <= last; ++index) {  // 1 is the first configuration
    CAPTURE(index);
    REQUIRE(cluster.applied().contains(index));
    const Entry& entry = cluster.applied().at(index);
    if (entry.data.empty()) continue;  // a new leader's empty entry
    REQUIRE(proposed.contains(index));
    CHECK(proposed.at(index).contains(entry.data));
    ++commands;
  }
  CHECK(commands > 100);
}

}  // namespace
}  // namespace keel::raft
