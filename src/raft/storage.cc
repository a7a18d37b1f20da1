// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Storage: opening and recovering a node's directory, and Save and SaveSnapshot with their
// checks. The snapshot file's bytes are snapshot_file.cc's.
#include "keel/raft/storage.h"

#include <algorithm>
#include <deque>
#include <span>
#include <string_view>
#include <utility>

#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/raft/codec.h"
#include "keel/wal/atomic_file.h"
#include "keel/wal/file_system.h"
#include "keel/wal/format.h"
#include "snapshot_file.h"

namespace keel::raft {
namespace internal {
namespace {

constexpr char kLogDir[] = "log";
constexpr char kHardStateFile[] = "hardstate";
constexpr char kSnapshotFile[] = "snapshot";

// The log's framing around each batch: a batch must fit in a segment after its header.
constexpr uint64_t kSegmentOverhead = wal::kSegmentHeaderBytes;
constexpr uint64_t kRecordOverhead = wal::kRecordHeaderBytes;
// The most entries one AppendBatch carries (wal::LogOptions::max_batch_records' default).
constexpr size_t kMaxBatchEntries = 1 << 16;

absl::Status CheckOptions(const StorageOptions& o) {
  if (o.max_segment_bytes < 4096 || o.max_segment_bytes > wal::kMaxSegmentBytesLimit) {
    return absl::InvalidArgumentError(base::Cat("StorageOptions.max_segment_bytes ",
                                                o.max_segment_bytes, " is outside [4096, ",
                                                wal::kMaxSegmentBytesLimit, "]"));
  }
  if (o.max_entry_bytes < 1 || o.max_entry_bytes > wal::kMaxRecordBytesLimit ||
      o.max_entry_bytes + kRecordOverhead + kSegmentOverhead > o.max_segment_bytes) {
    return absl::InvalidArgumentError(
        base::Cat("StorageOptions.max_entry_bytes ", o.max_entry_bytes, " is outside [1, ",
                  wal::kMaxRecordBytesLimit, "] or does not fit in a segment of ",
                  o.max_segment_bytes, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

class StorageImpl {
 public:
  StorageImpl(std::string dir, const StorageOptions& options, wal::FileSystem& fs)
      : dir_(std::move(dir)), options_(options), fs_(fs) {}

  absl::Status Recover(std::vector<NodeId> bootstrap_voters, StorageRecovery& report);
  InitialState TakeInitialState();
  absl::Status Save(const Ready& ready);
  absl::Status SaveSnapshot(const Snapshot& snapshot);
  StorageStats stats() const;
  const std::string& dir() const { return dir_; }

 private:
  std::string PathOf(std::string_view name) const { return base::Cat(dir_, "/", name); }
  uint64_t last_index() const { return snapshot_.index + terms_.size(); }
  // The term of the entry at `index`, or the snapshot's at its index.
  uint64_t TermAt(uint64_t index) const;

  // Open's steps.
  absl::Status Create(std::vector<NodeId> bootstrap_voters, StorageRecovery& report);
  absl::Status LoadLog(const HardState& hard_state, std::vector<Entry>& entries,
                       StorageRecovery& report);
  absl::Status ReadLog(uint64_t from, uint64_t hard_term, std::vector<Entry>& entries);
  absl::Status RestartLogAfterSnapshot();

  // Save's checks, which write nothing. `encoded` gets the entries' records.
  absl::Status CheckReady(const Ready& ready, std::vector<std::string>& encoded) const;
  absl::Status CheckEntries(const std::vector<Entry>& entries, const SnapshotMetadata& snapshot,
                            uint64_t last, uint64_t term, std::vector<std::string>& encoded) const;
  // The highest commit index a hard state written now may hold: entries durable before `ready`
  // that it does not replace and that are committed.
  uint64_t SafeCommit(const Ready& ready, uint64_t commit_before) const;

  // The writes. Each failure breaks the storage (see Broken).
  absl::Status WriteHardState(const HardState& state);
  absl::Status WriteSnapshot(const Snapshot& snapshot);
  absl::Status AppendEntries(const std::vector<Entry>& entries,
                             const std::vector<std::string>& encoded);
  absl::Status CheckWritable() const;
  // Records an I/O error after which nothing more may be written.
  absl::Status Broken(absl::Status status);

  const std::string dir_;
  const StorageOptions options_;
  wal::FileSystem& fs_;
  std::unique_ptr<wal::Log> log_;

  // What is durable: the hard state as written (its commit index possibly clamped), the latest
  // snapshot's metadata, and the term of every entry after it (the entry at snapshot_.index + 1
  // + i has terms_[i]). The log's next offset is always last_index() + 1.
  HardState stored_hard_state_;
  SnapshotMetadata snapshot_;
  uint64_t snapshot_bytes_ = 0;
  std::deque<uint64_t> terms_;
  // The highest commit index a Ready carried, or Open recovered: entries up to it never change.
  uint64_t commit_ = 0;

  std::optional<InitialState> initial_;
  absl::Status broken_;
  uint64_t entries_written_ = 0;
  uint64_t hard_state_writes_ = 0;
  uint64_t snapshot_writes_ = 0;
  uint64_t own_syncs_ = 0;  // fsyncs outside the log: hard state, snapshot, directory creation
};

uint64_t StorageImpl::TermAt(uint64_t index) const {
  if (index == snapshot_.index) return snapshot_.term;
  KEEL_ASSERT(index > snapshot_.index && index <= last_index(), "no term for index ", index,
              " outside (", snapshot_.index, ", ", last_index(), "]");
  return terms_[index - snapshot_.index - 1];
}

// --- Open.

absl::Status StorageImpl::Recover(std::vector<NodeId> bootstrap_voters, StorageRecovery& report) {
  // The directory's own entry is synced every time: a sync that failed after an earlier creation
  // must not be skipped because the directory now exists.
  KEEL_RETURN_IF_ERROR(fs_.CreateDir(dir_));
  KEEL_RETURN_IF_ERROR(wal::SyncParentDir(fs_, dir_));
  ++own_syncs_;
  wal::LogOptions log_options;
  log_options.sync = wal::SyncPolicy::kEveryAppend;
  log_options.max_segment_bytes = options_.max_segment_bytes;
  log_options.max_record_bytes = options_.max_entry_bytes;
  log_options.preallocate_bytes = options_.preallocate_bytes;
  log_options.salt = options_.salt;
  log_options.file_system = &fs_;
  // The log's lock guards the whole directory: nothing is changed before it is held.
  KEEL_ASSIGN_OR_RETURN(log_, wal::Log::Open(PathOf(kLogDir), log_options, &report.log));
  for (const std::string& event : report.log.events) report.events.push_back("log: " + event);
  // A snapshot write that a crash interrupted; the snapshot file itself is the old one, whole.
  const std::string leftover = PathOf(kSnapshotFile) + ".tmp";
  if (const absl::Status removed = fs_.Remove(leftover); removed.ok()) {
    report.events.push_back(base::Cat("removed ", leftover, " left by an interrupted write"));
  } else if (removed.code() != absl::StatusCode::kNotFound) {
    return removed;
  }

  absl::StatusOr<std::string> hard_bytes = wal::ReadFileChecked(fs_, PathOf(kHardStateFile));
  if (hard_bytes.status().code() == absl::StatusCode::kNotFound) {
    return Create(std::move(bootstrap_voters), report);
  }
  KEEL_RETURN_IF_ERROR(hard_bytes.status());
  absl::StatusOr<HardState> hard_state = DecodeHardState(*hard_bytes);
  if (!hard_state.ok()) {
    return absl::DataLossError(
        base::Cat(PathOf(kHardStateFile), ": ", hard_state.status().message()));
  }
  absl::StatusOr<Snapshot> snapshot = ReadSnapshotFile(fs_, PathOf(kSnapshotFile));
  if (snapshot.status().code() == absl::StatusCode::kNotFound) {
    return absl::DataLossError(base::Cat(PathOf(kSnapshotFile), " is missing, but ",
                                         PathOf(kHardStateFile), " says the directory was made"));
  }
  KEEL_RETURN_IF_ERROR(snapshot.status());
  if (snapshot->metadata.term > hard_state->term) {
    return absl::DataLossError(base::Cat(PathOf(kSnapshotFile), " ends at index ",
                                         snapshot->metadata.index, " of term ",
                                         snapshot->metadata.term, ", above the term ",
                                         hard_state->term, " in ", PathOf(kHardStateFile)));
  }
  stored_hard_state_ = *hard_state;
  snapshot_ = snapshot->metadata;
  snapshot_bytes_ = snapshot->bytes().size();
  std::vector<Entry> entries;
  KEEL_RETURN_IF_ERROR(LoadLog(*hard_state, entries, report));

  InitialState initial;
  initial.hard_state = *hard_state;
  // A stale commit index is safe (Raft recomputes it); the snapshot's entries are committed.
  initial.hard_state.commit = std::clamp(hard_state->commit, snapshot_.index, last_index());
  commit_ = initial.hard_state.commit;
  initial.snapshot = *std::move(snapshot);
  initial.entries = std::move(entries);
  initial_ = std::move(initial);
  return absl::OkStatus();
}

absl::Status StorageImpl::Create(std::vector<NodeId> bootstrap_voters, StorageRecovery& report) {
  InitialState initial = bootstrap_voters.empty()
                             ? InitialState{}
                             : InitialState::Bootstrap(std::move(bootstrap_voters));
  const uint64_t next = initial.snapshot.metadata.index + 1;
  // No hard state: a new directory, or one whose creation a crash interrupted (the hard state is
  // written last), which holds at most this creation's snapshot and an empty log. Anything else
  // is a directory that lost its hard state, and the term and vote with it.
  const uint64_t log_first = log_->first_offset();
  const uint64_t log_next = log_->next_offset();
  if (log_first != log_next) {
    return absl::DataLossError(base::Cat(PathOf(kHardStateFile), " is missing, but ",
                                         PathOf(kLogDir), " holds entries ", log_first, " to ",
                                         log_next - 1));
  }
  if (log_next != 0 && log_next != next) {
    return absl::DataLossError(base::Cat(PathOf(kHardStateFile), " is missing, but ",
                                         PathOf(kLogDir), " starts at index ", log_next,
                                         ", not where a new directory's starts (", next, ")"));
  }
  absl::StatusOr<Snapshot> existing = ReadSnapshotFile(fs_, PathOf(kSnapshotFile));
  if (existing.ok() &&
      !(existing->metadata == initial.snapshot.metadata && existing->bytes().empty())) {
    return absl::DataLossError(
        base::Cat(PathOf(kHardStateFile), " is missing, but ", PathOf(kSnapshotFile),
                  " holds a snapshot at index ", existing->metadata.index,
                  " that is not the one a new directory with these voters starts from"));
  }
  if (!existing.ok() && existing.status().code() != absl::StatusCode::kNotFound) {
    return existing.status();
  }
  KEEL_RETURN_IF_ERROR(WriteSnapshot(initial.snapshot));
  if (log_first != next || log_next != next) KEEL_RETURN_IF_ERROR(log_->Reset(next));
  KEEL_RETURN_IF_ERROR(WriteHardState(initial.hard_state));
  commit_ = initial.hard_state.commit;
  report.created = true;
  report.events.push_back(base::Cat("created ", dir_, " with ",
                                    initial.snapshot.metadata.conf.voters.size(), " voters"));
  initial_ = std::move(initial);
  return absl::OkStatus();
}

absl::Status StorageImpl::RestartLogAfterSnapshot() {
  KEEL_RETURN_IF_ERROR(log_->Reset(snapshot_.index + 1));
  terms_.clear();
  return absl::OkStatus();
}

absl::Status StorageImpl::LoadLog(const HardState& hard_state, std::vector<Entry>& entries,
                                  StorageRecovery& report) {
  const uint64_t index = snapshot_.index;
  const uint64_t first = log_->first_offset();
  const uint64_t next = log_->next_offset();
  if (next == 0) {
    // Creation restarts the log after the first snapshot before it writes the hard state, so a
    // log that starts from nothing is a new one: the old one, directory or segments, is gone.
    return absl::DataLossError(base::Cat(PathOf(kLogDir), " has no segments, but ",
                                         PathOf(kHardStateFile),
                                         " says the directory was made: the log is lost"));
  }
  if (first <= index) report.covered_entries = std::min(next, index + 1) - first;
  if (first <= index && index < next) {
    // The log holds the snapshot's last entry. A local snapshot was taken of it, so it has the
    // same term; another term means a received snapshot was written and the crash came before
    // the log was reset (Node installs a snapshot only where its log disagrees).
    std::vector<Entry> at_snapshot;
    KEEL_RETURN_IF_ERROR(ReadLog(index, hard_state.term, at_snapshot));
    if (at_snapshot.front().term != snapshot_.term) {
      report.finished_install = true;
      report.events.push_back(base::Cat("entry ", index, " has term ", at_snapshot.front().term,
                                        " but the snapshot there has term ", snapshot_.term,
                                        ": finished the snapshot's install by emptying the log"));
      return RestartLogAfterSnapshot();
    }
  } else if (next <= index) {
    // Everything the log holds is covered by the snapshot, which was received (a local one is
    // taken of an entry the log holds) and written before the crash came: the next entry goes
    // after it.
    report.finished_install = true;
    report.events.push_back(base::Cat("the log ends at ", next, ", before the snapshot at ", index,
                                      ": restarted it at ", index + 1));
    return RestartLogAfterSnapshot();
  }
  if (first > index + 1) {
    return absl::DataLossError(base::Cat(
        PathOf(kLogDir), " starts at entry ", first, " but the snapshot in ", PathOf(kSnapshotFile),
        " ends at ", index, ": entries ", index + 1, " to ", first - 1, " are missing"));
  }
  if (next == index + 1) return absl::OkStatus();
  KEEL_RETURN_IF_ERROR(ReadLog(index + 1, hard_state.term, entries));
  for (const Entry& entry : entries) terms_.push_back(entry.term);
  return absl::OkStatus();
}

// Reads the entries from `from` to the log's end, checking each against its offset, the term
// before it and the hard state's term.
absl::Status StorageImpl::ReadLog(uint64_t from, uint64_t hard_term, std::vector<Entry>& entries) {
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogReader> reader, log_->NewReader(from));
  // Terms never decrease along a log, from the snapshot's on (an entry the snapshot covers is
  // read only to compare its term with the snapshot's).
  uint64_t previous_term = from > snapshot_.index ? snapshot_.term : 0;
  const uint64_t end = from == snapshot_.index ? from + 1 : log_->next_offset();
  while (reader->position() < end) {
    KEEL_ASSIGN_OR_RETURN(std::optional<wal::RecordView> record, reader->Next());
    if (!record) {
      return absl::DataLossError(base::Cat(PathOf(kLogDir), " ends at ", reader->position(),
                                           " before its next offset ", end));
    }
    absl::StatusOr<Entry> entry = DecodeEntry(record->payload);
    if (!entry.ok()) {
      return absl::DataLossError(
          base::Cat(PathOf(kLogDir), ": record ", record->offset, ": ", entry.status().message()));
    }
    if (entry->index != record->offset) {
      return absl::DataLossError(
          base::Cat(PathOf(kLogDir), ": record ", record->offset, " holds entry ", entry->index));
    }
    if (entry->term < previous_term || entry->term > hard_term) {
      return absl::DataLossError(base::Cat(PathOf(kLogDir), ": entry ", entry->index, " has term ",
                                           entry->term, ", outside [", previous_term, ", ",
                                           hard_term, "] (the term before it, and the term in ",
                                           PathOf(kHardStateFile), ")"));
    }
    if (entry->index > snapshot_.index) previous_term = entry->term;
    entries.push_back(*std::move(entry));
  }
  return absl::OkStatus();
}

InitialState StorageImpl::TakeInitialState() {
  KEEL_ASSERT(initial_.has_value(), "Storage::TakeInitialState called twice");
  InitialState initial = *std::move(initial_);
  initial_.reset();
  return initial;
}

// --- Save.

absl::Status StorageImpl::CheckWritable() const {
  if (broken_.ok()) return absl::OkStatus();
  return absl::FailedPreconditionError(base::Cat("the storage in ", dir_,
                                                 " refuses writes after an earlier error (reopen "
                                                 "it to recover): ",
                                                 broken_.message()));
}

absl::Status StorageImpl::Broken(absl::Status status) {
  if (!status.ok() && broken_.ok()) broken_ = status;
  return status;
}

absl::Status StorageImpl::CheckReady(const Ready& ready, std::vector<std::string>& encoded) const {
  uint64_t term = stored_hard_state_.term;
  if (ready.hard_state) {
    const HardState& hard = *ready.hard_state;
    if (hard.term < stored_hard_state_.term) {
      return absl::InvalidArgumentError(base::Cat(
          "the Ready's term ", hard.term, " is below the stored term ", stored_hard_state_.term));
    }
    if (hard.term == stored_hard_state_.term && stored_hard_state_.vote != kNoNode &&
        hard.vote != stored_hard_state_.vote) {
      return absl::InvalidArgumentError(base::Cat("the Ready changes the vote of term ", hard.term,
                                                  " from ", stored_hard_state_.vote, " to ",
                                                  hard.vote));
    }
    term = hard.term;
  }
  SnapshotMetadata snapshot = snapshot_;
  uint64_t last = last_index();
  if (ready.snapshot) {
    const SnapshotMetadata& received = ready.snapshot->metadata;
    if (received.index <= snapshot_.index) {
      return absl::InvalidArgumentError(base::Cat("the Ready's snapshot at index ", received.index,
                                                  " is not newer than the stored one at ",
                                                  snapshot_.index));
    }
    if (received.index <= commit_) {
      return absl::InvalidArgumentError(base::Cat("the Ready's snapshot at index ", received.index,
                                                  " is within the commit index ", commit_,
                                                  ": a node installs only snapshots past it"));
    }
    if (received.term > term) {
      return absl::InvalidArgumentError(
          base::Cat("the Ready's snapshot has term ", received.term, ", above the term ", term));
    }
    snapshot = received;
    last = received.index;
  }
  if (ready.entries.empty()) return absl::OkStatus();
  return CheckEntries(ready.entries, snapshot, last, term, encoded);
}

absl::Status StorageImpl::CheckEntries(const std::vector<Entry>& entries,
                                       const SnapshotMetadata& snapshot, uint64_t last,
                                       uint64_t term, std::vector<std::string>& encoded) const {
  const uint64_t first = entries.front().index;
  if (first <= snapshot.index || first > last + 1) {
    return absl::InvalidArgumentError(base::Cat("the Ready's entries start at index ", first,
                                                ", outside [", snapshot.index + 1, ", ", last + 1,
                                                "] (after the snapshot, without a gap)"));
  }
  if (first <= commit_) {
    return absl::InvalidArgumentError(base::Cat("the Ready's entries from index ", first,
                                                " would replace committed entries up to ",
                                                commit_));
  }
  uint64_t previous_term = first - 1 == snapshot.index ? snapshot.term : TermAt(first - 1);
  encoded.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& entry = entries[i];
    if (entry.index != first + i) {
      return absl::InvalidArgumentError(
          base::Cat("the Ready's entry ", i, " has index ", entry.index, ", not ", first + i));
    }
    if (entry.term < previous_term || entry.term > term) {
      return absl::InvalidArgumentError(
          base::Cat("the Ready's entry ", entry.index, " has term ", entry.term, ", outside [",
                    previous_term, ", ", term, "] (the term before it, and the node's term)"));
    }
    previous_term = entry.term;
    encoded.push_back(EncodeEntry(entry));
    if (encoded.back().size() > options_.max_entry_bytes) {
      return absl::InvalidArgumentError(
          base::Cat("the Ready's entry ", entry.index, " takes ", encoded.back().size(),
                    " bytes, over max_entry_bytes ", options_.max_entry_bytes));
    }
  }
  return absl::OkStatus();
}

uint64_t StorageImpl::SafeCommit(const Ready& ready, uint64_t commit_before) const {
  // A received snapshot replaces the log, and the old entries between the commit index and the
  // snapshot's may disagree with it: only the committed ones are safe until it is written.
  if (ready.snapshot) return commit_before;
  // Entries the Ready replaces are not, nor are its own (they are written after the hard state).
  if (!ready.entries.empty()) return std::min(last_index(), ready.entries.front().index - 1);
  return last_index();
}

absl::Status StorageImpl::Save(const Ready& ready) {
  KEEL_RETURN_IF_ERROR(CheckWritable());
  std::vector<std::string> encoded;
  KEEL_RETURN_IF_ERROR(CheckReady(ready, encoded));
  const uint64_t commit_before = commit_;
  if (ready.hard_state) {
    const HardState& hard = *ready.hard_state;
    // A commit index alone is not written (see "Commit index" in storage.h).
    if (hard.term != stored_hard_state_.term || hard.vote != stored_hard_state_.vote) {
      HardState written = hard;
      written.commit = std::min(hard.commit, SafeCommit(ready, commit_before));
      KEEL_RETURN_IF_ERROR(WriteHardState(written));
    }
    commit_ = std::max(commit_, hard.commit);
  }
  if (ready.snapshot) {
    // The snapshot first: a crash before the log's reset leaves the old entry at the snapshot's
    // index, whose term disagrees, and Open finishes the reset.
    KEEL_RETURN_IF_ERROR(WriteSnapshot(*ready.snapshot));
    KEEL_RETURN_IF_ERROR(Broken(RestartLogAfterSnapshot()));
    commit_ = std::max(commit_, ready.snapshot->metadata.index);
  }
  if (!ready.entries.empty()) KEEL_RETURN_IF_ERROR(AppendEntries(ready.entries, encoded));
  return absl::OkStatus();
}

absl::Status StorageImpl::WriteHardState(const HardState& state) {
  KEEL_RETURN_IF_ERROR(
      Broken(wal::WriteFileAtomically(fs_, dir_, kHardStateFile, EncodeHardState(state))));
  stored_hard_state_ = state;
  ++hard_state_writes_;
  own_syncs_ += 2;  // the file, then the directory
  return absl::OkStatus();
}

absl::Status StorageImpl::WriteSnapshot(const Snapshot& snapshot) {
  KEEL_RETURN_IF_ERROR(Broken(WriteSnapshotFile(fs_, dir_, kSnapshotFile, snapshot)));
  snapshot_ = snapshot.metadata;
  snapshot_bytes_ = snapshot.bytes().size();
  ++snapshot_writes_;
  own_syncs_ += 2;
  return absl::OkStatus();
}

absl::Status StorageImpl::AppendEntries(const std::vector<Entry>& entries,
                                        const std::vector<std::string>& encoded) {
  const uint64_t first = entries.front().index;
  if (first < log_->next_offset()) {
    KEEL_RETURN_IF_ERROR(Broken(log_->Truncate(first)));
    terms_.resize(first - snapshot_.index - 1);
  }
  KEEL_ASSERT(log_->next_offset() == first, "the log's next offset ", log_->next_offset(),
              " is not the Ready's first index ", first);
  // As few batches as fit a segment; each is durable on return (SyncPolicy::kEveryAppend).
  std::vector<std::string_view> batch;
  uint64_t batch_bytes = kSegmentOverhead;
  size_t appended = 0;
  for (size_t i = 0; i <= encoded.size(); ++i) {
    const bool full =
        i == encoded.size() || batch.size() == kMaxBatchEntries ||
        batch_bytes + kRecordOverhead + encoded[i].size() > options_.max_segment_bytes;
    if (full && !batch.empty()) {
      absl::StatusOr<uint64_t> offset = log_->AppendBatch(batch);
      KEEL_RETURN_IF_ERROR(Broken(offset.status()));
      KEEL_ASSERT(*offset == first + appended, "entries appended at offset ", *offset,
                  " instead of ", first + appended);
      for (size_t k = 0; k < batch.size(); ++k) terms_.push_back(entries[appended + k].term);
      appended += batch.size();
      entries_written_ += batch.size();
      batch.clear();
      batch_bytes = kSegmentOverhead;
    }
    if (i == encoded.size()) break;
    batch.push_back(encoded[i]);
    batch_bytes += kRecordOverhead + encoded[i].size();
  }
  return absl::OkStatus();
}

// --- SaveSnapshot.

absl::Status StorageImpl::SaveSnapshot(const Snapshot& snapshot) {
  KEEL_RETURN_IF_ERROR(CheckWritable());
  const SnapshotMetadata& metadata = snapshot.metadata;
  if (metadata.index <= snapshot_.index) {
    return absl::InvalidArgumentError(base::Cat("the snapshot at index ", metadata.index,
                                                " is not newer than the stored one at ",
                                                snapshot_.index));
  }
  if (metadata.index > last_index() || metadata.index > commit_) {
    return absl::InvalidArgumentError(base::Cat("the snapshot at index ", metadata.index,
                                                " is past the commit index ", commit_,
                                                " or the last entry ", last_index()));
  }
  if (metadata.term != TermAt(metadata.index)) {
    return absl::InvalidArgumentError(
        base::Cat("the snapshot at index ", metadata.index, " has term ", metadata.term,
                  ", but the entry there has term ", TermAt(metadata.index)));
  }
  const uint64_t old_index = snapshot_.index;
  KEEL_RETURN_IF_ERROR(WriteSnapshot(snapshot));
  terms_.erase(terms_.begin(), terms_.begin() + static_cast<ptrdiff_t>(metadata.index - old_index));
  // Whole segments only: the log may keep entries the snapshot covers, which Open skips.
  return Broken(log_->DropBefore(metadata.index + 1).status());
}

StorageStats StorageImpl::stats() const {
  StorageStats stats;
  stats.snapshot_index = snapshot_.index;
  stats.snapshot_term = snapshot_.term;
  stats.snapshot_bytes = snapshot_bytes_;
  stats.last_index = last_index();
  stats.log_bytes = log_->size_bytes();
  const wal::LogStats log = log_->stats();
  stats.log_segments = log.segments;
  stats.entries_written = entries_written_;
  stats.hard_state_writes = hard_state_writes_;
  stats.snapshot_writes = snapshot_writes_;
  stats.syncs = log.syncs + own_syncs_;
  return stats;
}

}  // namespace internal

absl::StatusOr<std::unique_ptr<Storage>> Storage::Open(const std::string& dir,
                                                       const StorageOptions& options,
                                                       std::vector<NodeId> bootstrap_voters,
                                                       StorageRecovery* report) {
  KEEL_RETURN_IF_ERROR(internal::CheckOptions(options));
  wal::FileSystem& fs =
      options.file_system != nullptr ? *options.file_system : wal::FileSystem::Posix();
  auto impl = std::make_unique<internal::StorageImpl>(dir, options, fs);
  StorageRecovery local;
  StorageRecovery& r = report != nullptr ? *report : local;
  r = StorageRecovery{};
  KEEL_RETURN_IF_ERROR(impl->Recover(std::move(bootstrap_voters), r));
  return std::unique_ptr<Storage>(new Storage(std::move(impl)));
}

Storage::Storage(std::unique_ptr<internal::StorageImpl> impl) : impl_(std::move(impl)) {}
Storage::~Storage() = default;

InitialState Storage::TakeInitialState() { return impl_->TakeInitialState(); }
absl::Status Storage::Save(const Ready& ready) { return impl_->Save(ready); }
absl::Status Storage::SaveSnapshot(const Snapshot& snapshot) {
  return impl_->SaveSnapshot(snapshot);
}
StorageStats Storage::stats() const { return impl_->stats(); }
const std::string& Storage::dir() const { return impl_->dir(); }

}  // namespace keel::raft
