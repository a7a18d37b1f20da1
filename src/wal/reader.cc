// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Readers: records in offset order from any offset, through a read-ahead buffer, moving from
// segment to segment and noticing a Truncate or Reset that changed what they read. Unlike
// recovery, a reader never searches past damage: it stops there with kDataLoss.
#include <algorithm>

#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "log_impl.h"

namespace keel::wal::internal {
namespace {

// Readers read ahead this much.
constexpr size_t kReadAheadBytes = 256 << 10;

}  // namespace

absl::StatusOr<std::unique_ptr<LogReader>> LogImpl::NewReader(uint64_t from) const {
  std::shared_ptr<Segment> segment;
  uint64_t truncations;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t first = segments_.begin()->first;
    if (from < first || from > next_offset_) {
      return absl::OutOfRangeError(base::Cat("cannot read from offset ", from, ": the log holds [",
                                             first, ", ", next_offset_, ")"));
    }
    segment = std::prev(segments_.upper_bound(from))->second;
    truncations = truncations_;
  }
  const auto [position, offset] = segment->Seek(from);
  auto reader =
      std::make_unique<LogReaderImpl>(*this, std::move(segment), position, offset, truncations);
  // From the indexed record to the one asked for (or, past missing offsets, the next one): read
  // records until one is at or past `from`, then step back before it.
  while (reader->position() < from) {
    KEEL_ASSIGN_OR_RETURN(const std::optional<RecordView> record, reader->Next());
    if (!record) break;
    if (record->offset >= from) {
      reader->Unread(*record);
      break;
    }
  }
  return std::unique_ptr<LogReader>(new LogReader(std::move(reader)));
}

LogReaderImpl::LogReaderImpl(const LogImpl& log, std::shared_ptr<Segment> segment,
                             uint64_t file_position, uint64_t next_offset, uint64_t truncations)
    : log_(log),
      segment_(std::move(segment)),
      file_position_(file_position),
      next_offset_(next_offset),
      truncations_(truncations) {}

void LogReaderImpl::Unread(const RecordView& record) {
  file_position_ -= kRecordHeaderBytes + record.payload.size();
  next_offset_ = record.offset;
}

// Reads ahead; the record must lie within what is visible.
absl::StatusOr<const char*> LogReaderImpl::Fetch(uint64_t pos, size_t n, uint64_t visible) {
  if (pos < buffer_start_ || pos + n > buffer_start_ + buffer_.size()) {
    const size_t want = static_cast<size_t>(
        std::min<uint64_t>(std::max<uint64_t>(n, kReadAheadBytes), visible - pos));
    buffer_.resize(want);
    KEEL_ASSIGN_OR_RETURN(const size_t got, segment_->file->ReadAt(pos, buffer_.data(), want));
    buffer_.resize(got);
    buffer_start_ = pos;
    if (got < n) {
      return absl::DataLossError(base::Cat(segment_->path, ": short read at position ", pos));
    }
  }
  return buffer_.data() + (pos - buffer_start_);
}

absl::StatusOr<std::optional<RecordView>> LogReaderImpl::Next() {
  {
    std::lock_guard<std::mutex> lock(log_.mu_);
    if (log_.truncations_ != truncations_) {
      // A reader past the lowest end that any truncation since it last looked left has returned
      // records that are gone, whatever has been appended since.
      const uint64_t lowest_end = log_.LowestEndSince(truncations_);
      if (next_offset_ > lowest_end) {
        return absl::FailedPreconditionError(
            base::Cat("the log was truncated to end at offset ", lowest_end,
                      ", before this reader's position ", next_offset_));
      }
      auto it = log_.segments_.find(segment_->first_offset);
      if (it == log_.segments_.end() || it->second != segment_) {
        return absl::FailedPreconditionError(
            base::Cat("the log was reset to start at offset ", log_.segments_.begin()->first,
                      "; this reader was at offset ", next_offset_));
      }
      truncations_ = log_.truncations_;
      // The read-ahead may hold bytes that the truncation removed (and that appends since have
      // replaced) or rewrote.
      buffer_.clear();
      buffer_start_ = 0;
    }
  }
  for (;;) {
    file_position_ = segment_->SkipDamaged(file_position_);
    const uint64_t visible = segment_->visible_size.load(std::memory_order_acquire);
    if (file_position_ + kRecordHeaderBytes > visible) {
      std::shared_ptr<Segment> next = log_.NextSegment(segment_->first_offset);
      // Once a newer segment exists, this one is finished: move on.
      if (next != nullptr &&
          file_position_ >= segment_->visible_size.load(std::memory_order_acquire)) {
        segment_ = std::move(next);
        file_position_ = kSegmentHeaderBytes;
        buffer_.clear();
        continue;
      }
      return std::nullopt;
    }
    KEEL_ASSIGN_OR_RETURN(const char* head, Fetch(file_position_, kRecordHeaderBytes, visible));
    const RecordHeader h = DecodeRecordHeader(head);
    if (h.length > kMaxRecordBytesLimit ||
        file_position_ + kRecordHeaderBytes + h.length > visible) {
      return absl::DataLossError(base::Cat(segment_->path, ": the record at position ",
                                           file_position_, " has a bad length ", h.length));
    }
    KEEL_ASSIGN_OR_RETURN(const char* record,
                          Fetch(file_position_, kRecordHeaderBytes + h.length, visible));
    const std::string_view payload(record + kRecordHeaderBytes, h.length);
    if (!RecordCrcMatches(record, payload, segment_->salt) || h.offset < next_offset_) {
      return absl::DataLossError(base::Cat(segment_->path, ": the record at position ",
                                           file_position_, " (offset ", next_offset_,
                                           ") is damaged"));
    }
    file_position_ += kRecordHeaderBytes + h.length;
    next_offset_ = h.offset + 1;
    return RecordView{h.offset, h.timestamp_ns, payload};
  }
}

}  // namespace keel::wal::internal
