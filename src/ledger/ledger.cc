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
#include "keel/base/internal/prefetch.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "ledger_impl.h"

namespace keel::ledger {
namespace internal {

// ---------------------------------------------------------------------------------------------
// The batch frame.

template <typename Event, typename Result, typename Create, typename Prefetch>
void LedgerImpl::Execute(std::span<const Event> events, uint64_t timestamp,
                         std::vector<Result>& results, Create create, Prefetch prefetch) {
  using Code = decltype(Result{}.result);
  // How far ahead the loop asks for index entries, then for rows: far enough that they arrive
  // before they are needed, near enough that they are still in the cache.
  constexpr uint32_t kIndexAhead = 16;
  constexpr uint32_t kRowAhead = 8;
  const auto n = static_cast<uint32_t>(events.size());
  for (uint32_t i = 0; i < std::min(n, kIndexAhead); ++i) prefetch(events[i], 0);
  for (uint32_t i = 0; i < std::min(n, kRowAhead); ++i) prefetch(events[i], 1);
  uint32_t chain_start = 0;  // while in_chain_
  bool chain_broken = false;
  for (uint32_t i = 0; i < n; ++i) {
    if (i + kIndexAhead < n) prefetch(events[i + kIndexAhead], 0);
    if (i + kRowAhead < n) prefetch(events[i + kRowAhead], 1);
    const Event& event = events[i];
    const bool linked = (event.flags & 1) != 0;  // kLinked is bit 0 for both kinds
    if (linked && !in_chain_) {
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
      if (in_chain_ && !chain_broken) {
        chain_broken = true;
        RollbackChain();
        for (uint32_t j = chain_start; j < i; ++j) results.push_back({j, Code::kLinkedEventFailed});
      }
      results.push_back({i, result});
      // After the rollback: the id stays failed although its chain was undone.
      if constexpr (std::is_same_v<Code, CreateTransferResult>) {
        if (IsTransient(result)) {
          failed_ids_.insert(event.id);
          if (event_ != nullptr) event_failed_ids_.push_back(event.id);
        }
      }
    }
    if (in_chain_ && (!linked || result == Code::kLinkedEventChainOpen)) {
      EndChain();
      chain_broken = false;
    }
  }
  KEEL_DCHECK(!in_chain_);
}

void LedgerImpl::PrefetchTransfer(const Transfer& t, int stage) const {
  if (stage == 0) {
    transfer_index_.Prefetch(t.id);
    account_index_.Prefetch(t.debit_account_id);
    account_index_.Prefetch(t.credit_account_id);
    if (t.pending_id != 0) transfer_index_.Prefetch(t.pending_id);
    return;
  }
  // An Account is two cache lines: the balances in the first, ledger and flags in the second.
  for (const Uint128 id : {t.debit_account_id, t.credit_account_id}) {
    const uint64_t row = account_index_.Candidate(id);
    if (row == kNoRow) continue;
    const char* account = reinterpret_cast<const char*>(&accounts_[row]);
    base::internal::Prefetch(account);
    base::internal::Prefetch(account + 64);
    if (history_.size() != 0) base::internal::Prefetch(&history_head_[row]);
  }
  if (t.pending_id != 0) {
    if (const uint64_t row = transfer_index_.Candidate(t.pending_id); row != kNoRow) {
      base::internal::Prefetch(&transfers_[row]);
      base::internal::Prefetch(reinterpret_cast<const char*>(&transfers_[row]) + 64);
    }
  }
}

Account* LedgerImpl::FindAccount(Uint128 id) {
  const uint64_t row = account_index_.Find(id);
  return row == kNoRow ? nullptr : &accounts_[row];
}

const Account* LedgerImpl::FindAccount(Uint128 id) const {
  const uint64_t row = account_index_.Find(id);
  return row == kNoRow ? nullptr : &accounts_[row];
}

uint64_t LedgerImpl::FindTransferRow(Uint128 id) const { return transfer_index_.Find(id); }

// ---------------------------------------------------------------------------------------------
// The undo log.

void LedgerImpl::BeginChain() {
  KEEL_DCHECK(!in_chain_ && undo_.empty());
  in_chain_ = true;
  if (event_ != nullptr) chain_event_start_ = event_->size();
}

void LedgerImpl::EndChain() {
  // A chain that broke was unwound already; one that held keeps its changes. Either way its
  // undo log is no longer needed.
  undo_.clear();
  in_chain_ = false;
}

void LedgerImpl::RollbackChain() {
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
    const Undo& u = *it;
    switch (u.kind) {
      case Undo::Kind::kAccountInserted:
        account_index_.Erase(accounts_.back().id);
        accounts_.pop_back();
        history_head_.pop_back();
        break;
      case Undo::Kind::kAccountChanged:
        accounts_[u.row] = u.account;
        break;
      case Undo::Kind::kTransferInserted:
        if (statuses_.back() == PendingStatus::kPending) --pending_;
        transfer_index_.Erase(transfers_.back().id);
        transfers_.pop_back();
        statuses_.pop_back();
        break;
      case Undo::Kind::kStatusChanged: {
        PendingStatus& status = statuses_[u.row];
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
        history_head_[u.row] = history_.back().previous;
        history_.pop_back();
        break;
    }
  }
  undo_.clear();
  if (event_ != nullptr) event_->resize(chain_event_start_);
  // Still in the chain: its later events fail without changing anything, so nothing more is
  // recorded, and the chain ends at its last event.
}

Account& LedgerImpl::MutableAccount(uint64_t row) {
  Account& account = accounts_[row];
  if (in_chain_) {
    Undo& u = undo_.emplace_back();
    u.kind = Undo::Kind::kAccountChanged;
    u.row = row;
    u.account = account;
  }
  return account;
}

void LedgerImpl::InsertAccount(const Account& account) {
  account_index_.Insert(account.id, accounts_.size());
  accounts_.push_back(account);
  history_head_.push_back(kNoRow);
  if (in_chain_) undo_.push_back({.kind = Undo::Kind::kAccountInserted});
}

uint64_t LedgerImpl::InsertTransfer(const Transfer& transfer, PendingStatus status) {
  const uint64_t row = transfers_.size();
  transfer_index_.Insert(transfer.id, row);
  transfers_.push_back(transfer);
  statuses_.push_back(status);
  if (status == PendingStatus::kPending) ++pending_;
  if (in_chain_) undo_.push_back({.kind = Undo::Kind::kTransferInserted});
  return row;
}

void LedgerImpl::SetStatus(uint64_t row, PendingStatus status) {
  if (in_chain_) {
    undo_.push_back({.kind = Undo::Kind::kStatusChanged, .row = row, .status = statuses_[row]});
  }
  if (statuses_[row] == PendingStatus::kPending) --pending_;
  if (status == PendingStatus::kPending) ++pending_;
  statuses_[row] = status;
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

void LedgerImpl::AppendHistory(uint64_t account_row, uint64_t transfer_row) {
  const Account& account = accounts_[account_row];
  if ((account.flags & AccountFlags::kHistory) == 0) return;
  uint64_t& head = history_head_[account_row];
  history_.push_back({.debits_pending = account.debits_pending,
                      .debits_posted = account.debits_posted,
                      .credits_pending = account.credits_pending,
                      .credits_posted = account.credits_posted,
                      .timestamp = transfers_[transfer_row].timestamp,
                      .transfer_row = transfer_row,
                      .previous = head});
  head = history_.size() - 1;
  if (in_chain_) undo_.push_back({.kind = Undo::Kind::kHistoryAppended, .row = account_row});
}

uint32_t LedgerImpl::Expire(uint64_t timestamp) {
  last_timestamp_ = timestamp;
  uint32_t expired = 0;
  while (expired < kExpiryBatchMax && !expiry_.empty() &&
         expiry_.begin()->expires_at <= timestamp) {
    const ExpiryKey key = *expiry_.begin();
    if (event_ != nullptr)
      PutRow(*event_, ExpiryFact{.id = transfers_[key.row].id, .row = key.row});
    ExpireOne(key);
    ++expired;
  }
  expired_ += expired;
  return expired;
}

void LedgerImpl::ExpireOne(const ExpiryKey& key) {
  expiry_.erase(key);
  KEEL_ASSERT(statuses_[key.row] == PendingStatus::kPending, "an expiry for a resolved transfer");
  SetStatus(key.row, PendingStatus::kExpired);
  const Transfer& p = transfers_[key.row];
  Account& debit = *FindAccount(p.debit_account_id);
  Account& credit = *FindAccount(p.credit_account_id);
  debit.debits_pending -= p.amount;
  credit.credits_pending -= p.amount;
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

absl::Status Ledger::Reserve(uint64_t accounts, uint64_t transfers, uint64_t history_rows) {
  internal::LedgerImpl& s = *impl_;
  if (accounts > s.options_.max_accounts || transfers > s.options_.max_transfers) {
    return absl::InvalidArgumentError(base::Cat(
        "cannot reserve room for ", accounts, " accounts and ", transfers,
        " transfers: the limits are ", s.options_.max_accounts, " and ", s.options_.max_transfers));
  }
  s.account_index_.Reserve(accounts);
  s.accounts_.Reserve(accounts);
  s.transfer_index_.Reserve(transfers);
  s.transfers_.Reserve(transfers);
  s.statuses_.reserve(transfers);
  s.history_head_.reserve(accounts);
  s.history_.Reserve(history_rows);
  return absl::OkStatus();
}

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
      [](const Account&, int) {});
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
      [this](const Transfer& t, int stage) { impl_->PrefetchTransfer(t, stage); });
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
  return s.Expire(timestamp);
}

absl::StatusOr<CommandResult> Ledger::Execute(const Command& command) {
  CommandResult result;
  switch (command.kind) {
    case CommandKind::kCreateAccounts:
      KEEL_RETURN_IF_ERROR(CreateAccounts(command.accounts, command.timestamp, result.accounts));
      break;
    case CommandKind::kCreateTransfers:
      KEEL_RETURN_IF_ERROR(CreateTransfers(command.transfers, command.timestamp, result.transfers));
      break;
    case CommandKind::kExpirePendingTransfers: {
      KEEL_ASSIGN_OR_RETURN(result.expired, ExpirePendingTransfers(command.timestamp));
      break;
    }
  }
  return result;
}

std::optional<uint64_t> Ledger::NextExpiry() const {
  if (impl_->expiry_.empty()) return std::nullopt;
  return impl_->expiry_.begin()->expires_at;
}

std::optional<Account> Ledger::LookupAccount(Uint128 id) const {
  const Account* found = impl_->FindAccount(id);
  if (found == nullptr) return std::nullopt;
  return *found;
}

std::optional<Transfer> Ledger::LookupTransfer(Uint128 id) const {
  const uint64_t row = impl_->FindTransferRow(id);
  if (row == internal::kNoRow) return std::nullopt;
  return impl_->transfers_[row];
}

PendingStatus Ledger::PendingStatusOf(Uint128 transfer_id) const {
  const uint64_t row = impl_->FindTransferRow(transfer_id);
  return row == internal::kNoRow ? PendingStatus::kNone : impl_->statuses_[row];
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
  const Account* account = impl_->FindAccount(filter.account_id);
  if (account == nullptr || (account->flags & AccountFlags::kHistory) == 0) {
    return absl::OkStatus();
  }
  const uint32_t limit = std::min(filter.limit, kBatchMax);
  auto matches = [&](const internal::HistoryRow& row) {
    const Transfer& t = impl_->transfers_[row.transfer_row];
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
  // The account's rows link newest to oldest.
  const bool reversed = (filter.flags & AccountFilter::kReversed) != 0;
  std::vector<const internal::HistoryRow*> matched;
  for (uint64_t r = impl_->history_head_[impl_->account_index_.Find(filter.account_id)];
       r != internal::kNoRow; r = impl_->history_[r].previous) {
    const internal::HistoryRow& row = impl_->history_[r];
    if (!matches(row)) continue;
    matched.push_back(&row);
    if (reversed && matched.size() == limit) break;
  }
  if (!reversed) {
    std::reverse(matched.begin(), matched.end());
    if (matched.size() > limit) matched.resize(limit);
  }
  for (const internal::HistoryRow* row : matched) {
    balances.push_back({row->debits_pending, row->debits_posted, row->credits_pending,
                        row->credits_posted, row->timestamp});
  }
  return absl::OkStatus();
}

std::vector<Account> Ledger::Accounts() const {
  std::vector<Account> accounts;
  accounts.reserve(impl_->accounts_.size());
  for (size_t i = 0; i < impl_->accounts_.size(); ++i) accounts.push_back(impl_->accounts_[i]);
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
  const internal::LedgerImpl& state = *impl_;
  for (size_t i = 0; i < state.accounts_.size(); ++i) {
    const Account& a = state.accounts_[i];
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
  for (size_t row = 0; row < state.transfers_.size(); ++row) {
    if (state.statuses_[row] != PendingStatus::kPending) continue;
    const Transfer& t = state.transfers_[row];
    ++pending_count;
    pending[t.debit_account_id].first += t.amount;
    pending[t.credit_account_id].second += t.amount;
  }
  for (size_t i = 0; i < state.accounts_.size(); ++i) {
    const Account& a = state.accounts_[i];
    const auto found = pending.find(a.id);
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
