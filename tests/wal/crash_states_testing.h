// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The write-ahead log under CrashExplorer: a workload runs once on a recording file system,
// noting what the log promised as it went, and then every crash state POSIX allows at every point
// of it is recovered and checked: Open succeeds; every acknowledged record is there, at its
// offset, with its payload; every record there was written at that offset; offsets are
// contiguous (except where kSkipCorruptedRecords may leave holes); a batch is there whole or not
// at all. Shared by the log_crash_states*_test.cc files. Not installed.
//
// KEEL_CRASH_STATES sets the random states per crash point (4 by default), KEEL_TEST_SEED the seed.
#ifndef KEEL_TESTS_WAL_CRASH_STATES_TESTING_H_
#define KEEL_TESTS_WAL_CRASH_STATES_TESTING_H_

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/wal/crash_explorer.h"
#include "keel/wal/log.h"
#include "testing/testing.h"

namespace keel::wal::crash_states {

inline constexpr char kDir[] = "/wal";

// What the workload did to the log, each step stamped with the explorer's count of changes at the
// time: a crash point after `at` or more changes sees it.
struct Event {
  enum class Kind {
    kWritten,     // a record may be at `from` with `payload` (an append began)
    kBatch,       // records [from, to) were appended as one batch
    kAcked,       // the record at `from` with `payload` must survive
    kForget,      // records in [from, to) need not survive any more (a removal began)
    kInvalidate,  // records written before, at `from` or after, are gone for good (it ended)
  };
  Kind kind;
  uint64_t at;
  uint64_t from = 0;
  uint64_t to = 0;
  std::string payload;
};

// Runs operations on a log through the explorer's file system and writes down what they promise.
class Workload {
 public:
  Workload(CrashExplorer& explorer, const LogOptions& options)
      : explorer_(explorer), options_(options) {
    options_.file_system = &explorer.file_system();
    options_.clock = &clock_;
  }

  // The log's directory, made durable before the log is opened (so that only the log's own
  // steps are under test).
  void MakeDirectory() {
    REQUIRE(explorer_.file_system().CreateDir(kDir).ok());
    REQUIRE(explorer_.file_system().SyncDir("/").ok());
  }

  // Open promises that the log is durable to its end.
  void Open() {
    auto log = Log::Open(kDir, options_);
    REQUIRE_MESSAGE(log.ok(), log.status());
    log_ = *std::move(log);
    Acknowledge(log_->next_offset());
  }

  // Drops the log without syncing, as a process that exits.
  void Close() { log_.reset(); }

  void Append(size_t bytes) { AppendRaw(Payload(log_->next_offset(), bytes)); }

  void AppendBatch(size_t records, size_t bytes) {
    const uint64_t first = log_->next_offset();
    std::vector<std::string> payloads;
    for (size_t i = 0; i < records; ++i) {
      payloads.push_back(Payload(first + i, bytes + i * 7));
      Note(Event::Kind::kWritten, first + i, first + i + 1, payloads.back());
    }
    Note(Event::Kind::kBatch, first, first + records);
    const std::vector<std::string_view> views(payloads.begin(), payloads.end());
    const absl::StatusOr<uint64_t> got = log_->AppendBatch(views);
    REQUIRE_MESSAGE(got.ok(), got.status());
    REQUIRE(*got == first);
    for (size_t i = 0; i < records; ++i) held_[first + i] = payloads[i];
    Acknowledge(EveryAppend() ? first + records : 0);
  }

  // An append of exactly `payload`.
  void AppendRaw(const std::string& payload) {
    const uint64_t offset = log_->next_offset();
    Note(Event::Kind::kWritten, offset, offset + 1, payload);
    const absl::StatusOr<uint64_t> got = log_->Append(payload);
    REQUIRE_MESSAGE(got.ok(), got.status());
    REQUIRE(*got == offset);
    held_[offset] = payload;
    Acknowledge(EveryAppend() ? offset + 1 : 0);
  }

  // Sync promises every record appended so far, and so does WaitDurable up to its argument.
  void Sync() {
    const uint64_t end = log_->next_offset();
    REQUIRE(log_->Sync().ok());
    Acknowledge(end);
  }

  void WaitDurable() {
    const uint64_t end = log_->next_offset();
    REQUIRE(log_->WaitDurable(end).ok());
    Acknowledge(end);
  }

  void Advance(int64_t ns) { clock_.Advance(ns); }

  void Truncate(uint64_t end) {
    Note(Event::Kind::kForget, end, UINT64_MAX);
    const absl::Status status = log_->Truncate(end);
    REQUIRE_MESSAGE(status.ok(), status);
    Note(Event::Kind::kInvalidate, end, UINT64_MAX);
    held_.erase(held_.lower_bound(end), held_.end());
    acked_ = std::min(acked_, end);
    Acknowledge(end);  // Truncate leaves what it keeps durable
  }

  void Reset(uint64_t next) {
    Note(Event::Kind::kForget, 0, UINT64_MAX);
    const absl::Status status = log_->Reset(next);
    REQUIRE_MESSAGE(status.ok(), status);
    Note(Event::Kind::kInvalidate, 0, UINT64_MAX);
    held_.clear();
    acked_ = next;
    Acknowledge(next);
  }

  // Records before `offset` need not survive from the moment the call begins.
  void DropBefore(uint64_t offset) {
    Note(Event::Kind::kForget, 0, offset);
    REQUIRE(log_->DropBefore(offset).ok());
    Acknowledge(0);
  }

  void ApplyRetention(uint64_t max_bytes) {
    // Which segments go is known only after: the promise is withdrawn as of the call's start.
    const uint64_t before = explorer_.mutations();
    REQUIRE(log_->ApplyRetention(max_bytes, 0).ok());
    events_.push_back({Event::Kind::kForget, before, 0, log_->first_offset(), ""});
    Acknowledge(0);
  }

  // Crash points before now need not be explored: what led here (appends that fill segments) is
  // what other cases explore.
  void Focus() { focus_ = explorer_.mutations(); }
  uint64_t focus() const { return focus_; }

  Log& log() { return *log_; }
  CrashExplorer& explorer() { return explorer_; }
  // An operation that a process death (an I/O error standing for it) stops after `steps`
  // changes: records at `forget_from` or after need not survive from its start, and may hold
  // what they held or what comes after.
  void Killed(int64_t steps, uint64_t forget_from, const std::function<bool(Log&)>& operation) {
    Note(Event::Kind::kForget, forget_from, UINT64_MAX);
    explorer_.file_system().FailMutationsAfter(steps);
    const bool ok = operation(*log_);
    explorer_.file_system().FailMutationsAfter(-1);
    REQUIRE(!ok);
    acked_ = std::min(acked_, forget_from);
  }
  const std::vector<Event>& events() const { return events_; }
  const LogOptions& options() const { return options_; }

 private:
  static std::string Payload(uint64_t offset, size_t bytes) {
    std::string p = base::Cat("record ", offset, " #", ++generation_, " ");
    while (p.size() < bytes) p += static_cast<char>('a' + p.size() % 26);
    return p;
  }

  void Note(Event::Kind kind, uint64_t from, uint64_t to, std::string payload = "") {
    events_.push_back({kind, explorer_.mutations(), from, to, std::move(payload)});
  }

  bool EveryAppend() const { return options_.sync == SyncPolicy::kEveryAppend; }

  // Everything below `promised` (what the call that just returned promised, by its contract) is
  // required from now on, and so is everything below durable_offset(), which promises as much.
  // The two are kept apart so that a durable_offset() lagging behind the calls' promises cannot
  // make the test require less than the log promised.
  void Acknowledge(uint64_t promised) {
    CHECK(log_->durable_offset() >= promised);
    const uint64_t durable = std::max(promised, log_->durable_offset());
    for (auto it = held_.lower_bound(acked_); it != held_.end() && it->first < durable; ++it) {
      Note(Event::Kind::kAcked, it->first, it->first + 1, it->second);
    }
    acked_ = std::max(acked_, durable);
  }

  static inline uint64_t generation_ = 0;
  CrashExplorer& explorer_;
  LogOptions options_;
  base::ManualClock clock_{1'000'000'000};
  std::unique_ptr<Log> log_;
  std::vector<Event> events_;
  std::map<uint64_t, std::string> held_;  // what the log holds now
  uint64_t acked_ = 0;                    // held_ below this has been acknowledged
  uint64_t focus_ = 0;
};

// What a crash after `mutations` changes must keep and may keep.
struct Expectation {
  std::map<uint64_t, std::string> required;
  std::map<uint64_t, std::set<std::string>> allowed;
  std::map<uint64_t, uint64_t> batches;  // first -> end, not since cut by a truncation or reset
};

inline Expectation ExpectationAt(const std::vector<Event>& events, uint64_t mutations) {
  Expectation e;
  for (const Event& event : events) {
    if (event.at > mutations) continue;
    switch (event.kind) {
      case Event::Kind::kWritten:
        e.allowed[event.from].insert(event.payload);
        break;
      case Event::Kind::kBatch:
        e.batches[event.from] = event.to;
        break;
      case Event::Kind::kAcked:
        e.required[event.from] = event.payload;
        break;
      case Event::Kind::kForget:
        e.required.erase(e.required.lower_bound(event.from), e.required.lower_bound(event.to));
        std::erase_if(e.batches,
                      [&](const auto& b) { return b.first < event.to && b.second > event.from; });
        break;
      case Event::Kind::kInvalidate:
        e.allowed.erase(e.allowed.lower_bound(event.from), e.allowed.end());
        break;
    }
  }
  return e;
}

// The files in the log's directory and their sizes, for a failure message.
inline std::string Files(FileSystem& fs) {
  const auto names = fs.List(kDir);
  if (!names.ok()) return base::Cat("no ", kDir, " (", names.status().ToString(), ")");
  std::string out;
  for (const std::string& name : *names) {
    auto file = fs.Open(base::Cat(kDir, "/", name), OpenMode::kExisting);
    out = base::Cat(out, out.empty() ? "" : ", ", name, " (",
                    file.ok() ? base::Cat((*file)->size()) : "?", ")");
  }
  return out;
}

// Opens the log in `crashed` with `mode` and checks it against what the workload promised.
inline absl::Status CheckLog(FileSystem& crashed, const CrashPoint& point, const Workload& workload,
                             RecoveryMode mode) {
  const std::string files = Files(crashed);
  LogOptions options = workload.options();
  options.file_system = &crashed;
  options.recovery = mode;
  const base::ManualClock clock(2'000'000'000'000);
  options.clock = &clock;
  RecoveryReport report;
  absl::StatusOr<std::unique_ptr<Log>> opened = Log::Open(kDir, options, &report);
  if (!opened.ok()) {
    return absl::Status(opened.status().code(),
                        base::Cat("Open: ", opened.status().message(), " [files: ", files, "]"));
  }
  Log& log = **opened;
  const Expectation e = ExpectationAt(workload.events(), point.mutations);
  const auto fail = [&](std::string what) {
    std::string events;
    for (const std::string& line : report.events) events = base::Cat(events, "; ", line);
    return absl::DataLossError(base::Cat(what, " [files: ", files, "] [recovery", events, "]"));
  };
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<LogReader> reader, log.NewReader(log.first_offset()));
  std::map<uint64_t, std::string> got;
  uint64_t expect = log.first_offset();
  while (true) {
    absl::StatusOr<std::optional<RecordView>> next = reader->Next();
    if (!next.ok()) return fail(base::Cat("reading: ", next.status().ToString()));
    if (!next->has_value()) break;
    const RecordView& record = **next;
    if (mode != RecoveryMode::kSkipCorruptedRecords && record.offset != expect) {
      return fail(base::Cat("offset ", record.offset, " follows ", expect, " - 1"));
    }
    expect = record.offset + 1;
    const auto allowed = e.allowed.find(record.offset);
    if (allowed == e.allowed.end() || !allowed->second.contains(std::string(record.payload))) {
      return fail(base::Cat("record ", record.offset, " holds ", base::Quoted(record.payload),
                            ", which was never written there"));
    }
    got[record.offset] = std::string(record.payload);
  }
  for (const auto& [offset, payload] : e.required) {
    const auto it = got.find(offset);
    if (it == got.end()) {
      return fail(base::Cat("acknowledged record ", offset, " is missing (the log holds [",
                            log.first_offset(), ", ", log.next_offset(), "))"));
    }
    if (it->second != payload) return fail(base::Cat("acknowledged record ", offset, " changed"));
  }
  for (const auto& [first, end] : e.batches) {
    const size_t present = static_cast<size_t>(std::count_if(
        got.lower_bound(first), got.lower_bound(end), [](const auto&) { return true; }));
    // A batch is all there or not at all (retention removes whole segments, and a batch never
    // spans two).
    if (present > 0 && present != end - first) {
      return fail(
          base::Cat("batch [", first, ", ", end, ") is there in part: ", present, " records"));
    }
  }
  return absl::OkStatus();
}

inline constexpr RecoveryMode kDefault = RecoveryMode::kTolerateCorruptedTail;
inline constexpr RecoveryMode kPointInTime = RecoveryMode::kPointInTime;
inline constexpr RecoveryMode kSkip = RecoveryMode::kSkipCorruptedRecords;

// Runs `workload` once on a fresh explorer (the log open in its directory, which is made durable
// first unless `new_directory`), then explores every crash state of it from the point
// Workload::Focus() marked (the start by default), recovering in each of `modes`, and fails the
// test (printing each failed state) if any state fails.
inline void Explore(const LogOptions& options, std::initializer_list<RecoveryMode> modes,
                    const std::function<void(Workload&)>& workload, bool new_directory = false) {
  CrashExplorer explorer;
  Workload w(explorer, options);
  if (!new_directory) w.MakeDirectory();
  w.Open();
  workload(w);
  CrashExplorerOptions explorer_options;
  explorer_options.seed = keel::testing::TestSeed(101);
  explorer_options.first_point = w.focus();
  CAPTURE(explorer_options.seed);
  for (const RecoveryMode mode : modes) {
    CAPTURE(static_cast<int>(mode));
    const absl::StatusOr<CrashExploration> result =
        explorer.Explore([&](FileSystem& crashed,
                             const CrashPoint& point) { return CheckLog(crashed, point, w, mode); },
                         explorer_options);
    REQUIRE_MESSAGE(result.ok(), result.status());
    MESSAGE(result->Summary().substr(0, result->Summary().find('\n')));
    CHECK_MESSAGE(result->failures.empty(), result->Summary());
    CHECK(result->complete);
  }
}

// 16 KiB segments: four pages each, so that unsynced pages of one segment can reach the disk out
// of order (a 4 KiB segment is one page).
inline LogOptions Small(SyncPolicy sync, uint64_t preallocate_bytes) {
  LogOptions o;
  o.sync = sync;
  o.max_segment_bytes = 16384;
  o.max_record_bytes = 2048;
  o.index_interval_bytes = 1024;
  o.preallocate_bytes = preallocate_bytes;
  return o;
}

// Appends of varied sizes (some longer than a page) and batches (some across pages), enough to
// roll a few segments, with a close and a reopen part-way. With `explicit_syncs`, a Sync or a
// WaitDurable every other append.
inline void AppendsAndRolls(Workload& w, bool explicit_syncs) {
  base::Random random(7);
  for (int i = 0; i < 60; ++i) {
    if (i % 5 == 3) {
      w.AppendBatch(2 + random.Uniform(6), 100 + random.Uniform(900));
    } else {
      w.Append(20 + random.Uniform(i % 7 == 0 ? 2000 : 500));
    }
    if (explicit_syncs && i % 4 == 1) w.Sync();
    if (explicit_syncs && i % 4 == 3) w.WaitDurable();
    if (i == 30) {
      w.Close();
      w.Open();
    }
  }
}

inline void Appends(Workload& w) { AppendsAndRolls(w, /*explicit_syncs=*/false); }
inline void AppendsAndSyncs(Workload& w) { AppendsAndRolls(w, /*explicit_syncs=*/true); }

// A log of several segments of records of 900 bytes, with a batch of three every nine records.
inline void FillSegments(Workload& w, int records) {
  for (int i = 0; i < records; ++i) {
    if (i % 9 == 4) {
      w.AppendBatch(3, 400);
    } else {
      w.Append(900);
    }
  }
}

// Truncate removes the later segments newest first, with a directory sync after each.
inline void TruncateSeveralSegments(Workload& w) {
  FillSegments(w, 50);
  REQUIRE(w.log().stats().segments >= 4);
  w.Focus();
  w.Truncate(10);
  w.Append(100);
}

// DropBefore removes the old segments oldest first, with a directory sync after each.
inline void DropSeveralSegments(Workload& w) {
  FillSegments(w, 60);
  REQUIRE(w.log().stats().segments >= 4);
  w.Focus();
  w.DropBefore(w.log().next_offset() - 2);  // all but the active segment
  w.Append(100);
}

inline const LogOptions kPreallocated = Small(SyncPolicy::kEveryAppend, 3000);
// Without preallocation the pages of an unsynced write may still land in any order: a record can
// be missing with later ones intact. kNone never preallocates.
inline const LogOptions kNotPreallocated = Small(SyncPolicy::kEveryAppend, 0);
inline const LogOptions kNoSyncs = Small(SyncPolicy::kNone, 0);

// The size of the active (last) segment file, through the explorer's file system.
inline uint64_t ActiveSegmentSize(Workload& w) {
  FileSystem& fs = w.explorer().file_system();
  const auto names = fs.List(kDir);
  REQUIRE(names.ok());
  std::string last;
  for (const std::string& name : *names) {
    if (name.size() == 24 && name.substr(20) == ".wal") last = std::max(last, name);
  }
  auto file = fs.Open(base::Cat(kDir, "/", last), OpenMode::kExisting);
  REQUIRE(file.ok());
  return (*file)->size();
}

}  // namespace keel::wal::crash_states

#endif  // KEEL_TESTS_WAL_CRASH_STATES_TESTING_H_
