// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Log: a write-ahead log. Records are appended to the end of a directory of segment files, each
// record gets a 64-bit offset (its log sequence number, counting up from 0), and anything appended
// can be read back in order from any offset. It is what the message queue's partitions, the
// digital wallet's event log, the exchange's sequencer and Raft's log are built on.
//
// Durability. A record survives a crash once it is synced to disk. Each log chooses when:
//
//   SyncPolicy::kEveryAppend   Append returns once the record is durable. Concurrent appenders
//                              share fsyncs (group commit): while one thread writes and syncs,
//                              the others queue, and the next sync covers all of them.
//   SyncPolicy::kInterval      Append syncs only when the last sync is older than
//                              sync_interval_ns, so a crash loses at most that much of a steady
//                              stream (SyncIfDue() from a timer bounds it when appends stop).
//   SyncPolicy::kNone          Append never syncs; Sync() does.
//
// durable_offset() tells how far the log is durable; WaitDurable() blocks until an offset is.
//
// Format. Each record carries a CRC32C (masked) over its length, type, offset, timestamp and
// payload; docs/wal_format.md gives the grammar. Segments roll at max_segment_bytes and are named
// by the offset of their first record; the directory is synced after every creation, removal and
// rename that recovery relies on (the log's own directory included, when Open creates it, by a
// sync of its parent). A sealed segment gets a sparse index file (an entry every
// index_interval_bytes), so that reading from any offset starts near it instead of scanning the
// segment.
//
// Recovery. Open() checks the log. A crash damages only what was written since the last sync, at
// the end of the last segment, but POSIX lets unsynced writes reach the disk in any order, so it
// can leave a hole with intact records after it. The first record written after each sync is
// marked as a sync point, and damage in the last segment is a torn write from a crash unless a
// sync point follows it: the incomplete records (or batch) and everything after are cut off and
// reported. Any other damage is corruption, and what happens depends on the recovery mode
// (RocksDB's WALRecoveryMode):
//
//   kTolerateCorruptedTail   (default) a torn tail is cut; corruption anywhere else is an error.
//   kAbsoluteConsistency     any damage, a torn tail included, is an error.
//   kPointInTime             the log is cut at the first damage Open finds, wherever it is, and
//                            everything after it is dropped: a consistent prefix, possibly shorter,
//                            possibly empty (a damaged header on the first segment leaves an empty
//                            log that starts at the offset in that segment's file name).
//   kSkipCorruptedRecords    damaged records are skipped and the rest kept; their offsets are
//                            missing from the log, as are those of a missing segment.
//
// What Open reads. Open reads the active (last) segment whole, and every sealed segment whose
// index file is missing, damaged or stale. A sealed segment with a valid index is trusted unread:
// reading every segment (up to 16 GiB each) at every Open would make opening as slow as reading
// the whole log. So damage that strikes a sealed, indexed segment after it was sealed (bit rot, a
// stray write) is not found by Open in any mode; a reader that reaches it gets kDataLoss.
// kSkipCorruptedRecords leaves the damaged bytes in place and gives a segment that has some no
// index, so that every later Open scans it again and skips the same ranges (and an Open in a
// stricter mode finds the damage again).
//
// What is promised. A crash damages only what was appended after the last sync, so a torn tail
// holds only records that were never acknowledged as durable, and cutting it never removes one
// that was; nor does a crash part-way through Truncate or Reset (see there). Damage to bytes that
// were already durable (bit rot, a stray write, a lost file) is not a crash's doing, and each mode
// treats it as it says above, which may drop durable records: kPointInTime everything after it,
// kSkipCorruptedRecords the damaged records, and, since damage to the log's very last record
// cannot be told from a torn write, the default mode that record (only kAbsoluteConsistency
// refuses it). Likewise damage to synced bytes after the last sync point, which nothing proves
// were synced: under kEveryAppend at most the last group of appends.
//
// Example:
//
//   keel::wal::LogOptions options;
//   options.sync = keel::wal::SyncPolicy::kEveryAppend;
//   KEEL_ASSIGN_OR_RETURN(std::unique_ptr<keel::wal::Log> log,
//                         keel::wal::Log::Open("/var/lib/app/wal", options));
//   KEEL_ASSIGN_OR_RETURN(uint64_t offset, log->Append("order 42 filled"));  // durable now
//   KEEL_ASSIGN_OR_RETURN(auto reader, log->NewReader(/*from=*/0));
//   while (true) {
//     KEEL_ASSIGN_OR_RETURN(std::optional<keel::wal::RecordView> record, reader->Next());
//     if (!record) break;  // the end, for now
//     Apply(record->offset, record->payload);
//   }
//
// Thread safety: every method may be called from several threads at once, except that Truncate
// and Reset must not overlap appends (see there). Appends from several threads are ordered by the
// offsets they get. A reader belongs to one thread at a time; one that reads while Truncate or
// Reset is changing the records it reads may fail (kDataLoss) and must then be recreated.
#ifndef KEEL_WAL_LOG_H_
#define KEEL_WAL_LOG_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/base/clock.h"
#include "keel/wal/file_system.h"
#include "keel/wal/format.h"

namespace keel::wal {

enum class SyncPolicy { kNone, kInterval, kEveryAppend };

enum class RecoveryMode {
  kTolerateCorruptedTail,
  kAbsoluteConsistency,
  kPointInTime,
  kSkipCorruptedRecords,
};

struct LogOptions {
  SyncPolicy sync = SyncPolicy::kEveryAppend;
  // kInterval: the most time an appended record may stay unsynced. Must be > 0.
  int64_t sync_interval_ns = 10 * base::kNanosPerMilli;
  // A segment is closed and a new one started before it would grow past this. At least 4 KiB,
  // at most kMaxSegmentBytesLimit.
  uint64_t max_segment_bytes = 64 << 20;
  // The largest payload accepted. At least 1, at most kMaxRecordBytesLimit, and a record must fit
  // in a segment.
  uint32_t max_record_bytes = 16 << 20;
  // The most records one AppendBatch may hold. At least 1.
  uint32_t max_batch_records = 1 << 16;
  // A sparse index entry every this many bytes of a segment. At least 64.
  uint32_t index_interval_bytes = 4096;
  // When the log syncs (kEveryAppend or kInterval), the active segment's file is kept ahead of
  // its records by writing zeros this many bytes at a time (never past max_segment_bytes), and
  // records overwrite them. An fdatasync after an append must also commit the file's new size
  // to the file system's journal; after an overwrite it only flushes the data (docs/benchmarks.md
  // has what that saves). The zeros are trimmed when
  // the segment seals or the log reopens. 0 turns this off; kNone never preallocates, since it
  // has no fsyncs to save and the zeros would double what it writes.
  uint64_t preallocate_bytes = 1 << 20;
  RecoveryMode recovery = RecoveryMode::kTolerateCorruptedTail;
  // Where the files live; the operating system's when null. Must outlive the log.
  FileSystem* file_system = nullptr;
  // Stamps each record's timestamp and ages segments for retention; SystemClock when null. Must
  // outlive the log.
  const base::Clock* clock = nullptr;
  // Mixed into the CRC of every record in a segment this Open creates from nothing, so that
  // records an earlier life of the log left in reused space never pass for its own. Drawn at
  // random when unset; tests fix it so that a seed reproduces a run byte for byte.
  std::optional<uint32_t> salt;
};

// What Open() found and did.
struct RecoveryReport {
  size_t segments = 0;              // segment files in the log after recovery
  uint64_t records = 0;             // records in the log after recovery
  uint64_t torn_tail_bytes = 0;     // bytes cut from the end as an incomplete write, up to the
                                    // last non-zero byte (zeros after it may be preallocated)
  uint64_t dropped_records = 0;     // intact records dropped after damage, in every segment
                                    // from the damage on (kPointInTime)
  uint64_t skipped_bytes = 0;       // damaged bytes skipped over (kSkipCorruptedRecords)
  size_t rebuilt_indexes = 0;       // sparse index files rebuilt from their segment
  std::vector<std::string> events;  // one line per thing found or done, for logs
};

// A record as a reader returns it. The payload is valid until the reader's next call.
struct RecordView {
  uint64_t offset = 0;
  int64_t timestamp_ns = 0;
  std::string_view payload;
};

struct LogStats {
  uint64_t appends = 0;        // Append and AppendBatch calls
  uint64_t records = 0;        // records appended
  uint64_t bytes = 0;          // bytes written, headers included
  uint64_t syncs = 0;          // fsyncs of files and of the directory, Open's included: one per
                               // group commit or Sync(), four per roll (old segment, its index,
                               // new segment, directory)
  uint64_t group_commits = 0;  // writes that carried more than one caller's records
  size_t segments = 0;
};

class LogReader;
namespace internal {
class LogImpl;
class LogReaderImpl;
}  // namespace internal

class Log {
 public:
  // Opens the log in `dir`, creating the directory and an empty log if there is none, and
  // recovering as described above. The directory stays locked (its LOCK file) until the log is
  // destroyed. Errors: kInvalidArgument for bad options; kUnavailable while another Log, in this
  // process or another, has the directory open; kFailedPrecondition
  // for a directory with files that are not a keel log's; kDataLoss for damage the recovery mode
  // does not repair (naming the file, the position and the offsets); I/O errors.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Log>> Open(const std::string& dir,
                                                                 const LogOptions& options,
                                                                 RecoveryReport* report = nullptr);

  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;
  // Does not sync: what the sync policy has not made durable may be lost, as in a crash. Call
  // Sync() first to keep it.
  ~Log();

  // Appends one record and returns its offset; with kEveryAppend, once it is durable. Errors:
  // kInvalidArgument for a payload over max_record_bytes (the log is unchanged);
  // kResourceExhausted when the offsets are used up (the record would get 2^64 - 1 or more; only
  // after a Reset to near the end); I/O errors, after which the log refuses further writes
  // (kFailedPrecondition) until reopened, because what reached the disk is unknown.
  [[nodiscard]] absl::StatusOr<uint64_t> Append(std::string_view payload);

  // Appends records that are recovered all together or not at all, in one write; returns the
  // offset of the first. Errors as Append, and kInvalidArgument for an empty batch, one of more
  // than max_batch_records records, or one too large for a segment.
  [[nodiscard]] absl::StatusOr<uint64_t> AppendBatch(std::span<const std::string_view> payloads);

  // Makes every record appended so far durable.
  [[nodiscard]] absl::Status Sync();

  // With SyncPolicy::kInterval: syncs if records older than sync_interval_ns are unsynced. An
  // append checks this itself; call it from a timer to bound the loss when appends stop.
  [[nodiscard]] absl::Status SyncIfDue();

  // Blocks until every record before `offset` is durable (syncing if no one else will). Errors:
  // kOutOfRange for an offset past next_offset; kFailedPrecondition when a Truncate or Reset
  // removes records before `offset` while it waits (they will never be durable); the write error
  // of a failed write.
  [[nodiscard]] absl::Status WaitDurable(uint64_t offset);

  // The offset of the oldest record kept, the one the next append gets, and the end of the
  // durable prefix: records in [first_offset, durable_offset) survive a crash.
  [[nodiscard]] uint64_t first_offset() const;
  [[nodiscard]] uint64_t next_offset() const;
  [[nodiscard]] uint64_t durable_offset() const;

  // A reader positioned at `from`, which sees records appended after it was created as well.
  // Errors: kOutOfRange for `from` outside [first_offset, next_offset].
  [[nodiscard]] absl::StatusOr<std::unique_ptr<LogReader>> NewReader(uint64_t from) const;

  // Removes every record at `end_offset` or after, durably: the log ends there (Raft replaces a
  // conflicting suffix this way; "truncate after x" is Truncate(x + 1)). If `end_offset` is one of
  // a run of offsets that kSkipCorruptedRecords found missing, the log ends where the run starts.
  // A crash part-way leaves the log truncated, or as it was minus some of its newest segments;
  // never without a record before `end_offset`. Readers positioned past the new end fail with
  // kFailedPrecondition and must be recreated, even after appends have refilled the log past it
  // (they returned records that are gone). Truncation and appends must not overlap: an append
  // that begins while Truncate runs was given an offset past the new end. Errors: kOutOfRange for
  // `end_offset` outside [first_offset, next_offset]; kFailedPrecondition while appends are
  // queued (which catches some overlaps, not all); kDataLoss when a record it must read to find
  // the cut is damaged; I/O errors. After any error but the first two the log refuses writes and
  // segment removals (kFailedPrecondition) until reopened, and the next Open finishes the
  // truncation or leaves the log as a crash would have.
  [[nodiscard]] absl::Status Truncate(uint64_t end_offset);

  // Removes every record, durably, and restarts the log empty with `next_offset` as the offset of
  // its next record: a replica that fell behind its leader's retention starts over where the
  // leader's log begins, and Raft does the same when it installs a snapshot. Any offset is
  // allowed. A crash part-way leaves the log either as it was or empty at `next_offset`: the new
  // segment is written and synced under another name before any old segment goes, and Open
  // finishes a reset it finds under way. Readers fail with kFailedPrecondition and must be
  // recreated. Like Truncate, Reset must not overlap appends. Errors: kFailedPrecondition while
  // appends are queued; I/O errors, after which the log refuses writes and segment removals until
  // reopened.
  [[nodiscard]] absl::Status Reset(uint64_t next_offset);

  // Deletes whole segments all of whose records are before `offset` (the active segment is
  // always kept). Returns the new first_offset. This and ApplyRetention still work after an
  // append's write error has made the log refuse writes (deleting a prefix cannot lose a record
  // after it), but not after a Truncate or Reset failed part-way (kFailedPrecondition): the plan
  // it left on disk may name a segment that the next Open must find.
  [[nodiscard]] absl::StatusOr<uint64_t> DropBefore(uint64_t offset);

  // Retention: deletes the oldest segments while the log holds more than `max_bytes`, and every
  // segment whose newest record is older than `max_age_ns` (by the options' clock). Either limit
  // may be 0 for none. The active segment is always kept, and so is every segment with a record
  // at `keep_from` or after (a replicated log passes the offset its followers still need).
  // Returns how many segments went.
  [[nodiscard]] absl::StatusOr<size_t> ApplyRetention(
      uint64_t max_bytes, int64_t max_age_ns,
      uint64_t keep_from = std::numeric_limits<uint64_t>::max());

  [[nodiscard]] LogStats stats() const;
  [[nodiscard]] uint64_t size_bytes() const;
  [[nodiscard]] const std::string& dir() const;
  [[nodiscard]] const LogOptions& options() const;

 private:
  friend class internal::LogImpl;
  explicit Log(std::unique_ptr<internal::LogImpl> impl);

  std::unique_ptr<internal::LogImpl> impl_;
};

// Reads records in offset order. Next() returns nullopt at the current end of the log; later calls
// return records appended since.
class LogReader {
 public:
  // The next record, or nullopt at the end. Errors: kDataLoss for a damaged record (naming the
  // file and position); I/O errors.
  [[nodiscard]] absl::StatusOr<std::optional<RecordView>> Next();

  // The offset the next call returns (when there is a record there).
  [[nodiscard]] uint64_t position() const;

  LogReader(const LogReader&) = delete;
  LogReader& operator=(const LogReader&) = delete;
  ~LogReader();

 private:
  friend class internal::LogImpl;
  explicit LogReader(std::unique_ptr<internal::LogReaderImpl> impl);

  std::unique_ptr<internal::LogReaderImpl> impl_;
};

}  // namespace keel::wal

#endif  // KEEL_WAL_LOG_H_
