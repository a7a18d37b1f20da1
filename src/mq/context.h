// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What every part of a Cluster shares: where the data lives, the options, the file system and
// clock, the event log that Cluster::TakeEvents() drains, and the signal that wakes the replica
// fetchers after an append. The parts (partitions, the group coordinator, the delay queue, the
// metadata store) each hold a reference to the one Context their cluster owns. Internal to
// keel/mq.
#ifndef KEEL_SRC_MQ_CONTEXT_H_
#define KEEL_SRC_MQ_CONTEXT_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "keel/base/clock.h"
#include "keel/mq/cluster.h"
#include "keel/wal/file_system.h"

namespace keel::mq::internal {

// Creates `dir` if needed and syncs its parent, so that the directory survives a crash before
// anything written in it is relied on (POSIX makes a new entry durable only once its directory
// is synced). The sync is done every time: a sync that failed after an earlier creation must not
// be skipped because the directory now exists.
inline absl::Status CreateDirDurably(wal::FileSystem& fs, const std::string& dir) {
  if (absl::Status created = fs.CreateDir(dir); !created.ok()) return created;
  return wal::SyncParentDir(fs, dir);
}

class Context {
 public:
  Context(std::string dir, const ClusterOptions& options, wal::FileSystem& fs,
          const base::Clock& clock)
      : dir_(std::move(dir)), options_(options), fs_(fs), clock_(clock) {}

  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const std::string& dir() const { return dir_; }
  const ClusterOptions& options() const { return options_; }
  wal::FileSystem& fs() const { return fs_; }
  const base::Clock& clock() const { return clock_; }

  // Notes what happened, stamped with the clock; the oldest go beyond Cluster::kMaxEvents.
  void Record(std::string line) {
    const int64_t now = clock_.NowNanos();
    std::lock_guard lock(events_mu_);
    if (events_.size() >= Cluster::kMaxEvents) events_.pop_front();
    events_.push_back({now, std::move(line)});
  }
  std::vector<Cluster::Event> TakeEvents() {
    std::lock_guard lock(events_mu_);
    std::vector<Cluster::Event> out(events_.begin(), events_.end());
    events_.clear();
    return out;
  }

  // Wakes the background threads that wait for work (the replica fetchers) or for stopping.
  void NotifyAppend() {
    std::lock_guard lock(work_mu_);
    ++appends_;
    work_cv_.notify_all();
  }
  // The number of appends so far: a fetcher that saw this count waits for it to change.
  uint64_t appends() const {
    std::lock_guard lock(work_mu_);
    return appends_;
  }
  // Waits up to `timeout_ns` (real time) for an append after the `seen`-th, or for Stop().
  // `any_append` false waits only for Stop().
  void WaitForWork(uint64_t seen, int64_t timeout_ns, bool any_append) {
    std::unique_lock lock(work_mu_);
    work_cv_.wait_for(lock, std::chrono::nanoseconds(timeout_ns),
                      [&] { return stopping_.load() || (any_append && appends_ != seen); });
  }
  void Stop() {
    std::lock_guard lock(work_mu_);
    stopping_.store(true);
    work_cv_.notify_all();
  }
  bool stopping() const { return stopping_.load(); }

 private:
  const std::string dir_;
  const ClusterOptions options_;
  wal::FileSystem& fs_;
  const base::Clock& clock_;

  std::mutex events_mu_;
  std::deque<Cluster::Event> events_;

  mutable std::mutex work_mu_;
  std::condition_variable work_cv_;
  uint64_t appends_ = 0;
  std::atomic<bool> stopping_{false};
};

}  // namespace keel::mq::internal

#endif  // KEEL_SRC_MQ_CONTEXT_H_
