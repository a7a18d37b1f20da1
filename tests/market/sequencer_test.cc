// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/market/sequencer.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "keel/base/random.h"
#include "keel/market/matching_engine.h"
#include "keel/market/text_format.h"
#include "keel/wal/fault_injecting_file_system.h"
#include "testing/testing.h"

namespace keel::market {
namespace {

// Random commands over two symbols, in text form (so that their symbols outlive the Command).
std::vector<std::string> RandomLines(base::Random& rng, size_t count) {
  std::vector<std::string> lines;
  for (size_t i = 0; i < count; ++i) {
    const uint64_t dice = rng.Uniform(100);
    const uint64_t id = 1 + rng.Uniform(count);  // ids repeat: some are rejected as used
    if (dice < 60) {
      const char* symbol = rng.Uniform(2) == 0 ? "AAA" : "BBB";
      const char* side = rng.Uniform(2) == 0 ? "B" : "S";
      const char* tifs[] = {"GTC", "GTC", "IOC", "FOK", "PO"};
      lines.push_back(absl::StrCat("N,", id, ",", rng.Uniform(5), ",", symbol, ",", side,
                                   rng.Uniform(10) == 0 ? ",M," : ",L,", tifs[rng.Uniform(5)], ",",
                                   95 + rng.Uniform(10), ",", 1 + rng.Uniform(20)));
    } else if (dice < 80) {
      lines.push_back(absl::StrCat("C,", id));
    } else if (dice < 97) {
      lines.push_back(absl::StrCat("R,", id, ",", 95 + rng.Uniform(10), ",", rng.Uniform(20)));
    } else {
      lines.push_back("not a command");
    }
  }
  return lines;
}

Command Parse(const std::string& line) {
  std::string error;
  return ParseCommand(line, &error);
}

// What an engine in memory makes of the same commands: the reference for a replayed log.
std::pair<std::vector<EngineEvent>, uint64_t> InMemory(const std::vector<std::string>& lines,
                                                       size_t count) {
  MatchingEngine engine({});
  std::vector<EngineEvent> events;
  for (size_t i = 0; i < count; ++i) engine.Apply(Parse(lines[i]), events);
  return {events, engine.StateHash()};
}

SequencerOptions Unsynced() {
  SequencerOptions o;
  o.sync = wal::SyncPolicy::kNone;
  return o;
}

TEST_CASE("Reopening the command log replays the same events and state") {
  const uint64_t seed = keel::testing::TestSeed(501);
  CAPTURE(seed);
  base::Random rng(seed);
  const std::vector<std::string> lines = RandomLines(rng, 3000);
  testing::TempDir dir;
  std::vector<EngineEvent> live;
  uint64_t hash = 0;
  {
    auto sequencer = *Sequencer::Open(dir.path(), Unsynced());
    for (size_t i = 0; i < lines.size(); ++i) {
      CHECK(*sequencer->Submit(Parse(lines[i]), live) == i + 1);
    }
    hash = sequencer->engine().StateHash();
    CHECK(hash == InMemory(lines, lines.size()).second);
  }
  auto reopened = *Sequencer::Open(dir.path(), Unsynced());
  CHECK(reopened->engine().commands() == lines.size());
  CHECK(reopened->engine().next_sequence() == live.size() + 1);
  CHECK(reopened->engine().StateHash() == hash);
  // And it carries on numbering from there.
  std::vector<EngineEvent> more;
  CHECK(*reopened->Submit(Parse("C,1"), more) == lines.size() + 1);
  CHECK(more.front().sequence == live.size() + 1);
}

TEST_CASE("A batch of commands is logged in one write and applied in order") {
  testing::TempDir dir;
  auto sequencer = *Sequencer::Open(dir.path(), {});
  const std::vector<std::string> lines = {"N,1,1,AAA,S,L,GTC,100,5", "N,2,2,AAA,B,L,GTC,100,3",
                                          "C,1"};
  std::vector<Command> commands;
  for (const std::string& line : lines) commands.push_back(Parse(line));
  std::vector<EngineEvent> events;
  CHECK(*sequencer->SubmitBatch(commands, events) == 1);
  CHECK(events == InMemory(lines, lines.size()).first);
  CHECK(sequencer->log().stats().syncs >= 1);
  CHECK(sequencer->SubmitBatch({}, events).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("A warm standby follows the log and takes over with the same state") {
  const uint64_t seed = keel::testing::TestSeed(502);
  CAPTURE(seed);
  base::Random rng(seed);
  const std::vector<std::string> lines = RandomLines(rng, 4000);
  testing::TempDir dir;
  std::vector<EngineEvent> primary_events;
  auto primary = *Sequencer::Open(dir.path(), Unsynced());
  auto standby = *Standby::Follow(primary->log(), {});
  for (size_t i = 0; i < 3000; ++i) {
    REQUIRE(primary->Submit(Parse(lines[i]), primary_events).ok());
    if (i % 97 == 0) REQUIRE(standby->CatchUp().ok());
  }
  CHECK(*standby->CatchUp() > 0);
  CHECK(standby->engine().StateHash() == primary->engine().StateHash());
  // The primary logs a few more commands the standby never reads, then dies.
  for (size_t i = 3000; i < 3010; ++i) {
    REQUIRE(primary->Submit(Parse(lines[i]), primary_events).ok());
  }
  const uint64_t primary_hash = primary->engine().StateHash();
  const uint64_t primary_next = primary->engine().next_sequence();
  primary.reset();
  std::vector<EngineEvent> tail;
  auto successor = *Standby::TakeOver(standby, dir.path(), Unsynced(), tail);
  CHECK(standby == nullptr);
  CHECK(successor->engine().StateHash() == primary_hash);
  CHECK(successor->engine().next_sequence() == primary_next);
  // The events it applied on taking over are the primary's last ten commands' events.
  const std::vector<EngineEvent> want(primary_events.end() - static_cast<long>(tail.size()),
                                      primary_events.end());
  CHECK(tail == want);
  // It sequences the rest, and the result is what one engine would have made of everything.
  std::vector<EngineEvent> events;
  for (size_t i = 3010; i < lines.size(); ++i) {
    REQUIRE(successor->Submit(Parse(lines[i]), events).ok());
  }
  CHECK(successor->engine().StateHash() == InMemory(lines, lines.size()).second);
}

TEST_CASE("A standby that cannot take over stays warm") {
  testing::TempDir dir;
  auto primary = *Sequencer::Open(dir.path(), Unsynced());
  auto standby = *Standby::Follow(primary->log(), {});
  std::vector<EngineEvent> events;
  REQUIRE(primary->Submit(Parse("N,1,1,AAA,S,L,GTC,100,5"), events).ok());
  REQUIRE(*standby->CatchUp() == 1);
  // The primary still holds the log: no take-over, and the standby is untouched.
  std::vector<EngineEvent> tail;
  CHECK(Standby::TakeOver(standby, dir.path(), Unsynced(), tail).status().code() ==
        absl::StatusCode::kUnavailable);
  REQUIRE(standby != nullptr);
  CHECK(standby->engine().StateHash() == primary->engine().StateHash());
  REQUIRE(primary->Submit(Parse("N,2,2,AAA,B,L,GTC,100,2"), events).ok());
  CHECK(*standby->CatchUp() == 1);
  const uint64_t hash = primary->engine().StateHash();
  primary.reset();
  auto successor = *Standby::TakeOver(standby, dir.path(), Unsynced(), tail);
  CHECK(successor->engine().StateHash() == hash);
}

TEST_CASE("A standby applies only commands the primary acknowledged") {
  testing::TempDir dir;
  wal::FaultInjectingFileSystem fs(wal::FileSystem::Posix());
  SequencerOptions o;  // every command synced before it is applied
  o.file_system = &fs;
  auto primary = *Sequencer::Open(dir.path(), o);
  auto standby = *Standby::Follow(primary->log(), {});
  std::vector<EngineEvent> events;
  REQUIRE(primary->Submit(Parse("N,1,1,AAA,S,L,GTC,100,5"), events).ok());
  fs.FailSyncs(true);
  // Written but never synced: its sender is told it failed, and the standby does not apply it.
  CHECK(!primary->Submit(Parse("N,2,2,AAA,B,L,GTC,100,2"), events).ok());
  CHECK(*standby->CatchUp() == 1);
  CHECK(standby->engine().commands() == 1);
  CHECK(standby->engine().StateHash() == primary->engine().StateHash());
}

// Sequences `lines` into a new command log in `dir`.
void LogCommands(const std::string& dir, const std::vector<std::string>& lines) {
  auto sequencer = *Sequencer::Open(dir, Unsynced());
  std::vector<EngineEvent> events;
  for (const std::string& line : lines) REQUIRE(sequencer->Submit(Parse(line), events).ok());
}

// The log's bytes, for the damage tests.
std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
// Opens a copy of the command log in `original` whose segment `segment` holds `bytes` instead.
absl::StatusOr<std::unique_ptr<Sequencer>> OpenDamaged(const std::string& original,
                                                       const std::filesystem::path& segment,
                                                       const std::string& bytes,
                                                       const testing::TempDir& copy) {
  std::filesystem::copy(
      original, copy.path(),
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  std::filesystem::remove(std::filesystem::path(copy.path()) / "LOCK");
  std::ofstream(std::filesystem::path(copy.path()) / segment.filename(),
                std::ios::binary | std::ios::trunc)
      << bytes;
  return Sequencer::Open(copy.path(), Unsynced());
}
std::filesystem::path OnlySegment(const std::string& dir) {
  std::vector<std::filesystem::path> segments;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".wal") segments.push_back(entry.path());
  }
  REQUIRE(segments.size() == 1);
  return segments.front();
}

TEST_CASE("A command log cut at any byte replays exactly its complete commands") {
  const uint64_t seed = keel::testing::TestSeed(503);
  CAPTURE(seed);
  base::Random rng(seed);
  const std::vector<std::string> lines = RandomLines(rng, 16);
  testing::TempDir original;
  LogCommands(original.path(), lines);
  const std::filesystem::path segment = OnlySegment(original.path());
  const std::string bytes = ReadFile(segment);
  size_t last_count = 0;
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    CAPTURE(cut);
    testing::TempDir copy;
    absl::StatusOr<std::unique_ptr<Sequencer>> sequencer =
        OpenDamaged(original.path(), segment, bytes.substr(0, cut), copy);
    REQUIRE_MESSAGE(sequencer.ok(), sequencer.status());
    const size_t count = (*sequencer)->engine().commands();
    CHECK(count >= last_count);  // a longer prefix never holds fewer commands
    last_count = count;
    CHECK((*sequencer)->engine().StateHash() == InMemory(lines, count).second);
  }
  CHECK(last_count == lines.size());
}

TEST_CASE("A flipped bit in a logged command is detected") {
  const uint64_t seed = keel::testing::TestSeed(504);
  CAPTURE(seed);
  base::Random rng(seed);
  const std::vector<std::string> lines = RandomLines(rng, 3);
  testing::TempDir original;
  LogCommands(original.path(), lines);
  const std::filesystem::path segment = OnlySegment(original.path());
  const std::string bytes = ReadFile(segment);
  // Past the segment header (32 bytes), every bit of every record.
  for (size_t bit = 32 * 8; bit < bytes.size() * 8; ++bit) {
    CAPTURE(bit);
    std::string damaged = bytes;
    damaged[bit / 8] = static_cast<char>(damaged[bit / 8] ^ (1 << (bit % 8)));
    testing::TempDir copy;
    absl::StatusOr<std::unique_ptr<Sequencer>> sequencer =
        OpenDamaged(original.path(), segment, damaged, copy);
    // Damage is reported, or (in the last record, where it looks like a torn write) the record is
    // dropped; never a different state from the same number of commands.
    if (sequencer.ok()) {
      const size_t count = (*sequencer)->engine().commands();
      CHECK(count < lines.size());
      CHECK((*sequencer)->engine().StateHash() == InMemory(lines, count).second);
    } else {
      CHECK(sequencer.status().code() == absl::StatusCode::kDataLoss);
    }
  }
}

TEST_CASE("Every acknowledged command survives the sequencing process being killed") {
  const uint64_t seed = keel::testing::TestSeed(505);
  CAPTURE(seed);
  base::Random rng(seed);
  const std::vector<std::string> lines = RandomLines(rng, 200'000);
  for (int round = 0; round < 6; ++round) {
    CAPTURE(round);
    testing::TempDir dir;
    const testing::KilledChild child = testing::KillChildAfter(
        [&](int report_fd) {
          auto sequencer = Sequencer::Open(dir.path(), {});
          if (!sequencer.ok()) _exit(2);
          std::vector<EngineEvent> events;
          for (const std::string& line : lines) {
            events.clear();
            const absl::StatusOr<uint64_t> seq = (*sequencer)->Submit(Parse(line), events);
            if (!seq.ok()) _exit(3);
            const std::string report = absl::StrCat(*seq, "\n");
            if (write(report_fd, report.data(), report.size()) < 0) _exit(4);
          }
          _exit(0);
        },
        static_cast<int64_t>(rng.UniformInRange(20'000, 300'000)));
    uint64_t acknowledged = 0;
    for (const absl::string_view line : absl::StrSplit(child.reports, '\n', absl::SkipEmpty())) {
      REQUIRE(absl::SimpleAtoi(line, &acknowledged));
    }
    CAPTURE(acknowledged);
    auto sequencer = Sequencer::Open(dir.path(), {});
    REQUIRE(sequencer.ok());
    const size_t count = (*sequencer)->engine().commands();
    CHECK(count >= acknowledged);
    CHECK((*sequencer)->engine().StateHash() == InMemory(lines, count).second);
  }
}

}  // namespace
}  // namespace keel::market
