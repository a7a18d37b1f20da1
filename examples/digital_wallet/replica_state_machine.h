// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// LedgerStateMachine: the digital wallet's ledger as the state machine of a Raft log. The case
// study's "reliable high-performance event sourcing" puts the command list on Raft so that every
// node applies the same commands in the same order; keel::ledger::Ledger reads no clock and
// draws no random number, so every replica that applies the log ends with the same ledger
// (Ledger::StateHash tells). Each log entry is one ledger command (keel/ledger/command.h): a
// batch of up to 8,189 accounts or transfers, or an expiry of pending transfers.
//
// Timestamps. TigerBeetle's primary assigns every batch its timestamp from the cluster's clock,
// strictly after the last one, and the replicas apply that timestamp. Here the replica that
// takes a client's request stamps the command with its own wall clock before proposing it, and
// nothing orders those clocks: two replicas' clocks differ, a leader changes, a clock steps
// back. The log's order is what every replica agrees on, so the state machine derives the
// timestamp from it: a command proposed at t is applied at
//
//   max(t, last + n)   for a batch of n events (event i gets the timestamp - n + i + 1)
//   max(t, last)       for an expiry
//
// where `last` is the ledger's last timestamp used (part of its state, in every snapshot). So
// timestamps are deterministic (a function of the log) and strictly increasing, and they follow
// the wall clock whenever the proposers' clocks run ahead of the log.
//
// Failures. A command that does not decode, or that the ledger refuses whole (a timestamp out of
// range, a batch past the ledger's capacity), changes nothing and gets an error reply, the same
// on every replica; it never stops the replica. All replicas must run with the same
// LedgerOptions: a capacity limit decides results.
//
// Snapshots: Ledger::Save's bytes after a small header,
//
//   snapshot := version (u8, 1) commands (u64) ledger (Ledger::Save's bytes)
//
// where `commands` counts the commands applied (failed ones too), so that a replica restored
// from a snapshot reports the same position as one that applied the log (LEDGER.HASH). Empty
// bytes are a fresh ledger (keel::raft::StateMachine's initial state).
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(std::unique_ptr<LedgerStateMachine> machine,
//                         LedgerStateMachine::Create());
//   KEEL_ASSIGN_OR_RETURN(auto server, keel::raft::Server::Start(options, std::move(machine)));
//   server->Propose(keel::ledger::EncodeCommand(batch), done);  // done gets the RESP reply
//
// Thread safety: Apply, Snapshot, Restore and ledger() on the Raft server's thread; counters()
// from any thread.
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_REPLICA_STATE_MACHINE_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_REPLICA_STATE_MACHINE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "digital_wallet/replica_protocol.h"
#include "keel/ledger/command.h"
#include "keel/ledger/ledger.h"
#include "keel/raft/server.h"

namespace keel::examples::wallet {

struct MachineOptions {
  // Every replica's must be the same (see above).
  ledger::LedgerOptions ledger = {};
  // Memory allocated and touched at start and after every restore (Ledger::Reserve), as
  // TigerBeetle allocates at startup: a benchmark's batches then pay for no fresh pages.
  uint64_t reserve_accounts = 0;
  uint64_t reserve_transfers = 0;
};

// The timestamp a command proposed at `proposed` is applied at, after `last` (see above). Never
// fails: a timestamp past kTimestampMax is the ledger's to refuse.
[[nodiscard]] uint64_t ApplyTimestamp(const ledger::Command& command, uint64_t last);

class LedgerStateMachine final : public raft::StateMachine {
 public:
  // Figures for INFO, readable from any thread; updated after every command.
  struct Counters {
    std::atomic<uint64_t> commands{0};
    std::atomic<uint64_t> refused{0};  // commands that failed whole
    std::atomic<uint64_t> accounts{0};
    std::atomic<uint64_t> transfers{0};
    std::atomic<uint64_t> last_timestamp{0};
    std::atomic<uint64_t> restores{0};
  };

  // A fresh ledger with the options' memory reserved. Errors: Ledger::Reserve's
  // (kInvalidArgument for a reservation past the capacity).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<LedgerStateMachine>> Create(
      const MachineOptions& options = {});

  // Decodes and executes a command; the reply is LEDGER.EXECUTE's, in RESP (replica_protocol.h):
  // the timestamp and the results, or an error.
  std::string Apply(std::string_view command) override;
  [[nodiscard]] std::string Snapshot() const override;
  // Errors: kDataLoss for bytes that are not a snapshot (Ledger::Restore's too),
  // kResourceExhausted past the options' capacity. The state is unchanged on error.
  [[nodiscard]] absl::Status Restore(std::string_view snapshot) override;

  [[nodiscard]] const ledger::Ledger& ledger() const { return ledger_; }
  // Where the ledger is: commands applied and the state hash (O(state): it hashes Save's bytes).
  [[nodiscard]] LedgerPosition Position() const;
  [[nodiscard]] const Counters& counters() const { return counters_; }

 private:
  explicit LedgerStateMachine(const MachineOptions& options);
  void Publish();

  MachineOptions options_;
  ledger::Ledger ledger_;
  uint64_t commands_ = 0;
  Counters counters_;
};

}  // namespace keel::examples::wallet

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_REPLICA_STATE_MACHINE_H_
