// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Command: one request to the ledger (a batch of accounts or transfers to create, or an expiry
// of pending transfers) with the timestamp it is applied at, and its bytes. This is what a
// replicated log carries: the leader stamps each command with its timestamp, every replica
// applies the same commands in the same order, and since a Ledger reads no clock and draws no
// random number, every replica ends with the same state (the digital wallet's Raft log).
//
//   command := version (u8, 1) kind (u8) reserved (u16, 0) count (u32) timestamp (u64)
//              count records of 128 bytes
//
// Integers are little-endian; a record is an Account or a Transfer, each field little-endian in
// the order types.h declares them (the layout TigerBeetle gives them). An expiry has no records.
//
// Example:
//
//   keel::ledger::Command command{.kind = keel::ledger::CommandKind::kCreateTransfers,
//                                 .timestamp = now_ns, .transfers = batch};
//   std::string bytes = keel::ledger::EncodeCommand(command);       // to the log
//   KEEL_ASSIGN_OR_RETURN(keel::ledger::Command decoded, keel::ledger::DecodeCommand(bytes));
//   KEEL_ASSIGN_OR_RETURN(keel::ledger::CommandResult result, ledger.Execute(decoded));
#ifndef KEEL_LEDGER_COMMAND_H_
#define KEEL_LEDGER_COMMAND_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/ledger/results.h"
#include "keel/ledger/types.h"

namespace keel::ledger {

enum class CommandKind : uint8_t {
  kCreateAccounts = 1,
  kCreateTransfers = 2,
  kExpirePendingTransfers = 3,
};

struct Command {
  CommandKind kind = CommandKind::kCreateTransfers;
  uint64_t timestamp = 0;
  std::vector<Account> accounts{};    // kCreateAccounts only
  std::vector<Transfer> transfers{};  // kCreateTransfers only
};

// What a command did: the failed events' results (as Ledger returns them), or how many pending
// transfers expired.
struct CommandResult {
  std::vector<CreateAccountsResult> accounts{};
  std::vector<CreateTransfersResult> transfers{};
  uint32_t expired = 0;
};

// The size of a command header, and of each record after it.
inline constexpr size_t kCommandHeaderBytes = 16;
inline constexpr size_t kRecordBytes = 128;

[[nodiscard]] std::string EncodeCommand(const Command& command);

// Errors: kInvalidArgument naming what is wrong (version, kind, reserved bits, a count over
// kBatchMax or one that does not match the size, records given to an expiry).
[[nodiscard]] absl::StatusOr<Command> DecodeCommand(std::string_view bytes);

// The results, for a replica to send back to the client that proposed the command:
//   result := kind (u8) count (u32) expired (u32) count * (index (u32) code (u32))
[[nodiscard]] std::string EncodeCommandResult(CommandKind kind, const CommandResult& result);
[[nodiscard]] absl::StatusOr<CommandResult> DecodeCommandResult(std::string_view bytes);

}  // namespace keel::ledger

#endif  // KEEL_LEDGER_COMMAND_H_
