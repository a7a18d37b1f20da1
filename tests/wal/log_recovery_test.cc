// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Log::Open on damaged logs: a cut at every byte, every bit flipped, damage in the middle and at
// the end, holes left by out-of-order writeback, missing segments and indexes, and each
// recovery mode's answer to each.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "keel/base/clock.h"
#include "keel/base/coding.h"
#include "keel/base/crc32c.h"
#include "keel/base/random.h"
#include "keel/wal/fault_injecting_file_system.h"
#include "keel/wal/log.h"
#include "log_testing.h"
#include "testing/testing.h"

namespace keel::wal {
namespace {

using namespace log_testing;  // NOLINT: the shared helpers are the vocabulary of these tests

// The records a log truncated at `cut` bytes must hold: every unit (record or batch) that ends
// at or before the cut.
Contents ExpectedAfterCut(const Contents& all, const std::vector<uint64_t>& unit_ends,
                          const std::vector<uint64_t>& unit_last_offsets, uint64_t cut) {
  Contents out;
  uint64_t keep_below = 0;
  for (size_t u = 0; u < unit_ends.size(); ++u) {
    if (unit_ends[u] <= cut) keep_below = unit_last_offsets[u] + 1;
  }
  for (const auto& [offset, payload] : all) {
    if (offset < keep_below) out[offset] = payload;
  }
  return out;
}

TEST_CASE("Log recovery after truncation at every byte keeps exactly the complete records") {
  const uint64_t seed = keel::testing::TestSeed(63);
  CAPTURE(seed);
  base::Random rng(seed);
  testing::TempDir original;
  const Contents all = MakeLog(original.path(), rng, 24);
  const std::string segment = original.path() + "/" + FileName(0, ".wal");
  // Where each unit ends in the file: walk the records.
  std::vector<uint64_t> unit_ends;
  std::vector<uint64_t> unit_last;
  {
    uint64_t pos = kSegmentHeaderBytes;
    uint64_t offset = 0;
    for (int u = 0; u < 24; ++u) {
      const size_t n = u % 4 == 3 ? 3 : 1;
      for (size_t k = 0; k < n; ++k) pos += kRecordHeaderBytes + all.at(offset++).size();
      unit_ends.push_back(pos);
      unit_last.push_back(offset - 1);
    }
  }
  const uint64_t size = fs::file_size(segment);
  REQUIRE(size == unit_ends.back());
  const std::string bytes = ReadFile(segment);
  for (uint64_t cut = 0; cut <= size; ++cut) {
    CAPTURE(cut);
    testing::TempDir copy;
    fs::copy_file(segment, copy.path() + "/" + FileName(0, ".wal"));
    fs::resize_file(copy.path() + "/" + FileName(0, ".wal"), cut);
    RecoveryReport report;
    LogOptions o;
    o.sync = SyncPolicy::kNone;
    auto log = Log::Open(copy.path(), o, &report);
    CAPTURE(log.status());
    REQUIRE(log.ok());
    const Contents want = ExpectedAfterCut(all, unit_ends, unit_last, cut);
    REQUIRE(ReadAll(**log, (*log)->first_offset()) == want);
    CHECK((*log)->next_offset() == want.size());
    if (cut >= kSegmentHeaderBytes) {
      uint64_t kept = kSegmentHeaderBytes;
      for (const uint64_t end : unit_ends) {
        if (end <= cut) kept = end;
      }
      // Zeros at the end of a torn write cannot be told from zeros a crash left: not counted.
      CHECK(report.torn_tail_bytes == NonZeroEnd(bytes, kept, cut) - kept);
    }
    // Absolute consistency accepts only cuts on unit boundaries.
    LogOptions strict = o;
    strict.recovery = RecoveryMode::kAbsoluteConsistency;
    testing::TempDir copy2;
    fs::copy_file(segment, copy2.path() + "/" + FileName(0, ".wal"));
    fs::resize_file(copy2.path() + "/" + FileName(0, ".wal"), cut);
    const bool on_boundary = cut == kSegmentHeaderBytes ||
                             std::find(unit_ends.begin(), unit_ends.end(), cut) != unit_ends.end();
    if (cut >= kSegmentHeaderBytes) {
      uint64_t kept = kSegmentHeaderBytes;
      for (const uint64_t end : unit_ends) {
        if (end <= cut) kept = end;
      }
      // A torn record whose bytes so far are all zeros (its CRC's first byte can be) looks like
      // preallocated space, and nothing was lost: that cut is as good as the boundary before it.
      const bool zeros_after_boundary = NonZeroEnd(bytes, kept, cut) == kept;
      CHECK(Log::Open(copy2.path(), strict).ok() == (on_boundary || zeros_after_boundary));
    }
  }
}

TEST_CASE("Log recovery detects every flipped bit") {
  const uint64_t seed = keel::testing::TestSeed(64);
  CAPTURE(seed);
  base::Random rng(seed);
  testing::TempDir original;
  const Contents all = MakeLog(original.path(), rng, 8);
  const std::string segment = original.path() + "/" + FileName(0, ".wal");
  const std::string bytes = ReadFile(segment);
  for (size_t byte = 0; byte < bytes.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      CAPTURE(byte);
      CAPTURE(bit);
      testing::TempDir copy;
      std::string damaged = bytes;
      damaged[byte] = static_cast<char>(damaged[byte] ^ (1 << bit));
      std::ofstream(copy.path() + "/" + FileName(0, ".wal"), std::ios::binary) << damaged;
      LogOptions o;
      o.sync = SyncPolicy::kNone;
      // The default mode either refuses the log or cuts the damaged tail; it never returns a
      // record that differs from what was written.
      RecoveryReport report;
      auto log = Log::Open(copy.path(), o, &report);
      if (log.ok()) {
        CHECK(report.torn_tail_bytes > 0);
        const Contents got = ReadAll(**log, (*log)->first_offset());
        CHECK(got.size() < all.size());
        for (const auto& [offset, payload] : got) REQUIRE(all.at(offset) == payload);
      } else {
        CHECK(log.status().code() == absl::StatusCode::kDataLoss);
      }
      // Absolute consistency always refuses it (on a fresh copy: the default mode cut the tail).
      testing::TempDir strict_copy;
      std::ofstream(strict_copy.path() + "/" + FileName(0, ".wal"), std::ios::binary) << damaged;
      o.recovery = RecoveryMode::kAbsoluteConsistency;
      CHECK(Log::Open(strict_copy.path(), o).status().code() == absl::StatusCode::kDataLoss);
    }
  }
}

TEST_CASE("Log recovery modes treat damage in the middle as the modes say") {
  base::Random rng(keel::testing::TestSeed(65));
  testing::TempDir original;
  const Contents all = MakeLog(original.path(), rng, 20);  // records 0..29
  const std::string name = FileName(0, ".wal");
  // Damage record 12's payload (a record on its own; 9 to 11 are a batch).
  uint64_t pos = kSegmentHeaderBytes;
  for (uint64_t o = 0; o < 12; ++o) pos += kRecordHeaderBytes + all.at(o).size();
  auto damaged_copy = [&](testing::TempDir& dir) {
    fs::copy_file(original.path() + "/" + name, dir.path() + "/" + name);
    Overwrite(dir.path() + "/" + name, pos + kRecordHeaderBytes, "#");
  };
  LogOptions o;
  o.sync = SyncPolicy::kNone;
  {
    testing::TempDir dir;
    damaged_copy(dir);
    const absl::Status status = Log::Open(dir.path(), o).status();
    CHECK(status.code() == absl::StatusCode::kDataLoss);
    CHECK(absl::StrContains(status.message(), "corruption, not a torn write"));
  }
  {
    testing::TempDir dir;
    damaged_copy(dir);
    o.recovery = RecoveryMode::kPointInTime;
    RecoveryReport report;
    auto log = *Log::Open(dir.path(), o, &report);
    CHECK(log->next_offset() == 12);
    CHECK(report.dropped_records > 0);
    CHECK(ReadAll(*log, 0).size() == 12);
  }
  {
    testing::TempDir dir;
    damaged_copy(dir);
    o.recovery = RecoveryMode::kSkipCorruptedRecords;
    RecoveryReport report;
    auto log = *Log::Open(dir.path(), o, &report);
    const Contents got = ReadAll(*log, 0);
    CHECK(got.size() == all.size() - 1);
    CHECK(!got.contains(12));
    CHECK(got.at(13) == all.at(13));
    CHECK(report.skipped_bytes > 0);
    CHECK(log->next_offset() == all.size());
    // Reading from past the damage works too.
    CHECK(ReadAll(*log, 13).size() == all.size() - 13);
  }
}

TEST_CASE("Log recovery reports a missing segment and rebuilds a damaged index") {
  base::Random rng(keel::testing::TestSeed(66));
  testing::TempDir dir;
  Contents want;
  {
    auto log = *Log::Open(dir.path(), SmallSegments());
    for (uint64_t i = 0; i < 400; ++i) {
      want[i] = Payload(rng, i, 100);
      REQUIRE(log->Append(want[i]).ok());
    }
    REQUIRE(log->Sync().ok());
  }
  std::vector<std::string> segments = SegmentFiles(dir.path());
  REQUIRE(segments.size() > 5);
  // A damaged index is rebuilt from its segment.
  const std::string index = dir.path() + "/" + segments[1].substr(0, 20) + ".idx";
  Overwrite(index, 3, "garbage");
  {
    RecoveryReport report;
    auto log = Log::Open(dir.path(), SmallSegments(), &report);
    REQUIRE(log.ok());
    CHECK(report.rebuilt_indexes == 1);
    CHECK(ReadAll(**log, 0) == want);
  }
  // A missing segment in the middle is corruption.
  fs::remove(dir.path() + "/" + segments[2]);
  const absl::Status status = Log::Open(dir.path(), SmallSegments()).status();
  CHECK(status.code() == absl::StatusCode::kDataLoss);
  CHECK(absl::StrContains(status.message(), "starts at offset"));
  LogOptions pit = SmallSegments();
  pit.recovery = RecoveryMode::kPointInTime;
  auto log = *Log::Open(dir.path(), pit);
  const uint64_t end = log->next_offset();
  CHECK(end == std::stoull(segments[2].substr(0, 20)));
  CHECK(ReadAll(*log, 0).size() == end);
}

TEST_CASE("Log recovery tells preallocated zeros from a torn write and from damage") {
  testing::TempDir dir;
  LogOptions o = SmallSegments();
  o.sync = SyncPolicy::kEveryAppend;
  o.preallocate_bytes = 2048;
  const std::string segment = dir.path() + "/" + FileName(0, ".wal");
  {
    auto log = *Log::Open(dir.path(), o);
    for (int i = 0; i < 5; ++i) REQUIRE(log->Append(std::string(50, 'a')).ok());
  }
  // Closed as a crash would leave it: the records, then zeros to the end of the preallocation.
  const std::string bytes = ReadFile(segment);
  const uint64_t record_bytes = kRecordHeaderBytes + 50;
  const uint64_t records_end = kSegmentHeaderBytes + 5 * record_bytes;
  REQUIRE(bytes.size() == kSegmentHeaderBytes + 2048);
  REQUIRE(NonZeroEnd(bytes, 0, bytes.size()) == records_end);
  SUBCASE("a torn record before the zeros is cut and only its own bytes are counted") {
    std::string torn = bytes;
    torn.replace(records_end, kRecordHeaderBytes + 20,
                 bytes.substr(kSegmentHeaderBytes, kRecordHeaderBytes + 20));
    std::ofstream(segment, std::ios::binary | std::ios::trunc) << torn;
    RecoveryReport report;
    auto log = Log::Open(dir.path(), o, &report);
    REQUIRE(log.ok());
    CHECK(report.records == 5);
    CHECK(report.torn_tail_bytes == kRecordHeaderBytes + 20);
    CHECK(fs::file_size(segment) == records_end);
  }
  SUBCASE("a lost unsynced write before a later one that landed is a torn tail") {
    // Records overwrite zeros, so a crash can keep a later unsynced write and lose an earlier
    // one. Without a sync point after it, the hole is not taken for corruption.
    testing::TempDir interval_dir;
    LogOptions lazy = o;
    lazy.sync = SyncPolicy::kInterval;
    lazy.sync_interval_ns = int64_t{3600} * base::kNanosPerSecond;
    const std::string lazy_segment = interval_dir.path() + "/" + FileName(0, ".wal");
    {
      auto log = *Log::Open(interval_dir.path(), lazy);
      for (int i = 0; i < 3; ++i) REQUIRE(log->Append(std::string(50, 'a')).ok());
      CHECK(log->durable_offset() == 0);  // only the first is a sync point
    }
    std::string holed = ReadFile(lazy_segment);
    std::fill(holed.begin() + static_cast<std::ptrdiff_t>(kSegmentHeaderBytes + record_bytes),
              holed.begin() + static_cast<std::ptrdiff_t>(kSegmentHeaderBytes + 2 * record_bytes),
              '\0');
    std::ofstream(lazy_segment, std::ios::binary | std::ios::trunc) << holed;
    RecoveryReport report;
    auto log = Log::Open(interval_dir.path(), lazy, &report);
    REQUIRE(log.ok());
    CHECK(report.records == 1);
    CHECK(report.torn_tail_bytes == 2 * record_bytes);  // the hole and the third record
    // The same hole where every write was synced before the next is corruption.
    std::string synced = bytes;
    std::fill(synced.begin() + static_cast<std::ptrdiff_t>(kSegmentHeaderBytes + record_bytes),
              synced.begin() + static_cast<std::ptrdiff_t>(kSegmentHeaderBytes + 2 * record_bytes),
              '\0');
    std::ofstream(segment, std::ios::binary | std::ios::trunc) << synced;
    CHECK(Log::Open(dir.path(), o).status().code() == absl::StatusCode::kDataLoss);
  }
  SUBCASE("zeros with records after them are damage and not preallocated space") {
    std::string damaged = bytes;
    std::fill(damaged.begin() + kSegmentHeaderBytes,
              damaged.begin() + static_cast<std::ptrdiff_t>(kSegmentHeaderBytes + record_bytes),
              '\0');
    std::ofstream(segment, std::ios::binary | std::ios::trunc) << damaged;
    auto log = Log::Open(dir.path(), o);
    CHECK(log.status().code() == absl::StatusCode::kDataLoss);
    CHECK(absl::StrContains(log.status().message(), "corruption"));
  }
}

TEST_CASE(
    "Log recovery takes a hole that out-of-order writeback left for a torn tail in every mode") {
  // A log that neither preallocates nor syncs between its appends: POSIX lets a crash write back
  // the third record's page and lose the second's, which leaves zeros (the file's size was
  // kept) or stale bytes where the second record was, and an intact record after them.
  LogOptions o = SmallSegments();
  o.sync = SyncPolicy::kNone;
  o.preallocate_bytes = 0;
  const std::string name = FileName(0, ".wal");
  const uint64_t record_bytes = kRecordHeaderBytes + 50;
  auto make = [&](const std::string& dir, bool sync_before_third, char hole) {
    {
      auto log = *Log::Open(dir, o);
      for (int i = 0; i < 3; ++i) {
        if (i == 2 && sync_before_third) REQUIRE(log->Sync().ok());
        REQUIRE(log->Append(std::string(50, static_cast<char>('a' + i))).ok());
      }
    }
    std::string bytes = ReadFile(dir + "/" + name);
    std::fill_n(bytes.begin() + static_cast<std::ptrdiff_t>(kSegmentHeaderBytes + record_bytes),
                record_bytes, hole);
    std::ofstream(dir + "/" + name, std::ios::binary | std::ios::trunc) << bytes;
  };
  for (const char hole : {'\0', '#'}) {
    CAPTURE(static_cast<int>(hole));
    for (const RecoveryMode mode :
         {RecoveryMode::kTolerateCorruptedTail, RecoveryMode::kPointInTime,
          RecoveryMode::kSkipCorruptedRecords, RecoveryMode::kAbsoluteConsistency}) {
      CAPTURE(static_cast<int>(mode));
      testing::TempDir dir;
      make(dir.path(), /*sync_before_third=*/false, hole);
      LogOptions m = o;
      m.recovery = mode;
      RecoveryReport report;
      auto log = Log::Open(dir.path(), m, &report);
      if (mode == RecoveryMode::kAbsoluteConsistency) {
        CHECK(log.status().code() == absl::StatusCode::kDataLoss);
        CHECK(absl::StrContains(log.status().message(), "a torn write at the end of the log"));
        continue;
      }
      REQUIRE(log.ok());
      // Cut, not skipped: the third record was never durable, and keeping it would leave a hole.
      CHECK((*log)->next_offset() == 1);
      CHECK(ReadAll(**log, 0).size() == 1);
      CHECK(report.skipped_bytes == 0);
      CHECK(report.dropped_records == 0);
      CHECK(report.torn_tail_bytes > 0);
    }
    // With a sync between the second record and the third, the third is a sync point: it proves
    // that the damaged bytes had been durable, and the default mode refuses the log.
    testing::TempDir synced;
    make(synced.path(), /*sync_before_third=*/true, hole);
    const absl::Status status = Log::Open(synced.path(), o).status();
    CHECK(status.code() == absl::StatusCode::kDataLoss);
    CHECK(absl::StrContains(status.message(), "corruption, not a torn write"));
  }
}

TEST_CASE("Log recovery ends a segment that never preallocated at a run of zeros a crash left") {
  // A crash can keep a file's new size but not the data written into it: the file ends in zeros.
  testing::TempDir dir;
  LogOptions o = SmallSegments();
  o.preallocate_bytes = 0;
  const std::string path = dir.path() + "/" + FileName(0, ".wal");
  {
    auto log = *Log::Open(dir.path(), o);
    for (int i = 0; i < 3; ++i) REQUIRE(log->Append("record").ok());
    REQUIRE(log->Sync().ok());
  }
  const uint64_t records_end = fs::file_size(path);
  fs::resize_file(path, records_end + 1000);
  RecoveryReport report;
  auto log = *Log::Open(dir.path(), o, &report);
  CHECK(log->next_offset() == 3);
  CHECK(report.torn_tail_bytes == 0);
  CHECK(fs::file_size(path) == records_end);
}

TEST_CASE("Log marks the first record written after a sync as a sync point in every segment") {
  for (const SyncPolicy policy : {SyncPolicy::kNone, SyncPolicy::kEveryAppend}) {
    CAPTURE(static_cast<int>(policy));
    testing::TempDir dir;
    LogOptions o = SmallSegments();
    o.sync = policy;
    const std::string segment = dir.path() + "/" + FileName(0, ".wal");
    {
      auto log = *Log::Open(dir.path(), o);
      REQUIRE(log->Append("first").ok());
      REQUIRE(log->Append("second").ok());
      REQUIRE(log->Sync().ok());
      REQUIRE(log->Append("third").ok());
    }
    std::string bytes = ReadFile(segment);
    CHECK(base::DecodeFixed32(bytes.data() + 12) == 0u);  // no flags are defined
    // The type byte is the ninth of a record. Open synced the log, so the first record is a sync
    // point (kFull | 0x80); the second is one only if the first was synced before it was
    // written (kEveryAppend); the third follows a Sync().
    const size_t second = kSegmentHeaderBytes + kRecordHeaderBytes + 5;
    const size_t third = second + kRecordHeaderBytes + 6;
    CHECK(static_cast<uint8_t>(bytes[kSegmentHeaderBytes + 8]) == 0x81);
    CHECK(static_cast<uint8_t>(bytes[second + 8]) ==
          (policy == SyncPolicy::kEveryAppend ? 0x81 : 0x01));
    CHECK(static_cast<uint8_t>(bytes[third + 8]) == 0x81);
    // A flag this version does not define makes the header damaged, whatever its CRC.
    for (const uint32_t flag : {1u, 2u}) {
      base::EncodeFixed32(bytes.data() + 12, flag);
      base::EncodeFixed32(bytes.data() + 28,
                          base::MaskCrc32c(base::Crc32c(std::string_view(bytes.data(), 28))));
      std::ofstream(segment, std::ios::binary | std::ios::trunc) << bytes;
      const auto reopened = Log::Open(dir.path(), o);
      CHECK(reopened.status().code() == absl::StatusCode::kDataLoss);
      CHECK(absl::StrContains(reopened.status().message(), "damaged header"));
    }
  }
}

TEST_CASE("Log::Open discards RESET and TRUNCATE files that a crash left incomplete") {
  testing::TempDir dir;
  const Contents all = MakeSegmentedLog(dir.path());
  // Written, but not synced, when the crash came: nothing else had changed yet.
  std::ofstream(dir.path() + "/RESET", std::ios::binary) << std::string(20, '\0');
  std::ofstream(dir.path() + "/TRUNCATE", std::ios::binary) << "KEELCUT1 and then the power went";
  RecoveryReport report;
  auto log = Log::Open(dir.path(), SmallSegments(), &report);
  CAPTURE(log.status());
  REQUIRE(log.ok());
  CHECK(ReadAll(**log, 0) == all);
  CHECK(!fs::exists(dir.path() + "/RESET"));
  CHECK(!fs::exists(dir.path() + "/TRUNCATE"));
  CHECK(report.events.size() >= 2);
}

TEST_CASE("Log kSkipCorruptedRecords skips damage that ends a sealed segment without an index") {
  testing::TempDir dir;
  const Contents all = MakeUniformLog(dir.path(), 100);
  const std::vector<std::string> segments = SegmentFiles(dir.path());
  REQUIRE(segments.size() >= 3);
  const uint64_t damaged = FirstOffsetOf(segments[1]) - 1;  // the first segment's last record
  const std::string segment = dir.path() + "/" + segments[0];
  const std::string index = dir.path() + "/" + FileName(0, ".idx");
  REQUIRE(fs::remove(index));
  Overwrite(segment, fs::file_size(segment) - 3, "#");
  LogOptions o = SmallSegments();
  CHECK(Log::Open(dir.path(), o).status().code() == absl::StatusCode::kDataLoss);
  o.recovery = RecoveryMode::kSkipCorruptedRecords;
  Contents want = all;
  want.erase(damaged);
  for (int open = 0; open < 2; ++open) {
    CAPTURE(open);
    RecoveryReport report;
    auto log = Log::Open(dir.path(), o, &report);
    CAPTURE(log.status());
    REQUIRE(log.ok());
    CHECK(report.skipped_bytes == 125);
    CHECK(report.records == 99);
    CHECK(ReadAll(**log, 0) == want);
    CHECK(ReadAll(**log, damaged).begin()->first == damaged + 1);
    CHECK(!fs::exists(index));  // not indexed, so that the next Open skips it again
  }
}

TEST_CASE("Log kSkipCorruptedRecords skips the same damage again at every Open") {
  testing::TempDir dir;
  Contents all = MakeUniformLog(dir.path(), 100);
  const std::vector<std::string> segments = SegmentFiles(dir.path());
  REQUIRE(segments.size() == 4);
  // Record 3 in a sealed segment whose index is gone, and a record in the middle of the active
  // segment, which the log will seal (and index, were it not for the damage) after the Open.
  const uint64_t active = FirstOffsetOf(segments[3]);
  REQUIRE(active + 3 < 100);
  REQUIRE(fs::remove(dir.path() + "/" + FileName(0, ".idx")));
  Overwrite(dir.path() + "/" + segments[0], UniformPosition(0, 3) + 30, "#");
  Overwrite(dir.path() + "/" + segments[3], UniformPosition(active, active + 1) + 30, "#");
  LogOptions o = SmallSegments();
  o.recovery = RecoveryMode::kSkipCorruptedRecords;
  Contents want = all;
  want.erase(3);
  want.erase(active + 1);
  {
    RecoveryReport report;
    auto log = *Log::Open(dir.path(), o, &report);
    CHECK(report.skipped_bytes == 250);
    CHECK(ReadAll(*log, 0) == want);
    // Seal the damaged active segment.
    while (log->stats().segments == segments.size()) {
      const uint64_t offset = *log->Append("more");
      want[offset] = "more";
    }
  }
  for (int open = 0; open < 2; ++open) {
    CAPTURE(open);
    RecoveryReport report;
    auto log = *Log::Open(dir.path(), o, &report);
    CHECK(report.skipped_bytes == 250);
    CHECK(ReadAll(*log, 0) == want);
    CHECK(!fs::exists(dir.path() + "/" + FileName(0, ".idx")));
    CHECK(!fs::exists(dir.path() + "/" + FileName(active, ".idx")));
  }
  // The damage is still there for a stricter mode to find.
  CHECK(Log::Open(dir.path(), SmallSegments()).status().code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("Log kPointInTime counts the intact records it drops in later segments too") {
  testing::TempDir dir;
  MakeUniformLog(dir.path(), 200);
  const std::vector<std::string> segments = SegmentFiles(dir.path());
  REQUIRE(segments.size() >= 5);
  // Damage in the second segment (its index removed, so that Open reads it).
  const uint64_t first = FirstOffsetOf(segments[1]);
  const uint64_t damaged = first + 2;
  REQUIRE(fs::remove(dir.path() + "/" + FileName(first, ".idx")));
  Overwrite(dir.path() + "/" + segments[1], UniformPosition(first, damaged) + 30, "#");
  LogOptions o = SmallSegments();
  o.recovery = RecoveryMode::kPointInTime;
  RecoveryReport report;
  auto log = *Log::Open(dir.path(), o, &report);
  CHECK(log->next_offset() == damaged);
  CHECK(report.dropped_records == 200 - damaged - 1);
  CHECK(SegmentFiles(dir.path()).size() == 2);
}

// A log of 100 records whose oldest segments were dropped, then its first segment's header
// damaged (its flags). Returns the offset that segment's file name gives.
uint64_t MakeLogWithDamagedFirstHeader(const std::string& dir) {
  MakeUniformLog(dir, 100);
  {
    auto log = *Log::Open(dir, SmallSegments());
    REQUIRE(*log->DropBefore(40) > 0);
  }
  const std::vector<std::string> segments = SegmentFiles(dir);
  const uint64_t first = FirstOffsetOf(segments[0]);
  REQUIRE(first > 0);
  Overwrite(dir + "/" + segments[0], 12, "\x01");  // the header's flags
  return first;
}

TEST_CASE("Log kPointInTime cuts at a damaged first segment header and restarts empty there") {
  testing::TempDir dir;
  const uint64_t first = MakeLogWithDamagedFirstHeader(dir.path());
  CHECK(Log::Open(dir.path(), SmallSegments()).status().code() == absl::StatusCode::kDataLoss);
  LogOptions o = SmallSegments();
  o.recovery = RecoveryMode::kPointInTime;
  {
    RecoveryReport report;
    auto log = Log::Open(dir.path(), o, &report);
    CAPTURE(log.status());
    REQUIRE(log.ok());
    CHECK((*log)->first_offset() == first);
    CHECK((*log)->next_offset() == first);
    CHECK(report.dropped_records == 100 - first);
    CHECK(ReadAll(**log, first).empty());
    CHECK(*(*log)->Append("the first record again") == first);
  }
  auto log = *Log::Open(dir.path(), SmallSegments());
  CHECK(ReadAll(*log, first) == Contents{{first, "the first record again"}});
}

// kPointInTime on a damaged header on the first segment leaves an empty log that starts at the
// offset in that segment's file name, and a crash part-way through the repair must too: a
// directory left with no segment would restart the log at 0, reusing offsets already handed out.
TEST_CASE("Log kPointInTime keeps a damaged first segment's offset through a crash in its repair") {
  testing::TempDir original;
  const uint64_t first = MakeLogWithDamagedFirstHeader(original.path());
  for (int64_t steps = 0;; ++steps) {
    CAPTURE(steps);
    REQUIRE(steps < 100);
    testing::TempDir dir;
    fs::copy(original.path(), dir.path(), fs::copy_options::recursive);
    FaultInjectingFileSystem faulty(FileSystem::Posix());
    LogOptions o = SmallSegments();
    o.recovery = RecoveryMode::kPointInTime;
    o.file_system = &faulty;
    faulty.FailMutationsAfter(steps);
    const bool finished = Log::Open(dir.path(), o).ok();
    REQUIRE(faulty.PowerCut().ok());  // the power goes as Open stops: nothing unsynced persists
    auto log = Log::Open(dir.path(), o);
    REQUIRE(log.ok());
    CHECK((*log)->first_offset() == first);
    if (finished) break;
  }
}

TEST_CASE("Log::Open removes the index file of a segment that is gone") {
  // Removing a segment deletes its index first, but until the directory is synced a crash may keep
  // the segment's removal without the index's.
  testing::TempDir dir;
  MakeUniformLog(dir.path(), 100);
  const std::vector<std::string> segments = SegmentFiles(dir.path());
  REQUIRE(segments.size() >= 3);
  const std::string orphan = dir.path() + "/" + FileName(987654321, ".idx");
  fs::copy_file(dir.path() + "/" + FileName(0, ".idx"), orphan);
  RecoveryReport report;
  auto log = *Log::Open(dir.path(), SmallSegments(), &report);
  CHECK(!fs::exists(orphan));
  CHECK(
      absl::StrContains(absl::StrJoin(report.events, "; "), "the index of a segment that is gone"));
  CHECK(ReadAll(*log, 0).size() == 100);
}

}  // namespace
}  // namespace keel::wal
