// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "ledger/reference_model.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace keel::ledger::testing {
namespace {

using AR = CreateAccountResult;
using TR = CreateTransferResult;

constexpr uint64_t kNanosPerSecond = 1'000'000'000;

// a + b > 2^128 - 1, without computing a + b (§16 item 14).
bool Overflows(Uint128 a, Uint128 b) { return a > kMaxUint128 - b; }

// a -| b (§ conventions).
Uint128 SaturatingSub(Uint128 a, Uint128 b) { return a > b ? a - b : 0; }

bool Has(uint16_t flags, uint16_t flag) { return (flags & flag) != 0; }

// TigerBeetle's debits_exceed_credits / credits_exceed_debits (§1.1). The sums cannot overflow:
// overflows_debits / overflows_credits are checked before them (§4.3 rows 26-27).
bool DebitsExceedCredits(const Account& a, Uint128 amount) {
  return Has(a.flags, AccountFlags::kDebitsMustNotExceedCredits) &&
         a.debits_pending + a.debits_posted + amount > a.credits_posted;
}
bool CreditsExceedDebits(const Account& a, Uint128 amount) {
  return Has(a.flags, AccountFlags::kCreditsMustNotExceedDebits) &&
         a.credits_pending + a.credits_posted + amount > a.debits_posted;
}

// A pending transfer's expiry time (§10); 0 when it has no timeout.
uint64_t ExpiresAt(const Transfer& p) {
  return p.timeout == 0 ? 0 : p.timestamp + uint64_t{p.timeout} * kNanosPerSecond;
}

AccountBalance BalanceOf(const Account& a, uint64_t timestamp) {
  return {.debits_pending = a.debits_pending,
          .debits_posted = a.debits_posted,
          .credits_pending = a.credits_pending,
          .credits_posted = a.credits_posted,
          .timestamp = timestamp};
}

}  // namespace

bool ModelIsTransient(CreateTransferResult result) {
  switch (result) {
    case TR::kDebitAccountNotFound:
    case TR::kCreditAccountNotFound:
    case TR::kPendingTransferNotFound:
    case TR::kExceedsCredits:
    case TR::kExceedsDebits:
    case TR::kDebitAccountAlreadyClosed:
    case TR::kCreditAccountAlreadyClosed:
      return true;
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Batches and the frame (§3, §9, §13).
// ---------------------------------------------------------------------------------------------

absl::Status ReferenceLedger::CheckBatch(size_t n, uint64_t timestamp) const {
  if (n > kBatchMax) {
    return absl::InvalidArgumentError(absl::StrCat("batch of ", n, " events"));
  }
  if (timestamp < 1 || timestamp > kTimestampMax) {
    return absl::InvalidArgumentError(absl::StrCat("timestamp ", timestamp));
  }
  if (timestamp < n || timestamp - n < last_timestamp_) {
    return absl::InvalidArgumentError(
        absl::StrCat("timestamp ", timestamp, " for ", n, " events after ", last_timestamp_));
  }
  return absl::OkStatus();
}

template <typename Event, typename Result, typename Entry, typename Create>
void ReferenceLedger::RunBatch(std::span<const Event> events, uint64_t timestamp,
                               std::vector<Entry>& results, Create create) {
  const size_t n = events.size();
  bool chain_open = false;
  size_t chain_start = 0;
  bool chain_broken = false;
  std::optional<State> savepoint;
  for (size_t i = 0; i < n; ++i) {
    const Event& event = events[i];
    const bool linked = Has(event.flags, 1);  // bit 0 is linked for both kinds
    Result result;
    // Rule 1: open a chain (and take the savepoint) at the first linked event.
    if (linked && !chain_open) {
      chain_open = true;
      chain_start = i;
      savepoint = state_;
    }
    if (linked && i == n - 1) {
      result = Result::kLinkedEventChainOpen;  // rule 1, before rule 2
    } else if (chain_broken) {
      result = Result::kLinkedEventFailed;  // rule 2: not validated at all
    } else if (event.timestamp != 0) {
      result = Result::kTimestampMustBeZero;  // rule 4 (rule 3 never applies: no imports)
    } else {
      result = create(timestamp - n + i + 1, event);  // rule 5, ts = T - n + i + 1 (§9)
    }

    if (result != Result::kOk) {
      if (chain_open && !chain_broken) {
        chain_broken = true;
        state_ = *savepoint;  // undo events chain_start .. i-1
        for (size_t j = chain_start; j < i; ++j) {
          results.push_back({static_cast<uint32_t>(j), Result::kLinkedEventFailed});
        }
      }
      results.push_back({static_cast<uint32_t>(i), result});
      // §6 (transfers only): after the rollback, so the memory survives it.
      if constexpr (std::is_same_v<Result, CreateTransferResult>) {
        if (ModelIsTransient(result)) failed_ids_.insert(event.id);
      }
    }
    // Chain close.
    if (chain_open && (!linked || result == Result::kLinkedEventChainOpen)) {
      chain_open = false;
      chain_broken = false;
      savepoint.reset();  // commit (or already rolled back)
    }
  }
}

absl::Status ReferenceLedger::CreateAccounts(std::span<const Account> events, uint64_t timestamp,
                                             std::vector<CreateAccountsResult>& results) {
  results.clear();
  if (absl::Status s = CheckBatch(events.size(), timestamp); !s.ok()) return s;
  if (state_.accounts.size() + events.size() > options_.max_accounts) {
    return absl::ResourceExhaustedError("max_accounts");
  }
  // An empty batch uses no timestamp (nothing gets one); see reference_model.h.
  if (!events.empty()) last_timestamp_ = timestamp;
  RunBatch<Account, CreateAccountResult>(
      events, timestamp, results,
      [this](uint64_t ts, const Account& a) { return CreateAccount(ts, a); });
  return absl::OkStatus();
}

absl::Status ReferenceLedger::CreateTransfers(std::span<const Transfer> events, uint64_t timestamp,
                                              std::vector<CreateTransfersResult>& results) {
  results.clear();
  if (absl::Status s = CheckBatch(events.size(), timestamp); !s.ok()) return s;
  if (state_.transfers.size() + events.size() > options_.max_transfers) {
    return absl::ResourceExhaustedError("max_transfers");
  }
  if (!events.empty()) last_timestamp_ = timestamp;
  RunBatch<Transfer, CreateTransferResult>(
      events, timestamp, results,
      [this](uint64_t ts, const Transfer& t) { return CreateTransfer(ts, t); });
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Accounts (§4.1).
// ---------------------------------------------------------------------------------------------

CreateAccountResult ReferenceLedger::CreateAccount(uint64_t ts, const Account& a) {
  if (a.reserved != 0) return AR::kReservedField;                            // row 1
  if ((a.flags & ~AccountFlags::kSupported) != 0) return AR::kReservedFlag;  // row 2 (+ bits 4-5)
  if (a.id == 0) return AR::kIdMustNotBeZero;                                // row 3
  if (a.id == kMaxUint128) return AR::kIdMustNotBeIntMax;                    // row 4
  if (auto it = state_.accounts.find(a.id); it != state_.accounts.end()) {
    return AccountExists(a, it->second);  // row 5
  }
  if (Has(a.flags, AccountFlags::kDebitsMustNotExceedCredits) &&
      Has(a.flags, AccountFlags::kCreditsMustNotExceedDebits)) {
    return AR::kFlagsAreMutuallyExclusive;  // row 6
  }
  if (a.debits_pending != 0) return AR::kDebitsPendingMustBeZero;    // row 7
  if (a.debits_posted != 0) return AR::kDebitsPostedMustBeZero;      // row 8
  if (a.credits_pending != 0) return AR::kCreditsPendingMustBeZero;  // row 9
  if (a.credits_posted != 0) return AR::kCreditsPostedMustBeZero;    // row 10
  if (a.ledger == 0) return AR::kLedgerMustNotBeZero;                // row 11
  if (a.code == 0) return AR::kCodeMustNotBeZero;                    // row 12
  // Row 13 (imported) never applies. Row 14: ok; the flags are stored as given, linked included.
  state_.accounts[a.id] = Account{.id = a.id,
                                  .user_data_128 = a.user_data_128,
                                  .user_data_64 = a.user_data_64,
                                  .user_data_32 = a.user_data_32,
                                  .reserved = 0,
                                  .ledger = a.ledger,
                                  .code = a.code,
                                  .flags = a.flags,
                                  .timestamp = ts};
  return AR::kOk;
}

CreateAccountResult ReferenceLedger::AccountExists(const Account& a, const Account& e) const {
  if (a.flags != e.flags) return AR::kExistsWithDifferentFlags;  // raw bits, linked included
  if (a.user_data_128 != e.user_data_128) return AR::kExistsWithDifferentUserData128;
  if (a.user_data_64 != e.user_data_64) return AR::kExistsWithDifferentUserData64;
  if (a.user_data_32 != e.user_data_32) return AR::kExistsWithDifferentUserData32;
  if (a.ledger != e.ledger) return AR::kExistsWithDifferentLedger;
  if (a.code != e.code) return AR::kExistsWithDifferentCode;
  return AR::kExists;  // timestamp, balances and reserved are not compared
}

// ---------------------------------------------------------------------------------------------
// Transfers (§4.2 - §4.5).
// ---------------------------------------------------------------------------------------------

CreateTransferResult ReferenceLedger::CreateTransfer(uint64_t ts, const Transfer& t) {
  if ((t.flags & ~TransferFlags::kSupported) != 0) return TR::kReservedFlag;  // row 1 (+ 6-8)
  if (t.id == 0) return TR::kIdMustNotBeZero;                                 // row 2
  if (t.id == kMaxUint128) return TR::kIdMustNotBeIntMax;                     // row 3
  if (auto it = state_.transfers.find(t.id); it != state_.transfers.end()) {
    return TransferExists(t, it->second);  // row 4
  }
  if (failed_ids_.contains(t.id)) return TR::kIdAlreadyFailed;  // row 5
  if (Has(t.flags, TransferFlags::kPostPendingTransfer) ||
      Has(t.flags, TransferFlags::kVoidPendingTransfer)) {
    return PostOrVoid(ts, t);  // row 6
  }
  return SinglePhase(ts, t);  // row 7
}

CreateTransferResult ReferenceLedger::SinglePhase(uint64_t ts, const Transfer& t) {
  const bool pending = Has(t.flags, TransferFlags::kPending);
  if (t.debit_account_id == 0) return TR::kDebitAccountIdMustNotBeZero;                // 1
  if (t.debit_account_id == kMaxUint128) return TR::kDebitAccountIdMustNotBeIntMax;    // 2
  if (t.credit_account_id == 0) return TR::kCreditAccountIdMustNotBeZero;              // 3
  if (t.credit_account_id == kMaxUint128) return TR::kCreditAccountIdMustNotBeIntMax;  // 4
  if (t.debit_account_id == t.credit_account_id) return TR::kAccountsMustBeDifferent;  // 5
  if (t.pending_id != 0) return TR::kPendingIdMustBeZero;                              // 6
  if (!pending && t.timeout != 0) return TR::kTimeoutReservedForPendingTransfer;       // 7
  // Row 8 (closing_*) cannot apply: those flags are reserved_flag.
  if (t.ledger == 0) return TR::kLedgerMustNotBeZero;  // 9
  if (t.code == 0) return TR::kCodeMustNotBeZero;      // 10
  auto dr_it = state_.accounts.find(t.debit_account_id);
  if (dr_it == state_.accounts.end()) return TR::kDebitAccountNotFound;  // 11
  auto cr_it = state_.accounts.find(t.credit_account_id);
  if (cr_it == state_.accounts.end()) return TR::kCreditAccountNotFound;  // 12
  Account& dr = dr_it->second;
  Account& cr = cr_it->second;
  if (dr.ledger != cr.ledger) return TR::kAccountsMustHaveTheSameLedger;           // 13
  if (t.ledger != dr.ledger) return TR::kTransferMustHaveTheSameLedgerAsAccounts;  // 14
  // Rows 15-18 (imported) and 19-20 (closed accounts) cannot apply.

  // Row 21: the balancing amount, t.amount as an upper bound, the debit side first.
  Uint128 amount = t.amount;
  if (Has(t.flags, TransferFlags::kBalancingDebit)) {
    amount =
        std::min(amount, SaturatingSub(dr.credits_posted, dr.debits_posted + dr.debits_pending));
  }
  if (Has(t.flags, TransferFlags::kBalancingCredit)) {
    amount =
        std::min(amount, SaturatingSub(cr.debits_posted, cr.credits_posted + cr.credits_pending));
  }

  if (pending && Overflows(amount, dr.debits_pending)) return TR::kOverflowsDebitsPending;    // 22
  if (pending && Overflows(amount, cr.credits_pending)) return TR::kOverflowsCreditsPending;  // 23
  if (Overflows(amount, dr.debits_posted)) return TR::kOverflowsDebitsPosted;                 // 24
  if (Overflows(amount, cr.credits_posted)) return TR::kOverflowsCreditsPosted;               // 25
  // 26-27: the account's own pending + posted never overflows (these checks keep it so).
  if (Overflows(amount, dr.debits_pending + dr.debits_posted)) return TR::kOverflowsDebits;
  if (Overflows(amount, cr.credits_pending + cr.credits_posted)) return TR::kOverflowsCredits;
  // 28: ts + timeout * 10^9 > 2^63 - 1 (fits in u64: ts < 2^63, timeout * 10^9 < 2^63).
  if (t.timeout != 0 && ts + uint64_t{t.timeout} * kNanosPerSecond > kTimestampMax) {
    return TR::kOverflowsTimeout;
  }
  if (DebitsExceedCredits(dr, amount)) return TR::kExceedsCredits;  // 29
  if (CreditsExceedDebits(cr, amount)) return TR::kExceedsDebits;   // 30

  // Row 31: ok. The record is the request with the computed amount and the assigned timestamp.
  Transfer stored = t;
  stored.amount = amount;
  stored.pending_id = 0;
  stored.timestamp = ts;
  state_.transfers[t.id] = stored;
  if (pending) {
    dr.debits_pending += amount;
    cr.credits_pending += amount;
    state_.pending_status[t.id] = PendingStatus::kPending;
  } else {
    dr.debits_posted += amount;
    cr.credits_posted += amount;
  }
  RecordHistory(stored);
  return TR::kOk;
}

CreateTransferResult ReferenceLedger::PostOrVoid(uint64_t ts, const Transfer& t) {
  const bool post = Has(t.flags, TransferFlags::kPostPendingTransfer);
  const bool void_ = Has(t.flags, TransferFlags::kVoidPendingTransfer);
  if (post && void_) return TR::kFlagsAreMutuallyExclusive;                                  // 1
  if (Has(t.flags, TransferFlags::kPending)) return TR::kFlagsAreMutuallyExclusive;          // 2
  if (Has(t.flags, TransferFlags::kBalancingDebit)) return TR::kFlagsAreMutuallyExclusive;   // 3
  if (Has(t.flags, TransferFlags::kBalancingCredit)) return TR::kFlagsAreMutuallyExclusive;  // 4
  // Rows 5-6 (closing_*) cannot apply.
  if (t.pending_id == 0) return TR::kPendingIdMustNotBeZero;              // 7
  if (t.pending_id == kMaxUint128) return TR::kPendingIdMustNotBeIntMax;  // 8
  if (t.pending_id == t.id) return TR::kPendingIdMustBeDifferent;         // 9
  if (t.timeout != 0) return TR::kTimeoutReservedForPendingTransfer;      // 10
  auto p_it = state_.transfers.find(t.pending_id);
  if (p_it == state_.transfers.end()) return TR::kPendingTransferNotFound;  // 11
  const Transfer p = p_it->second;
  if (!Has(p.flags, TransferFlags::kPending)) return TR::kPendingTransferNotPending;  // 12
  if (t.debit_account_id != 0 && t.debit_account_id != p.debit_account_id) {
    return TR::kPendingTransferHasDifferentDebitAccountId;  // 13
  }
  if (t.credit_account_id != 0 && t.credit_account_id != p.credit_account_id) {
    return TR::kPendingTransferHasDifferentCreditAccountId;  // 14
  }
  if (t.ledger != 0 && t.ledger != p.ledger) return TR::kPendingTransferHasDifferentLedger;  // 15
  if (t.code != 0 && t.code != p.code) return TR::kPendingTransferHasDifferentCode;          // 16
  // 17: resolve the amount (§4.4): a void of 0 voids all, a post of MAX128 posts all.
  Uint128 amount = t.amount;
  if (void_ && t.amount == 0) amount = p.amount;
  if (post && t.amount == kMaxUint128) amount = p.amount;
  if (amount > p.amount) return TR::kExceedsPendingTransferAmount;
  if (void_ && amount < p.amount) return TR::kPendingTransferHasDifferentAmount;  // 18
  const PendingStatus status = state_.pending_status.at(p.id);
  if (status == PendingStatus::kPosted) return TR::kPendingTransferAlreadyPosted;  // 19
  if (status == PendingStatus::kVoided) return TR::kPendingTransferAlreadyVoided;  // 20
  if (status == PendingStatus::kExpired) return TR::kPendingTransferExpired;       // 21
  if (p.timeout > 0 && ExpiresAt(p) <= ts) return TR::kPendingTransferExpired;     // 22
  // Rows 23-25 (imported, closed accounts) cannot apply. Row 26: ok.

  Transfer stored{.id = t.id,
                  .debit_account_id = p.debit_account_id,
                  .credit_account_id = p.credit_account_id,
                  .amount = amount,
                  .pending_id = t.pending_id,
                  .user_data_128 = t.user_data_128 != 0 ? t.user_data_128 : p.user_data_128,
                  .user_data_64 = t.user_data_64 != 0 ? t.user_data_64 : p.user_data_64,
                  .user_data_32 = t.user_data_32 != 0 ? t.user_data_32 : p.user_data_32,
                  .timeout = 0,
                  .ledger = p.ledger,
                  .code = p.code,
                  .flags = t.flags,
                  .timestamp = ts};
  state_.transfers[t.id] = stored;
  state_.pending_status[p.id] = post ? PendingStatus::kPosted : PendingStatus::kVoided;
  Account& dr = state_.accounts.at(p.debit_account_id);
  Account& cr = state_.accounts.at(p.credit_account_id);
  dr.debits_pending -= p.amount;  // always the whole pending amount
  cr.credits_pending -= p.amount;
  if (post) {
    dr.debits_posted += amount;
    cr.credits_posted += amount;
  }
  RecordHistory(stored);
  return TR::kOk;
}

CreateTransferResult ReferenceLedger::TransferExists(const Transfer& t, const Transfer& e) const {
  if (t.flags != e.flags) return TR::kExistsWithDifferentFlags;                // 1: raw bits
  if (t.pending_id != e.pending_id) return TR::kExistsWithDifferentPendingId;  // 2
  if (t.timeout != e.timeout) return TR::kExistsWithDifferentTimeout;          // 3
  const bool post = Has(t.flags, TransferFlags::kPostPendingTransfer);
  const bool void_ = Has(t.flags, TransferFlags::kVoidPendingTransfer);
  if (!post && !void_) {
    if (t.debit_account_id != e.debit_account_id) return TR::kExistsWithDifferentDebitAccountId;
    if (t.credit_account_id != e.credit_account_id) return TR::kExistsWithDifferentCreditAccountId;
    const bool balancing = Has(t.flags, TransferFlags::kBalancingDebit) ||
                           Has(t.flags, TransferFlags::kBalancingCredit);
    // 7: a balancing transfer's amount is a bound; any bound >= what moved is the same request.
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
  // A post or void: p is the pending transfer it resolved (it exists: e was created after it).
  const Transfer& p = state_.transfers.at(t.pending_id);
  if (t.debit_account_id != 0 && t.debit_account_id != e.debit_account_id) {
    return TR::kExistsWithDifferentDebitAccountId;  // 5
  }
  if (t.credit_account_id != 0 && t.credit_account_id != e.credit_account_id) {
    return TR::kExistsWithDifferentCreditAccountId;  // 6
  }
  bool amount_differs;  // 7
  if (void_) {
    amount_differs = t.amount == 0 ? e.amount != p.amount : t.amount != e.amount;
  } else {
    amount_differs = t.amount == kMaxUint128 ? e.amount != p.amount : t.amount != e.amount;
  }
  if (amount_differs) return TR::kExistsWithDifferentAmount;
  // 8-10: a zero field was inherited from p.
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
  if (t.ledger != 0 && t.ledger != e.ledger) return TR::kExistsWithDifferentLedger;  // 11
  if (t.code != 0 && t.code != e.code) return TR::kExistsWithDifferentCode;          // 12
  return TR::kExists;                                                                // 13
}

void ReferenceLedger::RecordHistory(const Transfer& t) {
  const Account& dr = state_.accounts.at(t.debit_account_id);
  const Account& cr = state_.accounts.at(t.credit_account_id);
  state_.history[{dr.id, t.timestamp}] = {t.id, /*debit=*/true, BalanceOf(dr, t.timestamp)};
  state_.history[{cr.id, t.timestamp}] = {t.id, /*debit=*/false, BalanceOf(cr, t.timestamp)};
}

// ---------------------------------------------------------------------------------------------
// Expiry (§10, keel's explicit call).
// ---------------------------------------------------------------------------------------------

absl::StatusOr<uint32_t> ReferenceLedger::ExpirePendingTransfers(uint64_t timestamp) {
  if (absl::Status s = CheckBatch(0, timestamp); !s.ok()) return s;
  last_timestamp_ = timestamp;
  // Every still-pending transfer due by `timestamp`, by (expires_at, creation timestamp).
  std::vector<std::tuple<uint64_t, uint64_t, Uint128>> due;
  for (const auto& [id, status] : state_.pending_status) {
    const Transfer& p = state_.transfers.at(id);
    if (status == PendingStatus::kPending && p.timeout > 0 && ExpiresAt(p) <= timestamp) {
      due.emplace_back(ExpiresAt(p), p.timestamp, id);
    }
  }
  std::sort(due.begin(), due.end());
  if (due.size() > kExpiryBatchMax) due.resize(kExpiryBatchMax);
  for (const auto& [expires_at, created, id] : due) {
    const Transfer& p = state_.transfers.at(id);
    state_.accounts.at(p.debit_account_id).debits_pending -= p.amount;
    state_.accounts.at(p.credit_account_id).credits_pending -= p.amount;
    state_.pending_status[id] = PendingStatus::kExpired;
    ++expired_;
  }
  return static_cast<uint32_t>(due.size());
}

std::optional<uint64_t> ReferenceLedger::NextExpiry() const {
  std::optional<uint64_t> next;
  for (const auto& [id, status] : state_.pending_status) {
    const Transfer& p = state_.transfers.at(id);
    if (status != PendingStatus::kPending || p.timeout == 0) continue;
    if (!next.has_value() || ExpiresAt(p) < *next) next = ExpiresAt(p);
  }
  return next;
}

// ---------------------------------------------------------------------------------------------
// Queries.
// ---------------------------------------------------------------------------------------------

std::optional<Account> ReferenceLedger::LookupAccount(Uint128 id) const {
  auto it = state_.accounts.find(id);
  if (it == state_.accounts.end()) return std::nullopt;
  return it->second;
}

std::optional<Transfer> ReferenceLedger::LookupTransfer(Uint128 id) const {
  auto it = state_.transfers.find(id);
  if (it == state_.transfers.end()) return std::nullopt;
  return it->second;
}

PendingStatus ReferenceLedger::PendingStatusOf(Uint128 transfer_id) const {
  auto it = state_.pending_status.find(transfer_id);
  return it == state_.pending_status.end() ? PendingStatus::kNone : it->second;
}

absl::Status ReferenceLedger::GetAccountBalances(const AccountFilter& filter,
                                                 std::vector<AccountBalance>& balances) const {
  balances.clear();
  // §12 step 1: validity (keel: an error rather than an empty result).
  if (filter.account_id == 0 || filter.account_id == kMaxUint128) {
    return absl::InvalidArgumentError("account_id");
  }
  if (filter.timestamp_min > kTimestampMax) return absl::InvalidArgumentError("timestamp_min");
  if (filter.timestamp_max > kTimestampMax) return absl::InvalidArgumentError("timestamp_max");
  if (filter.timestamp_max != 0 && filter.timestamp_min > filter.timestamp_max) {
    return absl::InvalidArgumentError("timestamp_min > timestamp_max");
  }
  if (filter.limit == 0) return absl::InvalidArgumentError("limit");
  if ((filter.flags & (AccountFilter::kDebits | AccountFilter::kCredits)) == 0) {
    return absl::InvalidArgumentError("flags: neither debits nor credits");
  }
  if ((filter.flags &
       ~(AccountFilter::kDebits | AccountFilter::kCredits | AccountFilter::kReversed)) != 0) {
    return absl::InvalidArgumentError("flags: unknown bits");
  }
  // Step 2: no such account, or no history: empty.
  auto account = state_.accounts.find(filter.account_id);
  if (account == state_.accounts.end() || !Has(account->second.flags, AccountFlags::kHistory)) {
    return absl::OkStatus();
  }
  // Steps 3-5, over the account's transfers in timestamp order (or reversed).
  const bool reversed = (filter.flags & AccountFilter::kReversed) != 0;
  const size_t limit = std::min<size_t>(filter.limit, kBatchMax);
  std::vector<const HistoryRow*> rows;
  for (auto it = state_.history.lower_bound({filter.account_id, 0});
       it != state_.history.end() && it->first.first == filter.account_id; ++it) {
    rows.push_back(&it->second);
  }
  if (reversed) std::reverse(rows.begin(), rows.end());
  auto select = [&](const HistoryRow& row) {
    const Transfer& t = state_.transfers.at(row.transfer_id);
    const uint32_t side = row.debit ? AccountFilter::kDebits : AccountFilter::kCredits;
    if ((filter.flags & side) == 0) return false;
    if (filter.user_data_128 != 0 && filter.user_data_128 != t.user_data_128) return false;
    if (filter.user_data_64 != 0 && filter.user_data_64 != t.user_data_64) return false;
    if (filter.user_data_32 != 0 && filter.user_data_32 != t.user_data_32) return false;
    if (filter.code != 0 && filter.code != t.code) return false;
    if (filter.timestamp_min != 0 && t.timestamp < filter.timestamp_min) return false;
    if (filter.timestamp_max != 0 && t.timestamp > filter.timestamp_max) return false;
    return true;
  };
  for (const HistoryRow* row : rows) {
    if (balances.size() == limit) break;
    if (select(*row)) balances.push_back(row->balance);
  }
  return absl::OkStatus();
}

std::vector<Account> ReferenceLedger::Accounts() const {
  std::vector<Account> out;
  for (const auto& [id, a] : state_.accounts) out.push_back(a);
  return out;
}

std::vector<Transfer> ReferenceLedger::Transfers() const {
  std::vector<Transfer> out;
  for (const auto& [id, t] : state_.transfers) out.push_back(t);
  return out;
}

LedgerStats ReferenceLedger::stats() const {
  LedgerStats s;
  s.accounts = state_.accounts.size();
  s.transfers = state_.transfers.size();
  for (const auto& [id, status] : state_.pending_status) {
    if (status == PendingStatus::kPending) ++s.pending;
  }
  s.failed_ids = failed_ids_.size();
  s.expired = expired_;
  s.last_timestamp = last_timestamp_;
  return s;
}

absl::Status ReferenceLedger::CheckInvariants() const {
  struct Sums {
    Uint128 debits_pending = 0, debits_posted = 0, credits_pending = 0, credits_posted = 0;
  };
  // Per ledger, modulo 2^128 (two accounts near 2^128 - 1 overflow a plain sum); equal totals
  // stay equal.
  std::map<uint32_t, Sums> ledgers;
  std::map<Uint128, Sums> pending_by_account;
  for (const auto& [id, a] : state_.accounts) {
    Sums& s = ledgers[a.ledger];
    s.debits_pending += a.debits_pending;
    s.debits_posted += a.debits_posted;
    s.credits_pending += a.credits_pending;
    s.credits_posted += a.credits_posted;
  }
  for (const auto& [ledger, s] : ledgers) {
    if (s.debits_pending != s.credits_pending || s.debits_posted != s.credits_posted) {
      return absl::InternalError(absl::StrCat("ledger ", ledger, " does not balance"));
    }
  }
  for (const auto& [id, status] : state_.pending_status) {
    if (status != PendingStatus::kPending) continue;
    const Transfer& p = state_.transfers.at(id);
    pending_by_account[p.debit_account_id].debits_pending += p.amount;
    pending_by_account[p.credit_account_id].credits_pending += p.amount;
  }
  for (const auto& [id, a] : state_.accounts) {
    const Sums& s = pending_by_account[id];
    if (a.debits_pending != s.debits_pending || a.credits_pending != s.credits_pending) {
      return absl::InternalError(
          absl::StrCat("account ", absl::Uint128Low64(id), ": pending balances differ"));
    }
  }
  return absl::OkStatus();
}

}  // namespace keel::ledger::testing
