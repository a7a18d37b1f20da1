// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The log's segments: writing at the end of the active one (with preallocation), sealing it with
// its index file and starting the next (a roll), and the file and directory syncs everything
// else uses.
#include <algorithm>

#include "absl/strings/str_format.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "log_impl.h"

namespace keel::wal::internal {

std::string SegmentFileName(uint64_t first_offset) {
  return absl::StrFormat("%020d%s", first_offset, kSegmentSuffix);
}

std::string IndexFileName(uint64_t first_offset) {
  return absl::StrFormat("%020d%s", first_offset, kIndexSuffix);
}

// The offset in a file name of 20 digits followed by `suffix`, or nullopt.
std::optional<uint64_t> ParseFileName(std::string_view name, std::string_view suffix) {
  if (name.size() != 20 + suffix.size() || name.substr(20) != suffix) return std::nullopt;
  uint64_t value = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(name[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

bool LogImpl::Preallocates() const {
  return options_.sync != SyncPolicy::kNone && options_.preallocate_bytes > 0;
}

// Writes `bytes` after the segment's last record and makes them visible to readers. When the log
// preallocates, the bytes overwrite zeros written ahead of them, and the file is extended by
// another run of zeros when they would not fit; the next fsync makes the zeros durable along with
// the records, and the fsyncs after it need not change the file's size. REQUIRES: write_mu_ held.
absl::Status LogImpl::WriteAtEnd(Segment& segment, std::string_view bytes) {
  const uint64_t end = segment.visible_size.load(std::memory_order_relaxed);
  File& file = *segment.file;
  if (end + bytes.size() > file.size() && Preallocates()) {
    static constexpr char kZeros[64 << 10] = {};
    // Submit keeps every group within a segment, so the target never needs to pass its limit.
    const uint64_t target =
        std::min(options_.max_segment_bytes,
                 std::max(end + bytes.size(), file.size() + options_.preallocate_bytes));
    while (file.size() < target) {
      const uint64_t n = std::min<uint64_t>(sizeof(kZeros), target - file.size());
      KEEL_RETURN_IF_ERROR(file.Append(std::string_view(kZeros, static_cast<size_t>(n))));
    }
  }
  if (end == file.size()) {
    KEEL_RETURN_IF_ERROR(file.Append(bytes));
  } else {
    KEEL_RETURN_IF_ERROR(file.WriteAt(end, bytes));
  }
  segment.visible_size.store(end + bytes.size(), std::memory_order_release);
  return absl::OkStatus();
}

// Cuts the zeros preallocated past the segment's last record, so that a sealed segment's file
// ends where its records do. Not synced here. REQUIRES: write_mu_ held.
absl::Status LogImpl::TrimPreallocated(Segment& segment) {
  const uint64_t end = segment.visible_size.load(std::memory_order_relaxed);
  if (segment.file->size() > end) KEEL_RETURN_IF_ERROR(segment.file->Truncate(end));
  return absl::OkStatus();
}

// Seals the active segment (synced, with its index file) and starts a new one at `first_offset`.
// The old segment is synced whatever the policy: a later segment's records must never be durable
// while an earlier one's are not, or a crash would leave a hole. REQUIRES: write_mu_ held.
absl::Status LogImpl::RollSegment(uint64_t first_offset) {
  std::shared_ptr<Segment> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!segments_.empty()) old = segments_.rbegin()->second;
  }
  if (old != nullptr) {
    KEEL_RETURN_IF_ERROR(TrimPreallocated(*old));
    KEEL_RETURN_IF_ERROR(SyncFile(*old->file));
    SegmentIndex index;
    index.segment_size = old->file->size();
    index.end_offset = old->end_offset.load();
    index.max_timestamp_ns = old->max_timestamp_ns.load();
    bool damaged;
    {
      std::lock_guard<std::mutex> lock(old->index_mu);
      index.entries = old->index;
      damaged = !old->damaged.empty();
    }
    // A segment with damaged ranges (kSkipCorruptedRecords) gets no index, so that every Open
    // scans it and finds them again: an index would be trusted and the ranges forgotten.
    if (!damaged) KEEL_RETURN_IF_ERROR(WriteIndexFile(old->first_offset, index));
  }
  // The new file (and the old one's index) exist durably before any record is put in it.
  KEEL_ASSIGN_OR_RETURN(std::shared_ptr<Segment> segment, CreateSegment(first_offset));
  std::lock_guard<std::mutex> lock(mu_);
  if (old != nullptr) {
    old->sealed = true;
    durable_offset_ = std::max(durable_offset_, old->end_offset.load());
  }
  segments_[first_offset] = std::move(segment);
  return absl::OkStatus();
}

// Creates an empty segment file starting at `first_offset`, durably (the file, its header and its
// directory entry). REQUIRES: write_mu_ held.
absl::StatusOr<std::shared_ptr<Segment>> LogImpl::CreateSegment(uint64_t first_offset) {
  auto segment = std::make_shared<Segment>();
  segment->first_offset = first_offset;
  segment->path = PathOf(SegmentFileName(first_offset));
  KEEL_ASSIGN_OR_RETURN(segment->file, CreateSegmentFile(segment->path, first_offset));
  KEEL_RETURN_IF_ERROR(SyncDirectory());
  segment->salt = salt_;
  segment->visible_size.store(kSegmentHeaderBytes);
  segment->end_offset.store(first_offset);
  return segment;
}

// Creates `path` holding a segment header for `first_offset` and the log's salt, synced; its
// directory entry is not.
absl::StatusOr<std::unique_ptr<File>> LogImpl::CreateSegmentFile(const std::string& path,
                                                                 uint64_t first_offset) {
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs_.Open(path, OpenMode::kCreate));
  KEEL_RETURN_IF_ERROR(file->Append(EncodeSegmentHeader({first_offset, salt_})));
  KEEL_RETURN_IF_ERROR(SyncFile(*file));
  return file;
}

// Writes a sealed segment's index file: under a temporary name, synced, then renamed into place,
// so that a crash leaves the whole index or none (Open removes a leftover .tmp and scans the
// segment). The rename is made durable by the next sync of the directory; until then a crash may
// lose it, which costs only a scan. REQUIRES: write_mu_ held.
absl::Status LogImpl::WriteIndexFile(uint64_t first_offset, const SegmentIndex& index) {
  const std::string index_path = PathOf(IndexFileName(first_offset));
  const std::string temp_path = index_path + ".tmp";
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> temp, fs_.Open(temp_path, OpenMode::kCreate));
  KEEL_RETURN_IF_ERROR(temp->Append(EncodeIndex(index)));
  KEEL_RETURN_IF_ERROR(SyncFile(*temp));
  return fs_.Rename(temp_path, index_path);
}

absl::Status LogImpl::SyncFile(File& file) {
  KEEL_RETURN_IF_ERROR(file.Sync());
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.syncs;
  return absl::OkStatus();
}

absl::Status LogImpl::SyncDirectory() {
  KEEL_RETURN_IF_ERROR(fs_.SyncDir(dir_));
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.syncs;
  return absl::OkStatus();
}

uint64_t LogImpl::first_offset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return segments_.begin()->first;
}

uint64_t LogImpl::next_offset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_offset_;
}

uint64_t LogImpl::durable_offset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return durable_offset_;
}

LogStats LogImpl::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  LogStats stats = stats_;
  stats.segments = segments_.size();
  return stats;
}

uint64_t LogImpl::size_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t total = 0;
  for (const auto& [first, segment] : segments_) total += segment->visible_size.load();
  return total;
}

std::string LogImpl::PathOf(std::string_view name) const { return base::Cat(dir_, "/", name); }

// Removes the file `name` in the log's directory, if there is one.
absl::Status LogImpl::RemoveIfExists(const std::string& name) {
  const absl::Status status = fs_.Remove(PathOf(name));
  if (!status.ok() && status.code() != absl::StatusCode::kNotFound) return status;
  return absl::OkStatus();
}

std::shared_ptr<Segment> LogImpl::NextSegment(uint64_t after_first_offset) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = segments_.upper_bound(after_first_offset);
  return it == segments_.end() ? nullptr : it->second;
}

}  // namespace keel::wal::internal
