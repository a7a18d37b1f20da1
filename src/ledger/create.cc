// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// One account or transfer: its checks in TigerBeetle 0.16.78's order (src/state_machine.zig:
// create_account, create_transfer, post_or_void_pending_transfer and their *_exists comparisons),
// then its effects. Every check comes before every effect, so an event that fails changes nothing.
#include <algorithm>

#include "keel/base/assert.h"
#include "ledger_impl.h"

namespace keel::ledger::internal {
namespace {

using AR = CreateAccountResult;
using TR = CreateTransferResult;

// Whether a + b passes 2^128 - 1.
bool Overflows(Uint128 a, Uint128 b) { return a > kMaxUint128 - b; }

// a - b, or 0 when b >= a.
Uint128 SaturatingSub(Uint128 a, Uint128 b) { return a > b ? a - b : 0; }

bool Has(uint16_t flags, uint16_t flag) { return (flags & flag) != 0; }

}  // namespace

CreateAccountResult LedgerImpl::CreateAccount(const Account& a, uint64_t ts) {
  if (a.reserved != 0) return AR::kReservedField;
  if ((a.flags & ~AccountFlags::kSupported) != 0) return AR::kReservedFlag;
  if (a.id == 0) return AR::kIdMustNotBeZero;
  if (a.id == kMaxUint128) return AR::kIdMustNotBeIntMax;

  // A repeated id is judged before the request's own faults, so that a retry of a batch that
  // went through reads `exists` whatever else it says.
  if (const Account* found = FindAccount(a.id); found != nullptr) {
    const Account& e = *found;
    if (a.flags != e.flags) return AR::kExistsWithDifferentFlags;
    if (a.user_data_128 != e.user_data_128) return AR::kExistsWithDifferentUserData128;
    if (a.user_data_64 != e.user_data_64) return AR::kExistsWithDifferentUserData64;
    if (a.user_data_32 != e.user_data_32) return AR::kExistsWithDifferentUserData32;
    if (a.ledger != e.ledger) return AR::kExistsWithDifferentLedger;
    if (a.code != e.code) return AR::kExistsWithDifferentCode;
    return AR::kExists;
  }

  if (Has(a.flags, AccountFlags::kDebitsMustNotExceedCredits) &&
      Has(a.flags, AccountFlags::kCreditsMustNotExceedDebits)) {
    return AR::kFlagsAreMutuallyExclusive;
  }
  if (a.debits_pending != 0) return AR::kDebitsPendingMustBeZero;
  if (a.debits_posted != 0) return AR::kDebitsPostedMustBeZero;
  if (a.credits_pending != 0) return AR::kCreditsPendingMustBeZero;
  if (a.credits_posted != 0) return AR::kCreditsPostedMustBeZero;
  if (a.ledger == 0) return AR::kLedgerMustNotBeZero;
  if (a.code == 0) return AR::kCodeMustNotBeZero;

  Account created = a;
  created.timestamp = ts;
  InsertAccount(created);
  RecordAccount(created);
  return AR::kOk;
}

CreateTransferResult LedgerImpl::CreateTransfer(const Transfer& t, uint64_t ts) {
  if ((t.flags & ~TransferFlags::kSupported) != 0) return TR::kReservedFlag;
  if (t.id == 0) return TR::kIdMustNotBeZero;
  if (t.id == kMaxUint128) return TR::kIdMustNotBeIntMax;
  if (const uint64_t row = FindTransferRow(t.id); row != kNoRow) {
    return CompareWithExisting(t, row);
  }
  if (failed_ids_.contains(t.id)) return TR::kIdAlreadyFailed;
  if (Has(t.flags, TransferFlags::kPostPendingTransfer) ||
      Has(t.flags, TransferFlags::kVoidPendingTransfer)) {
    return PostOrVoid(t, ts);
  }

  const bool pending = Has(t.flags, TransferFlags::kPending);
  if (t.debit_account_id == 0) return TR::kDebitAccountIdMustNotBeZero;
  if (t.debit_account_id == kMaxUint128) return TR::kDebitAccountIdMustNotBeIntMax;
  if (t.credit_account_id == 0) return TR::kCreditAccountIdMustNotBeZero;
  if (t.credit_account_id == kMaxUint128) return TR::kCreditAccountIdMustNotBeIntMax;
  if (t.debit_account_id == t.credit_account_id) return TR::kAccountsMustBeDifferent;
  if (t.pending_id != 0) return TR::kPendingIdMustBeZero;
  if (!pending && t.timeout != 0) return TR::kTimeoutReservedForPendingTransfer;
  if (t.ledger == 0) return TR::kLedgerMustNotBeZero;
  if (t.code == 0) return TR::kCodeMustNotBeZero;

  const uint64_t dr_row = account_index_.Find(t.debit_account_id);
  if (dr_row == kNoRow) return TR::kDebitAccountNotFound;
  const uint64_t cr_row = account_index_.Find(t.credit_account_id);
  if (cr_row == kNoRow) return TR::kCreditAccountNotFound;
  const Account& dr = accounts_[dr_row];
  const Account& cr = accounts_[cr_row];
  if (dr.ledger != cr.ledger) return TR::kAccountsMustHaveTheSameLedger;
  if (t.ledger != dr.ledger) return TR::kTransferMustHaveTheSameLedgerAsAccounts;

  // A balancing transfer moves at most what keeps each flagged side at its limit: the debit
  // account's credits not yet matched by debits, the credit account's debits not yet matched by
  // credits. The amount may come out 0, which is a transfer like any other.
  Uint128 amount = t.amount;
  if (Has(t.flags, TransferFlags::kBalancingDebit)) {
    amount =
        std::min(amount, SaturatingSub(dr.credits_posted, dr.debits_posted + dr.debits_pending));
  }
  if (Has(t.flags, TransferFlags::kBalancingCredit)) {
    amount =
        std::min(amount, SaturatingSub(cr.debits_posted, cr.credits_posted + cr.credits_pending));
  }

  if (pending && Overflows(amount, dr.debits_pending)) return TR::kOverflowsDebitsPending;
  if (pending && Overflows(amount, cr.credits_pending)) return TR::kOverflowsCreditsPending;
  // The posted sides are checked for pending transfers too: a post must never overflow later.
  if (Overflows(amount, dr.debits_posted)) return TR::kOverflowsDebitsPosted;
  if (Overflows(amount, cr.credits_posted)) return TR::kOverflowsCreditsPosted;
  if (Overflows(amount, dr.debits_pending + dr.debits_posted)) return TR::kOverflowsDebits;
  if (Overflows(amount, cr.credits_pending + cr.credits_posted)) return TR::kOverflowsCredits;
  if (ts + uint64_t{t.timeout} * kNanosPerSecond > kTimestampMax) return TR::kOverflowsTimeout;
  if (Has(dr.flags, AccountFlags::kDebitsMustNotExceedCredits) &&
      dr.debits_pending + dr.debits_posted + amount > dr.credits_posted) {
    return TR::kExceedsCredits;
  }
  if (Has(cr.flags, AccountFlags::kCreditsMustNotExceedDebits) &&
      cr.credits_pending + cr.credits_posted + amount > cr.debits_posted) {
    return TR::kExceedsDebits;
  }

  Transfer created = t;
  created.amount = amount;
  created.timestamp = ts;
  const uint64_t row =
      InsertTransfer(created, pending ? PendingStatus::kPending : PendingStatus::kNone);
  Account& debit = MutableAccount(dr_row);
  Account& credit = MutableAccount(cr_row);
  if (pending) {
    debit.debits_pending += amount;
    credit.credits_pending += amount;
    if (t.timeout > 0) {
      InsertExpiry({ts + uint64_t{t.timeout} * kNanosPerSecond, ts, row});
    }
  } else {
    debit.debits_posted += amount;
    credit.credits_posted += amount;
  }
  AppendHistory(dr_row, row);
  AppendHistory(cr_row, row);
  RecordTransfer(created, dr_row, cr_row, kNoRow);
  return TR::kOk;
}

CreateTransferResult LedgerImpl::PostOrVoid(const Transfer& t, uint64_t ts) {
  const bool post = Has(t.flags, TransferFlags::kPostPendingTransfer);
  const bool void_ = Has(t.flags, TransferFlags::kVoidPendingTransfer);
  if (post && void_) return TR::kFlagsAreMutuallyExclusive;
  if (Has(t.flags, TransferFlags::kPending)) return TR::kFlagsAreMutuallyExclusive;
  if (Has(t.flags, TransferFlags::kBalancingDebit)) return TR::kFlagsAreMutuallyExclusive;
  if (Has(t.flags, TransferFlags::kBalancingCredit)) return TR::kFlagsAreMutuallyExclusive;
  if (t.pending_id == 0) return TR::kPendingIdMustNotBeZero;
  if (t.pending_id == kMaxUint128) return TR::kPendingIdMustNotBeIntMax;
  if (t.pending_id == t.id) return TR::kPendingIdMustBeDifferent;
  if (t.timeout != 0) return TR::kTimeoutReservedForPendingTransfer;

  const uint64_t pending_row = FindTransferRow(t.pending_id);
  if (pending_row == kNoRow) return TR::kPendingTransferNotFound;
  const Transfer& p = transfers_[pending_row];
  if (!Has(p.flags, TransferFlags::kPending)) return TR::kPendingTransferNotPending;
  // Fields left 0 are taken from the pending transfer; fields given must match it.
  if (t.debit_account_id != 0 && t.debit_account_id != p.debit_account_id) {
    return TR::kPendingTransferHasDifferentDebitAccountId;
  }
  if (t.credit_account_id != 0 && t.credit_account_id != p.credit_account_id) {
    return TR::kPendingTransferHasDifferentCreditAccountId;
  }
  if (t.ledger != 0 && t.ledger != p.ledger) return TR::kPendingTransferHasDifferentLedger;
  if (t.code != 0 && t.code != p.code) return TR::kPendingTransferHasDifferentCode;

  // A void releases all of it (0 says so too); a post settles any part, 2^128 - 1 meaning all.
  Uint128 amount = t.amount;
  if (void_ && t.amount == 0) amount = p.amount;
  if (post && t.amount == kMaxUint128) amount = p.amount;
  if (amount > p.amount) return TR::kExceedsPendingTransferAmount;
  if (void_ && amount < p.amount) return TR::kPendingTransferHasDifferentAmount;

  switch (statuses_[pending_row]) {
    case PendingStatus::kPosted:
      return TR::kPendingTransferAlreadyPosted;
    case PendingStatus::kVoided:
      return TR::kPendingTransferAlreadyVoided;
    case PendingStatus::kExpired:
      return TR::kPendingTransferExpired;
    case PendingStatus::kPending:
    case PendingStatus::kNone:
      break;
  }
  // Expired by time even if ExpirePendingTransfers has not reached it yet.
  if (p.timeout > 0 && p.timestamp + uint64_t{p.timeout} * kNanosPerSecond <= ts) {
    return TR::kPendingTransferExpired;
  }

  Transfer created = t;
  created.debit_account_id = p.debit_account_id;
  created.credit_account_id = p.credit_account_id;
  created.amount = amount;
  if (t.user_data_128 == 0) created.user_data_128 = p.user_data_128;
  if (t.user_data_64 == 0) created.user_data_64 = p.user_data_64;
  if (t.user_data_32 == 0) created.user_data_32 = p.user_data_32;
  created.ledger = p.ledger;
  created.code = p.code;
  created.timeout = 0;
  created.timestamp = ts;
  // Rows never move, so `p` stays valid as the new transfer is appended.
  const uint64_t row = InsertTransfer(created, PendingStatus::kNone);
  if (p.timeout > 0) {
    EraseExpiry({p.timestamp + uint64_t{p.timeout} * kNanosPerSecond, p.timestamp, pending_row});
  }
  SetStatus(pending_row, post ? PendingStatus::kPosted : PendingStatus::kVoided);
  const uint64_t dr_row = account_index_.Find(p.debit_account_id);
  const uint64_t cr_row = account_index_.Find(p.credit_account_id);
  Account& debit = MutableAccount(dr_row);
  Account& credit = MutableAccount(cr_row);
  KEEL_ASSERT(debit.debits_pending >= p.amount && credit.credits_pending >= p.amount,
              "a pending transfer's amount is missing from its accounts' pending balances");
  debit.debits_pending -= p.amount;
  credit.credits_pending -= p.amount;
  if (post) {
    debit.debits_posted += amount;
    credit.credits_posted += amount;
  }
  AppendHistory(dr_row, row);
  AppendHistory(cr_row, row);
  RecordTransfer(created, dr_row, cr_row, pending_row);
  return TR::kOk;
}

CreateTransferResult LedgerImpl::CompareWithExisting(const Transfer& t, uint64_t row) const {
  const Transfer& e = transfers_[row];
  if (t.flags != e.flags) return TR::kExistsWithDifferentFlags;
  if (t.pending_id != e.pending_id) return TR::kExistsWithDifferentPendingId;
  if (t.timeout != e.timeout) return TR::kExistsWithDifferentTimeout;

  if (!Has(t.flags, TransferFlags::kPostPendingTransfer) &&
      !Has(t.flags, TransferFlags::kVoidPendingTransfer)) {
    if (t.debit_account_id != e.debit_account_id) return TR::kExistsWithDifferentDebitAccountId;
    if (t.credit_account_id != e.credit_account_id) {
      return TR::kExistsWithDifferentCreditAccountId;
    }
    // A balancing transfer stored what it could move: any bound at least that is the same
    // request.
    const bool balancing = Has(t.flags, TransferFlags::kBalancingDebit) ||
                           Has(t.flags, TransferFlags::kBalancingCredit);
    if (balancing ? t.amount < e.amount : t.amount != e.amount) {
      return TR::kExistsWithDifferentAmount;
    }
    if (t.user_data_128 != e.user_data_128) return TR::kExistsWithDifferentUserData128;
    if (t.user_data_64 != e.user_data_64) return TR::kExistsWithDifferentUserData64;
    if (t.user_data_32 != e.user_data_32) return TR::kExistsWithDifferentUserData32;
    if (t.ledger != e.ledger) return TR::kExistsWithDifferentLedger;
    if (t.code != e.code) return TR::kExistsWithDifferentCode;
    return TR::kExists;
  }

  // A post or void: fields left 0 stood for the pending transfer's.
  const uint64_t pending_row = FindTransferRow(e.pending_id);
  KEEL_ASSERT(pending_row != kNoRow, "a post or void outlived its pending transfer");
  const Transfer& p = transfers_[pending_row];
  if (t.debit_account_id != 0 && t.debit_account_id != e.debit_account_id) {
    return TR::kExistsWithDifferentDebitAccountId;
  }
  if (t.credit_account_id != 0 && t.credit_account_id != e.credit_account_id) {
    return TR::kExistsWithDifferentCreditAccountId;
  }
  const bool all =
      Has(t.flags, TransferFlags::kVoidPendingTransfer) ? t.amount == 0 : t.amount == kMaxUint128;
  if (all ? e.amount != p.amount : t.amount != e.amount) return TR::kExistsWithDifferentAmount;
  if (t.user_data_128 == 0 ? e.user_data_128 != p.user_data_128
                           : t.user_data_128 != e.user_data_128) {
    return TR::kExistsWithDifferentUserData128;
  }
  if (t.user_data_64 == 0 ? e.user_data_64 != p.user_data_64 : t.user_data_64 != e.user_data_64) {
    return TR::kExistsWithDifferentUserData64;
  }
  if (t.user_data_32 == 0 ? e.user_data_32 != p.user_data_32 : t.user_data_32 != e.user_data_32) {
    return TR::kExistsWithDifferentUserData32;
  }
  if (t.ledger != 0 && t.ledger != e.ledger) return TR::kExistsWithDifferentLedger;
  if (t.code != 0 && t.code != e.code) return TR::kExistsWithDifferentCode;
  return TR::kExists;
}

}  // namespace keel::ledger::internal
