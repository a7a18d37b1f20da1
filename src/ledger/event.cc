// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Recording events as batches run, and applying them again (event.h has the format and why).
#include "event.h"

#include <algorithm>

#include "keel/base/coding.h"
#include "keel/base/internal/prefetch.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "ledger_impl.h"

namespace keel::ledger::internal {
namespace {

constexpr uint8_t kEventVersion = 1;

size_t FactBytes(CommandKind kind) {
  return kind == CommandKind::kCreateAccounts ? sizeof(Account) : sizeof(TransferFact);
}

absl::Status NotFitting(std::string_view what) {
  return absl::DataLossError(base::Cat("a ledger event does not fit the state: ", what));
}

}  // namespace

absl::StatusOr<EventHeader> DecodeEventHeader(std::string_view event) {
  if (event.size() < kEventHeaderBytes) {
    return absl::DataLossError(
        base::Cat("a ledger event of ", event.size(), " bytes is shorter than its header"));
  }
  const auto kind = static_cast<uint8_t>(event[0]);
  const auto version = static_cast<uint8_t>(event[1]);
  if (version != kEventVersion || base::DecodeFixed16(event.data() + 2) != 0) {
    return absl::DataLossError(base::Cat("ledger event version ", version, " is not ",
                                         kEventVersion, " or its reserved bits are set"));
  }
  if (kind < static_cast<uint8_t>(CommandKind::kCreateAccounts) ||
      kind > static_cast<uint8_t>(CommandKind::kExpirePendingTransfers)) {
    return absl::DataLossError(base::Cat("ledger event kind ", kind, " is unknown"));
  }
  EventHeader h;
  h.kind = static_cast<CommandKind>(kind);
  h.created = base::DecodeFixed32(event.data() + 4);
  h.failed = base::DecodeFixed32(event.data() + 8);
  h.expired = base::DecodeFixed32(event.data() + 12);
  h.timestamp = base::DecodeFixed64(event.data() + 16);
  const bool expiry = h.kind == CommandKind::kExpirePendingTransfers;
  const bool fits = h.created <= kBatchMax && h.failed <= kBatchMax &&
                    h.expired <= kExpiryBatchMax && (!expiry || h.created + h.failed == 0) &&
                    (expiry || h.expired == 0) &&
                    (h.kind == CommandKind::kCreateTransfers || h.failed == 0) &&
                    event.size() == kEventHeaderBytes + size_t{h.created} * FactBytes(h.kind) +
                                        size_t{h.failed} * sizeof(Uint128) +
                                        size_t{h.expired} * sizeof(ExpiryFact);
  if (!fits) {
    return absl::DataLossError(base::Cat("a ledger event of ", event.size(), " bytes with ",
                                         h.created, " facts, ", h.failed, " failed ids and ",
                                         h.expired, " expiries does not add up"));
  }
  return h;
}

const char* EventFact(std::string_view event, const EventHeader& header, size_t i) {
  return event.data() + kEventHeaderBytes + i * FactBytes(header.kind);
}

ExpiryFact EventExpiry(std::string_view event, size_t i) {
  return GetRow<ExpiryFact>(event.data() + kEventHeaderBytes + i * sizeof(ExpiryFact));
}

Uint128 EventFailedId(std::string_view event, const EventHeader& header, size_t i) {
  return GetRow<Uint128>(event.data() + kEventHeaderBytes +
                         size_t{header.created} * FactBytes(header.kind) + i * sizeof(Uint128));
}

void BeginEvent(LedgerImpl& s, std::string* event, CommandKind kind, uint64_t timestamp) {
  event->clear();
  event->push_back(static_cast<char>(kind));
  event->push_back(static_cast<char>(kEventVersion));
  event->append(14, '\0');  // reserved and the counts, filled in by FinishEvent
  base::PutFixed64(*event, timestamp);
  s.event_ = event;
  s.event_failed_ids_.clear();
}

void FinishEvent(LedgerImpl& s) {
  std::string& event = *s.event_;
  const auto kind = static_cast<CommandKind>(event[0]);
  const size_t facts =
      kind == CommandKind::kExpirePendingTransfers ? sizeof(ExpiryFact) : FactBytes(kind);
  const auto count = static_cast<uint32_t>((event.size() - kEventHeaderBytes) / facts);
  const uint32_t created = kind == CommandKind::kExpirePendingTransfers ? 0 : count;
  const uint32_t expired = kind == CommandKind::kExpirePendingTransfers ? count : 0;
  for (const Uint128& id : s.event_failed_ids_) PutRow(event, id);
  base::EncodeFixed32(event.data() + 4, created);
  base::EncodeFixed32(event.data() + 8, static_cast<uint32_t>(s.event_failed_ids_.size()));
  base::EncodeFixed32(event.data() + 12, expired);
  s.event_ = nullptr;
  s.event_failed_ids_.clear();
}

namespace {

absl::Status ApplyAccounts(LedgerImpl& s, std::string_view event, const EventHeader& h) {
  if (s.accounts_.size() + h.created > s.options_.max_accounts) {
    return NotFitting("it passes max_accounts");
  }
  uint64_t last = s.last_timestamp_;
  for (uint32_t i = 0; i < h.created; ++i) {
    const auto a = GetRow<Account>(EventFact(event, h, i));
    if (a.id == 0 || a.id == kMaxUint128 || s.account_index_.Find(a.id) != kNoRow ||
        a.timestamp <= last || a.timestamp > h.timestamp ||
        (a.debits_pending | a.debits_posted | a.credits_pending | a.credits_posted) != 0) {
      return NotFitting(base::Cat("account ", DecimalString(a.id), " at ", a.timestamp,
                                  " is out of order, has balances, or a reserved or taken id"));
    }
    last = a.timestamp;
    s.InsertAccount(a);
  }
  return absl::OkStatus();
}

// One transfer's effects, as CreateTransfer and PostOrVoid made them (create.cc), in the same
// order, with the rows the event names instead of lookups.
absl::Status ApplyTransfer(LedgerImpl& s, const TransferFact& f) {
  const Transfer& t = f.transfer;
  const uint64_t accounts = s.accounts_.size();
  if (f.debit_row >= accounts || f.credit_row >= accounts ||
      s.accounts_[f.debit_row].id != t.debit_account_id ||
      s.accounts_[f.credit_row].id != t.credit_account_id || f.debit_row == f.credit_row) {
    return NotFitting(base::Cat("transfer ", DecimalString(t.id), " names account rows ",
                                f.debit_row, " and ", f.credit_row,
                                " that do not hold its accounts"));
  }
  const bool post = (t.flags & TransferFlags::kPostPendingTransfer) != 0;
  const bool void_ = (t.flags & TransferFlags::kVoidPendingTransfer) != 0;
  const bool pending = (t.flags & TransferFlags::kPending) != 0;
  Account& debit = s.accounts_[f.debit_row];
  Account& credit = s.accounts_[f.credit_row];
  if (!post && !void_) {
    const uint64_t row =
        s.InsertTransfer(t, pending ? PendingStatus::kPending : PendingStatus::kNone);
    if (pending) {
      debit.debits_pending += t.amount;
      credit.credits_pending += t.amount;
      if (t.timeout > 0) {
        s.InsertExpiry({t.timestamp + uint64_t{t.timeout} * kNanosPerSecond, t.timestamp, row});
      }
    } else {
      debit.debits_posted += t.amount;
      credit.credits_posted += t.amount;
    }
    s.AppendHistory(f.debit_row, row);
    s.AppendHistory(f.credit_row, row);
    return absl::OkStatus();
  }

  if (f.pending_row >= s.transfers_.size() || s.transfers_[f.pending_row].id != t.pending_id ||
      s.statuses_[f.pending_row] != PendingStatus::kPending) {
    return NotFitting(base::Cat("transfer ", DecimalString(t.id), " resolves row ", f.pending_row,
                                ", which is not its pending transfer ",
                                DecimalString(t.pending_id)));
  }
  const Transfer& p = s.transfers_[f.pending_row];
  if (debit.debits_pending < p.amount || credit.credits_pending < p.amount ||
      (post && t.amount > p.amount)) {
    return NotFitting(
        base::Cat("transfer ", DecimalString(t.id), " releases more than its accounts hold"));
  }
  const uint64_t row = s.InsertTransfer(t, PendingStatus::kNone);
  if (p.timeout > 0) {
    const ExpiryKey key{p.timestamp + uint64_t{p.timeout} * kNanosPerSecond, p.timestamp,
                        f.pending_row};
    if (!s.expiry_.contains(key)) {
      return NotFitting(
          base::Cat("pending transfer ", DecimalString(p.id), " is missing from the expiry queue"));
    }
    s.EraseExpiry(key);
  }
  s.SetStatus(f.pending_row, post ? PendingStatus::kPosted : PendingStatus::kVoided);
  debit.debits_pending -= p.amount;
  credit.credits_pending -= p.amount;
  if (post) {
    debit.debits_posted += t.amount;
    credit.credits_posted += t.amount;
  }
  s.AppendHistory(f.debit_row, row);
  s.AppendHistory(f.credit_row, row);
  return absl::OkStatus();
}

absl::Status ApplyTransfers(LedgerImpl& s, std::string_view event, const EventHeader& h) {
  if (s.transfers_.size() + h.created > s.options_.max_transfers) {
    return NotFitting("it passes max_transfers");
  }
  // As the batch loop does (ledger.cc): ask for the index slot a transfer will take and the
  // account rows it will change a few facts ahead, so that they are in the cache in time.
  constexpr uint32_t kAhead = 12;
  auto prefetch = [&](uint32_t i) {
    const char* fact = EventFact(event, h, i);
    const auto id = GetRow<Uint128>(fact);
    s.transfer_index_.Prefetch(id);
    const uint64_t debit_row = base::DecodeFixed64(fact + sizeof(Transfer));
    const uint64_t credit_row = base::DecodeFixed64(fact + sizeof(Transfer) + 8);
    // Both lines of each account: balances in the first, flags (read for history) in the second.
    for (const uint64_t row : {debit_row, credit_row}) {
      if (row >= s.accounts_.size()) continue;
      const char* account = reinterpret_cast<const char*>(&s.accounts_[row]);
      base::internal::Prefetch(account);
      base::internal::Prefetch(account + 64);
    }
  };
  for (uint32_t i = 0; i < std::min(h.created, kAhead); ++i) prefetch(i);
  uint64_t last = s.last_timestamp_;
  for (uint32_t i = 0; i < h.created; ++i) {
    if (i + kAhead < h.created) prefetch(i + kAhead);
    const auto f = GetRow<TransferFact>(EventFact(event, h, i));
    const Transfer& t = f.transfer;
    if (t.id == 0 || t.id == kMaxUint128 || t.timestamp <= last || t.timestamp > h.timestamp) {
      return NotFitting(base::Cat("transfer ", DecimalString(t.id), " at ", t.timestamp,
                                  " is out of order or has a reserved id"));
    }
    last = t.timestamp;
    KEEL_RETURN_IF_ERROR(ApplyTransfer(s, f));
  }
  for (uint32_t i = 0; i < h.failed; ++i) s.failed_ids_.insert(EventFailedId(event, h, i));
  return absl::OkStatus();
}

absl::Status ApplyExpiries(LedgerImpl& s, std::string_view event, const EventHeader& h) {
  for (uint32_t i = 0; i < h.expired; ++i) {
    const ExpiryFact f = EventExpiry(event, i);
    if (f.row >= s.transfers_.size() || s.transfers_[f.row].id != f.id ||
        s.statuses_[f.row] != PendingStatus::kPending || s.transfers_[f.row].timeout == 0) {
      return NotFitting(base::Cat("transfer ", DecimalString(f.id), " at row ", f.row,
                                  " is not a pending transfer with a timeout"));
    }
    const Transfer& p = s.transfers_[f.row];
    const ExpiryKey key{p.timestamp + uint64_t{p.timeout} * kNanosPerSecond, p.timestamp, f.row};
    if (key.expires_at > h.timestamp || !s.expiry_.contains(key)) {
      return NotFitting(base::Cat("transfer ", DecimalString(f.id), " expires at ", key.expires_at,
                                  ", not by ", h.timestamp));
    }
    s.ExpireOne(key);
  }
  s.expired_ += h.expired;
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyEvent(LedgerImpl& s, std::string_view event) {
  KEEL_ASSIGN_OR_RETURN(const EventHeader h, DecodeEventHeader(event));
  if (h.timestamp == 0 || h.timestamp > kTimestampMax || h.timestamp < s.last_timestamp_) {
    return NotFitting(base::Cat("its timestamp ", h.timestamp, " is before the last one used, ",
                                s.last_timestamp_));
  }
  switch (h.kind) {
    case CommandKind::kCreateAccounts:
      KEEL_RETURN_IF_ERROR(ApplyAccounts(s, event, h));
      break;
    case CommandKind::kCreateTransfers:
      KEEL_RETURN_IF_ERROR(ApplyTransfers(s, event, h));
      break;
    case CommandKind::kExpirePendingTransfers:
      KEEL_RETURN_IF_ERROR(ApplyExpiries(s, event, h));
      break;
  }
  s.last_timestamp_ = h.timestamp;
  return absl::OkStatus();
}

}  // namespace keel::ledger::internal
