// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The ledger tool's line format (ledger_file.h): every line type, every field at its width and one
// past it, the flag names and their bits, the shapes that are malformed, decimal output, and
// random bytes.
#include "digital_wallet/ledger_file.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "keel/base/random.h"
#include "keel/ledger/types.h"
#include "testing/testing.h"

namespace keel::examples::wallet {
namespace {

using ledger::AccountFlags;
using ledger::TransferFlags;
using ledger::Uint128;

constexpr char kMax128[] = "340282366920938463463374607431768211455";   // 2^128 - 1
constexpr char kPast128[] = "340282366920938463463374607431768211456";  // 2^128

std::string Decimal(Uint128 value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

LineKind Kind(std::string_view line) {
  ParsedLine parsed;
  return ParseLine(line, parsed);
}

TEST_CASE("An account line fills id, ledger, code and flags, and nothing else") {
  ParsedLine parsed;
  REQUIRE(ParseLine("A,12,700,10,debits_must_not_exceed_credits|history", parsed) ==
          LineKind::kAccount);
  CHECK(parsed.account.id == 12);
  CHECK(parsed.account.ledger == 700);
  CHECK(parsed.account.code == 10);
  CHECK(parsed.account.flags ==
        (AccountFlags::kDebitsMustNotExceedCredits | AccountFlags::kHistory));
  CHECK(parsed.account.debits_pending == 0);
  CHECK(parsed.account.credits_posted == 0);
  CHECK(parsed.account.user_data_128 == 0);
  CHECK(parsed.account.timestamp == 0);
}

TEST_CASE("A transfer line fills its nine fields in the order of the format") {
  ParsedLine parsed;
  REQUIRE(ParseLine("T,1,2,3,4,5,6,7,8,pending|linked", parsed) == LineKind::kTransfer);
  const ledger::Transfer& t = parsed.transfer;
  CHECK(t.id == 1);
  CHECK(t.debit_account_id == 2);
  CHECK(t.credit_account_id == 3);
  CHECK(t.amount == 4);
  CHECK(t.pending_id == 5);
  CHECK(t.timeout == 6);
  CHECK(t.ledger == 7);
  CHECK(t.code == 8);
  CHECK(t.flags == (TransferFlags::kPending | TransferFlags::kLinked));
  CHECK(t.user_data_64 == 0);
  CHECK(t.timestamp == 0);
}

TEST_CASE("B and C lines") {
  ParsedLine parsed;
  CHECK(ParseLine("B", parsed) == LineKind::kBatchEnd);
  REQUIRE(ParseLine("C,42", parsed) == LineKind::kClock);
  CHECK(parsed.seconds == 42);
  REQUIRE(ParseLine("C,0", parsed) == LineKind::kClock);
  CHECK(parsed.seconds == 0);
  REQUIRE(ParseLine("C,18446744073709551615", parsed) == LineKind::kClock);
  CHECK(parsed.seconds == UINT64_MAX);
  CHECK(Kind("C,18446744073709551616") == LineKind::kMalformed);
}

TEST_CASE("Ids and amounts take 2^128 - 1, and 2^128 is malformed") {
  ParsedLine parsed;
  REQUIRE(ParseLine(std::string("A,") + kMax128 + ",1,1,0", parsed) == LineKind::kAccount);
  CHECK(parsed.account.id == ledger::kMaxUint128);
  CHECK(Kind(std::string("A,") + kPast128 + ",1,1,0") == LineKind::kMalformed);
  // Each 128-bit field of a transfer, one at a time.
  for (int field = 1; field <= 5; ++field) {
    std::vector<std::string> f = {"T", "1", "2", "3", "4", "5", "6", "7", "8", "0"};
    f[field] = kMax128;
    std::string line = f[0];
    for (size_t i = 1; i < f.size(); ++i) line += "," + f[i];
    CAPTURE(line);
    REQUIRE(ParseLine(line, parsed) == LineKind::kTransfer);
    const Uint128 values[] = {parsed.transfer.id, parsed.transfer.debit_account_id,
                              parsed.transfer.credit_account_id, parsed.transfer.amount,
                              parsed.transfer.pending_id};
    CHECK(values[field - 1] == ledger::kMaxUint128);
    f[field] = kPast128;
    line = f[0];
    for (size_t i = 1; i < f.size(); ++i) line += "," + f[i];
    CHECK(Kind(line) == LineKind::kMalformed);
  }
}

TEST_CASE("Ledger and timeout take 2^32 - 1, code 2^16 - 1; one more is malformed") {
  ParsedLine parsed;
  REQUIRE(ParseLine("A,1,4294967295,65535,0", parsed) == LineKind::kAccount);
  CHECK(parsed.account.ledger == UINT32_MAX);
  CHECK(parsed.account.code == UINT16_MAX);
  CHECK(Kind("A,1,4294967296,1,0") == LineKind::kMalformed);
  CHECK(Kind("A,1,1,65536,0") == LineKind::kMalformed);

  REQUIRE(ParseLine("T,1,2,3,4,0,4294967295,4294967295,65535,0", parsed) == LineKind::kTransfer);
  CHECK(parsed.transfer.timeout == UINT32_MAX);
  CHECK(parsed.transfer.ledger == UINT32_MAX);
  CHECK(parsed.transfer.code == UINT16_MAX);
  CHECK(Kind("T,1,2,3,4,0,4294967296,1,1,0") == LineKind::kMalformed);
  CHECK(Kind("T,1,2,3,4,0,0,4294967296,1,0") == LineKind::kMalformed);
  CHECK(Kind("T,1,2,3,4,0,0,1,65536,0") == LineKind::kMalformed);
  // Far past the width, and past 2^128 in a narrow field, are malformed too.
  CHECK(Kind(std::string("T,1,2,3,4,0,") + kPast128 + ",1,1,0") == LineKind::kMalformed);
  CHECK(Kind("A,1,1,99999999999999999999,0") == LineKind::kMalformed);
}

TEST_CASE("Numbers are ASCII digits; leading zeros are allowed, however many") {
  CHECK(ParseDecimal("0", ledger::kMaxUint128) == Uint128{0});
  CHECK(ParseDecimal("000", ledger::kMaxUint128) == Uint128{0});
  CHECK(ParseDecimal("007", ledger::kMaxUint128) == Uint128{7});
  CHECK(ParseDecimal(std::string(100, '0') + kMax128, ledger::kMaxUint128) == ledger::kMaxUint128);
  CHECK(ParseDecimal(std::string(100, '0') + "65535", UINT16_MAX) == Uint128{UINT16_MAX});
  CHECK(!ParseDecimal(std::string(100, '0') + kPast128, ledger::kMaxUint128));
  CHECK(!ParseDecimal(std::string(kMax128) + "0", ledger::kMaxUint128));  // 40 digits
  CHECK(ParseDecimal("18446744073709551615", ledger::kMaxUint128) == Uint128{UINT64_MAX});
  CHECK(ParseDecimal("18446744073709551616", ledger::kMaxUint128) == absl::MakeUint128(1, 0));
  CHECK(ParseDecimal("9999999999999999999", ledger::kMaxUint128) ==
        Uint128{9'999'999'999'999'999'999u});  // 19 digits: the 64-bit path's most
  CHECK(ParseDecimal("99999999999999999999", ledger::kMaxUint128) ==
        absl::MakeUint128(5, 7'766'279'631'452'241'919u));  // 20: the first 128-bit step
  for (const char* bad :
       {"", "+1", "-0", " 1", "1 ", "1a", "0x10", "1e3", "1.0", "\xd9\xa1", "1\t", "12,", "\0"}) {
    CAPTURE(bad);
    CHECK(!ParseDecimal(bad, ledger::kMaxUint128));
  }
  CHECK(!ParseDecimal(std::string_view("1\0", 2), ledger::kMaxUint128));
  // A bad byte after many digits, in the 128-bit part.
  CHECK(!ParseDecimal("1234567890123456789012345x", ledger::kMaxUint128));
}

TEST_CASE("Account flag names have TigerBeetle's bits, imported and closed included") {
  CHECK(ParseAccountFlags("0") == uint16_t{0});
  CHECK(ParseAccountFlags("linked") == AccountFlags::kLinked);
  CHECK(ParseAccountFlags("debits_must_not_exceed_credits") ==
        AccountFlags::kDebitsMustNotExceedCredits);
  CHECK(ParseAccountFlags("credits_must_not_exceed_debits") ==
        AccountFlags::kCreditsMustNotExceedDebits);
  CHECK(ParseAccountFlags("history") == AccountFlags::kHistory);
  CHECK(ParseAccountFlags("imported") == uint16_t{1 << 4});
  CHECK(ParseAccountFlags("closed") == uint16_t{1 << 5});
  CHECK(ParseAccountFlags("linked|history|closed") == uint16_t{1 | 8 | 32});
  CHECK(ParseAccountFlags("history|history|linked|history") == uint16_t{1 | 8});
  // Transfer names are not account names.
  CHECK(!ParseAccountFlags("pending"));
  CHECK(!ParseAccountFlags("closing_debit"));
}

TEST_CASE("Transfer flag names have TigerBeetle's bits, closing and imported included") {
  CHECK(ParseTransferFlags("0") == uint16_t{0});
  const std::pair<const char*, uint16_t> names[] = {
      {"linked", TransferFlags::kLinked},
      {"pending", TransferFlags::kPending},
      {"post_pending_transfer", TransferFlags::kPostPendingTransfer},
      {"void_pending_transfer", TransferFlags::kVoidPendingTransfer},
      {"balancing_debit", TransferFlags::kBalancingDebit},
      {"balancing_credit", TransferFlags::kBalancingCredit},
      {"closing_debit", 1 << 6},
      {"closing_credit", 1 << 7},
      {"imported", 1 << 8},
  };
  uint16_t all = 0;
  std::string joined;
  for (const auto& [name, bit] : names) {
    CAPTURE(name);
    CHECK(ParseTransferFlags(name) == bit);
    all |= bit;
    if (!joined.empty()) joined += '|';
    joined += name;
  }
  CHECK(ParseTransferFlags(joined) == all);
  CHECK(ParseTransferFlags("pending|linked|pending") ==
        (TransferFlags::kPending | TransferFlags::kLinked));
  CHECK(!ParseTransferFlags("history"));
  CHECK(!ParseTransferFlags("closed"));
}

TEST_CASE("Unknown, empty and numeric flags, and 0 among names, are malformed") {
  for (const char* bad : {"",
                          "|",
                          "linked|",
                          "|linked",
                          "linked||pending",
                          "0|linked",
                          "linked|0",
                          "00",
                          "1",
                          "2",
                          "3",
                          "0x1",
                          "LINKED",
                          "Linked",
                          " linked",
                          "linked ",
                          "link",
                          "linkedx",
                          "pending,linked",
                          "-"}) {
    CAPTURE(bad);
    CHECK(!ParseTransferFlags(bad));
    CHECK(!ParseAccountFlags(bad));
  }
  CHECK(Kind("A,1,1,1,") == LineKind::kMalformed);
  CHECK(Kind("A,1,1,1,frozen") == LineKind::kMalformed);
  CHECK(Kind("T,1,2,3,4,0,0,1,1,pending|") == LineKind::kMalformed);
}

TEST_CASE("Wrong field counts, unknown types and empty lines are malformed") {
  for (const char* bad : {
           "",
           "A",
           "A,1,1,1",
           "A,1,1,1,0,",
           "A,1,1,1,0,0",
           ",1,1,1,0",
           "a,1,1,1,0",
           "AA,1,1,1,0",
           " A,1,1,1,0",
           "A ,1,1,1,0",
           "T,1,2,3,4,0,0,1,1",
           "T,1,2,3,4,0,0,1,1,0,",
           "T,1,2,3,4,0,0,1,1,0,0",
           "T,1,2,3,4,0,0,1,1,0,0,0,0,0,0",
           "t,1,2,3,4,0,0,1,1,0",
           "B,",
           "B,1",
           "B ",
           " B",
           "b",
           "C",
           "C,",
           "C,1,2",
           "C,-1",
           "C, 1",
           "c,1",
           "X,1",
           "#comment",
           ",",
           "A,1,,1,0",
           "T,1,2,3,,0,0,1,1,0",
           "\r",
           "B\r",  // the reader strips one '\r'; the parser sees whatever is left
       }) {
    CAPTURE(bad);
    CHECK(Kind(bad) == LineKind::kMalformed);
  }
}

TEST_CASE("A malformed line leaves the ParsedLine's other members as they were") {
  ParsedLine parsed;
  REQUIRE(ParseLine("A,5,1,1,0", parsed) == LineKind::kAccount);
  REQUIRE(ParseLine("T,9,1,2,3,0,0,1,1,0", parsed) == LineKind::kTransfer);
  CHECK(parsed.account.id == 5);
  CHECK(ParseLine("A,6,1,1,bogus", parsed) == LineKind::kMalformed);
  CHECK(parsed.account.id == 5);
  CHECK(parsed.transfer.id == 9);
}

TEST_CASE("Decimal output has no leading zeros and round-trips every width") {
  const Uint128 cases[] = {
      0,
      1,
      9,
      10,
      UINT64_MAX,
      absl::MakeUint128(1, 0),
      Uint128{10'000'000'000'000'000'000u},
      Uint128{9'999'999'999'999'999'999u},
      absl::MakeUint128(5, 7'766'279'631'452'241'920u),  // 10^20
      ParseDecimal("100000000000000000000000000000000000000", ledger::kMaxUint128).value(),
      ParseDecimal("100000000000000000000000000000000000001", ledger::kMaxUint128).value(),
      ledger::kMaxUint128 - 1,
      ledger::kMaxUint128,
  };
  for (const Uint128 value : cases) {
    std::string out = "x";
    AppendDecimal(value, out);
    CHECK(out.substr(1) == Decimal(value));
    CHECK(out[0] == 'x');
  }
  base::Random rng(testing::TestSeed(20260515));
  for (int i = 0; i < 20000; ++i) {
    const int shift = static_cast<int>(rng.Uniform(128));
    const Uint128 value = absl::MakeUint128(rng.Next(), rng.Next()) >> shift;
    std::string out;
    AppendDecimal(value, out);
    REQUIRE(out == Decimal(value));
    REQUIRE(ParseDecimal(out, ledger::kMaxUint128) == value);
  }
}

TEST_CASE("Random bytes never crash the parser, and only well-shaped lines parse") {
  const uint64_t seed = testing::TestSeed(1515);
  CAPTURE(seed);
  base::Random rng(seed);
  const std::string alphabet = "ATBC,|0123456789linkedpending_\r\n x";
  for (int i = 0; i < 50000; ++i) {
    std::string line;
    const uint64_t length = rng.Uniform(40);
    for (uint64_t j = 0; j < length; ++j) {
      line += rng.Bernoulli(0.9) ? alphabet[rng.Uniform(alphabet.size())]
                                 : static_cast<char>(rng.Uniform(256));
    }
    ParsedLine parsed;
    const LineKind kind = ParseLine(line, parsed);
    CAPTURE(line);
    if (kind == LineKind::kBatchEnd) CHECK(line == "B");
    if (kind == LineKind::kClock) CHECK(line.substr(0, 2) == "C,");
    if (kind == LineKind::kAccount || kind == LineKind::kTransfer) {
      CHECK(line[0] == (kind == LineKind::kAccount ? 'A' : 'T'));
      CHECK(std::count(line.begin(), line.end(), ',') == (kind == LineKind::kAccount ? 4 : 9));
      CHECK(line.find_first_not_of("ATBC,|0123456789abcdefghijklmnopqrstuvwxyz_") ==
            std::string::npos);
    }
  }
}

TEST_CASE("Valid lines with bytes changed, added or removed never crash the parser") {
  const uint64_t seed = testing::TestSeed(1516);
  CAPTURE(seed);
  base::Random rng(seed);
  const std::string valid[] = {
      "A,1,700,10,debits_must_not_exceed_credits|linked",
      "T,340282366920938463463374607431768211455,2,3,4,0,4294967295,7,65535,pending|linked",
      "T,1,0,0,18446744073709551616,9,0,1,1,post_pending_transfer",
      "C,18446744073709551615",
      "B",
  };
  for (int i = 0; i < 50000; ++i) {
    std::string line = valid[rng.Uniform(std::size(valid))];
    const uint64_t edits = 1 + rng.Uniform(3);
    for (uint64_t e = 0; e < edits; ++e) {
      const size_t at = rng.Uniform(line.size() + 1);
      const auto byte = static_cast<char>(rng.Bernoulli(0.5) ? "0,|9A"[rng.Uniform(5)]
                                                             : static_cast<char>(rng.Uniform(256)));
      switch (rng.Uniform(3)) {
        case 0:
          if (at < line.size()) line[at] = byte;
          break;
        case 1:
          line.insert(line.begin() + static_cast<std::ptrdiff_t>(at), byte);
          break;
        default:
          if (at < line.size()) line.erase(at, 1);
      }
    }
    ParsedLine parsed;
    const LineKind kind = ParseLine(line, parsed);
    CAPTURE(line);
    if (kind == LineKind::kBatchEnd) CHECK(line == "B");
    if (kind == LineKind::kAccount) CHECK(std::count(line.begin(), line.end(), ',') == 4);
    if (kind == LineKind::kTransfer) CHECK(std::count(line.begin(), line.end(), ',') == 9);
  }
}

}  // namespace
}  // namespace keel::examples::wallet
