// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/wal/file_system.h"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "absl/strings/match.h"
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

}  // namespace
}  // namespace keel::wal
