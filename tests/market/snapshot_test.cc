// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Engine snapshots: the state's bytes (MatchingEngine::AppendState and FromState) and the files
// (keel/market/snapshot.h). The sequencer's use of them is in sequencer_test.cc.
#include "keel/market/snapshot.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "commands.h"
#include "keel/base/random.h"
#include "keel/wal/fault_injecting_file_system.h"
#include "random_commands.h"
#include "testing/testing.h"

namespace keel::market {
namespace {

// Random commands of every kind (testing::RandomCommands), with a random 64-bit id now and then
// so that the used ids are more than one run.
std::vector<Command> RandomStream(uint64_t seed, size_t count) {
  testing::RandomCommands commands(seed);
  base::Random rng(seed + 1);
  std::vector<Command> out;
  for (size_t i = 0; i < count; ++i) {
    Command c = commands.Next();
    if (c.kind == CommandKind::kNew && rng.Uniform(25) == 0) c.order.id = rng.Next();
    out.push_back(c);
  }
  return out;
}

std::string StateOf(const MatchingEngine& engine) {
  std::string state;
  engine.AppendState(state);
  return state;
}

TEST_CASE("An engine rebuilt from its state at any command answers every later command the same") {
  const uint64_t seed = keel::testing::TestSeed(701);
  CAPTURE(seed);
  const std::vector<Command> commands = RandomStream(seed, 3000);
  // The engine from the start: its events and hash after every command.
  MatchingEngine original({});
  std::vector<std::vector<EngineEvent>> events(commands.size());
  std::vector<uint64_t> hashes(commands.size());
  std::vector<std::string> states(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    if (i % 37 == 0) states[i] = StateOf(original);  // the state before command i
    original.Apply(commands[i], events[i]);
    hashes[i] = original.StateHash();
  }
  CHECK(original.symbol_count() == 3);
  size_t checked = 0;
  for (size_t n = 0; n < commands.size(); n += 37) {
    CAPTURE(n);
    absl::StatusOr<std::unique_ptr<MatchingEngine>> restored =
        MatchingEngine::FromState(states[n], {});
    REQUIRE_MESSAGE(restored.ok(), restored.status());
    MatchingEngine& engine = **restored;
    REQUIRE(engine.commands() == n);
    if (n > 0) REQUIRE(engine.StateHash() == hashes[n - 1]);
    CHECK(StateOf(engine) == states[n]);  // the encoding is canonical
    // The next few hundred commands: the same events, numbered the same, and the same hash.
    std::vector<EngineEvent> got;
    for (size_t i = n; i < std::min(n + 300, commands.size()); ++i) {
      got.clear();
      engine.Apply(commands[i], got);
      REQUIRE(got == events[i]);
      REQUIRE(engine.StateHash() == hashes[i]);
    }
    ++checked;
  }
  CHECK(checked > 80);
}

TEST_CASE("A damaged engine state is refused and never crashes the reader") {
  const uint64_t seed = keel::testing::TestSeed(702);
  CAPTURE(seed);
  const std::vector<Command> commands = RandomStream(seed, 300);
  MatchingEngine engine({});
  std::vector<EngineEvent> events;
  for (const Command& c : commands) engine.Apply(c, events);
  const std::string state = StateOf(engine);
  for (size_t cut = 0; cut < state.size(); ++cut) {
    CAPTURE(cut);
    CHECK(MatchingEngine::FromState(state.substr(0, cut), {}).status().code() ==
          absl::StatusCode::kDataLoss);
  }
  CHECK(MatchingEngine::FromState(state + "x", {}).status().code() == absl::StatusCode::kDataLoss);
  // A flipped bit is not always detectable here (that is the file's checksum's job), but it is
  // an error or a state that encodes back to itself: never a crash, never half an engine.
  for (size_t bit = 0; bit < state.size() * 8; ++bit) {
    std::string damaged = state;
    damaged[bit / 8] = static_cast<char>(damaged[bit / 8] ^ (1 << (bit % 8)));
    absl::StatusOr<std::unique_ptr<MatchingEngine>> restored =
        MatchingEngine::FromState(damaged, {});
    if (restored.ok()) {
      CHECK(StateOf(**restored) == damaged);
    } else {
      CHECK(restored.status().code() == absl::StatusCode::kDataLoss);
    }
  }
  base::Random rng(seed);
  for (int i = 0; i < 5000; ++i) {
    std::string noise(rng.Uniform(64), '\0');
    for (char& ch : noise) ch = static_cast<char>(rng.Uniform(256));
    (void)MatchingEngine::FromState(noise, {});
  }
}

TEST_CASE("A state the engine options cannot hold is refused as a precondition") {
  MatchingEngine engine({});
  std::vector<EngineEvent> events;
  engine.Apply(testing::NewCommand("AAA", 1, 1, Side::kBuy, 100, 5), events);
  engine.Apply(testing::NewCommand("AAA", 2, 1, Side::kBuy, 99, 5), events);
  engine.Apply(testing::NewCommand("BBB", 3, 1, Side::kBuy, 100, 5), events);
  const std::string state = StateOf(engine);
  CHECK(MatchingEngine::FromState(state, {.max_symbols = 1}).status().code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(MatchingEngine::FromState(state, {.book = {.max_orders = 1}}).status().code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(MatchingEngine::FromState(state, {.max_symbols = 2}).ok());
}

// ---------------------------------------------------------------------------------------------
// Files.
// ---------------------------------------------------------------------------------------------

std::unique_ptr<MatchingEngine> EngineAfter(const std::vector<Command>& commands) {
  auto engine = std::make_unique<MatchingEngine>(EngineOptions{});
  std::vector<EngineEvent> events;
  for (const Command& c : commands) engine->Apply(c, events);
  return engine;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST_CASE("A snapshot file reads back as the engine it was written from") {
  keel::testing::TempDir dir;
  wal::FileSystem& fs = wal::FileSystem::Posix();
  const std::unique_ptr<MatchingEngine> engine = EngineAfter(RandomStream(703, 500));
  const absl::StatusOr<uint64_t> bytes = WriteSnapshot(fs, dir.path(), *engine);
  REQUIRE(bytes.ok());
  const std::string path = dir.path() + "/" + SnapshotFileName(500);
  CHECK(std::filesystem::file_size(path) == *bytes);
  absl::StatusOr<std::unique_ptr<MatchingEngine>> read = ReadSnapshot(fs, path, {});
  REQUIRE_MESSAGE(read.ok(), read.status());
  CHECK((*read)->StateHash() == engine->StateHash());
  CHECK((*read)->next_sequence() == engine->next_sequence());
  const absl::StatusOr<SnapshotListing> listing = ListSnapshots(fs, dir.path());
  REQUIRE(listing.ok());
  CHECK(listing->snapshots == std::vector<uint64_t>{500});
  CHECK(listing->leftovers.empty());
  CHECK(ReadSnapshot(fs, dir.path() + "/" + SnapshotFileName(7), {}).status().code() ==
        absl::StatusCode::kNotFound);
}

TEST_CASE("Snapshot file names sort as their command counts and nothing else is one") {
  CHECK(SnapshotFileName(1234) == "snapshot-00000000000000001234");
  CHECK(SnapshotFileName(UINT64_MAX) == "snapshot-18446744073709551615");
  CHECK(ParseSnapshotFileName(SnapshotFileName(UINT64_MAX)) == UINT64_MAX);
  CHECK(ParseSnapshotFileName("snapshot-00000000000000001234") == 1234);
  for (const std::string_view bad :
       {"snapshot-1234", "snapshot-0000000000000000123x", "snapshot-99999999999999999999",
        "snapshot-00000000000000001234.tmp", "Snapshot-00000000000000001234", ""}) {
    CAPTURE(bad);
    CHECK(!ParseSnapshotFileName(bad).has_value());
  }
  keel::testing::TempDir dir;
  wal::FileSystem& fs = wal::FileSystem::Posix();
  WriteFile(dir.path() + "/" + SnapshotFileName(9) + ".tmp", "half");
  WriteFile(dir.path() + "/" + SnapshotFileName(3), "");
  absl::StatusOr<SnapshotListing> listing = ListSnapshots(fs, dir.path());
  REQUIRE(listing.ok());
  CHECK(listing->snapshots == std::vector<uint64_t>{3});
  CHECK(listing->leftovers == std::vector<std::string>{SnapshotFileName(9) + ".tmp"});
  WriteFile(dir.path() + "/notes.txt", "");
  listing = ListSnapshots(fs, dir.path());
  CHECK(listing.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(listing.status().message(), "notes.txt"));
}

TEST_CASE("A snapshot file cut at any byte or with any bit flipped is detected") {
  keel::testing::TempDir dir;
  wal::FileSystem& fs = wal::FileSystem::Posix();
  const std::unique_ptr<MatchingEngine> engine = EngineAfter(RandomStream(704, 25));
  REQUIRE(WriteSnapshot(fs, dir.path(), *engine).ok());
  const std::string path = dir.path() + "/" + SnapshotFileName(25);
  const std::string bytes = ReadFile(path);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    CAPTURE(cut);
    WriteFile(path, bytes.substr(0, cut));
    CHECK(ReadSnapshot(fs, path, {}).status().code() == absl::StatusCode::kDataLoss);
  }
  // Every bit of the header and the checksum, and a random bit of every byte of the state (every
  // bit of them all would take seconds of file writes).
  base::Random rng(keel::testing::TestSeed(706));
  for (size_t byte = 0; byte < bytes.size(); ++byte) {
    const bool framing = byte < 28 || byte + 4 >= bytes.size();
    for (size_t i = 0; i < (framing ? 8 : 1); ++i) {
      const size_t bit = byte * 8 + (framing ? i : rng.Uniform(8));
      CAPTURE(bit);
      std::string damaged = bytes;
      damaged[bit / 8] = static_cast<char>(damaged[bit / 8] ^ (1 << (bit % 8)));
      WriteFile(path, damaged);
      CHECK(ReadSnapshot(fs, path, {}).status().code() == absl::StatusCode::kDataLoss);
    }
  }
  // Whole, but under another command count's name.
  WriteFile(path, bytes);
  std::filesystem::rename(path, dir.path() + "/" + SnapshotFileName(26));
  const absl::Status renamed =
      ReadSnapshot(fs, dir.path() + "/" + SnapshotFileName(26), {}).status();
  CHECK(renamed.code() == absl::StatusCode::kDataLoss);
  CHECK(absl::StrContains(renamed.message(), "named for 26"));
}

TEST_CASE("A power cut at any step of writing a snapshot leaves the old one or the new one whole") {
  keel::testing::TempDir dir;
  wal::FaultInjectingFileSystem fs(wal::FileSystem::Posix());
  const std::vector<Command> commands = RandomStream(705, 400);
  const std::unique_ptr<MatchingEngine> old_engine =
      EngineAfter({commands.begin(), commands.begin() + 200});
  const std::unique_ptr<MatchingEngine> new_engine = EngineAfter(commands);
  REQUIRE(WriteSnapshot(fs, dir.path(), *old_engine).ok());
  bool written = false;
  for (int64_t steps = 0; !written; ++steps) {
    CAPTURE(steps);
    REQUIRE(steps < 100);
    fs.FailMutationsAfter(steps);
    written = WriteSnapshot(fs, dir.path(), *new_engine).ok();
    REQUIRE(fs.PowerCut().ok());
    // What survived: the old snapshot, and the new one either whole or not at all.
    absl::StatusOr<SnapshotListing> listing = ListSnapshots(fs, dir.path());
    REQUIRE(listing.ok());
    bool has_new = false;
    for (const uint64_t s : listing->snapshots) {
      const MatchingEngine& want = s == 200 ? *old_engine : *new_engine;
      has_new |= s == 400;
      absl::StatusOr<std::unique_ptr<MatchingEngine>> read =
          ReadSnapshot(fs, dir.path() + "/" + SnapshotFileName(s), {});
      REQUIRE_MESSAGE(read.ok(), read.status());
      CHECK((*read)->StateHash() == want.StateHash());
    }
    CHECK(listing->snapshots.front() == 200);
    if (written) CHECK(has_new);  // a snapshot reported written survives the cut
    // Start the next round from the old snapshot alone, as after a crash before the new one.
    if (!written) {
      for (const std::string& leftover : listing->leftovers) {
        REQUIRE(fs.Remove(dir.path() + "/" + leftover).ok());
      }
      if (has_new) REQUIRE(fs.Remove(dir.path() + "/" + SnapshotFileName(400)).ok());
    }
  }
}

}  // namespace
}  // namespace keel::market
