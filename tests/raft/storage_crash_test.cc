// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel::raft::Storage through crashes and damage: every crash state POSIX allows during a random
// workload (keel::wal::CrashExplorer), a crash after every single step of the operations whose
// order matters, truncation of every file at every byte, flipped bits, lost files, and a writer
// process killed with SIGKILL. After a crash the storage must reopen to the state before the
// operation under way or after it (or a mix that is safe, storage_testing.h says which), with
// every acknowledged entry; after damage it must refuse with kDataLoss or recover the durable
// state with the log cut short, never something else and never crash.
#include <doctest/doctest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "keel/base/random.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/raft/storage.h"
#include "keel/wal/crash_explorer.h"
#include "keel/wal/fault_injecting_file_system.h"
#include "keel/wal/memory_file_system.h"
#include "raft/storage_testing.h"
#include "testing/testing.h"

namespace keel::raft {
namespace {

using namespace storage_testing;  // NOLINT: the shared helpers are the vocabulary of these tests

constexpr char kDir[] = "/raft/node";  // below a directory of its own, whose entry must be synced

absl::Status Run(std::unique_ptr<Storage>& storage, const std::string& dir,
                 const StorageOptions& options, const Op& op) {
  switch (op.kind) {
    case Op::Kind::kSave:
      return storage->Save(op.ready);
    case Op::Kind::kSaveSnapshot:
      return storage->SaveSnapshot(op.snapshot);
    case Op::Kind::kReopen:
      storage.reset();
      KEEL_ASSIGN_OR_RETURN(storage, Storage::Open(dir, options, {0, 1, 2}));
      return absl::OkStatus();
  }
  return absl::InternalError("unknown op");
}

// A recovered directory takes a new term and entry after it, and keeps them.
absl::Status CheckWritable(wal::FileSystem& fs, const InitialState& got) {
  Ready ready;
  HardState hard = got.hard_state;
  hard.term += 1;
  hard.vote = kNoNode;
  ready.hard_state = hard;
  const Entry entry{.term = hard.term,
                    .index = got.snapshot.metadata.index + got.entries.size() + 1,
                    .data = "after the crash"};
  ready.entries.push_back(entry);
  ready.must_sync = true;
  {
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<Storage> storage,
                          Storage::Open(kDir, TestOptions(&fs), {0, 1, 2}));
    KEEL_RETURN_IF_ERROR(storage->Save(ready));
  }
  KEEL_ASSIGN_OR_RETURN(InitialState again, Recover(kDir, TestOptions(&fs)));
  if (again.entries.empty() || !(again.entries.back() == entry) ||
      again.hard_state.term != hard.term) {
    return absl::DataLossError("an entry saved after recovering from the crash is gone");
  }
  return absl::OkStatus();
}

TEST_CASE("Every crash state of a random workload reopens to the old or the new state") {
  const uint64_t seed = keel::testing::TestSeed(821);
  CAPTURE(seed);
  wal::CrashExplorer explorer;
  wal::FileSystem& fs = explorer.file_system();
  REQUIRE(fs.CreateDir("/raft").ok());
  REQUIRE(fs.SyncDir("/").ok());
  const uint64_t start = explorer.mutations();
  const StorageOptions options = TestOptions(&fs);
  struct Step {
    Op op;
    Model before;
    Model after;
    uint64_t end = 0;  // the recorded changes once it returned
  };
  std::vector<Step> steps;
  Workload workload(seed, WorkloadOptions{.max_entry_data = 900, .max_snapshot_data = 5000});
  {
    // Creating the directory is the first step.
    auto storage = *Storage::Open(kDir, options, {0, 1, 2});
    steps.push_back({ReopenOp(), workload.model(), workload.model(), explorer.mutations()});
    const uint64_t ops = keel::testing::TestRounds("KEEL_RAFT_STORAGE_CRASH_OPS", 120);
    for (uint64_t i = 0; i < ops; ++i) {
      Step step;
      step.before = workload.model();
      step.op = workload.Next();
      const absl::Status status = Run(storage, kDir, options, step.op);
      REQUIRE_MESSAGE(status.ok(), status);
      step.after = workload.model();
      step.end = explorer.mutations();
      steps.push_back(std::move(step));
    }
  }
  wal::CrashExplorerOptions explore;
  explore.seed = seed;
  explore.first_point = start;
  explore.random_states = 2;
  explore.max_systematic_states = 64;
  uint64_t writable_checks = 0;
  const absl::StatusOr<wal::CrashExploration> result = explorer.Explore(
      [&](wal::FileSystem& crashed, const wal::CrashPoint& point) -> absl::Status {
        const Step* in_flight = nullptr;
        for (const Step& step : steps) {
          if (step.end > point.mutations) {
            in_flight = &step;
            break;
          }
        }
        const Model& before = in_flight != nullptr ? in_flight->before : steps.back().after;
        const Model& after = in_flight != nullptr ? in_flight->after : steps.back().after;
        KEEL_ASSIGN_OR_RETURN(InitialState got, Recover(kDir, TestOptions(&crashed)));
        KEEL_RETURN_IF_ERROR(
            CheckCrashState(before, after, in_flight != nullptr ? &in_flight->op : nullptr, got));
        if (point.state != 0) return absl::OkStatus();
        ++writable_checks;
        return CheckWritable(crashed, got);
      },
      explore);
  REQUIRE(result.ok());
  CHECK_MESSAGE(result->failures.empty(), result->Summary());
  CHECK(result->crash_points > 200);
  CHECK(writable_checks == result->crash_points);
  MESSAGE(result->states, " crash states at ", result->crash_points, " points");
}

// Runs `setup`, then `op` with a crash after each of its file system changes in turn (`steps`
// changes succeed, the rest fail, and the power goes, with torn writes every other time), until
// a run in which `op` finishes. Each time, the reopened storage must hold the state before `op`
// or after it (CheckCrashState), and `check` is called with it.
template <typename Check>
void CrashAtEveryStep(const std::vector<Op>& setup, const Op& op, uint64_t seed, Check&& check) {
  Model before = Bootstrapped({0, 1, 2});
  for (const Op& s : setup) before.Apply(s);
  Model after = before;
  after.Apply(op);
  bool finished = false;
  for (int64_t steps = 0; !finished; ++steps) {
    CAPTURE(steps);
    REQUIRE(steps < 200);
    wal::MemoryFileSystem memory;
    wal::FaultInjectingFileSystem fs(memory);
    REQUIRE(fs.CreateDir("/raft").ok());
    REQUIRE(fs.SyncDir("/").ok());
    {
      auto storage = *Storage::Open(kDir, TestOptions(&fs), {0, 1, 2});
      for (const Op& s : setup) REQUIRE(Run(storage, kDir, TestOptions(&fs), s).ok());
      fs.FailMutationsAfter(steps);
      finished = Run(storage, kDir, TestOptions(&fs), op).ok();
      base::Random torn(seed + static_cast<uint64_t>(steps));
      REQUIRE(fs.PowerCut(steps % 2 == 1 ? &torn : nullptr).ok());
    }
    StorageRecovery report;
    auto storage = Storage::Open(kDir, TestOptions(&fs), {0, 1, 2}, &report);
    REQUIRE_MESSAGE(storage.ok(), storage.status());
    const InitialState got = (*storage)->TakeInitialState();
    const absl::Status status = CheckCrashState(before, after, finished ? nullptr : &op, got);
    REQUIRE_MESSAGE(status.ok(), status);
    check(got, report);
  }
}

TEST_CASE("A crash while a new term replaces uncommitted entries never commits the old ones") {
  // Entries 2 to 10 of term 2 (after the configuration at 1), up to 5 committed. A leader of term 3
  // sends 8 to 10 of its own and commit index 10: the hard state (a new term) is written before the
  // entries, and a crash between them must not leave commit index 10 over the old 8 to 10.
  const std::vector<Op> setup = {SaveOp(HardState{2, 1, 5}, Entries(2, 10, 2))};
  const Op op = SaveOp(HardState{3, 2, 10}, Entries(8, 10, 3));
  bool saw_new_term_over_old_entries = false;
  CrashAtEveryStep(setup, op, keel::testing::TestSeed(822),
                   [&](const InitialState& got, const StorageRecovery&) {
                     const uint64_t first = got.snapshot.metadata.index + 1;
                     if (got.hard_state.term == 3 && got.entries.size() > 8 - first &&
                         got.entries[8 - first].term == 2) {
                       saw_new_term_over_old_entries = true;
                       CHECK(got.hard_state.commit <= 7);
                     }
                   });
  CHECK(saw_new_term_over_old_entries);
}

TEST_CASE("A crash during a snapshot install leaves the old snapshot and log or the new") {
  const Snapshot snapshot = MakeSnapshot(20, 4, std::string(6000, 's'), {0, 1});
  const std::vector<Op> setup = {SaveOp(HardState{2, 1, 3}, Entries(2, 12, 2)),
                                 SaveOp(HardState{3, 0, 3}, Entries(13, 22, 3))};
  // Entry 20 has term 3; the snapshot says 4 (the log disagrees there, so the node installs it).
  const Op op = SaveOp(HardState{4, kNoNode, 20}, Entries(21, 23, 4), snapshot);
  bool finished_install = false;
  CrashAtEveryStep(setup, op, keel::testing::TestSeed(823),
                   [&](const InitialState&, const StorageRecovery& report) {
                     finished_install = finished_install || report.finished_install;
                   });
  // Some crash came between the snapshot's rename and the log's reset.
  CHECK(finished_install);
}

TEST_CASE("A crash during a local snapshot and compaction leaves either snapshot and every entry") {
  std::vector<Entry> entries = Entries(2, 40, 2);
  for (Entry& entry : entries) entry.data.append(200, 'x');  // several segments
  CrashAtEveryStep({SaveOp(HardState{2, 1, 35}, entries)},
                   SnapshotOp(MakeSnapshot(30, 2, "state at 30")), keel::testing::TestSeed(824),
                   [](const InitialState&, const StorageRecovery&) {});
}

// --- Damage.

// A directory with a hard state, a local snapshot, entries in several segments (a sealed one
// with its index), and its model.
Model MakeDamageable(wal::FileSystem& fs) {
  Model model = Bootstrapped({0, 1, 2});
  // As small as two segments allow: every byte of it is cut and flipped, in every build.
  std::vector<Entry> first = Entries(2, 16, 2);
  for (Entry& entry : first) entry.data.append(250, 'x');
  const std::vector<Op> ops = {SaveOp(HardState{2, 1, 12}, first),
                               SnapshotOp(MakeSnapshot(8, 2, std::string(40, 'z'))),
                               SaveOp(HardState{3, kNoNode, 14}, Entries(17, 19, 3))};
  auto storage = *Storage::Open(kDir, TestOptions(&fs), {0, 1, 2});
  for (const Op& op : ops) {
    REQUIRE(Run(storage, kDir, TestOptions(&fs), op).ok());
    model.Apply(op);
  }
  REQUIRE(storage->stats().log_segments >= 2);
  return model;
}

// Copies the directory, lets `damage` change the copy, and reopens it: it must be refused as
// kDataLoss (whenever `must_refuse`) or recovered as CheckDamaged says.
template <typename Damage>
void ExpectRefusedOrCut(wal::FileSystem& golden, const Model& model, bool must_refuse,
                        Damage&& damage) {
  wal::MemoryFileSystem copy;
  REQUIRE(copy.CreateDir("/raft").ok());
  REQUIRE(CopyTree(golden, copy, kDir).ok());
  damage(copy);
  const absl::StatusOr<InitialState> got = Recover(kDir, TestOptions(&copy));
  if (!got.ok()) {
    REQUIRE_MESSAGE(got.status().code() == absl::StatusCode::kDataLoss, got.status());
    return;
  }
  REQUIRE_FALSE(must_refuse);
  const absl::Status status = CheckDamaged(model, *got);
  REQUIRE_MESSAGE(status.ok(), status);
}

bool IsLogFile(const std::string& path) { return absl::StrContains(path, "/log/"); }

TEST_CASE("Truncating any file at any byte is refused as data loss or cuts the log short") {
  wal::MemoryFileSystem golden;
  REQUIRE(golden.CreateDir("/raft").ok());
  const Model model = MakeDamageable(golden);
  size_t files = 0;
  for (const std::string& path : ListFiles(golden, kDir)) {
    const std::string bytes = ReadWhole(golden, path);
    if (bytes.empty()) continue;  // the log's LOCK
    ++files;
    CAPTURE(path);
    for (size_t cut = 0; cut < bytes.size(); ++cut) {
      CAPTURE(cut);
      // Everything outside the log is checksummed whole: any cut is refused.
      ExpectRefusedOrCut(golden, model, !IsLogFile(path), [&](wal::FileSystem& fs) {
        WriteWhole(fs, path, std::string_view(bytes).substr(0, cut));
      });
    }
  }
  CHECK(files >= 5);  // hardstate, snapshot, two segments and an index
}

TEST_CASE("A flipped bit in any file is refused as data loss or cuts the log short") {
  wal::MemoryFileSystem golden;
  REQUIRE(golden.CreateDir("/raft").ok());
  const Model model = MakeDamageable(golden);
  for (const std::string& path : ListFiles(golden, kDir)) {
    const std::string bytes = ReadWhole(golden, path);
    CAPTURE(path);
    // Every bit of the small files; a bit of every byte of the log's (the log's own tests flip
    // every bit of a segment).
    const bool log = IsLogFile(path);
    for (size_t byte = 0; byte < bytes.size(); ++byte) {
      for (int bit = log ? static_cast<int>(byte % 8) : 0;
           bit < (log ? static_cast<int>(byte % 8) + 1 : 8); ++bit) {
        CAPTURE(byte);
        CAPTURE(bit);
        std::string damaged = bytes;
        damaged[byte] = static_cast<char>(damaged[byte] ^ (1 << bit));
        ExpectRefusedOrCut(golden, model, !log,
                           [&](wal::FileSystem& fs) { WriteWhole(fs, path, damaged); });
      }
    }
  }
}

TEST_CASE("A lost file is refused as data loss or cuts the log short") {
  wal::MemoryFileSystem golden;
  REQUIRE(golden.CreateDir("/raft").ok());
  const Model model = MakeDamageable(golden);
  for (const std::string& path : ListFiles(golden, kDir)) {
    CAPTURE(path);
    // A lost last segment cannot be told from a log that ended before it (the log's indexes and
    // lock are rebuilt).
    ExpectRefusedOrCut(golden, model, !IsLogFile(path),
                       [&](wal::FileSystem& fs) { REQUIRE(fs.Remove(path).ok()); });
  }
  // A lost log, segments or directory, is not taken for a new one.
  for (const bool directory : {false, true}) {
    CAPTURE(directory);
    ExpectRefusedOrCut(golden, model, /*must_refuse=*/true, [&](wal::FileSystem& fs) {
      for (const std::string& path : ListFiles(fs, base::Cat(kDir, "/log"))) {
        if (directory || !absl::EndsWith(path, "LOCK")) REQUIRE(fs.Remove(path).ok());
      }
      if (directory) REQUIRE(fs.RemoveDir(base::Cat(kDir, "/log")).ok());
    });
  }
  // Without its hard state, a directory with entries is damaged, not new.
  wal::MemoryFileSystem copy;
  REQUIRE(copy.CreateDir("/raft").ok());
  REQUIRE(CopyTree(golden, copy, kDir).ok());
  REQUIRE(copy.Remove(base::Cat(kDir, "/hardstate")).ok());
  const absl::Status status = Recover(kDir, TestOptions(&copy)).status();
  CHECK(status.code() == absl::StatusCode::kDataLoss);
  CHECK_MESSAGE(absl::StrContains(status.message(), "hardstate is missing"), status);
}

// --- A killed writer.

TEST_CASE("Every operation acknowledged before the writer process is killed survives it") {
  const uint64_t seed = keel::testing::TestSeed(825);
  CAPTURE(seed);
  base::Random rng(seed);
  const uint64_t rounds = keel::testing::TestRounds("KEEL_RAFT_STORAGE_KILL_ROUNDS", 6);
  for (uint64_t round = 0; round < rounds; ++round) {
    CAPTURE(round);
    const uint64_t workload_seed = seed * 1000 + round;
    keel::testing::TempDir dir;
    const std::string path = dir.path() + "/node";
    // Real files: segments a little larger, zeros written ahead of the entries.
    StorageOptions options;
    options.max_segment_bytes = 64 << 10;
    options.max_entry_bytes = 4096;
    options.preallocate_bytes = 16 << 10;
    const WorkloadOptions shape{.max_entry_data = 3000, .max_snapshot_data = 20000};
    const keel::testing::KilledChild child = keel::testing::KillChildAfter(
        [&](int report_fd) {
          Workload workload(workload_seed, shape);
          auto storage = Storage::Open(path, options, {0, 1, 2});
          if (!storage.ok()) _exit(2);
          for (uint64_t done = 0;; ++done) {
            const std::string ack = base::Cat(done, "\n");
            if (write(report_fd, ack.data(), ack.size()) < 0) _exit(4);
            if (!Run(*storage, path, options, workload.Next()).ok()) _exit(3);
          }
        },
        static_cast<int64_t>(rng.UniformInRange(5'000, 60'000)));
    REQUIRE(child.killed);
    // The child acknowledged operations 1 to `done`; the next was under way.
    uint64_t done = 0;
    bool opened = false;
    for (absl::string_view line : absl::StrSplit(child.reports, '\n', absl::SkipEmpty())) {
      REQUIRE(absl::SimpleAtoi(line, &done));
      opened = true;
    }
    Workload replay(workload_seed, shape);
    for (uint64_t i = 0; i < done; ++i) (void)replay.Next();
    const Model before = replay.model();
    const Op op = replay.Next();
    CAPTURE(done);
    CAPTURE(op.ToString());
    const absl::StatusOr<InitialState> got = Recover(path, options);
    REQUIRE_MESSAGE(got.ok(), got.status());
    const absl::Status status =
        opened ? CheckCrashState(before, replay.model(), &op, *got) : CheckExact(before, *got);
    REQUIRE_MESSAGE(status.ok(), status);
  }
}

}  // namespace
}  // namespace keel::raft
