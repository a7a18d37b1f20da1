// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/raft/internal/raft_log.h"

#include <algorithm>
#include <utility>

#include "keel/base/assert.h"

namespace keel::raft::internal {

RaftLog::RaftLog(Snapshot snapshot, std::vector<Entry> entries, uint64_t commit)
    : snapshot_(std::move(snapshot)) {
  for (Entry& entry : entries) {
    KEEL_ASSERT(entry.index == last_index() + 1, "entry ", entry.index, " does not follow ",
                last_index());
    entries_.push_back(std::move(entry));
  }
  committed_ = std::clamp(commit, snapshot_index(), last_index());
  applied_ = applying_ = snapshot_index();
  stable_ = last_index();
  unstable_from_ = last_index() + 1;
}

uint64_t RaftLog::last_term() const {
  return entries_.empty() ? snapshot_term() : entries_.back().term;
}

const Entry& RaftLog::At(uint64_t index) const { return entries_[index - first_index()]; }

std::optional<uint64_t> RaftLog::Term(uint64_t index) const {
  if (index == snapshot_index()) return snapshot_term();
  if (index < snapshot_index() || index > last_index()) return std::nullopt;
  return At(index).term;
}

bool RaftLog::MatchTerm(uint64_t index, uint64_t term) const {
  const std::optional<uint64_t> actual = Term(index);
  return actual.has_value() && *actual == term;
}

bool RaftLog::IsUpToDate(uint64_t last_index, uint64_t last_term) const {
  return last_term > this->last_term() ||
         (last_term == this->last_term() && last_index >= this->last_index());
}

uint64_t RaftLog::FindConflictByTerm(uint64_t index, uint64_t term) const {
  index = std::min(index, last_index());
  while (index > snapshot_index()) {
    if (At(index).term <= term) return index;
    --index;
  }
  return snapshot_index();
}

void RaftLog::Append(std::vector<Entry> entries) {
  for (Entry& entry : entries) {
    KEEL_ASSERT(entry.index == last_index() + 1, "appended entry ", entry.index,
                " does not follow ", last_index());
    entries_.push_back(std::move(entry));
  }
}

std::optional<uint64_t> RaftLog::MaybeAppend(uint64_t prev_index, uint64_t prev_term,
                                             std::span<const Entry> entries) {
  if (!MatchTerm(prev_index, prev_term)) return std::nullopt;
  const uint64_t last_new = prev_index + entries.size();
  for (const Entry& entry : entries) {
    if (entry.index <= snapshot_index()) continue;  // covered by the snapshot: committed, equal
    if (entry.index <= last_index()) {
      if (At(entry.index).term == entry.term) continue;
      // A conflict: the leader's entry wins, and everything after it in this log goes (Figure 2,
      // AppendEntries step 3). Committed entries never conflict (Log Matching and Leader
      // Completeness); if one does, the log or the leader is broken.
      KEEL_ASSERT(entry.index > committed_, "entry ", entry.index,
                  " conflicts with the leader but is committed (commit index ", committed_, ")");
      TruncateFrom(entry.index);
    }
    entries_.push_back(entry);
  }
  return last_new;
}

void RaftLog::TruncateFrom(uint64_t index) {
  entries_.resize(index - first_index());
  unstable_from_ = std::min(unstable_from_, index);
  stable_ = std::min(stable_, index - 1);
}

void RaftLog::CommitTo(uint64_t index) {
  if (index <= committed_) return;
  KEEL_ASSERT(index <= last_index(), "commit index ", index, " is past the last entry ",
              last_index());
  committed_ = index;
}

std::vector<Entry> RaftLog::Slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const {
  KEEL_ASSERT(first_index() <= lo && lo <= hi && hi <= last_index() + 1, "slice [", lo, ", ", hi,
              ") is outside the log [", first_index(), ", ", last_index() + 1, ")");
  std::vector<Entry> slice;
  uint64_t bytes = 0;
  for (uint64_t index = lo; index < hi; ++index) {
    const Entry& entry = At(index);
    bytes += entry.data.size();
    if (!slice.empty() && bytes > max_bytes) break;
    slice.push_back(entry);
  }
  return slice;
}

uint64_t RaftLog::DataBytes(uint64_t lo, uint64_t hi) const {
  uint64_t bytes = 0;
  for (uint64_t index = std::max(lo, first_index()); index < hi && index <= last_index(); ++index) {
    bytes += At(index).data.size();
  }
  return bytes;
}

void RaftLog::Restore(Snapshot snapshot) {
  const uint64_t index = snapshot.metadata.index;
  entries_.clear();
  snapshot_ = snapshot;
  committed_ = index;
  applied_ = applying_ = index;
  stable_ = index;
  unstable_from_ = index + 1;
  pending_snapshot_ = std::move(snapshot);
}

void RaftLog::Compact(Snapshot snapshot) {
  const uint64_t index = snapshot.metadata.index;
  KEEL_ASSERT(index > snapshot_index() && index <= applied_, "compaction to ", index, " outside (",
              snapshot_index(), ", ", applied_, "]");
  entries_.erase(entries_.begin(),
                 entries_.begin() + static_cast<ptrdiff_t>(index - snapshot_index()));
  snapshot_ = std::move(snapshot);
}

std::vector<Entry> RaftLog::TakeUnstable() {
  std::vector<Entry> unstable;
  if (!HasUnstable()) return unstable;
  unstable.reserve(last_index() - unstable_from_ + 1);
  for (uint64_t index = std::max(unstable_from_, first_index()); index <= last_index(); ++index) {
    unstable.push_back(At(index));
  }
  unstable_from_ = last_index() + 1;
  return unstable;
}

Snapshot RaftLog::TakePendingSnapshot() {
  Snapshot snapshot = std::move(*pending_snapshot_);
  pending_snapshot_.reset();
  return snapshot;
}

void RaftLog::StableTo(uint64_t index, uint64_t term) {
  // Entries persisted by a Ready may have been replaced since it was taken; then only what is
  // still the same entry counts.
  if (MatchTerm(index, term) && index > stable_) stable_ = index;
}

void RaftLog::StableSnapshotTo(uint64_t index) { stable_ = std::max(stable_, index); }

bool RaftLog::HasCommittedToApply() const { return !pending_snapshot_ && applying_ < committed_; }

std::vector<Entry> RaftLog::TakeCommitted(uint64_t max_bytes) {
  std::vector<Entry> committed;
  if (!HasCommittedToApply()) return committed;
  committed = Slice(std::max(applying_ + 1, first_index()), committed_ + 1, max_bytes);
  if (!committed.empty()) applying_ = committed.back().index;
  return committed;
}

void RaftLog::AppliedTo(uint64_t index) {
  if (index <= applied_) return;
  KEEL_ASSERT(index <= committed_, "applied ", index, " past the commit index ", committed_);
  applied_ = index;
  applying_ = std::max(applying_, index);
}

}  // namespace keel::raft::internal
