// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Removing records: whole segments from the front (DropBefore, retention), a suffix (Truncate),
// or everything (Reset), each so that a crash part-way leaves a log Open can recover.
#include <algorithm>

#include "keel/base/assert.h"
#include "keel/base/crc32c.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "log_impl.h"

namespace keel::wal::internal {

// Removes a segment's files durably: its index first (a segment without one is scanned, while an
// index without its segment is merely removed at the next Open), then the segment, then a sync
// of the directory. POSIX does not order unsynced changes to directory entries, so without a sync
// after each removal a crash could keep a later removal and undo an earlier one, leaving a gap
// between segments that Open takes for damage. REQUIRES: write_mu_ held.
absl::Status LogImpl::RemoveSegmentFiles(uint64_t first_offset) {
  KEEL_RETURN_IF_ERROR(RemoveIfExists(IndexFileName(first_offset)));
  KEEL_RETURN_IF_ERROR(RemoveIfExists(SegmentFileName(first_offset)));
  return SyncDirectory();
}

// DropBefore and retention work on after a failed append (deleting a prefix cannot lose a record
// after it), but not after a failed Truncate or Reset: its TRUNCATE or RESET may be on disk,
// naming segments that Open must find. REQUIRES: mu_ held.
absl::Status LogImpl::RemovalAllowed() const {
  if (!change_unfinished_) return absl::OkStatus();
  return absl::FailedPreconditionError(base::Cat(
      "a Truncate or Reset failed part-way (", broken_.message(),
      "): no segment may be removed until the log is reopened, which finishes or undoes it"));
}

// The lowest end any Truncate or Reset left since truncations_ was `truncations`; 0 when the
// history does not reach back that far (so that the caller assumes the worst). REQUIRES: mu_ held.
uint64_t LogImpl::LowestEndSince(uint64_t truncations) const {
  if (truncation_ends_.empty() || truncation_ends_.front().first > truncations + 1) return 0;
  uint64_t lowest = UINT64_MAX;
  for (const auto& [count, end] : truncation_ends_) {
    if (count > truncations) lowest = std::min(lowest, end);
  }
  return lowest;
}

// Remembers that records from `end_offset` on are gone, for readers, and wakes WaitDurable's
// waiters, whose offsets may be among them. REQUIRES: mu_ held.
void LogImpl::NoteTruncation(uint64_t end_offset) {
  ++truncations_;
  truncation_ends_.push_back({truncations_, end_offset});
  if (truncation_ends_.size() > kTruncationHistory) truncation_ends_.pop_front();
  durable_cv_.notify_all();
}

// Removes a sealed segment from the log and its files from the directory. REQUIRES: write_mu_
// held; not the active segment.
absl::Status LogImpl::RemoveSegment(uint64_t first_offset) {
  std::shared_ptr<Segment> segment;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = segments_.find(first_offset);
    KEEL_ASSERT(it != segments_.end() && std::next(it) != segments_.end());
    segment = it->second;
    segments_.erase(it);
  }
  // Readers holding the segment keep reading the unlinked file until they move on.
  return RemoveSegmentFiles(first_offset);
}

absl::StatusOr<uint64_t> LogImpl::DropBefore(uint64_t offset) {
  std::lock_guard<std::mutex> write_lock(write_mu_);
  std::vector<uint64_t> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    KEEL_RETURN_IF_ERROR(RemovalAllowed());
    for (auto it = segments_.begin(); std::next(it) != segments_.end(); ++it) {
      if (it->second->end_offset.load() > offset) break;
      doomed.push_back(it->first);
    }
  }
  // Oldest first, each removal durable before the next: a crash leaves the log contiguous.
  for (const uint64_t first : doomed) KEEL_RETURN_IF_ERROR(RemoveSegment(first));
  return first_offset();
}

absl::StatusOr<size_t> LogImpl::ApplyRetention(uint64_t max_bytes, int64_t max_age_ns,
                                               uint64_t keep_from) {
  std::lock_guard<std::mutex> write_lock(write_mu_);
  const int64_t now = clock_.NowNanos();
  std::vector<uint64_t> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    KEEL_RETURN_IF_ERROR(RemovalAllowed());
    uint64_t total = 0;
    for (const auto& [first, segment] : segments_) total += segment->visible_size.load();
    // Only a prefix of segments can go, oldest first, so that the log stays contiguous.
    for (auto it = segments_.begin(); std::next(it) != segments_.end(); ++it) {
      const bool too_big = max_bytes > 0 && total > max_bytes;
      const bool too_old = max_age_ns > 0 && it->second->max_timestamp_ns.load() < now - max_age_ns;
      // The next segment's first offset is one past this segment's last record.
      const bool needed = std::next(it)->first > keep_from;
      if ((!too_big && !too_old) || needed) break;
      total -= it->second->visible_size.load();
      doomed.push_back(it->first);
    }
  }
  for (const uint64_t first : doomed) KEEL_RETURN_IF_ERROR(RemoveSegment(first));
  return doomed.size();
}

// Truncate cuts the segment holding `end_offset` and removes every later one. When the cut falls
// inside a batch, the last record kept must become the batch's end (kFirst turns into kFull,
// kMiddle into kLast), or the next Open would take the shortened batch for a torn one and drop it
// whole, durable records and all. That header is rewritten in place, and an overwrite, unlike an
// append, can be torn by a crash into something that is neither the old record nor the new. So
// the change is first written down, durably, in a TRUNCATE file (a redo record: the cut position
// and the new header), and Open redoes it if it finds one; the file goes once the segment is cut
// and synced. Every state a crash can leave is then one of: the log as it was (TRUNCATE never
// became durable, so nothing else had changed), as it was minus some newest segments (a cut at a
// unit boundary, which needs no TRUNCATE), or a TRUNCATE that Open finishes.
absl::Status LogImpl::Truncate(uint64_t end_offset) {
  std::lock_guard<std::mutex> write_lock(write_mu_);
  std::shared_ptr<Segment> segment;
  std::vector<uint64_t> later;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Appends must not overlap a truncation (an append under way was given an offset past the
    // cut); queued ones are the overlap that can be seen from here.
    if (!queue_.empty()) {
      return absl::FailedPreconditionError("cannot truncate while appends are in flight");
    }
    if (!broken_.ok()) return absl::FailedPreconditionError(broken_.message());
    const uint64_t first = segments_.begin()->first;
    if (end_offset < first || end_offset > next_offset_) {
      return absl::OutOfRangeError(base::Cat("cannot truncate at offset ", end_offset,
                                             ": the log holds [", first, ", ", next_offset_, ")"));
    }
    if (end_offset == next_offset_) return absl::OkStatus();
    auto it = std::prev(segments_.upper_bound(end_offset));
    segment = it->second;
    for (auto next = std::next(it); next != segments_.end(); ++next) later.push_back(next->first);
  }
  absl::StatusOr<TruncationPlan> plan = PlanTruncation(*segment, end_offset);
  absl::Status status = plan.status();
  if (status.ok()) status = TruncateFiles(*segment, later, *plan);
  if (!status.ok()) {
    // What reached the disk is unknown until the next Open sorts it out, so, as after a failed
    // append, the log takes no more writes; nor any removal, since TRUNCATE may name a segment.
    std::lock_guard<std::mutex> lock(mu_);
    if (broken_.ok()) broken_ = status;
    change_unfinished_ = true;
    return status;
  }
  const uint64_t cut = plan->cut.cut_position;
  {
    std::lock_guard<std::mutex> index_lock(segment->index_mu);
    auto& entries = segment->index;
    entries.erase(std::lower_bound(entries.begin(), entries.end(), plan->end_offset,
                                   [](const IndexEntry& e, uint64_t o) { return e.offset < o; }),
                  entries.end());
    segment->ResetNextIndexPosition(options_.index_interval_bytes);
    std::erase_if(segment->damaged, [cut](const auto& range) { return range.first >= cut; });
  }
  segment->visible_size.store(cut, std::memory_order_release);
  segment->end_offset.store(plan->end_offset);
  std::lock_guard<std::mutex> lock(mu_);
  for (const uint64_t first : later) segments_.erase(first);
  segment->sealed = false;
  // Everything kept is durable: the cut segment was synced, and earlier ones when they sealed.
  next_offset_ = written_offset_ = durable_offset_ = plan->end_offset;
  salt_ = segment->salt;
  NoteTruncation(plan->end_offset);
  return absl::OkStatus();
}

// Finds the last record before `end_offset` in `segment` (reading forward from an indexed record
// before it) and plans the cut right after it. REQUIRES: write_mu_ held.
absl::StatusOr<TruncationPlan> LogImpl::PlanTruncation(const Segment& segment,
                                                       uint64_t end_offset) const {
  const uint64_t size = segment.visible_size.load(std::memory_order_relaxed);
  uint64_t pos =
      segment.Seek(end_offset > segment.first_offset ? end_offset - 1 : end_offset).first;
  std::optional<uint64_t> previous_pos;
  RecordHeader previous{};
  char head[kRecordHeaderBytes];
  for (;;) {
    pos = segment.SkipDamaged(pos);
    if (pos + kRecordHeaderBytes > size) break;
    KEEL_ASSIGN_OR_RETURN(const size_t got, segment.file->ReadAt(pos, head, sizeof(head)));
    if (got < sizeof(head)) {
      return absl::DataLossError(base::Cat(segment.path, ": short read at position ", pos));
    }
    const RecordHeader h = DecodeRecordHeader(head);
    if (h.offset >= end_offset) break;
    if (h.length > kMaxRecordBytesLimit || size - pos - kRecordHeaderBytes < h.length) {
      return absl::DataLossError(base::Cat(segment.path, ": the record at position ", pos,
                                           " has a bad length ", h.length));
    }
    previous = h;
    previous_pos = pos;
    pos += kRecordHeaderBytes + h.length;
  }
  // The log ends after the last record kept; with offsets missing before `end_offset`
  // (kSkipCorruptedRecords), that is where they start, and damaged bytes there go too.
  TruncationPlan plan;
  plan.cut.segment_first_offset = segment.first_offset;
  if (!previous_pos) {
    plan.end_offset = segment.first_offset;
    plan.cut.cut_position = kSegmentHeaderBytes;
    return plan;
  }
  plan.end_offset = previous.offset + 1;
  plan.cut.cut_position = *previous_pos + kRecordHeaderBytes + previous.length;
  plan.cut.rewrite_position = *previous_pos;
  if (previous.type == RecordType::kFirst || previous.type == RecordType::kMiddle) {
    std::string record(kRecordHeaderBytes + previous.length, '\0');
    KEEL_ASSIGN_OR_RETURN(const size_t got,
                          segment.file->ReadAt(*previous_pos, record.data(), record.size()));
    const std::string_view payload = std::string_view(record).substr(kRecordHeaderBytes);
    // Never give a damaged record a fresh, valid CRC.
    if (got < record.size() || !RecordCrcMatches(record.data(), payload, segment.salt)) {
      return absl::DataLossError(base::Cat(segment.path, ": record ", previous.offset,
                                           " at position ", *previous_pos, " is damaged"));
    }
    const RecordType type =
        previous.type == RecordType::kFirst ? RecordType::kFull : RecordType::kLast;
    EncodeRecordHeader(plan.cut.rewritten_header, segment.salt, type, previous.offset,
                       previous.timestamp_ns, previous.length, base::Crc32c(payload),
                       previous.sync_point);
  }
  return plan;
}

// The file changes of a truncation, TRUNCATE first when a header is rewritten (see Truncate).
// REQUIRES: write_mu_ held.
absl::Status LogImpl::TruncateFiles(const Segment& segment, const std::vector<uint64_t>& later,
                                    const TruncationPlan& plan) {
  const bool rewrite = !plan.cut.rewritten_header.empty();
  if (rewrite) {
    // The plan names a record that Open must find on disk to check it and redo the rewrite; under
    // kNone or kInterval it may still be in the page cache only.
    KEEL_RETURN_IF_ERROR(SyncFile(*segment.file));
    // CutSegment syncs the directory before it changes anything, which makes TRUNCATE's entry
    // durable first.
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> intent,
                          fs_.Open(PathOf(kTruncationFileName), OpenMode::kCreate));
    KEEL_RETURN_IF_ERROR(intent->Append(EncodeTruncationIntent(plan.cut)));
    KEEL_RETURN_IF_ERROR(SyncFile(*intent));
  }
  KEEL_RETURN_IF_ERROR(CutSegment(*segment.file, later, plan));
  if (rewrite) {
    KEEL_RETURN_IF_ERROR(fs_.Remove(PathOf(kTruncationFileName)));
    KEEL_RETURN_IF_ERROR(SyncDirectory());
  }
  return absl::OkStatus();
}

// Removes the segments in `later` and cuts `file` (the segment plan.cut names) as planned; safe to
// repeat, which is how Open finishes an interrupted truncation. REQUIRES: write_mu_ held.
absl::Status LogImpl::CutSegment(File& file, const std::vector<uint64_t>& later,
                                 const TruncationPlan& plan) {
  // Newest first, each removal durable before the next and all of them before the cut, so that a
  // crash part-way leaves a log that is merely longer. The cut segment becomes the active one,
  // which has no index.
  for (auto it = later.rbegin(); it != later.rend(); ++it) {
    KEEL_RETURN_IF_ERROR(RemoveSegmentFiles(*it));
  }
  KEEL_RETURN_IF_ERROR(RemoveIfExists(IndexFileName(plan.cut.segment_first_offset)));
  KEEL_RETURN_IF_ERROR(SyncDirectory());
  if (!plan.cut.rewritten_header.empty()) {
    KEEL_RETURN_IF_ERROR(file.WriteAt(plan.cut.rewrite_position, plan.cut.rewritten_header));
  }
  if (file.size() > plan.cut.cut_position) {
    KEEL_RETURN_IF_ERROR(file.Truncate(plan.cut.cut_position));
  }
  return SyncFile(file);
}

absl::Status LogImpl::Reset(uint64_t next_offset) {
  std::lock_guard<std::mutex> write_lock(write_mu_);
  std::vector<uint64_t> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!queue_.empty()) {
      return absl::FailedPreconditionError("cannot reset while appends are in flight");
    }
    if (!broken_.ok()) return absl::FailedPreconditionError(broken_.message());
    for (const auto& [first, segment] : segments_) old.push_back(first);
  }
  absl::StatusOr<std::shared_ptr<Segment>> segment = ResetFiles(old, next_offset);
  std::lock_guard<std::mutex> lock(mu_);
  if (!segment.ok()) {
    // As for Truncate: the disk holds the old log, part of it or the new one; Open will tell.
    if (broken_.ok()) broken_ = segment.status();
    change_unfinished_ = true;
    return segment.status();
  }
  // Readers holding an old segment keep reading its unlinked file until they notice the reset.
  segments_.clear();
  segments_[next_offset] = *std::move(segment);
  next_offset_ = written_offset_ = durable_offset_ = next_offset;
  NoteTruncation(0);  // every record went
  return absl::OkStatus();
}

// The file changes of a reset. The new segment comes first, as RESET, synced along with its
// directory entry: from then on a crash leaves a reset that Open finishes, and before then one
// that never began. Its own name also lets `next_offset` be an old segment's first offset.
// REQUIRES: write_mu_ held.
absl::StatusOr<std::shared_ptr<Segment>> LogImpl::ResetFiles(const std::vector<uint64_t>& old,
                                                             uint64_t next_offset) {
  const std::string reset_path = PathOf(kResetFileName);
  KEEL_RETURN_IF_ERROR(CreateSegmentFile(reset_path, next_offset).status());
  KEEL_RETURN_IF_ERROR(SyncDirectory());
  for (const uint64_t first : old) {
    KEEL_RETURN_IF_ERROR(fs_.Remove(PathOf(SegmentFileName(first))));
    KEEL_RETURN_IF_ERROR(RemoveIfExists(IndexFileName(first)));
  }
  // The removals are durable before the rename, or a crash could keep an old segment beside the
  // new one (directory entries need not reach the disk in the order they were changed).
  KEEL_RETURN_IF_ERROR(SyncDirectory());
  auto segment = std::make_shared<Segment>();
  segment->first_offset = next_offset;
  segment->path = PathOf(SegmentFileName(next_offset));
  KEEL_RETURN_IF_ERROR(fs_.Rename(reset_path, segment->path));
  KEEL_RETURN_IF_ERROR(SyncDirectory());
  // Opened again under its final name, the name it is known by from now on.
  KEEL_ASSIGN_OR_RETURN(segment->file, fs_.Open(segment->path, OpenMode::kExisting));
  segment->salt = salt_;  // as CreateSegmentFile wrote it
  segment->visible_size.store(kSegmentHeaderBytes);
  segment->end_offset.store(next_offset);
  return segment;
}

}  // namespace keel::wal::internal
