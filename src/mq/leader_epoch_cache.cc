// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "leader_epoch_cache.h"

#include <algorithm>

#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/wal/atomic_file.h"

namespace keel::mq::internal {
namespace {

constexpr uint32_t kVersion = 1;

}  // namespace

EpochEnd EndOffsetFor(const std::vector<EpochEntry>& entries, uint64_t epoch, uint64_t log_end) {
  // The first entry past `epoch`; the one before it is the largest epoch <= `epoch`.
  auto next = std::upper_bound(entries.begin(), entries.end(), epoch,
                               [](uint64_t e, const EpochEntry& entry) { return e < entry.epoch; });
  if (next == entries.begin()) return {std::nullopt, 0};
  return {std::prev(next)->epoch, next == entries.end() ? log_end : next->start_offset};
}

std::optional<uint64_t> DivergencePoint(const std::vector<EpochEntry>& entries, uint64_t log_start,
                                        uint64_t log_end,
                                        const std::function<EpochEnd(uint64_t epoch)>& ask) {
  uint64_t end = log_end;
  // Each round either answers or moves to a smaller epoch of the follower's, so it ends.
  for (;;) {
    if (end <= log_start) return end == log_start ? std::optional(end) : std::nullopt;
    // The follower's latest epoch among its messages before `end`.
    auto latest = std::lower_bound(
        entries.begin(), entries.end(), end,
        [](const EpochEntry& entry, uint64_t offset) { return entry.start_offset < offset; });
    if (latest == entries.begin()) return std::nullopt;  // messages without an epoch
    const uint64_t epoch = std::prev(latest)->epoch;
    const EpochEnd answer = ask(epoch);
    if (!answer.epoch) return std::nullopt;
    if (*answer.epoch == epoch) {
      end = std::min(end, answer.end_offset);
      return end >= log_start ? std::optional(end) : std::nullopt;
    }
    // The leader never had `epoch`: the follower's messages from the first epoch after the
    // leader's answer on are not the leader's. Where the leader's epoch ends in each log, the
    // shorter one is the most the two can share; the next round checks the epoch before it.
    auto after =
        std::upper_bound(entries.begin(), entries.end(), *answer.epoch,
                         [](uint64_t e, const EpochEntry& entry) { return e < entry.epoch; });
    end = std::min({end, answer.end_offset, after->start_offset});
  }
}

absl::StatusOr<std::unique_ptr<LeaderEpochCache>> LeaderEpochCache::Load(wal::FileSystem& fs,
                                                                         const std::string& dir,
                                                                         uint64_t log_end) {
  const std::string path = base::Cat(dir, "/", kFileName);
  std::vector<EpochEntry> entries;
  absl::StatusOr<std::string> contents = wal::ReadFileChecked(fs, path);
  if (!absl::IsNotFound(contents.status())) {
    KEEL_RETURN_IF_ERROR(contents.status());
    base::Reader in(*contents);
    auto read = [&]() -> absl::Status {
      KEEL_ASSIGN_OR_RETURN(const uint32_t version, in.ReadVarint32());
      if (version != kVersion) {
        return absl::DataLossError(
            base::Cat("format version ", version, "; this keel reads version ", kVersion));
      }
      KEEL_ASSIGN_OR_RETURN(const uint32_t count, in.ReadVarint32());
      for (uint32_t i = 0; i < count; ++i) {
        EpochEntry e;
        KEEL_ASSIGN_OR_RETURN(e.epoch, in.ReadVarint64());
        KEEL_ASSIGN_OR_RETURN(e.start_offset, in.ReadVarint64());
        if (!entries.empty() &&
            (e.epoch <= entries.back().epoch || e.start_offset <= entries.back().start_offset)) {
          return absl::DataLossError(base::Cat("entry ", i, " (epoch ", e.epoch, " at ",
                                               e.start_offset, ") is out of order"));
        }
        entries.push_back(e);
      }
      return in.ExpectEnd();
    };
    if (const absl::Status read_status = read(); !read_status.ok()) {
      return absl::DataLossError(base::Cat(base::Quoted(path, 256), ": ", read_status.message()));
    }
  }
  // Entries for messages a crash lost, or a truncation cut before it could remove them.
  while (!entries.empty() && entries.back().start_offset >= log_end) entries.pop_back();
  return std::unique_ptr<LeaderEpochCache>(new LeaderEpochCache(fs, dir, std::move(entries)));
}

std::unique_ptr<LeaderEpochCache> LeaderEpochCache::Empty(wal::FileSystem& fs,
                                                          const std::string& dir) {
  return std::unique_ptr<LeaderEpochCache>(new LeaderEpochCache(fs, dir, {}));
}

absl::Status LeaderEpochCache::Save(const std::vector<EpochEntry>& entries) const {
  std::string out;
  base::PutVarint32(out, kVersion);
  base::PutVarint32(out, static_cast<uint32_t>(entries.size()));
  for (const EpochEntry& e : entries) {
    base::PutVarint64(out, e.epoch);
    base::PutVarint64(out, e.start_offset);
  }
  return wal::WriteFileAtomically(fs_, dir_, kFileName, out);
}

absl::Status LeaderEpochCache::Assign(uint64_t epoch, uint64_t start_offset) {
  std::lock_guard lock(mu_);
  if (!entries_.empty()) {
    const EpochEntry& last = entries_.back();
    if (epoch == last.epoch) return absl::OkStatus();
    if (epoch < last.epoch || start_offset < last.start_offset) {
      return absl::InternalError(base::Cat("leader epoch ", epoch, " at offset ", start_offset,
                                           " comes before the latest, epoch ", last.epoch,
                                           " at offset ", last.start_offset));
    }
  }
  std::vector<EpochEntry> next = entries_;
  // An epoch that never got a message (its leader's first append failed) has nothing left of it.
  if (!next.empty() && next.back().start_offset == start_offset) next.pop_back();
  next.push_back({epoch, start_offset});
  KEEL_RETURN_IF_ERROR(Save(next));
  entries_ = std::move(next);
  return absl::OkStatus();
}

absl::Status LeaderEpochCache::TruncateFromEnd(uint64_t end_offset) {
  std::lock_guard lock(mu_);
  std::vector<EpochEntry> next = entries_;
  while (!next.empty() && next.back().start_offset >= end_offset) next.pop_back();
  if (next.size() == entries_.size()) return absl::OkStatus();
  KEEL_RETURN_IF_ERROR(Save(next));
  entries_ = std::move(next);
  return absl::OkStatus();
}

void LeaderEpochCache::TruncateFromStart(uint64_t start_offset) {
  std::lock_guard lock(mu_);
  // Keep the entry whose epoch covers `start_offset`: the log's first messages are of it.
  size_t drop = 0;
  while (drop + 1 < entries_.size() && entries_[drop + 1].start_offset <= start_offset) ++drop;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(drop));
}

absl::Status LeaderEpochCache::Replace(std::vector<EpochEntry> entries) {
  std::lock_guard lock(mu_);
  KEEL_RETURN_IF_ERROR(Save(entries));
  entries_ = std::move(entries);
  return absl::OkStatus();
}

std::optional<uint64_t> LeaderEpochCache::latest_epoch() const {
  std::lock_guard lock(mu_);
  if (entries_.empty()) return std::nullopt;
  return entries_.back().epoch;
}

EpochEnd LeaderEpochCache::EndOffsetFor(uint64_t epoch, uint64_t log_end) const {
  std::lock_guard lock(mu_);
  return internal::EndOffsetFor(entries_, epoch, log_end);
}

std::vector<EpochEntry> LeaderEpochCache::entries() const {
  std::lock_guard lock(mu_);
  return entries_;
}

}  // namespace keel::mq::internal
