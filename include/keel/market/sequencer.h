// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Sequencer and Standby: the exchange's event-sourced core.
//
// The case study's sequencer stamps every inbound command with a sequence number before the
// matching engine sees it, and the sequenced commands are the golden source of truth: the state of
// every book is whatever replaying them produces. Here the sequence is a keel write-ahead log
// (keel/wal/log.h): a command's number is its offset in the log plus one, it is appended (durably,
// as the sync policy says) before it is applied, and opening the log replays it into a fresh
// MatchingEngine, which reproduces the same events with the same numbers and the same state hash.
//
// A Standby is the warm backup of the hot-warm design: a second engine that follows the primary's
// log and applies each command as it is logged. When the primary dies, the standby takes over:
// it opens the log itself, applies whatever tail it had not seen, and carries on sequencing, with
// no replay from the start and a state identical to the primary's (the state hashes say so).
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(auto sequencer, keel::market::Sequencer::Open("/var/lib/exchange", {}));
//   std::vector<keel::market::EngineEvent> events;
//   KEEL_ASSIGN_OR_RETURN(uint64_t seq, sequencer->Submit(command, events));
//
// Not thread-safe: one thread sequences (the case study's single-threaded critical path); a
// Standby is driven by its own thread, reading the log the sequencer appends to.
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

struct SequencerOptions {
  EngineOptions engine = {};
  // The command log's durability: by default a command is on disk before it is applied, and a
  // batch of commands (SubmitBatch) shares one sync.
  wal::SyncPolicy sync = wal::SyncPolicy::kEveryAppend;
  int64_t sync_interval_ns = 10 * base::kNanosPerMilli;  // for SyncPolicy::kInterval
  wal::FileSystem* file_system = nullptr;                // the operating system's when null
};

class Sequencer {
 public:
  // Opens (or creates) the command log in `dir` and replays it into a fresh engine. Errors: those
  // of wal::Log::Open; kDataLoss for a logged command that does not decode.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Sequencer>> Open(
      const std::string& dir, const SequencerOptions& options);

  Sequencer(const Sequencer&) = delete;
  Sequencer& operator=(const Sequencer&) = delete;

  // Logs the command, then applies it, appending its events to `events`. Returns its sequence
  // number. On a log I/O error nothing is applied (the command may or may not be in the log, as
  // after a crash) and the log refuses writes until the sequencer is reopened.
  [[nodiscard]] absl::StatusOr<uint64_t> Submit(const Command& command,
                                                std::vector<EngineEvent>& events);
  // Logs the commands in one write (and one sync), then applies them in order. Returns the first
  // one's sequence number. Errors: kInvalidArgument for an empty batch, or one too large for the
  // log (max_batch_records, or a segment); the log's I/O errors as Submit's.
  [[nodiscard]] absl::StatusOr<uint64_t> SubmitBatch(std::span<const Command> commands,
                                                     std::vector<EngineEvent>& events);

  [[nodiscard]] const MatchingEngine& engine() const { return *engine_; }
  // The log, for a Standby to follow.
  [[nodiscard]] const wal::Log& log() const { return *log_; }

 private:
  friend class Standby;
  Sequencer(std::unique_ptr<wal::Log> log, std::unique_ptr<MatchingEngine> engine);

  // Applies the log's records from the engine's position up to `end` (an offset), or its end.
  static absl::Status CatchUp(wal::LogReader& reader, MatchingEngine& engine,
                              std::vector<EngineEvent>* events,
                              uint64_t end = std::numeric_limits<uint64_t>::max());
  static wal::LogOptions LogOptionsFor(const SequencerOptions& options);

  std::unique_ptr<wal::Log> log_;
  std::unique_ptr<MatchingEngine> engine_;
  std::string scratch_;
  std::vector<std::string> batch_;  // SubmitBatch's encoded commands, reused
  std::vector<std::string_view> batch_views_;
};

class Standby {
 public:
  // Follows `log` (a Sequencer's) from its first command. REQUIRES: the log outlives every call
  // to CatchUp. Only commands the primary has acknowledged are applied: with a syncing policy,
  // those durable in the log (a command whose sync failed was reported to its sender as failed,
  // and a crash may take it back); with SyncPolicy::kNone, every command written.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Standby>> Follow(
      const wal::Log& log, const EngineOptions& options);

  // Applies every command logged since the last call; returns how many.
  [[nodiscard]] absl::StatusOr<uint64_t> CatchUp();

  [[nodiscard]] const MatchingEngine& engine() const { return *engine_; }

  // Fail-over: the primary is gone (its Sequencer destroyed, or its process dead). Opens the log
  // in `dir` and becomes the sequencer, applying any commands it had not yet seen; their events
  // are appended to `events` (the primary may never have published them). On success `standby`
  // is consumed (null). If the log cannot be opened (still locked by a live primary, say) or
  // ends before what the standby applied, `standby` is left as it was, still warm, and the call
  // may be repeated; damage in the tail it applies consumes it too (its state is then no one's).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Sequencer>> TakeOver(
      std::unique_ptr<Standby>& standby, const std::string& dir, const SequencerOptions& options,
      std::vector<EngineEvent>& events);

 private:
  Standby(const wal::Log& log, std::unique_ptr<wal::LogReader> reader,
          std::unique_ptr<MatchingEngine> engine)
      : log_(log), reader_(std::move(reader)), engine_(std::move(engine)) {}

  const wal::Log& log_;
  std::unique_ptr<wal::LogReader> reader_;
  std::unique_ptr<MatchingEngine> engine_;
};

}  // namespace keel::market

#endif  // KEEL_MARKET_SEQUENCER_H_
