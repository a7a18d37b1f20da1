// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A FileSystem held in memory: a testing API. Code written against keel::wal::FileSystem (the
// write-ahead log, or a user's own) runs on it as on disk, with no I/O, so a test can open,
// crash and reopen thousands of copies of a directory in the time one fsync takes. The crash
// explorer (keel/wal/crash_explorer.h) builds each crash state it checks in a fresh one.
//
// Its semantics are Posix()'s for everything the FileSystem interface promises, errors included
// (the same status codes; messages name the path as Posix's do): kNotFound for a missing file or
// directory, kAlreadyExists for OpenMode::kCreate on a name that exists, kFailedPrecondition for
// a file where a directory is needed or the other way round and for removing a directory that is
// not empty, kUnavailable for a second lock on a file. CreateDir of a name that exists succeeds
// (even if it is a file, as mkdir's EEXIST is taken for success by Posix()). Files keep their
// data while open after Remove, and Rename moves directories too. Locks are exclusive within the
// object: a second Lock of the same file fails until the first FileLock is destroyed, and a file
// removed and created again is a different file, with a lock of its own.
//
// Where it differs: nothing is ever lost, so Sync and SyncDir do nothing (put a
// FaultInjectingFileSystem on top to model crashes); paths have no working directory, so
// "a/b" is "/a/b", and ".." is refused with kInvalidArgument; List returns names sorted; each
// File's size() is the file's, even while another File appends to it (a Posix File tracks only
// its own appends); there are no permissions, links or limits on sizes and names.
//
// Thread safety: every method, and every File's, may be called from any thread; one mutex guards
// the whole tree. Files and locks may outlive the file system.
//
// Example:
//
//   keel::wal::MemoryFileSystem fs;
//   keel::wal::LogOptions options;
//   options.file_system = &fs;
//   KEEL_ASSIGN_OR_RETURN(auto log, keel::wal::Log::Open("/wal", options));
#ifndef KEEL_WAL_MEMORY_FILE_SYSTEM_H_
#define KEEL_WAL_MEMORY_FILE_SYSTEM_H_

#include <memory>
#include <string>
#include <vector>

#include "keel/wal/file_system.h"

namespace keel::wal {

class MemoryFileSystem final : public FileSystem {
 public:
  // An empty tree: only the root directory, "/".
  MemoryFileSystem();
  ~MemoryFileSystem() override;
  MemoryFileSystem(const MemoryFileSystem&) = delete;
  MemoryFileSystem& operator=(const MemoryFileSystem&) = delete;

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  absl::Status Remove(const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::StatusOr<std::vector<std::string>> List(const std::string& dir) override;
  absl::Status CreateDir(const std::string& dir) override;
  absl::Status SyncDir(const std::string& dir) override;
  absl::Status RemoveDir(const std::string& dir) override;
  absl::StatusOr<std::unique_ptr<FileLock>> Lock(const std::string& path) override;

  // The bytes held in files reachable from the root: what the tree costs in memory, roughly.
  [[nodiscard]] uint64_t TotalBytes() const;

 private:
  struct Tree;
  std::shared_ptr<Tree> tree_;
};

}  // namespace keel::wal

#endif  // KEEL_WAL_MEMORY_FILE_SYSTEM_H_
