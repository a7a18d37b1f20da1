// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/wal/file_system.h"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "keel/wal/fault_injecting_file_system.h"
#include "keel/wal/memory_file_system.h"
#include "testing/forwarding_file_system.h"
#include "testing/testing.h"

namespace keel::wal {
namespace {

TEST_CASE("Posix files append read truncate and sync") {
  testing::TempDir dir;
  FileSystem& fs = FileSystem::Posix();
  const std::string path = dir.path() + "/f";
  auto file = fs.Open(path, OpenMode::kCreate);
  REQUIRE(file.ok());
  REQUIRE((*file)->Append("hello ").ok());
  REQUIRE((*file)->Append("world").ok());
  CHECK((*file)->size() == 11);
  REQUIRE((*file)->Sync().ok());
  char buf[32];
  CHECK(*(*file)->ReadAt(6, buf, 5) == 5);
  CHECK(std::string(buf, 5) == "world");
  CHECK(*(*file)->ReadAt(8, buf, 10) == 3);  // short at the end
  REQUIRE((*file)->Truncate(5).ok());
  CHECK((*file)->size() == 5);
  REQUIRE((*file)->Append("!").ok());
  CHECK(*(*file)->ReadAt(0, buf, 32) == 6);
  CHECK(std::string(buf, 6) == "hello!");
  // Reopened, the size is the file's.
  auto again = fs.Open(path, OpenMode::kExisting);
  REQUIRE(again.ok());
  CHECK((*again)->size() == 6);
}

TEST_CASE("Posix files overwrite bytes in place without changing their size") {
  testing::TempDir dir;
  FileSystem& fs = FileSystem::Posix();
  auto file = *fs.Open(dir.path() + "/f", OpenMode::kCreate);
  REQUIRE(file->Append("hello world").ok());
  REQUIRE(file->WriteAt(6, "WORLD").ok());
  REQUIRE(file->WriteAt(0, "j").ok());
  REQUIRE(file->Sync().ok());
  CHECK(file->size() == 11);
  char buf[16];
  CHECK(*file->ReadAt(0, buf, sizeof(buf)) == 11);
  CHECK(std::string(buf, 11) == "jello WORLD");
  auto again = *fs.Open(dir.path() + "/f", OpenMode::kExisting);
  CHECK(again->size() == 11);
}

TEST_CASE("Posix file system creates lists renames and removes") {
  testing::TempDir dir;
  FileSystem& fs = FileSystem::Posix();
  const std::string sub = dir.path() + "/sub";
  REQUIRE(fs.CreateDir(sub).ok());
  REQUIRE(fs.CreateDir(sub).ok());  // already there: fine
  REQUIRE(fs.Open(sub + "/a", OpenMode::kCreate).ok());
  CHECK(fs.Open(sub + "/a", OpenMode::kCreate).status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(fs.Open(sub + "/missing", OpenMode::kExisting).status().code() ==
        absl::StatusCode::kNotFound);
  REQUIRE(fs.Rename(sub + "/a", sub + "/b").ok());
  std::vector<std::string> names = *fs.List(sub);
  CHECK(names == std::vector<std::string>{"b"});
  REQUIRE(fs.SyncDir(sub).ok());
  REQUIRE(fs.Remove(sub + "/b").ok());
  CHECK(fs.List(sub)->empty());
  const absl::Status status = fs.Remove(sub + "/b");
  CHECK(status.code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(status.message(), "/sub/b"));
}

TEST_CASE("Posix locks exclude a second owner in this process and in another") {
  testing::TempDir dir;
  FileSystem& fs = FileSystem::Posix();
  const std::string path = dir.path() + "/LOCK";
  {
    auto lock = fs.Lock(path);
    REQUIRE(lock.ok());
    CHECK(fs.Lock(path).status().code() == absl::StatusCode::kUnavailable);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const auto child = FileSystem::Posix().Lock(path);
      _exit(child.status().code() == absl::StatusCode::kUnavailable ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  CHECK(fs.Lock(path).ok());  // released with its owner
}

// Records which directories SyncDir was asked to sync (and syncs none).
class SyncDirRecorder final : public testing::ForwardingFileSystem {
 public:
  using ForwardingFileSystem::ForwardingFileSystem;
  absl::Status SyncDir(const std::string& dir) override {
    synced.push_back(dir);
    return absl::OkStatus();
  }

  std::vector<std::string> synced;
};

TEST_CASE("SyncParentDir syncs the directory that holds the path and nothing else") {
  const std::pair<std::string, std::string> cases[] = {
      {"/var/lib/app", "/var/lib"},   // an absolute path
      {"/var/lib/app/", "/var/lib"},  // a trailing slash names the same directory
      {"/var/lib/app///", "/var/lib"},
      {"var/lib/app", "var/lib"},  // relative
      {"var/lib/app/", "var/lib"},
      {"app", "."},  // a name without a slash is in the working directory
      {"app/", "."},
      {"/app", "/"},  // right under the root
      {"/app/", "/"},
      {"/", "/"},  // the root is its own parent
      {"//", "/"},
  };
  for (const auto& [path, parent] : cases) {
    CAPTURE(path);
    MemoryFileSystem memory;
    SyncDirRecorder fs(memory);
    REQUIRE(SyncParentDir(fs, path).ok());
    CHECK(fs.synced == std::vector<std::string>{parent});
  }
}

TEST_CASE("SyncParentDir makes a new directory survive a power cut where SyncDir of it does not") {
  MemoryFileSystem memory;
  FaultInjectingFileSystem fs(memory);
  REQUIRE(fs.CreateDir("/data").ok());
  REQUIRE(SyncParentDir(fs, "/data").ok());
  // Synced in its parent, named with and without a trailing slash.
  REQUIRE(fs.CreateDir("/data/plain").ok());
  REQUIRE(SyncParentDir(fs, "/data/plain").ok());
  REQUIRE(fs.CreateDir("/data/slashed/").ok());
  REQUIRE(SyncParentDir(fs, "/data/slashed/").ok());
  // Synced inside only (last, so that no sync of /data covers it): its own entry in /data is
  // not durable.
  REQUIRE(fs.CreateDir("/data/inside").ok());
  REQUIRE(fs.SyncDir("/data/inside").ok());
  REQUIRE(fs.PowerCut().ok());
  CHECK(*fs.List("/data") == std::vector<std::string>{"plain", "slashed"});
}

TEST_CASE("SyncParentDir on Posix syncs real parents and names a missing one in its error") {
  testing::TempDir dir;
  FileSystem& fs = FileSystem::Posix();
  const std::string sub = dir.path() + "/sub";
  REQUIRE(fs.CreateDir(sub).ok());
  CHECK(SyncParentDir(fs, sub).ok());
  CHECK(SyncParentDir(fs, sub + "/").ok());
  CHECK(SyncParentDir(fs, sub + "/not-yet-created").ok());  // only the parent must exist
  CHECK(SyncParentDir(fs, "/").ok());
  CHECK(SyncParentDir(fs, "relative").ok());  // the working directory
  const absl::Status missing = SyncParentDir(fs, dir.path() + "/missing/child");
  CHECK(missing.code() == absl::StatusCode::kNotFound);
  CHECK_MESSAGE(absl::StrContains(missing.message(), dir.path() + "/missing"), missing.ToString());
}

}  // namespace
}  // namespace keel::wal
