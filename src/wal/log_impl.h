// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// LogImpl: the machinery behind keel::wal::Log (keel/wal/log.h has the contract). Its work is
// spread over files by concern:
//
//   group_commit.cc   appending: the writers' queue, group commit, syncing, waiting for durability
//   segments.cc       the active segment: writing at its end, preallocation, rolling, index files
//   truncation.cc     Truncate, Reset, and removing segments (DropBefore, retention)
//   recovery.cc       Open: finishing an interrupted Truncate or Reset, checking every segment
//   scan.cc           reading a segment's records during recovery: torn tails and damage
//   reader.cc         LogReader
//
// Internal to keel/wal.
#ifndef KEEL_SRC_WAL_LOG_IMPL_H_
#define KEEL_SRC_WAL_LOG_IMPL_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/base/clock.h"
#include "keel/wal/file_system.h"
#include "keel/wal/log.h"
#include "record.h"
#include "segment.h"

namespace keel::wal::internal {

// One caller's records on their way into the log (see LogImpl::Submit).
struct Writer;
enum class WriterState : uint8_t { kQueued, kDone, kLeads };

// Where Truncate cuts: the segment's new size and, when the cut falls inside a batch, the new
// header of the last record kept, which ends the batch there.
struct TruncationPlan {
  uint64_t end_offset = 0;  // the log's new next offset
  TruncationIntent cut;     // rewritten_header is empty when no header is rewritten
};

// What recovery did with a segment: kept it as it was or repaired; kept what comes before damage
// (kPointInTime), so that every later segment goes; or dropped it, and every later one with it.
enum class SegmentFate { kKept, kCut, kDropped };

class LogImpl {
 public:
  LogImpl(std::string dir, const LogOptions& options, FileSystem& fs, const base::Clock& clock);
  LogImpl(const LogImpl&) = delete;
  LogImpl& operator=(const LogImpl&) = delete;
  ~LogImpl();

  // Log's methods; see keel/wal/log.h.
  absl::Status Recover(RecoveryReport* report);
  absl::StatusOr<uint64_t> Submit(std::span<const std::string_view> payloads);
  absl::Status Sync();
  absl::Status SyncIfDue();
  absl::Status WaitDurable(uint64_t offset);
  uint64_t first_offset() const;
  uint64_t next_offset() const;
  uint64_t durable_offset() const;
  absl::StatusOr<std::unique_ptr<LogReader>> NewReader(uint64_t from) const;
  absl::Status Truncate(uint64_t end_offset);
  absl::Status Reset(uint64_t next_offset);
  absl::StatusOr<uint64_t> DropBefore(uint64_t offset);
  absl::StatusOr<size_t> ApplyRetention(uint64_t max_bytes, int64_t max_age_ns, uint64_t keep_from);
  LogStats stats() const;
  uint64_t size_bytes() const;
  const std::string& dir() const { return dir_; }
  const LogOptions& options() const { return options_; }

 private:
  friend class LogReaderImpl;

  // Recovery (recovery.cc, scan.cc).
  absl::Status FinishReset(const std::vector<uint64_t>& segments, RecoveryReport* report);
  absl::Status FinishTruncation(const std::vector<uint64_t>& segments, RecoveryReport* report);
  absl::StatusOr<SegmentFate> RecoverSegment(uint64_t first_offset, bool is_last,
                                             RecoveryReport* report);
  absl::StatusOr<uint64_t> CountIntactRecords(uint64_t first_offset);

  // Group commit (group_commit.cc).
  WriterState WaitForTurn(const Writer& w);
  WriterState WaitForTurn(const Writer& w, std::chrono::steady_clock::time_point deadline);
  uint64_t QueuedBytes() const;
  absl::Status WriteGroup(std::span<Writer* const> group, bool sync, bool durable_before);
  absl::Status SyncActive();

  // The active segment and index files (segments.cc).
  bool Preallocates() const;
  absl::Status WriteAtEnd(Segment& segment, std::string_view bytes);
  absl::Status TrimPreallocated(Segment& segment);
  absl::Status RollSegment(uint64_t first_offset);
  absl::StatusOr<std::shared_ptr<Segment>> CreateSegment(uint64_t first_offset);
  absl::StatusOr<std::unique_ptr<File>> CreateSegmentFile(const std::string& path,
                                                          uint64_t first_offset);
  absl::Status WriteIndexFile(uint64_t first_offset, const SegmentIndex& index);

  // Truncation and removal (truncation.cc).
  absl::StatusOr<std::shared_ptr<Segment>> ResetFiles(const std::vector<uint64_t>& old,
                                                      uint64_t next_offset);
  absl::StatusOr<TruncationPlan> PlanTruncation(const Segment& segment, uint64_t end_offset) const;
  absl::Status TruncateFiles(const Segment& segment, const std::vector<uint64_t>& later,
                             const TruncationPlan& plan);
  absl::Status CutSegment(File& file, const std::vector<uint64_t>& later,
                          const TruncationPlan& plan);
  absl::Status RemoveSegment(uint64_t first_offset);
  absl::Status RemovalAllowed() const;
  void NoteTruncation(uint64_t end_offset);
  uint64_t LowestEndSince(uint64_t truncations) const;
  absl::Status RemoveSegmentFiles(uint64_t first_offset);

  // Files and syncs (segments.cc).
  absl::Status SyncFile(File& file);
  absl::Status SyncDirectory();
  absl::Status RemoveIfExists(const std::string& name);
  std::string PathOf(std::string_view name) const;
  std::shared_ptr<Segment> NextSegment(uint64_t after_first_offset) const;
  // The error a write refused after an earlier write error returns. REQUIRES: mu_ held.
  absl::Status Broken() const;

  const std::string dir_;
  const LogOptions options_;
  FileSystem& fs_;
  const base::Clock& clock_;
  std::unique_ptr<FileLock> lock_;  // held while the log is open

  // write_mu_ is held by whoever touches the files' contents or the set of segments: the leader
  // of a write group, Sync, Truncate, and the segment droppers. Taken before mu_.
  std::mutex write_mu_;
  // mu_ guards everything below. A writer holds it only to take its place in the queue and to
  // publish results; the group's write and sync happen outside it, by the writer at the front
  // of the queue (the leader), while the others wait.
  mutable std::mutex mu_;
  std::condition_variable durable_cv_;
  size_t durable_waiters_ = 0;  // threads in WaitDurable waiting on durable_cv_
  std::deque<Writer*> queue_;
  // Bumped (and waited on) whenever queued writers' states change: a group is done, a new leader.
  std::atomic<uint32_t> wake_epoch_{0};
  // Group commit's gathering (see Submit): the leader waiting for its group (null when none
  // waits), the queue length it wants (SIZE_MAX when none waits), and the last synced group's
  // size and fsync time.
  Writer* gatherer_ = nullptr;
  size_t gather_target_ = SIZE_MAX;
  size_t last_group_size_ = 1;
  int64_t last_sync_duration_ns_ = 0;
  std::map<uint64_t, std::shared_ptr<Segment>> segments_;  // by first offset
  uint64_t next_offset_ = 0;                               // the offset the next record gets
  uint64_t written_offset_ = 0;                            // records before this are in the files
  uint64_t durable_offset_ = 0;                            // records before this are synced
  int64_t last_sync_ns_ = 0;
  absl::Status broken_;       // set by an I/O error in a write, Truncate or Reset: the log
                              // refuses writes, since what reached the disk is unknown
  uint64_t truncations_ = 0;  // bumped by Truncate and Reset, so that readers notice
  // The latest truncations: (truncations_ after it, the log's end after it; 0 for a Reset), so
  // that a reader can tell whether any of those since it last looked removed its position.
  static constexpr size_t kTruncationHistory = 64;
  std::deque<std::pair<uint64_t, uint64_t>> truncation_ends_;
  bool change_unfinished_ = false;  // a Truncate or Reset failed part-way (see RemovalAllowed)
  uint64_t skipped_offsets_ = 0;    // offsets lost to kSkipCorruptedRecords, for the report
  // The salt of the active segment, which new records are checksummed with and new segments get:
  // chosen at random when Open creates the log, read from the last segment when it recovers one.
  uint32_t salt_ = 0;
  LogStats stats_;
};

// LogReader's machinery (reader.cc).
class LogReaderImpl {
 public:
  LogReaderImpl(const LogImpl& log, std::shared_ptr<Segment> segment, uint64_t file_position,
                uint64_t next_offset, uint64_t truncations);

  absl::StatusOr<std::optional<RecordView>> Next();
  uint64_t position() const { return next_offset_; }

  // Steps back before the record Next() just returned, so that it is returned again.
  void Unread(const RecordView& record);

 private:
  // The bytes [pos, pos + n) of the segment, through the read-ahead buffer; all within `visible`.
  absl::StatusOr<const char*> Fetch(uint64_t pos, size_t n, uint64_t visible);

  const LogImpl& log_;
  std::shared_ptr<Segment> segment_;
  uint64_t file_position_;
  uint64_t next_offset_;
  uint64_t truncations_;  // the log's count when this reader last checked
  std::string buffer_;    // read-ahead: bytes [buffer_start_, buffer_start_ + size) of the file
  uint64_t buffer_start_ = 0;
};

}  // namespace keel::wal::internal

#endif  // KEEL_SRC_WAL_LOG_IMPL_H_
