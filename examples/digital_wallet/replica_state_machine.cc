// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "digital_wallet/replica_state_machine.h"

#include <algorithm>
#include <utility>

#include "keel/base/assert.h"
#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/net/resp_writer.h"

namespace keel::examples::wallet {

namespace {

constexpr uint8_t kSnapshotVersion = 1;
constexpr size_t kSnapshotHeaderBytes = 9;  // version, commands

size_t Events(const ledger::Command& command) {
  switch (command.kind) {
    case ledger::CommandKind::kCreateAccounts:
      return command.accounts.size();
    case ledger::CommandKind::kCreateTransfers:
      return command.transfers.size();
    case ledger::CommandKind::kExpirePendingTransfers:
      return 0;
  }
  return 0;
}

std::string ErrorReply(std::string_view what, const absl::Status& status) {
  std::string out;
  net::RespWriter writer(out);
  // Always -ERR: the command is in the log and was refused there, for good.
  WriteError(writer, absl::InvalidArgumentError(base::Cat(what, ": ", status.message())));
  return out;
}

absl::Status Reserve(ledger::Ledger& ledger, const MachineOptions& options) {
  if (options.reserve_accounts == 0 && options.reserve_transfers == 0) return absl::OkStatus();
  return ledger.Reserve(options.reserve_accounts, options.reserve_transfers);
}

}  // namespace

uint64_t ApplyTimestamp(const ledger::Command& command, uint64_t last) {
  // last <= kTimestampMax < 2^63 and n <= kBatchMax: the sum does not wrap.
  return std::max(command.timestamp, last + Events(command));
}

absl::StatusOr<std::unique_ptr<LedgerStateMachine>> LedgerStateMachine::Create(
    const MachineOptions& options) {
  std::unique_ptr<LedgerStateMachine> machine(new LedgerStateMachine(options));
  KEEL_RETURN_IF_ERROR(Reserve(machine->ledger_, options));
  return machine;
}

LedgerStateMachine::LedgerStateMachine(const MachineOptions& options)
    : options_(options), ledger_(options.ledger) {}

std::string LedgerStateMachine::Apply(std::string_view bytes) {
  ++commands_;
  absl::StatusOr<ledger::Command> command = ledger::DecodeCommand(bytes);
  if (!command.ok()) {
    counters_.refused.fetch_add(1, std::memory_order_relaxed);
    Publish();
    return ErrorReply("command refused", command.status());
  }
  command->timestamp = ApplyTimestamp(*command, ledger_.stats().last_timestamp);
  absl::StatusOr<ledger::CommandResult> result = ledger_.Execute(*command);
  if (!result.ok()) {
    counters_.refused.fetch_add(1, std::memory_order_relaxed);
    Publish();
    return ErrorReply("command refused", result.status());
  }
  Publish();
  std::string out;
  net::RespWriter writer(out);
  WriteExecuteReply(writer, command->timestamp, command->kind, *result);
  return out;
}

std::string LedgerStateMachine::Snapshot() const {
  std::string out;
  out.push_back(static_cast<char>(kSnapshotVersion));
  base::PutFixed64(out, commands_);
  const absl::Status saved = ledger_.Save([&out](std::string_view piece) {
    out.append(piece);
    return absl::OkStatus();
  });
  // Save fails only when `write` does, and this one does not.
  KEEL_ASSERT(saved.ok(), saved.ToString());
  return out;
}

absl::Status LedgerStateMachine::Restore(std::string_view snapshot) {
  uint64_t commands = 0;
  ledger::Ledger restored(options_.ledger);
  if (!snapshot.empty()) {
    if (snapshot.size() < kSnapshotHeaderBytes ||
        static_cast<uint8_t>(snapshot[0]) != kSnapshotVersion) {
      return absl::DataLossError(base::Cat("a wallet snapshot of ", snapshot.size(),
                                           " bytes does not start with version ", kSnapshotVersion,
                                           " and a command count"));
    }
    commands = base::DecodeFixed64(snapshot.data() + 1);
    KEEL_ASSIGN_OR_RETURN(
        restored, ledger::Ledger::Restore(snapshot.substr(kSnapshotHeaderBytes), options_.ledger));
  }
  KEEL_RETURN_IF_ERROR(Reserve(restored, options_));
  ledger_ = std::move(restored);
  commands_ = commands;
  counters_.restores.fetch_add(1, std::memory_order_relaxed);
  Publish();
  return absl::OkStatus();
}

LedgerPosition LedgerStateMachine::Position() const {
  const ledger::LedgerStats stats = ledger_.stats();
  return {.commands = commands_,
          .hash = ledger_.StateHash(),
          .last_timestamp = stats.last_timestamp,
          .accounts = stats.accounts,
          .transfers = stats.transfers,
          .pending = stats.pending};
}

void LedgerStateMachine::Publish() {
  const ledger::LedgerStats stats = ledger_.stats();
  counters_.commands.store(commands_, std::memory_order_relaxed);
  counters_.accounts.store(stats.accounts, std::memory_order_relaxed);
  counters_.transfers.store(stats.transfers, std::memory_order_relaxed);
  counters_.last_timestamp.store(stats.last_timestamp, std::memory_order_relaxed);
}

}  // namespace keel::examples::wallet
