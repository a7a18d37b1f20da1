// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The write-ahead log: group commit, segments, sparse indexes, recovery and readers. See
// keel/wal/log.h for the contract and docs/wal_format.md for the bytes.
#include "keel/wal/log.h"

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <ctime>
#include <thread>

#include "absl/container/inlined_vector.h"
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
// Payloads up to this size are checksummed under the lock along with the record's header fields;
// larger ones outside it, and the two CRCs combined (which costs a fixed ~70 ns).
constexpr size_t kDirectCrcMaxBytes = 4096;
// A thread keeps its encoding buffer between appends up to this size.
constexpr uint64_t kMaxRetainedBytes = 1 << 20;
// The longest a leader waits for the writers it expects back (see Submit).
constexpr int64_t kMaxGatherNanos = 200'000;

// Sleeping until a word changes, and waking all its sleepers. std::atomic's wait and notify_all
// would do, but libstdc++'s wait spins and calls sched_yield before it sleeps: with 16 appenders
// on two cores, those yields and the task switches they caused were most of group commit's
// hand-over (a profile put 60% of the CPU in them). Linux's futex sleeps at once.
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) &&
              std::atomic<uint32_t>::is_always_lock_free);

void WaitWhileEqual(std::atomic<uint32_t>& word, uint32_t value) {
#if defined(__linux__)
  // Returns at once if the word no longer holds `value`; spurious returns are the caller's loop's.
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, value, nullptr,
          nullptr, 0);
#else
  word.wait(value, std::memory_order_acquire);
#endif
}

// As WaitWhileEqual, for at most `timeout_ns` (> 0).
void WaitWhileEqualFor(std::atomic<uint32_t>& word, uint32_t value, int64_t timeout_ns) {
#if defined(__linux__)
  const timespec timeout{static_cast<time_t>(timeout_ns / 1'000'000'000),
                         static_cast<long>(timeout_ns % 1'000'000'000)};
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, value, &timeout,
          nullptr, 0);
#else
  // std::atomic has no timed wait: poll.
  if (word.load(std::memory_order_acquire) == value) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<int64_t>(timeout_ns, 20'000)));
  }
#endif
}

void WakeAll(std::atomic<uint32_t>& word) {
#if defined(__linux__)
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr,
          nullptr, 0);
#else
  word.notify_all();
#endif
}

// Recovery reads segments through a window this large.
constexpr size_t kScanWindowBytes = 4 << 20;

// Runs of preallocated zeros are checked this much at a time.
constexpr uint64_t kZeroScanBytes = 64 << 10;

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

// The position of the first valid record after `from` whose offset is at least `min_offset` (and
// that is a sync point, if `sync_points_only`), or nullopt. How a torn tail (nothing valid
// follows) is told from corruption (something does).
absl::StatusOr<std::optional<uint64_t>> FindValidRecordAfter(Window& w, uint64_t from,
                                                             uint64_t min_offset,
                                                             bool sync_points_only = false) {
  for (uint64_t pos = from + 1; pos + kRecordHeaderBytes <= w.size(); ++pos) {
    KEEL_ASSIGN_OR_RETURN(const std::string_view head, w.Get(pos, kRecordHeaderBytes));
    const RecordHeader h = internal::DecodeRecordHeader(head.data());
    // Cheap plausibility first; the CRC only for candidates.
    if ((sync_points_only && !h.sync_point) ||
        !internal::IsRecordType(static_cast<uint8_t>(h.type)) || h.offset < min_offset ||
        h.offset - min_offset > (uint64_t{1} << 40) || h.length > kMaxRecordBytesLimit ||
        w.size() - pos - kRecordHeaderBytes < h.length) {
      continue;
    }
    KEEL_ASSIGN_OR_RETURN(const Probe probe, ProbeRecord(w, pos));
    if (probe.valid) return pos;
  }
  return std::nullopt;
}

// Whether every byte from `from` to the end of the window is zero: what a log that preallocates
// leaves after its last record (see LogOptions::preallocate_bytes). No record's header is all
// zeros (type 0 is none), so a run of zeros where a record would start is the end of the log.
absl::StatusOr<bool> ZerosToEnd(Window& w, uint64_t from) {
  for (uint64_t pos = from; pos < w.size();) {
    // The first chunk is a record header's worth: where one starts, that is all it takes.
    const uint64_t chunk = pos == from ? kRecordHeaderBytes : kZeroScanBytes;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, w.size() - pos));
    KEEL_ASSIGN_OR_RETURN(const std::string_view bytes, w.Get(pos, n));
    if (bytes.find_first_not_of('\0') != std::string_view::npos) return false;
    pos += n;
  }
  return true;
}

// The end of the bytes in [from, end of window) that are not a trailing run of zeros.
absl::StatusOr<uint64_t> EndOfNonZero(Window& w, uint64_t from) {
  for (uint64_t hi = w.size(); hi > from;) {
    const uint64_t lo = hi - std::min(kZeroScanBytes, hi - from);
    KEEL_ASSIGN_OR_RETURN(const std::string_view bytes, w.Get(lo, static_cast<size_t>(hi - lo)));
    const size_t last = bytes.find_last_not_of('\0');
    if (last != std::string_view::npos) return lo + last + 1;
    hi = lo;
  }
  return from;
}

// How many intact records follow one another from `position`, up to the first that is not.
absl::StatusOr<uint64_t> CountIntactFrom(Window& w, uint64_t position) {
  uint64_t count = 0;
  while (position < w.size()) {
    KEEL_ASSIGN_OR_RETURN(const Probe probe, ProbeRecord(w, position));
    if (!probe.valid) break;
    ++count;
    position += kRecordHeaderBytes + probe.header.length;
  }
  return count;
}

// The index file at `path`. Errors: kNotFound when there is none; kDataLoss when it is damaged.
absl::StatusOr<internal::SegmentIndex> ReadIndexFile(FileSystem& fs, const std::string& path) {
  KEEL_ASSIGN_OR_RETURN(const std::unique_ptr<File> file, fs.Open(path, OpenMode::kExisting));
  std::string bytes(file->size(), '\0');
  KEEL_ASSIGN_OR_RETURN(const size_t got, file->ReadAt(0, bytes.data(), bytes.size()));
  bytes.resize(got);
  return internal::DecodeIndex(bytes);
}

// What a log directory holds, by kind.
struct Listing {
  std::vector<uint64_t> segments;       // first offsets, ascending
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
    } else if (ParseFileName(name, kIndexSuffix)) {
      // Read with its segment.
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
  // Flagged kSegmentSyncPoints: preallocated, and its records mark sync points (see WriteGroup).
  bool sync_points = false;

  // Sparse index, ascending. The writer appends under index_mu; readers search under it.
  mutable std::mutex index_mu;
  std::vector<IndexEntry> index;
  uint64_t next_index_position = kSegmentHeaderBytes;  // only the writer touches this

  // Byte ranges [from, to) that kSkipCorruptedRecords recovery skipped, ascending: set by Open,
  // cut back by Truncate. Guarded by index_mu; has_damage tells whether there ever were any, so
  // that readers of an undamaged segment need not take the lock.
  std::vector<std::pair<uint64_t, uint64_t>> damaged;
  std::atomic<bool> has_damage{false};

  // `position`, or the end of the damaged range that starts there.
  uint64_t SkipDamaged(uint64_t position) const {
    if (!has_damage.load(std::memory_order_acquire)) return position;
    std::lock_guard<std::mutex> lock(index_mu);
    for (const auto& [from, to] : damaged) {
      if (position == from) return to;
    }
    return position;
  }

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

// Where Truncate cuts: the segment's new size and, when the cut falls inside a batch, the new
// header of the last record kept, which ends the batch there.
struct Log::TruncationPlan {
  uint64_t end_offset = 0;         // the log's new next offset
  internal::TruncationIntent cut;  // rewritten_header is empty when no header is rewritten
};

struct Log::Writer {
  std::string bytes;                    // the encoded records
  std::vector<uint32_t> record_starts;  // each record's position in `bytes`
  uint64_t first_offset = 0;
  uint32_t count = 0;
  int64_t timestamp_ns = 0;
  bool sync = false;
  absl::Status status;      // written before `state` becomes kDone
  bool taken_over = false;  // guarded by mu_: another writer leads the group this one gathered
  // kQueued until the leader sets kDone (the records are written, `status` says how) or kLeads
  // (this writer is at the front of the queue now). Waiters sleep on the log's wake_epoch_.
  std::atomic<WriterState> state{WriterState::kQueued};
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
  // Everything that can be done without the lock is: checking sizes, and checksumming payloads
  // large enough that combining CRCs under the lock beats checksumming them there.
  uint64_t total = 0;
  absl::InlinedVector<uint32_t, 8> payload_crcs;
  for (const std::string_view payload : payloads) {
    if (payload.size() > options_.max_record_bytes) {
      return absl::InvalidArgumentError(base::Cat("a record of ", payload.size(),
                                                  " bytes is over max_record_bytes ",
                                                  options_.max_record_bytes));
    }
    total += kRecordHeaderBytes + payload.size();
    payload_crcs.push_back(payload.size() > kDirectCrcMaxBytes ? base::Crc32c(payload) : 0);
  }
  if (total + kSegmentHeaderBytes > options_.max_segment_bytes) {
    return absl::InvalidArgumentError(base::Cat("a batch of ", total,
                                                " bytes does not fit in a segment of ",
                                                options_.max_segment_bytes, " bytes"));
  }

  // A thread's writer, and its buffers, are reused from one append to the next: no allocation
  // on the hot path once warm. A thread is in at most one Submit at a time.
  thread_local Writer w;
  // A huge batch's buffer is not kept for the thread's small appends that follow.
  if (w.bytes.capacity() > kMaxRetainedBytes && total <= kMaxRetainedBytes)
    std::string().swap(w.bytes);
  w.bytes.clear();
  w.record_starts.clear();
  w.state.store(WriterState::kQueued, std::memory_order_relaxed);
  w.taken_over = false;
  w.status = absl::OkStatus();
  w.sync = options_.sync == SyncPolicy::kEveryAppend;
  w.count = static_cast<uint32_t>(payloads.size());
  w.bytes.reserve(total);

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
    if (payloads[i].size() > kDirectCrcMaxBytes) {
      internal::EncodeRecord(w.bytes, type, w.first_offset + i, w.timestamp_ns, payloads[i],
                             payload_crcs[i]);
    } else {
      internal::EncodeRecordDirect(w.bytes, type, w.first_offset + i, w.timestamp_ns, payloads[i]);
    }
  }
  queue_.push_back(&w);
  bool took_over = false;
  if (queue_.front() != &w) {
    if (gatherer_ != nullptr && queue_.size() >= gather_target_ &&
        QueuedBytes() <= kMaxGroupBytes) {
      // This writer completes the group that the leader at the front is gathering (below), so it
      // leads that group itself, the gatherer's records included: waking the gatherer only to
      // hand it the group would cost a wake-up, often on a halted core, in every cycle.
      gatherer_->taken_over = true;
      gatherer_ = nullptr;
      gather_target_ = SIZE_MAX;
      took_over = true;
    } else {
      // Someone else leads: wait to be told that this writer is done, or that it leads now.
      lock.unlock();
      if (WaitForTurn(w) == WriterState::kDone) {
        if (!w.status.ok()) return w.status;
        return w.first_offset;
      }
      lock.lock();
    }
  }

  // This writer leads: it takes the queue's front writers as a group, writes them with one
  // write (and one fsync if any needs it), and wakes them. A writer that took over a gathering
  // group syncs, as its gatherer was going to.
  bool sync = took_over || w.sync ||
              (options_.sync == SyncPolicy::kInterval &&
               clock_.NowNanos() - last_sync_ns_ >= options_.sync_interval_ns);
  if (!took_over && sync && last_group_size_ > queue_.size()) {
    // The writers the last group released are probably on their way back. Without waiting for
    // them, groups alternate (one syncs while the other forms), each half the size; with a short
    // wait they share one fsync. The wait is bounded by a fraction of an fsync, and only happens
    // when the last group was bigger than this one. The writer whose arrival completes the group
    // leads it (above); the gatherer then sleeps on as a follower and is woken with the group.
    // When nobody completes it (or the group would be too big to take whole), the gatherer leads
    // what has come when its wait runs out.
    gather_target_ = last_group_size_;
    gatherer_ = &w;
    // A writer handed the lead is marked kLeads; queued again, it waits for kDone alone.
    w.state.store(WriterState::kQueued, std::memory_order_relaxed);
    const auto deadline =
        std::chrono::steady_clock::now() +
        std::chrono::nanoseconds(std::min<int64_t>(kMaxGatherNanos, last_sync_duration_ns_ / 2));
    lock.unlock();
    WriterState state = WaitForTurn(w, deadline);
    lock.lock();
    if (w.taken_over) {
      lock.unlock();
      if (state == WriterState::kQueued) state = WaitForTurn(w);
      KEEL_ASSERT(state == WriterState::kDone, "a writer taken over must end in its taker's group");
      if (!w.status.ok()) return w.status;
      return w.first_offset;
    }
    gatherer_ = nullptr;
    gather_target_ = SIZE_MAX;
  }
  absl::InlinedVector<Writer*, 64> group;
  uint64_t group_bytes = 0;
  for (Writer* next : queue_) {
    if (!group.empty() && group_bytes + next->bytes.size() > kMaxGroupBytes) break;
    group.push_back(next);
    group_bytes += next->bytes.size();
    sync = sync || next->sync;
  }
  absl::Status status = broken_;
  // Everything written so far is durable: the group's first record is a sync point.
  const bool durable_before = durable_offset_ == written_offset_;
  lock.unlock();
  // Timed only when syncing (reading the clock is not free): the gathering wants fsync times.
  const int64_t write_start_ns = sync ? clock_.NowNanos() : 0;
  if (status.ok()) {
    std::lock_guard<std::mutex> write_lock(write_mu_);
    status = WriteGroup(group, sync, durable_before);
  }
  const int64_t write_end_ns = sync ? clock_.NowNanos() : 0;
  lock.lock();

  const Writer* last = group.back();
  if (status.ok()) {
    written_offset_ = last->first_offset + last->count;
    if (sync) {
      durable_offset_ = written_offset_;
      last_sync_ns_ = write_end_ns;
      last_sync_duration_ns_ = write_end_ns - write_start_ns;
      last_group_size_ = group.size();
    }
    stats_.appends += group.size();
    for (const Writer* g : group) stats_.records += g->count;
    stats_.bytes += group_bytes;
    if (group.size() > 1) ++stats_.group_commits;
  } else if (broken_.ok()) {
    broken_ = status;
  }
  // The next leader first, so that the next group's write can start while this group's writers
  // are still waking. Once a writer is kDone its thread may return and reuse it: not touched after.
  const bool anyone_waits = group.size() > 1 || queue_.size() > group.size();
  if (queue_.size() > group.size()) {
    queue_[group.size()]->state.store(WriterState::kLeads, std::memory_order_release);
  }
  for (Writer* g : group) {
    queue_.pop_front();
    g->status = status;
    if (g != &w) g->state.store(WriterState::kDone, std::memory_order_release);
  }
  if (durable_waiters_ > 0) durable_cv_.notify_all();
  lock.unlock();
  // One wake-up call for the whole group, outside the lock so that the woken do not queue up
  // behind it. Waking each writer by its own semaphore cost a system call and, on a machine whose
  // other cores sleep through the fsync, an inter-processor interrupt each, one after another:
  // with 16 appenders that hand-over took longer than the fsync itself.
  if (anyone_waits) {
    wake_epoch_.fetch_add(1, std::memory_order_release);
    WakeAll(wake_epoch_);
  }
  if (!status.ok()) return status;
  return w.first_offset;
}

// A writer that does not lead sleeps here until the leader has written its records or handed it
// the lead. Reading the epoch before the state means a change made after that read also changed
// the epoch, so the wait returns at once instead of missing it.
Log::WriterState Log::WaitForTurn(const Writer& w) {
  for (;;) {
    const uint32_t epoch = wake_epoch_.load(std::memory_order_acquire);
    const WriterState state = w.state.load(std::memory_order_acquire);
    if (state != WriterState::kQueued) return state;
    WaitWhileEqual(wake_epoch_, epoch);
  }
}

// As above, until `deadline` at the latest, when it returns kQueued.
Log::WriterState Log::WaitForTurn(const Writer& w, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const uint32_t epoch = wake_epoch_.load(std::memory_order_acquire);
    const WriterState state = w.state.load(std::memory_order_acquire);
    if (state != WriterState::kQueued) return state;
    const int64_t left = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             deadline - std::chrono::steady_clock::now())
                             .count();
    if (left <= 0) return state;
    WaitWhileEqualFor(wake_epoch_, epoch, left);
  }
}

uint64_t Log::QueuedBytes() const {
  uint64_t total = 0;
  for (const Writer* q : queue_) total += q->bytes.size();
  return total;
}

absl::Status Log::WriteGroup(std::span<Writer* const> group, bool sync, bool durable_before) {
  // Only this thread (holding write_mu_) changes the set of segments, so a plain pointer will do.
  Segment* active = segments_.rbegin()->second.get();
  std::string pending;
  auto flush = [&]() -> absl::Status {
    if (pending.empty()) return absl::OkStatus();
    KEEL_RETURN_IF_ERROR(WriteAtEnd(*active, pending));
    pending.clear();
    return absl::OkStatus();
  };
  for (Writer* w : group) {
    // visible_size is the end of the records (the file may run on, preallocated): only this
    // thread moves it.
    const uint64_t at = active->visible_size.load(std::memory_order_relaxed) + pending.size();
    if (at + w->bytes.size() > options_.max_segment_bytes && at > kSegmentHeaderBytes) {
      KEEL_RETURN_IF_ERROR(flush());
      KEEL_RETURN_IF_ERROR(RollSegment(w->first_offset));
      active = segments_.rbegin()->second.get();
      durable_before = true;  // the roll synced everything before
    }
    // In a preallocated segment, unsynced writes may reach the disk in any order, so recovery
    // must learn from the records themselves which bytes were durable: a record written when
    // everything before it was carries kSyncPointBit (see docs/wal_format.md).
    if (durable_before && active->sync_points) internal::MarkSyncPoint(w->bytes.data());
    durable_before = false;
    const uint64_t base = active->visible_size.load(std::memory_order_relaxed) + pending.size();
    for (uint32_t i = 0; i < w->count; ++i) {
      active->MaybeIndex(w->first_offset + i, base + w->record_starts[i],
                         options_.index_interval_bytes);
    }
    if (group.size() == 1) {
      KEEL_RETURN_IF_ERROR(WriteAtEnd(*active, w->bytes));
    } else {
      pending += w->bytes;
    }
    active->end_offset.store(w->first_offset + w->count, std::memory_order_release);
    if (w->timestamp_ns > active->max_timestamp_ns.load(std::memory_order_relaxed)) {
      active->max_timestamp_ns.store(w->timestamp_ns, std::memory_order_relaxed);
    }
  }
  KEEL_RETURN_IF_ERROR(flush());
  if (sync) KEEL_RETURN_IF_ERROR(SyncFile(*active->file));
  return absl::OkStatus();
}

bool Log::Preallocates() const {
  return options_.sync != SyncPolicy::kNone && options_.preallocate_bytes > 0;
}

// Writes `bytes` after the segment's last record and makes them visible to readers. When the log
// preallocates, the bytes overwrite zeros written ahead of them, and the file is extended by
// another run of zeros when they would not fit; the next fsync makes the zeros durable along with
// the records, and the fsyncs after it need not change the file's size. REQUIRES: write_mu_ held.
absl::Status Log::WriteAtEnd(Segment& segment, std::string_view bytes) {
  const uint64_t end = segment.visible_size.load(std::memory_order_relaxed);
  File& file = *segment.file;
  if (end + bytes.size() > file.size() && segment.sync_points && Preallocates()) {
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
absl::Status Log::TrimPreallocated(Segment& segment) {
  const uint64_t end = segment.visible_size.load(std::memory_order_relaxed);
  if (segment.file->size() > end) KEEL_RETURN_IF_ERROR(segment.file->Truncate(end));
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
    KEEL_RETURN_IF_ERROR(TrimPreallocated(*old));
    KEEL_RETURN_IF_ERROR(SyncFile(*old->file));
    internal::SegmentIndex index;
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
    if (!damaged) {
      const std::string index_path = PathOf(IndexFileName(old->first_offset));
      const std::string temp_path = index_path + ".tmp";
      KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> temp, fs_.Open(temp_path, OpenMode::kCreate));
      KEEL_RETURN_IF_ERROR(temp->Append(internal::EncodeIndex(index)));
      KEEL_RETURN_IF_ERROR(SyncFile(*temp));
      KEEL_RETURN_IF_ERROR(fs_.Rename(temp_path, index_path));
    }
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
absl::StatusOr<std::shared_ptr<Log::Segment>> Log::CreateSegment(uint64_t first_offset) {
  auto segment = std::make_shared<Segment>();
  segment->first_offset = first_offset;
  segment->path = PathOf(SegmentFileName(first_offset));
  KEEL_ASSIGN_OR_RETURN(segment->file, CreateSegmentFile(segment->path, first_offset));
  segment->sync_points = Preallocates();
  KEEL_RETURN_IF_ERROR(SyncDirectory());
  segment->visible_size.store(kSegmentHeaderBytes);
  segment->end_offset.store(first_offset);
  return segment;
}

// Creates `path` holding a segment header for `first_offset`, synced; its directory entry is not.
absl::StatusOr<std::unique_ptr<File>> Log::CreateSegmentFile(const std::string& path,
                                                             uint64_t first_offset) {
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs_.Open(path, OpenMode::kCreate));
  KEEL_RETURN_IF_ERROR(file->Append(
      internal::EncodeSegmentHeader(first_offset, Preallocates() ? kSegmentSyncPoints : 0)));
  KEEL_RETURN_IF_ERROR(SyncFile(*file));
  return file;
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

absl::Status Log::SyncFile(File& file) {
  KEEL_RETURN_IF_ERROR(file.Sync());
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.syncs;
  return absl::OkStatus();
}

absl::Status Log::SyncDirectory() {
  KEEL_RETURN_IF_ERROR(fs_.SyncDir(dir_));
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.syncs;
  return absl::OkStatus();
}

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
      ++durable_waiters_;
      durable_cv_.wait(lock);  // the records are still queued; the leader wakes us
      --durable_waiters_;
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

std::string Log::PathOf(std::string_view name) const { return base::Cat(dir_, "/", name); }

// Removes the file `name` in the log's directory, if there is one.
absl::Status Log::RemoveIfExists(const std::string& name) {
  const absl::Status status = fs_.Remove(PathOf(name));
  if (!status.ok() && status.code() != absl::StatusCode::kNotFound) return status;
  return absl::OkStatus();
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
  return RemoveIfExists(IndexFileName(first_offset));
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
  if (!doomed.empty()) KEEL_RETURN_IF_ERROR(SyncDirectory());
  return first_offset();
}

absl::StatusOr<size_t> Log::ApplyRetention(uint64_t max_bytes, int64_t max_age_ns,
                                           uint64_t keep_from) {
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
      // The next segment's first offset is one past this segment's last record.
      const bool needed = std::next(it)->first > keep_from;
      if ((!too_big && !too_old) || needed) break;
      total -= it->second->visible_size.load();
      doomed.push_back(it->first);
    }
  }
  for (const uint64_t first : doomed) KEEL_RETURN_IF_ERROR(RemoveSegment(first));
  if (!doomed.empty()) KEEL_RETURN_IF_ERROR(SyncDirectory());
  return doomed.size();
}

// ---------------------------------------------------------------------------------------------
// Truncation.
// ---------------------------------------------------------------------------------------------

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
absl::Status Log::Truncate(uint64_t end_offset) {
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
    // append, the log takes no more writes.
    std::lock_guard<std::mutex> lock(mu_);
    if (broken_.ok()) broken_ = status;
    return status;
  }
  const uint64_t cut = plan->cut.cut_position;
  {
    std::lock_guard<std::mutex> index_lock(segment->index_mu);
    auto& entries = segment->index;
    entries.erase(std::lower_bound(entries.begin(), entries.end(), plan->end_offset,
                                   [](const IndexEntry& e, uint64_t o) { return e.offset < o; }),
                  entries.end());
    segment->next_index_position = entries.empty()
                                       ? kSegmentHeaderBytes
                                       : entries.back().position + options_.index_interval_bytes;
    std::erase_if(segment->damaged, [cut](const auto& range) { return range.first >= cut; });
  }
  segment->visible_size.store(cut, std::memory_order_release);
  segment->end_offset.store(plan->end_offset);
  std::lock_guard<std::mutex> lock(mu_);
  for (const uint64_t first : later) segments_.erase(first);
  segment->sealed = false;
  // Everything kept is durable: the cut segment was synced, and earlier ones when they sealed.
  next_offset_ = written_offset_ = durable_offset_ = plan->end_offset;
  ++truncations_;
  return absl::OkStatus();
}

// Finds the last record before `end_offset` in `segment` (reading forward from an indexed record
// before it) and plans the cut right after it. REQUIRES: write_mu_ held.
absl::StatusOr<Log::TruncationPlan> Log::PlanTruncation(const Segment& segment,
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
    const RecordHeader h = internal::DecodeRecordHeader(head);
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
    if (got < record.size() || !internal::RecordCrcMatches(record.data(), payload)) {
      return absl::DataLossError(base::Cat(segment.path, ": record ", previous.offset,
                                           " at position ", *previous_pos, " is damaged"));
    }
    const RecordType type =
        previous.type == RecordType::kFirst ? RecordType::kFull : RecordType::kLast;
    internal::EncodeRecordHeader(plan.cut.rewritten_header, type, previous.offset,
                                 previous.timestamp_ns, previous.length, base::Crc32c(payload));
  }
  return plan;
}

// The file changes of a truncation, TRUNCATE first when a header is rewritten (see Truncate).
// REQUIRES: write_mu_ held.
absl::Status Log::TruncateFiles(const Segment& segment, const std::vector<uint64_t>& later,
                                const TruncationPlan& plan) {
  const bool rewrite = !plan.cut.rewritten_header.empty();
  if (rewrite) {
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> intent,
                          fs_.Open(PathOf(kTruncationFileName), OpenMode::kCreate));
    KEEL_RETURN_IF_ERROR(intent->Append(internal::EncodeTruncationIntent(plan.cut)));
    KEEL_RETURN_IF_ERROR(SyncFile(*intent));
    KEEL_RETURN_IF_ERROR(SyncDirectory());
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
absl::Status Log::CutSegment(File& file, const std::vector<uint64_t>& later,
                             const TruncationPlan& plan) {
  // Newest first, so that a crash part-way leaves a log that is merely longer. The cut segment
  // becomes the active one, which has no index.
  for (auto it = later.rbegin(); it != later.rend(); ++it) {
    KEEL_RETURN_IF_ERROR(fs_.Remove(PathOf(SegmentFileName(*it))));
    KEEL_RETURN_IF_ERROR(RemoveIfExists(IndexFileName(*it)));
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

absl::Status Log::Reset(uint64_t next_offset) {
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
    return segment.status();
  }
  // Readers holding an old segment keep reading its unlinked file until they notice the reset.
  segments_.clear();
  segments_[next_offset] = *std::move(segment);
  next_offset_ = written_offset_ = durable_offset_ = next_offset;
  ++truncations_;
  return absl::OkStatus();
}

// The file changes of a reset. The new segment comes first, as RESET, synced along with its
// directory entry: from then on a crash leaves a reset that Open finishes, and before then one
// that never began. Its own name also lets `next_offset` be an old segment's first offset.
// REQUIRES: write_mu_ held.
absl::StatusOr<std::shared_ptr<Log::Segment>> Log::ResetFiles(const std::vector<uint64_t>& old,
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
  segment->sync_points = Preallocates();  // as CreateSegmentFile flagged it
  segment->visible_size.store(kSegmentHeaderBytes);
  segment->end_offset.store(next_offset);
  return segment;
}

// ---------------------------------------------------------------------------------------------
// Recovery.
// ---------------------------------------------------------------------------------------------

absl::Status Log::Recover(RecoveryReport* report) {
  KEEL_RETURN_IF_ERROR(fs_.CreateDir(dir_));
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
  bool removed_files = false;
  for (const std::string& name : listing->unfinished) {
    // An index file a crash interrupted; its segment still has everything.
    KEEL_RETURN_IF_ERROR(fs_.Remove(PathOf(name)));
    report->events.push_back(base::Cat("removed ", name, ", an unfinished index file"));
    removed_files = true;
  }
  const std::vector<uint64_t>& firsts = listing->segments;
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
      KEEL_RETURN_IF_ERROR(fs_.Remove(PathOf(SegmentFileName(first))));
      KEEL_RETURN_IF_ERROR(RemoveIfExists(IndexFileName(first)));
      report->events.push_back(
          base::Cat("removed ", SegmentFileName(first), " and its ", intact, " intact records"));
      removed_files = true;
      continue;
    }
    KEEL_RETURN_IF_ERROR(RecoverSegment(first, i + 1 == firsts.size(), report, &drop_rest));
    removed_files = removed_files || drop_rest;
  }
  if (removed_files) KEEL_RETURN_IF_ERROR(SyncDirectory());

  if (segments_.empty()) {
    // A new log, one whose only segment was never finished being created, or one cut before its
    // first segment's header: it starts (again) at the first segment's offset.
    KEEL_RETURN_IF_ERROR(RollSegment(firsts.empty() ? 0 : firsts.front()));
  }
  // The active segment takes appends and has no index file. One may be left over: from before
  // later segments were dropped, or from a truncation into a sealed segment.
  std::shared_ptr<Segment> active = segments_.rbegin()->second;
  KEEL_RETURN_IF_ERROR(RemoveIfExists(IndexFileName(active->first_offset)));
  active->sealed = false;
  {
    std::lock_guard<std::mutex> index_lock(active->index_mu);
    active->next_index_position =
        active->index.empty() ? kSegmentHeaderBytes
                              : active->index.back().position + options_.index_interval_bytes;
  }
  // What a crashed process left in the page cache is not yet on disk: sync it before calling it
  // durable.
  KEEL_RETURN_IF_ERROR(SyncFile(*active->file));
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
absl::Status Log::FinishReset(const std::vector<uint64_t>& segments, RecoveryReport* report) {
  const std::string reset_path = PathOf(kResetFileName);
  std::optional<uint64_t> first;
  {
    KEEL_ASSIGN_OR_RETURN(const std::unique_ptr<File> file,
                          fs_.Open(reset_path, OpenMode::kExisting));
    if (file->size() >= kSegmentHeaderBytes) {
      char header[kSegmentHeaderBytes];
      KEEL_ASSIGN_OR_RETURN(const size_t got, file->ReadAt(0, header, sizeof(header)));
      first = internal::DecodeSegmentHeader(std::string_view(header, got));
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
absl::Status Log::FinishTruncation(const std::vector<uint64_t>& segments, RecoveryReport* report) {
  const std::string intent_path = PathOf(kTruncationFileName);
  std::optional<internal::TruncationIntent> intent;
  {
    KEEL_ASSIGN_OR_RETURN(const std::unique_ptr<File> file,
                          fs_.Open(intent_path, OpenMode::kExisting));
    std::string bytes(internal::kTruncationIntentBytes + 1, '\0');
    KEEL_ASSIGN_OR_RETURN(const size_t got, file->ReadAt(0, bytes.data(), bytes.size()));
    bytes.resize(got);
    intent = internal::DecodeTruncationIntent(bytes);
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
absl::StatusOr<uint64_t> Log::CountIntactRecords(uint64_t first_offset) {
  KEEL_ASSIGN_OR_RETURN(const std::unique_ptr<File> file,
                        fs_.Open(PathOf(SegmentFileName(first_offset)), OpenMode::kExisting));
  const absl::StatusOr<internal::SegmentIndex> index =
      ReadIndexFile(fs_, PathOf(IndexFileName(first_offset)));
  if (index.ok() && index->segment_size == file->size() && index->end_offset >= first_offset) {
    return index->end_offset - first_offset;
  }
  Window window(*file);
  return CountIntactFrom(window, kSegmentHeaderBytes);
}

absl::Status Log::RecoverSegment(uint64_t first_offset, bool is_last, RecoveryReport* report,
                                 bool* drop_rest) {
  auto segment = std::make_shared<Segment>();
  segment->first_offset = first_offset;
  segment->path = PathOf(SegmentFileName(first_offset));
  KEEL_ASSIGN_OR_RETURN(segment->file, fs_.Open(segment->path, OpenMode::kExisting));
  const std::string name = SegmentFileName(first_offset);
  const uint64_t size = segment->file->size();
  Window window(*segment->file);

  std::optional<uint64_t> header;
  if (size >= kSegmentHeaderBytes) {
    KEEL_ASSIGN_OR_RETURN(const std::string_view bytes, window.Get(0, kSegmentHeaderBytes));
    uint32_t flags = 0;
    header = internal::DecodeSegmentHeader(bytes, &flags);
    segment->sync_points = (flags & kSegmentSyncPoints) != 0;
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
    if (options_.recovery == RecoveryMode::kPointInTime) {
      // The cut comes before this segment. If it is the first, the log is left empty, starting
      // at the offset in the file's name (Recover creates that segment anew).
      KEEL_ASSIGN_OR_RETURN(const uint64_t intact, CountIntactFrom(window, kSegmentHeaderBytes));
      report->dropped_records += intact;
      segment->file.reset();
      KEEL_RETURN_IF_ERROR(fs_.Remove(segment->path));
      KEEL_RETURN_IF_ERROR(RemoveIfExists(IndexFileName(first_offset)));
      report->events.push_back(
          base::Cat(what, ": dropping it (", intact, " intact records) and everything after"));
      *drop_rest = true;
      return absl::OkStatus();
    }
    return absl::DataLossError(
        base::Cat(what, " (recovery mode ", ModeName(options_.recovery), ")"));
  }

  // A sealed segment with an intact index that matches it is trusted without a scan.
  const std::string index_name = IndexFileName(first_offset);
  if (!is_last) {
    absl::StatusOr<internal::SegmentIndex> index = ReadIndexFile(fs_, PathOf(index_name));
    if (index.ok() && index->segment_size == size && index->end_offset >= first_offset) {
      segment->index = std::move(index->entries);
      segment->visible_size.store(size);
      segment->end_offset.store(index->end_offset);
      segment->max_timestamp_ns.store(index->max_timestamp_ns);
      segment->sealed = true;
      segments_[first_offset] = std::move(segment);
      return absl::OkStatus();
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
  uint64_t pos = kSegmentHeaderBytes;
  uint64_t expected = first_offset;
  uint64_t committed_pos = pos;
  uint64_t committed_offset = first_offset;
  bool batch_open = false;
  int64_t max_ts = 0;
  std::vector<IndexEntry> index;
  uint64_t next_index_position = kSegmentHeaderBytes;
  std::vector<std::pair<uint64_t, uint64_t>> damaged;
  // Where the records end: the file's end, or in a preallocated last segment where its zeros start.
  // (Zeros at the end of a segment that was never preallocated are damage, as any bytes are.)
  uint64_t end = size;
  for (;;) {
    std::string problem;
    if (pos < end && is_last && segment->sync_points) {
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

    // Damage. It is a torn tail when nothing valid follows it in the last segment: no record
    // past the damage with an offset beyond those already seen (the records of an unfinished
    // batch before it are valid, but they are part of the damage).
    const uint64_t at = committed_pos;
    KEEL_ASSIGN_OR_RETURN(const std::optional<uint64_t> resync,
                          FindValidRecordAfter(window, std::max(pos, at), expected));
    bool torn_tail = is_last && !resync.has_value();
    if (is_last && resync.has_value() && segment->sync_points) {
      // Records overwrite preallocated zeros here, so a crash can keep a later unsynced write
      // and lose an earlier one. Valid records after the damage prove it was durable (and so
      // is corruption) only if one of them is a sync point.
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
        // The zeros preallocated after a torn write are not part of it.
        uint64_t torn_end = size;
        if (segment->sync_points) {
          KEEL_ASSIGN_OR_RETURN(torn_end, EndOfNonZero(window, at));
        }
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
        *drop_rest = true;
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
    // Zeros a log that preallocates left after its last record: trimmed (Recover syncs the
    // active segment), so that the file ends where its records do until the next append.
    KEEL_RETURN_IF_ERROR(segment->file->Truncate(end));
  }
  segment->index = std::move(index);
  segment->has_damage.store(!damaged.empty());
  segment->damaged = std::move(damaged);
  segment->visible_size.store(segment->file->size());
  segment->end_offset.store(expected);
  segment->max_timestamp_ns.store(max_ts);
  segment->sealed = !is_last && !*drop_rest;
  if (segment->sealed && !segment->damaged.empty()) {
    // No index for a segment with damaged ranges: it would be trusted at the next Open and the
    // ranges forgotten, so that readers would fail on them. Without one, every Open scans it.
    KEEL_RETURN_IF_ERROR(RemoveIfExists(index_name));
    report->events.push_back(
        base::Cat("no index for ", name, ": it has damaged ranges, so every Open scans it"));
  } else if (segment->sealed) {
    // Rebuild the index file the scan replaced.
    internal::SegmentIndex rebuilt{segment->file->size(), expected, max_ts, segment->index};
    const std::string index_path = PathOf(index_name);
    const std::string temp_path = index_path + ".tmp";
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> temp, fs_.Open(temp_path, OpenMode::kCreate));
    KEEL_RETURN_IF_ERROR(temp->Append(internal::EncodeIndex(rebuilt)));
    KEEL_RETURN_IF_ERROR(SyncFile(*temp));
    KEEL_RETURN_IF_ERROR(fs_.Rename(temp_path, index_path));
    KEEL_RETURN_IF_ERROR(SyncDirectory());
    ++report->rebuilt_indexes;
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
