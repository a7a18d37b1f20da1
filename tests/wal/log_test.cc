// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The write-ahead log's API: appends, readers, segments, sync policies, preallocation, options,
// locking, Truncate, Reset and retention. Recovery is in log_recovery_test.cc, crashes in
// log_crash_test.cc, crash states in log_crash_states_test.cc, group commit in
// group_commit_test.cc.
#include "keel/wal/log.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/wal/memory_file_system.h"
#include "log_testing.h"
#include "testing/testing.h"

namespace keel::wal {
namespace {

using namespace log_testing;  // NOLINT: the shared helpers are the vocabulary of these tests

TEST_CASE("Log appends records with consecutive offsets and reads them back after reopening") {
  testing::TempDir dir;
  Contents want;
  {
    auto log = Log::Open(dir.path(), LogOptions{});
    REQUIRE(log.ok());
    CHECK((*log)->next_offset() == 0);
    for (uint64_t i = 0; i < 100; ++i) {
      const std::string payload = absl::StrFormat("message %d", i);
      absl::StatusOr<uint64_t> offset = (*log)->Append(payload);
      REQUIRE(offset.ok());
      CHECK(*offset == i);
      want[i] = payload;
    }
    const std::string_view batch[] = {"alpha", "", "gamma"};
    CHECK(*(*log)->AppendBatch(batch) == 100);
    want[100] = "alpha";
    want[101] = "";
    want[102] = "gamma";
    CHECK((*log)->durable_offset() == 103);  // kEveryAppend by default
    CHECK(ReadAll(**log, 0) == want);
  }
  RecoveryReport report;
  auto log = Log::Open(dir.path(), LogOptions{}, &report);
  REQUIRE(log.ok());
  CHECK(report.records == 103);
  CHECK(report.torn_tail_bytes == 0);
  CHECK((*log)->next_offset() == 103);
  CHECK(ReadAll(**log, 0) == want);
  CHECK(*(*log)->Append("after reopening") == 103);
}

TEST_CASE("Log rolls segments named by their first offset and reads from any offset") {
  const uint64_t seed = keel::testing::TestSeed(61);
  CAPTURE(seed);
  base::Random rng(seed);
  testing::TempDir dir;
  Contents want;
  auto log = *Log::Open(dir.path(), SmallSegments());
  for (uint64_t i = 0; i < 2000;) {
    if (rng.Bernoulli(0.2)) {
      std::vector<std::string> batch;
      const size_t n = static_cast<size_t>(rng.UniformInRange(1, 5));
      for (size_t k = 0; k < n; ++k) batch.push_back(Payload(rng, i + k));
      std::vector<std::string_view> views(batch.begin(), batch.end());
      REQUIRE(*log->AppendBatch(views) == i);
      for (size_t k = 0; k < n; ++k) want[i + k] = batch[k];
      i += n;
    } else {
      const std::string p = Payload(rng, i);
      REQUIRE(*log->Append(p) == i);
      want[i++] = p;
    }
  }
  const std::vector<std::string> segments = SegmentFiles(dir.path());
  CHECK(segments.size() > 50);
  CHECK(segments.front() == FileName(0, ".wal"));
  // Every sealed segment has an index file.
  for (size_t s = 0; s + 1 < segments.size(); ++s) {
    const std::string idx = segments[s].substr(0, 20) + ".idx";
    CHECK(fs::exists(dir.path() + "/" + idx));
  }
  for (int trial = 0; trial < 200; ++trial) {
    const uint64_t from = rng.Uniform(want.size() + 1);
    auto reader = *log->NewReader(from);
    for (uint64_t expect = from; expect < std::min<uint64_t>(from + 30, want.size()); ++expect) {
      const std::optional<RecordView> record = *reader->Next();
      REQUIRE(record.has_value());
      REQUIRE(record->offset == expect);
      REQUIRE(record->payload == want[expect]);
    }
  }
  CHECK(ReadAll(*log, 0) == want);
  log.reset();
  auto reopened = *Log::Open(dir.path(), SmallSegments());
  CHECK(ReadAll(*reopened, 0) == want);
  CHECK(reopened->stats().segments == segments.size());
}

TEST_CASE("Log readers see records appended after they were created") {
  testing::TempDir dir;
  auto log = *Log::Open(dir.path(), SmallSegments());
  auto reader = *log->NewReader(0);
  CHECK(!reader->Next()->has_value());
  for (int i = 0; i < 300; ++i) {
    REQUIRE(log->Append(absl::StrFormat("r%d", i)).ok());
    const std::optional<RecordView> record = *reader->Next();
    REQUIRE(record.has_value());
    CHECK(record->payload == absl::StrFormat("r%d", i));
    CHECK(!reader->Next()->has_value());
  }
}

TEST_CASE("Log sync policies decide when records become durable") {
  testing::TempDir dir;
  base::ManualClock clock(1'000'000);
  LogOptions o;
  o.clock = &clock;
  SUBCASE("kNone syncs only when asked") {
    o.sync = SyncPolicy::kNone;
    auto log = *Log::Open(dir.path(), o);
    for (int i = 0; i < 10; ++i) REQUIRE(log->Append("x").ok());
    CHECK(log->durable_offset() == 0);
    REQUIRE(log->Sync().ok());
    CHECK(log->durable_offset() == 10);
    REQUIRE(log->Append("y").ok());
    REQUIRE(log->WaitDurable(11).ok());
    CHECK(log->durable_offset() == 11);
    CHECK(log->WaitDurable(13).code() == absl::StatusCode::kOutOfRange);
  }
  SUBCASE("kInterval syncs once the interval has passed") {
    o.sync = SyncPolicy::kInterval;
    o.sync_interval_ns = 5 * base::kNanosPerMilli;
    auto log = *Log::Open(dir.path(), o);
    REQUIRE(log->Append("a").ok());
    CHECK(log->durable_offset() == 0);
    clock.Advance(6 * base::kNanosPerMilli);
    REQUIRE(log->Append("b").ok());
    CHECK(log->durable_offset() == 2);
    REQUIRE(log->Append("c").ok());
    CHECK(log->durable_offset() == 2);
    REQUIRE(log->SyncIfDue().ok());
    CHECK(log->durable_offset() == 2);
    clock.Advance(6 * base::kNanosPerMilli);
    REQUIRE(log->SyncIfDue().ok());
    CHECK(log->durable_offset() == 3);
  }
  SUBCASE("kEveryAppend returns only durable records") {
    auto log = *Log::Open(dir.path(), o);
    for (int i = 0; i < 10; ++i) {
      REQUIRE(log->Append("x").ok());
      CHECK(log->durable_offset() == static_cast<uint64_t>(i + 1));
    }
  }
}

TEST_CASE("Log refuses oversized records and bad batches and stays unchanged") {
  testing::TempDir dir;
  auto log = *Log::Open(dir.path(), SmallSegments());
  REQUIRE(log->Append("kept").ok());
  CHECK(log->Append(std::string(1025, 'x')).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(log->AppendBatch({}).status().code() == absl::StatusCode::kInvalidArgument);
  std::vector<std::string> big(5, std::string(1000, 'y'));
  std::vector<std::string_view> views(big.begin(), big.end());
  CHECK(log->AppendBatch(views).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(log->next_offset() == 1);
  CHECK(ReadAll(*log, 0) == Contents{{0, "kept"}});
  CHECK(log->NewReader(2).status().code() == absl::StatusCode::kOutOfRange);
}

TEST_CASE("Log::Open rejects bad options and directories that are not a log") {
  testing::TempDir dir;
  LogOptions o;
  o.max_segment_bytes = 100;
  CHECK(Log::Open(dir.path(), o).status().code() == absl::StatusCode::kInvalidArgument);
  o = LogOptions{};
  o.max_record_bytes = 0;
  CHECK(Log::Open(dir.path(), o).status().code() == absl::StatusCode::kInvalidArgument);
  o = LogOptions{};
  o.sync_interval_ns = 0;
  CHECK(Log::Open(dir.path(), o).status().code() == absl::StatusCode::kInvalidArgument);
  o = LogOptions{};
  o.index_interval_bytes = 1;
  CHECK(Log::Open(dir.path(), o).status().code() == absl::StatusCode::kInvalidArgument);
  std::ofstream(dir.path() + "/notes.txt") << "hello";
  const absl::Status status = Log::Open(dir.path(), LogOptions{}).status();
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(status.message(), "notes.txt"));
}

TEST_CASE("Log::Open locks the directory against a second owner until the log is closed") {
  testing::TempDir dir;
  auto first = *Log::Open(dir.path(), SmallSegments());
  REQUIRE(first->Append("kept").ok());
  const auto second = Log::Open(dir.path(), SmallSegments());
  CHECK(second.status().code() == absl::StatusCode::kUnavailable);
  CHECK(absl::StrContains(second.status().message(), "LOCK"));
  CHECK(ReadAll(*first, 0) == Contents{{0, "kept"}});
  first.reset();
  auto third = Log::Open(dir.path(), SmallSegments());
  REQUIRE(third.ok());
  CHECK(ReadAll(**third, 0) == Contents{{0, "kept"}});
}

TEST_CASE("Log::Truncate removes a suffix durably including inside a batch and across segments") {
  const uint64_t seed = keel::testing::TestSeed(62);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int trial = 0; trial < 30; ++trial) {
    testing::TempDir dir;
    Contents want;
    auto log = *Log::Open(dir.path(), SmallSegments());
    uint64_t next = 0;
    while (next < 400) {
      const size_t n = rng.Bernoulli(0.3) ? static_cast<size_t>(rng.UniformInRange(2, 6)) : 1;
      std::vector<std::string> batch;
      for (size_t k = 0; k < n; ++k) batch.push_back(Payload(rng, next + k, 100));
      std::vector<std::string_view> views(batch.begin(), batch.end());
      REQUIRE(log->AppendBatch(views).ok());
      for (size_t k = 0; k < n; ++k) want[next + k] = batch[k];
      next += n;
    }
    auto stale = *log->NewReader(next);  // positioned at the old end
    const uint64_t end = rng.Uniform(next + 1);
    CAPTURE(end);
    REQUIRE(log->Truncate(end).ok());
    want.erase(want.lower_bound(end), want.end());
    CHECK(log->next_offset() == end);
    CHECK(ReadAll(*log, 0) == want);
    if (end < next) CHECK(stale->Next().status().code() == absl::StatusCode::kFailedPrecondition);
    // Appends continue from the cut, and everything survives a reopen.
    REQUIRE(*log->Append("after the cut") == end);
    want[end] = "after the cut";
    log.reset();
    RecoveryReport report;
    auto reopened = Log::Open(dir.path(), SmallSegments(), &report);
    CAPTURE(reopened.status());
    REQUIRE(reopened.ok());
    CHECK(report.torn_tail_bytes == 0);
    CHECK(ReadAll(**reopened, 0) == want);
  }
  testing::TempDir dir;
  auto log = *Log::Open(dir.path(), SmallSegments());
  REQUIRE(log->Append("a").ok());
  CHECK(log->Truncate(5).code() == absl::StatusCode::kOutOfRange);
}

TEST_CASE("Log::Reset empties the log and restarts it at any offset durably") {
  for (const uint64_t restart : {uint64_t{0}, uint64_t{3}, uint64_t{57}, uint64_t{1000}}) {
    CAPTURE(restart);
    testing::TempDir dir;
    auto log = *Log::Open(dir.path(), SmallSegments());
    base::Random rng(restart);
    for (uint64_t i = 0; i < 120; ++i) REQUIRE(log->Append(Payload(rng, i)).ok());
    REQUIRE(SegmentFiles(dir.path()).size() > 2);
    auto stale = *log->NewReader(0);
    REQUIRE(log->Reset(restart).ok());
    CHECK(log->first_offset() == restart);
    CHECK(log->next_offset() == restart);
    CHECK(log->durable_offset() == restart);
    CHECK(ReadAll(*log, restart).empty());
    CHECK(stale->Next().status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK(SegmentFiles(dir.path()) == std::vector<std::string>{FileName(restart, ".wal")});
    REQUIRE(*log->Append("first after the reset") == restart);
    log.reset();
    auto reopened = *Log::Open(dir.path(), SmallSegments());
    CHECK(reopened->first_offset() == restart);
    CHECK(ReadAll(*reopened, restart) == Contents{{restart, "first after the reset"}});
  }
}

TEST_CASE("Log drops old segments by offset by size and by age") {
  testing::TempDir dir;
  base::ManualClock clock(base::kNanosPerSecond);
  LogOptions o = SmallSegments();
  o.clock = &clock;
  auto log = *Log::Open(dir.path(), o);
  for (int i = 0; i < 600; ++i) {
    REQUIRE(log->Append(std::string(100, static_cast<char>('a' + i % 26))).ok());
    clock.Advance(base::kNanosPerMilli);
  }
  const size_t segments = log->stats().segments;
  REQUIRE(segments > 10);
  const uint64_t first = *log->DropBefore(100);
  CHECK(first <= 100);
  CHECK(first > 0);
  CHECK(log->first_offset() == first);
  CHECK(ReadAll(*log, first).begin()->first == first);
  CHECK(log->NewReader(0).status().code() == absl::StatusCode::kOutOfRange);
  // Retention never deletes a segment holding a record at keep_from (300) or after.
  CHECK(*log->ApplyRetention(1, 0, 300) > 0);
  CHECK(log->first_offset() > first);
  CHECK(log->first_offset() <= 300);
  CHECK(ReadAll(*log, log->first_offset()).size() == 600 - log->first_offset());
  // By size: down to about 8 KiB.
  CHECK(*log->ApplyRetention(8192, 0) > 0);
  CHECK(log->size_bytes() <= 8192 + 4096);
  // By age: everything older than 50 ms goes, except the active segment.
  clock.Advance(base::kNanosPerSecond);
  CHECK(*log->ApplyRetention(0, 50 * base::kNanosPerMilli) > 0);
  CHECK(log->stats().segments == 1);
  CHECK(log->next_offset() == 600);
  const uint64_t kept_first = log->first_offset();
  log.reset();
  auto reopened = *Log::Open(dir.path(), o);
  CHECK(reopened->first_offset() == kept_first);
  CHECK(reopened->next_offset() == 600);
}

TEST_CASE("Log preallocates ahead of its records when it syncs and trims the zeros after") {
  testing::TempDir dir;
  LogOptions o = SmallSegments();
  o.max_segment_bytes = 64 << 10;
  o.sync = SyncPolicy::kEveryAppend;
  o.preallocate_bytes = 10'000;
  const std::string first = dir.path() + "/" + FileName(0, ".wal");
  const std::string payload(100, 'p');
  uint64_t records_end = kSegmentHeaderBytes;
  {
    auto log = *Log::Open(dir.path(), o);
    for (int i = 0; i < 150; ++i) REQUIRE(log->Append(payload).ok());
    records_end += 150 * (kRecordHeaderBytes + payload.size());
    CHECK(log->size_bytes() == records_end);
    // Extended a run of zeros at a time, as far as the records needed and no further.
    CHECK(fs::file_size(first) == kSegmentHeaderBytes + 2 * 10'000);
    CHECK(ReadFile(first).find_first_not_of('\0', records_end) == std::string::npos);
  }
  RecoveryReport report;
  auto log = *Log::Open(dir.path(), o, &report);
  CHECK(report.records == 150);
  CHECK(report.torn_tail_bytes == 0);
  CHECK(report.events.empty());
  CHECK(fs::file_size(first) == records_end);
  // Sealing trims the zeros too: the index and the file agree, and the next Open trusts it.
  while (SegmentFiles(dir.path()).size() < 2) REQUIRE(log->Append(payload).ok());
  const uint64_t next = log->next_offset();
  CHECK(fs::file_size(first) < o.max_segment_bytes);
  CHECK(ReadFile(first).back() == 'p');
  log.reset();
  log = *Log::Open(dir.path(), o, &report);
  CHECK(report.rebuilt_indexes == 0);
  CHECK(report.events.empty());
  CHECK(log->next_offset() == next);
  CHECK(ReadAll(*log, 0).size() == next);

  // Without fsyncs to make cheaper, or with preallocation off, the file ends at its records.
  for (const bool sync : {false, true}) {
    testing::TempDir plain;
    LogOptions p = o;
    p.sync = sync ? SyncPolicy::kEveryAppend : SyncPolicy::kNone;
    p.preallocate_bytes = sync ? 0 : 10'000;
    auto l = *Log::Open(plain.path(), p);
    REQUIRE(l->Append(payload).ok());
    CHECK(fs::file_size(plain.path() + "/" + FileName(0, ".wal")) == l->size_bytes());
  }
}

TEST_CASE("Log readers do not return records that a truncation removed") {
  testing::TempDir dir;
  auto log = *Log::Open(dir.path(), SmallSegments());
  for (int i = 0; i < 10; ++i) REQUIRE(log->Append(absl::StrFormat("old %d", i)).ok());
  auto reader = *log->NewReader(0);
  for (int i = 0; i < 5; ++i) REQUIRE(reader->Next()->has_value());  // its read-ahead holds all 10
  REQUIRE(log->Truncate(7).ok());
  REQUIRE(*log->Append("new 7") == 7);
  for (int i = 5; i < 7; ++i) CHECK((*reader->Next())->payload == absl::StrFormat("old %d", i));
  const std::optional<RecordView> record = *reader->Next();
  REQUIRE(record.has_value());
  CHECK(record->offset == 7);
  CHECK(record->payload == "new 7");
  CHECK(!reader->Next()->has_value());
}

TEST_CASE("Log::Open refuses a directory that is not a log without leaving a LOCK file in it") {
  testing::TempDir dir;
  std::ofstream(dir.path() + "/notes.txt") << "mine";
  CHECK(Log::Open(dir.path(), LogOptions{}).status().code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(!fs::exists(dir.path() + "/LOCK"));
  // A LOCK that was there before stays.
  std::ofstream(dir.path() + "/LOCK") << "";
  CHECK(Log::Open(dir.path(), LogOptions{}).status().code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(fs::exists(dir.path() + "/LOCK"));
}

TEST_CASE("Log stats count every fsync including the four that a roll makes") {
  testing::TempDir dir;
  auto log = *Log::Open(dir.path(), SmallSegments());  // SyncPolicy::kNone
  const uint64_t at_open = log->stats().syncs;
  CHECK(at_open > 0);  // Open syncs the new segment, its directory and the active segment
  REQUIRE(log->Append("x").ok());
  CHECK(log->stats().syncs == at_open);
  REQUIRE(log->Sync().ok());
  CHECK(log->stats().syncs == at_open + 1);
  while (log->stats().segments == 1) REQUIRE(log->Append(std::string(100, 'y')).ok());
  // The old segment, its index file, the new segment's header and the directory.
  CHECK(log->stats().syncs == at_open + 1 + 4);
}

// log.h: "Readers positioned past the new end fail with kFailedPrecondition and must be
// recreated." A reader checks this only when it is next used, against the log's end at that
// moment: appends made after the truncation hide it, and the reader goes on as if nothing
// happened, having returned records the log no longer holds.
TEST_CASE("Log readers past a truncation fail even after appends refill the log") {
  MemoryFileSystem memory;
  LogOptions o = SmallSegments();
  o.file_system = &memory;
  auto log = *Log::Open("/wal", o);
  for (const char* payload : {"old 0", "old 1", "old 2"}) REQUIRE(log->Append(payload).ok());
  auto reader = *log->NewReader(0);
  for (int i = 0; i < 3; ++i) REQUIRE(reader->Next()->has_value());  // at offset 3 now
  REQUIRE(log->Truncate(1).ok());  // "old 1" and "old 2" are gone; the reader is past the end
  REQUIRE(*log->Append("new 1") == 1);
  REQUIRE(*log->Append("new 2") == 2);
  REQUIRE(*log->Append("new 3") == 3);
  const absl::StatusOr<std::optional<RecordView>> next = reader->Next();
  // Without the check, the reader returns "new 3" having returned "old 1" and "old 2" before:
  // a history the log never held.
  if (next.ok() && next->has_value()) MESSAGE("the reader returned ", (*next)->payload);
  CHECK(next.status().code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("Log refuses appends that would take an offset past 2^64 - 1 and keeps the rest") {
  testing::TempDir dir;
  auto log = *Log::Open(dir.path(), SmallSegments());
  REQUIRE(log->Reset(UINT64_MAX - 2).ok());
  const std::string_view three[] = {"a", "b", "c"};
  const absl::Status refused = log->AppendBatch(three).status();
  CHECK(refused.code() == absl::StatusCode::kResourceExhausted);
  CHECK(absl::StrContains(refused.message(), "offsets are used up"));
  CHECK(*log->Append("x") == UINT64_MAX - 2);
  CHECK(*log->Append("y") == UINT64_MAX - 1);
  CHECK(log->Append("z").status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(log->next_offset() == UINT64_MAX);
  REQUIRE(log->Sync().ok());
  CHECK(ReadAll(*log, UINT64_MAX - 2) == Contents{{UINT64_MAX - 2, "x"}, {UINT64_MAX - 1, "y"}});
}

TEST_CASE("Log::Truncate into a sealed segment removes its index file") {
  // The segment is active again and will be sealed anew; its old index must not outlive it, or a
  // crash before the new one is in place could leave a stale index that Open trusts.
  testing::TempDir dir;
  MakeUniformLog(dir.path(), 100);
  const std::vector<std::string> segments = SegmentFiles(dir.path());
  REQUIRE(segments.size() >= 3);
  const uint64_t second = FirstOffsetOf(segments[1]);
  REQUIRE(fs::exists(dir.path() + "/" + FileName(second, ".idx")));
  auto log = *Log::Open(dir.path(), SmallSegments());
  REQUIRE(log->Truncate(second + 2).ok());
  CHECK(!fs::exists(dir.path() + "/" + FileName(second, ".idx")));
  CHECK(fs::exists(dir.path() + "/" + FileName(0, ".idx")));
}

}  // namespace
}  // namespace keel::wal
