// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Storage: a Raft node's durable state in a directory, so that a restarted node recovers exactly
// what it had made durable. Raft's safety rests on it (Figure 2 of Ongaro and Ousterhout, 2014):
// a node's term, vote and log entries must be on stable storage before it answers a request that
// relies on them, and a restarted node must find them again, with its latest snapshot (chapter 5
// of Ongaro's dissertation). keel::raft::Node does no I/O; the application hands each Ready to
// Save before it sends the Ready's messages, and starts the node from what Open recovered.
//
// The directory holds three things (docs/raft.md, "Storage", gives the bytes):
//
//   log/        a keel::wal::Log whose record offsets are Raft indexes: the entry at index i is
//               the record at offset i. A follower that replaces a conflicting suffix truncates
//               the log there; installing a snapshot restarts the log after it (Log::Reset);
//               compaction after a local snapshot drops whole segments before it
//               (Log::DropBefore), so the log may still hold entries the snapshot covers, which
//               Open skips.
//   hardstate   term, vote and commit index, replaced atomically (keel/wal/atomic_file.h) only
//               when the term or the vote changes: each replacement costs two fsyncs, and a
//               change of commit index alone needs none (see "Commit index" below).
//   snapshot    the latest snapshot, metadata and data under one checksum, written to a
//               temporary file, synced and renamed over the old one: a crash leaves the old
//               snapshot or the new, never a mix. Its own framing, because snapshots may be
//               larger than an atomic file's 64 MiB.
//
// Order. Save writes a Ready's hard state first, then its snapshot, then its entries, each
// durably before the next: an entry's term never exceeds the durable term, so Open can check
// that it does not. A received snapshot is written before the log is reset; if a crash comes
// between them, the log still holds an entry at the snapshot's index with another term (keel's
// Node installs a snapshot only when its log disagrees there), and Open finishes the reset.
// Entries of one Ready are appended in as few batches as fit a segment, one fsync each (one
// batch unless the Ready is larger than a segment); a crash between batches keeps a prefix,
// which is safe because nothing of the Ready was acknowledged.
//
// Commit index. The hard state's commit index is written only with a change of term or vote,
// so it is usually stale, which is safe: Raft recomputes the commit index from a leader, and a
// node that restarts with a lower one only applies later. It must never be too high: a restarted
// node applies entries up to it without asking anyone. The hard state is written before the
// entries of its Ready, so the commit index written is clamped to the entries that were durable
// before the Ready and that it does not replace: a Ready that carries a new term, a commit index
// of 10 and entries 8 to 10 replacing conflicting ones must not leave a hard state saying 10
// over the old entries 8 to 10 if the power goes before the new ones are written. Open uses
// max(stored commit, snapshot index), at most the last index.
//
// Durability of a Ready. Save returns once everything it wrote is durable, whatever
// ready.must_sync says. A Ready with must_sync false carries at most a new commit index (keel's
// Node sets must_sync for any entry, snapshot, term or vote), which Save does not write at all:
// such a Ready costs no I/O. Should a Ready ever carry entries without must_sync, they are still
// synced: correctness first.
//
// Recovery. Open reads the hard state and the snapshot (kDataLoss, naming the file, if either
// is damaged), opens the log (a torn tail from a crash is cut: it holds only entries that were
// never acknowledged), and checks what it loaded: the log exists and continues the snapshot without
// a gap, its terms never decrease, and neither its last term nor the snapshot's is above the hard
// state's term; anything else is kDataLoss with what is wrong. Damage to bytes that were durable
// is not a crash's doing: the hard state and the snapshot are checksummed and refused; the log's
// records are checksummed, but damage to its very last record cannot be told from a torn write
// and drops that record (keel/wal/log.h, "What is promised").
//
// Creation. A directory with no hardstate file is new: Open writes the first snapshot (the
// bootstrap configuration, InitialState::Bootstrap's snapshot at index 1; an empty one at index 0
// for a node that will join), restarts the log after it, and writes the hard state last, so that
// a crash part-way leaves a directory that the next Open creates again. A directory without a
// hardstate file but with entries in its log, or with a snapshot other than the one this creation
// writes, is damaged (kDataLoss): it lost its term and vote.
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(std::unique_ptr<keel::raft::Storage> storage,
//                         keel::raft::Storage::Open("/var/lib/raft_kv/0", {}, {0, 1, 2}));
//   KEEL_ASSIGN_OR_RETURN(std::unique_ptr<keel::raft::Node> node,
//                         keel::raft::Node::Create(options, storage->TakeInitialState()));
//   while (node->HasReady()) {
//     keel::raft::Ready ready = node->GetReady();
//     KEEL_RETURN_IF_ERROR(storage->Save(ready));  // durable before the messages go
//     send(ready.messages);  apply(ready.committed_entries);
//     node->Advance(ready);
//   }
//   KEEL_ASSIGN_OR_RETURN(keel::raft::Snapshot snapshot, node->Compact(applied, state));
//   KEEL_RETURN_IF_ERROR(storage->SaveSnapshot(snapshot));
//
// Thread safety: none; a Storage belongs to the thread that runs its node. The directory is
// locked (the log's LOCK file) while a Storage has it open, in this process or another.
#ifndef KEEL_RAFT_STORAGE_H_
#define KEEL_RAFT_STORAGE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/raft/node.h"
#include "keel/raft/types.h"
#include "keel/wal/file_system.h"
#include "keel/wal/log.h"

namespace keel::raft {

struct StorageOptions {
  // Where the files live; the operating system's when null. Must outlive the storage.
  wal::FileSystem* file_system = nullptr;
  // The log's segment size (wal::LogOptions::max_segment_bytes): compaction drops whole
  // segments, so this is also how much compacted log may linger. At least 4 KiB.
  uint64_t max_segment_bytes = 64 << 20;
  // The largest encoded entry (its data plus a few bytes): Save refuses a Ready with a larger
  // one (kInvalidArgument) before writing anything. At least 1, and it must fit in a segment
  // with the log's headers (57 bytes).
  uint32_t max_entry_bytes = 16 << 20;
  // wal::LogOptions::preallocate_bytes: zeros written ahead of the entries, so that an fsync
  // after an append need not commit a new file size. 0 turns it off.
  uint64_t preallocate_bytes = 1 << 20;
  // wal::LogOptions::salt, for tests that reproduce a run byte for byte; random when unset.
  std::optional<uint32_t> salt;
};

// What Open found and did, for logs.
struct StorageRecovery {
  bool created = false;             // the directory was new (or its creation had not finished)
  wal::RecoveryReport log;          // what opening the log found
  bool finished_install = false;    // a received snapshot was written but the log not yet reset
                                    // when the crash came: Open reset it
  uint64_t covered_entries = 0;     // entries in the log at or before the snapshot, skipped
  std::vector<std::string> events;  // one line per thing found or done
};

struct StorageStats {
  uint64_t snapshot_index = 0;
  uint64_t snapshot_term = 0;
  uint64_t snapshot_bytes = 0;  // the snapshot's data
  uint64_t last_index = 0;      // the last entry (the snapshot index when there is none)
  uint64_t log_bytes = 0;       // the log's segments, covered entries not yet dropped included
  size_t log_segments = 0;
  uint64_t entries_written = 0;    // since Open
  uint64_t hard_state_writes = 0;  // since Open, creation included
  uint64_t snapshot_writes = 0;    // since Open, creation included
  uint64_t syncs = 0;              // fsyncs of files and directories since Open, the log's included
};

namespace internal {
class StorageImpl;
}

class Storage {
 public:
  // Opens the node's state in `dir`, or creates it (and `dir`, whose parent must exist) when
  // there is none: from InitialState::Bootstrap(bootstrap_voters) when `bootstrap_voters` is not
  // empty, else from an empty InitialState (a node that will be added to a running cluster). An
  // existing directory keeps its own state: `bootstrap_voters` is then ignored. Errors:
  // kInvalidArgument for bad options (naming the field); kUnavailable while another Storage has
  // the directory open; kDataLoss for damage, naming the file and what is wrong; I/O errors.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Storage>> Open(
      const std::string& dir, const StorageOptions& options, std::vector<NodeId> bootstrap_voters,
      StorageRecovery* report = nullptr);

  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();

  // What Open recovered, for Node::Create. It is moved out, not copied, so that the log is not
  // held twice (the node keeps it in memory). REQUIRES: called at most once.
  [[nodiscard]] InitialState TakeInitialState();

  // Persists a Ready's hard state, snapshot and entries (ready.entries replace the log from
  // their first index on), durably, in that order (see the top of this file). Errors:
  // kInvalidArgument for a Ready that contradicts what is stored, naming what (a term that goes
  // down, a vote changed within a term, entries that leave a gap, replace committed entries or
  // carry a term above the hard state's, an entry over max_entry_bytes, a snapshot not newer
  // than the stored one or within the commit index); nothing is written then. I/O errors, after
  // which the storage refuses every write (kFailedPrecondition) until reopened: what reached the
  // disk is unknown, and the next Open recovers as from a crash.
  [[nodiscard]] absl::Status Save(const Ready& ready);

  // Persists a snapshot the application made (what Node::Compact returned), durably, and then
  // drops the log's segments before it. Errors: kInvalidArgument for a snapshot not newer than
  // the stored one, past the commit index or the last entry, or whose term is not that of the
  // entry at its index; I/O errors as Save.
  [[nodiscard]] absl::Status SaveSnapshot(const Snapshot& snapshot);

  [[nodiscard]] StorageStats stats() const;
  [[nodiscard]] const std::string& dir() const;

 private:
  explicit Storage(std::unique_ptr<internal::StorageImpl> impl);

  std::unique_ptr<internal::StorageImpl> impl_;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_STORAGE_H_
