// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/wal/log.h"

#include <doctest/doctest.h>
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
#include "keel/base/coding.h"
#include "keel/base/crc32c.h"
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
  // 64 appenders make groups that gather, and that the writer completing them takes over.
  for (const int threads_count : {8, 64}) {
    CAPTURE(threads_count);
    testing::TempDir dir;
    LogOptions options;
    options.max_segment_bytes = 1 << 16;
    options.max_record_bytes = 1024;
    options.sync = SyncPolicy::kEveryAppend;
    auto log = *Log::Open(dir.path(), options);
    const size_t n = static_cast<size_t>(threads_count);
    constexpr size_t kPerThread = 300;
    std::vector<std::vector<uint64_t>> offsets(n);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < n; ++t) {
      threads.emplace_back([&, t] {
        for (size_t i = 0; i < kPerThread; ++i) {
          absl::StatusOr<uint64_t> offset = log->Append(absl::StrFormat("t%d-%d", t, i));
          if (!offset.ok()) return;
          offsets[t].push_back(*offset);
          // Durable when Append returns.
          if (log->durable_offset() <= *offset) return;
        }
      });
    }
    for (std::thread& t : threads) t.join();
    const Contents all = ReadAll(*log, 0);
    REQUIRE(all.size() == n * kPerThread);
    for (size_t t = 0; t < n; ++t) {
      REQUIRE(offsets[t].size() == kPerThread);
      for (size_t i = 0; i < kPerThread; ++i) {
        CHECK(all.at(offsets[t][i]) == absl::StrFormat("t%d-%d", t, i));
        if (i > 0) CHECK(offsets[t][i] > offsets[t][i - 1]);
      }
    }
    const LogStats stats = log->stats();
    CHECK(stats.records == n * kPerThread);
    CHECK(stats.syncs < stats.appends);  // fsyncs were shared
    MESSAGE("group commit, ", threads_count, " appenders: ", stats.appends, " appends, ",
            stats.syncs, " syncs, ", stats.group_commits, " shared writes");
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

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The end of bytes[from, to) once a trailing run of zeros is left off.
uint64_t NonZeroEnd(const std::string& bytes, uint64_t from, uint64_t to) {
  while (to > from && bytes[to - 1] == '\0') --to;
  return to;
}

// Builds a small log (one segment, some batches) and returns its records. Every unit is synced
// before the next is written, so every unit starts with a sync point: damage before the last
// unit is corruption, not a torn write.
Contents MakeLog(const std::string& dir, base::Random& rng, int units) {
  LogOptions o;
  o.sync = SyncPolicy::kEveryAppend;
  o.preallocate_bytes = 0;
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

// Writes `damaged` over the file at `position`.
void Overwrite(const std::string& path, uint64_t position, std::string_view damaged) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(position));
  f.write(damaged.data(), static_cast<std::streamsize>(damaged.size()));
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

TEST_CASE("Log recovery takes a hole that out-of-order writeback left for a torn tail in every mode") {
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

// A synced log of 250 records in small segments, with a batch of six at offsets 40 to 45 in the
// first segment.
// Small segments that preallocate: every append synced, over zeros written 1,000 bytes ahead.
LogOptions SmallPreallocatedSegments() {
  LogOptions o = SmallSegments();
  o.sync = SyncPolicy::kEveryAppend;
  o.preallocate_bytes = 1000;
  return o;
}

Contents MakeSegmentedLog(const std::string& dir, const LogOptions& options = SmallSegments()) {
  base::Random rng(70);
  auto log = *Log::Open(dir, options);
  Contents want;
  for (uint64_t i = 0; i < 250;) {
    const size_t n = i == 40 ? 6 : 1;
    std::vector<std::string> batch;
    for (size_t k = 0; k < n; ++k) batch.push_back(Payload(rng, i + k, 30));
    std::vector<std::string_view> views(batch.begin(), batch.end());
    KEEL_ASSERT(*log->AppendBatch(views) == i);
    for (size_t k = 0; k < n; ++k) want[i + k] = batch[k];
    i += n;
  }
  KEEL_ASSERT(log->Sync().ok());
  return want;
}

uint64_t FirstOffsetOf(const std::string& segment_name) {
  return std::stoull(segment_name.substr(0, 20));
}

// Checks that `got` is the first `got.size()` records of `all`.
void CheckPrefix(const Contents& got, const Contents& all) {
  uint64_t expect = 0;
  for (const auto& [offset, payload] : got) {
    REQUIRE(offset == expect++);
    REQUIRE(payload == all.at(offset));
  }
}

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

// A synced log of `count` records of 125 bytes each (header included), in small segments.
Contents MakeUniformLog(const std::string& dir, uint64_t count) {
  LogOptions o = SmallSegments();
  o.sync = SyncPolicy::kEveryAppend;  // every record a sync point, as in MakeLog
  o.preallocate_bytes = 0;
  auto log = *Log::Open(dir, o);
  Contents want;
  for (uint64_t i = 0; i < count; ++i) {
    want[i] = std::string(100, static_cast<char>('a' + i % 26));
    KEEL_ASSERT(*log->Append(want[i]) == i);
  }
  KEEL_ASSERT(log->Sync().ok());
  return want;
}

// The position of record `offset` in the segment starting at `first`, in a MakeUniformLog log.
uint64_t UniformPosition(uint64_t first, uint64_t offset) {
  return kSegmentHeaderBytes + (offset - first) * 125;
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

TEST_CASE("Log kPointInTime cuts at a damaged first segment header and restarts empty there") {
  testing::TempDir dir;
  MakeUniformLog(dir.path(), 100);
  {
    auto log = *Log::Open(dir.path(), SmallSegments());
    REQUIRE(*log->DropBefore(40) > 0);
  }
  const std::vector<std::string> segments = SegmentFiles(dir.path());
  const uint64_t first = FirstOffsetOf(segments[0]);
  Overwrite(dir.path() + "/" + segments[0], 12, "\x01");  // the header's flags
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

}  // namespace
}  // namespace keel::wal
