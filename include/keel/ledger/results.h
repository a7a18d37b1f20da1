// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The results of creating accounts and transfers: TigerBeetle 0.16's result codes, with their
// numeric values and names (src/tigerbeetle.zig, CreateAccountResult and CreateTransferResult, at
// 0.16.78). The enumerators are listed in TigerBeetle's order of precedence, which is the order
// the ledger checks them in: when a request has several faults, the first in this list is the one
// reported. Values follow TigerBeetle's and are not in that order.
//
// A batch's reply lists only the events that failed, as (index, result) pairs in index order; an
// event not listed was created (kOk).
//
// Example:
//
//   for (const keel::ledger::CreateTransfersResult& r : *results) {
//     std::cout << r.index << " " << keel::ledger::ResultName(r.result) << "\n";
//   }
#ifndef KEEL_LEDGER_RESULTS_H_
#define KEEL_LEDGER_RESULTS_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace keel::ledger {

enum class CreateAccountResult : uint32_t {
  kOk = 0,
  kLinkedEventFailed = 1,
  kLinkedEventChainOpen = 2,
  kImportedEventExpected = 22,
  kImportedEventNotExpected = 23,
  kTimestampMustBeZero = 3,
  kImportedEventTimestampOutOfRange = 24,
  kImportedEventTimestampMustNotAdvance = 25,
  kReservedField = 4,
  kReservedFlag = 5,
  kIdMustNotBeZero = 6,
  kIdMustNotBeIntMax = 7,
  kExistsWithDifferentFlags = 15,
  kExistsWithDifferentUserData128 = 16,
  kExistsWithDifferentUserData64 = 17,
  kExistsWithDifferentUserData32 = 18,
  kExistsWithDifferentLedger = 19,
  kExistsWithDifferentCode = 20,
  kExists = 21,
  kFlagsAreMutuallyExclusive = 8,
  kDebitsPendingMustBeZero = 9,
  kDebitsPostedMustBeZero = 10,
  kCreditsPendingMustBeZero = 11,
  kCreditsPostedMustBeZero = 12,
  kLedgerMustNotBeZero = 13,
  kCodeMustNotBeZero = 14,
  kImportedEventTimestampMustNotRegress = 26,
};

enum class CreateTransferResult : uint32_t {
  kOk = 0,
  kLinkedEventFailed = 1,
  kLinkedEventChainOpen = 2,
  kImportedEventExpected = 56,
  kImportedEventNotExpected = 57,
  kTimestampMustBeZero = 3,
  kImportedEventTimestampOutOfRange = 58,
  kImportedEventTimestampMustNotAdvance = 59,
  kReservedFlag = 4,
  kIdMustNotBeZero = 5,
  kIdMustNotBeIntMax = 6,
  kExistsWithDifferentFlags = 36,
  kExistsWithDifferentPendingId = 40,
  kExistsWithDifferentTimeout = 44,
  kExistsWithDifferentDebitAccountId = 37,
  kExistsWithDifferentCreditAccountId = 38,
  kExistsWithDifferentAmount = 39,
  kExistsWithDifferentUserData128 = 41,
  kExistsWithDifferentUserData64 = 42,
  kExistsWithDifferentUserData32 = 43,
  kExistsWithDifferentLedger = 67,
  kExistsWithDifferentCode = 45,
  kExists = 46,
  kIdAlreadyFailed = 68,
  kFlagsAreMutuallyExclusive = 7,
  kDebitAccountIdMustNotBeZero = 8,
  kDebitAccountIdMustNotBeIntMax = 9,
  kCreditAccountIdMustNotBeZero = 10,
  kCreditAccountIdMustNotBeIntMax = 11,
  kAccountsMustBeDifferent = 12,
  kPendingIdMustBeZero = 13,
  kPendingIdMustNotBeZero = 14,
  kPendingIdMustNotBeIntMax = 15,
  kPendingIdMustBeDifferent = 16,
  kTimeoutReservedForPendingTransfer = 17,
  kClosingTransferMustBePending = 64,
  kLedgerMustNotBeZero = 19,
  kCodeMustNotBeZero = 20,
  kDebitAccountNotFound = 21,
  kCreditAccountNotFound = 22,
  kAccountsMustHaveTheSameLedger = 23,
  kTransferMustHaveTheSameLedgerAsAccounts = 24,
  kPendingTransferNotFound = 25,
  kPendingTransferNotPending = 26,
  kPendingTransferHasDifferentDebitAccountId = 27,
  kPendingTransferHasDifferentCreditAccountId = 28,
  kPendingTransferHasDifferentLedger = 29,
  kPendingTransferHasDifferentCode = 30,
  kExceedsPendingTransferAmount = 31,
  kPendingTransferHasDifferentAmount = 32,
  kPendingTransferAlreadyPosted = 33,
  kPendingTransferAlreadyVoided = 34,
  kPendingTransferExpired = 35,
  kImportedEventTimestampMustNotRegress = 60,
  kImportedEventTimestampMustPostdateDebitAccount = 61,
  kImportedEventTimestampMustPostdateCreditAccount = 62,
  kImportedEventTimeoutMustBeZero = 63,
  kDebitAccountAlreadyClosed = 65,
  kCreditAccountAlreadyClosed = 66,
  kOverflowsDebitsPending = 47,
  kOverflowsCreditsPending = 48,
  kOverflowsDebitsPosted = 49,
  kOverflowsCreditsPosted = 50,
  kOverflowsDebits = 51,
  kOverflowsCredits = 52,
  kOverflowsTimeout = 53,
  kExceedsCredits = 54,
  kExceedsDebits = 55,
};

struct CreateAccountsResult {
  uint32_t index = 0;  // the event's position in its batch
  CreateAccountResult result = CreateAccountResult::kOk;
};

struct CreateTransfersResult {
  uint32_t index = 0;
  CreateTransferResult result = CreateTransferResult::kOk;
};

// TigerBeetle's names: "ok", "linked_event_failed", "exists_with_different_flags", ...
[[nodiscard]] std::string_view ResultName(CreateAccountResult result);
[[nodiscard]] std::string_view ResultName(CreateTransferResult result);

// The result with that name, or nullopt.
[[nodiscard]] std::optional<CreateAccountResult> CreateAccountResultNamed(std::string_view name);
[[nodiscard]] std::optional<CreateTransferResult> CreateTransferResultNamed(std::string_view name);

// Whether a transfer that failed with `result` leaves its id failed for good (id_already_failed):
// the failures that depend on the state at the time (an account or pending transfer not found,
// a balance limit, a closed account) rather than on the request alone.
[[nodiscard]] bool IsTransient(CreateTransferResult result);

}  // namespace keel::ledger

#endif  // KEEL_LEDGER_RESULTS_H_
