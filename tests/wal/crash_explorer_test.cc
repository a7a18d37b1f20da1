// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/wal/crash_explorer.h"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "testing/testing.h"

namespace keel::wal {
namespace {

// Everything in `fs`: "path" for a directory, "path=bytes" for a file; a run of a repeated byte
// is written "<n x c>".
std::string Describe(FileSystem& fs, const std::string& dir = "/") {
  std::vector<std::string> parts;
  auto names = fs.List(dir);
  REQUIRE(names.ok());
  for (const std::string& name : *names) {
    const std::string path = dir == "/" ? "/" + name : dir + "/" + name;
    if (fs.List(path).ok()) {
      parts.push_back(path);
      const std::string inner = Describe(fs, path);
      if (!inner.empty()) parts.push_back(inner);
      continue;
    }
    auto file = *fs.Open(path, OpenMode::kExisting);
    std::string bytes(file->size(), '\0');
    REQUIRE(*file->ReadAt(0, bytes.data(), bytes.size()) == bytes.size());
    std::string shown;
    for (size_t i = 0; i < bytes.size();) {
      size_t j = i;
      while (j < bytes.size() && bytes[j] == bytes[i]) ++j;
      shown = base::Cat(shown, "<", j - i, " x ", bytes[i] == '\0' ? "0" : std::string(1, bytes[i]),
                        ">");
      i = j;
    }
    parts.push_back(path + "=" + shown);
  }
  return absl::StrJoin(parts, " ");
}

struct Seen {
  uint64_t point;
  uint64_t state;
  std::string description;
  std::string files;
};

std::vector<Seen> ExploreAll(const CrashExplorer& explorer, const CrashExplorerOptions& options) {
  std::vector<Seen> seen;
  const auto result = explorer.Explore(
      [&](FileSystem& fs, const CrashPoint& point) {
        seen.push_back({point.mutations, point.state, point.state_description, Describe(fs)});
        return absl::OkStatus();
      },
      options);
  REQUIRE_MESSAGE(result.ok(), result.status());
  CHECK(result->states == seen.size());
  CHECK(result->failures.empty());
  CHECK(result->complete);
  return seen;
}

// A file made durable the right way: created, written, synced, and its directory synced.
void CreateDurably(CrashExplorer& explorer) {
  FileSystem& fs = explorer.file_system();
  REQUIRE(fs.CreateDir("/d").ok());                 // 1
  REQUIRE(fs.SyncDir("/").ok());                    // 2
  auto f = *fs.Open("/d/f", OpenMode::kCreate);     // 3
  REQUIRE(f->Append(std::string(5000, 'A')).ok());  // 4
  REQUIRE(f->Sync().ok());                          // 5
  REQUIRE(fs.SyncDir("/d").ok());                   // 6
}

TEST_CASE("The explorer checks exactly the systematic states of each crash point") {
  CrashExplorer explorer;
  CreateDurably(explorer);
  CHECK(explorer.mutations() == 6);
  const std::vector<Seen> seen = ExploreAll(explorer, {.random_states = 0});
  std::map<uint64_t, std::vector<std::string>> files;
  for (const Seen& s : seen) files[s.point].push_back(s.files);
  const std::string a = "/d/f=<5000 x A>";
  const std::string z_then_a = "/d/f=<4096 x 0><904 x A>";
  const std::string a_then_z = "/d/f=<4096 x A><904 x 0>";
  using List = std::vector<std::string>;
  CHECK(files[0] == List{""});
  CHECK(files[1] == List{"", "/d"});
  CHECK(files[2] == List{"/d"});
  CHECK(files[3] == List{"/d", "/d /d/f="});
  // The creation, two pages and the new size are pending: nothing, everything, then each piece
  // left out and each alone, in the order of the pieces.
  CHECK(files[4] == List{"/d", "/d " + a, "/d", "/d /d/f=",  // all but the creation; it alone
                         "/d " + z_then_a, "/d",             // all but page 0; it alone (unseen)
                         "/d " + a_then_z, "/d",             // all but page 1; it alone
                         "/d " + a, "/d"});                  // all but the size; it alone
  CHECK(files[5] == List{"/d", "/d " + a});
  CHECK(files[6] == List{"/d " + a});
  CHECK(seen.size() == 19);
  // What the checker is told about where the crash came.
  CHECK(seen[0].description == "nothing was pending");
  CHECK(seen[7].description == "all 4 pending pieces");
  CHECK(seen[10].description == "all but #4 write \"/d/f\" [0, 4096)");
}

TEST_CASE("The explorer tells the checker where the crash came") {
  CrashExplorer explorer;
  CreateDurably(explorer);
  std::vector<CrashPoint> points;
  REQUIRE(explorer
              .Explore(
                  [&](FileSystem&, const CrashPoint& point) {
                    points.push_back(point);
                    return absl::OkStatus();
                  },
                  {.random_states = 0})
              .ok());
  REQUIRE(points.size() == 19);
  CHECK(points[0].mutations == 0);
  CHECK(points[0].last_change.empty());
  CHECK(points[0].ToString() == "crash point 0 (before any change), state 0: nothing was pending");
  const CrashPoint& write = points[7];
  CHECK(write.mutations == 4);
  CHECK(write.last_change == "write 5000 bytes at 0 to \"/d/f\"");
  CHECK(write.state == 1);
  CHECK(
      write.ToString() ==
      "crash point 4 (after #4 write 5000 bytes at 0 to \"/d/f\"), state 1: all 4 pending pieces");
}

// The workload acknowledges the file once it has synced it; `sync_directory` says whether it
// syncs the directory first, as it must.
absl::StatusOr<CrashExploration> ExploreAcknowledgedFile(bool sync_directory,
                                                         uint64_t max_failures = 100) {
  CrashExplorer explorer;
  FileSystem& fs = explorer.file_system();
  std::optional<uint64_t> acknowledged;
  {
    auto f = *fs.Open("/f", OpenMode::kCreate);
    KEEL_ASSERT(f->Append("promised").ok());
    KEEL_ASSERT(f->Sync().ok());
    if (sync_directory) KEEL_ASSERT(fs.SyncDir("/").ok());
    acknowledged = explorer.mutations();
    KEEL_ASSERT(f->Append(" and more").ok());  // never acknowledged
  }
  return explorer.Explore(
      [&](FileSystem& crashed, const CrashPoint& point) -> absl::Status {
        auto file = crashed.Open("/f", OpenMode::kExisting);
        std::string bytes;
        if (file.ok()) {
          bytes.resize((*file)->size());
          KEEL_ASSIGN_OR_RETURN(const size_t got, (*file)->ReadAt(0, bytes.data(), bytes.size()));
          bytes.resize(got);
        }
        if (point.mutations >= *acknowledged && !bytes.starts_with("promised")) {
          return absl::DataLossError(base::Cat("lost the promised bytes: ", base::Quoted(bytes)));
        }
        return absl::OkStatus();
      },
      {.seed = 7, .max_failures = max_failures});
}

TEST_CASE("The explorer finds a file whose directory entry was never synced") {
  const auto good = ExploreAcknowledgedFile(/*sync_directory=*/true);
  REQUIRE(good.ok());
  CHECK(good->failures.empty());
  CHECK(good->complete);
  const auto bad = ExploreAcknowledgedFile(/*sync_directory=*/false);
  REQUIRE(bad.ok());
  REQUIRE(!bad->failures.empty());
  // The first: right after the promise, the creation lost.
  const CrashFailure& first = bad->failures[0];
  CHECK(first.point.mutations == 3);
  CHECK(absl::StrContains(first.point.state_description, "none of"));
  CHECK(first.status.code() == absl::StatusCode::kDataLoss);
  CHECK(absl::StrContains(bad->Summary(), "seed 7:"));
  CHECK(absl::StrContains(bad->Summary(), first.point.ToString()));
  // No failure before the promise was made.
  for (const CrashFailure& failure : bad->failures) CHECK(failure.point.mutations >= 3);
  // Stopping at the first failure.
  const auto stopped = ExploreAcknowledgedFile(/*sync_directory=*/false, /*max_failures=*/1);
  REQUIRE(stopped.ok());
  CHECK(stopped->failures.size() == 1);
  CHECK(!stopped->complete);
}

TEST_CASE("The explorer is deterministic for a seed") {
  const auto run = [](uint64_t seed) {
    CrashExplorer explorer;
    CreateDurably(explorer);
    auto f = *explorer.file_system().Open("/d/f", OpenMode::kExisting);
    REQUIRE(f->WriteAt(100, std::string(3000, 'B')).ok());
    REQUIRE(f->Append(std::string(9000, 'C')).ok());
    return ExploreAll(explorer, {.seed = seed, .random_states = 6});
  };
  const std::vector<Seen> first = run(11);
  const std::vector<Seen> second = run(11);
  const std::vector<Seen> other = run(12);
  REQUIRE(first.size() == second.size());
  bool differs = first.size() != other.size();
  for (size_t i = 0; i < first.size(); ++i) {
    CHECK(first[i].description == second[i].description);
    CHECK(first[i].files == second[i].files);
    if (i < other.size() && first[i].description != other[i].description) differs = true;
  }
  CHECK(differs);
  // Random states tear sectors too.
  bool torn = false;
  for (const Seen& s : first) torn = torn || absl::StrContains(s.description, "torn");
  CHECK(torn);
}

TEST_CASE("The explorer bounds its work and can replay one crash point") {
  CrashExplorer explorer;
  CreateDurably(explorer);
  const auto accept = [](FileSystem&, const CrashPoint&) { return absl::OkStatus(); };
  auto result = explorer.Explore(accept, {.random_states = 0, .max_states = 7});
  REQUIRE(result.ok());
  CHECK(result->states == 7);
  CHECK(!result->complete);

  // The same recording, one point of it.
  std::vector<uint64_t> points;
  result = explorer.Explore(
      [&](FileSystem&, const CrashPoint& point) {
        points.push_back(point.mutations);
        return absl::OkStatus();
      },
      {.random_states = 3, .first_point = 4, .last_point = 4});
  REQUIRE(result.ok());
  CHECK(result->crash_points == 1);
  CHECK(points == std::vector<uint64_t>(points.size(), 4));
  CHECK(points.size() >= 10);

  result = explorer.Explore(accept, {.random_states = 0, .max_systematic_states = 4});
  REQUIRE(result.ok());
  CHECK(result->states == 1 + 2 + 1 + 2 + 4 + 2 + 1);
  CHECK(result->pieces_max == 4);
}

TEST_CASE("The explorer takes its random state count from KEEL_CRASH_STATES") {
  const char* before = std::getenv("KEEL_CRASH_STATES");
  const std::optional<std::string> saved =
      before ? std::optional<std::string>(before) : std::nullopt;
  CrashExplorer explorer;  // random_states < 0: from the environment
  REQUIRE(explorer.file_system().CreateDir("/d").ok());
  const auto count = [&]() {
    return explorer.Explore([](FileSystem&, const CrashPoint&) { return absl::OkStatus(); });
  };
  REQUIRE(setenv("KEEL_CRASH_STATES", "0", 1) == 0);
  CHECK(count()->states == 1 + 2);
  REQUIRE(setenv("KEEL_CRASH_STATES", "many", 1) == 0);
  const auto bad = count();
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(bad.status().message(), "many"));
  if (saved) {
    setenv("KEEL_CRASH_STATES", saved->c_str(), 1);
  } else {
    unsetenv("KEEL_CRASH_STATES");
  }
  CHECK(CrashExplorer()
            .Explore([](FileSystem&, const CrashPoint&) { return absl::OkStatus(); },
                     {.max_failures = 0})
            .status()
            .code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("The explorer's file system refuses a power cut while it records") {
  CrashExplorer explorer;
  CHECK(explorer.file_system().PowerCut().code() == absl::StatusCode::kFailedPrecondition);
  // Failure injection works as usual, and failed changes are not recorded.
  explorer.file_system().FailSyncs(true);
  CHECK(!explorer.file_system().SyncDir("/").ok());
  CHECK(explorer.mutations() == 0);
}

}  // namespace
}  // namespace keel::wal
