// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Parsing the ledger tool's lines (ledger_file.h). The tool reads millions of lines, so a line is
// cut into fields in place (views into it, no copies) and numbers of up to 19 digits, the common
// case, are read in 64-bit arithmetic; only longer ones pay for 128-bit steps.
#include "digital_wallet/ledger_file.h"

#include <algorithm>
#include <array>
#include <charconv>

namespace keel::examples::wallet {
namespace {

using ledger::AccountFlags;
using ledger::TransferFlags;
using ledger::Uint128;

// The most fields a line has (a T line), and one more to tell that a line has too many.
constexpr size_t kMaxFields = 10;

// Cuts `line` at its commas into `fields`; returns how many there are, or kMaxFields + 1 when
// there are more than kMaxFields.
size_t SplitFields(std::string_view line, std::array<std::string_view, kMaxFields>& fields) {
  size_t count = 0;
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    if (count == kMaxFields) return kMaxFields + 1;
    if (comma == std::string_view::npos) {
      fields[count++] = line.substr(start);
      return count;
    }
    fields[count++] = line.substr(start, comma - start);
    start = comma + 1;
  }
}

struct FlagName {
  std::string_view name;
  uint16_t bit;
};

// TigerBeetle's names and bits (src/tigerbeetle.zig, AccountFlags and TransferFlags).
constexpr std::array<FlagName, 6> kAccountFlagNames = {{
    {"linked", AccountFlags::kLinked},
    {"debits_must_not_exceed_credits", AccountFlags::kDebitsMustNotExceedCredits},
    {"credits_must_not_exceed_debits", AccountFlags::kCreditsMustNotExceedDebits},
    {"history", AccountFlags::kHistory},
    {"imported", kAccountFlagImported},
    {"closed", kAccountFlagClosed},
}};

constexpr std::array<FlagName, 9> kTransferFlagNames = {{
    {"linked", TransferFlags::kLinked},
    {"pending", TransferFlags::kPending},
    {"post_pending_transfer", TransferFlags::kPostPendingTransfer},
    {"void_pending_transfer", TransferFlags::kVoidPendingTransfer},
    {"balancing_debit", TransferFlags::kBalancingDebit},
    {"balancing_credit", TransferFlags::kBalancingCredit},
    {"closing_debit", kTransferFlagClosingDebit},
    {"closing_credit", kTransferFlagClosingCredit},
    {"imported", kTransferFlagImported},
}};

template <size_t N>
std::optional<uint16_t> ParseFlags(std::string_view names, const std::array<FlagName, N>& table) {
  if (names == "0") return 0;
  uint16_t flags = 0;
  size_t start = 0;
  while (true) {
    const size_t bar = names.find('|', start);
    const std::string_view name =
        names.substr(start, bar == std::string_view::npos ? std::string_view::npos : bar - start);
    bool known = false;
    for (const FlagName& entry : table) {
      if (entry.name == name) {
        flags |= entry.bit;
        known = true;
        break;
      }
    }
    if (!known) return std::nullopt;  // an empty name, "0" among names, or a name not in table
    if (bar == std::string_view::npos) return flags;
    start = bar + 1;
  }
}

// A field that must be a number of at most `max`, into `*value` of the field's own type.
template <typename T>
bool ParseField(std::string_view field, Uint128 max, T* value) {
  const std::optional<Uint128> parsed = ParseDecimal(field, max);
  if (!parsed) return false;
  *value = static_cast<T>(*parsed);
  return true;
}

constexpr Uint128 kMax64 = UINT64_MAX;
constexpr Uint128 kMax32 = UINT32_MAX;
constexpr Uint128 kMax16 = UINT16_MAX;

LineKind ParseAccount(const std::array<std::string_view, kMaxFields>& f, ParsedLine& out) {
  ledger::Account account;
  const std::optional<uint16_t> flags = ParseAccountFlags(f[4]);
  if (!ParseField(f[1], ledger::kMaxUint128, &account.id) ||
      !ParseField(f[2], kMax32, &account.ledger) || !ParseField(f[3], kMax16, &account.code) ||
      !flags) {
    return LineKind::kMalformed;
  }
  account.flags = *flags;
  out.account = account;
  return LineKind::kAccount;
}

LineKind ParseTransfer(const std::array<std::string_view, kMaxFields>& f, ParsedLine& out) {
  ledger::Transfer transfer;
  const std::optional<uint16_t> flags = ParseTransferFlags(f[9]);
  if (!ParseField(f[1], ledger::kMaxUint128, &transfer.id) ||
      !ParseField(f[2], ledger::kMaxUint128, &transfer.debit_account_id) ||
      !ParseField(f[3], ledger::kMaxUint128, &transfer.credit_account_id) ||
      !ParseField(f[4], ledger::kMaxUint128, &transfer.amount) ||
      !ParseField(f[5], ledger::kMaxUint128, &transfer.pending_id) ||
      !ParseField(f[6], kMax32, &transfer.timeout) || !ParseField(f[7], kMax32, &transfer.ledger) ||
      !ParseField(f[8], kMax16, &transfer.code) || !flags) {
    return LineKind::kMalformed;
  }
  transfer.flags = *flags;
  out.transfer = transfer;
  return LineKind::kTransfer;
}

}  // namespace

std::optional<Uint128> ParseDecimal(std::string_view digits, Uint128 max) {
  if (digits.empty()) return std::nullopt;
  size_t at = 0;
  while (at < digits.size() && digits[at] == '0') ++at;
  const size_t significant = digits.size() - at;
  // Past 39 significant digits a number is above 2^128 - 1, or not a number: nullopt either way.
  if (significant > kMaxDecimalDigits) return std::nullopt;
  // Up to 19 digits fit 64 bits (10^19 - 1 < 2^64).
  const size_t head_end = at + std::min<size_t>(significant, 19);
  uint64_t head = 0;
  for (; at < head_end; ++at) {
    const auto digit = static_cast<unsigned>(static_cast<unsigned char>(digits[at]) - '0');
    if (digit > 9) return std::nullopt;
    head = head * 10 + digit;
  }
  Uint128 value = head;
  for (; at < digits.size(); ++at) {
    const auto digit = static_cast<unsigned>(static_cast<unsigned char>(digits[at]) - '0');
    if (digit > 9) return std::nullopt;
    if (value > (ledger::kMaxUint128 - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  if (value > max) return std::nullopt;
  return value;
}

std::optional<uint16_t> ParseAccountFlags(std::string_view names) {
  return ParseFlags(names, kAccountFlagNames);
}

std::optional<uint16_t> ParseTransferFlags(std::string_view names) {
  return ParseFlags(names, kTransferFlagNames);
}

LineKind ParseLine(std::string_view line, ParsedLine& out) {
  std::array<std::string_view, kMaxFields> f;
  const size_t count = SplitFields(line, f);
  if (f[0].size() != 1) return LineKind::kMalformed;
  switch (f[0][0]) {
    case 'A':
      return count == 5 ? ParseAccount(f, out) : LineKind::kMalformed;
    case 'T':
      return count == 10 ? ParseTransfer(f, out) : LineKind::kMalformed;
    case 'B':
      return count == 1 ? LineKind::kBatchEnd : LineKind::kMalformed;
    case 'C':
      if (count != 2 || !ParseField(f[1], kMax64, &out.seconds)) return LineKind::kMalformed;
      return LineKind::kClock;
    default:
      return LineKind::kMalformed;
  }
}

char* FormatDecimal(Uint128 value, char* buffer) {
  char* const limit = buffer + kMaxDecimalDigits;
  if (absl::Uint128High64(value) == 0) {
    return std::to_chars(buffer, limit, absl::Uint128Low64(value)).ptr;
  }
  // Base 10^19 digits, least significant first: at most three for 128 bits.
  constexpr uint64_t kTen19 = 10'000'000'000'000'000'000u;
  std::array<uint64_t, 3> parts{};
  size_t count = 0;
  while (value >= kTen19) {
    parts[count++] = absl::Uint128Low64(value % kTen19);
    value /= kTen19;
  }
  char* at = std::to_chars(buffer, limit, absl::Uint128Low64(value)).ptr;
  while (count > 0) {
    uint64_t part = parts[--count];
    for (int i = 18; i >= 0; --i) {
      at[i] = static_cast<char>('0' + part % 10);
      part /= 10;
    }
    at += 19;
  }
  return at;
}

void AppendDecimal(Uint128 value, std::string& out) {
  char buffer[kMaxDecimalDigits];
  out.append(buffer, FormatDecimal(value, buffer));
}

}  // namespace keel::examples::wallet
