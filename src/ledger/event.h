// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Events: what one command changed, as facts. The durable ledger appends one event per command to
// its write-ahead log, and replay applies events without judging them again. The command was
// validated once, when it ran (every check of create.cc, every lookup of an account by id); its
// event records only the outcome: each account or transfer created, exactly as stored, with the
// rows of the accounts and of the pending transfer it touched, and each id it left failed. So a
// replay does no lookups and no checks, only the effects, in the order they happened, and comes
// out with the same state, byte for byte (Ledger::StateHash).
//
//   event    := kind (u8) version (u8, 1) reserved (u16, 0) created (u32) failed (u32)
//               expired (u32) timestamp (u64)
//               created * account (128 bytes)          (kind kCreateAccounts)
//             | created * transfer_fact (160 bytes)    (kind kCreateTransfers)
//               failed * id (16 bytes)
//             | expired * expiry_fact (32 bytes)       (kind kExpirePendingTransfers)
//   transfer_fact := transfer (128 bytes, as stored) debit_row (u64) credit_row (u64)
//                    pending_row (u64, all ones when none) reserved (u64, 0)
//   expiry_fact   := transfer_id (16 bytes) transfer_row (u64) reserved (u64, 0)
//
// Integers are little-endian; the kinds are CommandKind's. Readers other than the ledger (the
// read model) use the ids and ignore the rows.
#ifndef KEEL_SRC_LEDGER_EVENT_H_
#define KEEL_SRC_LEDGER_EVENT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "keel/ledger/command.h"
#include "keel/ledger/types.h"

namespace keel::ledger::internal {

class LedgerImpl;

inline constexpr size_t kEventHeaderBytes = 24;

struct TransferFact {
  Transfer transfer;
  uint64_t debit_row = 0;
  uint64_t credit_row = 0;
  uint64_t pending_row = ~uint64_t{0};
  uint64_t reserved = 0;
};
static_assert(sizeof(TransferFact) == 160);

struct ExpiryFact {
  Uint128 id = 0;
  uint64_t row = 0;
  uint64_t reserved = 0;
};
static_assert(sizeof(ExpiryFact) == 32);

// The largest event: a batch of kBatchMax transfers, all created.
inline constexpr size_t kMaxEventBytes =
    kEventHeaderBytes + size_t{kBatchMax} * sizeof(TransferFact);

struct EventHeader {
  CommandKind kind = CommandKind::kCreateTransfers;
  uint32_t created = 0;
  uint32_t failed = 0;
  uint32_t expired = 0;
  uint64_t timestamp = 0;
};

// Checks an event's header against its size. Errors: kDataLoss naming what does not fit.
[[nodiscard]] absl::StatusOr<EventHeader> DecodeEventHeader(std::string_view event);

// The facts (created accounts or transfers, or expiries) and failed ids of a decoded event, by
// position.
[[nodiscard]] const char* EventFact(std::string_view event, const EventHeader& header, size_t i);
[[nodiscard]] ExpiryFact EventExpiry(std::string_view event, size_t i);
[[nodiscard]] Uint128 EventFailedId(std::string_view event, const EventHeader& header, size_t i);

// Recording, by the batch frame (ledger.cc): BeginEvent before the batch, FinishEvent after.
void BeginEvent(LedgerImpl& s, std::string* event, CommandKind kind, uint64_t timestamp);
void FinishEvent(LedgerImpl& s);

// Applies an event to the state it was recorded on. Errors: kDataLoss when the event does not
// fit the state (a row out of range or holding another id, a timestamp before the last one, an
// expiry of a transfer that is not pending), with nothing applied from the fact that does not fit
// on; the state is then part-way through the event and must be dropped.
[[nodiscard]] absl::Status ApplyEvent(LedgerImpl& s, std::string_view event);

}  // namespace keel::ledger::internal

#endif  // KEEL_SRC_LEDGER_EVENT_H_
