// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The lines of a `digital_wallet ledger` input file (docs/digital_wallet.md, "The ledger tool",
// has the format and every rule):
//
//   A,<id>,<ledger>,<code>,<flags>
//   T,<id>,<debit_account_id>,<credit_account_id>,<amount>,<pending_id>,<timeout>,<ledger>,<code>,<flags>
//   B
//   C,<seconds>
//
// Numbers are ASCII decimal digits only (no sign, no spaces, not empty; leading zeros allowed),
// each within TigerBeetle's width for its field: ids and amounts 128 bits, ledger and timeout 32,
// code 16; the seconds of a C line 64 (what the clock can take is the runner's question).
// <flags> is a lone `0` or TigerBeetle's snake_case flag names joined by `|` (repeats allowed).
// Anything else is malformed. Parsing looks at the line alone, never at the ledger: whether an
// account or transfer is valid is the ledger's to answer, with TigerBeetle's result codes.
//
// Example:
//
//   ParsedLine parsed;
//   if (ParseLine("T,7,1,2,1999,0,0,840,10,pending|linked", parsed) == LineKind::kTransfer) {
//     // parsed.transfer.flags == TransferFlags::kPending | TransferFlags::kLinked
//   }
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_LEDGER_FILE_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_LEDGER_FILE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "keel/ledger/types.h"

namespace keel::examples::wallet {

// The longest line the tool reads, without its newline and a trailing '\r'; a longer one is
// malformed, and read past without being held.
inline constexpr size_t kMaxLineBytes = size_t{1} << 20;

// TigerBeetle's flags that keel's ledger does not support (types.h leaves them out). The file
// still names them, so that the ledger can answer reserved_flag as docs/ledger.md says.
inline constexpr uint16_t kAccountFlagImported = 1 << 4;
inline constexpr uint16_t kAccountFlagClosed = 1 << 5;
inline constexpr uint16_t kTransferFlagClosingDebit = 1 << 6;
inline constexpr uint16_t kTransferFlagClosingCredit = 1 << 7;
inline constexpr uint16_t kTransferFlagImported = 1 << 8;

enum class LineKind : uint8_t {
  kAccount,    // an A line: ParsedLine::account
  kTransfer,   // a T line: ParsedLine::transfer
  kBatchEnd,   // B
  kClock,      // C: ParsedLine::seconds
  kMalformed,  // anything else
};

struct ParsedLine {
  ledger::Account account;    // kAccount: id, ledger, code, flags; the rest 0
  ledger::Transfer transfer;  // kTransfer: the nine fields of the line; the rest 0
  uint64_t seconds = 0;       // kClock
};

// Parses one line, given without its '\n' and without a trailing '\r' (the reader strips them).
// Fills the member of `out` that the returned kind names, leaving the others as they were (so
// that a reader can reuse one ParsedLine). Never fails otherwise: whatever is not a line of the
// format is kMalformed.
[[nodiscard]] LineKind ParseLine(std::string_view line, ParsedLine& out);

// A decimal number of ASCII digits, at most `max`; nullopt for an empty field, any other byte,
// or a value above `max`. Leading zeros are allowed, however many.
[[nodiscard]] std::optional<ledger::Uint128> ParseDecimal(std::string_view digits,
                                                          ledger::Uint128 max);

// Flag names joined by '|' (or a lone "0") into AccountFlags / TransferFlags bits, with
// TigerBeetle's bit for each name; nullopt for an unknown or empty name, or "0" among names.
[[nodiscard]] std::optional<uint16_t> ParseAccountFlags(std::string_view names);
[[nodiscard]] std::optional<uint16_t> ParseTransferFlags(std::string_view names);

// The longest decimal form of a 128-bit number: 2^128 - 1 has 39 digits.
inline constexpr size_t kMaxDecimalDigits = 39;

// Writes `value` in decimal, without leading zeros, into `buffer` (at least kMaxDecimalDigits
// bytes) and returns the end of what it wrote.
char* FormatDecimal(ledger::Uint128 value, char* buffer);

// Appends `value` in decimal to `out`.
void AppendDecimal(ledger::Uint128 value, std::string& out);

}  // namespace keel::examples::wallet

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_LEDGER_FILE_H_
