// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Accounts and transfers of a double-entry ledger, as TigerBeetle 0.16 defines them
// (docs/reference/account.md and transfer.md of TigerBeetle; docs/ledger.md says which release
// and what keel does differently). Money moves only by transfers, each debiting one account and
// crediting another by the same amount, so that on every ledger the sum of all debits equals the
// sum of all credits. Amounts and balances are unsigned 128-bit integers of the ledger's smallest
// unit (cents, satoshis): no floating point, no negative amounts.
//
// An account keeps four balances: what is posted (final) and what is pending (reserved by a
// two-phase transfer that has not been posted, voided or expired yet), each on the debit and the
// credit side. Its flags can forbid its debits to exceed its credits (a customer's wallet that
// cannot go negative) or the reverse, and ask for its balance history to be kept.
//
// Both records are 128 bytes with TigerBeetle's field order, so that a batch of them is the same
// bytes TigerBeetle's clients send.
//
// Example:
//
//   keel::ledger::Account wallet{.id = 1, .ledger = 840, .code = 1,
//                                .flags = keel::ledger::AccountFlags::kDebitsMustNotExceedCredits};
//   keel::ledger::Transfer pay{.id = 7, .debit_account_id = 1, .credit_account_id = 2,
//                              .amount = 1999, .ledger = 840, .code = 10};
#ifndef KEEL_LEDGER_TYPES_H_
#define KEEL_LEDGER_TYPES_H_

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/numeric/int128.h"

namespace keel::ledger {

using Uint128 = absl::uint128;

// 2^128 - 1: an id that is never valid, and for a post the amount "all of it".
inline constexpr Uint128 kMaxUint128 = absl::Uint128Max();

// Events per create batch: what fits TigerBeetle's 1 MiB message (8,189 since 0.16.35).
// `value` in decimal, for messages and text formats.
[[nodiscard]] inline std::string DecimalString(Uint128 value) {
  std::string digits;
  do {
    digits.push_back(static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  } while (value != 0);
  std::reverse(digits.begin(), digits.end());
  return digits;
}

inline constexpr uint32_t kBatchMax = 8'189;

// Pending transfers expired per ExpirePendingTransfers call (TigerBeetle's pulse takes 8,190).
inline constexpr uint32_t kExpiryBatchMax = 8'190;

// Timestamps are nanoseconds in 1 .. 2^63 - 1.
inline constexpr uint64_t kTimestampMax = (uint64_t{1} << 63) - 1;

struct AccountFlags {
  static constexpr uint16_t kLinked = 1 << 0;  // part of a chain with the next event
  static constexpr uint16_t kDebitsMustNotExceedCredits = 1 << 1;
  static constexpr uint16_t kCreditsMustNotExceedDebits = 1 << 2;
  static constexpr uint16_t kHistory = 1 << 3;  // keep a balance per transfer
  // TigerBeetle's bits 4 (imported) and 5 (closed) are not supported: reserved_flag.
  static constexpr uint16_t kSupported =
      kLinked | kDebitsMustNotExceedCredits | kCreditsMustNotExceedDebits | kHistory;
};

struct TransferFlags {
  static constexpr uint16_t kLinked = 1 << 0;
  static constexpr uint16_t kPending = 1 << 1;              // reserve, to post or void later
  static constexpr uint16_t kPostPendingTransfer = 1 << 2;  // settle pending_id (all or part)
  static constexpr uint16_t kVoidPendingTransfer = 1 << 3;  // release pending_id
  static constexpr uint16_t kBalancingDebit = 1 << 4;   // move at most what the debit side allows
  static constexpr uint16_t kBalancingCredit = 1 << 5;  // ...and the credit side
  // TigerBeetle's bits 6-7 (closing_debit, closing_credit) and 8 (imported) are not supported:
  // reserved_flag.
  static constexpr uint16_t kSupported = kLinked | kPending | kPostPendingTransfer |
                                         kVoidPendingTransfer | kBalancingDebit | kBalancingCredit;
};

struct Account {
  Uint128 id = 0;              // not 0, not 2^128 - 1
  Uint128 debits_pending = 0;  // all four are 0 in a create request
  Uint128 debits_posted = 0;
  Uint128 credits_pending = 0;
  Uint128 credits_posted = 0;
  Uint128 user_data_128 = 0;  // the application's own fields, stored as given
  uint64_t user_data_64 = 0;
  uint32_t user_data_32 = 0;
  uint32_t reserved = 0;   // must be 0
  uint32_t ledger = 0;     // which currency or asset; transfers stay within one. Not 0.
  uint16_t code = 0;       // the kind of account, the application's; not 0
  uint16_t flags = 0;      // AccountFlags
  uint64_t timestamp = 0;  // set by the ledger; 0 in a create request
};

struct Transfer {
  Uint128 id = 0;
  Uint128 debit_account_id = 0;
  Uint128 credit_account_id = 0;
  Uint128 amount = 0;
  Uint128 pending_id = 0;  // the pending transfer a post or void settles; else 0
  Uint128 user_data_128 = 0;
  uint64_t user_data_64 = 0;
  uint32_t user_data_32 = 0;
  uint32_t timeout = 0;  // seconds a pending transfer may stay pending; 0: no limit
  uint32_t ledger = 0;
  uint16_t code = 0;
  uint16_t flags = 0;  // TransferFlags
  uint64_t timestamp = 0;
};

// An account's balances right after one of its transfers, for accounts with kHistory.
struct AccountBalance {
  Uint128 debits_pending = 0;
  Uint128 debits_posted = 0;
  Uint128 credits_pending = 0;
  Uint128 credits_posted = 0;
  uint64_t timestamp = 0;  // the transfer's
};

// Which of an account's transfers GetAccountBalances reports.
struct AccountFilter {
  static constexpr uint32_t kDebits = 1 << 0;    // transfers debiting the account
  static constexpr uint32_t kCredits = 1 << 1;   // transfers crediting it
  static constexpr uint32_t kReversed = 1 << 2;  // newest first

  Uint128 account_id = 0;
  Uint128 user_data_128 = 0;  // each non-zero field must equal the transfer's
  uint64_t user_data_64 = 0;
  uint32_t user_data_32 = 0;
  uint16_t code = 0;
  uint64_t timestamp_min = 0;  // 0: unbounded
  uint64_t timestamp_max = 0;  // 0: unbounded
  uint32_t limit = 0;          // at least 1; at most kBatchMax rows come back
  uint32_t flags = 0;
};

// The status of a pending transfer; a pending transfer leaves kPending once, for good.
enum class PendingStatus : uint8_t {
  kNone = 0,
  kPending = 1,
  kPosted = 2,
  kVoided = 3,
  kExpired = 4
};

}  // namespace keel::ledger

#endif  // KEEL_LEDGER_TYPES_H_
