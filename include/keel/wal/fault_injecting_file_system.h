// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A FileSystem that can lose power: what the write-ahead log's durability tests stand on, and a
// tool for testing anything else built on keel::wal::FileSystem (Raft's log will be).
//
// It passes every operation to another FileSystem and remembers what has been made durable: for
// each file, how many of its bytes were there at its last Sync(), which of those bytes WriteAt()
// has overwritten since (and what they held), and whether its creation has been made durable by a
// SyncDir() of its directory. PowerCut() then does to the files what a power failure may do: every
// byte appended since the last Sync is lost and every byte overwritten since goes back to what it
// was (or, when asked, a random prefix of each append or overwrite survives, as a torn write
// leaves), and files created since their directory was last synced disappear. Files open at the
// moment of the cut stop working, as if the process had died with them. Removals, renames and
// truncations are taken to be durable at once, so these tests cannot catch a missing directory
// sync between changes whose order matters (keel's log syncs the directory between them, and
// syncs a file after cutting it).
//
// It can also fail on demand: FailSyncs() makes every Sync and SyncDir return an I/O error,
// FailAppendsAfter(n) lets n more appends through and fails the rest, and FailMutationsAfter(n)
// lets n more operations of any kind that change something through and fails every one after:
// followed by PowerCut(), that is a crash after exactly n steps of a multi-step operation.
//
// Example:
//
//   keel::wal::FaultInjectingFileSystem fs(keel::wal::FileSystem::Posix());
//   ... write through `fs` ...
//   KEEL_RETURN_IF_ERROR(fs.PowerCut());   // unsynced bytes are gone
//   ... reopen through `fs` and check what survived ...
#ifndef KEEL_WAL_FAULT_INJECTING_FILE_SYSTEM_H_
#define KEEL_WAL_FAULT_INJECTING_FILE_SYSTEM_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "keel/base/random.h"
#include "keel/wal/file_system.h"

namespace keel::wal {

class FaultInjectingFileSystem final : public FileSystem {
 public:
  // `base` must outlive this object.
  explicit FaultInjectingFileSystem(FileSystem& base) : base_(base) {}

  // Loses what was not durable (see the file comment). With `torn` set, each file keeps a random
  // prefix of its unsynced appended bytes instead of none, and each unsynced overwrite a random
  // prefix of its new bytes. Every File opened before the cut fails from now on with
  // kFailedPrecondition.
  [[nodiscard]] absl::Status PowerCut(base::Random* torn = nullptr);

  // Every Sync() and SyncDir() fails with an I/O error while `fail` is true.
  void FailSyncs(bool fail);

  // Lets `n` more Append calls succeed, then fails every one after with an I/O error; a negative
  // n turns this off.
  void FailAppendsAfter(int64_t n);

  // Lets `n` more mutations succeed, then fails every one after with an I/O error; a negative n
  // turns this off. Mutations are File::Append, WriteAt, Sync and Truncate, and Open with
  // OpenMode::kCreate, Remove, Rename, CreateDir and SyncDir. PowerCut() turns it off.
  void FailMutationsAfter(int64_t n);

  // Bytes appended or overwritten but not synced, over all files: what a power cut would lose
  // now.
  [[nodiscard]] uint64_t UnsyncedBytes() const;

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  absl::Status Remove(const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::StatusOr<std::vector<std::string>> List(const std::string& dir) override;
  absl::Status CreateDir(const std::string& dir) override;
  absl::Status SyncDir(const std::string& dir) override;
  absl::StatusOr<std::unique_ptr<FileLock>> Lock(const std::string& path) override;

 private:
  class FaultFile;
  friend class FaultFile;

  // Durable bytes that WriteAt replaced since the last Sync: what they held.
  struct Overwrite {
    uint64_t offset = 0;
    std::string old_bytes;
  };

  struct FileState {
    uint64_t synced_size = 0;
    uint64_t size = 0;
    bool creation_durable = true;
    std::vector<Overwrite> overwrites;  // oldest first; all below synced_size
  };

  absl::Status CheckEpoch(uint64_t epoch) const;
  // Counts a mutation against FailMutationsAfter's allowance. REQUIRES: mu_ held.
  absl::Status SpendMutation(std::string_view what, const std::string& path);

  FileSystem& base_;
  mutable std::mutex mu_;
  std::map<std::string, FileState> files_;  // by path
  uint64_t epoch_ = 0;                      // bumped by each power cut
  bool fail_syncs_ = false;
  int64_t appends_left_ = -1;    // -1: no limit
  int64_t mutations_left_ = -1;  // -1: no limit
};

}  // namespace keel::wal

#endif  // KEEL_WAL_FAULT_INJECTING_FILE_SYSTEM_H_
