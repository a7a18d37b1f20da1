// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What a wallet replica and its clients say to each other over RESP (the digital wallet's
// replicated event log; docs/wallet_replication.md). Every replica answers every command:
//
//   LEDGER.EXECUTE <command>      a ledger command (keel/ledger/command.h's bytes), replicated:
//                                 the replica stamps it with its wall clock, proposes it (a
//                                 follower forwards it to the leader) and answers once the
//                                 committed command is applied on it. The reply is a bulk string
//                                   reply := timestamp (u64) result
//                                 where timestamp is the one the command was applied at and
//                                 result is EncodeCommandResult's bytes (the failed events only);
//                                 or an error (below).
//   LEDGER.ACCOUNT <id> [<id> ...]
//   LEDGER.TRANSFER <id> [<id> ...]
//                                 linearizable lookups: an array with, for each id, nil or the
//                                 record as field, value, field, value, ... (every field of
//                                 types.h in its order, values in decimal), as HGETALL answers
//   LEDGER.HASH                   a linearizable read of where the ledger is: the fields
//                                 commands (ledger commands applied, failed ones included: the
//                                 state's position in the log), hash (Ledger::StateHash, 16 hex
//                                 digits), last_timestamp, accounts, transfers, pending
//   LEDGER.CHECK                  a linearizable Ledger::CheckInvariants: +OK, or an error naming
//                                 the first ledger whose debits and credits differ
//   INFO, PING                    at once; INFO has a "# Raft" section (role, term, leader_id, ...)
//
// Errors. A reply that starts with -TRYAGAIN, -CLUSTERDOWN or -BUSY means try again: TRYAGAIN
// that the command was proposed and not applied in time (it may still be), CLUSTERDOWN that no
// leader is known or the replica has stopped, BUSY that too many requests wait. Because every
// event has an id and a repeated id answers `exists` (TigerBeetle's idempotency), a client
// resends a batch whose outcome it does not know and learns from the answer what happened.
// Any other error (-ERR) is final: the request was malformed, or the command reached the log and
// the ledger refused it whole (a bad command, a timestamp out of range, capacity); every replica
// refused it alike.
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_REPLICA_PROTOCOL_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_REPLICA_PROTOCOL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/ledger/command.h"
#include "keel/ledger/types.h"
#include "keel/net/resp_reader.h"
#include "keel/net/resp_writer.h"

namespace keel::examples::wallet {

// The most ids one LEDGER.ACCOUNT or LEDGER.TRANSFER takes (a batch's worth).
inline constexpr size_t kLookupMax = ledger::kBatchMax;

// The RESP request LEDGER.EXECUTE <command>, built once so that a client sends it as it is.
[[nodiscard]] std::string ExecuteRequest(std::string_view command);

// Checks a command's header (command.h) without reading its records: the version, the kind, the
// reserved field, the count and the size. What a replica checks before it proposes a command, so
// that what is plainly not a command never reaches the log. Errors: kInvalidArgument naming the
// bad field.
[[nodiscard]] absl::Status CheckCommandHeader(std::string_view command);

// LEDGER.EXECUTE's answer, decoded.
struct ExecuteReply {
  uint64_t timestamp = 0;  // the command's, as applied; event i of n had timestamp - n + i + 1
  ledger::CommandResult result;
};

// Writes LEDGER.EXECUTE's reply for a command of `kind` applied at `timestamp`.
void WriteExecuteReply(net::RespWriter& writer, uint64_t timestamp, ledger::CommandKind kind,
                       const ledger::CommandResult& result);

// How a client must take a reply.
enum class ReplyClass {
  kAnswered,  // not an error
  kRetry,     // -TRYAGAIN, -CLUSTERDOWN, -BUSY: send again (the outcome may be unknown)
  kRefused,   // any other error: final
};
[[nodiscard]] ReplyClass Classify(const net::RespValue& reply);

// LEDGER.EXECUTE's reply. Errors: kInvalidArgument when it is not a well-formed answer (an error
// reply included: classify it first).
[[nodiscard]] absl::StatusOr<ExecuteReply> ParseExecuteReply(const net::RespValue& reply);

// The error reply for a failed request (keel/raft/server.h's statuses): kDeadlineExceeded is
// TRYAGAIN, kUnavailable, kFailedPrecondition and kCancelled are CLUSTERDOWN, kResourceExhausted
// is BUSY, the rest ERR. Line breaks in the message become spaces.
void WriteError(net::RespWriter& writer, const absl::Status& status);

// Records as field/value arrays (LEDGER.ACCOUNT, LEDGER.TRANSFER).
void WriteAccount(net::RespWriter& writer, const ledger::Account& account);
void WriteTransfer(net::RespWriter& writer, const ledger::Transfer& transfer);
// Errors: kInvalidArgument naming the field that is missing, out of order or not a number.
[[nodiscard]] absl::StatusOr<ledger::Account> ParseAccount(const net::RespValue& value);
[[nodiscard]] absl::StatusOr<ledger::Transfer> ParseTransfer(const net::RespValue& value);

// LEDGER.HASH's answer.
struct LedgerPosition {
  uint64_t commands = 0;
  uint64_t hash = 0;
  uint64_t last_timestamp = 0;
  uint64_t accounts = 0;
  uint64_t transfers = 0;
  uint64_t pending = 0;
  friend bool operator==(const LedgerPosition&, const LedgerPosition&) = default;
};
void WritePosition(net::RespWriter& writer, const LedgerPosition& position);
[[nodiscard]] absl::StatusOr<LedgerPosition> ParsePosition(const net::RespValue& value);

// A decimal number from 0 to 2^128 - 1 (digits only). Errors: kInvalidArgument naming the text.
[[nodiscard]] absl::StatusOr<ledger::Uint128> ParseUint128(std::string_view text);

}  // namespace keel::examples::wallet

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_REPLICA_PROTOCOL_H_
