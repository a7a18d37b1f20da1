// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Appending to the log: the writers' queue, group commit, and syncing.
//
// Appenders queue up under the log's lock, each with its records already encoded and numbered.
// The writer at the front of the queue leads: it takes the writers queued behind it as a group,
// writes all their records with one write and, if any of them needs it, one fsync, then wakes
// them. While it does, new appenders queue behind the group, and one of them leads the next. So
// N concurrent appenders share about one fsync per group instead of paying N (group commit, as
// in DB2 and every database since; see docs/wal.md for the measured effect).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <ctime>
#include <thread>
#include <utility>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "absl/container/inlined_vector.h"
#include "keel/base/assert.h"
#include "keel/base/crc32c.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "log_impl.h"

namespace keel::wal::internal {
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
// would do, but libstdc++'s wait spins and calls sched_yield before it sleeps, and with many
// appenders on few cores those yields and the task switches they cause dominate group commit's
// hand-over (docs/benchmarks.md, "Durable appends"). Linux's futex sleeps at once.
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

}  // namespace

struct Writer {
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

namespace {

// A writer's error, moved out for its caller. The writer is thread-local and outlives the call:
// left in it, the error (shared with the leader's and the log's copies) would be released only at
// the thread's exit, or by the leader that hands this writer its next result.
absl::Status TakeStatus(Writer& w) { return std::exchange(w.status, absl::OkStatus()); }

}  // namespace

LogImpl::LogImpl(std::string dir, const LogOptions& options, FileSystem& fs,
                 const base::Clock& clock)
    : dir_(std::move(dir)), options_(options), fs_(fs), clock_(clock) {}

LogImpl::~LogImpl() { KEEL_ASSERT(queue_.empty(), "a Log destroyed while appends are in flight"); }

absl::Status LogImpl::Broken() const {
  return absl::FailedPreconditionError(
      base::Cat("the log is read-only after an earlier write error: ", broken_.message()));
}

absl::StatusOr<uint64_t> LogImpl::Submit(std::span<const std::string_view> payloads) {
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
    return Broken();
  }
  if (w.count > UINT64_MAX - next_offset_) {
    return absl::ResourceExhaustedError(base::Cat("the log's offsets are used up: the next is ",
                                                  next_offset_, " and ", w.count,
                                                  " more would pass 2^64 - 1"));
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
      EncodeRecord(w.bytes, salt_, type, w.first_offset + i, w.timestamp_ns, payloads[i],
                   payload_crcs[i]);
    } else {
      EncodeRecordDirect(w.bytes, salt_, type, w.first_offset + i, w.timestamp_ns, payloads[i]);
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
        if (!w.status.ok()) return TakeStatus(w);
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
      if (!w.status.ok()) return TakeStatus(w);
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
  // behind it: a wake-up per writer costs a system call and, when the other cores sleep through
  // the fsync, an inter-processor interrupt each, one after another.
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
WriterState LogImpl::WaitForTurn(const Writer& w) {
  for (;;) {
    const uint32_t epoch = wake_epoch_.load(std::memory_order_acquire);
    const WriterState state = w.state.load(std::memory_order_acquire);
    if (state != WriterState::kQueued) return state;
    WaitWhileEqual(wake_epoch_, epoch);
  }
}

// As above, until `deadline` at the latest, when it returns kQueued.
WriterState LogImpl::WaitForTurn(const Writer& w, std::chrono::steady_clock::time_point deadline) {
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

uint64_t LogImpl::QueuedBytes() const {
  uint64_t total = 0;
  for (const Writer* q : queue_) total += q->bytes.size();
  return total;
}

absl::Status LogImpl::WriteGroup(std::span<Writer* const> group, bool sync, bool durable_before) {
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
    // Unsynced writes may reach the disk in any order, so recovery must learn from the records
    // themselves which bytes were durable: a record written when everything before it was
    // carries kSyncPointBit (see docs/wal_format.md).
    if (durable_before) MarkSyncPoint(w->bytes.data(), active->salt);
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

absl::Status LogImpl::SyncActive() {
  // The segment and how far it is written are read with the writers held off; the fsync itself
  // runs without them, so that appends go on while it does (an fdatasync covers at least what was
  // written before it began). Records written meanwhile are not counted as durable, and their
  // group is not marked as a sync point: both conservative.
  std::shared_ptr<Segment> active;
  uint64_t target;
  uint64_t truncations;
  {
    std::lock_guard<std::mutex> write_lock(write_mu_);
    std::lock_guard<std::mutex> lock(mu_);
    if (!broken_.ok()) {
      return Broken();
    }
    active = segments_.rbegin()->second;
    target = written_offset_;
    truncations = truncations_;
    if (durable_offset_ >= target) return absl::OkStatus();
  }
  // Records before `target` are in `active`, or in sealed segments, which were synced when they
  // were sealed. A roll during the fsync seals `active` too; the shared pointer keeps its file
  // open until this sync is done.
  const absl::Status status = active->file->Sync();
  std::lock_guard<std::mutex> lock(mu_);
  if (!status.ok()) {
    if (broken_.ok()) broken_ = status;
    return status;
  }
  // A Truncate or Reset during the fsync may have removed records before `target`; what they
  // left is as durable as they made it.
  if (truncations_ == truncations) durable_offset_ = std::max(durable_offset_, target);
  last_sync_ns_ = clock_.NowNanos();
  ++stats_.syncs;
  durable_cv_.notify_all();
  return absl::OkStatus();
}

absl::Status LogImpl::Sync() { return SyncActive(); }

absl::Status LogImpl::SyncIfDue() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (durable_offset_ >= written_offset_ ||
        clock_.NowNanos() - last_sync_ns_ < options_.sync_interval_ns) {
      return absl::OkStatus();
    }
  }
  return SyncActive();
}

absl::Status LogImpl::WaitDurable(uint64_t offset) {
  std::unique_lock<std::mutex> lock(mu_);
  if (offset > next_offset_) {
    return absl::OutOfRangeError(
        base::Cat("offset ", offset, " has not been appended (next is ", next_offset_, ")"));
  }
  const uint64_t truncations = truncations_;
  while (durable_offset_ < offset) {
    if (!broken_.ok()) return broken_;
    // A Truncate or Reset since the call may have removed the records waited for: then they
    // will never be durable (and what was appended in their place is not what the caller meant).
    if (truncations_ != truncations && LowestEndSince(truncations) < offset) {
      return absl::FailedPreconditionError(
          base::Cat("the log was truncated before offset ", offset - 1, " became durable"));
    }
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
}  // namespace keel::wal::internal
