// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/market/sequencer.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "keel/base/random.h"
#include "keel/base/status.h"
#include "keel/market/matching_engine.h"
#include "keel/market/snapshot.h"
#include "keel/market/text_format.h"
#include "keel/wal/crash_explorer.h"
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
// The commands of `lines` (which they point into).
std::vector<Command> ParseAll(const std::vector<std::string>& lines) {
  std::vector<Command> commands;
  for (const std::string& line : lines) commands.push_back(Parse(line));
  return commands;
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
  const std::vector<Command> commands = ParseAll(lines);
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
  auto standby = *Standby::Follow(*primary, {});
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
  auto standby = *Standby::Follow(*primary, {});
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
  auto standby = *Standby::Follow(*primary, {});
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
  std::filesystem::remove(std::filesystem::path(copy.path()) / "log" / "LOCK");
  std::ofstream(std::filesystem::path(copy.path()) / "log" / segment.filename(),
                std::ios::binary | std::ios::trunc)
      << bytes;
  return Sequencer::Open(copy.path(), Unsynced());
}
std::filesystem::path OnlySegment(const std::string& dir) {
  std::vector<std::filesystem::path> segments;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/log")) {
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
    // Half the rounds write snapshots often and drop the log behind them, so that kills land in
    // the middle of snapshots and of segment removals too.
    SequencerOptions options;
    if (round % 2 == 1) {
      options.snapshots = {
          .every_commands = 300, .every_log_bytes = 0, .keep = 2, .drop_log = true};
      options.log_segment_bytes = 16 << 10;
    }
    const testing::KilledChild child = testing::KillChildAfter(
        [&](int report_fd) {
          auto sequencer = Sequencer::Open(dir.path(), options);
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
    auto sequencer = Sequencer::Open(dir.path(), options);
    REQUIRE_MESSAGE(sequencer.ok(), sequencer.status());
    const size_t count = (*sequencer)->engine().commands();
    CHECK(count >= acknowledged);
    CHECK((*sequencer)->engine().StateHash() == InMemory(lines, count).second);
    if (round % 2 == 1 && acknowledged >= 600) CHECK((*sequencer)->recovery().from_snapshot);
  }
}

// ---------------------------------------------------------------------------------------------
// Snapshots.
// ---------------------------------------------------------------------------------------------

// Unsynced, with snapshots only when asked for, unless `every` says otherwise.
SequencerOptions Snapshotting(uint64_t every = 0, uint32_t keep = 2, bool drop_log = false) {
  SequencerOptions o = Unsynced();
  o.snapshots = {.every_commands = every, .every_log_bytes = 0, .keep = keep, .drop_log = drop_log};
  o.log_segment_bytes = 4096;  // so that dropping the log has whole segments to drop
  return o;
}

void Submit(Sequencer& sequencer, const std::vector<std::string>& lines, size_t from, size_t to) {
  std::vector<EngineEvent> events;
  for (size_t i = from; i < to; ++i) REQUIRE(sequencer.Submit(Parse(lines[i]), events).ok());
}

std::vector<uint64_t> SnapshotsIn(const std::string& dir) {
  const absl::StatusOr<SnapshotListing> listing =
      ListSnapshots(wal::FileSystem::Posix(), dir + "/snapshots");
  REQUIRE(listing.ok());
  return listing->snapshots;
}

TEST_CASE("Reopening from a snapshot gives the state a replay from the start gives") {
  const uint64_t seed = keel::testing::TestSeed(510);
  CAPTURE(seed);
  base::Random rng(seed);
  const std::vector<std::string> lines = RandomLines(rng, 6000);
  testing::TempDir dir;
  size_t done = 0;
  uint64_t snapshot = 0;  // the newest snapshot written, 0 for none
  for (int round = 0; round < 25; ++round) {
    CAPTURE(round);
    auto sequencer = Sequencer::Open(dir.path(), Snapshotting());
    REQUIRE_MESSAGE(sequencer.ok(), sequencer.status());
    Sequencer& s = **sequencer;
    REQUIRE(s.engine().commands() == done);
    CHECK(s.engine().StateHash() == InMemory(lines, done).second);
    CHECK(s.recovery().from_snapshot == (snapshot > 0));
    CHECK(s.recovery().snapshot == snapshot);
    CHECK(s.recovery().replayed == done - snapshot);
    // Some commands, perhaps a snapshot, some more: the snapshot lands anywhere in the stream.
    const size_t before = done + rng.Uniform(150);
    Submit(s, lines, done, before);
    if (rng.Uniform(3) != 0) {
      const absl::StatusOr<uint64_t> written = s.WriteSnapshot();
      REQUIRE(written.ok());
      CHECK(*written == before);
      snapshot = before;
    }
    done = before + rng.Uniform(100);
    Submit(s, lines, before, done);
  }
  CHECK(SnapshotsIn(dir.path()).size() <= 2);  // keep
}

TEST_CASE("The snapshot policy writes one every so many commands or bytes and keeps the newest") {
  const std::vector<std::string> lines = RandomLines(*std::make_unique<base::Random>(511), 1000);
  testing::TempDir by_count;
  {
    auto sequencer = *Sequencer::Open(by_count.path(), Snapshotting(/*every=*/100, /*keep=*/3));
    Submit(*sequencer, lines, 0, 1000);
    CHECK(sequencer->snapshot_status().ok());
  }
  CHECK(SnapshotsIn(by_count.path()) == std::vector<uint64_t>{800, 900, 1000});
  auto reopened = *Sequencer::Open(by_count.path(), Snapshotting(100, 3));
  CHECK(reopened->recovery().snapshot == 1000);
  CHECK(reopened->recovery().replayed == 0);

  testing::TempDir by_size;
  SequencerOptions options = Snapshotting();
  options.snapshots.every_log_bytes = 2000;
  {
    auto sequencer = *Sequencer::Open(by_size.path(), options);
    Submit(*sequencer, lines, 0, 1000);
  }
  const std::vector<uint64_t> written = SnapshotsIn(by_size.path());
  REQUIRE(written.size() == 2);
  // Commands are 10 to 30 bytes: a snapshot every 70 to 200 commands.
  CHECK(written[1] - written[0] >= 60);
  CHECK(written[1] - written[0] <= 200);
  CHECK(written[1] > 800);

  SequencerOptions bad = Snapshotting();
  bad.snapshots.keep = 0;
  testing::TempDir unused;
  CHECK(Sequencer::Open(unused.path(), bad).status().code() == absl::StatusCode::kInvalidArgument);
}

// Sequences commands[from, to) in batches of 50 (one sync each; a batch must fit in a segment).
void SubmitInBatches(Sequencer& sequencer, std::span<const Command> commands, size_t from,
                     size_t to) {
  std::vector<EngineEvent> events;
  for (size_t i = from; i < to; i += 50) {
    REQUIRE(sequencer.SubmitBatch(commands.subspan(i, std::min<size_t>(50, to - i)), events).ok());
  }
}

void WriteFileBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST_CASE("A damaged newest snapshot is skipped for the one before it or for the log") {
  const uint64_t seed = keel::testing::TestSeed(512);
  CAPTURE(seed);
  base::Random rng(seed);
  const std::vector<std::string> lines = RandomLines(rng, 250);
  testing::TempDir dir;
  {
    auto sequencer = *Sequencer::Open(dir.path(), Snapshotting(/*every=*/100));
    Submit(*sequencer, lines, 0, 250);
  }
  REQUIRE(SnapshotsIn(dir.path()) == std::vector<uint64_t>{100, 200});
  const std::string newest = dir.path() + "/snapshots/" + SnapshotFileName(200);
  const std::string older = dir.path() + "/snapshots/" + SnapshotFileName(100);
  const std::string bytes = ReadFile(newest);
  const uint64_t want = InMemory(lines, 250).second;
  // Cut at every byte, then a flipped bit in every byte: the one before it and 150 commands.
  for (size_t damage = 0; damage < 2 * bytes.size(); ++damage) {
    CAPTURE(damage);
    std::string damaged = bytes.substr(0, damage);
    if (damage >= bytes.size()) {
      damaged = bytes;
      const size_t at = damage - bytes.size();
      damaged[at] = static_cast<char>(damaged[at] ^ (1 << rng.Uniform(8)));
    }
    WriteFileBytes(newest, damaged);
    auto sequencer = Sequencer::Open(dir.path(), Snapshotting(100));
    REQUIRE_MESSAGE(sequencer.ok(), sequencer.status());
    CHECK((*sequencer)->recovery().snapshot == 100);
    CHECK((*sequencer)->recovery().replayed == 150);
    CHECK((*sequencer)->engine().StateHash() == want);
    REQUIRE(!(*sequencer)->recovery().events.empty());
    CHECK(absl::StrContains((*sequencer)->recovery().events[0], SnapshotFileName(200)));
  }
  // Both damaged: the log from its start.
  WriteFileBytes(older, "");
  auto sequencer = *Sequencer::Open(dir.path(), Snapshotting(100));
  CHECK(!sequencer->recovery().from_snapshot);
  CHECK(sequencer->recovery().replayed == 250);
  CHECK(sequencer->engine().StateHash() == want);
}

TEST_CASE("With the log dropped behind the snapshots a damaged newest one still has the older") {
  const uint64_t seed = keel::testing::TestSeed(513);
  CAPTURE(seed);
  base::Random rng(seed);
  const std::vector<std::string> lines = RandomLines(rng, 1200);
  testing::TempDir dir;
  const SequencerOptions options = Snapshotting(/*every=*/400, /*keep=*/2, /*drop_log=*/true);
  {
    auto sequencer = *Sequencer::Open(dir.path(), options);
    Submit(*sequencer, lines, 0, 1200);
    CHECK(sequencer->log().first_offset() > 0);
    CHECK(sequencer->log().first_offset() <= 800);  // kept from the older snapshot on
  }
  REQUIRE(SnapshotsIn(dir.path()) == std::vector<uint64_t>{800, 1200});
  WriteFileBytes(dir.path() + "/snapshots/" + SnapshotFileName(1200), "damaged");
  {
    auto sequencer = Sequencer::Open(dir.path(), options);
    REQUIRE_MESSAGE(sequencer.ok(), sequencer.status());
    CHECK((*sequencer)->recovery().snapshot == 800);
    CHECK((*sequencer)->engine().StateHash() == InMemory(lines, 1200).second);
  }
  // Both damaged, and the commands before the log's start gone: an error, not a wrong state.
  WriteFileBytes(dir.path() + "/snapshots/" + SnapshotFileName(800), "damaged too");
  const absl::Status status = Sequencer::Open(dir.path(), options).status();
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(status.message(), "the commands before it are gone"));
}

TEST_CASE("A power cut at any step of a snapshot loses no acknowledged command") {
  const uint64_t seed = keel::testing::TestSeed(514);
  CAPTURE(seed);
  base::Random rng(seed);
  const std::vector<std::string> lines = RandomLines(rng, 400);
  const std::vector<Command> commands = ParseAll(lines);
  const uint64_t want = InMemory(lines, 400).second;
  // Durable commands, the log dropped behind the snapshots: each step of a snapshot (the log's
  // sync, the file, its rename, the directory's sync, the old snapshot's removal, the segments'
  // removal) is a place to lose power.
  SequencerOptions options = Snapshotting(/*every=*/0, /*keep=*/1, /*drop_log=*/true);
  options.sync = wal::SyncPolicy::kEveryAppend;
  bool written = false;
  for (int64_t steps = 0; !written; ++steps) {
    CAPTURE(steps);
    REQUIRE(steps < 200);
    testing::TempDir dir;
    wal::FaultInjectingFileSystem fs(wal::FileSystem::Posix());
    options.file_system = &fs;
    {
      auto sequencer = *Sequencer::Open(dir.path(), options);
      SubmitInBatches(*sequencer, commands, 0, 200);
      REQUIRE(sequencer->WriteSnapshot().ok());
      SubmitInBatches(*sequencer, commands, 200, 400);
      fs.FailMutationsAfter(steps);
      written = sequencer->WriteSnapshot().ok();
    }
    REQUIRE(fs.PowerCut().ok());
    auto sequencer = Sequencer::Open(dir.path(), options);
    REQUIRE_MESSAGE(sequencer.ok(), sequencer.status());
    CHECK((*sequencer)->engine().commands() == 400);  // every command was acknowledged
    CHECK((*sequencer)->engine().StateHash() == want);
    if (written) {
      CHECK((*sequencer)->recovery().snapshot == 400);
      CHECK((*sequencer)->log().first_offset() > 200);  // the segments behind it were dropped
    }
  }
}

TEST_CASE("A power cut at any step of a command that makes a snapshot due loses nothing") {
  const uint64_t seed = keel::testing::TestSeed(515);
  CAPTURE(seed);
  base::Random rng(seed);
  const std::vector<std::string> lines = RandomLines(rng, 300);
  const std::vector<Command> commands = ParseAll(lines);
  SequencerOptions options = Snapshotting(/*every=*/300, /*keep=*/1, /*drop_log=*/true);
  options.sync = wal::SyncPolicy::kEveryAppend;
  bool done = false;
  for (int64_t steps = 0; !done; ++steps) {
    CAPTURE(steps);
    REQUIRE(steps < 200);
    testing::TempDir dir;
    wal::FaultInjectingFileSystem fs(wal::FileSystem::Posix());
    options.file_system = &fs;
    bool acknowledged = false;
    {
      auto sequencer = *Sequencer::Open(dir.path(), options);
      SubmitInBatches(*sequencer, commands, 0, 299);
      std::vector<EngineEvent> events;
      fs.FailMutationsAfter(steps);
      acknowledged = sequencer->Submit(commands[299], events).ok();
      done = acknowledged && sequencer->snapshot_status().ok();
    }
    REQUIRE(fs.PowerCut().ok());
    auto sequencer = Sequencer::Open(dir.path(), options);
    REQUIRE_MESSAGE(sequencer.ok(), sequencer.status());
    const size_t count = (*sequencer)->engine().commands();
    CHECK(count >= (acknowledged ? 300u : 299u));
    CHECK((*sequencer)->engine().StateHash() == InMemory(lines, count).second);
    if (done) CHECK((*sequencer)->recovery().snapshot == 300);
  }
}

TEST_CASE("Every crash state POSIX allows while snapshots are written recovers what was promised") {
  // The workload runs once on CrashExplorer's recording file system: durable commands in batches,
  // snapshots on demand with the log dropped behind them. Then every crash point (after each
  // file-system change) and the states a crash there may leave (unsynced pages in any subset,
  // torn sectors, unsynced directory entries lost) are recovered: the sequencer opens, holds
  // every command acknowledged by then, and has the state of a replay of that many commands.
  const uint64_t seed = keel::testing::TestSeed(519);
  CAPTURE(seed);
  base::Random rng(seed);
  const std::vector<std::string> lines = RandomLines(rng, 360);
  const std::vector<Command> commands = ParseAll(lines);
  std::vector<uint64_t> hashes;  // after 0, 1, 2, ... commands
  {
    MatchingEngine engine({});
    std::vector<EngineEvent> events;
    hashes.push_back(engine.StateHash());
    for (const Command& c : commands) {
      engine.Apply(c, events);
      hashes.push_back(engine.StateHash());
    }
  }
  wal::CrashExplorer explorer;
  SequencerOptions options = Snapshotting(/*every=*/0, /*keep=*/1, /*drop_log=*/true);
  options.sync = wal::SyncPolicy::kEveryAppend;
  options.file_system = &explorer.file_system();
  std::vector<std::pair<uint64_t, uint64_t>> promised;  // (changes recorded, commands durable)
  {
    auto sequencer = Sequencer::Open("/exchange", options);
    REQUIRE_MESSAGE(sequencer.ok(), sequencer.status());
    for (size_t from = 0; from < commands.size(); from += 60) {
      SubmitInBatches(**sequencer, commands, from, from + 60);
      promised.emplace_back(explorer.mutations(), from + 60);
      if (from % 120 == 60) REQUIRE((*sequencer)->WriteSnapshot().ok());
    }
    REQUIRE((*sequencer)->log().first_offset() > 0);
  }
  wal::CrashExplorerOptions explore;
  explore.seed = seed;
  explore.max_systematic_states = 48;
  const absl::StatusOr<wal::CrashExploration> result = explorer.Explore(
      [&](wal::FileSystem& crashed, const wal::CrashPoint& point) -> absl::Status {
        uint64_t acknowledged = 0;
        for (const auto& [at, count] : promised) {
          if (point.mutations >= at) acknowledged = count;
        }
        SequencerOptions reopen = options;
        reopen.file_system = &crashed;
        KEEL_ASSIGN_OR_RETURN(std::unique_ptr<Sequencer> sequencer,
                              Sequencer::Open("/exchange", reopen));
        const uint64_t count = sequencer->engine().commands();
        if (count < acknowledged || count > commands.size()) {
          return absl::DataLossError(
              absl::StrCat(count, " commands where ", acknowledged, " were acknowledged"));
        }
        if (sequencer->engine().StateHash() != hashes[count]) {
          return absl::DataLossError(
              absl::StrCat("the state after ", count, " commands is not a replay's"));
        }
        return absl::OkStatus();
      },
      explore);
  REQUIRE_MESSAGE(result.ok(), result.status());
  MESSAGE(result->Summary().substr(0, result->Summary().find('\n')));
  CHECK_MESSAGE(result->failures.empty(), result->Summary());
  CHECK(result->complete);
}

TEST_CASE("A snapshot is never ahead of the durable log") {
  const std::vector<std::string> lines = RandomLines(*std::make_unique<base::Random>(518), 100);
  testing::TempDir dir;
  wal::FaultInjectingFileSystem fs(wal::FileSystem::Posix());
  SequencerOptions options = Snapshotting();  // SyncPolicy::kNone: commands are not synced
  options.file_system = &fs;
  {
    auto sequencer = *Sequencer::Open(dir.path(), options);
    Submit(*sequencer, lines, 0, 100);
    REQUIRE(sequencer->WriteSnapshot().ok());
  }
  REQUIRE(fs.PowerCut().ok());
  // The snapshot synced the log first, so the log it follows holds its 100 commands.
  auto sequencer = *Sequencer::Open(dir.path(), options);
  CHECK(sequencer->engine().commands() == 100);
  CHECK(sequencer->recovery().snapshot == 100);
  CHECK(sequencer->engine().StateHash() == InMemory(lines, 100).second);
}

TEST_CASE("A standby starts from the newest snapshot and follows the log after it") {
  const uint64_t seed = keel::testing::TestSeed(516);
  CAPTURE(seed);
  base::Random rng(seed);
  const std::vector<std::string> lines = RandomLines(rng, 1500);
  testing::TempDir dir;
  auto primary = *Sequencer::Open(dir.path(), Snapshotting(/*every=*/300));
  Submit(*primary, lines, 0, 1000);
  auto standby = *Standby::Follow(*primary, {});
  CHECK(standby->recovery().from_snapshot);
  CHECK(standby->recovery().snapshot == 900);
  CHECK(*standby->CatchUp() == 100);
  CHECK(standby->engine().StateHash() == primary->engine().StateHash());
  Submit(*primary, lines, 1000, 1500);
  CHECK(*standby->CatchUp() == 500);
  CHECK(standby->engine().StateHash() == InMemory(lines, 1500).second);
}

TEST_CASE("A standby behind a dropped log starts again from a snapshot and can still take over") {
  const uint64_t seed = keel::testing::TestSeed(517);
  CAPTURE(seed);
  base::Random rng(seed);
  const std::vector<std::string> lines = RandomLines(rng, 5000);
  testing::TempDir dir;
  const SequencerOptions options = Snapshotting(/*every=*/200, /*keep=*/1, /*drop_log=*/true);
  auto primary = *Sequencer::Open(dir.path(), options);
  auto lagging = *Standby::Follow(*primary, {});
  auto idle = *Standby::Follow(*primary, {});
  CHECK(!lagging->recovery().from_snapshot);
  Submit(*primary, lines, 0, 2000);
  REQUIRE(primary->log().first_offset() > 0);
  // The log no longer holds what it would read next: it starts again from the newest snapshot.
  CHECK(*lagging->CatchUp() == 2000);
  CHECK(lagging->recovery().from_snapshot);
  CHECK(lagging->engine().StateHash() == primary->engine().StateHash());
  // A standby that never caught up takes over: from the newest snapshot, with the events of every
  // command after it.
  Submit(*primary, lines, 2000, 2150);
  const uint64_t primary_hash = primary->engine().StateHash();
  primary.reset();
  std::vector<EngineEvent> tail;
  auto successor = Standby::TakeOver(idle, dir.path(), options, tail);
  REQUIRE_MESSAGE(successor.ok(), successor.status());
  CHECK((*successor)->engine().StateHash() == primary_hash);
  CHECK((*successor)->recovery().from_snapshot);
  CHECK((*successor)->recovery().snapshot == 2000);
  CHECK((*successor)->recovery().replayed == 150);
  CHECK(!tail.empty());
  Submit(**successor, lines, 2150, 2500);
  CHECK((*successor)->engine().StateHash() == InMemory(lines, 2500).second);
}

TEST_CASE("A sequencer refuses a directory that holds anything but its log and snapshots") {
  testing::TempDir dir;
  WriteFileBytes(dir.path() + "/00000000000000000000.wal", "");
  const absl::Status status = Sequencer::Open(dir.path(), Unsynced()).status();
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(status.message(), "00000000000000000000.wal"));
  CHECK(absl::StrContains(status.message(), "log/"));
}

}  // namespace
}  // namespace keel::market
