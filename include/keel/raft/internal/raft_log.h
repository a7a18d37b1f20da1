// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// RaftLog: a node's view of the replicated log. It holds the entries after the latest snapshot in
// memory (the application compacts it by snapshotting), and tracks four positions:
//
//   snapshot index <= applied <= committed <= last index
//                                 stable <= last index
//
// `stable` is how far the application has persisted the log; entries after `unstable_from` have
// not yet been handed out to be persisted. A follower that replaces a conflicting suffix moves
// both back, so the next Ready tells the application to overwrite from there.
#ifndef KEEL_RAFT_INTERNAL_RAFT_LOG_H_
#define KEEL_RAFT_INTERNAL_RAFT_LOG_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "keel/raft/types.h"

namespace keel::raft::internal {

class RaftLog {
 public:
  // A log that starts after `snapshot` with `entries` (which must follow it without gaps),
  // everything already persisted, and `commit` known to be committed.
  RaftLog(Snapshot snapshot, std::vector<Entry> entries, uint64_t commit);

  [[nodiscard]] uint64_t snapshot_index() const { return snapshot_.metadata.index; }
  [[nodiscard]] uint64_t snapshot_term() const { return snapshot_.metadata.term; }
  [[nodiscard]] const Snapshot& snapshot() const { return snapshot_; }
  [[nodiscard]] uint64_t first_index() const { return snapshot_index() + 1; }
  [[nodiscard]] uint64_t last_index() const { return snapshot_index() + entries_.size(); }
  [[nodiscard]] uint64_t last_term() const;
  [[nodiscard]] uint64_t committed() const { return committed_; }
  [[nodiscard]] uint64_t applied() const { return applied_; }
  [[nodiscard]] uint64_t stable() const { return stable_; }

  // The term of the entry at `index`: the snapshot's for its index, nullopt when compacted away
  // or past the end.
  [[nodiscard]] std::optional<uint64_t> Term(uint64_t index) const;
  [[nodiscard]] bool MatchTerm(uint64_t index, uint64_t term) const;
  // Whether a log ending at (last_index, last_term) is at least as up to date as this one
  // (section 5.4.1).
  [[nodiscard]] bool IsUpToDate(uint64_t last_index, uint64_t last_term) const;
  // The largest index <= `index` whose term is <= `term`, as far back as the snapshot: where a
  // log that has `term` at `index` can match this one at best.
  [[nodiscard]] uint64_t FindConflictByTerm(uint64_t index, uint64_t term) const;

  // Appends entries proposed by the leader (their indexes must follow last_index).
  void Append(std::vector<Entry> entries);
  // A follower's AppendEntries: if the entry at prev_index has prev_term, appends `entries`,
  // replacing a conflicting suffix, and returns the last index now matching the leader (the last
  // new entry); nullopt if prev does not match. An entry the log already has is kept, so a
  // delayed, duplicated or reordered append never truncates what a later one added.
  [[nodiscard]] std::optional<uint64_t> MaybeAppend(uint64_t prev_index, uint64_t prev_term,
                                                    std::span<const Entry> entries);
  // Raises the commit index (never lowers it).
  void CommitTo(uint64_t index);

  // Entries in [lo, hi), at most `max_bytes` of data but at least one. REQUIRES: first_index()
  // <= lo <= hi <= last_index() + 1.
  [[nodiscard]] std::vector<Entry> Slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const;

  // The bytes of data of the entries in [lo, hi).
  [[nodiscard]] uint64_t DataBytes(uint64_t lo, uint64_t hi) const;

  // Replaces the log with a snapshot received from the leader.
  void Restore(Snapshot snapshot);
  // Drops the entries up to the snapshot's index (which must be applied) and keeps the snapshot.
  void Compact(Snapshot snapshot);

  // Persistence and application, driven by Ready.
  [[nodiscard]] bool HasUnstable() const { return unstable_from_ <= last_index(); }
  [[nodiscard]] std::vector<Entry> TakeUnstable();
  [[nodiscard]] bool HasPendingSnapshot() const { return pending_snapshot_.has_value(); }
  [[nodiscard]] Snapshot TakePendingSnapshot();
  // The application persisted the entry at `index` with `term` (and everything before it).
  void StableTo(uint64_t index, uint64_t term);
  void StableSnapshotTo(uint64_t index);
  [[nodiscard]] bool HasCommittedToApply() const;
  // Committed entries not yet handed out, up to max_bytes (at least one).
  [[nodiscard]] std::vector<Entry> TakeCommitted(uint64_t max_bytes);
  void AppliedTo(uint64_t index);
  // The last index handed out to apply (applied once Advance comes).
  [[nodiscard]] uint64_t applying() const { return applying_; }

 private:
  [[nodiscard]] const Entry& At(uint64_t index) const;
  void TruncateFrom(uint64_t index);

  Snapshot snapshot_;
  std::deque<Entry> entries_;
  uint64_t committed_ = 0;
  uint64_t applied_ = 0;
  uint64_t applying_ = 0;
  uint64_t stable_ = 0;
  uint64_t unstable_from_ = 0;
  std::optional<Snapshot> pending_snapshot_;
};

}  // namespace keel::raft::internal

#endif  // KEEL_RAFT_INTERNAL_RAFT_LOG_H_
