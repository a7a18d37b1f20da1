// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Opening a log: finishing a Truncate or Reset that a crash interrupted, then checking every
// segment in offset order and repairing (or refusing) what the recovery mode says. docs/wal.md
// ("Recovery") and docs/wal_format.md ("How recovery reads a log") give the rules.
#include <algorithm>
#include <random>

#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "log_impl.h"
#include "scan.h"

namespace keel::wal::internal {
namespace {

// What a log directory holds, by kind.
struct Listing {
  std::vector<uint64_t> segments;       // first offsets, ascending
  std::vector<uint64_t> indexes;        // index files' numbers
  std::vector<std::string> unfinished;  // index files a crash interrupted (.idx.tmp)
  bool lock = false;                    // LOCK
  bool reset = false;                   // RESET: a reset under way
  bool truncation = false;              // TRUNCATE: a truncation under way
};

// Lists `dir`. Errors: kFailedPrecondition, naming the entry, for anything that is not a log's.
absl::StatusOr<Listing> ListLog(FileSystem& fs, const std::string& dir) {
  KEEL_ASSIGN_OR_RETURN(const std::vector<std::string> names, fs.List(dir));
  Listing listing;
  for (const std::string& name : names) {
    if (const auto first = ParseFileName(name, kSegmentSuffix)) {
      listing.segments.push_back(*first);
    } else if (const auto indexed = ParseFileName(name, kIndexSuffix)) {
      listing.indexes.push_back(*indexed);  // read with its segment
    } else if (name == kLockFileName) {
      listing.lock = true;
    } else if (name == kResetFileName) {
      listing.reset = true;
    } else if (name == kTruncationFileName) {
      listing.truncation = true;
    } else if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp" &&
               ParseFileName(name.substr(0, name.size() - 4), kIndexSuffix)) {
      listing.unfinished.push_back(name);
    } else {
      return absl::FailedPreconditionError(base::Cat("directory ", base::Quoted(dir, 256),
                                                     " is not a keel log: it holds ",
                                                     base::Quoted(name, 256)));
    }
  }
  std::sort(listing.segments.begin(), listing.segments.end());
  return listing;
}

const char* ModeName(RecoveryMode mode) {
  switch (mode) {
    case RecoveryMode::kTolerateCorruptedTail:
      return "kTolerateCorruptedTail";
    case RecoveryMode::kAbsoluteConsistency:
      return "kAbsoluteConsistency";
    case RecoveryMode::kPointInTime:
      return "kPointInTime";
    case RecoveryMode::kSkipCorruptedRecords:
      return "kSkipCorruptedRecords";
  }
  return "?";
}

}  // namespace

absl::Status LogImpl::Recover(RecoveryReport* report) {
  // The directory's own entry must be durable before anything in it is: a crash could otherwise
  // take a newly created log, acknowledged records and all, with it. Synced even when the
  // directory existed, since a crash may have followed its creation before the sync.
  KEEL_RETURN_IF_ERROR(fs_.CreateDir(dir_));
  // The salt of any segment this Open creates from nothing; one it recovers keeps its own.
  salt_ = options_.salt ? *options_.salt : std::random_device()();
  KEEL_RETURN_IF_ERROR(SyncParentDir(fs_, dir_));
  // A directory that is not a log's is refused before LOCK is created in it, so that it is left
  // as it was found.
  KEEL_ASSIGN_OR_RETURN(const Listing unlocked, ListLog(fs_, dir_));
  // Two writers would interleave records; the second Open fails instead.
  const std::string lock_path = PathOf(kLockFileName);
  KEEL_ASSIGN_OR_RETURN(lock_, fs_.Lock(lock_path));
  // Listed again: until the lock was ours, another Log could have been changing the directory.
  absl::StatusOr<Listing> listing = ListLog(fs_, dir_);
  if (!listing.ok()) {
    if (!unlocked.lock) fs_.Remove(lock_path).IgnoreError();  // ours, created above
    return listing.status();
  }
  std::lock_guard<std::mutex> write_lock(write_mu_);
  // A reset or a truncation that a crash interrupted is finished (or, if it had not really
  // begun, dropped) before anything is read.
  if (listing->reset) {
    KEEL_RETURN_IF_ERROR(FinishReset(listing->segments, report));
    listing = ListLog(fs_, dir_);
    KEEL_RETURN_IF_ERROR(listing.status());
  }
  if (listing->truncation) {
    KEEL_RETURN_IF_ERROR(FinishTruncation(listing->segments, report));
    listing = ListLog(fs_, dir_);
    KEEL_RETURN_IF_ERROR(listing.status());
  }
  for (const std::string& name : listing->unfinished) {
    // An index file a crash interrupted; its segment still has everything.
    KEEL_RETURN_IF_ERROR(fs_.Remove(PathOf(name)));
    report->events.push_back(base::Cat("removed ", name, ", an unfinished index file"));
  }
  const std::vector<uint64_t>& firsts = listing->segments;
  for (const uint64_t indexed : listing->indexes) {
    // The index of a segment that is gone: its removal reached the disk and the index's did not.
    if (std::binary_search(firsts.begin(), firsts.end(), indexed)) continue;
    KEEL_RETURN_IF_ERROR(RemoveIfExists(IndexFileName(indexed)));
    report->events.push_back(
        base::Cat("removed ", IndexFileName(indexed), ", the index of a segment that is gone"));
  }
  // Segments that kPointInTime recovery drops, or whose creation a crash interrupted; removed
  // after the scan, newest first.
  std::vector<uint64_t> doomed;
  bool drop_rest = false;
  for (size_t i = 0; i < firsts.size(); ++i) {
    const uint64_t first = firsts[i];
    if (!drop_rest && !segments_.empty()) {
      const uint64_t previous_end = segments_.rbegin()->second->end_offset.load();
      if (previous_end != first) {
        const std::string gap = base::Cat("segment ", SegmentFileName(first), " starts at offset ",
                                          first, " but the one before it ends at ", previous_end);
        if (options_.recovery == RecoveryMode::kPointInTime) {
          report->events.push_back(base::Cat(gap, ": dropping it and everything after"));
          drop_rest = true;
        } else if (options_.recovery == RecoveryMode::kSkipCorruptedRecords &&
                   first > previous_end) {
          report->events.push_back(
              base::Cat(gap, ": offsets ", previous_end, " to ", first - 1, " are missing"));
        } else {
          return absl::DataLossError(
              base::Cat(gap, " (recovery mode ", ModeName(options_.recovery), ")"));
        }
      }
    }
    if (drop_rest) {
      KEEL_ASSIGN_OR_RETURN(const uint64_t intact, CountIntactRecords(first));
      report->dropped_records += intact;
      report->events.push_back(
          base::Cat("removed ", SegmentFileName(first), " and its ", intact, " intact records"));
      doomed.push_back(first);
      continue;
    }
    KEEL_ASSIGN_OR_RETURN(const SegmentFate fate,
                          RecoverSegment(first, i + 1 == firsts.size(), report));
    drop_rest = fate != SegmentFate::kKept;
    if (fate == SegmentFate::kDropped) doomed.push_back(first);
  }
  if (firsts.empty()) {
    // A new log.
    KEEL_RETURN_IF_ERROR(RollSegment(0));
  } else if (segments_.empty()) {
    // Nothing kept (a log whose only segment's creation was interrupted, or one cut before its
    // first segment's header): it starts again, empty, at the first segment's offset. As a
    // Reset, through RESET, so that a crash part-way never leaves a directory without a segment,
    // which the next Open would take for a new log starting at 0.
    KEEL_ASSIGN_OR_RETURN(std::shared_ptr<Segment> fresh, ResetFiles(doomed, firsts.front()));
    std::lock_guard<std::mutex> lock(mu_);
    segments_[firsts.front()] = std::move(fresh);
  } else {
    // Newest first, each removal durable before the next, as Truncate removes segments: a crash
    // part-way leaves a log that is merely longer, which the next Open cuts again.
    for (auto it = doomed.rbegin(); it != doomed.rend(); ++it) {
      KEEL_RETURN_IF_ERROR(RemoveSegmentFiles(*it));
    }
  }
  // The active segment takes appends and has no index file. One may be left over: from before
  // later segments were dropped, or from a truncation into a sealed segment.
  std::shared_ptr<Segment> active = segments_.rbegin()->second;
  KEEL_RETURN_IF_ERROR(RemoveIfExists(IndexFileName(active->first_offset)));
  active->sealed = false;
  {
    std::lock_guard<std::mutex> index_lock(active->index_mu);
    active->ResetNextIndexPosition(options_.index_interval_bytes);
  }
  // What a crashed process left in the page cache is not yet on disk: sync it before calling it
  // durable. That goes for directory entries too: a process that died between a change to the
  // directory and its sync (a roll's new segment, a Truncate's removals, the removal of TRUNCATE)
  // left it visible but not durable, and what is appended from now on relies on it. The same
  // sync makes this Open's own removals durable.
  KEEL_RETURN_IF_ERROR(SyncDirectory());
  KEEL_RETURN_IF_ERROR(SyncFile(*active->file));
  salt_ = active->salt;
  std::lock_guard<std::mutex> lock(mu_);
  next_offset_ = written_offset_ = durable_offset_ = active->end_offset.load();
  last_sync_ns_ = clock_.NowNanos();
  report->segments = segments_.size();
  report->records = 0;
  for (const auto& [first, segment] : segments_) {
    report->records += segment->end_offset.load() - first;
  }
  report->records -= std::min(report->records, skipped_offsets_);
  return absl::OkStatus();
}

// RESET is the new segment of a Reset. Intact, it means the reset had begun removing the old
// segments (or could have), so it is finished; incomplete, it was never synced, nothing else had
// changed, and it goes. REQUIRES: write_mu_ held.
absl::Status LogImpl::FinishReset(const std::vector<uint64_t>& segments, RecoveryReport* report) {
  const std::string reset_path = PathOf(kResetFileName);
  std::optional<uint64_t> first;
  {
    KEEL_ASSIGN_OR_RETURN(const std::unique_ptr<File> file,
                          fs_.Open(reset_path, OpenMode::kExisting));
    KEEL_ASSIGN_OR_RETURN(const std::optional<std::string> bytes, ReadSegmentHeader(*file));
    if (bytes) {
      if (const std::optional<SegmentHeader> header = DecodeSegmentHeader(*bytes)) {
        first = header->first_offset;
      }
    }
  }
  if (!first) {
    KEEL_RETURN_IF_ERROR(fs_.Remove(reset_path));
    report->events.push_back(base::Cat("removed ", kResetFileName,
                                       ", a reset that a crash interrupted before it began"));
    return SyncDirectory();
  }
  for (const uint64_t old : segments) {
    KEEL_RETURN_IF_ERROR(fs_.Remove(PathOf(SegmentFileName(old))));
    KEEL_RETURN_IF_ERROR(RemoveIfExists(IndexFileName(old)));
  }
  KEEL_RETURN_IF_ERROR(RemoveIfExists(kTruncationFileName));  // the reset supersedes it
  KEEL_RETURN_IF_ERROR(SyncDirectory());  // the removals before the rename, as in ResetFiles
  KEEL_RETURN_IF_ERROR(fs_.Rename(reset_path, PathOf(SegmentFileName(*first))));
  report->events.push_back(
      base::Cat("finished a reset that a crash interrupted: the log restarts "
                "empty at offset ",
                *first, " (", segments.size(), " old segments removed)"));
  return SyncDirectory();
}

// TRUNCATE is the plan of a Truncate that cuts a batch short. Intact, it is carried out again
// (every step of it can be repeated); incomplete, it was never synced and nothing else had
// changed. REQUIRES: write_mu_ held.
absl::Status LogImpl::FinishTruncation(const std::vector<uint64_t>& segments,
                                       RecoveryReport* report) {
  const std::string intent_path = PathOf(kTruncationFileName);
  std::optional<TruncationIntent> intent;
  {
    KEEL_ASSIGN_OR_RETURN(const std::unique_ptr<File> file,
                          fs_.Open(intent_path, OpenMode::kExisting));
    std::string bytes(kTruncationIntentBytes + 1, '\0');
    KEEL_ASSIGN_OR_RETURN(const size_t got, file->ReadAt(0, bytes.data(), bytes.size()));
    bytes.resize(got);
    intent = DecodeTruncationIntent(bytes);
  }
  if (!intent) {
    KEEL_RETURN_IF_ERROR(fs_.Remove(intent_path));
    report->events.push_back(base::Cat("removed ", kTruncationFileName,
                                       ", a truncation that a crash interrupted before it began"));
    return SyncDirectory();
  }
  const uint64_t first = intent->segment_first_offset;
  const std::string name = SegmentFileName(first);
  const auto it = std::find(segments.begin(), segments.end(), first);
  if (it == segments.end()) {
    return absl::DataLossError(
        base::Cat(kTruncationFileName, " says to cut ", name, ", which is missing"));
  }
  KEEL_ASSIGN_OR_RETURN(const std::unique_ptr<File> file,
                        fs_.Open(PathOf(name), OpenMode::kExisting));
  // The record to rewrite must be the one the intent was made for: the header fields that the
  // rewrite leaves alone (length, offset, timestamp) must match.
  const uint64_t at = intent->rewrite_position;
  char header[kRecordHeaderBytes];
  bool matches = at >= kSegmentHeaderBytes && at + kRecordHeaderBytes <= intent->cut_position &&
                 intent->cut_position <= file->size();
  if (matches) {
    KEEL_ASSIGN_OR_RETURN(const size_t got, file->ReadAt(at, header, sizeof(header)));
    const std::string_view want = intent->rewritten_header;
    matches = got == sizeof(header) && std::string_view(header + 4, 4) == want.substr(4, 4) &&
              std::string_view(header + 9, kRecordHeaderBytes - 9) == want.substr(9);
  }
  if (!matches) {
    return absl::DataLossError(
        base::Cat(kTruncationFileName, " does not match ", name, " (a record at position ", at,
                  ", cut at ", intent->cut_position, ", in a file of ", file->size(), " bytes)"));
  }
  TruncationPlan plan;
  plan.cut = *intent;
  KEEL_RETURN_IF_ERROR(
      CutSegment(*file, std::vector<uint64_t>(std::next(it), segments.end()), plan));
  KEEL_RETURN_IF_ERROR(fs_.Remove(intent_path));
  report->events.push_back(base::Cat("finished a truncation that a crash interrupted: ", name,
                                     " now ends at position ", intent->cut_position));
  return SyncDirectory();
}

// The intact records of a segment: from its index when that is valid, else by reading it up to
// its first damage. For the report of what was dropped.
absl::StatusOr<uint64_t> LogImpl::CountIntactRecords(uint64_t first_offset) {
  KEEL_ASSIGN_OR_RETURN(const std::unique_ptr<File> file,
                        fs_.Open(PathOf(SegmentFileName(first_offset)), OpenMode::kExisting));
  const absl::StatusOr<SegmentIndex> index =
      ReadIndexFile(fs_, PathOf(IndexFileName(first_offset)));
  if (index.ok() && index->segment_size == file->size() && index->end_offset >= first_offset) {
    return index->end_offset - first_offset;
  }
  KEEL_ASSIGN_OR_RETURN(const std::optional<std::string> header, ReadSegmentHeader(*file));
  if (!header) return 0;
  Window window(*file, SaltField(*header));
  return CountIntactFrom(window, kSegmentHeaderBytes);
}

absl::StatusOr<SegmentFate> LogImpl::RecoverSegment(uint64_t first_offset, bool is_last,
                                                    RecoveryReport* report) {
  auto segment = std::make_shared<Segment>();
  segment->first_offset = first_offset;
  segment->path = PathOf(SegmentFileName(first_offset));
  KEEL_ASSIGN_OR_RETURN(segment->file, fs_.Open(segment->path, OpenMode::kExisting));
  const std::string name = SegmentFileName(first_offset);
  const uint64_t size = segment->file->size();
  // The header first, on its own (a sealed segment with a valid index is not read further): its
  // salt is what the records' checksums hold with, even when the rest of it is damaged.
  KEEL_ASSIGN_OR_RETURN(const std::optional<std::string> header_bytes,
                        ReadSegmentHeader(*segment->file));
  std::optional<SegmentHeader> header;
  if (header_bytes) header = DecodeSegmentHeader(*header_bytes);
  Window window(*segment->file, header_bytes ? SaltField(*header_bytes) : 0);
  if (!header || header->first_offset != first_offset) {
    if (is_last && size <= kSegmentHeaderBytes) {
      // A crash while the segment was being created: it never held a record.
      report->events.push_back(
          base::Cat("removed ", name, ", a segment whose creation a crash interrupted"));
      return SegmentFate::kDropped;
    }
    const std::string what = base::Cat(name, " has a damaged header");
    if (options_.recovery == RecoveryMode::kPointInTime) {
      // The cut comes before this segment. If it is the first, the log is left empty, starting
      // at the offset in the file's name (Recover creates that segment anew).
      KEEL_ASSIGN_OR_RETURN(const uint64_t intact, CountIntactFrom(window, kSegmentHeaderBytes));
      report->dropped_records += intact;
      report->events.push_back(
          base::Cat(what, ": dropping it (", intact, " intact records) and everything after"));
      return SegmentFate::kDropped;
    }
    return absl::DataLossError(
        base::Cat(what, " (recovery mode ", ModeName(options_.recovery), ")"));
  }

  segment->salt = header->salt;

  // A sealed segment with an intact index that matches it is trusted without a scan.
  const std::string index_name = IndexFileName(first_offset);
  if (!is_last) {
    absl::StatusOr<SegmentIndex> index = ReadIndexFile(fs_, PathOf(index_name));
    if (index.ok() && index->segment_size == size && index->end_offset >= first_offset) {
      segment->index = std::move(index->entries);
      segment->visible_size.store(size);
      segment->end_offset.store(index->end_offset);
      segment->max_timestamp_ns.store(index->max_timestamp_ns);
      segment->sealed = true;
      segments_[first_offset] = std::move(segment);
      return SegmentFate::kKept;
    }
    std::string state = "stale (size mismatch)";
    if (index.status().code() == absl::StatusCode::kNotFound) {
      state = "missing";
    } else if (!index.ok()) {
      state = base::Cat("damaged (", index.status().message(), ")");
    }
    report->events.push_back(base::Cat("index of ", name, " is ", state, ": scanning the segment"));
  }

  // Scan every record. `committed` is the end of the last complete unit (a record, or a whole
  // batch); damage is judged from there.
  SegmentFate fate = SegmentFate::kKept;
  uint64_t pos = kSegmentHeaderBytes;
  uint64_t expected = first_offset;
  uint64_t committed_pos = pos;
  uint64_t committed_offset = first_offset;
  bool batch_open = false;
  int64_t max_ts = 0;
  std::vector<IndexEntry> index;
  uint64_t next_index_position = kSegmentHeaderBytes;
  std::vector<std::pair<uint64_t, uint64_t>> damaged;
  // Where the records end: the file's end, or in the last segment where a run of zeros to the end
  // starts (preallocated space, or space whose size a crash kept but whose data it lost).
  uint64_t end = size;
  for (;;) {
    std::string problem;
    if (pos < end && is_last) {
      KEEL_ASSIGN_OR_RETURN(const bool zeros, ZerosToEnd(window, pos));
      if (zeros) end = pos;
    }
    if (pos < end) {
      KEEL_ASSIGN_OR_RETURN(const Probe probe, ProbeRecord(window, pos));
      const RecordHeader& h = probe.header;
      const bool opens = h.type == RecordType::kFull || h.type == RecordType::kFirst;
      if (!probe.complete) {
        problem = base::Cat("an incomplete record at position ", pos);
      } else if (!probe.valid) {
        problem = base::Cat("a record that fails its checksum at position ", pos);
      } else if (h.offset != expected) {
        problem = base::Cat("offset ", h.offset, " at position ", pos, " where ", expected,
                            " was expected");
      } else if (opens == batch_open) {
        problem = base::Cat("a broken batch at position ", pos);
      } else {
        if (pos >= next_index_position) {
          index.push_back({h.offset, pos});
          next_index_position = pos + options_.index_interval_bytes;
        }
        max_ts = std::max(max_ts, h.timestamp_ns);
        pos += kRecordHeaderBytes + h.length;
        expected = h.offset + 1;
        batch_open = h.type == RecordType::kFirst || h.type == RecordType::kMiddle;
        if (!batch_open) {
          committed_pos = pos;
          committed_offset = expected;
        }
        continue;
      }
    } else if (batch_open) {
      problem = base::Cat("a batch that ends without its last record at position ", committed_pos);
    } else {
      break;  // clean end
    }

    // Damage, from the start of the unit it hits (the records of an unfinished batch before it
    // are valid, but they are part of the damage). Only the last segment can hold bytes a crash
    // damaged: a segment is synced before the next one is created. And since unsynced writes
    // reach the disk in any order, a crash can keep a later write and lose an earlier one, so
    // valid records after the damage prove that it struck durable bytes (corruption) only if one
    // of them is a sync point; otherwise it is a torn tail. The first valid record of any kind
    // is where kSkipCorruptedRecords resumes and kPointInTime starts counting what it drops.
    const uint64_t at = committed_pos;
    KEEL_ASSIGN_OR_RETURN(const std::optional<uint64_t> resync,
                          FindValidRecordAfter(window, std::max(pos, at), expected));
    bool torn_tail = is_last && !resync.has_value();
    if (is_last && resync.has_value()) {
      KEEL_ASSIGN_OR_RETURN(const std::optional<uint64_t> sync_point,
                            FindValidRecordAfter(window, std::max(pos, at), expected, true));
      torn_tail = !sync_point.has_value();
    }
    const std::string what = base::Cat(name, ": ", problem);
    const RecoveryMode mode = options_.recovery;
    if (mode == RecoveryMode::kAbsoluteConsistency ||
        (mode == RecoveryMode::kTolerateCorruptedTail && !torn_tail)) {
      return absl::DataLossError(
          base::Cat(what,
                    torn_tail ? " (a torn write at the end of the log)"
                              : " with valid records after it (corruption, not a torn write)",
                    "; recovery mode ", ModeName(mode)));
    }
    if (torn_tail || mode == RecoveryMode::kPointInTime) {
      if (torn_tail) {
        // Zeros after a torn write are not part of it: preallocated space, or never written.
        KEEL_ASSIGN_OR_RETURN(const uint64_t torn_end, EndOfNonZero(window, at));
        report->torn_tail_bytes += torn_end - at;
        report->events.push_back(base::Cat(what, ": cut ", torn_end - at, " bytes of torn write"));
      } else {
        // Count the intact records dropped with the damage (before the cut makes them unreadable),
        // for the report; Recover counts those of the later segments.
        uint64_t intact = 0;
        if (resync) {
          KEEL_ASSIGN_OR_RETURN(intact, CountIntactFrom(window, *resync));
        }
        report->dropped_records += intact;
        report->events.push_back(base::Cat(what, ": cut the log at offset ", committed_offset,
                                           ", dropping ", intact, " intact records after it"));
        fate = SegmentFate::kCut;
      }
      KEEL_RETURN_IF_ERROR(segment->file->Truncate(at));
      KEEL_RETURN_IF_ERROR(SyncFile(*segment->file));
      while (!index.empty() && index.back().position >= at) index.pop_back();
      pos = at;
      expected = committed_offset;
      break;
    }
    // kSkipCorruptedRecords: skip the damaged bytes, up to the next intact record or, in a sealed
    // segment with none after the damage, to the segment's end (where the next segment's first
    // offset says which offsets went missing).
    const uint64_t skip_to = resync.value_or(size);
    uint64_t resume_offset = committed_offset;
    if (resync) {
      KEEL_ASSIGN_OR_RETURN(const Probe next, ProbeRecord(window, *resync));
      resume_offset = next.header.offset;
    }
    damaged.push_back({at, skip_to});
    report->skipped_bytes += skip_to - at;
    report->events.push_back(
        resync ? base::Cat(what, ": skipped ", skip_to - at, " bytes, offsets ", committed_offset,
                           " to ", resume_offset - 1, " are missing")
               : base::Cat(what, ": skipped the last ", skip_to - at,
                           " bytes of the segment, from offset ", committed_offset, " on"));
    skipped_offsets_ += resume_offset - committed_offset;
    pos = skip_to;
    expected = resume_offset;
    committed_pos = pos;
    committed_offset = expected;
    batch_open = false;
  }
  if (end < segment->file->size() && pos == end) {
    // Zeros after the last record (preallocated, or left by a crash): trimmed (Recover syncs the
    // active segment), so that the file ends where its records do until the next append.
    KEEL_RETURN_IF_ERROR(segment->file->Truncate(end));
  }
  segment->index = std::move(index);
  segment->has_damage.store(!damaged.empty());
  segment->damaged = std::move(damaged);
  segment->visible_size.store(segment->file->size());
  segment->end_offset.store(expected);
  segment->max_timestamp_ns.store(max_ts);
  segment->sealed = !is_last && fate == SegmentFate::kKept;
  if (segment->sealed && !segment->damaged.empty()) {
    // No index for a segment with damaged ranges: it would be trusted at the next Open and the
    // ranges forgotten, so that readers would fail on them. Without one, every Open scans it.
    KEEL_RETURN_IF_ERROR(RemoveIfExists(index_name));
    report->events.push_back(
        base::Cat("no index for ", name, ": it has damaged ranges, so every Open scans it"));
  } else if (segment->sealed) {
    // Rebuild the index file the scan replaced.
    KEEL_RETURN_IF_ERROR(WriteIndexFile(
        first_offset, SegmentIndex{segment->file->size(), expected, max_ts, segment->index}));
    KEEL_RETURN_IF_ERROR(SyncDirectory());
    ++report->rebuilt_indexes;
  }
  segments_[first_offset] = std::move(segment);
  return fate;
}

}  // namespace keel::wal::internal
