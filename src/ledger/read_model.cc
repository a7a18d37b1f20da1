// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The read model: events applied to balances and statements (read_model.h).
#include "keel/ledger/read_model.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "event.h"
#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "record_bytes.h"

namespace keel::ledger {
namespace internal {

class ReadModelState {
 public:
  absl::Status Apply(std::string_view event);

  struct AccountView {
    Balances balances;
    std::vector<uint32_t> transfers;  // indexes into transfers_, oldest first
  };
  absl::flat_hash_map<Uint128, AccountView> accounts_;
  std::vector<TransferEntry> transfers_;
  // Pending transfers not yet posted, voided or expired: id -> index into transfers_.
  absl::flat_hash_map<Uint128, uint32_t> pending_;
  uint64_t position_ = 0;
  uint64_t last_timestamp_ = 0;

 private:
  absl::Status ApplyTransfer(const Transfer& t);
  absl::Status Release(Uint128 pending_id);
};

namespace {

absl::Status Unfit(std::string_view what) {
  return absl::DataLossError(base::Cat("read model: an event does not follow: ", what));
}

}  // namespace

// Takes a pending transfer out of the pending set, releasing its amount from both accounts.
absl::Status ReadModelState::Release(Uint128 pending_id) {
  const auto found = pending_.find(pending_id);
  if (found == pending_.end()) {
    return Unfit(base::Cat("transfer ", DecimalString(pending_id), " is not pending"));
  }
  const TransferEntry& p = transfers_[found->second];
  pending_.erase(found);
  Balances& debit = accounts_[p.debit_account_id].balances;
  Balances& credit = accounts_[p.credit_account_id].balances;
  if (debit.debits_pending < p.amount || credit.credits_pending < p.amount) {
    return Unfit(base::Cat("transfer ", DecimalString(pending_id), " releases more than held"));
  }
  debit.debits_pending -= p.amount;
  credit.credits_pending -= p.amount;
  return absl::OkStatus();
}

absl::Status ReadModelState::ApplyTransfer(const Transfer& t) {
  const auto debit_it = accounts_.find(t.debit_account_id);
  const auto credit_it = accounts_.find(t.credit_account_id);
  if (debit_it == accounts_.end() || credit_it == accounts_.end()) {
    return Unfit(base::Cat("transfer ", DecimalString(t.id), " names an unknown account"));
  }
  const auto index = static_cast<uint32_t>(transfers_.size());
  transfers_.push_back({.id = t.id,
                        .debit_account_id = t.debit_account_id,
                        .credit_account_id = t.credit_account_id,
                        .amount = t.amount,
                        .pending_id = t.pending_id,
                        .flags = t.flags,
                        .timestamp = t.timestamp});
  debit_it->second.transfers.push_back(index);
  credit_it->second.transfers.push_back(index);
  Balances& debit = debit_it->second.balances;
  Balances& credit = credit_it->second.balances;
  if ((t.flags & (TransferFlags::kPostPendingTransfer | TransferFlags::kVoidPendingTransfer)) !=
      0) {
    KEEL_RETURN_IF_ERROR(Release(t.pending_id));
    if ((t.flags & TransferFlags::kPostPendingTransfer) != 0) {
      debit.debits_posted += t.amount;
      credit.credits_posted += t.amount;
    }
  } else if ((t.flags & TransferFlags::kPending) != 0) {
    debit.debits_pending += t.amount;
    credit.credits_pending += t.amount;
    pending_.emplace(t.id, index);
  } else {
    debit.debits_posted += t.amount;
    credit.credits_posted += t.amount;
  }
  return absl::OkStatus();
}

absl::Status ReadModelState::Apply(std::string_view event) {
  KEEL_ASSIGN_OR_RETURN(const EventHeader h, DecodeEventHeader(event));
  switch (h.kind) {
    case CommandKind::kCreateAccounts:
      for (uint32_t i = 0; i < h.created; ++i) {
        const auto a = GetRow<Account>(EventFact(event, h, i));
        if (!accounts_.try_emplace(a.id).second) {
          return Unfit(base::Cat("account ", DecimalString(a.id), " exists"));
        }
      }
      break;
    case CommandKind::kCreateTransfers:
      for (uint32_t i = 0; i < h.created; ++i) {
        KEEL_RETURN_IF_ERROR(ApplyTransfer(GetRow<Transfer>(EventFact(event, h, i))));
      }
      break;
    case CommandKind::kExpirePendingTransfers:
      for (uint32_t i = 0; i < h.expired; ++i) {
        KEEL_RETURN_IF_ERROR(Release(EventExpiry(event, i).id));
      }
      break;
  }
  ++position_;
  last_timestamp_ = h.timestamp;
  return absl::OkStatus();
}

// Applies events from `log` at the state's position on, up to `limit`.
absl::Status Follow(ReadModelState& state, const wal::Log& log, const ReadModelLimit& limit) {
  if (log.first_offset() > state.position_) {
    return absl::FailedPreconditionError(base::Cat("the log starts at event ", log.first_offset(),
                                                   ", after the read model's ", state.position_,
                                                   ": it was compacted after a snapshot"));
  }
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogReader> reader, log.NewReader(state.position_));
  while (state.position_ < limit.position) {
    KEEL_ASSIGN_OR_RETURN(std::optional<wal::RecordView> record, reader->Next());
    if (!record.has_value()) break;
    if (record->offset != state.position_) {
      return absl::DataLossError(
          base::Cat("read model: event ", state.position_, " is missing from the log"));
    }
    if (record->payload.size() >= kEventHeaderBytes &&
        base::DecodeFixed64(record->payload.data() + 16) > limit.timestamp) {
      break;
    }
    KEEL_RETURN_IF_ERROR(state.Apply(record->payload));
  }
  return absl::OkStatus();
}

}  // namespace internal

ReadModel::ReadModel() : state_(std::make_unique<internal::ReadModelState>()) {}
ReadModel::~ReadModel() = default;
ReadModel::ReadModel(ReadModel&&) noexcept = default;
ReadModel& ReadModel::operator=(ReadModel&&) noexcept = default;

absl::StatusOr<ReadModel> ReadModel::Build(const wal::Log& log, const ReadModelLimit& limit) {
  ReadModel model;
  KEEL_RETURN_IF_ERROR(internal::Follow(*model.state_, log, limit));
  return model;
}

absl::Status ReadModel::CatchUp(const wal::Log& log) {
  return internal::Follow(*state_, log, ReadModelLimit{});
}

uint64_t ReadModel::position() const { return state_->position_; }
uint64_t ReadModel::last_timestamp() const { return state_->last_timestamp_; }

std::optional<Balances> ReadModel::BalancesOf(Uint128 account_id) const {
  const auto found = state_->accounts_.find(account_id);
  if (found == state_->accounts_.end()) return std::nullopt;
  return found->second.balances;
}

std::vector<std::pair<Uint128, Balances>> ReadModel::AllBalances() const {
  std::vector<std::pair<Uint128, Balances>> all;
  all.reserve(state_->accounts_.size());
  for (const auto& [id, view] : state_->accounts_) all.emplace_back(id, view.balances);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return all;
}

std::vector<TransferEntry> ReadModel::TransfersOf(Uint128 account_id) const {
  std::vector<TransferEntry> entries;
  const auto found = state_->accounts_.find(account_id);
  if (found == state_->accounts_.end()) return entries;
  for (const uint32_t index : found->second.transfers) entries.push_back(state_->transfers_[index]);
  return entries;
}

}  // namespace keel::ledger
