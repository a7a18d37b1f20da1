// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The file operations the write-ahead log needs, behind an interface, so that tests can put a
// fault-injecting layer underneath (keel/wal/fault_injecting_file_system.h) and check what
// survives a power cut.
//
// The semantics are POSIX's, including what is and is not durable: appended or overwritten bytes
// survive a crash only after Sync(), and a new or removed file's directory entry only after
// SyncDir() of its directory.
//
// Example:
//
//   keel::wal::FileSystem& fs = keel::wal::FileSystem::Posix();
//   KEEL_RETURN_IF_ERROR(fs.CreateDir("/var/lib/app/log"));
//   KEEL_ASSIGN_OR_RETURN(auto file, fs.Open("/var/lib/app/log/x", keel::wal::OpenMode::kCreate));
//   KEEL_RETURN_IF_ERROR(file->Append("hello"));
//   KEEL_RETURN_IF_ERROR(file->Sync());
//   KEEL_RETURN_IF_ERROR(fs.SyncDir("/var/lib/app/log"));
#ifndef KEEL_WAL_FILE_SYSTEM_H_
#define KEEL_WAL_FILE_SYSTEM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace keel::wal {

// A file open for appending and reading. Append, WriteAt, Sync and Truncate need exclusive
// access; ReadAt may run concurrently with them on bytes already appended (bytes being overwritten
// may read as old, new or a mix).
class File {
 public:
  virtual ~File() = default;

  // Writes `data` at the end of the file, all of it or an error.
  [[nodiscard]] virtual absl::Status Append(std::string_view data) = 0;

  // Overwrites the bytes at [offset, offset + data.size()) with `data`. Until the next Sync(), a
  // crash may leave the old bytes, the new ones or, where the write spans sectors, some of each.
  // REQUIRES: offset + data.size() <= size().
  [[nodiscard]] virtual absl::Status WriteAt(uint64_t offset, std::string_view data) = 0;

  // Makes every appended and overwritten byte durable (fdatasync).
  [[nodiscard]] virtual absl::Status Sync() = 0;

  // Cuts the file to `size` bytes. REQUIRES: size <= this->size().
  [[nodiscard]] virtual absl::Status Truncate(uint64_t size) = 0;

  // Reads up to `n` bytes at `offset` into `buf`; fewer only at the end of the file.
  [[nodiscard]] virtual absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf,
                                                      size_t n) const = 0;

  [[nodiscard]] virtual uint64_t size() const = 0;
};

// An exclusive lock on a file, held until destroyed or until the process exits.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

enum class OpenMode {
  kCreate,    // create a new file; an error if it exists
  kExisting,  // open a file that exists; an error if it does not
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // The operating system's file system.
  static FileSystem& Posix();

  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path,
                                                                   OpenMode mode) = 0;
  [[nodiscard]] virtual absl::Status Remove(const std::string& path) = 0;
  // Replaces `to` with `from` atomically.
  [[nodiscard]] virtual absl::Status Rename(const std::string& from, const std::string& to) = 0;
  // The names (not paths) of the entries of `dir`, without "." and "..".
  [[nodiscard]] virtual absl::StatusOr<std::vector<std::string>> List(const std::string& dir) = 0;
  // Creates `dir` (one level) if it does not exist.
  [[nodiscard]] virtual absl::Status CreateDir(const std::string& dir) = 0;
  // Makes the creations, removals and renames of entries in `dir` durable.
  [[nodiscard]] virtual absl::Status SyncDir(const std::string& dir) = 0;
  // Removes the empty directory `dir`. Errors: kNotFound; kFailedPrecondition when it is not
  // empty or not a directory. The log never calls it; FaultInjectingFileSystem's power cut does,
  // to take away a directory whose creation was not durable. File systems that predate it
  // inherit this default, which returns kUnimplemented.
  [[nodiscard]] virtual absl::Status RemoveDir(const std::string& dir);
  // Takes an exclusive advisory lock on `path` (creating the file if needed), so that one owner at
  // a time, in any process, writes what it guards. A second lock on the same file fails, even in
  // the same process. Errors: kUnavailable while another owner holds it.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<FileLock>> Lock(const std::string& path) = 0;
};

// Makes the entry of `path` itself (a file or directory just created, renamed into place or
// removed) durable, by syncing the directory that holds it: SyncDir(path) makes what is inside a
// directory durable, not the directory's own name in its parent, which POSIX keeps only once the
// parent is synced. The parent is `path` without its last component, trailing slashes ignored:
// "/var/lib/app/" and "/var/lib/app" are in "/var/lib", "app" is in ".", "/app" and "/" in "/".
// Errors: those of fs.SyncDir on the parent.
//
// Example (a directory that survives a power cut before anything in it is relied on):
//
//   KEEL_RETURN_IF_ERROR(fs.CreateDir(dir));
//   KEEL_RETURN_IF_ERROR(keel::wal::SyncParentDir(fs, dir));
[[nodiscard]] absl::Status SyncParentDir(FileSystem& fs, std::string_view path);

}  // namespace keel::wal

#endif  // KEEL_WAL_FILE_SYSTEM_H_
