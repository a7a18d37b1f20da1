// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What keel::raft::Storage's tests share: the oracle (Model, a node's durable state as plain
// values, changed by the same operations), a seeded Workload that makes Raft-like sequences of
// Readys and snapshots (terms that only grow, votes cast once per term, conflicting suffixes
// replaced only above the commit index, received snapshots where the log disagrees, local ones
// within the commit index), and the checks of what Open recovers against the model: exactly,
// after a clean close; as "the state before an operation or after it, never a mix", after a
// crash part-way through one. Not installed.
#ifndef KEEL_TESTS_RAFT_STORAGE_TESTING_H_
#define KEEL_TESTS_RAFT_STORAGE_TESTING_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/base/random.h"
#include "keel/raft/node.h"
#include "keel/raft/storage.h"
#include "keel/wal/file_system.h"

namespace keel::raft::storage_testing {

// Every entry that was ever committed, by index: committed entries never change.
using Committed = std::map<uint64_t, Entry>;

struct Op;

struct Model {
  HardState hard_state;
  Snapshot snapshot;
  std::vector<Entry> entries;  // after the snapshot, without gaps
  Committed committed;         // every entry that was committed while the model ran

  static Model FromInitialState(const InitialState& initial);
  // What the operation does to a node's durable state: the Ready's hard state replaces the old;
  // its snapshot replaces the snapshot and the log; its entries replace the log from their first
  // index on. A local snapshot drops the entries it covers.
  void Apply(const Op& op);

  [[nodiscard]] uint64_t snapshot_index() const { return snapshot.metadata.index; }
  [[nodiscard]] uint64_t last_index() const { return snapshot_index() + entries.size(); }
  // The term of the entry at `index`, or the snapshot's at its index.
  [[nodiscard]] uint64_t TermAt(uint64_t index) const;
};

struct Op {
  enum class Kind { kSave, kSaveSnapshot, kReopen };
  Kind kind = Kind::kSave;
  Ready ready;        // kSave
  Snapshot snapshot;  // kSaveSnapshot

  [[nodiscard]] std::string ToString() const;
};

struct WorkloadOptions {
  std::vector<NodeId> voters = {0, 1, 2};
  size_t max_entry_data = 1500;
  size_t max_snapshot_data = 9000;
  int reopen_percent = 4;
};

class Workload {
 public:
  Workload(uint64_t seed, WorkloadOptions options);

  // The next operation, already applied to the model.
  [[nodiscard]] Op Next();

  [[nodiscard]] const Model& model() const { return model_; }

 private:
  Ready NextReady();
  Snapshot NextLocalSnapshot();
  void InstallSnapshot(HardState& hard, Ready& ready);
  void AppendEntries(uint64_t first, uint64_t term, size_t count, Ready& ready);
  Entry MakeEntry(uint64_t index, uint64_t term);
  ConfState MakeConf();
  std::string Bytes(size_t max_bytes);
  NodeId Vote();

  WorkloadOptions options_;
  base::Random rng_;
  Model model_;
  // The highest index a local snapshot may take: what the storage has been told is committed
  // since it was last opened. A reopened storage recovers a commit index that may be stale (as
  // low as the snapshot's), and a restarted node compacts only what it has applied since.
  uint64_t compactable_ = 0;
};

// Entries first to last of `term`, each with data naming it.
[[nodiscard]] std::vector<Entry> Entries(uint64_t first, uint64_t last, uint64_t term);
[[nodiscard]] Snapshot MakeSnapshot(uint64_t index, uint64_t term, std::string data,
                                    std::vector<NodeId> voters = {0, 1, 2});
// Saves `ready` with must_sync set.
[[nodiscard]] Op SaveOp(std::optional<HardState> hard, std::vector<Entry> entries,
                        std::optional<Snapshot> snapshot = std::nullopt);
[[nodiscard]] Op SnapshotOp(Snapshot snapshot);
[[nodiscard]] Op ReopenOp();

// The state a directory created with these voters starts from.
[[nodiscard]] Model Bootstrapped(const std::vector<NodeId>& voters);

// Options for tests: small segments (so that the log rolls and compaction drops segments), no
// preallocation (so that files hold only what was written), a fixed salt.
[[nodiscard]] StorageOptions TestOptions(wal::FileSystem* fs);

// Opens the storage in `dir` and returns what it recovered.
[[nodiscard]] absl::StatusOr<InitialState> Recover(const std::string& dir,
                                                   const StorageOptions& options,
                                                   const std::vector<NodeId>& voters = {0, 1, 2});

// `got` is exactly `model` (the commit index aside, which may be stale: CheckCommit).
[[nodiscard]] absl::Status CheckExact(const Model& model, const InitialState& got);

// `got` is what a crash during `in_flight` (null: between operations) may leave: the state
// before it or after it, or a mix that a crash may leave safely (a log cut back no further than
// the first entry the operation replaces, the hard state of the new term before the entries,
// a received snapshot with the log not yet refilled), never a mix of two snapshots, never an
// acknowledged entry lost.
[[nodiscard]] absl::Status CheckCrashState(const Model& before, const Model& after,
                                           const Op* in_flight, const InitialState& got);

// `got` is what damage to the durable files may leave when Open does not refuse it: the hard
// state and the snapshot exactly, and the log cut short (damage to the log's last record cannot
// be told from a torn write).
[[nodiscard]] absl::Status CheckDamaged(const Model& model, const InitialState& got);

// The recovered commit index is within [snapshot index, last index] and every entry up to it is
// one that was committed.
[[nodiscard]] absl::Status CheckCommit(const Committed& committed, const InitialState& got);

// A copy of the tree at `path` in `from`, at the same path in `to`.
[[nodiscard]] absl::Status CopyTree(wal::FileSystem& from, wal::FileSystem& to,
                                    const std::string& path);
// The files under `path`, as paths, depth first.
[[nodiscard]] std::vector<std::string> ListFiles(wal::FileSystem& fs, const std::string& path);
[[nodiscard]] std::string ReadWhole(wal::FileSystem& fs, const std::string& path);
// Replaces the file's contents.
void WriteWhole(wal::FileSystem& fs, const std::string& path, std::string_view contents);

}  // namespace keel::raft::storage_testing

#endif  // KEEL_TESTS_RAFT_STORAGE_TESTING_H_
