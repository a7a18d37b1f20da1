// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Ledger snapshots: the whole state as bytes, and back; and the state's hash.
//
//   snapshot := magic ("KEELLDG1") last_timestamp (u64) expired (u64)
//               accounts (u64) transfers (u64) history_rows (u64) failed_ids (u64)
//               accounts * account (128 bytes, in creation order)
//               transfers * transfer (128 bytes, in creation order)
//               transfers * status (u8, PendingStatus)
//               accounts * history_head (u64: the account's newest history row, all ones if none)
//               history_rows * history_row (96 bytes: four u128 balances, then timestamp,
//                                           transfer_row, previous, reserved as u64)
//               failed_ids * id (16 bytes, ascending)
//
// Integers are little-endian. Everything in it is a function of the state alone: rows are in
// creation order, failed ids sorted, and what can be derived (the id indexes, the expiry queue,
// the count of pending transfers) is left out and rebuilt, so equal states give equal bytes.
#include <algorithm>
#include <cstring>
#include <vector>

#include "keel/base/coding.h"
#include "keel/base/internal/xxhash.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/ledger/ledger.h"
#include "ledger_impl.h"

namespace keel::ledger {
namespace {

using internal::ChunkedRows;
using internal::HistoryRow;
using internal::kNoRow;

constexpr std::string_view kMagic = "KEELLDG1";
constexpr size_t kHeaderBytes = 8 + 6 * 8;
static_assert(sizeof(HistoryRow) == 96);

// Writes rows chunk by chunk: each chunk's rows are contiguous.
template <typename T>
absl::Status WriteRows(const ChunkedRows<T>& rows,
                       absl::FunctionRef<absl::Status(std::string_view)> write) {
  for (size_t i = 0; i < rows.size(); i += ChunkedRows<T>::kChunkRows) {
    const size_t n = std::min(rows.size() - i, ChunkedRows<T>::kChunkRows);
    KEEL_RETURN_IF_ERROR(write({reinterpret_cast<const char*>(&rows[i]), n * sizeof(T)}));
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status WriteVector(const std::vector<T>& v,
                         absl::FunctionRef<absl::Status(std::string_view)> write) {
  return write({reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)});
}

absl::Status Damaged(std::string_view what) {
  return absl::DataLossError(base::Cat("ledger snapshot: ", what));
}

}  // namespace

absl::Status Ledger::Save(absl::FunctionRef<absl::Status(std::string_view)> write) const {
  const internal::LedgerImpl& s = *impl_;
  std::vector<Uint128> failed(s.failed_ids_.begin(), s.failed_ids_.end());
  std::sort(failed.begin(), failed.end());
  std::string header(kMagic);
  base::PutFixed64(header, s.last_timestamp_);
  base::PutFixed64(header, s.expired_);
  base::PutFixed64(header, s.accounts_.size());
  base::PutFixed64(header, s.transfers_.size());
  base::PutFixed64(header, s.history_.size());
  base::PutFixed64(header, failed.size());
  KEEL_RETURN_IF_ERROR(write(header));
  KEEL_RETURN_IF_ERROR(WriteRows(s.accounts_, write));
  KEEL_RETURN_IF_ERROR(WriteRows(s.transfers_, write));
  KEEL_RETURN_IF_ERROR(WriteVector(s.statuses_, write));
  KEEL_RETURN_IF_ERROR(WriteVector(s.history_head_, write));
  KEEL_RETURN_IF_ERROR(WriteRows(s.history_, write));
  return WriteVector(failed, write);
}

uint64_t Ledger::StateHash() const {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  const absl::Status saved = Save([&](std::string_view bytes) {
    XXH3_64bits_update(state, bytes.data(), bytes.size());
    return absl::OkStatus();
  });
  KEEL_ASSERT(saved.ok(), "hashing cannot fail");
  const uint64_t hash = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return hash;
}

absl::StatusOr<Ledger> Ledger::Restore(std::string_view bytes, const LedgerOptions& options) {
  if (bytes.size() < kHeaderBytes || bytes.substr(0, kMagic.size()) != kMagic) {
    return Damaged(base::Cat("the ", bytes.size(), " bytes do not start with a snapshot header"));
  }
  const char* p = bytes.data() + kMagic.size();
  const uint64_t last_timestamp = base::DecodeFixed64(p);
  const uint64_t expired = base::DecodeFixed64(p + 8);
  const uint64_t accounts = base::DecodeFixed64(p + 16);
  const uint64_t transfers = base::DecodeFixed64(p + 24);
  const uint64_t history_rows = base::DecodeFixed64(p + 32);
  const uint64_t failed_ids = base::DecodeFixed64(p + 40);
  // Each count is bounded by the bytes before the sum, so the sum cannot overflow.
  const uint64_t limit = bytes.size();
  if (accounts > limit || transfers > limit || history_rows > limit || failed_ids > limit ||
      kHeaderBytes + accounts * (sizeof(Account) + 8) + transfers * (sizeof(Transfer) + 1) +
              history_rows * sizeof(HistoryRow) + failed_ids * sizeof(Uint128) !=
          bytes.size()) {
    return Damaged(base::Cat(accounts, " accounts, ", transfers, " transfers, ", history_rows,
                             " history rows and ", failed_ids, " failed ids do not fill ",
                             bytes.size(), " bytes"));
  }
  if (accounts > options.max_accounts || transfers > options.max_transfers) {
    return absl::ResourceExhaustedError(base::Cat(
        "the snapshot holds ", accounts, " accounts and ", transfers,
        " transfers: the options allow ", options.max_accounts, " and ", options.max_transfers));
  }
  if (last_timestamp > kTimestampMax) {
    return Damaged(base::Cat("last timestamp ", last_timestamp, " is past 2^63 - 1"));
  }

  Ledger ledger(options);
  internal::LedgerImpl& s = *ledger.impl_;
  // Room in the indexes, so that they never grow while loading; the rows are appended.
  s.account_index_.Reserve(accounts);
  s.transfer_index_.Reserve(transfers);
  s.statuses_.reserve(transfers);
  s.history_head_.reserve(accounts);
  s.last_timestamp_ = last_timestamp;
  s.expired_ = expired;
  p = bytes.data() + kHeaderBytes;
  // Each row's index slot is asked for a few rows ahead, as the batch loop does (ledger.cc).
  constexpr uint64_t kAhead = 16;
  for (uint64_t i = 0; i < accounts; ++i, p += sizeof(Account)) {
    if (i + kAhead < accounts) {
      s.account_index_.Prefetch(internal::GetRow<Uint128>(p + kAhead * sizeof(Account)));
    }
    const auto a = internal::GetRow<Account>(p);
    if (a.id == 0 || a.id == kMaxUint128 || s.account_index_.Find(a.id) != kNoRow) {
      return Damaged(base::Cat("account id ", DecimalString(a.id), " is 0, 2^128 - 1 or repeated"));
    }
    s.InsertAccount(a);
  }
  for (uint64_t i = 0; i < transfers; ++i, p += sizeof(Transfer)) {
    if (i + kAhead < transfers) {
      s.transfer_index_.Prefetch(internal::GetRow<Uint128>(p + kAhead * sizeof(Transfer)));
    }
    const auto t = internal::GetRow<Transfer>(p);
    if (t.id == 0 || t.id == kMaxUint128 || s.transfer_index_.Find(t.id) != kNoRow) {
      return Damaged(
          base::Cat("transfer id ", DecimalString(t.id), " is 0, 2^128 - 1 or repeated"));
    }
    s.InsertTransfer(t, PendingStatus::kNone);
  }
  for (uint64_t row = 0; row < transfers; ++row, ++p) {
    const auto status = static_cast<uint8_t>(*p);
    const Transfer& t = s.transfers_[row];
    const bool pending = (t.flags & TransferFlags::kPending) != 0;
    if (status > static_cast<uint8_t>(PendingStatus::kExpired) ||
        pending != (status != static_cast<uint8_t>(PendingStatus::kNone))) {
      return Damaged(base::Cat("transfer ", DecimalString(t.id), " has status ", status));
    }
    s.SetStatus(row, static_cast<PendingStatus>(status));
    if (s.statuses_[row] == PendingStatus::kPending && t.timeout > 0) {
      s.InsertExpiry(
          {t.timestamp + uint64_t{t.timeout} * internal::kNanosPerSecond, t.timestamp, row});
    }
  }
  for (uint64_t i = 0; i < accounts; ++i, p += 8) {
    const uint64_t head = base::DecodeFixed64(p);
    if (head != kNoRow && head >= history_rows) {
      return Damaged(base::Cat("account row ", i, " starts its history at row ", head));
    }
    s.history_head_[i] = head;
  }
  for (uint64_t i = 0; i < history_rows; ++i, p += sizeof(HistoryRow)) {
    const auto row = internal::GetRow<HistoryRow>(p);
    if (row.transfer_row >= transfers || (row.previous != kNoRow && row.previous >= i)) {
      return Damaged(base::Cat("history row ", i, " points to transfer row ", row.transfer_row,
                               " and history row ", row.previous));
    }
    s.history_.push_back(row);
  }
  Uint128 previous = 0;
  for (uint64_t i = 0; i < failed_ids; ++i, p += sizeof(Uint128)) {
    const auto id = internal::GetRow<Uint128>(p);
    if (i > 0 && id <= previous) return Damaged("failed ids are not in ascending order");
    s.failed_ids_.insert(id);
    previous = id;
  }
  if (absl::Status status = ledger.CheckInvariants(); !status.ok()) {
    return Damaged(std::string(status.message()));
  }
  return ledger;
}

}  // namespace keel::ledger
