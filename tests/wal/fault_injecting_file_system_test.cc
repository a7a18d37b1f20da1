// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/wal/fault_injecting_file_system.h"

#include <doctest/doctest.h>

#include <string>

#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::wal {
namespace {

std::string ReadWhole(FileSystem& fs, const std::string& path) {
  auto file = fs.Open(path, OpenMode::kExisting);
  REQUIRE(file.ok());
  std::string bytes((*file)->size(), '\0');
  REQUIRE(*(*file)->ReadAt(0, bytes.data(), bytes.size()) == bytes.size());
  return bytes;
}

TEST_CASE("A power cut loses unsynced bytes and unsynced file creations") {
  testing::TempDir dir;
  FaultInjectingFileSystem fs(FileSystem::Posix());
  auto durable = *fs.Open(dir.path() + "/durable", OpenMode::kCreate);
  REQUIRE(durable->Append("synced").ok());
  REQUIRE(durable->Sync().ok());
  REQUIRE(fs.SyncDir(dir.path()).ok());
  REQUIRE(durable->Append(" but not this").ok());
  auto fresh = *fs.Open(dir.path() + "/fresh", OpenMode::kCreate);
  REQUIRE(fresh->Append("data").ok());
  REQUIRE(fresh->Sync().ok());  // synced, but its directory entry is not
  CHECK(fs.UnsyncedBytes() == 13);
  REQUIRE(fs.PowerCut().ok());
  CHECK(ReadWhole(fs, dir.path() + "/durable") == "synced");
  CHECK(fs.Open(dir.path() + "/fresh", OpenMode::kExisting).status().code() ==
        absl::StatusCode::kNotFound);
  // Handles from before the cut are dead.
  CHECK(durable->Append("x").code() == absl::StatusCode::kFailedPrecondition);
  CHECK(fs.UnsyncedBytes() == 0);
}

TEST_CASE("A torn power cut keeps a random prefix of the unsynced bytes") {
  testing::TempDir dir;
  FaultInjectingFileSystem fs(FileSystem::Posix());
  {
    auto f = *fs.Open(dir.path() + "/f", OpenMode::kCreate);
    REQUIRE(fs.SyncDir(dir.path()).ok());
    REQUIRE(f->Append("0123456789").ok());
    REQUIRE(f->Sync().ok());
    REQUIRE(f->Append("abcdefghij").ok());
  }
  base::Random rng(keel::testing::TestSeed(5));
  REQUIRE(fs.PowerCut(&rng).ok());
  const std::string left = ReadWhole(fs, dir.path() + "/f");
  CHECK(left.size() >= 10);
  CHECK(left.size() <= 20);
  CHECK(left == std::string("0123456789abcdefghij").substr(0, left.size()));
}

TEST_CASE("Injected errors fail syncs and appends on demand") {
  testing::TempDir dir;
  FaultInjectingFileSystem fs(FileSystem::Posix());
  auto f = *fs.Open(dir.path() + "/f", OpenMode::kCreate);
  fs.FailSyncs(true);
  CHECK(f->Sync().code() == absl::StatusCode::kUnavailable);
  CHECK(fs.SyncDir(dir.path()).code() == absl::StatusCode::kUnavailable);
  fs.FailSyncs(false);
  CHECK(f->Sync().ok());
  fs.FailAppendsAfter(2);
  CHECK(f->Append("a").ok());
  CHECK(f->Append("b").ok());
  CHECK(f->Append("c").code() == absl::StatusCode::kUnavailable);
  fs.FailAppendsAfter(-1);
  CHECK(f->Append("d").ok());
  CHECK(f->size() == 3);
}

TEST_CASE("A power cut undoes overwrites made since the last sync") {
  testing::TempDir dir;
  FaultInjectingFileSystem fs(FileSystem::Posix());
  const std::string path = dir.path() + "/f";
  auto f = *fs.Open(path, OpenMode::kCreate);
  REQUIRE(fs.SyncDir(dir.path()).ok());
  REQUIRE(f->Append("0123456789").ok());
  REQUIRE(f->Sync().ok());
  REQUIRE(f->WriteAt(2, "ab").ok());
  REQUIRE(f->Sync().ok());  // this one is durable
  REQUIRE(f->WriteAt(5, "XYZ").ok());
  REQUIRE(f->WriteAt(6, "Q").ok());  // over the last one: unwinds to the durable bytes
  REQUIRE(f->Append("tail").ok());
  REQUIRE(f->WriteAt(11, "T").ok());  // in unsynced appended bytes: lost with them
  CHECK(ReadWhole(fs, path) == "01ab4XQZ89tTil");
  CHECK(fs.UnsyncedBytes() == 3 + 1 + 4);
  REQUIRE(fs.PowerCut().ok());
  CHECK(ReadWhole(fs, path) == "01ab456789");
  CHECK(fs.UnsyncedBytes() == 0);
}

TEST_CASE("A torn power cut keeps a prefix of each unsynced overwrite") {
  const uint64_t seed = keel::testing::TestSeed(6);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int trial = 0; trial < 20; ++trial) {
    testing::TempDir dir;
    FaultInjectingFileSystem fs(FileSystem::Posix());
    const std::string path = dir.path() + "/f";
    {
      auto f = *fs.Open(path, OpenMode::kCreate);
      REQUIRE(fs.SyncDir(dir.path()).ok());
      REQUIRE(f->Append("0123456789").ok());
      REQUIRE(f->Sync().ok());
      REQUIRE(f->WriteAt(3, "abcd").ok());
    }
    REQUIRE(fs.PowerCut(&rng).ok());
    const std::string left = ReadWhole(fs, path);
    CAPTURE(left);
    size_t kept = 0;
    while (kept < 4 && left[3 + kept] == "abcd"[kept]) ++kept;
    CHECK(left ==
          "012" + std::string("abcd").substr(0, kept) + std::string("3456").substr(kept) + "789");
  }
}

TEST_CASE("Injected mutation failures stop a multi-step change after exactly n steps") {
  testing::TempDir dir;
  FaultInjectingFileSystem fs(FileSystem::Posix());
  fs.FailMutationsAfter(2);
  auto f = fs.Open(dir.path() + "/f", OpenMode::kCreate);  // 1
  REQUIRE(f.ok());
  CHECK((*f)->Append("data").ok());  // 2
  CHECK((*f)->Sync().code() == absl::StatusCode::kUnavailable);
  CHECK((*f)->WriteAt(0, "D").code() == absl::StatusCode::kUnavailable);
  CHECK((*f)->Truncate(1).code() == absl::StatusCode::kUnavailable);
  CHECK(fs.SyncDir(dir.path()).code() == absl::StatusCode::kUnavailable);
  CHECK(fs.Rename(dir.path() + "/f", dir.path() + "/g").code() == absl::StatusCode::kUnavailable);
  CHECK(fs.Remove(dir.path() + "/f").code() == absl::StatusCode::kUnavailable);
  CHECK(fs.Open(dir.path() + "/h", OpenMode::kCreate).status().code() ==
        absl::StatusCode::kUnavailable);
  // Reading still works, and so does everything once the allowance is lifted.
  CHECK(ReadWhole(fs, dir.path() + "/f") == "data");
  fs.FailMutationsAfter(-1);
  CHECK((*f)->Sync().ok());
  CHECK(fs.SyncDir(dir.path()).ok());
}

}  // namespace
}  // namespace keel::wal
