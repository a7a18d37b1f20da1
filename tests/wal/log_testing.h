// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What the write-ahead log's tests share: the oracle (a map from offset to payload), logs built
// to a known shape, and reading a log or its files back. Not installed.
#ifndef KEEL_TESTS_WAL_LOG_TESTING_H_
#define KEEL_TESTS_WAL_LOG_TESTING_H_

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "keel/base/assert.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/wal/log.h"

namespace keel::wal::log_testing {

namespace fs = std::filesystem;

// The oracle: what the log should hold, offset by offset.
using Contents = std::map<uint64_t, std::string>;

inline std::string Payload(base::Random& rng, uint64_t offset, size_t max_bytes = 300) {
  std::string p = absl::StrFormat("record %d:", offset);
  const size_t extra = static_cast<size_t>(rng.Uniform(max_bytes));
  for (size_t i = 0; i < extra; ++i) p.push_back(static_cast<char>('a' + rng.Uniform(26)));
  return p;
}

// Every record from `from` to the current end.
inline Contents ReadAll(const Log& log, uint64_t from) {
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

inline LogOptions SmallSegments() {
  LogOptions o;
  o.max_segment_bytes = 4096;
  o.max_record_bytes = 1024;
  o.index_interval_bytes = 256;
  o.sync = SyncPolicy::kNone;
  return o;
}

inline std::string FileName(uint64_t first, const char* suffix) {
  return absl::StrFormat("%020d%s", first, suffix);
}

inline std::vector<std::string> SegmentFiles(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (absl::EndsWith(name, ".wal")) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The end of bytes[from, to) once a trailing run of zeros is left off.
inline uint64_t NonZeroEnd(const std::string& bytes, uint64_t from, uint64_t to) {
  while (to > from && bytes[to - 1] == '\0') --to;
  return to;
}

// Builds a small log (one segment, some batches) and returns its records. Every unit is synced
// before the next is written, so every unit starts with a sync point: damage before the last
// unit is corruption, not a torn write.
inline Contents MakeLog(const std::string& dir, base::Random& rng, int units) {
  // A fixed clock and salt: the same seed writes the same bytes, so a failing cut reproduces.
  const base::ManualClock clock(1'700'000'000'000'000'000);
  LogOptions o;
  o.sync = SyncPolicy::kEveryAppend;
  o.preallocate_bytes = 0;
  o.clock = &clock;
  o.salt = static_cast<uint32_t>(rng.Next());
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

// Writes `damaged` over the file at `position`.
inline void Overwrite(const std::string& path, uint64_t position, std::string_view damaged) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(position));
  f.write(damaged.data(), static_cast<std::streamsize>(damaged.size()));
}

// Small segments that preallocate: every append synced, over zeros written 1,000 bytes ahead.
inline LogOptions SmallPreallocatedSegments() {
  LogOptions o = SmallSegments();
  o.sync = SyncPolicy::kEveryAppend;
  o.preallocate_bytes = 1000;
  return o;
}

// A synced log of 250 records in small segments, with a batch of six at offsets 40 to 45 in the
// first segment.
inline Contents MakeSegmentedLog(const std::string& dir,
                                 const LogOptions& options = SmallSegments()) {
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

inline uint64_t FirstOffsetOf(const std::string& segment_name) {
  return std::stoull(segment_name.substr(0, 20));
}

// Checks that `got` is the first `got.size()` records of `all`.
inline void CheckPrefix(const Contents& got, const Contents& all) {
  uint64_t expect = 0;
  for (const auto& [offset, payload] : got) {
    REQUIRE(offset == expect++);
    REQUIRE(payload == all.at(offset));
  }
}

// A synced log of `count` records of 125 bytes each (header included), in small segments.
inline Contents MakeUniformLog(const std::string& dir, uint64_t count) {
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
inline uint64_t UniformPosition(uint64_t first, uint64_t offset) {
  return kSegmentHeaderBytes + (offset - first) * 125;
}

}  // namespace keel::wal::log_testing

#endif  // KEEL_TESTS_WAL_LOG_TESTING_H_
