// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A FileSystem that can lose power: a testing API. The write-ahead log's durability tests stand
// on it, and it is public so that anything else built on keel::wal::FileSystem (a user's own
// storage code, Raft's log) can be tested the same way.
//
// It passes every operation to another FileSystem (a real directory, or a MemoryFileSystem) and
// feeds every change to a model of what POSIX lets a crash keep, not only what ext4 happens to
// keep (the model follows ALICE: Pillai et al., "All File Systems Are Not Created Equal",
// OSDI 2014):
//
//   - A file's appended and overwritten bytes, and its truncations, are durable once File::Sync
//     (fdatasync: data and size) returns. Until then a crash keeps any subset of them: each
//     write is cut into pieces, one per 4096-byte page of the file, and the pieces persist in any
//     subset and any order; a piece beyond the file's durable end extends it, and the gap before
//     it reads as zeros; a write that grew the file may leave the new size alone, the file
//     extended with zeros; within a persisted page each 512-byte sector may keep its old bytes,
//     its new ones or a prefix of the new ones (a torn write). Truncations persist whole, in
//     order.
//   - A directory's entries (files and directories created, removed, renamed into or out of it)
//     are durable once SyncDir of that directory returns. Until then a crash keeps any subset of
//     those changes that keeps, for each name, a prefix of the changes to that name (a remove
//     and then a create of one name cannot come out reversed). A rename is atomic, and persists
//     only with the earlier changes to both its names. A file's Sync does not make its entry
//     durable: a created, synced file whose directory was never synced may vanish.
//   - Files are inodes: a renamed file keeps its data and its unsynced writes, and a removed one
//     whose removal is lost comes back with its durable bytes.
//
// PowerCut() picks a state the model allows and rewrites the base file system to it: files that
// must vanish are removed, removed ones that come back are recreated, renamed ones move back,
// contents are rewritten. Every File opened before the cut fails from then on with
// kFailedPrecondition, as if the process had died with it. Which state:
//
//   PowerCut()                  the one that keeps nothing unsynced (deterministic).
//   PowerCut(&random)           a random one, using every freedom above (the full POSIX model).
//   PowerCut(random, options)   a random one, using only the freedoms `options` allows.
//
// To check every state a workload can crash into rather than a random few, record it with
// CrashExplorer (keel/wal/crash_explorer.h), which stands on the same model.
//
// It can also fail on demand: FailSyncs() makes every Sync and SyncDir return an I/O error,
// FailAppendsAfter(n) lets n more appends through and fails the rest, and FailMutationsAfter(n)
// lets n more operations of any kind that change something through and fails every one after:
// followed by PowerCut(), that is a crash after exactly n steps of a multi-step operation.
//
// What it does not model: mmap; hard links (the interface has none); metadata other than a
// file's size (permissions, times); renaming a directory (refused with kUnimplemented) and paths
// with ".." (kInvalidArgument); "/a" and "a" naming the same file; changes made to the base
// behind its back. Files and directories it never saw change are left alone, and what existed
// before it started watching is durable as it was first seen. The base itself is rewritten
// without syncs: the model loses power, not the disk underneath.
//
// Cost: to put back what a crash keeps, it holds in memory a copy of the durable bytes of every
// file it has seen change, every unsynced write, and the bytes of removed and renamed files
// until their removal is durable. That grows with the data written through it: it suits tests,
// not long runs over big files. A file that existed before is read whole the first time it is
// changed, removed, renamed or replaced. Every operation that changes something holds one
// mutex, around the base's operation too; reads do not.
//
// Example:
//
//   keel::wal::FaultInjectingFileSystem fs(keel::wal::FileSystem::Posix());
//   ... write through `fs` ...
//   KEEL_RETURN_IF_ERROR(fs.PowerCut());          // everything unsynced is gone
//   keel::base::Random random(seed);
//   KEEL_RETURN_IF_ERROR(fs.PowerCut(&random));   // or: any state POSIX allows
//   ... reopen through `fs` and check what survived ...
#ifndef KEEL_WAL_FAULT_INJECTING_FILE_SYSTEM_H_
#define KEEL_WAL_FAULT_INJECTING_FILE_SYSTEM_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "keel/base/random.h"
#include "keel/wal/file_system.h"

namespace keel::wal {

namespace internal {
class CrashModel;
}  // namespace internal

// The freedoms a random power cut takes; all of them by default (see the file comment).
struct PowerCutOptions {
  // Unsynced pages persist in any subset and order. Off: each file keeps a prefix of its
  // unsynced changes, in the order they were made, as a file system that writes back in order.
  bool reorder_pages = true;
  // Unsynced entry changes (creations, removals, renames) may be lost. Off: all of them persist,
  // as if each directory were synced after every change.
  bool lose_directory_entries = true;
  // A persisted page may be torn at sector boundaries. Off: pages persist whole.
  bool tear_sectors = true;
};

class FaultInjectingFileSystem final : public FileSystem {
 public:
  // `base` must outlive this object.
  explicit FaultInjectingFileSystem(FileSystem& base);
  ~FaultInjectingFileSystem() override;
  FaultInjectingFileSystem(const FaultInjectingFileSystem&) = delete;
  FaultInjectingFileSystem& operator=(const FaultInjectingFileSystem&) = delete;

  // Cuts the power: with `random` null, nothing unsynced survives; otherwise a random state of
  // the full POSIX model does. Lifts FailSyncs, FailAppendsAfter and FailMutationsAfter. Errors:
  // those of the base while it is rewritten; kFailedPrecondition while a CrashExplorer records
  // through this file system.
  [[nodiscard]] absl::Status PowerCut(base::Random* random = nullptr);
  // Cuts the power into a random state that takes only the freedoms in `options`.
  [[nodiscard]] absl::Status PowerCut(base::Random& random, const PowerCutOptions& options);

  // Every Sync() and SyncDir() fails with an I/O error while `fail` is true.
  void FailSyncs(bool fail);

  // Lets `n` more Append calls succeed, then fails every one after with an I/O error; a negative
  // n turns this off.
  void FailAppendsAfter(int64_t n);

  // Lets `n` more mutations succeed, then fails every one after with an I/O error; a negative n
  // turns this off. Mutations are File::Append, WriteAt, Sync and Truncate, and Open with
  // OpenMode::kCreate, Remove, Rename, CreateDir, RemoveDir and SyncDir. PowerCut() turns it off.
  void FailMutationsAfter(int64_t n);

  // Bytes appended or overwritten and not synced since, over all files, counted once per write.
  [[nodiscard]] uint64_t UnsyncedBytes() const;

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  absl::Status Remove(const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::StatusOr<std::vector<std::string>> List(const std::string& dir) override;
  absl::Status CreateDir(const std::string& dir) override;
  absl::Status SyncDir(const std::string& dir) override;
  absl::Status RemoveDir(const std::string& dir) override;
  absl::StatusOr<std::unique_ptr<FileLock>> Lock(const std::string& path) override;

 private:
  class FaultFile;
  friend class FaultFile;
  friend class CrashExplorer;  // records through the model (set_trace)

  [[nodiscard]] absl::Status CutPower(base::Random* random, const PowerCutOptions& options);
  [[nodiscard]] absl::Status CheckEpoch(uint64_t epoch) const;
  // Counts a mutation against FailMutationsAfter's allowance. REQUIRES: mu_ held.
  [[nodiscard]] absl::Status SpendMutation(std::string_view what, const std::string& path);
  // Makes sure the model knows the bytes of the file at `path`, if there is one, before it is
  // removed, renamed or replaced. REQUIRES: mu_ held.
  [[nodiscard]] absl::Status LearnFile(const std::string& path);
  // Whether `path` names something, as the model or else the base knows. REQUIRES: mu_ held.
  [[nodiscard]] bool Exists(const std::string& path);

  FileSystem& base_;
  mutable std::mutex mu_;
  std::unique_ptr<internal::CrashModel> model_;  // guarded by mu_
  std::atomic<uint64_t> epoch_{0};               // bumped by each power cut
  bool tracing_ = false;                         // a CrashExplorer records; guarded by mu_
  bool fail_syncs_ = false;
  int64_t appends_left_ = -1;    // -1: no limit
  int64_t mutations_left_ = -1;  // -1: no limit
};

}  // namespace keel::wal

#endif  // KEEL_WAL_FAULT_INJECTING_FILE_SYSTEM_H_
