// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The ledger's batches (timestamps, linked chains, failed ids: TigerBeetle 0.16.78's
// execute_create), expiry of pending transfers, the undo log, and the queries.
#include "keel/ledger/ledger.h"

#include <algorithm>
#include <map>
#include <optional>
#include <type_traits>
#include <utility>

#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "ledger_impl.h"

namespace keel::ledger {
namespace internal {

// ---------------------------------------------------------------------------------------------
// The batch frame.

template <typename Event, typename Result, typename Create>
void LedgerImpl::Execute(std::span<const Event> events, uint64_t timestamp,
                         std::vector<Result>& results, Create create, bool remember_failures) {
  using Code = decltype(Result{}.result);
  const auto n = static_cast<uint32_t>(events.size());
  bool chain_open = false;
  uint32_t chain_start = 0;
  bool chain_broken = false;
  for (uint32_t i = 0; i < n; ++i) {
    const Event& event = events[i];
    const bool linked = (event.flags & 1) != 0;  // kLinked is bit 0 for both kinds
    if (linked && !chain_open) {
      chain_open = true;
      chain_start = i;
      BeginChain();
    }
    Code result = Code::kOk;
    if (linked && i == n - 1) {
      result = Code::kLinkedEventChainOpen;  // a chain must end inside its batch
    } else if (chain_broken) {
      result = Code::kLinkedEventFailed;
    } else if (event.timestamp != 0) {
      result = Code::kTimestampMustBeZero;
    } else {
      // The batch takes the n nanoseconds ending at its timestamp, one per event, used or not.
      result = create(event, timestamp - n + i + 1);
    }

    if (result != Code::kOk) {
      if (chain_open && !chain_broken) {
        chain_broken = true;
        RollbackChain();
        for (uint32_t j = chain_start; j < i; ++j) results.push_back({j, Code::kLinkedEventFailed});
      }
      results.push_back({i, result});
      // After the rollback: the id stays failed although its chain was undone.
      if constexpr (std::is_same_v<Code, CreateTransferResult>) {
        if (remember_failures && IsTransient(result)) failed_ids_.insert(event.id);
      }
    }
    if (chain_open && (!linked || result == Code::kLinkedEventChainOpen)) {
      if (!chain_broken) CommitChain();
      in_chain_ = false;
      chain_open = false;
      chain_broken = false;
    }
  }
  KEEL_DCHECK(!in_chain_);
}

// ---------------------------------------------------------------------------------------------
// The undo log.

void LedgerImpl::BeginChain() {
  KEEL_DCHECK(!in_chain_ && undo_.empty());
  in_chain_ = true;
}

void LedgerImpl::CommitChain() {
  undo_.clear();
  in_chain_ = false;
}

void LedgerImpl::RollbackChain() {
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
    const Undo& u = *it;
    switch (u.kind) {
      case Undo::Kind::kAccountInserted:
        accounts_.erase(u.id);
        break;
      case Undo::Kind::kAccountChanged:
        accounts_.find(u.account.id)->second = u.account;
        break;
      case Undo::Kind::kTransferInserted: {
        const auto found = transfers_.find(u.id);
        if (found->second.status == PendingStatus::kPending) --pending_;
        transfers_.erase(found);
        break;
      }
      case Undo::Kind::kStatusChanged: {
        PendingStatus& status = transfers_.find(u.id)->second.status;
        if (status == PendingStatus::kPending) --pending_;
        if (u.status == PendingStatus::kPending) ++pending_;
        status = u.status;
        break;
      }
      case Undo::Kind::kExpiryInserted:
        expiry_.erase(u.expiry);
        break;
      case Undo::Kind::kExpiryErased:
        expiry_.insert(u.expiry);
        break;
      case Undo::Kind::kHistoryAppended:
        history_.find(u.id)->second.pop_back();
        break;
    }
  }
  undo_.clear();
  // Still in the chain: its later events fail without changing anything, so nothing more is
  // recorded, and the chain ends at its last event.
}

Account& LedgerImpl::MutableAccount(Account& account) {
  if (in_chain_) {
    Undo& u = undo_.emplace_back();
    u.kind = Undo::Kind::kAccountChanged;
    u.account = account;
  }
  return account;
}

void LedgerImpl::InsertAccount(const Account& account) {
  accounts_.emplace(account.id, account);
  if (in_chain_) undo_.push_back({.kind = Undo::Kind::kAccountInserted, .id = account.id});
}

StoredTransfer& LedgerImpl::InsertTransfer(const Transfer& transfer, PendingStatus status) {
  StoredTransfer& stored = transfers_[transfer.id];
  stored.transfer = transfer;
  stored.status = status;
  if (status == PendingStatus::kPending) ++pending_;
  if (in_chain_) undo_.push_back({.kind = Undo::Kind::kTransferInserted, .id = transfer.id});
  return stored;
}

void LedgerImpl::SetStatus(StoredTransfer& stored, PendingStatus status) {
  if (in_chain_) {
    undo_.push_back(
        {.kind = Undo::Kind::kStatusChanged, .id = stored.transfer.id, .status = stored.status});
  }
  if (stored.status == PendingStatus::kPending) --pending_;
  if (status == PendingStatus::kPending) ++pending_;
  stored.status = status;
}

void LedgerImpl::InsertExpiry(const ExpiryKey& key) {
  expiry_.insert(key);
  if (in_chain_) undo_.push_back({.kind = Undo::Kind::kExpiryInserted, .expiry = key});
}

void LedgerImpl::EraseExpiry(const ExpiryKey& key) {
  const size_t erased = expiry_.erase(key);
  KEEL_ASSERT(erased == 1, "a pending transfer with a timeout is missing from the expiry queue");
  if (in_chain_) undo_.push_back({.kind = Undo::Kind::kExpiryErased, .expiry = key});
}

void LedgerImpl::AppendHistory(const Account& account, const Transfer& transfer) {
  if ((account.flags & AccountFlags::kHistory) == 0) return;
  history_[account.id].push_back({transfer.timestamp, transfer.id, account.debits_pending,
                                  account.debits_posted, account.credits_pending,
                                  account.credits_posted});
  if (in_chain_) undo_.push_back({.kind = Undo::Kind::kHistoryAppended, .id = account.id});
}

}  // namespace internal

// ---------------------------------------------------------------------------------------------
// The public API.

namespace {

absl::Status CheckBatch(size_t n, uint64_t timestamp, uint64_t last_timestamp) {
  if (n > kBatchMax) {
    return absl::InvalidArgumentError(
        base::Cat("a batch of ", n, " events is over the limit of ", kBatchMax));
  }
  if (timestamp == 0 || timestamp > kTimestampMax || timestamp < n ||
      timestamp - n < last_timestamp) {
    return absl::InvalidArgumentError(
        base::Cat("batch timestamp ", timestamp, " for ", n,
                  " events does not leave one nanosecond per event after the last timestamp used, ",
                  last_timestamp, " (and at most ", kTimestampMax, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

Ledger::Ledger(const LedgerOptions& options)
    : impl_(std::make_unique<internal::LedgerImpl>(options)) {}
Ledger::~Ledger() = default;
Ledger::Ledger(Ledger&&) noexcept = default;
Ledger& Ledger::operator=(Ledger&&) noexcept = default;

absl::Status Ledger::CreateAccounts(std::span<const Account> events, uint64_t timestamp,
                                    std::vector<CreateAccountsResult>& results) {
  results.clear();
  KEEL_RETURN_IF_ERROR(CheckBatch(events.size(), timestamp, impl_->last_timestamp_));
  if (impl_->accounts_.size() + events.size() > impl_->options_.max_accounts) {
    return absl::ResourceExhaustedError(
        base::Cat("the ledger holds ", impl_->accounts_.size(), " accounts: a batch of ",
                  events.size(), " could pass max_accounts ", impl_->options_.max_accounts));
  }
  impl_->Execute(
      events, timestamp, results,
      [this](const Account& a, uint64_t ts) { return impl_->CreateAccount(a, ts); },
      /*remember_failures=*/false);
  if (!events.empty()) impl_->last_timestamp_ = timestamp;
  return absl::OkStatus();
}

absl::Status Ledger::CreateTransfers(std::span<const Transfer> events, uint64_t timestamp,
                                     std::vector<CreateTransfersResult>& results) {
  results.clear();
  KEEL_RETURN_IF_ERROR(CheckBatch(events.size(), timestamp, impl_->last_timestamp_));
  if (impl_->transfers_.size() + events.size() > impl_->options_.max_transfers) {
    return absl::ResourceExhaustedError(
        base::Cat("the ledger holds ", impl_->transfers_.size(), " transfers: a batch of ",
                  events.size(), " could pass max_transfers ", impl_->options_.max_transfers));
  }
  impl_->Execute(
      events, timestamp, results,
      [this](const Transfer& t, uint64_t ts) { return impl_->CreateTransfer(t, ts); },
      /*remember_failures=*/true);
  if (!events.empty()) impl_->last_timestamp_ = timestamp;
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> Ledger::ExpirePendingTransfers(uint64_t timestamp) {
  internal::LedgerImpl& s = *impl_;
  if (timestamp == 0 || timestamp > kTimestampMax || timestamp < s.last_timestamp_) {
    return absl::InvalidArgumentError(base::Cat("expiry timestamp ", timestamp,
                                                " is before the last timestamp used, ",
                                                s.last_timestamp_, ", or out of range"));
  }
  s.last_timestamp_ = timestamp;
  uint32_t expired = 0;
  while (expired < kExpiryBatchMax && !s.expiry_.empty() &&
         s.expiry_.begin()->expires_at <= timestamp) {
    const internal::ExpiryKey key = *s.expiry_.begin();
    s.expiry_.erase(s.expiry_.begin());
    internal::StoredTransfer& stored = s.transfers_.find(key.id)->second;
    KEEL_ASSERT(stored.status == PendingStatus::kPending, "an expiry for a resolved transfer");
    s.SetStatus(stored, PendingStatus::kExpired);
    const Transfer& p = stored.transfer;
    Account& debit = s.accounts_.find(p.debit_account_id)->second;
    Account& credit = s.accounts_.find(p.credit_account_id)->second;
    debit.debits_pending -= p.amount;
    credit.credits_pending -= p.amount;
    ++expired;
  }
  s.expired_ += expired;
  return expired;
}

std::optional<uint64_t> Ledger::NextExpiry() const {
  if (impl_->expiry_.empty()) return std::nullopt;
  return impl_->expiry_.begin()->expires_at;
}

std::optional<Account> Ledger::LookupAccount(Uint128 id) const {
  const auto found = impl_->accounts_.find(id);
  if (found == impl_->accounts_.end()) return std::nullopt;
  return found->second;
}

std::optional<Transfer> Ledger::LookupTransfer(Uint128 id) const {
  const auto found = impl_->transfers_.find(id);
  if (found == impl_->transfers_.end()) return std::nullopt;
  return found->second.transfer;
}

PendingStatus Ledger::PendingStatusOf(Uint128 transfer_id) const {
  const auto found = impl_->transfers_.find(transfer_id);
  return found == impl_->transfers_.end() ? PendingStatus::kNone : found->second.status;
}

absl::Status Ledger::GetAccountBalances(const AccountFilter& filter,
                                        std::vector<AccountBalance>& balances) const {
  balances.clear();
  if (filter.account_id == 0 || filter.account_id == kMaxUint128) {
    return absl::InvalidArgumentError("account filter: account_id is 0 or 2^128 - 1");
  }
  if (filter.timestamp_min > kTimestampMax || filter.timestamp_max > kTimestampMax) {
    return absl::InvalidArgumentError(base::Cat("account filter: timestamp_min ",
                                                filter.timestamp_min, " or timestamp_max ",
                                                filter.timestamp_max, " is past 2^63 - 1"));
  }
  if (filter.timestamp_max != 0 && filter.timestamp_min > filter.timestamp_max) {
    return absl::InvalidArgumentError(base::Cat("account filter: timestamp_min ",
                                                filter.timestamp_min, " is after timestamp_max ",
                                                filter.timestamp_max));
  }
  if (filter.limit == 0) return absl::InvalidArgumentError("account filter: limit is 0");
  constexpr uint32_t kKnown =
      AccountFilter::kDebits | AccountFilter::kCredits | AccountFilter::kReversed;
  if ((filter.flags & ~kKnown) != 0) {
    return absl::InvalidArgumentError(
        base::Cat("account filter: unknown flags ", filter.flags & ~kKnown));
  }
  if ((filter.flags & (AccountFilter::kDebits | AccountFilter::kCredits)) == 0) {
    return absl::InvalidArgumentError("account filter: neither kDebits nor kCredits is set");
  }
  const auto account = impl_->accounts_.find(filter.account_id);
  if (account == impl_->accounts_.end() || (account->second.flags & AccountFlags::kHistory) == 0) {
    return absl::OkStatus();
  }
  const auto rows = impl_->history_.find(filter.account_id);
  if (rows == impl_->history_.end()) return absl::OkStatus();
  const uint32_t limit = std::min(filter.limit, kBatchMax);
  auto matches = [&](const internal::HistoryRow& row) {
    const Transfer& t = impl_->transfers_.find(row.transfer_id)->second.transfer;
    const bool side =
        ((filter.flags & AccountFilter::kDebits) != 0 && t.debit_account_id == filter.account_id) ||
        ((filter.flags & AccountFilter::kCredits) != 0 && t.credit_account_id == filter.account_id);
    return side && (filter.user_data_128 == 0 || filter.user_data_128 == t.user_data_128) &&
           (filter.user_data_64 == 0 || filter.user_data_64 == t.user_data_64) &&
           (filter.user_data_32 == 0 || filter.user_data_32 == t.user_data_32) &&
           (filter.code == 0 || filter.code == t.code) &&
           (filter.timestamp_min == 0 || row.timestamp >= filter.timestamp_min) &&
           (filter.timestamp_max == 0 || row.timestamp <= filter.timestamp_max);
  };
  auto emit = [&](const internal::HistoryRow& row) {
    if (!matches(row)) return true;
    balances.push_back({row.debits_pending, row.debits_posted, row.credits_pending,
                        row.credits_posted, row.timestamp});
    return balances.size() < limit;
  };
  if ((filter.flags & AccountFilter::kReversed) != 0) {
    for (auto it = rows->second.rbegin(); it != rows->second.rend() && emit(*it); ++it) {
    }
  } else {
    for (auto it = rows->second.begin(); it != rows->second.end() && emit(*it); ++it) {
    }
  }
  return absl::OkStatus();
}

std::vector<Account> Ledger::Accounts() const {
  std::vector<Account> accounts;
  accounts.reserve(impl_->accounts_.size());
  for (const auto& [id, account] : impl_->accounts_) accounts.push_back(account);
  std::sort(accounts.begin(), accounts.end(),
            [](const Account& a, const Account& b) { return a.id < b.id; });
  return accounts;
}

absl::Status Ledger::CheckInvariants() const {
  struct Sums {
    Uint128 debits_pending = 0, debits_posted = 0, credits_pending = 0, credits_posted = 0;
  };
  // Sums wrap at 2^128 alike on both sides, so equal sums still mean balanced books.
  std::map<uint32_t, Sums> by_ledger;
  for (const auto& [id, a] : impl_->accounts_) {
    Sums& s = by_ledger[a.ledger];
    s.debits_pending += a.debits_pending;
    s.debits_posted += a.debits_posted;
    s.credits_pending += a.credits_pending;
    s.credits_posted += a.credits_posted;
  }
  for (const auto& [ledger, s] : by_ledger) {
    if (s.debits_pending != s.credits_pending || s.debits_posted != s.credits_posted) {
      return absl::InternalError(base::Cat("ledger ", ledger, " is out of balance"));
    }
  }
  // Each account's pending balances are exactly its pending transfers' amounts.
  absl::flat_hash_map<Uint128, std::pair<Uint128, Uint128>> pending;  // debits, credits
  uint64_t pending_count = 0;
  for (const auto& [id, stored] : impl_->transfers_) {
    if (stored.status != PendingStatus::kPending) continue;
    ++pending_count;
    pending[stored.transfer.debit_account_id].first += stored.transfer.amount;
    pending[stored.transfer.credit_account_id].second += stored.transfer.amount;
  }
  for (const auto& [id, a] : impl_->accounts_) {
    const auto found = pending.find(id);
    const std::pair<Uint128, Uint128> expected =
        found == pending.end() ? std::pair<Uint128, Uint128>{0, 0} : found->second;
    if (a.debits_pending != expected.first || a.credits_pending != expected.second) {
      return absl::InternalError("an account's pending balances differ from its pending transfers");
    }
  }
  if (pending_count != impl_->pending_) {
    return absl::InternalError(base::Cat("the ledger counts ", impl_->pending_,
                                         " pending transfers but holds ", pending_count));
  }
  return absl::OkStatus();
}

LedgerStats Ledger::stats() const {
  return {.accounts = impl_->accounts_.size(),
          .transfers = impl_->transfers_.size(),
          .pending = impl_->pending_,
          .failed_ids = impl_->failed_ids_.size(),
          .expired = impl_->expired_,
          .last_timestamp = impl_->last_timestamp_};
}

}  // namespace keel::ledger
