// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The write-ahead log: group commit, segments, sparse indexes, recovery and readers. See
// keel/wal/log.h for the contract and docs/wal_format.md for the bytes.
#include "keel/wal/log.h"

#include <algorithm>
#include <atomic>
#include <cstdio>

#include "absl/strings/str_format.h"
#include "keel/base/assert.h"
#include "keel/base/crc32c.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "record.h"

namespace keel::wal {

using internal::IndexEntry;
using internal::RecordHeader;

namespace {

// A leader writes at most this much in one group (and always at least one caller's records), so
// that one slow, huge group does not hold everyone else up.
constexpr uint64_t kMaxGroupBytes = 8 << 20;

// Recovery reads segments through a window this large.
constexpr size_t kScanWindowBytes = 4 << 20;

// Readers read ahead this much.
constexpr size_t kReadAheadBytes = 256 << 10;

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

absl::Status CheckOptions(const LogOptions& o) {
  if (o.sync_interval_ns <= 0) {
    return absl::InvalidArgumentError(
        base::Cat("sync_interval_ns ", o.sync_interval_ns, " must be positive"));
  }
  if (o.max_segment_bytes < 4096 || o.max_segment_bytes > kMaxSegmentBytesLimit) {
    return absl::InvalidArgumentError(base::Cat("max_segment_bytes ", o.max_segment_bytes,
                                                " is outside [4096, ", kMaxSegmentBytesLimit, "]"));
  }
  if (o.max_record_bytes < 1 || o.max_record_bytes > kMaxRecordBytesLimit ||
      o.max_record_bytes + kRecordHeaderBytes + kSegmentHeaderBytes > o.max_segment_bytes) {
    return absl::InvalidArgumentError(
        base::Cat("max_record_bytes ", o.max_record_bytes, " is outside [1, ", kMaxRecordBytesLimit,
                  "] or does not fit in a segment of ", o.max_segment_bytes, " bytes"));
  }
  if (o.max_batch_records < 1) {
    return absl::InvalidArgumentError("max_batch_records must be at least 1");
  }
  if (o.index_interval_bytes < 64) {
    return absl::InvalidArgumentError(
        base::Cat("index_interval_bytes ", o.index_interval_bytes, " must be at least 64"));
  }
  return absl::OkStatus();
}

// Reads a file through a sliding window, for scanning.
class Window {
 public:
  explicit Window(const File& file) : file_(file), size_(file.size()) {}

  uint64_t size() const { return size_; }

  // The bytes [pos, pos + n), or an error. REQUIRES: pos + n <= size().
  absl::StatusOr<std::string_view> Get(uint64_t pos, size_t n) {
    if (pos < start_ || pos + n > start_ + data_.size()) {
      const size_t want =
          static_cast<size_t>(std::min<uint64_t>(std::max(n, kScanWindowBytes), size_ - pos));
      data_.resize(want);
      KEEL_ASSIGN_OR_RETURN(const size_t got, file_.ReadAt(pos, data_.data(), want));
      if (got < n) {
        return absl::DataLossError(base::Cat("short read at position ", pos));
      }
      data_.resize(got);
      start_ = pos;
    }
    return std::string_view(data_).substr(static_cast<size_t>(pos - start_), n);
  }

 private:
  const File& file_;
  uint64_t size_;
  uint64_t start_ = 0;
  std::string data_;
};

// A record's header and whether its bytes check out, at `pos` of a window.
struct Probe {
  bool complete = false;  // header and payload are within the file
  bool valid = false;     // and the CRC matches
  RecordHeader header{};
};

absl::StatusOr<Probe> ProbeRecord(Window& w, uint64_t pos) {
  Probe probe;
  if (w.size() - pos < kRecordHeaderBytes) return probe;
  KEEL_ASSIGN_OR_RETURN(const std::string_view head, w.Get(pos, kRecordHeaderBytes));
  probe.header = internal::DecodeRecordHeader(head.data());
  const uint64_t length = probe.header.length;
  if (length > kMaxRecordBytesLimit || w.size() - pos - kRecordHeaderBytes < length) return probe;
  probe.complete = true;
  if (!internal::IsRecordType(static_cast<uint8_t>(probe.header.type))) return probe;
  const std::string header_copy(head);  // the window may move when the payload is fetched
  KEEL_ASSIGN_OR_RETURN(const std::string_view payload,
                        w.Get(pos + kRecordHeaderBytes, static_cast<size_t>(length)));
  probe.valid = internal::RecordCrcMatches(header_copy.data(), payload);
  return probe;
}

// The position of the first valid record after `from` whose offset is at least `min_offset`, or
// nullopt. How a torn tail (nothing valid follows) is told from corruption (something does).
absl::StatusOr<std::optional<uint64_t>> FindValidRecordAfter(Window& w, uint64_t from,
                                                             uint64_t min_offset) {
  for (uint64_t pos = from + 1; pos + kRecordHeaderBytes <= w.size(); ++pos) {
    KEEL_ASSIGN_OR_RETURN(const std::string_view head, w.Get(pos, kRecordHeaderBytes));
    const RecordHeader h = internal::DecodeRecordHeader(head.data());
    // Cheap plausibility first; the CRC only for candidates.
    if (!internal::IsRecordType(static_cast<uint8_t>(h.type)) || h.offset < min_offset ||
        h.offset - min_offset > (uint64_t{1} << 40) || h.length > kMaxRecordBytesLimit ||
        w.size() - pos - kRecordHeaderBytes < h.length) {
      continue;
    }
    KEEL_ASSIGN_OR_RETURN(const Probe probe, ProbeRecord(w, pos));
    if (probe.valid) return pos;
  }
  return std::nullopt;
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

// ---------------------------------------------------------------------------------------------
// Segments and writers.
// ---------------------------------------------------------------------------------------------

struct Log::Segment {
  uint64_t first_offset = 0;
  std::string path;
  std::unique_ptr<File> file;
  // Bytes of complete records readers may read; a sealed segment's final size.
  std::atomic<uint64_t> visible_size{kSegmentHeaderBytes};
  std::atomic<uint64_t> end_offset{0};  // one past its last record
  std::atomic<int64_t> max_timestamp_ns{0};
  bool sealed = false;  // guarded by Log::mu_

  // Sparse index, ascending. The writer appends under index_mu; readers search under it.
  mutable std::mutex index_mu;
  std::vector<IndexEntry> index;
  uint64_t next_index_position = kSegmentHeaderBytes;  // only the writer touches this

  // Byte ranges [from, to) that kSkipCorruptedRecords recovery skipped; fixed after Open.
  std::vector<std::pair<uint64_t, uint64_t>> damaged;

  // The position and offset of the last indexed record at or before `offset`, or of the
  // segment's first record.
  std::pair<uint64_t, uint64_t> Seek(uint64_t offset) const {
    std::lock_guard<std::mutex> lock(index_mu);
    auto it = std::upper_bound(index.begin(), index.end(), offset,
                               [](uint64_t o, const IndexEntry& e) { return o < e.offset; });
    if (it == index.begin()) return {kSegmentHeaderBytes, first_offset};
    --it;
    return {it->position, it->offset};
  }

  void MaybeIndex(uint64_t offset, uint64_t position, uint32_t interval) {
    if (position < next_index_position) return;
    std::lock_guard<std::mutex> lock(index_mu);
    index.push_back({offset, position});
    next_index_position = position + interval;
  }
};

struct Log::Writer {
  std::string bytes;                    // the encoded records
  std::vector<uint32_t> record_starts;  // each record's position in `bytes`
  uint64_t first_offset = 0;
  uint32_t count = 0;
  int64_t timestamp_ns = 0;
  bool sync = false;
  bool done = false;
  absl::Status status;
  std::condition_variable cv;
};

Log::Log(std::string dir, const LogOptions& options, FileSystem& fs, const base::Clock& clock)
    : dir_(std::move(dir)), options_(options), fs_(fs), clock_(clock) {}

Log::~Log() { KEEL_ASSERT(queue_.empty(), "a Log destroyed while appends are in flight"); }

absl::StatusOr<std::unique_ptr<Log>> Log::Open(const std::string& dir, const LogOptions& options,
                                               RecoveryReport* report) {
  KEEL_RETURN_IF_ERROR(CheckOptions(options));
  FileSystem& fs = options.file_system != nullptr ? *options.file_system : FileSystem::Posix();
  const base::Clock& clock =
      options.clock != nullptr ? *options.clock : base::SystemClock::Default();
  std::unique_ptr<Log> log(new Log(dir, options, fs, clock));
  RecoveryReport local;
  RecoveryReport* r = report != nullptr ? report : &local;
  *r = RecoveryReport{};
  KEEL_RETURN_IF_ERROR(log->Recover(r));
  return log;
}

// ---------------------------------------------------------------------------------------------
// Appending.
// ---------------------------------------------------------------------------------------------

absl::StatusOr<uint64_t> Log::Append(std::string_view payload) {
  return Submit(std::span<const std::string_view>(&payload, 1));
}

absl::StatusOr<uint64_t> Log::AppendBatch(std::span<const std::string_view> payloads) {
  if (payloads.empty()) return absl::InvalidArgumentError("an empty batch appends nothing");
  if (payloads.size() > options_.max_batch_records) {
    return absl::InvalidArgumentError(base::Cat("a batch of ", payloads.size(),
                                                " records is over max_batch_records ",
                                                options_.max_batch_records));
  }
  return Submit(payloads);
}

absl::StatusOr<uint64_t> Log::Submit(std::span<const std::string_view> payloads) {
  // Everything that can be done without the lock is: checking sizes and checksumming payloads.
  uint64_t total = 0;
  std::vector<uint32_t> payload_crcs;
  payload_crcs.reserve(payloads.size());
  for (const std::string_view payload : payloads) {
    if (payload.size() > options_.max_record_bytes) {
      return absl::InvalidArgumentError(base::Cat("a record of ", payload.size(),
                                                  " bytes is over max_record_bytes ",
                                                  options_.max_record_bytes));
    }
    total += kRecordHeaderBytes + payload.size();
    payload_crcs.push_back(base::Crc32c(payload));
  }
  if (total + kSegmentHeaderBytes > options_.max_segment_bytes) {
    return absl::InvalidArgumentError(base::Cat("a batch of ", total,
                                                " bytes does not fit in a segment of ",
                                                options_.max_segment_bytes, " bytes"));
  }

  Writer w;
  w.sync = options_.sync == SyncPolicy::kEveryAppend;
  w.count = static_cast<uint32_t>(payloads.size());
  w.bytes.reserve(total);
  w.record_starts.reserve(payloads.size());

  std::unique_lock<std::mutex> lock(mu_);
  if (!broken_.ok()) {
    return absl::FailedPreconditionError(
        base::Cat("the log is read-only after an earlier write error: ", broken_.message()));
  }
  // Offsets are handed out in queue order, so records reach the file in offset order.
  w.first_offset = next_offset_;
  next_offset_ += w.count;
  w.timestamp_ns = clock_.NowNanos();
  for (size_t i = 0; i < payloads.size(); ++i) {
    const RecordType type = payloads.size() == 1       ? RecordType::kFull
                            : i == 0                   ? RecordType::kFirst
                            : i + 1 == payloads.size() ? RecordType::kLast
                                                       : RecordType::kMiddle;
    w.record_starts.push_back(static_cast<uint32_t>(w.bytes.size()));
    internal::EncodeRecord(w.bytes, type, w.first_offset + i, w.timestamp_ns, payloads[i],
                           payload_crcs[i]);
  }
  queue_.push_back(&w);
  while (!w.done && queue_.front() != &w) w.cv.wait(lock);
  if (w.done) {
    if (!w.status.ok()) return w.status;
    return w.first_offset;
  }

  // This writer leads: it takes the queue's front writers as a group, writes them with one
  // write (and one fsync if any needs it), and wakes them.
  std::vector<Writer*> group;
  uint64_t group_bytes = 0;
  bool sync = false;
  for (Writer* next : queue_) {
    if (!group.empty() && group_bytes + next->bytes.size() > kMaxGroupBytes) break;
    group.push_back(next);
    group_bytes += next->bytes.size();
    sync = sync || next->sync;
  }
  if (options_.sync == SyncPolicy::kInterval &&
      clock_.NowNanos() - last_sync_ns_ >= options_.sync_interval_ns) {
    sync = true;
  }
  absl::Status status = broken_;
  lock.unlock();
  if (status.ok()) {
    std::lock_guard<std::mutex> write_lock(write_mu_);
    status = WriteGroup(group, sync);
  }
  lock.lock();

  const Writer* last = group.back();
  if (status.ok()) {
    written_offset_ = last->first_offset + last->count;
    if (sync) {
      durable_offset_ = written_offset_;
      last_sync_ns_ = clock_.NowNanos();
    }
    stats_.appends += group.size();
    for (const Writer* g : group) stats_.records += g->count;
    stats_.bytes += group_bytes;
    if (group.size() > 1) ++stats_.group_commits;
  } else if (broken_.ok()) {
    broken_ = status;
  }
  for (Writer* g : group) {
    queue_.pop_front();
    g->status = status;
    g->done = true;
    if (g != &w) g->cv.notify_one();
  }
  if (!queue_.empty()) queue_.front()->cv.notify_one();
  durable_cv_.notify_all();
  if (!status.ok()) return status;
  return w.first_offset;
}

absl::Status Log::WriteGroup(std::vector<Writer*>& group, bool sync) {
  std::shared_ptr<Segment> active = segments_.rbegin()->second;
  std::string pending;
  auto flush = [&]() -> absl::Status {
    if (pending.empty()) return absl::OkStatus();
    KEEL_RETURN_IF_ERROR(active->file->Append(pending));
    pending.clear();
    active->visible_size.store(active->file->size(), std::memory_order_release);
    return absl::OkStatus();
  };
  for (Writer* w : group) {
    const uint64_t at = active->file->size() + pending.size();
    if (at + w->bytes.size() > options_.max_segment_bytes && at > kSegmentHeaderBytes) {
      KEEL_RETURN_IF_ERROR(flush());
      KEEL_RETURN_IF_ERROR(RollSegment(w->first_offset));
      active = segments_.rbegin()->second;
    }
    const uint64_t base = active->file->size() + pending.size();
    for (uint32_t i = 0; i < w->count; ++i) {
      active->MaybeIndex(w->first_offset + i, base + w->record_starts[i],
                         options_.index_interval_bytes);
    }
    if (group.size() == 1) {
      KEEL_RETURN_IF_ERROR(active->file->Append(w->bytes));
      active->visible_size.store(active->file->size(), std::memory_order_release);
    } else {
      pending += w->bytes;
    }
    active->end_offset.store(w->first_offset + w->count, std::memory_order_release);
    if (w->timestamp_ns > active->max_timestamp_ns.load(std::memory_order_relaxed)) {
      active->max_timestamp_ns.store(w->timestamp_ns, std::memory_order_relaxed);
    }
  }
  KEEL_RETURN_IF_ERROR(flush());
  if (sync) {
    KEEL_RETURN_IF_ERROR(active->file->Sync());
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.syncs;
  }
  return absl::OkStatus();
}

// Seals the active segment (synced, with its index file) and starts a new one at `first_offset`.
// The old segment is synced whatever the policy: a later segment's records must never be durable
// while an earlier one's are not, or a crash would leave a hole. REQUIRES: write_mu_ held.
absl::Status Log::RollSegment(uint64_t first_offset) {
  std::shared_ptr<Segment> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!segments_.empty()) old = segments_.rbegin()->second;
  }
  if (old != nullptr) {
    KEEL_RETURN_IF_ERROR(old->file->Sync());
    internal::SegmentIndex index;
    index.segment_size = old->file->size();
    index.end_offset = old->end_offset.load();
    index.max_timestamp_ns = old->max_timestamp_ns.load();
    {
      std::lock_guard<std::mutex> lock(old->index_mu);
      index.entries = old->index;
    }
    const std::string index_path = base::Cat(dir_, "/", IndexFileName(old->first_offset));
    const std::string temp_path = index_path + ".tmp";
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> temp, fs_.Open(temp_path, OpenMode::kCreate));
    KEEL_RETURN_IF_ERROR(temp->Append(internal::EncodeIndex(index)));
    KEEL_RETURN_IF_ERROR(temp->Sync());
    KEEL_RETURN_IF_ERROR(fs_.Rename(temp_path, index_path));
  }
  // The new file (and the old one's index) exist durably before any record is put in it.
  KEEL_ASSIGN_OR_RETURN(std::shared_ptr<Segment> segment, CreateSegment(first_offset));
  std::lock_guard<std::mutex> lock(mu_);
  if (old != nullptr) {
    old->sealed = true;
    durable_offset_ = std::max(durable_offset_, old->end_offset.load());
    stats_.syncs += 1;
  }
  segments_[first_offset] = std::move(segment);
  return absl::OkStatus();
}

// Creates an empty segment file starting at `first_offset`, durably (the file, its header and its
// directory entry). REQUIRES: write_mu_ held.
absl::StatusOr<std::shared_ptr<Log::Segment>> Log::CreateSegment(uint64_t first_offset) {
  auto segment = std::make_shared<Segment>();
  segment->first_offset = first_offset;
  segment->path = base::Cat(dir_, "/", SegmentFileName(first_offset));
  KEEL_ASSIGN_OR_RETURN(segment->file, fs_.Open(segment->path, OpenMode::kCreate));
  KEEL_RETURN_IF_ERROR(segment->file->Append(internal::EncodeSegmentHeader(first_offset)));
  KEEL_RETURN_IF_ERROR(segment->file->Sync());
  KEEL_RETURN_IF_ERROR(fs_.SyncDir(dir_));
  segment->visible_size.store(kSegmentHeaderBytes);
  segment->end_offset.store(first_offset);
  return segment;
}

// ---------------------------------------------------------------------------------------------
// Syncing.
// ---------------------------------------------------------------------------------------------

absl::Status Log::SyncActive() {
  std::lock_guard<std::mutex> write_lock(write_mu_);
  std::shared_ptr<Segment> active;
  uint64_t target;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!broken_.ok()) {
      return absl::FailedPreconditionError(
          base::Cat("the log is read-only after an earlier write error: ", broken_.message()));
    }
    active = segments_.rbegin()->second;
    target = written_offset_;
    if (durable_offset_ >= target) return absl::OkStatus();
  }
  const absl::Status status = active->file->Sync();
  std::lock_guard<std::mutex> lock(mu_);
  if (!status.ok()) {
    if (broken_.ok()) broken_ = status;
    return status;
  }
  durable_offset_ = std::max(durable_offset_, target);
  last_sync_ns_ = clock_.NowNanos();
  ++stats_.syncs;
  durable_cv_.notify_all();
  return absl::OkStatus();
}

absl::Status Log::Sync() { return SyncActive(); }

absl::Status Log::SyncIfDue() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (durable_offset_ >= written_offset_ ||
        clock_.NowNanos() - last_sync_ns_ < options_.sync_interval_ns) {
      return absl::OkStatus();
    }
  }
  return SyncActive();
}

absl::Status Log::WaitDurable(uint64_t offset) {
  std::unique_lock<std::mutex> lock(mu_);
  if (offset > next_offset_) {
    return absl::OutOfRangeError(
        base::Cat("offset ", offset, " has not been appended (next is ", next_offset_, ")"));
  }
  while (durable_offset_ < offset) {
    if (!broken_.ok()) return broken_;
    if (written_offset_ >= offset) {
      lock.unlock();
      KEEL_RETURN_IF_ERROR(SyncActive());
      lock.lock();
    } else {
      durable_cv_.wait(lock);  // the records are still queued; the leader wakes us
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Offsets, segments, stats.
// ---------------------------------------------------------------------------------------------

uint64_t Log::first_offset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return segments_.begin()->first;
}

uint64_t Log::next_offset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_offset_;
}

uint64_t Log::durable_offset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return durable_offset_;
}

LogStats Log::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  LogStats stats = stats_;
  stats.segments = segments_.size();
  return stats;
}

uint64_t Log::size_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t total = 0;
  for (const auto& [first, segment] : segments_) total += segment->visible_size.load();
  return total;
}

std::shared_ptr<Log::Segment> Log::SegmentFor(uint64_t offset) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = segments_.upper_bound(offset);
  if (it == segments_.begin()) return nullptr;
  return std::prev(it)->second;
}

std::shared_ptr<Log::Segment> Log::NextSegment(uint64_t after_first_offset) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = segments_.upper_bound(after_first_offset);
  return it == segments_.end() ? nullptr : it->second;
}

// Removes a segment's files. REQUIRES: write_mu_ held; not the active segment.
absl::Status Log::RemoveSegment(uint64_t first_offset) {
  std::shared_ptr<Segment> segment;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = segments_.find(first_offset);
    KEEL_ASSERT(it != segments_.end() && std::next(it) != segments_.end());
    segment = it->second;
    segments_.erase(it);
  }
  // Readers holding the segment keep reading the unlinked file until they move on.
  KEEL_RETURN_IF_ERROR(fs_.Remove(segment->path));
  const absl::Status index = fs_.Remove(base::Cat(dir_, "/", IndexFileName(first_offset)));
  if (!index.ok() && index.code() != absl::StatusCode::kNotFound) return index;
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Log::DropBefore(uint64_t offset) {
  std::lock_guard<std::mutex> write_lock(write_mu_);
  std::vector<uint64_t> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = segments_.begin(); std::next(it) != segments_.end(); ++it) {
      if (it->second->end_offset.load() > offset) break;
      doomed.push_back(it->first);
    }
  }
  for (const uint64_t first : doomed) KEEL_RETURN_IF_ERROR(RemoveSegment(first));
  if (!doomed.empty()) KEEL_RETURN_IF_ERROR(fs_.SyncDir(dir_));
  return first_offset();
}

absl::StatusOr<size_t> Log::ApplyRetention(uint64_t max_bytes, int64_t max_age_ns) {
  std::lock_guard<std::mutex> write_lock(write_mu_);
  const int64_t now = clock_.NowNanos();
  std::vector<uint64_t> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t total = 0;
    for (const auto& [first, segment] : segments_) total += segment->visible_size.load();
    // Only a prefix of segments can go, oldest first, so that the log stays contiguous.
    for (auto it = segments_.begin(); std::next(it) != segments_.end(); ++it) {
      const bool too_big = max_bytes > 0 && total > max_bytes;
      const bool too_old = max_age_ns > 0 && it->second->max_timestamp_ns.load() < now - max_age_ns;
      if (!too_big && !too_old) break;
      total -= it->second->visible_size.load();
      doomed.push_back(it->first);
    }
  }
  for (const uint64_t first : doomed) KEEL_RETURN_IF_ERROR(RemoveSegment(first));
  if (!doomed.empty()) KEEL_RETURN_IF_ERROR(fs_.SyncDir(dir_));
  return doomed.size();
}

// ---------------------------------------------------------------------------------------------
// Truncation.
// ---------------------------------------------------------------------------------------------

absl::Status Log::Truncate(uint64_t end_offset) {
  std::lock_guard<std::mutex> write_lock(write_mu_);
  std::shared_ptr<Segment> segment;
  std::vector<uint64_t> later;
  {
    std::lock_guard<std::mutex> lock(mu_);
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
  // Find where record `end_offset` starts, and the record before it, if in this segment: start
  // from an indexed record before that one, so that the previous record is always read.
  auto [pos, offset] =
      segment->Seek(end_offset > segment->first_offset ? end_offset - 1 : end_offset);
  uint64_t previous_pos = 0;
  RecordHeader previous{};
  bool have_previous = false;
  std::string bytes(kRecordHeaderBytes, '\0');
  while (offset < end_offset) {
    KEEL_ASSIGN_OR_RETURN(const size_t got, segment->file->ReadAt(pos, bytes.data(), bytes.size()));
    if (got < kRecordHeaderBytes) {
      return absl::DataLossError(
          base::Cat(segment->path, ": record ", offset, " is cut short at position ", pos));
    }
    previous = internal::DecodeRecordHeader(bytes.data());
    previous_pos = pos;
    have_previous = true;
    pos += kRecordHeaderBytes + previous.length;
    offset = previous.offset + 1;
  }
  // Later segments go first, so that a crash half-way leaves a log that is merely longer.
  for (auto it = later.rbegin(); it != later.rend(); ++it) {
    std::shared_ptr<Segment> doomed;
    {
      std::lock_guard<std::mutex> lock(mu_);
      doomed = segments_.at(*it);
      segments_.erase(*it);
    }
    KEEL_RETURN_IF_ERROR(fs_.Remove(doomed->path));
    const absl::Status index = fs_.Remove(base::Cat(dir_, "/", IndexFileName(*it)));
    if (!index.ok() && index.code() != absl::StatusCode::kNotFound) return index;
  }
  // A cut inside a batch ends the batch at the last record kept, so that recovery does not take
  // the shortened batch for a torn one and drop it.
  std::string rewritten;
  uint64_t cut = pos;
  if (have_previous &&
      (previous.type == RecordType::kFirst || previous.type == RecordType::kMiddle)) {
    std::string payload(previous.length, '\0');
    KEEL_ASSIGN_OR_RETURN(const size_t got, segment->file->ReadAt(previous_pos + kRecordHeaderBytes,
                                                                  payload.data(), payload.size()));
    if (got < payload.size()) {
      return absl::DataLossError(
          base::Cat(segment->path, ": record ", previous.offset, " is cut short"));
    }
    const RecordType type =
        previous.type == RecordType::kFirst ? RecordType::kFull : RecordType::kLast;
    internal::EncodeRecord(rewritten, type, previous.offset, previous.timestamp_ns, payload,
                           base::Crc32c(payload));
    cut = previous_pos;
  }
  KEEL_RETURN_IF_ERROR(segment->file->Truncate(cut));
  if (!rewritten.empty()) KEEL_RETURN_IF_ERROR(segment->file->Append(rewritten));
  KEEL_RETURN_IF_ERROR(segment->file->Sync());
  const absl::Status index = fs_.Remove(base::Cat(dir_, "/", IndexFileName(segment->first_offset)));
  if (!index.ok() && index.code() != absl::StatusCode::kNotFound) return index;
  KEEL_RETURN_IF_ERROR(fs_.SyncDir(dir_));
  {
    std::lock_guard<std::mutex> index_lock(segment->index_mu);
    auto& entries = segment->index;
    entries.erase(std::lower_bound(entries.begin(), entries.end(), end_offset,
                                   [](const IndexEntry& e, uint64_t o) { return e.offset < o; }),
                  entries.end());
    segment->next_index_position = entries.empty()
                                       ? kSegmentHeaderBytes
                                       : entries.back().position + options_.index_interval_bytes;
  }
  segment->visible_size.store(segment->file->size(), std::memory_order_release);
  segment->end_offset.store(end_offset);
  std::lock_guard<std::mutex> lock(mu_);
  segment->sealed = false;
  next_offset_ = written_offset_ = end_offset;
  durable_offset_ = std::min(durable_offset_, end_offset);
  ++truncations_;
  return absl::OkStatus();
}

absl::Status Log::Reset(uint64_t next_offset) {
  std::lock_guard<std::mutex> write_lock(write_mu_);
  std::vector<std::shared_ptr<Segment>> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!queue_.empty()) {
      return absl::FailedPreconditionError("cannot reset while appends are in flight");
    }
    if (!broken_.ok()) return absl::FailedPreconditionError(broken_.message());
    for (const auto& [first, segment] : segments_) old.push_back(segment);
  }
  // Oldest first, so that a crash part-way leaves a contiguous (shorter) log; readers holding an
  // old segment keep reading its unlinked file until they notice the reset.
  for (const std::shared_ptr<Segment>& segment : old) {
    KEEL_RETURN_IF_ERROR(fs_.Remove(segment->path));
    const absl::Status index =
        fs_.Remove(base::Cat(dir_, "/", IndexFileName(segment->first_offset)));
    if (!index.ok() && index.code() != absl::StatusCode::kNotFound) return index;
  }
  KEEL_RETURN_IF_ERROR(fs_.SyncDir(dir_));
  KEEL_ASSIGN_OR_RETURN(std::shared_ptr<Segment> segment, CreateSegment(next_offset));
  std::lock_guard<std::mutex> lock(mu_);
  segments_.clear();
  segments_[next_offset] = std::move(segment);
  next_offset_ = written_offset_ = durable_offset_ = next_offset;
  ++truncations_;
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Recovery.
// ---------------------------------------------------------------------------------------------

absl::Status Log::Recover(RecoveryReport* report) {
  KEEL_RETURN_IF_ERROR(fs_.CreateDir(dir_));
  // Two writers would interleave records; the second Open fails instead.
  KEEL_ASSIGN_OR_RETURN(lock_, fs_.Lock(base::Cat(dir_, "/", kLockFileName)));
  KEEL_ASSIGN_OR_RETURN(const std::vector<std::string> names, fs_.List(dir_));
  std::vector<uint64_t> firsts;
  bool removed_files = false;
  for (const std::string& name : names) {
    if (const auto first = ParseFileName(name, kSegmentSuffix)) {
      firsts.push_back(*first);
    } else if (name == kLockFileName) {
      // Ours, taken above.
    } else if (ParseFileName(name, kIndexSuffix)) {
      // Read with its segment.
    } else if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp" &&
               ParseFileName(name.substr(0, name.size() - 4), kIndexSuffix)) {
      // An index file a crash interrupted; its segment still has everything.
      KEEL_RETURN_IF_ERROR(fs_.Remove(base::Cat(dir_, "/", name)));
      report->events.push_back(base::Cat("removed ", name, ", an unfinished index file"));
      removed_files = true;
    } else {
      return absl::FailedPreconditionError(base::Cat("directory ", base::Quoted(dir_, 256),
                                                     " is not a keel log: it holds ",
                                                     base::Quoted(name, 256)));
    }
  }
  std::sort(firsts.begin(), firsts.end());
  std::lock_guard<std::mutex> write_lock(write_mu_);
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
      KEEL_RETURN_IF_ERROR(fs_.Remove(base::Cat(dir_, "/", SegmentFileName(first))));
      const absl::Status index = fs_.Remove(base::Cat(dir_, "/", IndexFileName(first)));
      if (!index.ok() && index.code() != absl::StatusCode::kNotFound) return index;
      report->events.push_back(base::Cat("removed ", SegmentFileName(first)));
      removed_files = true;
      continue;
    }
    KEEL_RETURN_IF_ERROR(RecoverSegment(first, i + 1 == firsts.size(), report, &drop_rest));
    removed_files = removed_files || drop_rest;
  }
  if (removed_files) KEEL_RETURN_IF_ERROR(fs_.SyncDir(dir_));

  if (segments_.empty()) {
    // A new log, or one whose only segment was never finished being created.
    KEEL_RETURN_IF_ERROR(RollSegment(firsts.empty() ? 0 : firsts.front()));
  }
  std::shared_ptr<Segment> active = segments_.rbegin()->second;
  if (active->sealed) {
    // Later segments were dropped: this one takes appends again, and its index file goes.
    const absl::Status index =
        fs_.Remove(base::Cat(dir_, "/", IndexFileName(active->first_offset)));
    if (!index.ok() && index.code() != absl::StatusCode::kNotFound) return index;
    active->sealed = false;
  }
  {
    std::lock_guard<std::mutex> index_lock(active->index_mu);
    active->next_index_position =
        active->index.empty() ? kSegmentHeaderBytes
                              : active->index.back().position + options_.index_interval_bytes;
  }
  // What a crashed process left in the page cache is not yet on disk: sync it before calling it
  // durable.
  KEEL_RETURN_IF_ERROR(active->file->Sync());
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

absl::Status Log::RecoverSegment(uint64_t first_offset, bool is_last, RecoveryReport* report,
                                 bool* drop_rest) {
  auto segment = std::make_shared<Segment>();
  segment->first_offset = first_offset;
  segment->path = base::Cat(dir_, "/", SegmentFileName(first_offset));
  KEEL_ASSIGN_OR_RETURN(segment->file, fs_.Open(segment->path, OpenMode::kExisting));
  const std::string name = SegmentFileName(first_offset);
  const uint64_t size = segment->file->size();
  Window window(*segment->file);

  std::optional<uint64_t> header;
  if (size >= kSegmentHeaderBytes) {
    KEEL_ASSIGN_OR_RETURN(const std::string_view bytes, window.Get(0, kSegmentHeaderBytes));
    header = internal::DecodeSegmentHeader(bytes);
  }
  if (!header || *header != first_offset) {
    if (is_last && size <= kSegmentHeaderBytes) {
      // A crash while the segment was being created: it never held a record.
      segment->file.reset();
      KEEL_RETURN_IF_ERROR(fs_.Remove(segment->path));
      report->events.push_back(base::Cat("removed ", name,
                                         ", a segment whose creation a crash "
                                         "interrupted"));
      *drop_rest = true;  // nothing after it either; makes Recover sync the directory
      return absl::OkStatus();
    }
    const std::string what = base::Cat(name, " has a damaged header");
    if (options_.recovery == RecoveryMode::kPointInTime && !segments_.empty()) {
      segment->file.reset();
      KEEL_RETURN_IF_ERROR(fs_.Remove(segment->path));
      report->events.push_back(base::Cat(what, ": dropping it and everything after"));
      *drop_rest = true;
      return absl::OkStatus();
    }
    return absl::DataLossError(
        base::Cat(what, " (recovery mode ", ModeName(options_.recovery), ")"));
  }

  // A sealed segment with an intact index that matches it is trusted without a scan.
  const std::string index_path = base::Cat(dir_, "/", IndexFileName(first_offset));
  if (!is_last) {
    absl::StatusOr<std::unique_ptr<File>> index_file = fs_.Open(index_path, OpenMode::kExisting);
    if (index_file.ok()) {
      std::string bytes((*index_file)->size(), '\0');
      KEEL_ASSIGN_OR_RETURN(const size_t got, (*index_file)->ReadAt(0, bytes.data(), bytes.size()));
      bytes.resize(got);
      absl::StatusOr<internal::SegmentIndex> index = internal::DecodeIndex(bytes);
      if (index.ok() && index->segment_size == size && index->end_offset >= first_offset) {
        segment->index = std::move(index->entries);
        segment->visible_size.store(size);
        segment->end_offset.store(index->end_offset);
        segment->max_timestamp_ns.store(index->max_timestamp_ns);
        segment->sealed = true;
        segments_[first_offset] = std::move(segment);
        return absl::OkStatus();
      }
      report->events.push_back(base::Cat("index of ", name, " is damaged or stale (",
                                         index.ok() ? "size mismatch" : index.status().message(),
                                         "): rebuilt from the segment"));
    } else {
      report->events.push_back(base::Cat("index of ", name, " is missing: rebuilt"));
    }
    ++report->rebuilt_indexes;
  }

  // Scan every record. `committed` is the end of the last complete unit (a record, or a whole
  // batch); damage is judged from there.
  uint64_t pos = kSegmentHeaderBytes;
  uint64_t expected = first_offset;
  uint64_t committed_pos = pos;
  uint64_t committed_offset = first_offset;
  bool batch_open = false;
  int64_t max_ts = 0;
  std::vector<IndexEntry> index;
  uint64_t next_index_position = kSegmentHeaderBytes;
  std::vector<std::pair<uint64_t, uint64_t>> damaged;
  for (;;) {
    std::string problem;
    if (pos < size) {
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

    // Damage. It is a torn tail when nothing valid follows it in the last segment: no record
    // past the damage with an offset beyond those already seen (the records of an unfinished
    // batch before it are valid, but they are part of the damage).
    const uint64_t at = committed_pos;
    KEEL_ASSIGN_OR_RETURN(const std::optional<uint64_t> resync,
                          FindValidRecordAfter(window, std::max(pos, at), expected));
    const bool torn_tail = is_last && !resync.has_value();
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
      KEEL_RETURN_IF_ERROR(segment->file->Truncate(at));
      KEEL_RETURN_IF_ERROR(segment->file->Sync());
      if (torn_tail) {
        report->torn_tail_bytes += size - at;
        report->events.push_back(base::Cat(what, ": cut ", size - at, " bytes of torn write"));
      } else {
        report->events.push_back(base::Cat(what, ": cut the log at offset ", committed_offset));
        // Count the valid records dropped with it, for the report.
        for (std::optional<uint64_t> p = resync; p;) {
          KEEL_ASSIGN_OR_RETURN(const Probe probe, ProbeRecord(window, *p));
          if (!probe.valid) break;
          ++report->dropped_records;
          p = *p + kRecordHeaderBytes + probe.header.length;
          if (*p >= size) break;
        }
        *drop_rest = true;
      }
      while (!index.empty() && index.back().position >= at) index.pop_back();
      pos = at;
      expected = committed_offset;
      break;
    }
    // kSkipCorruptedRecords with valid records later: skip the damaged bytes.
    KEEL_ASSIGN_OR_RETURN(const Probe next, ProbeRecord(window, *resync));
    damaged.push_back({at, *resync});
    report->skipped_bytes += *resync - at;
    report->events.push_back(base::Cat(what, ": skipped ", *resync - at, " bytes, offsets ",
                                       committed_offset, " to ", next.header.offset - 1,
                                       " are missing"));
    skipped_offsets_ += next.header.offset - committed_offset;
    pos = *resync;
    expected = next.header.offset;
    committed_pos = pos;
    committed_offset = expected;
    batch_open = false;
  }
  segment->index = std::move(index);
  segment->damaged = std::move(damaged);
  segment->visible_size.store(segment->file->size());
  segment->end_offset.store(expected);
  segment->max_timestamp_ns.store(max_ts);
  segment->sealed = !is_last && !*drop_rest;
  if (segment->sealed) {
    // Rebuild the index file the scan replaced.
    internal::SegmentIndex rebuilt{segment->file->size(), expected, max_ts, segment->index};
    const std::string temp_path = index_path + ".tmp";
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> temp, fs_.Open(temp_path, OpenMode::kCreate));
    KEEL_RETURN_IF_ERROR(temp->Append(internal::EncodeIndex(rebuilt)));
    KEEL_RETURN_IF_ERROR(temp->Sync());
    KEEL_RETURN_IF_ERROR(fs_.Rename(temp_path, index_path));
    KEEL_RETURN_IF_ERROR(fs_.SyncDir(dir_));
  }
  segments_[first_offset] = std::move(segment);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Reading.
// ---------------------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<LogReader>> Log::NewReader(uint64_t from) const {
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
  std::unique_ptr<LogReader> reader(
      new LogReader(*this, std::move(segment), position, offset, truncations));
  // From the indexed record to the one asked for (or, past missing offsets, the next one): read
  // records until one is at or past `from`, then step back before it.
  while (reader->position() < from) {
    KEEL_ASSIGN_OR_RETURN(const std::optional<RecordView> record, reader->Next());
    if (!record) break;
    if (record->offset >= from) {
      reader->file_position_ -= kRecordHeaderBytes + record->payload.size();
      reader->next_offset_ = record->offset;
      break;
    }
  }
  return reader;
}

LogReader::LogReader(const Log& log, std::shared_ptr<Log::Segment> segment, uint64_t file_position,
                     uint64_t next_offset, uint64_t truncations)
    : log_(log),
      segment_(std::move(segment)),
      file_position_(file_position),
      next_offset_(next_offset),
      truncations_(truncations) {}

absl::StatusOr<std::optional<RecordView>> LogReader::Next() {
  {
    std::lock_guard<std::mutex> lock(log_.mu_);
    if (log_.truncations_ != truncations_) {
      if (next_offset_ > log_.next_offset_) {
        return absl::FailedPreconditionError(
            base::Cat("the log was truncated to end at offset ", log_.next_offset_,
                      ", before this reader's position ", next_offset_));
      }
      auto it = log_.segments_.find(segment_->first_offset);
      if (it == log_.segments_.end() || it->second != segment_) {
        return absl::FailedPreconditionError(
            base::Cat("the log was reset to start at offset ", log_.segments_.begin()->first,
                      "; this reader was at offset ", next_offset_));
      }
      truncations_ = log_.truncations_;
    }
  }
  for (;;) {
    for (const auto& [from, to] : segment_->damaged) {
      if (file_position_ == from) file_position_ = to;
    }
    const uint64_t visible = segment_->visible_size.load(std::memory_order_acquire);
    if (file_position_ + kRecordHeaderBytes > visible) {
      std::shared_ptr<Log::Segment> next = log_.NextSegment(segment_->first_offset);
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
    // Read ahead; the record must lie within what is visible.
    auto fetch = [&](uint64_t pos, size_t n) -> absl::StatusOr<const char*> {
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
    };
    KEEL_ASSIGN_OR_RETURN(const char* head, fetch(file_position_, kRecordHeaderBytes));
    const RecordHeader h = internal::DecodeRecordHeader(head);
    if (h.length > kMaxRecordBytesLimit ||
        file_position_ + kRecordHeaderBytes + h.length > visible) {
      return absl::DataLossError(base::Cat(segment_->path, ": the record at position ",
                                           file_position_, " has a bad length ", h.length));
    }
    KEEL_ASSIGN_OR_RETURN(const char* record, fetch(file_position_, kRecordHeaderBytes + h.length));
    const std::string_view payload(record + kRecordHeaderBytes, h.length);
    if (!internal::RecordCrcMatches(record, payload) || h.offset < next_offset_) {
      return absl::DataLossError(base::Cat(segment_->path, ": the record at position ",
                                           file_position_, " (offset ", next_offset_,
                                           ") is damaged"));
    }
    file_position_ += kRecordHeaderBytes + h.length;
    next_offset_ = h.offset + 1;
    return RecordView{h.offset, h.timestamp_ns, payload};
  }
}

}  // namespace keel::wal
