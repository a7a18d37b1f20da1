// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Sequencer and Standby: the exchange's event-sourced core.
//
// The case study's sequencer stamps every inbound command with a sequence number before the
// matching engine sees it, and the sequenced commands are the golden source of truth: the state of
// every book is whatever replaying them produces. Here the sequence is a keel write-ahead log
// (keel/wal/log.h): a command's number is its offset in the log plus one, it is appended (durably,
// as the sync policy says) before it is applied, and opening the sequencer rebuilds the engine,
// which then reproduces the same events with the same numbers and the same state hash.
//
// Snapshots (keel/market/snapshot.h) keep that rebuild short: every so many commands (or bytes of
// log), and on demand, the sequencer writes the engine's whole state after command N, and opening
// it loads the newest snapshot that reads back whole and replays only the log after it; a damaged
// snapshot is skipped for the one before, or for the log from its start. The log itself is kept
// whole unless SnapshotPolicy::drop_log says otherwise: it is the exchange's record of everything
// that happened.
//
// A Standby is the warm backup of the hot-warm design: a second engine, started from the newest
// snapshot, that follows the primary's log and applies each command as it is logged. When the
// primary dies, the standby takes over: it opens the log itself, applies whatever tail it had not
// seen, and carries on sequencing, with no replay and a state identical to the primary's (the
// state hashes say so).
//
// On disk, a sequencer's directory holds two: `log` (the write-ahead log) and `snapshots`.
//
// Example:
//
//   keel::market::SequencerOptions options;
//   options.snapshots.every_commands = 1'000'000;
//   KEEL_ASSIGN_OR_RETURN(auto sequencer, keel::market::Sequencer::Open("/var/lib/exchange",
//                                                                       options));
//   std::vector<keel::market::EngineEvent> events;
//   KEEL_ASSIGN_OR_RETURN(uint64_t seq, sequencer->Submit(command, events));
//
// Not thread-safe: one thread sequences (the case study's single-threaded critical path); a
// Standby is driven by its own thread, reading the log the sequencer appends to and the snapshots
// it writes.
#ifndef KEEL_MARKET_SEQUENCER_H_
#define KEEL_MARKET_SEQUENCER_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/market/matching_engine.h"
#include "keel/wal/log.h"

namespace keel::market {

// When the sequencer writes a snapshot by itself (Sequencer::WriteSnapshot writes one on demand).
// A snapshot is written on the sequencing thread, after the command that makes it due: the
// commands behind it wait for it (docs/benchmarks.md has the time per resting order).
struct SnapshotPolicy {
  // After this many commands since the last snapshot (0: not by count).
  uint64_t every_commands = 1'000'000;
  // After this many bytes of logged commands since the last snapshot (0: not by size).
  uint64_t every_log_bytes = uint64_t{256} << 20;
  // The newest snapshots kept, at least 1; older ones are removed after each new one is written.
  // Two by default, so that a damaged newest snapshot still leaves one to start from.
  uint32_t keep = 2;
  // Whether to delete the log's whole segments before the oldest kept snapshot once a snapshot
  // is written, bounding the log's size; the commands before it can then no longer be replayed
  // or audited, and recovery needs one of the kept snapshots to read back whole.
  bool drop_log = false;
};

struct SequencerOptions {
  EngineOptions engine = {};
  // The command log's durability: by default a command is on disk before it is applied, and a
  // batch of commands (SubmitBatch) shares one sync.
  wal::SyncPolicy sync = wal::SyncPolicy::kEveryAppend;
  int64_t sync_interval_ns = 10 * base::kNanosPerMilli;  // for SyncPolicy::kInterval
  // The log's segment size (wal::LogOptions::max_segment_bytes): the unit SnapshotPolicy::drop_log
  // deletes.
  uint64_t log_segment_bytes = uint64_t{64} << 20;
  SnapshotPolicy snapshots = {};
  wal::FileSystem* file_system = nullptr;  // the operating system's when null
};

// How a sequencer or a standby rebuilt its engine.
struct EngineRecovery {
  bool from_snapshot = false;
  uint64_t snapshot = 0;  // the commands the snapshot held (0 without one)
  uint64_t replayed = 0;  // commands applied from the log after it
  // One line per snapshot skipped (damaged, or not matching the log) and per leftover removed.
  std::vector<std::string> events;
};

class Sequencer {
 public:
  // Opens (or creates) the sequencer in `dir`: the newest snapshot that reads back whole and fits
  // the log, then the log's commands after it. Errors: kInvalidArgument for bad options;
  // kFailedPrecondition for a directory holding anything but `log` and `snapshots` (a command log
  // written before snapshots existed lies directly in `dir`: move its files into `dir`/log) or
  // for a snapshot `options.engine` cannot hold, or when no snapshot can be used and the log no
  // longer starts at its first command; kDataLoss for a logged command that does not decode;
  // those of wal::Log::Open; I/O errors.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Sequencer>> Open(
      const std::string& dir, const SequencerOptions& options);

  Sequencer(const Sequencer&) = delete;
  Sequencer& operator=(const Sequencer&) = delete;

  // Logs the command, then applies it, appending its events to `events`. Returns its sequence
  // number. On a log I/O error nothing is applied (the command may or may not be in the log, as
  // after a crash) and the log refuses writes until the sequencer is reopened. If the command
  // makes a snapshot due, it is written before returning; a snapshot that fails does not fail
  // the command (snapshot_status() says why, and the next one is tried a period later).
  [[nodiscard]] absl::StatusOr<uint64_t> Submit(const Command& command,
                                                std::vector<EngineEvent>& events);
  // Logs the commands in one write (and one sync), then applies them in order. Returns the first
  // one's sequence number. Errors: kInvalidArgument for an empty batch, or one too large for the
  // log (max_batch_records, or a segment); the log's I/O errors as Submit's.
  [[nodiscard]] absl::StatusOr<uint64_t> SubmitBatch(std::span<const Command> commands,
                                                     std::vector<EngineEvent>& events);

  // Writes a snapshot of the engine now (after syncing the log, so that no snapshot is ever
  // ahead of the durable log), then removes the snapshots beyond SnapshotPolicy::keep and, with
  // drop_log, the log's segments before the oldest kept one. Returns the commands it holds.
  // Errors: I/O errors (the engine and the log are unchanged).
  [[nodiscard]] absl::StatusOr<uint64_t> WriteSnapshot();

  [[nodiscard]] const MatchingEngine& engine() const { return *engine_; }
  // The log, and where the snapshots are.
  [[nodiscard]] const wal::Log& log() const { return *log_; }
  [[nodiscard]] const std::string& snapshot_dir() const { return snapshot_dir_; }
  [[nodiscard]] wal::FileSystem& file_system() const { return fs_; }
  // How Open (or Standby::TakeOver) rebuilt the engine.
  [[nodiscard]] const EngineRecovery& recovery() const { return recovery_; }
  // The last snapshot written by the policy, OK if it succeeded or none was due yet.
  [[nodiscard]] const absl::Status& snapshot_status() const { return snapshot_status_; }

 private:
  friend class Standby;
  Sequencer(std::string snapshot_dir, const SequencerOptions& options, wal::FileSystem& fs,
            std::unique_ptr<wal::Log> log, std::unique_ptr<MatchingEngine> engine,
            EngineRecovery recovery);

  // Creates `dir` and its two subdirectories durably and opens the log.
  static absl::StatusOr<std::unique_ptr<wal::Log>> OpenDirectory(const std::string& dir,
                                                                 const SequencerOptions& options,
                                                                 wal::FileSystem& fs);
  // The newest snapshot in `snapshot_dir` holding between `min` and `max` commands that reads
  // back whole, or (with none) a fresh engine if `min` is 0. Skipped snapshots go to `recovery`.
  static absl::StatusOr<std::unique_ptr<MatchingEngine>> LoadNewest(wal::FileSystem& fs,
                                                                    const std::string& snapshot_dir,
                                                                    uint64_t min, uint64_t max,
                                                                    const EngineOptions& options,
                                                                    EngineRecovery& recovery);
  // Applies the log's records from the engine's position up to `end` (an offset), or its end.
  // Adds the commands applied to `*replayed` and their bytes to `*bytes` when given.
  static absl::Status CatchUp(wal::LogReader& reader, MatchingEngine& engine,
                              std::vector<EngineEvent>* events,
                              uint64_t end = std::numeric_limits<uint64_t>::max(),
                              uint64_t* bytes = nullptr);
  static wal::LogOptions LogOptionsFor(const SequencerOptions& options, wal::FileSystem& fs);
  static std::string LogDir(const std::string& dir);
  static std::string SnapshotDir(const std::string& dir);

  // After each Submit: the policy's snapshot, if due.
  void SnapshotIfDue(uint64_t logged_bytes);
  absl::Status RemoveOldSnapshots();

  const std::string snapshot_dir_;
  const SequencerOptions options_;
  wal::FileSystem& fs_;
  std::unique_ptr<wal::Log> log_;
  std::unique_ptr<MatchingEngine> engine_;
  EngineRecovery recovery_;
  uint64_t commands_at_snapshot_ = 0;  // the engine's commands at the last snapshot (or Open)
  uint64_t bytes_since_snapshot_ = 0;  // bytes of commands logged since
  absl::Status snapshot_status_;
  std::string scratch_;
  std::vector<std::string> batch_;  // SubmitBatch's encoded commands, reused
  std::vector<std::string_view> batch_views_;
};

class Standby {
 public:
  // Follows `primary`'s log, starting from the newest snapshot the primary wrote (or the log's
  // first command if there is none). REQUIRES: the primary outlives every call to CatchUp. Only
  // commands the primary has acknowledged are applied: with a syncing policy, those durable in
  // the log (a command whose sync failed was reported to its sender as failed, and a crash may
  // take it back); with SyncPolicy::kNone, every command written. Errors: kFailedPrecondition
  // when no snapshot can be used and the log no longer starts at its first command; a
  // snapshot's errors as Sequencer::Open's; I/O errors.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Standby>> Follow(
      const Sequencer& primary, const EngineOptions& options);

  // Applies every command logged since the last call; returns how many. A standby that fell
  // behind the log's start (the primary dropped segments it had not read) starts again from the
  // newest snapshot, and the commands it skipped that way count as applied.
  [[nodiscard]] absl::StatusOr<uint64_t> CatchUp();

  [[nodiscard]] const MatchingEngine& engine() const { return *engine_; }
  // How the standby's engine started (its last start, after falling behind).
  [[nodiscard]] const EngineRecovery& recovery() const { return recovery_; }

  // Fail-over: the primary is gone (its Sequencer destroyed, or its process dead). Opens the
  // sequencer's directory `dir` and becomes the sequencer, applying any commands it had not yet
  // seen; their events are appended to `events` (the primary may never have published them). If
  // the log no longer holds the commands after the standby's (it fell behind the log's start), it
  // starts from the newest snapshot instead, and `events` gets the events of every command after
  // that. On success `standby` is consumed (null). If the log cannot be opened (still locked by
  // a live primary, say) or ends before what the standby applied, `standby` is left as it was,
  // still warm, and the call may be repeated; damage in the tail it applies consumes it too (its
  // state is then no one's).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Sequencer>> TakeOver(
      std::unique_ptr<Standby>& standby, const std::string& dir, const SequencerOptions& options,
      std::vector<EngineEvent>& events);

 private:
  Standby(const wal::Log& log, wal::FileSystem& fs, std::string snapshot_dir,
          const EngineOptions& options)
      : log_(log), fs_(fs), snapshot_dir_(std::move(snapshot_dir)), options_(options) {}

  // The end of what the primary acknowledged.
  [[nodiscard]] uint64_t AcknowledgedEnd() const;
  // (Re)starts from the newest snapshot the log can follow (or the log's start).
  absl::Status Start();

  const wal::Log& log_;
  wal::FileSystem& fs_;
  const std::string snapshot_dir_;
  const EngineOptions options_;
  std::unique_ptr<wal::LogReader> reader_;
  std::unique_ptr<MatchingEngine> engine_;
  EngineRecovery recovery_;
};

}  // namespace keel::market

#endif  // KEEL_MARKET_SEQUENCER_H_
