// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/ledger/results.h"

#include <algorithm>
#include <iterator>

namespace keel::ledger {
namespace {

template <typename Result>
struct NamedResult {
  Result result;
  std::string_view name;
};

// In TigerBeetle's order of precedence, as the enums are declared.
constexpr NamedResult<CreateAccountResult> kCreateAccountResultNames[] = {
    {CreateAccountResult::kOk, "ok"},
    {CreateAccountResult::kLinkedEventFailed, "linked_event_failed"},
    {CreateAccountResult::kLinkedEventChainOpen, "linked_event_chain_open"},
    {CreateAccountResult::kImportedEventExpected, "imported_event_expected"},
    {CreateAccountResult::kImportedEventNotExpected, "imported_event_not_expected"},
    {CreateAccountResult::kTimestampMustBeZero, "timestamp_must_be_zero"},
    {CreateAccountResult::kImportedEventTimestampOutOfRange,
     "imported_event_timestamp_out_of_range"},
    {CreateAccountResult::kImportedEventTimestampMustNotAdvance,
     "imported_event_timestamp_must_not_advance"},
    {CreateAccountResult::kReservedField, "reserved_field"},
    {CreateAccountResult::kReservedFlag, "reserved_flag"},
    {CreateAccountResult::kIdMustNotBeZero, "id_must_not_be_zero"},
    {CreateAccountResult::kIdMustNotBeIntMax, "id_must_not_be_int_max"},
    {CreateAccountResult::kExistsWithDifferentFlags, "exists_with_different_flags"},
    {CreateAccountResult::kExistsWithDifferentUserData128, "exists_with_different_user_data_128"},
    {CreateAccountResult::kExistsWithDifferentUserData64, "exists_with_different_user_data_64"},
    {CreateAccountResult::kExistsWithDifferentUserData32, "exists_with_different_user_data_32"},
    {CreateAccountResult::kExistsWithDifferentLedger, "exists_with_different_ledger"},
    {CreateAccountResult::kExistsWithDifferentCode, "exists_with_different_code"},
    {CreateAccountResult::kExists, "exists"},
    {CreateAccountResult::kFlagsAreMutuallyExclusive, "flags_are_mutually_exclusive"},
    {CreateAccountResult::kDebitsPendingMustBeZero, "debits_pending_must_be_zero"},
    {CreateAccountResult::kDebitsPostedMustBeZero, "debits_posted_must_be_zero"},
    {CreateAccountResult::kCreditsPendingMustBeZero, "credits_pending_must_be_zero"},
    {CreateAccountResult::kCreditsPostedMustBeZero, "credits_posted_must_be_zero"},
    {CreateAccountResult::kLedgerMustNotBeZero, "ledger_must_not_be_zero"},
    {CreateAccountResult::kCodeMustNotBeZero, "code_must_not_be_zero"},
    {CreateAccountResult::kImportedEventTimestampMustNotRegress,
     "imported_event_timestamp_must_not_regress"},
};

constexpr NamedResult<CreateTransferResult> kCreateTransferResultNames[] = {
    {CreateTransferResult::kOk, "ok"},
    {CreateTransferResult::kLinkedEventFailed, "linked_event_failed"},
    {CreateTransferResult::kLinkedEventChainOpen, "linked_event_chain_open"},
    {CreateTransferResult::kImportedEventExpected, "imported_event_expected"},
    {CreateTransferResult::kImportedEventNotExpected, "imported_event_not_expected"},
    {CreateTransferResult::kTimestampMustBeZero, "timestamp_must_be_zero"},
    {CreateTransferResult::kImportedEventTimestampOutOfRange,
     "imported_event_timestamp_out_of_range"},
    {CreateTransferResult::kImportedEventTimestampMustNotAdvance,
     "imported_event_timestamp_must_not_advance"},
    {CreateTransferResult::kReservedFlag, "reserved_flag"},
    {CreateTransferResult::kIdMustNotBeZero, "id_must_not_be_zero"},
    {CreateTransferResult::kIdMustNotBeIntMax, "id_must_not_be_int_max"},
    {CreateTransferResult::kExistsWithDifferentFlags, "exists_with_different_flags"},
    {CreateTransferResult::kExistsWithDifferentPendingId, "exists_with_different_pending_id"},
    {CreateTransferResult::kExistsWithDifferentTimeout, "exists_with_different_timeout"},
    {CreateTransferResult::kExistsWithDifferentDebitAccountId,
     "exists_with_different_debit_account_id"},
    {CreateTransferResult::kExistsWithDifferentCreditAccountId,
     "exists_with_different_credit_account_id"},
    {CreateTransferResult::kExistsWithDifferentAmount, "exists_with_different_amount"},
    {CreateTransferResult::kExistsWithDifferentUserData128, "exists_with_different_user_data_128"},
    {CreateTransferResult::kExistsWithDifferentUserData64, "exists_with_different_user_data_64"},
    {CreateTransferResult::kExistsWithDifferentUserData32, "exists_with_different_user_data_32"},
    {CreateTransferResult::kExistsWithDifferentLedger, "exists_with_different_ledger"},
    {CreateTransferResult::kExistsWithDifferentCode, "exists_with_different_code"},
    {CreateTransferResult::kExists, "exists"},
    {CreateTransferResult::kIdAlreadyFailed, "id_already_failed"},
    {CreateTransferResult::kFlagsAreMutuallyExclusive, "flags_are_mutually_exclusive"},
    {CreateTransferResult::kDebitAccountIdMustNotBeZero, "debit_account_id_must_not_be_zero"},
    {CreateTransferResult::kDebitAccountIdMustNotBeIntMax, "debit_account_id_must_not_be_int_max"},
    {CreateTransferResult::kCreditAccountIdMustNotBeZero, "credit_account_id_must_not_be_zero"},
    {CreateTransferResult::kCreditAccountIdMustNotBeIntMax,
     "credit_account_id_must_not_be_int_max"},
    {CreateTransferResult::kAccountsMustBeDifferent, "accounts_must_be_different"},
    {CreateTransferResult::kPendingIdMustBeZero, "pending_id_must_be_zero"},
    {CreateTransferResult::kPendingIdMustNotBeZero, "pending_id_must_not_be_zero"},
    {CreateTransferResult::kPendingIdMustNotBeIntMax, "pending_id_must_not_be_int_max"},
    {CreateTransferResult::kPendingIdMustBeDifferent, "pending_id_must_be_different"},
    {CreateTransferResult::kTimeoutReservedForPendingTransfer,
     "timeout_reserved_for_pending_transfer"},
    {CreateTransferResult::kClosingTransferMustBePending, "closing_transfer_must_be_pending"},
    {CreateTransferResult::kLedgerMustNotBeZero, "ledger_must_not_be_zero"},
    {CreateTransferResult::kCodeMustNotBeZero, "code_must_not_be_zero"},
    {CreateTransferResult::kDebitAccountNotFound, "debit_account_not_found"},
    {CreateTransferResult::kCreditAccountNotFound, "credit_account_not_found"},
    {CreateTransferResult::kAccountsMustHaveTheSameLedger, "accounts_must_have_the_same_ledger"},
    {CreateTransferResult::kTransferMustHaveTheSameLedgerAsAccounts,
     "transfer_must_have_the_same_ledger_as_accounts"},
    {CreateTransferResult::kPendingTransferNotFound, "pending_transfer_not_found"},
    {CreateTransferResult::kPendingTransferNotPending, "pending_transfer_not_pending"},
    {CreateTransferResult::kPendingTransferHasDifferentDebitAccountId,
     "pending_transfer_has_different_debit_account_id"},
    {CreateTransferResult::kPendingTransferHasDifferentCreditAccountId,
     "pending_transfer_has_different_credit_account_id"},
    {CreateTransferResult::kPendingTransferHasDifferentLedger,
     "pending_transfer_has_different_ledger"},
    {CreateTransferResult::kPendingTransferHasDifferentCode, "pending_transfer_has_different_code"},
    {CreateTransferResult::kExceedsPendingTransferAmount, "exceeds_pending_transfer_amount"},
    {CreateTransferResult::kPendingTransferHasDifferentAmount,
     "pending_transfer_has_different_amount"},
    {CreateTransferResult::kPendingTransferAlreadyPosted, "pending_transfer_already_posted"},
    {CreateTransferResult::kPendingTransferAlreadyVoided, "pending_transfer_already_voided"},
    {CreateTransferResult::kPendingTransferExpired, "pending_transfer_expired"},
    {CreateTransferResult::kImportedEventTimestampMustNotRegress,
     "imported_event_timestamp_must_not_regress"},
    {CreateTransferResult::kImportedEventTimestampMustPostdateDebitAccount,
     "imported_event_timestamp_must_postdate_debit_account"},
    {CreateTransferResult::kImportedEventTimestampMustPostdateCreditAccount,
     "imported_event_timestamp_must_postdate_credit_account"},
    {CreateTransferResult::kImportedEventTimeoutMustBeZero, "imported_event_timeout_must_be_zero"},
    {CreateTransferResult::kDebitAccountAlreadyClosed, "debit_account_already_closed"},
    {CreateTransferResult::kCreditAccountAlreadyClosed, "credit_account_already_closed"},
    {CreateTransferResult::kOverflowsDebitsPending, "overflows_debits_pending"},
    {CreateTransferResult::kOverflowsCreditsPending, "overflows_credits_pending"},
    {CreateTransferResult::kOverflowsDebitsPosted, "overflows_debits_posted"},
    {CreateTransferResult::kOverflowsCreditsPosted, "overflows_credits_posted"},
    {CreateTransferResult::kOverflowsDebits, "overflows_debits"},
    {CreateTransferResult::kOverflowsCredits, "overflows_credits"},
    {CreateTransferResult::kOverflowsTimeout, "overflows_timeout"},
    {CreateTransferResult::kExceedsCredits, "exceeds_credits"},
    {CreateTransferResult::kExceedsDebits, "exceeds_debits"},
};

template <typename Result, size_t N>
std::string_view NameIn(const NamedResult<Result> (&names)[N], Result result) {
  const auto* found =
      std::find_if(std::begin(names), std::end(names),
                   [&](const NamedResult<Result>& n) { return n.result == result; });
  return found == std::end(names) ? std::string_view("unknown") : found->name;
}

template <typename Result, size_t N>
std::optional<Result> Named(const NamedResult<Result> (&names)[N], std::string_view name) {
  const auto* found = std::find_if(std::begin(names), std::end(names),
                                   [&](const NamedResult<Result>& n) { return n.name == name; });
  if (found == std::end(names)) return std::nullopt;
  return found->result;
}

}  // namespace

std::string_view ResultName(CreateAccountResult result) {
  return NameIn(kCreateAccountResultNames, result);
}

std::string_view ResultName(CreateTransferResult result) {
  return NameIn(kCreateTransferResultNames, result);
}

std::optional<CreateAccountResult> CreateAccountResultNamed(std::string_view name) {
  return Named(kCreateAccountResultNames, name);
}

std::optional<CreateTransferResult> CreateTransferResultNamed(std::string_view name) {
  return Named(kCreateTransferResultNames, name);
}

bool IsTransient(CreateTransferResult result) {
  switch (result) {
    case CreateTransferResult::kDebitAccountNotFound:
    case CreateTransferResult::kCreditAccountNotFound:
    case CreateTransferResult::kPendingTransferNotFound:
    case CreateTransferResult::kExceedsCredits:
    case CreateTransferResult::kExceedsDebits:
    case CreateTransferResult::kDebitAccountAlreadyClosed:
    case CreateTransferResult::kCreditAccountAlreadyClosed:
      return true;
    default:
      return false;
  }
}

}  // namespace keel::ledger
