// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/wal/log.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/wal/fault_injecting_file_system.h"
#include "testing/testing.h"

namespace keel::wal {
namespace {

namespace fs = std::filesystem;

// The oracle: what the log should hold, offset by offset.
using Contents = std::map<uint64_t, std::string>;

std::string Payload(base::Random& rng, uint64_t offset, size_t max_bytes = 300) {
  std::string p = absl::StrFormat("record %d:", offset);
  const size_t extra = static_cast<size_t>(rng.Uniform(max_bytes));
  for (size_t i = 0; i < extra; ++i) p.push_back(static_cast<char>('a' + rng.Uniform(26)));
  return p;
}

// Every record from `from` to the current end.
Contents ReadAll(const Log& log, uint64_t from) {
  Contents out;
  auto reader = log.NewReader(from);
  REQUIRE(reader.ok());
  for (;;) {
    absl::StatusOr<std::optional<RecordView>> record = (*reader)->Next();
    REQUIRE(record.ok());
    if (!*record) break;
    out[(*record)->offset] = std::string((*record)->payload);
  }
  return out;
}

LogOptions SmallSegments() {
  LogOptions o;
  o.max_segment_bytes = 4096;
  o.max_record_bytes = 1024;
  o.index_interval_bytes = 256;
  o.sync = SyncPolicy::kNone;
  return o;
}

std::string FileName(uint64_t first, const char* suffix) {
  return absl::StrFormat("%020d%s", first, suffix);
}

std::vector<std::string> SegmentFiles(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (absl::EndsWith(name, ".wal")) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

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

TEST_CASE("Log group commit gives concurrent appenders distinct ordered offsets") {
  testing::TempDir dir;
  LogOptions options;
  options.max_segment_bytes = 1 << 16;
  options.max_record_bytes = 1024;
  options.sync = SyncPolicy::kEveryAppend;
  auto log = *Log::Open(dir.path(), options);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 300;
  std::vector<std::vector<uint64_t>> offsets(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        absl::StatusOr<uint64_t> offset = log->Append(absl::StrFormat("t%d-%d", t, i));
        if (!offset.ok()) return;
        offsets[static_cast<size_t>(t)].push_back(*offset);
        // Durable when Append returns.
        if (log->durable_offset() <= *offset) return;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const Contents all = ReadAll(*log, 0);
  REQUIRE(all.size() == kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    REQUIRE(offsets[static_cast<size_t>(t)].size() == kPerThread);
    for (int i = 0; i < kPerThread; ++i) {
      const uint64_t offset = offsets[static_cast<size_t>(t)][static_cast<size_t>(i)];
      CHECK(all.at(offset) == absl::StrFormat("t%d-%d", t, i));
      if (i > 0) CHECK(offset > offsets[static_cast<size_t>(t)][static_cast<size_t>(i - 1)]);
    }
  }
  const LogStats stats = log->stats();
  CHECK(stats.records == kThreads * kPerThread);
  CHECK(stats.syncs < stats.appends);  // fsyncs were shared
  MESSAGE("group commit: ", stats.appends, " appends, ", stats.syncs, " syncs, ",
          stats.group_commits, " shared writes");
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

// Builds a small log (one segment, some batches) and returns its records.
Contents MakeLog(const std::string& dir, base::Random& rng, int units) {
  LogOptions o;
  o.sync = SyncPolicy::kNone;
  auto log = *Log::Open(dir, o);
  Contents want;
  uint64_t next = 0;
  for (int u = 0; u < units; ++u) {
    const size_t n = u % 4 == 3 ? 3 : 1;
    std::vector<std::string> batch;
    for (size_t k = 0; k < n; ++k) batch.push_back(Payload(rng, next + k, 40));
    std::vector<std::string_view> views(batch.begin(), batch.end());
    KEEL_ASSERT(log->AppendBatch(views).ok());
    for (size_t k = 0; k < n; ++k) want[next + k] = batch[k];
    next += n;
  }
  KEEL_ASSERT(log->Sync().ok());
  return want;
}

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
      CHECK(report.torn_tail_bytes == cut - kept);
    }
    // Absolute consistency accepts only cuts on unit boundaries.
    LogOptions strict = o;
    strict.recovery = RecoveryMode::kAbsoluteConsistency;
    testing::TempDir copy2;
    fs::copy_file(segment, copy2.path() + "/" + FileName(0, ".wal"));
    fs::resize_file(copy2.path() + "/" + FileName(0, ".wal"), cut);
    const bool on_boundary = cut == kSegmentHeaderBytes ||
                             std::find(unit_ends.begin(), unit_ends.end(), cut) != unit_ends.end();
    if (cut >= kSegmentHeaderBytes) CHECK(Log::Open(copy2.path(), strict).ok() == on_boundary);
  }
}

TEST_CASE("Log recovery detects every flipped bit") {
  const uint64_t seed = keel::testing::TestSeed(64);
  CAPTURE(seed);
  base::Random rng(seed);
  testing::TempDir original;
  const Contents all = MakeLog(original.path(), rng, 8);
  const std::string segment = original.path() + "/" + FileName(0, ".wal");
  std::string bytes;
  {
    std::ifstream in(segment, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
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

// Writes `damaged` over the file at `position`.
void Overwrite(const std::string& path, uint64_t position, std::string_view damaged) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(position));
  f.write(damaged.data(), static_cast<std::streamsize>(damaged.size()));
}

TEST_CASE("Log recovery modes treat damage in the middle as the modes say") {
  base::Random rng(keel::testing::TestSeed(65));
  testing::TempDir original;
  const Contents all = MakeLog(original.path(), rng, 20);  // records 0..34
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

TEST_CASE("Log loses no durable record when the power is cut") {
  const uint64_t seed = keel::testing::TestSeed(67);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int trial = 0; trial < 40; ++trial) {
    testing::TempDir dir;
    FaultInjectingFileSystem faulty(FileSystem::Posix());
    LogOptions o = SmallSegments();
    o.file_system = &faulty;
    o.sync = trial % 2 == 0 ? SyncPolicy::kEveryAppend : SyncPolicy::kNone;
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
        if (o.sync == SyncPolicy::kNone && rng.Bernoulli(0.05)) REQUIRE(log->Sync().ok());
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
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      LogOptions o = SmallSegments();
      o.sync = SyncPolicy::kEveryAppend;
      auto log = Log::Open(dir.path(), o);
      if (!log.ok()) _exit(2);
      // Four threads append; each acknowledged offset goes to the parent.
      std::vector<std::thread> threads;
      std::atomic<bool> stop{false};
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
          for (uint64_t i = 0; !stop; ++i) {
            const std::string payload =
                absl::StrFormat("t%d-%d-%s", t, i, std::string(i % 97, 'z'));
            absl::StatusOr<uint64_t> offset = (*log)->Append(payload);
            if (!offset.ok()) _exit(3);
            const std::string ack = absl::StrFormat("%d %s\n", *offset, payload);
            if (write(fds[1], ack.data(), ack.size()) < 0) _exit(4);
          }
        });
      }
      for (std::thread& t : threads) t.join();
      _exit(0);
    }
    close(fds[1]);
    // Let it run for a random while, then kill it mid-flight.
    usleep(static_cast<useconds_t>(rng.UniformInRange(5'000, 60'000)));
    kill(pid, SIGKILL);
    std::string acks;
    char buf[65536];
    for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;)
      acks.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    REQUIRE(WIFSIGNALED(status));
    std::map<uint64_t, std::string> acked;
    for (absl::string_view line : absl::StrSplit(acks, '\n')) {
      const size_t space = line.find(' ');
      if (space == std::string_view::npos) continue;  // a line cut by the kill
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

}  // namespace
}  // namespace keel::wal
