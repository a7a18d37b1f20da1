// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Crashes: power cuts (FaultInjectingFileSystem), a writer process killed with SIGKILL, I/O
// errors, and a crash after every single step of Truncate, Reset and a roll.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/wal/fault_injecting_file_system.h"
#include "keel/wal/log.h"
#include "log_testing.h"
#include "testing/testing.h"

namespace keel::wal {
namespace {

using namespace log_testing;  // NOLINT: the shared helpers are the vocabulary of these tests

// Runs `operation` on a copy of the log in `original` with a crash after each of its file system
// changes in turn: `steps` changes succeed, the rest fail, and then the power goes (with torn
// writes every other time). `operation` returns whether it succeeded; a log it failed on must
// refuse writes. Then the log is reopened and handed to `check`, with the operation's outcome,
// until a run in which the operation finishes.
template <typename Operation, typename Check>
void CrashAtEveryStep(const std::string& original, uint64_t seed, const LogOptions& options,
                      Operation&& operation, Check&& check) {
  bool finished = false;
  for (int64_t steps = 0; !finished; ++steps) {
    CAPTURE(steps);
    REQUIRE(steps < 100);
    testing::TempDir dir;
    fs::copy(original, dir.path(), fs::copy_options::recursive);
    FaultInjectingFileSystem faulty(FileSystem::Posix());
    LogOptions o = options;
    o.file_system = &faulty;
    {
      auto log = *Log::Open(dir.path(), o);
      faulty.FailMutationsAfter(steps);
      finished = operation(*log);
      if (!finished) {
        CHECK(log->Append("x").status().code() == absl::StatusCode::kFailedPrecondition);
      }
      base::Random torn(seed + static_cast<uint64_t>(steps));
      REQUIRE(faulty.PowerCut(steps % 2 == 1 ? &torn : nullptr).ok());
    }
    RecoveryReport report;
    auto log = Log::Open(dir.path(), o, &report);
    CAPTURE(log.status());
    REQUIRE(log.ok());
    check(**log, report, dir.path(), finished);
  }
}

TEST_CASE("Log loses no durable record when the power is cut") {
  const uint64_t seed = keel::testing::TestSeed(67);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int trial = 0; trial < 72; ++trial) {
    CAPTURE(trial);
    testing::TempDir dir;
    FaultInjectingFileSystem faulty(FileSystem::Posix());
    LogOptions o = SmallSegments();
    o.file_system = &faulty;
    // kInterval with an interval that never passes syncs only when told to, as kNone does, but
    // preallocates: several unsynced writes over zeros, each torn on its own by the cut.
    const SyncPolicy policies[] = {SyncPolicy::kEveryAppend, SyncPolicy::kNone,
                                   SyncPolicy::kInterval};
    o.sync = policies[trial % 3];
    o.sync_interval_ns = int64_t{3600} * base::kNanosPerSecond;
    // Whole segments, a few records or no zeros at a time ahead of the records.
    const uint64_t preallocate[] = {1 << 20, 300, 0};
    o.preallocate_bytes = preallocate[(trial / 3) % 3];
    CAPTURE(o.preallocate_bytes);
    Contents written;
    uint64_t durable = 0;
    {
      auto log = *Log::Open(dir.path(), o);
      const int appends = static_cast<int>(rng.UniformInRange(1, 300));
      for (int i = 0; i < appends; ++i) {
        const uint64_t offset = log->next_offset();
        const std::string p = Payload(rng, offset, 200);
        REQUIRE(*log->Append(p) == offset);
        written[offset] = p;
        if (o.sync != SyncPolicy::kEveryAppend && rng.Bernoulli(0.05)) {
          REQUIRE(log->Sync().ok());
        }
      }
      durable = log->durable_offset();
      base::Random torn(seed + static_cast<uint64_t>(trial));
      REQUIRE(faulty.PowerCut(trial % 4 < 2 ? nullptr : &torn).ok());
      CHECK(log->Append("after the cut").status().code() == absl::StatusCode::kFailedPrecondition);
    }
    RecoveryReport report;
    auto log = Log::Open(dir.path(), o, &report);
    REQUIRE(log.ok());
    const Contents got = ReadAll(**log, 0);
    // Every durable record survived, intact and in order; nothing else was invented.
    CHECK(got.size() >= durable);
    for (const auto& [offset, payload] : got) REQUIRE(written.at(offset) == payload);
    for (uint64_t offset = 0; offset < durable; ++offset) REQUIRE(got.contains(offset));
  }
}

TEST_CASE("Log keeps every acknowledged record when its writer process is killed") {
  const uint64_t seed = keel::testing::TestSeed(68);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int round = 0; round < 20; ++round) {
    testing::TempDir dir;
    // Four threads append; each acknowledged offset goes to the parent. The child is killed
    // mid-flight after a random while.
    const testing::KilledChild child = testing::KillChildAfter(
        [&](int report_fd) {
          LogOptions o = SmallSegments();
          o.sync = SyncPolicy::kEveryAppend;
          o.preallocate_bytes = round % 2 == 0 ? 1 << 20 : 500;
          auto log = Log::Open(dir.path(), o);
          if (!log.ok()) _exit(2);
          std::vector<std::thread> threads;
          for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&, t] {
              for (uint64_t i = 0;; ++i) {
                const std::string payload =
                    absl::StrFormat("t%d-%d-%s", t, i, std::string(i % 97, 'z'));
                absl::StatusOr<uint64_t> offset = (*log)->Append(payload);
                if (!offset.ok()) _exit(3);
                const std::string ack = absl::StrFormat("%d %s\n", *offset, payload);
                if (write(report_fd, ack.data(), ack.size()) < 0) _exit(4);
              }
            });
          }
          for (std::thread& t : threads) t.join();
        },
        rng.UniformInRange(5'000, 60'000));
    REQUIRE(child.killed);
    std::map<uint64_t, std::string> acked;
    for (absl::string_view line : absl::StrSplit(child.reports, '\n', absl::SkipEmpty())) {
      const size_t space = line.find(' ');
      REQUIRE(space != std::string_view::npos);
      acked[std::stoull(std::string(line.substr(0, space)))] = std::string(line.substr(space + 1));
    }
    auto log = Log::Open(dir.path(), SmallSegments());
    REQUIRE(log.ok());
    const Contents got = ReadAll(**log, 0);
    CAPTURE(round);
    CAPTURE(acked.size());
    for (const auto& [offset, payload] : acked) {
      REQUIRE(got.contains(offset));
      REQUIRE(got.at(offset) == payload);
    }
    // In order: offsets are 0..n-1 without gaps.
    uint64_t expect = 0;
    for (const auto& [offset, payload] : got) REQUIRE(offset == expect++);
  }
}

TEST_CASE("Log refuses writes after an I/O error and recovers on reopen") {
  testing::TempDir dir;
  FaultInjectingFileSystem faulty(FileSystem::Posix());
  LogOptions o = SmallSegments();
  o.file_system = &faulty;
  o.sync = SyncPolicy::kEveryAppend;
  Contents want;
  {
    auto log = *Log::Open(dir.path(), o);
    for (uint64_t i = 0; i < 20; ++i) {
      want[i] = absl::StrFormat("r%d", i);
      REQUIRE(log->Append(want[i]).ok());
    }
    faulty.FailSyncs(true);
    CHECK(log->Append("lost").status().code() == absl::StatusCode::kUnavailable);
    faulty.FailSyncs(false);
    CHECK(log->Append("refused").status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK(log->durable_offset() == 20);
  }
  auto log = *Log::Open(dir.path(), o);
  const Contents got = ReadAll(*log, 0);
  // The record whose sync failed may or may not have reached the disk; the earlier ones did.
  CHECK(got.size() >= 20);
  for (uint64_t i = 0; i < 20; ++i) CHECK(got.at(i) == want[i]);
}

TEST_CASE("Log refuses writes after a failed Truncate or Reset until it is reopened") {
  for (const bool reset : {false, true}) {
    CAPTURE(reset);
    testing::TempDir dir;
    FaultInjectingFileSystem faulty(FileSystem::Posix());
    LogOptions o = SmallSegments();
    o.file_system = &faulty;
    o.sync = SyncPolicy::kEveryAppend;
    Contents want;
    {
      auto log = *Log::Open(dir.path(), o);
      for (uint64_t i = 0; i < 100; ++i) {
        want[i] = absl::StrFormat("r%d %s", i, std::string(100, 'x'));
        REQUIRE(log->Append(want[i]).ok());
      }
      faulty.FailSyncs(true);
      CHECK((reset ? log->Reset(500) : log->Truncate(50)).code() == absl::StatusCode::kUnavailable);
      faulty.FailSyncs(false);
      // Nothing is acknowledged, as written or as durable, that the disk may not hold.
      CHECK(log->Append("refused").status().code() == absl::StatusCode::kFailedPrecondition);
      CHECK(log->Sync().code() == absl::StatusCode::kFailedPrecondition);
      CHECK(log->Truncate(10).code() == absl::StatusCode::kFailedPrecondition);
      CHECK(log->Reset(0).code() == absl::StatusCode::kFailedPrecondition);
    }
    auto log = *Log::Open(dir.path(), o);
    const Contents got = ReadAll(*log, log->first_offset());
    if (reset && got.empty()) {
      CHECK(log->first_offset() == 500);
    } else {
      // The truncation may or may not have happened; what is left is a prefix of what was.
      CHECK(got.size() >= (reset ? 100 : 50));
      for (const auto& [offset, payload] : got) CHECK(want.at(offset) == payload);
    }
    const uint64_t next = log->next_offset();
    CHECK(*log->Append("accepted") == next);
  }
}

TEST_CASE("Log::Truncate keeps every record before the cut when the power fails after any step") {
  const uint64_t seed = keel::testing::TestSeed(69);
  CAPTURE(seed);
  for (const bool preallocated : {false, true}) {
    CAPTURE(preallocated);
    const LogOptions options = preallocated ? SmallPreallocatedSegments() : SmallSegments();
    testing::TempDir original;
    const Contents all = MakeSegmentedLog(original.path(), options);
    const std::vector<std::string> segments = SegmentFiles(original.path());
    REQUIRE(segments.size() >= 4);
    REQUIRE(FirstOffsetOf(segments[1]) > 46);  // the batch is in the first segment
    // Cuts inside the batch keeping its kFirst, keeping a kMiddle, and dropping only its kLast
    // (each rewrites the last header kept); right after it; and at the start of a segment.
    const uint64_t segment_start = FirstOffsetOf(segments[2]);
    for (const uint64_t end :
         {uint64_t{41}, uint64_t{43}, uint64_t{45}, uint64_t{46}, segment_start}) {
      CAPTURE(end);
      CrashAtEveryStep(
          original.path(), seed, options, [&](Log& log) { return log.Truncate(end).ok(); },
          [&](Log& log, const RecoveryReport& report, const std::string& dir, bool finished) {
            CHECK(report.torn_tail_bytes == 0);
            const Contents got = ReadAll(log, 0);
            // The log as it was, shorter by some newest segments, or cut: never shorter than the
            // cut.
            CHECK(got.size() >= end);
            if (finished) CHECK(got.size() == end);
            CheckPrefix(got, all);
            CHECK(!fs::exists(dir + "/TRUNCATE"));
            CHECK(*log.Append("after the crash") == got.size());
          });
    }
  }
}

TEST_CASE("Log keeps every synced record when the power fails at any step of a preallocated roll") {
  const uint64_t seed = keel::testing::TestSeed(72);
  CAPTURE(seed);
  const LogOptions options = SmallPreallocatedSegments();
  testing::TempDir original;
  Contents all = MakeSegmentedLog(original.path(), options);
  const size_t segments_before = SegmentFiles(original.path()).size();
  const uint64_t before = all.size();
  // Appends that fill the active segment's zeros, extend them and roll it.
  for (uint64_t i = 0; i < 6; ++i) all[before + i] = std::string(900, static_cast<char>('k' + i));
  CrashAtEveryStep(
      original.path(), seed, options,
      [&](Log& log) {
        for (uint64_t i = 0; i < 6; ++i) {
          if (!log.Append(all.at(before + i)).ok()) return false;
        }
        return true;
      },
      [&](Log& log, const RecoveryReport& report, const std::string& dir, bool finished) {
        const Contents got = ReadAll(log, 0);
        CHECK(got.size() >= before);  // every record synced before the crash
        CheckPrefix(got, all);
        if (finished) {
          CHECK(got.size() == all.size());
          CHECK(SegmentFiles(dir).size() > segments_before);
          CHECK(report.torn_tail_bytes == 0);
        }
        CHECK(*log.Append("after the crash") == got.size());
      });
}

TEST_CASE("Log::Reset leaves the log whole or empty at its new offset if the power fails midway") {
  const uint64_t seed = keel::testing::TestSeed(71);
  CAPTURE(seed);
  testing::TempDir original;
  const Contents all = MakeSegmentedLog(original.path());
  const std::vector<std::string> segments = SegmentFiles(original.path());
  REQUIRE(segments.size() >= 3);
  // Restarting at the first segment's own offset and at another's: the new segment's name is taken
  // until the old one goes.
  for (const uint64_t restart : {uint64_t{0}, FirstOffsetOf(segments[2]), uint64_t{1000}}) {
    CAPTURE(restart);
    CrashAtEveryStep(
        original.path(), seed, SmallSegments(), [&](Log& log) { return log.Reset(restart).ok(); },
        [&](Log& log, const RecoveryReport&, const std::string& dir, bool finished) {
          const Contents got = ReadAll(log, log.first_offset());
          if (finished || got.empty()) {
            CHECK(got.empty());
            CHECK(log.first_offset() == restart);
            CHECK(log.next_offset() == restart);
            CHECK(SegmentFiles(dir) == std::vector<std::string>{FileName(restart, ".wal")});
          } else {
            CHECK(got == all);
          }
          CHECK(!fs::exists(dir + "/RESET"));
          const uint64_t next = log.next_offset();
          CHECK(*log.Append("after the crash") == next);
        });
  }
}

// DropBefore and retention work on after a failed append, but not after a Truncate that failed
// once its plan was durable: they could delete the very segment TRUNCATE names, and Open would
// then refuse the log.
TEST_CASE("Log refuses to drop segments after a failed Truncate and reopens whole") {
  testing::TempDir dir;
  const Contents all = MakeSegmentedLog(dir.path());  // a batch at offsets 40 to 45
  const std::vector<std::string> segments = SegmentFiles(dir.path());
  REQUIRE(segments.size() >= 3);
  const uint64_t second = FirstOffsetOf(segments[1]);
  REQUIRE(second > 46);
  FaultInjectingFileSystem faulty(FileSystem::Posix());
  LogOptions o = SmallSegments();
  o.file_system = &faulty;
  {
    auto log = *Log::Open(dir.path(), o);
    faulty.FailMutationsAfter(4);  // TRUNCATE is created, written and synced, and its entry too
    REQUIRE(!log->Truncate(43).ok());
    faulty.FailMutationsAfter(-1);
    // The first segment is the one TRUNCATE names: no removal until a reopen finishes the cut.
    CHECK(log->DropBefore(second).status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK(log->ApplyRetention(1, 0).status().code() == absl::StatusCode::kFailedPrecondition);
  }
  RecoveryReport report;
  const absl::StatusOr<std::unique_ptr<Log>> log = Log::Open(dir.path(), o, &report);
  CHECK_MESSAGE(log.ok(), log.status());
}

}  // namespace
}  // namespace keel::wal
