// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "ledger/ledger_testing.h"

#include <doctest/doctest.h>

#include <tuple>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

// GCC before 14 warns about designated initializers that leave members to their default member
// initializers, which is what they are for here: an event names only the fields it uses.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace keel::ledger::testing {
namespace {

// ", .name = value" when value is not zero.
template <typename T>
void Field(std::string& out, const char* name, T value) {
  if (value == T{0}) return;
  if constexpr (std::is_same_v<T, Uint128>) {
    absl::StrAppend(&out, out.size() > 1 ? ", " : "", ".", name, " = ", ToString(value));
  } else {
    absl::StrAppend(&out, out.size() > 1 ? ", " : "", ".", name, " = ", value);
  }
}

template <typename Result>
std::string DescribeResults(const auto& results) {
  std::vector<std::string> parts;
  for (const auto& r : results) {
    parts.push_back(absl::StrCat(r.index, ":", std::string(ResultName(r.result))));
  }
  return absl::StrJoin(parts, " ");
}

std::string StatusText(const absl::Status& s) { return s.ToString(); }

template <typename T>
std::string StatusText(const absl::StatusOr<T>& s) {
  return s.ok() ? absl::StrCat("OK ", *s) : s.status().ToString();
}

}  // namespace

std::string ToString(Uint128 value) {
  if (value == kMaxUint128) return "kMaxUint128";
  if (kMaxUint128 - value < 1'000'000) {
    return absl::StrCat("kMaxUint128 - ", absl::Uint128Low64(kMaxUint128 - value));
  }
  if (absl::Uint128High64(value) == 0) return absl::StrCat(absl::Uint128Low64(value));
  // Decimal in chunks of 19 digits, the most significant first.
  constexpr uint64_t kChunk = 10'000'000'000'000'000'000u;
  std::string digits;
  while (value >= kChunk) {
    digits = absl::StrCat(absl::Dec(absl::Uint128Low64(value % kChunk), absl::kZeroPad19), digits);
    value /= kChunk;
  }
  return absl::StrCat(absl::Uint128Low64(value), digits);
}

std::string Describe(const Account& a) {
  std::string out = "{";
  Field(out, "id", a.id);
  Field(out, "debits_pending", a.debits_pending);
  Field(out, "debits_posted", a.debits_posted);
  Field(out, "credits_pending", a.credits_pending);
  Field(out, "credits_posted", a.credits_posted);
  Field(out, "user_data_128", a.user_data_128);
  Field(out, "user_data_64", a.user_data_64);
  Field(out, "user_data_32", a.user_data_32);
  Field(out, "reserved", a.reserved);
  Field(out, "ledger", a.ledger);
  Field(out, "code", a.code);
  Field(out, "flags", a.flags);
  Field(out, "timestamp", a.timestamp);
  return out + "}";
}

std::string Describe(const Transfer& t) {
  std::string out = "{";
  Field(out, "id", t.id);
  Field(out, "debit_account_id", t.debit_account_id);
  Field(out, "credit_account_id", t.credit_account_id);
  Field(out, "amount", t.amount);
  Field(out, "pending_id", t.pending_id);
  Field(out, "user_data_128", t.user_data_128);
  Field(out, "user_data_64", t.user_data_64);
  Field(out, "user_data_32", t.user_data_32);
  Field(out, "timeout", t.timeout);
  Field(out, "ledger", t.ledger);
  Field(out, "code", t.code);
  Field(out, "flags", t.flags);
  Field(out, "timestamp", t.timestamp);
  return out + "}";
}

std::string Describe(const AccountBalance& b) {
  return absl::StrCat("{dp ", ToString(b.debits_pending), " dP ", ToString(b.debits_posted), " cp ",
                      ToString(b.credits_pending), " cP ", ToString(b.credits_posted), " @",
                      b.timestamp, "}");
}

std::string Describe(std::span<const AccountBalance> balances) {
  std::vector<std::string> parts;
  for (const AccountBalance& b : balances) parts.push_back(Describe(b));
  return absl::StrJoin(parts, " ");
}

std::string Describe(std::span<const Account> accounts) {
  std::vector<std::string> parts;
  for (const Account& a : accounts) parts.push_back(Describe(a));
  return absl::StrCat("{", absl::StrJoin(parts, ",\n "), "}");
}

std::string Describe(std::span<const Transfer> transfers) {
  std::vector<std::string> parts;
  for (const Transfer& t : transfers) parts.push_back(Describe(t));
  return absl::StrCat("{", absl::StrJoin(parts, ",\n "), "}");
}

std::string Describe(std::span<const CreateAccountsResult> results) {
  return DescribeResults<CreateAccountResult>(results);
}

std::string Describe(std::span<const CreateTransfersResult> results) {
  return DescribeResults<CreateTransferResult>(results);
}

std::string Describe(const LedgerStats& s) {
  return absl::StrCat("accounts ", s.accounts, " transfers ", s.transfers, " pending ", s.pending,
                      " failed_ids ", s.failed_ids, " expired ", s.expired, " last_timestamp ",
                      s.last_timestamp);
}

std::string Describe(const AccountFilter& f) {
  return absl::StrCat("{account_id ", ToString(f.account_id), " ud128 ", ToString(f.user_data_128),
                      " ud64 ", f.user_data_64, " ud32 ", f.user_data_32, " code ", f.code, " min ",
                      f.timestamp_min, " max ", f.timestamp_max, " limit ", f.limit, " flags ",
                      f.flags, "}");
}

Account Acc(Uint128 id, uint16_t flags, uint32_t ledger) {
  return {.id = id, .ledger = ledger, .code = 1, .flags = flags};
}

Transfer Xfer(Uint128 id, Uint128 dr, Uint128 cr, Uint128 amount, uint16_t flags) {
  return {.id = id,
          .debit_account_id = dr,
          .credit_account_id = cr,
          .amount = amount,
          .ledger = 1,
          .code = 1,
          .flags = flags};
}

Transfer Post(Uint128 id, Uint128 pending_id, Uint128 amount, uint16_t flags) {
  return {.id = id,
          .amount = amount,
          .pending_id = pending_id,
          .flags = static_cast<uint16_t>(TransferFlags::kPostPendingTransfer | flags)};
}

Transfer Void(Uint128 id, Uint128 pending_id) {
  return {.id = id, .pending_id = pending_id, .flags = TransferFlags::kVoidPendingTransfer};
}

std::string Balances(const Account& a) {
  return absl::StrCat(ToString(a.debits_pending), " ", ToString(a.debits_posted), " ",
                      ToString(a.credits_pending), " ", ToString(a.credits_posted));
}

// ---------------------------------------------------------------------------------------------
// Comparing the two sides: field by field, and as text only when they differ.
// ---------------------------------------------------------------------------------------------

namespace {

auto Fields(const Account& a) {
  return std::tie(a.id, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted,
                  a.user_data_128, a.user_data_64, a.user_data_32, a.reserved, a.ledger, a.code,
                  a.flags, a.timestamp);
}
auto Fields(const Transfer& t) {
  return std::tie(t.id, t.debit_account_id, t.credit_account_id, t.amount, t.pending_id,
                  t.user_data_128, t.user_data_64, t.user_data_32, t.timeout, t.ledger, t.code,
                  t.flags, t.timestamp);
}
auto Fields(const AccountBalance& b) {
  return std::tie(b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted,
                  b.timestamp);
}
auto Fields(const LedgerStats& s) {
  return std::tie(s.accounts, s.transfers, s.pending, s.failed_ids, s.expired, s.last_timestamp);
}
auto Fields(const CreateAccountsResult& r) { return std::tie(r.index, r.result); }
auto Fields(const CreateTransfersResult& r) { return std::tie(r.index, r.result); }

template <typename T>
bool Equal(const T& a, const T& b) {
  return Fields(a) == Fields(b);
}
template <typename T>
bool Equal(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!Equal(a[i], b[i])) return false;
  }
  return true;
}
template <typename T>
bool Equal(const std::optional<T>& a, const std::optional<T>& b) {
  return a.has_value() == b.has_value() && (!a.has_value() || Equal(*a, *b));
}

template <typename T>
std::string Text(const T& value) {
  return Describe(value);
}
template <typename T>
std::string Text(const std::vector<T>& values) {
  return Describe(std::span<const T>(values));
}
template <typename T>
std::string Text(const std::optional<T>& value) {
  return value.has_value() ? Text(*value) : std::string("none");
}

}  // namespace

// Differs unless the two values are equal; `what` is only built when they differ.
template <typename T, typename What>
void Twin::Same(const What& what, const T& ledger_value, const T& model_value) {
  if (Equal(ledger_value, model_value)) return;
  Differ(
      absl::StrCat(what(), "\n  ledger: ", Text(ledger_value), "\n  model:  ", Text(model_value)));
}

void Twin::Differ(const std::string& message) {
  diverged_ = true;
  FAIL_CHECK(message);
}

// ---------------------------------------------------------------------------------------------
// Twin.
// ---------------------------------------------------------------------------------------------

Twin::Twin(const LedgerOptions& options, uint64_t start_timestamp)
    : options_(options), ledger_(options), model_(options), now_(start_timestamp) {
  account_ids_ = {0, kMaxUint128};
  transfer_ids_ = {0, kMaxUint128};
}

std::string Twin::Accounts(std::vector<Account> events) {
  std::string results;
  const uint64_t n = events.size();
  const absl::StatusCode code = AccountsAt(events, now_ + (n == 0 ? 1 : n), &results);
  CHECK_MESSAGE(code == absl::StatusCode::kOk, "CreateAccounts: ", absl::StatusCodeToString(code));
  return results;
}

std::string Twin::Transfers(std::vector<Transfer> events) {
  std::string results;
  const uint64_t n = events.size();
  const absl::StatusCode code = TransfersAt(events, now_ + (n == 0 ? 1 : n), &results);
  CHECK_MESSAGE(code == absl::StatusCode::kOk, "CreateTransfers: ", absl::StatusCodeToString(code));
  return results;
}

template <typename Event, typename Result, typename Create>
absl::StatusCode Twin::Batch(const char* what, std::span<const Event> events, uint64_t timestamp,
                             std::string* results, Create create) {
  std::vector<Result> ledger_results;
  std::vector<Result> model_results;
  const absl::Status ledger_status = create(ledger_, ledger_results);
  const absl::Status model_status = create(model_, model_results);
  if (ledger_status.code() != model_status.code() || !Equal(ledger_results, model_results)) {
    Differ(absl::StrCat(what, " at ", timestamp, " of ", Describe(events),
                        "\n  ledger: ", StatusText(ledger_status), " [", Text(ledger_results),
                        "]\n  model:  ", StatusText(model_status), " [", Text(model_results), "]"));
  }
  if (durable_ != nullptr) {
    std::vector<Result> durable_results;
    absl::Status durable_status;
    if constexpr (std::is_same_v<Event, Account>) {
      durable_status = durable_->CreateAccounts(events, timestamp, durable_results).status();
    } else {
      durable_status = durable_->CreateTransfers(events, timestamp, durable_results).status();
    }
    if (durable_status.code() != ledger_status.code() || !Equal(ledger_results, durable_results)) {
      Differ(absl::StrCat(what, " at ", timestamp, " of ", Describe(events),
                          "\n  ledger:  ", StatusText(ledger_status), " [", Text(ledger_results),
                          "]\n  durable: ", StatusText(durable_status), " [", Text(durable_results),
                          "]"));
    }
  }
  if (ledger_status.ok() && model_status.ok()) now_ = timestamp;
  if (results != nullptr) *results = Text(ledger_results);
  return ledger_status.code();
}

absl::StatusCode Twin::AccountsAt(std::span<const Account> events, uint64_t timestamp,
                                  std::string* results) {
  for (const Account& a : events) account_ids_.insert(a.id);
  const absl::StatusCode code = Batch<Account, CreateAccountsResult>(
      "CreateAccounts", events, timestamp, results,
      [&](auto& ledger, auto& out) { return ledger.CreateAccounts(events, timestamp, out); });
  AfterCall({}, false);
  return code;
}

absl::StatusCode Twin::TransfersAt(std::span<const Transfer> events, uint64_t timestamp,
                                   std::string* results) {
  for (const Transfer& t : events) transfer_ids_.insert(t.id);
  const absl::StatusCode code = Batch<Transfer, CreateTransfersResult>(
      "CreateTransfers", events, timestamp, results,
      [&](auto& ledger, auto& out) { return ledger.CreateTransfers(events, timestamp, out); });
  std::vector<Uint128> named;
  for (const Transfer& t : events) {
    named.push_back(t.id);
    named.push_back(t.pending_id);
  }
  AfterCall(named, false);
  return code;
}

absl::StatusOr<uint32_t> Twin::ExpireAt(uint64_t timestamp) {
  absl::StatusOr<uint32_t> ledger_expired = ledger_.ExpirePendingTransfers(timestamp);
  absl::StatusOr<uint32_t> model_expired = model_.ExpirePendingTransfers(timestamp);
  const bool same = ledger_expired.status().code() == model_expired.status().code() &&
                    (!ledger_expired.ok() || *ledger_expired == *model_expired);
  if (!same) {
    Differ(absl::StrCat("ExpirePendingTransfers(", timestamp, ")\n  ledger: ",
                        StatusText(ledger_expired), "\n  model:  ", StatusText(model_expired)));
  }
  if (durable_ != nullptr) {
    absl::StatusOr<DurableLedger::Expiry> durable_expired =
        durable_->ExpirePendingTransfers(timestamp);
    if (durable_expired.status().code() != ledger_expired.status().code() ||
        (durable_expired.ok() && durable_expired->expired != *ledger_expired)) {
      Differ(absl::StrCat("ExpirePendingTransfers(", timestamp,
                          ") on the durable ledger: ", durable_expired.status().ToString()));
    }
  }
  if (ledger_expired.ok() && model_expired.ok()) now_ = timestamp;
  AfterCall({}, true);
  return ledger_expired;
}

uint32_t Twin::Expire() {
  absl::StatusOr<uint32_t> expired = ExpireAt(now_ + 1);
  REQUIRE_MESSAGE(expired.ok(), expired.status().ToString());
  return *expired;
}

absl::StatusCode Twin::BalancesStatus(const AccountFilter& filter) {
  std::vector<AccountBalance> ledger_rows;
  std::vector<AccountBalance> model_rows;
  const absl::Status ledger_status = ledger_.GetAccountBalances(filter, ledger_rows);
  const absl::Status model_status = model_.GetAccountBalances(filter, model_rows);
  if (ledger_status.code() != model_status.code() || !Equal(ledger_rows, model_rows)) {
    Differ(absl::StrCat("GetAccountBalances(", Describe(filter),
                        ")\n  ledger: ", ledger_status.ToString(), " [", Text(ledger_rows),
                        "]\n  model:  ", model_status.ToString(), " [", Text(model_rows), "]"));
  }
  return ledger_status.code();
}

std::vector<AccountBalance> Twin::Balances(const AccountFilter& filter) {
  std::vector<AccountBalance> rows;
  const absl::StatusCode code = BalancesStatus(filter);
  CHECK_MESSAGE(code == absl::StatusCode::kOk, "GetAccountBalances(", Describe(filter),
                "): ", absl::StatusCodeToString(code));
  (void)ledger_.GetAccountBalances(filter, rows);
  return rows;
}

Account Twin::account(Uint128 id) {
  const std::optional<Account> a = ledger_.LookupAccount(id);
  const std::optional<Account> b = model_.LookupAccount(id);
  Same([&] { return absl::StrCat("LookupAccount(", ToString(id), ")"); }, a, b);
  REQUIRE_MESSAGE(a.has_value(), "no account ", ToString(id));
  return *a;
}

Transfer Twin::transfer(Uint128 id) {
  const std::optional<Transfer> a = ledger_.LookupTransfer(id);
  const std::optional<Transfer> b = model_.LookupTransfer(id);
  Same([&] { return absl::StrCat("LookupTransfer(", ToString(id), ")"); }, a, b);
  REQUIRE_MESSAGE(a.has_value(), "no transfer ", ToString(id));
  return *a;
}

bool Twin::HasTransfer(Uint128 id) {
  CheckTransfer(id);
  return ledger_.LookupTransfer(id).has_value();
}

PendingStatus Twin::status(Uint128 transfer_id) {
  CheckTransfer(transfer_id);
  return ledger_.PendingStatusOf(transfer_id);
}

void Twin::AfterCall(std::span<const Uint128> transfer_ids, bool full) {
  ++calls_;
  if (full || calls_ % full_check_period_ == 0) return CheckSame();
  CheckCommon();
  for (const Uint128 id : transfer_ids) CheckTransfer(id);
  CheckHistory(/*limit=*/8);
}

void Twin::CheckCommon() {
  const absl::Status invariants = ledger_.CheckInvariants();
  if (!invariants.ok()) Differ(absl::StrCat("Ledger::CheckInvariants: ", invariants.ToString()));
  const absl::Status model_invariants = model_.CheckInvariants();
  if (!model_invariants.ok()) Differ(absl::StrCat("model: ", model_invariants.ToString()));
  Same([] { return "stats"; }, ledger_.stats(), model_.stats());
  const std::optional<uint64_t> ledger_next = ledger_.NextExpiry();
  const std::optional<uint64_t> model_next = model_.NextExpiry();
  if (ledger_next != model_next) {
    Differ(absl::StrCat("NextExpiry\n  ledger: ", ledger_next.value_or(0),
                        "\n  model:  ", model_next.value_or(0)));
  }
  Same([] { return "Accounts()"; }, ledger_.Accounts(), model_.Accounts());
}

void Twin::CheckTransfer(Uint128 id) {
  Same([&] { return absl::StrCat("LookupTransfer(", ToString(id), ")"); },
       ledger_.LookupTransfer(id), model_.LookupTransfer(id));
  const PendingStatus ledger_status = ledger_.PendingStatusOf(id);
  const PendingStatus model_status = model_.PendingStatusOf(id);
  if (ledger_status != model_status) {
    Differ(absl::StrCat("PendingStatusOf(", ToString(id),
                        ")\n  ledger: ", static_cast<int>(ledger_status),
                        "\n  model:  ", static_cast<int>(model_status)));
  }
}

// The oldest and the newest `limit` rows of each history account.
void Twin::CheckHistory(uint32_t limit) {
  for (const Account& a : model_.Accounts()) {
    if ((a.flags & AccountFlags::kHistory) == 0) continue;
    for (const uint32_t reversed : {0u, AccountFilter::kReversed}) {
      (void)BalancesStatus({.account_id = a.id,
                            .limit = limit,
                            .flags = AccountFilter::kDebits | AccountFilter::kCredits | reversed});
    }
  }
}

void Twin::CheckSame() {
  CheckCommon();
  for (const Uint128 id : account_ids_) {
    Same([&] { return absl::StrCat("LookupAccount(", ToString(id), ")"); },
         ledger_.LookupAccount(id), model_.LookupAccount(id));
  }
  std::set<Uint128> transfer_ids = transfer_ids_;
  for (const Transfer& t : model_.Transfers()) transfer_ids.insert(t.id);
  for (const Uint128 id : transfer_ids) CheckTransfer(id);
  CheckHistory(/*limit=*/kBatchMax);  // all of it, both ways round
  if (durable_ != nullptr && durable_->ledger().StateHash() != ledger_.StateHash()) {
    Differ("the durable ledger's state differs from the ledger's (StateHash)");
  }
}

void Twin::EnableDurable(wal::FileSystem& fs, std::string dir) {
  durable_fs_ = &fs;
  durable_dir_ = std::move(dir);
  ReopenDurable(/*snapshot_first=*/false);
}

void Twin::ReopenDurable(bool snapshot_first) {
  if (durable_ != nullptr && snapshot_first) {
    const absl::StatusOr<uint64_t> position = durable_->WriteSnapshot();
    REQUIRE_MESSAGE(position.ok(), position.status().ToString());
  }
  if (durable_ != nullptr) REQUIRE(durable_->Sync().ok());
  durable_.reset();
  DurableLedgerOptions options;
  options.ledger = options_;
  options.log.file_system = durable_fs_;
  options.log.max_segment_bytes = 2 << 20;
  options.log.max_record_bytes = 3 << 19;
  options.log.salt = 1;
  absl::StatusOr<std::unique_ptr<DurableLedger>> opened =
      DurableLedger::Open(durable_dir_, options);
  REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
  durable_ = std::move(*opened);
  if (durable_->ledger().StateHash() != ledger_.StateHash()) {
    Differ(absl::StrCat("the durable ledger reopened at position ", durable_->position(),
                        " holds another state than the ledger"));
  }
}

}  // namespace keel::ledger::testing
