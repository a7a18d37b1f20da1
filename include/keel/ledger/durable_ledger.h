// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// DurableLedger: the ledger with event sourcing on keel's write-ahead log, the digital wallet's
// "reliable high-performance event sourcing". A command (a batch of accounts or transfers, or an
// expiry) is validated against the state in memory; what it changed is written to the log as an
// event; the event is what survives. Opening the ledger rebuilds its state from the newest
// snapshot and the events after it, or from the first event.
//
//   command --validate (Ledger)--> event --append--> log (keel/wal)
//                                    \--apply--> state (in memory)          snapshot <--/
//
// Events are facts, not requests: each created account or transfer exactly as stored, with the
// rows of the accounts it changed, and each id it left failed. Replaying one does no lookup and
// no check (nothing is judged twice), so a replay runs at memory speed (docs/benchmarks.md).
//
// Durability and group commit. Applying a batch appends its event without syncing, and returns
// its position: durable once durable_position() reaches it. Sync() or WaitDurable(position) make
// it so; a thread that syncs while the applier goes on covers every event appended by then with
// one fsync (group commit). Acknowledge a batch to its client only once it is durable. A crash
// loses only events not yet synced, and since each batch's results depend only on the events
// before it, what survives is a prefix of what was applied: every acknowledged batch, and
// nothing that did not happen.
//
// Snapshots. WriteSnapshot() writes the whole state (Ledger::Save) to `snapshot.tmp`, syncs it,
// renames it over `snapshot` and syncs the directory: a crash leaves the old snapshot or the new
// one, never a torn one; a CRC32C over the file tells damage from data. Opening from a snapshot
// gives the same state, to the byte (Ledger::StateHash), as replaying every event from the first.
// The log keeps its events after a snapshot unless compact_log_on_snapshot is set, so that the
// read model (read_model.h) can rebuild the balances at any point in history. A damaged snapshot
// is set aside for a full replay when the log still holds every event; otherwise Open fails.
//
// Files in `dir`: log/ (the events, one record per command; keel/wal's format), snapshot.
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(auto ledger, keel::ledger::DurableLedger::Open("/var/lib/wallet"));
//   std::vector<keel::ledger::CreateTransfersResult> results;
//   KEEL_ASSIGN_OR_RETURN(uint64_t position, ledger->CreateTransfers(batch, now_ns, results));
//   KEEL_RETURN_IF_ERROR(ledger->WaitDurable(position));  // now tell the client
//
// Thread safety: one thread applies (the Create calls, ExpirePendingTransfers, WriteSnapshot,
// ledger()); Sync, WaitDurable and durable_position may be called from any thread.
#ifndef KEEL_LEDGER_DURABLE_LEDGER_H_
#define KEEL_LEDGER_DURABLE_LEDGER_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/ledger/ledger.h"
#include "keel/wal/log.h"

namespace keel::ledger {

struct DurableLedgerOptions {
  LedgerOptions ledger;
  // The event log's options (file system, recovery mode, segment sizes). Its sync policy is the
  // ledger's own: events are appended unsynced and made durable by Sync and WaitDurable. Its
  // max_record_bytes must hold the largest event, a batch of kBatchMax transfers (1.3 MB).
  wal::LogOptions log;
  // Write a snapshot once this many events were appended since the last one; 0: only when
  // WriteSnapshot is called.
  uint64_t snapshot_every_events = 0;
  // Memory to set aside before the state is loaded (Ledger::Reserve), so that a replay writes
  // into memory that is ready instead of growing as it goes: TigerBeetle allocates everything
  // at startup for the same reason. 0: grow as needed.
  uint64_t reserve_accounts = 0;
  uint64_t reserve_transfers = 0;
  uint64_t reserve_history_rows = 0;
  // Drop the log's segments before a snapshot once it is written. Off by default: the events
  // are the audit trail, and the read model replays them to reproduce past balances.
  bool compact_log_on_snapshot = false;
};

// What Open found and did.
struct DurableLedgerReport {
  bool snapshot_loaded = false;
  bool snapshot_damaged = false;   // set aside; the state was rebuilt from the first event
  uint64_t snapshot_position = 0;  // the events the snapshot held
  uint64_t events_replayed = 0;
  uint64_t transfers_replayed = 0;
  // Time spent reading and loading the snapshot, and reading and applying the events after it
  // (reserving memory, in between, is in neither).
  int64_t snapshot_nanos = 0;
  int64_t replay_nanos = 0;
  wal::RecoveryReport log;
};

namespace internal {
class DurableLedgerImpl;
}

class DurableLedger {
 public:
  // Opens the ledger in `dir`, creating it if there is none, and rebuilds its state. Errors:
  // kInvalidArgument for bad options; kUnavailable while another DurableLedger has `dir` open;
  // kDataLoss when the log or the snapshot is damaged beyond what can be recovered, or an event
  // does not fit the state before it (naming the position); I/O errors.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<DurableLedger>> Open(
      const std::string& dir, const DurableLedgerOptions& options = {},
      DurableLedgerReport* report = nullptr);

  ~DurableLedger();
  DurableLedger(const DurableLedger&) = delete;
  DurableLedger& operator=(const DurableLedger&) = delete;

  // Ledger's CreateAccounts, CreateTransfers and ExpirePendingTransfers, which also append the
  // event: they return its position, the number of events up to and including it. Errors:
  // Ledger's (nothing applied, no event written), and the log's. After a failed append the
  // state in memory is ahead of the log, so the ledger refuses further commands
  // (kFailedPrecondition) until it is opened again.
  [[nodiscard]] absl::StatusOr<uint64_t> CreateAccounts(std::span<const Account> events,
                                                        uint64_t timestamp,
                                                        std::vector<CreateAccountsResult>& results);
  [[nodiscard]] absl::StatusOr<uint64_t> CreateTransfers(
      std::span<const Transfer> events, uint64_t timestamp,
      std::vector<CreateTransfersResult>& results);
  struct Expiry {
    uint32_t expired = 0;
    uint64_t position = 0;
  };
  [[nodiscard]] absl::StatusOr<Expiry> ExpirePendingTransfers(uint64_t timestamp);
  // Any of the three, by the command's kind; returns the position.
  [[nodiscard]] absl::StatusOr<uint64_t> Execute(const Command& command, CommandResult& result);

  // Makes every event appended so far durable; WaitDurable, every event up to `position`
  // (syncing unless another thread already is). Errors: the log's.
  [[nodiscard]] absl::Status Sync();
  [[nodiscard]] absl::Status WaitDurable(uint64_t position);

  // Events appended, and events durable.
  [[nodiscard]] uint64_t position() const;
  [[nodiscard]] uint64_t durable_position() const;

  // Writes a snapshot of the state as of position() (see above). Returns the position. Errors:
  // I/O errors, after which the previous snapshot stays in place.
  [[nodiscard]] absl::StatusOr<uint64_t> WriteSnapshot();

  // The state, for queries. Not to be changed behind the log's back, hence const.
  [[nodiscard]] const Ledger& ledger() const;
  // The event log, for readers (ReadModel::Follow).
  [[nodiscard]] const wal::Log& log() const;
  [[nodiscard]] const std::string& dir() const;

 private:
  explicit DurableLedger(std::unique_ptr<internal::DurableLedgerImpl> impl);
  std::unique_ptr<internal::DurableLedgerImpl> impl_;
};

}  // namespace keel::ledger

#endif  // KEEL_LEDGER_DURABLE_LEDGER_H_
