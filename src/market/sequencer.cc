// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/market/sequencer.h"

#include <algorithm>

#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::market {

wal::LogOptions Sequencer::LogOptionsFor(const SequencerOptions& options) {
  wal::LogOptions o;
  o.sync = options.sync;
  o.sync_interval_ns = options.sync_interval_ns;
  o.file_system = options.file_system;
  return o;
}

Sequencer::Sequencer(std::unique_ptr<wal::Log> log, std::unique_ptr<MatchingEngine> engine)
    : log_(std::move(log)), engine_(std::move(engine)) {}

absl::Status Sequencer::CatchUp(wal::LogReader& reader, MatchingEngine& engine,
                                std::vector<EngineEvent>* events, uint64_t end) {
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
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Sequencer>> Sequencer::Open(const std::string& dir,
                                                           const SequencerOptions& options) {
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::Log> log, wal::Log::Open(dir, LogOptionsFor(options)));
  if (log->first_offset() != 0) {
    return absl::FailedPreconditionError(base::Cat(
        "command log in ", base::Quoted(dir, 256), " starts at offset ", log->first_offset(),
        ": the commands before it are gone, so it cannot be "
        "replayed"));
  }
  auto engine = std::make_unique<MatchingEngine>(options.engine);
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogReader> reader, log->NewReader(0));
  KEEL_RETURN_IF_ERROR(CatchUp(*reader, *engine, nullptr));
  return std::unique_ptr<Sequencer>(new Sequencer(std::move(log), std::move(engine)));
}

absl::StatusOr<uint64_t> Sequencer::Submit(const Command& command,
                                           std::vector<EngineEvent>& events) {
  scratch_.clear();
  AppendEncodedCommand(command, scratch_);
  KEEL_ASSIGN_OR_RETURN(const uint64_t offset, log_->Append(scratch_));
  KEEL_ASSERT(offset == engine_->commands(), "the command log and the engine disagree");
  engine_->Apply(command, events);
  return offset + 1;
}

absl::StatusOr<uint64_t> Sequencer::SubmitBatch(std::span<const Command> commands,
                                                std::vector<EngineEvent>& events) {
  if (commands.empty()) return absl::InvalidArgumentError("an empty batch of commands");
  batch_.resize(std::max(batch_.size(), commands.size()));
  batch_views_.clear();
  for (size_t i = 0; i < commands.size(); ++i) {
    batch_[i].clear();
    AppendEncodedCommand(commands[i], batch_[i]);
    batch_views_.push_back(batch_[i]);
  }
  KEEL_ASSIGN_OR_RETURN(const uint64_t first, log_->AppendBatch(batch_views_));
  KEEL_ASSERT(first == engine_->commands(), "the command log and the engine disagree");
  for (const Command& c : commands) engine_->Apply(c, events);
  return first + 1;
}

// ---------------------------------------------------------------------------------------------
// The standby.
// ---------------------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<Standby>> Standby::Follow(const wal::Log& log,
                                                         const EngineOptions& options) {
  if (log.first_offset() != 0) {
    return absl::FailedPreconditionError("the command log no longer starts at its first command");
  }
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogReader> reader, log.NewReader(0));
  return std::unique_ptr<Standby>(
      new Standby(log, std::move(reader), std::make_unique<MatchingEngine>(options)));
}

absl::StatusOr<uint64_t> Standby::CatchUp() {
  const uint64_t before = engine_->commands();
  const uint64_t end =
      log_.options().sync == wal::SyncPolicy::kNone ? log_.next_offset() : log_.durable_offset();
  KEEL_RETURN_IF_ERROR(Sequencer::CatchUp(*reader_, *engine_, nullptr, end));
  return engine_->commands() - before;
}

absl::StatusOr<std::unique_ptr<Sequencer>> Standby::TakeOver(std::unique_ptr<Standby>& standby,
                                                             const std::string& dir,
                                                             const SequencerOptions& options,
                                                             std::vector<EngineEvent>& events) {
  KEEL_ASSERT(standby != nullptr, "TakeOver needs a standby");
  // Nothing is taken from the standby until the log is open and agrees with it.
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::Log> log,
                        wal::Log::Open(dir, Sequencer::LogOptionsFor(options)));
  MatchingEngine& engine = *standby->engine_;
  // The primary may have logged commands the standby never read (or, if the log lost an
  // unsynced tail in a crash, fewer than it read: then the standby is ahead of the truth).
  if (log->next_offset() < engine.commands()) {
    return absl::DataLossError(base::Cat("the command log in ", base::Quoted(dir, 256), " ends at ",
                                         log->next_offset(), " commands but the standby applied ",
                                         engine.commands(), ": replay it from the start"));
  }
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogReader> reader, log->NewReader(engine.commands()));
  // Applying the tail changes the standby's engine; should it fail (damage in the log), the
  // standby is no longer a copy of anything and is dropped.
  const absl::Status caught_up = Sequencer::CatchUp(*reader, engine, &events);
  reader.reset();
  std::unique_ptr<MatchingEngine> taken = std::move(standby->engine_);
  standby.reset();  // its reader belonged to the primary's log
  KEEL_RETURN_IF_ERROR(caught_up);
  return std::unique_ptr<Sequencer>(new Sequencer(std::move(log), std::move(taken)));
}

}  // namespace keel::market
