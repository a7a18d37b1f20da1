// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/market/sequencer.h"

#include <algorithm>

#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/market/snapshot.h"
#include "keel/wal/file_system.h"

namespace keel::market {
namespace {

constexpr std::string_view kLogDirName = "log";
constexpr std::string_view kSnapshotDirName = "snapshots";

wal::FileSystem& FileSystemOf(const SequencerOptions& options) {
  return options.file_system != nullptr ? *options.file_system : wal::FileSystem::Posix();
}

// Removes the temporary files of snapshot writes a crash interrupted. Only the log's owner may:
// a live sequencer could be writing one.
absl::Status RemoveLeftovers(wal::FileSystem& fs, const std::string& snapshot_dir,
                             EngineRecovery& recovery) {
  KEEL_ASSIGN_OR_RETURN(const SnapshotListing listing, ListSnapshots(fs, snapshot_dir));
  for (const std::string& name : listing.leftovers) {
    KEEL_RETURN_IF_ERROR(fs.Remove(base::Cat(snapshot_dir, "/", name)));
    recovery.events.push_back(base::Cat("removed ", name, ", an interrupted snapshot"));
  }
  return absl::OkStatus();
}

// The newest snapshot in `snapshot_dir` holding at most `most` commands (0 if none).
uint64_t NewestSnapshot(wal::FileSystem& fs, const std::string& snapshot_dir, uint64_t most) {
  const absl::StatusOr<SnapshotListing> listing = ListSnapshots(fs, snapshot_dir);
  if (!listing.ok()) return 0;
  uint64_t newest = 0;
  for (const uint64_t s : listing->snapshots) {
    if (s <= most) newest = s;
  }
  return newest;
}

}  // namespace

std::string Sequencer::LogDir(const std::string& dir) { return base::Cat(dir, "/", kLogDirName); }
std::string Sequencer::SnapshotDir(const std::string& dir) {
  return base::Cat(dir, "/", kSnapshotDirName);
}

wal::LogOptions Sequencer::LogOptionsFor(const SequencerOptions& options, wal::FileSystem& fs) {
  wal::LogOptions o;
  o.sync = options.sync;
  o.sync_interval_ns = options.sync_interval_ns;
  o.max_segment_bytes = options.log_segment_bytes;
  // A command is at most about 70 bytes (AppendEncodedCommand cuts a long symbol); the log's
  // default limit (16 MiB) would not fit in a small segment.
  o.max_record_bytes = 1024;
  o.file_system = &fs;
  return o;
}

Sequencer::Sequencer(std::string snapshot_dir, const SequencerOptions& options, wal::FileSystem& fs,
                     std::unique_ptr<wal::Log> log, std::unique_ptr<MatchingEngine> engine,
                     EngineRecovery recovery)
    : snapshot_dir_(std::move(snapshot_dir)),
      options_(options),
      fs_(fs),
      log_(std::move(log)),
      engine_(std::move(engine)),
      recovery_(std::move(recovery)) {}

absl::StatusOr<std::unique_ptr<wal::Log>> Sequencer::OpenDirectory(const std::string& dir,
                                                                   const SequencerOptions& options,
                                                                   wal::FileSystem& fs) {
  if (options.snapshots.keep < 1) {
    return absl::InvalidArgumentError("SnapshotPolicy::keep must be at least 1");
  }
  // Each directory's entry is durable before anything is put in it: a crash must not leave a
  // log or a snapshot in a directory that is itself gone. (Only what is created is synced, so
  // that reopening costs no fsync.)
  absl::StatusOr<std::vector<std::string>> names = fs.List(dir);
  if (absl::IsNotFound(names.status())) {
    KEEL_RETURN_IF_ERROR(fs.CreateDir(dir));
    KEEL_RETURN_IF_ERROR(wal::SyncParentDir(fs, dir));
    names = std::vector<std::string>();
  }
  KEEL_RETURN_IF_ERROR(names.status());
  bool has_log = false;
  bool has_snapshots = false;
  for (const std::string& name : *names) {
    has_log |= name == kLogDirName;
    has_snapshots |= name == kSnapshotDirName;
    if (name == kLogDirName || name == kSnapshotDirName) continue;
    return absl::FailedPreconditionError(
        base::Cat("directory ", base::Quoted(dir, 256), " is not a sequencer's: it holds ",
                  base::Quoted(name, 256), " (a sequencer's directory holds its command log in ",
                  kLogDirName, "/ and its snapshots in ", kSnapshotDirName, "/)"));
  }
  if (!has_log) KEEL_RETURN_IF_ERROR(fs.CreateDir(LogDir(dir)));
  if (!has_snapshots) KEEL_RETURN_IF_ERROR(fs.CreateDir(SnapshotDir(dir)));
  if (!has_log || !has_snapshots) KEEL_RETURN_IF_ERROR(fs.SyncDir(dir));
  return wal::Log::Open(LogDir(dir), LogOptionsFor(options, fs));
}

absl::StatusOr<std::unique_ptr<MatchingEngine>> Sequencer::LoadNewest(
    wal::FileSystem& fs, const std::string& snapshot_dir, uint64_t min, uint64_t max,
    const EngineOptions& options, EngineRecovery& recovery) {
  KEEL_ASSIGN_OR_RETURN(const SnapshotListing listing, ListSnapshots(fs, snapshot_dir));
  for (auto it = listing.snapshots.rbegin(); it != listing.snapshots.rend(); ++it) {
    const std::string name = SnapshotFileName(*it);
    if (*it > max) {
      // Written after commands the log no longer holds (its tail was damaged and cut): the log
      // could not go on from it.
      recovery.events.push_back(
          base::Cat("skipped ", name, ": the log ends at ", max, " commands"));
      continue;
    }
    if (*it < min) {
      recovery.events.push_back(
          base::Cat("skipped ", name, ": the log starts after it, at command ", min + 1));
      continue;
    }
    absl::StatusOr<std::unique_ptr<MatchingEngine>> engine =
        ReadSnapshot(fs, base::Cat(snapshot_dir, "/", name), options);
    if (engine.ok()) {
      recovery.from_snapshot = true;
      recovery.snapshot = *it;
      return engine;
    }
    // A damaged snapshot (or one removed since the listing, by a primary's retention) is
    // skipped for an older one: each holds a state the log can rebuild too.
    if (!absl::IsDataLoss(engine.status()) && !absl::IsNotFound(engine.status())) {
      return engine.status();
    }
    recovery.events.push_back(base::Cat("skipped ", name, ": ", engine.status().message()));
  }
  if (min == 0) return std::make_unique<MatchingEngine>(options);
  std::string why;
  for (const std::string& event : recovery.events) why += base::Cat("; ", event);
  return absl::FailedPreconditionError(base::Cat(
      "no snapshot in ", base::Quoted(snapshot_dir, 256), " can be used and the command log starts",
      " at command ", min + 1, ": the commands before it are gone", why));
}

absl::Status Sequencer::CatchUp(wal::LogReader& reader, MatchingEngine& engine,
                                std::vector<EngineEvent>* events, uint64_t end, uint64_t* bytes) {
  std::vector<EngineEvent> discard;
  while (reader.position() < end) {
    KEEL_ASSIGN_OR_RETURN(const std::optional<wal::RecordView> record, reader.Next());
    if (!record) return absl::OkStatus();
    // Command n is at offset n - 1: the engine must be exactly there.
    if (record->offset != engine.commands()) {
      return absl::DataLossError(base::Cat("command log: record ", record->offset,
                                           " where command ", engine.commands() + 1,
                                           " was expected"));
    }
    absl::StatusOr<Command> command = DecodeCommand(record->payload);
    if (!command.ok()) {
      return absl::DataLossError(
          base::Cat("command log: record ", record->offset, ": ", command.status().message()));
    }
    discard.clear();
    engine.Apply(*command, events != nullptr ? *events : discard);
    if (bytes != nullptr) *bytes += record->payload.size();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Sequencer>> Sequencer::Open(const std::string& dir,
                                                           const SequencerOptions& options) {
  wal::FileSystem& fs = FileSystemOf(options);
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::Log> log, OpenDirectory(dir, options, fs));
  EngineRecovery recovery;
  KEEL_RETURN_IF_ERROR(RemoveLeftovers(fs, SnapshotDir(dir), recovery));
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<MatchingEngine> engine,
                        LoadNewest(fs, SnapshotDir(dir), log->first_offset(), log->next_offset(),
                                   options.engine, recovery));
  const uint64_t start = engine->commands();
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogReader> reader, log->NewReader(start));
  uint64_t bytes = 0;
  KEEL_RETURN_IF_ERROR(
      CatchUp(*reader, *engine, nullptr, std::numeric_limits<uint64_t>::max(), &bytes));
  reader.reset();
  recovery.replayed = engine->commands() - start;
  std::unique_ptr<Sequencer> sequencer(new Sequencer(SnapshotDir(dir), options, fs, std::move(log),
                                                     std::move(engine), std::move(recovery)));
  // What was replayed counts towards the next snapshot: a long replay is soon cut short.
  sequencer->commands_at_snapshot_ = start;
  sequencer->bytes_since_snapshot_ = bytes;
  return sequencer;
}

absl::StatusOr<uint64_t> Sequencer::Submit(const Command& command,
                                           std::vector<EngineEvent>& events) {
  scratch_.clear();
  AppendEncodedCommand(command, scratch_);
  KEEL_ASSIGN_OR_RETURN(const uint64_t offset, log_->Append(scratch_));
  KEEL_ASSERT(offset == engine_->commands(), "the command log and the engine disagree");
  engine_->Apply(command, events);
  SnapshotIfDue(scratch_.size());
  return offset + 1;
}

absl::StatusOr<uint64_t> Sequencer::SubmitBatch(std::span<const Command> commands,
                                                std::vector<EngineEvent>& events) {
  if (commands.empty()) return absl::InvalidArgumentError("an empty batch of commands");
  batch_.resize(std::max(batch_.size(), commands.size()));
  batch_views_.clear();
  uint64_t bytes = 0;
  for (size_t i = 0; i < commands.size(); ++i) {
    batch_[i].clear();
    AppendEncodedCommand(commands[i], batch_[i]);
    batch_views_.push_back(batch_[i]);
    bytes += batch_[i].size();
  }
  KEEL_ASSIGN_OR_RETURN(const uint64_t first, log_->AppendBatch(batch_views_));
  KEEL_ASSERT(first == engine_->commands(), "the command log and the engine disagree");
  for (const Command& c : commands) engine_->Apply(c, events);
  SnapshotIfDue(bytes);
  return first + 1;
}

// ---------------------------------------------------------------------------------------------
// Snapshots.
// ---------------------------------------------------------------------------------------------

void Sequencer::SnapshotIfDue(uint64_t logged_bytes) {
  bytes_since_snapshot_ += logged_bytes;
  const SnapshotPolicy& policy = options_.snapshots;
  const bool by_count = policy.every_commands > 0 &&
                        engine_->commands() - commands_at_snapshot_ >= policy.every_commands;
  const bool by_size =
      policy.every_log_bytes > 0 && bytes_since_snapshot_ >= policy.every_log_bytes;
  if (!by_count && !by_size) return;
  snapshot_status_ = WriteSnapshot().status();
  // A failed snapshot is tried again a whole period later, not after every command.
  commands_at_snapshot_ = engine_->commands();
  bytes_since_snapshot_ = 0;
}

absl::StatusOr<uint64_t> Sequencer::WriteSnapshot() {
  // The snapshot must never be ahead of the durable log: a crash that took back unsynced
  // commands would leave a state that the log, from which sequencing goes on, does not hold.
  KEEL_RETURN_IF_ERROR(log_->Sync());
  KEEL_RETURN_IF_ERROR(market::WriteSnapshot(fs_, snapshot_dir_, *engine_).status());
  commands_at_snapshot_ = engine_->commands();
  bytes_since_snapshot_ = 0;
  KEEL_RETURN_IF_ERROR(RemoveOldSnapshots());
  return engine_->commands();
}

absl::Status Sequencer::RemoveOldSnapshots() {
  KEEL_ASSIGN_OR_RETURN(const SnapshotListing listing, ListSnapshots(fs_, snapshot_dir_));
  const size_t keep = options_.snapshots.keep;
  const size_t removed = listing.snapshots.size() > keep ? listing.snapshots.size() - keep : 0;
  // Removals need no directory sync: a snapshot that comes back after a crash is only older.
  for (size_t i = 0; i < removed; ++i) {
    KEEL_RETURN_IF_ERROR(
        fs_.Remove(base::Cat(snapshot_dir_, "/", SnapshotFileName(listing.snapshots[i]))));
  }
  if (options_.snapshots.drop_log && !listing.snapshots.empty()) {
    // Before the oldest kept snapshot, not the newest: if the newest does not read back, the
    // one before it and the log after it still rebuild the engine.
    KEEL_RETURN_IF_ERROR(log_->DropBefore(listing.snapshots[removed]).status());
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// The standby.
// ---------------------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<Standby>> Standby::Follow(const Sequencer& primary,
                                                         const EngineOptions& options) {
  std::unique_ptr<Standby> standby(
      new Standby(primary.log(), primary.file_system(), primary.snapshot_dir(), options));
  KEEL_RETURN_IF_ERROR(standby->Start());
  return standby;
}

uint64_t Standby::AcknowledgedEnd() const {
  return log_.options().sync == wal::SyncPolicy::kNone ? log_.next_offset() : log_.durable_offset();
}

absl::Status Standby::Start() {
  // The primary may drop segments between the choice of a snapshot and the reader's creation;
  // then the choice is made again.
  absl::Status status;
  for (int attempt = 0; attempt < 3; ++attempt) {
    EngineRecovery recovery;
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<MatchingEngine> engine,
                          Sequencer::LoadNewest(fs_, snapshot_dir_, log_.first_offset(),
                                                AcknowledgedEnd(), options_, recovery));
    absl::StatusOr<std::unique_ptr<wal::LogReader>> reader = log_.NewReader(engine->commands());
    if (reader.ok()) {
      reader_ = *std::move(reader);
      engine_ = std::move(engine);
      recovery_ = std::move(recovery);
      return absl::OkStatus();
    }
    status = reader.status();
    if (!absl::IsOutOfRange(status)) break;
  }
  return status;
}

absl::StatusOr<uint64_t> Standby::CatchUp() {
  const uint64_t before = engine_->commands();
  if (log_.first_offset() > before) KEEL_RETURN_IF_ERROR(Start());
  absl::Status caught_up = Sequencer::CatchUp(*reader_, *engine_, nullptr, AcknowledgedEnd());
  if (!caught_up.ok() && log_.first_offset() > engine_->commands()) {
    // The primary dropped the segments ahead of the reader while it read.
    KEEL_RETURN_IF_ERROR(Start());
    caught_up = Sequencer::CatchUp(*reader_, *engine_, nullptr, AcknowledgedEnd());
  }
  KEEL_RETURN_IF_ERROR(caught_up);
  return engine_->commands() - before;
}

absl::StatusOr<std::unique_ptr<Sequencer>> Standby::TakeOver(std::unique_ptr<Standby>& standby,
                                                             const std::string& dir,
                                                             const SequencerOptions& options,
                                                             std::vector<EngineEvent>& events) {
  KEEL_ASSERT(standby != nullptr, "TakeOver needs a standby");
  wal::FileSystem& fs = FileSystemOf(options);
  const std::string snapshot_dir = Sequencer::SnapshotDir(dir);
  // Nothing is taken from the standby until the log is open and agrees with it.
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::Log> log, Sequencer::OpenDirectory(dir, options, fs));
  const uint64_t applied = standby->engine_->commands();
  // The primary may have logged commands the standby never read (or, if the log lost an
  // unsynced tail in a crash, fewer than it read: then the standby is ahead of the truth).
  if (log->next_offset() < applied) {
    return absl::DataLossError(base::Cat("the command log in ", base::Quoted(dir, 256), " ends at ",
                                         log->next_offset(), " commands but the standby applied ",
                                         applied, ": replay it from the start"));
  }
  EngineRecovery recovery;
  KEEL_RETURN_IF_ERROR(RemoveLeftovers(fs, snapshot_dir, recovery));
  // A standby behind the log's start (its primary dropped what it had not read) starts again
  // from the newest snapshot; otherwise it goes on from where it is.
  std::unique_ptr<MatchingEngine> restarted;
  if (log->first_offset() > applied) {
    KEEL_ASSIGN_OR_RETURN(
        restarted, Sequencer::LoadNewest(fs, snapshot_dir, log->first_offset(), log->next_offset(),
                                         standby->options_, recovery));
  }
  MatchingEngine& engine = restarted != nullptr ? *restarted : *standby->engine_;
  const uint64_t start = engine.commands();
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogReader> reader, log->NewReader(start));
  // Applying the tail changes the standby's engine; should it fail (damage in the log), the
  // standby is no longer a copy of anything and is dropped.
  const absl::Status caught_up = Sequencer::CatchUp(*reader, engine, &events);
  reader.reset();
  if (restarted == nullptr) {
    // It goes on from its own start.
    recovery.from_snapshot = standby->recovery_.from_snapshot;
    recovery.snapshot = standby->recovery_.snapshot;
  }
  std::unique_ptr<MatchingEngine> taken =
      restarted != nullptr ? std::move(restarted) : std::move(standby->engine_);
  standby.reset();  // its reader belonged to the primary's log
  KEEL_RETURN_IF_ERROR(caught_up);
  recovery.replayed = taken->commands() - start;
  const uint64_t newest = NewestSnapshot(fs, snapshot_dir, taken->commands());
  std::unique_ptr<Sequencer> sequencer(new Sequencer(snapshot_dir, options, fs, std::move(log),
                                                     std::move(taken), std::move(recovery)));
  sequencer->commands_at_snapshot_ = newest;
  return sequencer;
}

}  // namespace keel::market
