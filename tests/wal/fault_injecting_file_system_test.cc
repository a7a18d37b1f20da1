// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/wal/fault_injecting_file_system.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <set>
#include <string>

#include "absl/strings/str_join.h"
#include "keel/base/random.h"
#include "keel/wal/memory_file_system.h"
#include "testing/testing.h"

namespace keel::wal {
namespace {

std::string ReadWhole(FileSystem& fs, const std::string& path) {
  auto file = fs.Open(path, OpenMode::kExisting);
  REQUIRE_MESSAGE(file.ok(), file.status());
  std::string bytes((*file)->size(), '\0');
  REQUIRE(*(*file)->ReadAt(0, bytes.data(), bytes.size()) == bytes.size());
  return bytes;
}

void WriteFile(FileSystem& fs, const std::string& path, const std::string& bytes) {
  auto file = fs.Open(path, OpenMode::kCreate);
  REQUIRE_MESSAGE(file.ok(), file.status());
  REQUIRE((*file)->Append(bytes).ok());
  REQUIRE((*file)->Sync().ok());
}

// Every file and directory under `dir` on the real file system, "name" for a directory and
// "name=bytes" for a file, names relative to `dir`.
std::set<std::string> Listing(const std::string& dir, const std::string& under = "") {
  std::set<std::string> out;
  auto names = FileSystem::Posix().List(dir + under);
  REQUIRE(names.ok());
  for (const std::string& name : *names) {
    const std::string path = under + "/" + name;
    if (FileSystem::Posix().List(dir + path).ok()) {
      out.insert(path);
      for (const std::string& inner : Listing(dir, path)) out.insert(inner);
    } else {
      out.insert(path + "=" + ReadWhole(FileSystem::Posix(), dir + path));
    }
  }
  return out;
}

// Runs `workload` on a fresh directory through a FaultInjectingFileSystem and cuts the power with
// `options` `trials` times; returns every state seen, and checks each is one of `allowed`.
std::set<std::set<std::string>> CutRepeatedly(
    const std::function<void(FaultInjectingFileSystem&, const std::string&)>& workload,
    const PowerCutOptions& options, uint64_t seed, int trials,
    const std::set<std::set<std::string>>& allowed) {
  base::Random random(seed);
  std::set<std::set<std::string>> seen;
  for (int trial = 0; trial < trials; ++trial) {
    testing::TempDir dir;
    FaultInjectingFileSystem fs(FileSystem::Posix());
    workload(fs, dir.path());
    REQUIRE(fs.PowerCut(random, options).ok());
    const std::set<std::string> state = Listing(dir.path());
    CAPTURE(trial);
    CHECK_MESSAGE(allowed.contains(state), absl::StrJoin(state, " "));
    seen.insert(state);
    CHECK(fs.UnsyncedBytes() == 0);
  }
  return seen;
}

TEST_CASE("A power cut keeps nothing unsynced and kills the files open at the time") {
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
  CHECK(Listing(dir.path()) == std::set<std::string>{"/durable=synced"});
  CHECK(durable->Append("x").code() == absl::StatusCode::kFailedPrecondition);
  CHECK(durable->ReadAt(0, nullptr, 0).status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(fs.UnsyncedBytes() == 0);
  // The file system goes on: what is written now is tracked afresh.
  auto again = *fs.Open(dir.path() + "/durable", OpenMode::kExisting);
  REQUIRE(again->Append("!").ok());
  REQUIRE(fs.PowerCut().ok());
  CHECK(ReadWhole(fs, dir.path() + "/durable") == "synced");
}

TEST_CASE("A power cut undoes overwrites and truncations made since the last sync") {
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
  REQUIRE(f->WriteAt(6, "Q").ok());
  REQUIRE(f->Append("tail").ok());
  REQUIRE(f->WriteAt(11, "T").ok());
  REQUIRE(f->Truncate(12).ok());
  CHECK(ReadWhole(fs, path) == "01ab4XQZ89tT");
  CHECK(fs.UnsyncedBytes() == 3 + 1 + 4 + 1);
  REQUIRE(fs.PowerCut().ok());
  CHECK(ReadWhole(fs, path) == "01ab456789");
  CHECK(fs.UnsyncedBytes() == 0);
}

TEST_CASE("A power cut brings back unsynced removals and renames and takes unsynced directories") {
  testing::TempDir dir;
  const std::string d = dir.path();
  // Files that existed before the file system was watching are durable as they were.
  WriteFile(FileSystem::Posix(), d + "/removed", "r");
  WriteFile(FileSystem::Posix(), d + "/renamed", "n");
  WriteFile(FileSystem::Posix(), d + "/replaced", "p");
  WriteFile(FileSystem::Posix(), d + "/untouched", "u");
  FaultInjectingFileSystem fs(FileSystem::Posix());
  REQUIRE(fs.Remove(d + "/removed").ok());
  {
    auto renamed = *fs.Open(d + "/renamed", OpenMode::kExisting);
    REQUIRE(fs.Rename(d + "/renamed", d + "/replaced").ok());
    REQUIRE(renamed->Append("+").ok());  // the inode moved, with its writes
    REQUIRE(renamed->Sync().ok());
  }
  REQUIRE(fs.CreateDir(d + "/sub").ok());
  WriteFile(fs, d + "/sub/inside", "i");
  REQUIRE(fs.SyncDir(d + "/sub").ok());  // its entry is durable; the directory's own is not
  CHECK(Listing(d) ==
        std::set<std::string>{"/replaced=n+", "/sub", "/sub/inside=i", "/untouched=u"});
  REQUIRE(fs.PowerCut().ok());
  CHECK(Listing(d) ==
        std::set<std::string>{"/removed=r", "/renamed=n+", "/replaced=p", "/untouched=u"});
}

TEST_CASE("A power cut keeps what a directory sync made durable") {
  testing::TempDir dir;
  const std::string d = dir.path();
  FaultInjectingFileSystem fs(FileSystem::Posix());
  REQUIRE(fs.CreateDir(d + "/sub").ok());
  REQUIRE(fs.SyncDir(d).ok());
  WriteFile(fs, d + "/sub/a", "a");
  WriteFile(fs, d + "/sub/b", "b");
  REQUIRE(fs.Rename(d + "/sub/a", d + "/sub/c").ok());
  REQUIRE(fs.Remove(d + "/sub/b").ok());
  REQUIRE(fs.SyncDir(d + "/sub").ok());
  REQUIRE(fs.RemoveDir(d + "/sub").code() == absl::StatusCode::kFailedPrecondition);  // not empty
  base::Random random(keel::testing::TestSeed(3));
  REQUIRE(fs.PowerCut(&random).ok());
  CHECK(Listing(d) == std::set<std::string>{"/sub", "/sub/c=a"});
}

TEST_CASE("A random power cut keeps entry changes in any order that respects each name") {
  const uint64_t seed = keel::testing::TestSeed(5);
  CAPTURE(seed);
  const auto workload = [](FaultInjectingFileSystem& fs, const std::string& d) {
    WriteFile(fs, d + "/keep", "k");
    WriteFile(fs, d + "/a", "1");
    REQUIRE(fs.SyncDir(d).ok());
    REQUIRE(fs.Rename(d + "/a", d + "/b").ok());
    REQUIRE(fs.Remove(d + "/keep").ok());
    WriteFile(fs, d + "/keep", "K");  // the removal, then a new file under the name
  };
  const std::set<std::set<std::string>> allowed = {
      {"/keep=k", "/a=1"}, {"/keep=k", "/b=1"}, {"/a=1"}, {"/b=1"},
      {"/keep=K", "/a=1"}, {"/keep=K", "/b=1"},
  };
  CHECK(CutRepeatedly(workload, {}, seed, 80, allowed) == allowed);
  // Without losing entries, every change persists.
  CHECK(CutRepeatedly(workload, {.lose_directory_entries = false}, seed, 5, allowed) ==
        std::set<std::set<std::string>>{{"/keep=K", "/b=1"}});
}

TEST_CASE("A random power cut keeps unsynced pages in any subset and order") {
  const uint64_t seed = keel::testing::TestSeed(6);
  CAPTURE(seed);
  const std::string a(4096, 'a');
  const std::string b(4096, 'b');
  const std::string c(100, 'c');
  const std::string z(4096, '\0');
  const auto workload = [&](FaultInjectingFileSystem& fs, const std::string& d) {
    WriteFile(fs, d + "/f", "");
    REQUIRE(fs.SyncDir(d).ok());
    auto f = *fs.Open(d + "/f", OpenMode::kExisting);
    REQUIRE(f->Append(a + b + c).ok());
  };
  std::set<std::set<std::string>> allowed;
  for (const std::string& p0 : {a, z}) {
    for (const std::string& p1 : {b, z}) {
      allowed.insert({"/f=" + p0 + p1 + c});
      allowed.insert({"/f=" + p0 + p1 + std::string(100, '\0')});  // the size without the data
    }
  }
  allowed.insert({"/f="});
  allowed.insert({"/f=" + a});
  allowed.insert({"/f=" + z + b});
  allowed.insert({"/f=" + a + b});
  PowerCutOptions whole_pages;
  whole_pages.tear_sectors = false;
  const auto seen = CutRepeatedly(workload, whole_pages, seed, 150, allowed);
  CHECK(seen.contains({"/f=" + z + b + c}));  // the later pages without the first
  CHECK(seen.size() >= 10);
  // In order, a prefix of the pages (and of the new size) survives.
  const std::set<std::set<std::string>> prefixes = {
      {"/f="}, {"/f=" + a}, {"/f=" + a + b}, {"/f=" + a + b + c}};
  CHECK(CutRepeatedly(workload, {.reorder_pages = false, .tear_sectors = false}, seed, 40,
                      prefixes) == prefixes);
}

TEST_CASE("A torn power cut leaves each sector old new or a prefix of new") {
  const uint64_t seed = keel::testing::TestSeed(7);
  CAPTURE(seed);
  base::Random random(seed);
  bool saw_prefix = false;
  bool saw_mixed = false;
  for (int trial = 0; trial < 60; ++trial) {
    testing::TempDir dir;
    FaultInjectingFileSystem fs(FileSystem::Posix());
    const std::string path = dir.path() + "/f";
    WriteFile(fs, path, std::string(4096, 'o'));
    REQUIRE(fs.SyncDir(dir.path()).ok());
    {
      auto f = *fs.Open(path, OpenMode::kExisting);
      REQUIRE(f->WriteAt(0, std::string(4096, 'n')).ok());
    }
    REQUIRE(fs.PowerCut(&random).ok());
    const std::string got = ReadWhole(fs, path);
    REQUIRE(got.size() == 4096);
    int old_sectors = 0;
    for (size_t s = 0; s < 8; ++s) {
      const std::string sector = got.substr(s * 512, 512);
      const size_t kept = sector.find_first_not_of('n');
      const size_t new_bytes = kept == std::string::npos ? 512 : kept;
      CHECK(sector.find_first_not_of('o', new_bytes) == std::string::npos);
      if (new_bytes > 0 && new_bytes < 512) saw_prefix = true;
      if (new_bytes == 0) ++old_sectors;
    }
    if (old_sectors > 0 && old_sectors < 8) saw_mixed = true;
  }
  CHECK(saw_prefix);
  CHECK(saw_mixed);
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
  CHECK(fs.CreateDir(dir.path() + "/d").code() == absl::StatusCode::kUnavailable);
  CHECK(fs.RemoveDir(dir.path() + "/d").code() == absl::StatusCode::kUnavailable);
  CHECK(fs.Open(dir.path() + "/h", OpenMode::kCreate).status().code() ==
        absl::StatusCode::kUnavailable);
  // Reading still works, and so does everything once the allowance is lifted.
  CHECK(ReadWhole(fs, dir.path() + "/f") == "data");
  fs.FailMutationsAfter(-1);
  CHECK((*f)->Sync().ok());
  CHECK(fs.SyncDir(dir.path()).ok());
}

TEST_CASE("The fault-injecting file system refuses what its model does not cover") {
  testing::TempDir dir;
  FaultInjectingFileSystem fs(FileSystem::Posix());
  REQUIRE(fs.CreateDir(dir.path() + "/d").ok());
  CHECK(fs.Rename(dir.path() + "/d", dir.path() + "/e").code() == absl::StatusCode::kUnimplemented);
  REQUIRE(FileSystem::Posix().CreateDir(dir.path() + "/before").ok());
  CHECK(fs.Rename(dir.path() + "/before", dir.path() + "/e").code() ==
        absl::StatusCode::kUnimplemented);
  // Errors of the base pass through, and change nothing in the model.
  CHECK(fs.Remove(dir.path() + "/missing").code() == absl::StatusCode::kNotFound);
  CHECK(fs.Open(dir.path() + "/d", OpenMode::kCreate).status().code() ==
        absl::StatusCode::kAlreadyExists);
  REQUIRE(fs.PowerCut().ok());
  CHECK(Listing(dir.path()) == std::set<std::string>{"/before"});
}

TEST_CASE("A power cut over a memory file system leaves what it leaves over a real one") {
  const uint64_t seed = keel::testing::TestSeed(8);
  CAPTURE(seed);
  for (int trial = 0; trial < 20; ++trial) {
    testing::TempDir dir;
    MemoryFileSystem memory;
    FaultInjectingFileSystem on_disk(FileSystem::Posix());
    FaultInjectingFileSystem in_memory(memory);
    base::Random workload(seed + static_cast<uint64_t>(trial));
    const std::string names[] = {"/a", "/b", "/c"};
    for (int step = 0; step < 30; ++step) {
      const std::string& name = names[workload.Uniform(3)];
      const std::string& other = names[workload.Uniform(3)];
      const std::string bytes(workload.Uniform(5000), static_cast<char>('a' + step));
      const uint64_t what = workload.Uniform(5);
      for (auto [fs, at] : {std::pair<FileSystem*, std::string>{&on_disk, dir.path()},
                            std::pair<FileSystem*, std::string>{&in_memory, ""}}) {
        if (what == 0) {
          auto file = fs->Open(at + name, OpenMode::kCreate);
          if (file.ok()) REQUIRE((*file)->Append(bytes).ok());
        } else if (what == 1) {
          auto file = fs->Open(at + name, OpenMode::kExisting);
          if (file.ok()) {
            REQUIRE((*file)->Append(bytes).ok());
            if (step % 3 == 0) REQUIRE((*file)->Sync().ok());
          }
        } else if (what == 2) {
          (void)fs->Rename(at + name, at + other);
        } else if (what == 3) {
          (void)fs->Remove(at + name);
        } else {
          REQUIRE(fs->SyncDir(at.empty() ? "/" : at).ok());
        }
      }
    }
    base::Random cut_disk(seed, static_cast<uint64_t>(trial));
    base::Random cut_memory(seed, static_cast<uint64_t>(trial));
    REQUIRE(on_disk.PowerCut(&cut_disk).ok());
    REQUIRE(in_memory.PowerCut(&cut_memory).ok());
    std::set<std::string> from_memory;
    const std::vector<std::string> listed = *memory.List("/");
    for (const std::string& name : listed) {
      from_memory.insert("/" + name + "=" + ReadWhole(memory, "/" + name));
    }
    CAPTURE(trial);
    CHECK(Listing(dir.path()) == from_memory);
  }
}

}  // namespace
}  // namespace keel::wal
