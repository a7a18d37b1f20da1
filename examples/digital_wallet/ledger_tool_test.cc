// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The ledger tool's runner (ledger_tool.h): batching (B, a change of line type, C, a malformed
// line, the end of the input, the cut at 8,189 events), the clock and expiry at exactly the
// timeout, line numbers, CRLF, a missing final newline, overlong lines, balances, output only
// after a Sync, a second run that continues the first's clock, the clock's limits.
// ledger_tool_random_test.cc has the randomized differential test and the runs on a directory.
#include "digital_wallet/ledger_tool.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "digital_wallet/ledger_tool_testing.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/ledger/ledger.h"
#include "keel/ledger/results.h"
#include "testing/testing.h"

namespace keel::examples::wallet {
namespace {

using ledger::Uint128;
using tool_testing::kStart;
using tool_testing::kTwoAccounts;
using tool_testing::Run;
using tool_testing::RunOn;

TEST_CASE("The example of the header") {
  CHECK(Run("A,1,700,10,0\nA,2,700,10,0\nT,9,1,2,100,0,0,700,1,0\n") == "1,1,ok\n2,2,ok\n3,9,ok\n");
}

TEST_CASE("Every A and T line gets a line with TigerBeetle's result name, in input order") {
  const std::string in =
      "A,1,700,10,0\n"
      "A,1,700,10,0\n"         // exists
      "A,1,700,11,0\n"         // exists_with_different_code
      "A,0,700,10,0\n"         // id_must_not_be_zero
      "A,3,0,10,0\n"           // ledger_must_not_be_zero
      "A,4,700,10,imported\n"  // reserved_flag
      "A,5,700,10,closed\n"    // reserved_flag
      "A,2,700,10,debits_must_not_exceed_credits\n"
      "A,6,700,10,debits_must_not_exceed_credits|credits_must_not_exceed_debits\n"
      "T,100,1,2,10,0,0,700,1,0\n"              // ok: 2 may not go negative, but it is credited
      "T,101,2,1,11,0,0,700,1,0\n"              // exceeds_credits
      "T,101,2,1,1,0,0,700,1,0\n"               // id_already_failed
      "T,102,1,9,1,0,0,700,1,0\n"               // credit_account_not_found
      "T,103,1,2,1,0,0,701,1,0\n"               // transfer_must_have_the_same_ledger_as_accounts
      "T,104,1,2,1,0,0,700,1,closing_credit\n"  // reserved_flag
      "T,105,1,1,1,0,0,700,1,0\n"               // accounts_must_be_different
      "T,106,1,2,1,0,7,700,1,0\n"               // timeout_reserved_for_pending_transfer
      "T,100,1,2,10,0,0,700,1,0\n";             // exists
  CHECK(Run(in) ==
        "1,1,ok\n"
        "2,1,exists\n"
        "3,1,exists_with_different_code\n"
        "4,0,id_must_not_be_zero\n"
        "5,3,ledger_must_not_be_zero\n"
        "6,4,reserved_flag\n"
        "7,5,reserved_flag\n"
        "8,2,ok\n"
        "9,6,flags_are_mutually_exclusive\n"
        "10,100,ok\n"
        "11,101,exceeds_credits\n"
        "12,101,id_already_failed\n"
        "13,102,credit_account_not_found\n"
        "14,103,transfer_must_have_the_same_ledger_as_accounts\n"
        "15,104,reserved_flag\n"
        "16,105,accounts_must_be_different\n"
        "17,106,timeout_reserved_for_pending_transfer\n"
        "18,100,exists\n");
}

TEST_CASE("Ids are printed canonically: no leading zeros, all 128 bits") {
  CHECK(Run("A,0007,1,1,0\nA,340282366920938463463374607431768211454,1,1,0\n"
            "A,00340282366920938463463374607431768211455,1,1,0\n") ==
        "1,7,ok\n2,340282366920938463463374607431768211454,ok\n"
        "3,340282366920938463463374607431768211455,id_must_not_be_int_max\n");
}

TEST_CASE("Line numbers count every line: B, C, malformed and empty ones included") {
  CHECK(Run("B\nC,1\nA,1,1,1,0\n\nB\nB\nA,2,1,1,0\nC,0\nx\nA,3,1,1,0\n") ==
        "3,1,ok\n4,-,malformed\n7,2,ok\n9,-,malformed\n10,3,ok\n");
}

TEST_CASE("A B line ends a batch, so a linked chain across it is open") {
  const std::string chain = "T,10,1,2,5,0,0,1,1,linked\nT,11,1,2,5,0,0,1,1,0\n";
  CHECK(Run(kTwoAccounts + chain) == "1,1,ok\n2,2,ok\n3,10,ok\n4,11,ok\n");
  CHECK(Run(kTwoAccounts + std::string("T,10,1,2,5,0,0,1,1,linked\nB\nT,11,1,2,5,0,0,1,1,0\n")) ==
        "1,1,ok\n2,2,ok\n3,10,linked_event_chain_open\n5,11,ok\n");
  // A chain that fails inside one batch: the others get linked_event_failed.
  CHECK(Run(kTwoAccounts + std::string("T,10,1,2,5,0,0,1,1,linked\nT,11,1,3,5,0,0,1,1,linked\n"
                                       "T,12,1,2,5,0,0,1,1,0\nT,13,1,2,5,0,0,1,1,0\n")) ==
        "1,1,ok\n2,2,ok\n3,10,linked_event_failed\n4,11,credit_account_not_found\n"
        "5,12,linked_event_failed\n6,13,ok\n");
}

TEST_CASE("A change from A lines to T lines or back ends a batch") {
  CHECK(Run("A,1,1,1,0\nA,2,1,1,linked\nT,10,1,2,5,0,0,1,1,0\n") ==
        "1,1,ok\n2,2,linked_event_chain_open\n3,10,credit_account_not_found\n");
  CHECK(Run(std::string(kTwoAccounts) + "T,10,1,2,5,0,0,1,1,linked\nA,3,1,1,0\n") ==
        "1,1,ok\n2,2,ok\n3,10,linked_event_chain_open\n4,3,ok\n");
}

TEST_CASE("A C line ends a batch, even C,0") {
  CHECK(Run(std::string(kTwoAccounts) + "T,10,1,2,5,0,0,1,1,linked\nC,0\nT,11,1,2,5,0,0,1,1,0\n") ==
        "1,1,ok\n2,2,ok\n3,10,linked_event_chain_open\n5,11,ok\n");
}

TEST_CASE("A malformed line ends the batch, whose lines come first") {
  CHECK(Run(std::string(kTwoAccounts) +
            "T,10,1,2,5,0,0,1,1,linked\nT,11,1,2,5,0,0,1,1,linked\nT,12,1,2,5,0,0,1,1,lnked\n"
            "T,13,1,2,5,0,0,1,1,0\n") ==
        "1,1,ok\n2,2,ok\n3,10,linked_event_failed\n4,11,linked_event_chain_open\n"
        "5,-,malformed\n6,13,ok\n");
  // A malformed B or C line ends it too.
  CHECK(Run(std::string(kTwoAccounts) + "T,10,1,2,5,0,0,1,1,linked\nB,\nT,11,1,2,5,0,0,1,1,0\n") ==
        "1,1,ok\n2,2,ok\n3,10,linked_event_chain_open\n4,-,malformed\n5,11,ok\n");
  CHECK(Run(std::string(kTwoAccounts) + "T,10,1,2,5,0,0,1,1,linked\nC,x\nT,11,1,2,5,0,0,1,1,0\n") ==
        "1,1,ok\n2,2,ok\n3,10,linked_event_chain_open\n4,-,malformed\n5,11,ok\n");
}

TEST_CASE("The end of the input ends the last batch, with or without a final newline") {
  CHECK(Run(std::string(kTwoAccounts) + "T,10,1,2,5,0,0,1,1,linked\n") ==
        "1,1,ok\n2,2,ok\n3,10,linked_event_chain_open\n");
  CHECK(Run(std::string(kTwoAccounts) + "T,10,1,2,5,0,0,1,1,linked") ==
        "1,1,ok\n2,2,ok\n3,10,linked_event_chain_open\n");
  CHECK(Run("A,1,1,1,0") == "1,1,ok\n");
  CHECK(Run("A,1,1,1,0\nbad") == "1,1,ok\n2,-,malformed\n");
  CHECK(Run("A,1,1,1,0\nB") == "1,1,ok\n");
}

TEST_CASE("Empty input, empty lines, and balances with no accounts") {
  CHECK(Run("").empty());
  CHECK(Run("", true) == "#balances\n");
  CHECK(Run("B\nC,3\n", true) == "#balances\n");
  CHECK(Run("\n") == "1,-,malformed\n");
  CHECK(Run("\n\n") == "1,-,malformed\n2,-,malformed\n");
  CHECK(Run("\r\n") == "1,-,malformed\n");
}

TEST_CASE("CRLF lines give the output of LF lines; only one trailing CR is stripped") {
  const std::string lf =
      "A,1,1,1,0\nA,2,1,1,0\nB\nT,10,1,2,5,0,0,1,1,linked\nC,1\nT,11,1,2,5,0,0,1,1,0\nzz\n";
  std::string crlf;
  for (const char c : lf) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  const std::string want = "1,1,ok\n2,2,ok\n4,10,linked_event_chain_open\n6,11,ok\n7,-,malformed\n";
  CHECK(Run(lf) == want);
  CHECK(Run(crlf) == want);
  CHECK(Run(crlf.substr(0, crlf.size() - 2)) == want);  // CRLF without the last one
  CHECK(Run("A,1,1,1,0\r\r\nA,2,1,1,0\r") == "1,-,malformed\n2,2,ok\n");
  CHECK(Run("B\r\nA,1,1,1,0\rA,2,1,1,0\n") == "2,-,malformed\n");  // a lone CR is no line end
}

TEST_CASE("--balances lists every account in id order, ids past 2^64 included") {
  const std::string in =
      "A,18446744073709551617,1,1,0\n"
      "A,5,1,1,0\n"
      "A,340282366920938463463374607431768211454,1,1,0\n"
      "A,18446744073709551616,1,1,0\n"
      "A,1,1,1,0\n"
      "A,7,2,1,0\n"
      "T,1,5,18446744073709551616,300,0,0,1,1,0\n"
      "T,2,1,340282366920938463463374607431768211454,25,0,0,1,1,pending\n"
      "T,3,18446744073709551617,5,340282366920938463463374607431768211455,0,0,1,1,"
      "balancing_debit\n";
  CHECK(Run(in, true) ==
        "1,18446744073709551617,ok\n2,5,ok\n3,340282366920938463463374607431768211454,ok\n"
        "4,18446744073709551616,ok\n5,1,ok\n6,7,ok\n7,1,ok\n8,2,ok\n9,3,ok\n"
        "#balances\n"
        "1,25,0,0,0\n"
        "5,0,300,0,0\n"
        "7,0,0,0,0\n"
        "18446744073709551616,0,0,0,300\n"
        "18446744073709551617,0,0,0,0\n"
        "340282366920938463463374607431768211454,0,0,25,0\n");
}

TEST_CASE("Events of a batch get consecutive nanoseconds of the clock's second, k never reset") {
  MemoryLedgerStore store;
  std::string out;
  LedgerTool tool(store, [&](std::string_view bytes) {
    out.append(bytes);
    return absl::OkStatus();
  });
  CHECK(tool.clock_seconds() == kClockStartSeconds);
  CHECK(tool.clock_nanos_used() == 0);
  REQUIRE(tool.Feed("A,1,1,1,0\nA,2,1,1,0\nA,3,1,1,0\nC,10\nT,7,1,2,1,0,0,1,1,0\n"
                    "T,8,1,2,1,0,0,1,1,0\nC,0\nC,5\nT,9,1,2,1,0,0,1,1,0\n")
              .ok());
  REQUIRE(tool.Finish().ok());
  const ledger::Ledger& l = store.ledger();
  CHECK(l.LookupAccount(1)->timestamp == kStart + 1);
  CHECK(l.LookupAccount(3)->timestamp == kStart + 3);
  CHECK(l.LookupTransfer(7)->timestamp == kStart + 10 * kNanosPerSecond + 4);
  CHECK(l.LookupTransfer(8)->timestamp == kStart + 10 * kNanosPerSecond + 5);
  CHECK(l.LookupTransfer(9)->timestamp == kStart + 15 * kNanosPerSecond + 6);
  CHECK(tool.clock_seconds() == kClockStartSeconds + 15);
  CHECK(tool.clock_nanos_used() == 6);
  CHECK(l.stats().last_timestamp == kStart + 15 * kNanosPerSecond + 6);
}

TEST_CASE("A batch longer than 8,189 events is cut there; a chain across the cut is open") {
  std::string in;
  for (int i = 1; i <= 8190; ++i) {
    in += "A," + std::to_string(i) + ",1,1," + (i == 8189 ? "linked" : "0") + "\n";
  }
  MemoryLedgerStore store;
  const std::string out = RunOn(store, in);
  std::vector<std::string> lines = absl::StrSplit(out, '\n');
  REQUIRE(lines.size() == 8191);
  CHECK(lines[8187] == "8188,8188,ok");
  CHECK(lines[8188] == "8189,8189,linked_event_chain_open");
  CHECK(lines[8189] == "8190,8190,ok");
  CHECK(store.ledger().LookupAccount(8188)->timestamp == kStart + 8188);
  CHECK(store.ledger().LookupAccount(8190)->timestamp == kStart + 8190);
  // Exactly 8,189 events make one batch, and the chain closes inside it.
  std::string exact;
  for (int i = 1; i <= 8189; ++i) {
    exact += "A," + std::to_string(i) + ",1,1," + (i == 8188 ? "linked" : "0") + "\n";
  }
  const std::string exact_out = Run(exact);
  CHECK(exact_out.find("chain_open") == std::string::npos);
  CHECK(exact_out.find("failed") == std::string::npos);
}

TEST_CASE("A pending transfer expires when the clock reaches its timestamp plus its timeout") {
  const std::string pending = std::string(kTwoAccounts) + "T,10,1,2,100,0,5,1,1,pending\n";
  // One second before: still pending; a post succeeds.
  CHECK(Run(pending + "C,4\n", true) ==
        "1,1,ok\n2,2,ok\n3,10,ok\n#balances\n1,100,0,0,0\n2,0,0,100,0\n");
  CHECK(Run(pending + "C,4\nT,11,0,0,100,10,0,1,1,post_pending_transfer\n", true) ==
        "1,1,ok\n2,2,ok\n3,10,ok\n5,11,ok\n#balances\n1,0,100,0,0\n2,0,0,0,100\n");
  // At the timeout: expired, its amount released, and neither post nor void can touch it.
  CHECK(Run(pending + "C,5\n", true) ==
        "1,1,ok\n2,2,ok\n3,10,ok\n#balances\n1,0,0,0,0\n2,0,0,0,0\n");
  CHECK(Run(pending + "C,5\nT,11,0,0,100,10,0,1,1,post_pending_transfer\n", true) ==
        "1,1,ok\n2,2,ok\n3,10,ok\n5,11,pending_transfer_expired\n#balances\n"
        "1,0,0,0,0\n2,0,0,0,0\n");
  CHECK(Run(pending + "C,2\nC,3\nT,11,0,0,0,10,0,1,1,void_pending_transfer\n") ==
        "1,1,ok\n2,2,ok\n3,10,ok\n6,11,pending_transfer_expired\n");
  CHECK(Run(pending + "C,2\nC,2\nT,11,0,0,0,10,0,1,1,void_pending_transfer\n") ==
        "1,1,ok\n2,2,ok\n3,10,ok\n6,11,ok\n");
  // Created late in its second (after other batches) changes nothing: clock seconds decide.
  CHECK(Run(std::string(kTwoAccounts) + "T,9,1,2,1,0,0,1,1,0\nB\nT,10,1,2,100,0,1,1,1,pending\n"
                                        "C,1\n",
            true) == "1,1,ok\n2,2,ok\n3,9,ok\n5,10,ok\n#balances\n1,0,1,0,0\n2,0,0,0,1\n");
  // A timeout of 0 never expires.
  CHECK(Run(std::string(kTwoAccounts) + "T,10,1,2,100,0,0,1,1,pending\nC,4000000000\n", true) ==
        "1,1,ok\n2,2,ok\n3,10,ok\n#balances\n1,100,0,0,0\n2,0,0,100,0\n");
}

TEST_CASE("More than 8,190 expiries at one C are all released") {
  std::string in = kTwoAccounts;
  constexpr int kPending = 20000;
  for (int i = 1; i <= kPending; ++i) {
    in += "T," + std::to_string(i) + ",1,2,1,0,3,1,1,pending\n";
  }
  in += "C,3\n";
  MemoryLedgerStore store;
  const std::string out = RunOn(store, in, true);
  CHECK(out.substr(out.find("#balances")) == "#balances\n1,0,0,0,0\n2,0,0,0,0\n");
  CHECK(store.ledger().stats().expired == kPending);
}

TEST_CASE("A run releases the expiries a killed run left between the calls of one C") {
  MemoryLedgerStore store;
  std::string in = kTwoAccounts;
  for (int i = 1; i <= 9000; ++i) in += "T," + std::to_string(i) + ",1,2,1,0,1,1,1,pending\n";
  RunOn(store, in);
  // What a C,1 killed after its first call leaves: 8,190 of the 9,000 released.
  const uint64_t now = kStart + kNanosPerSecond + 9002;
  REQUIRE(store.ExpirePendingTransfers(now).value() == ledger::kExpiryBatchMax);
  CHECK(store.ledger().stats().pending == 9000 - ledger::kExpiryBatchMax);
  CHECK(RunOn(store, "", true) == "#balances\n1,0,0,0,0\n2,0,0,0,0\n");
  CHECK(store.ledger().stats().pending == 0);
  CHECK(store.ledger().stats().last_timestamp == now);
}

TEST_CASE("A run with nothing due changes nothing before its first line") {
  MemoryLedgerStore store;
  RunOn(store, std::string(kTwoAccounts) + "T,1,1,2,1,0,5,1,1,pending\nC,4\n");
  const uint64_t hash = store.ledger().StateHash();
  CHECK(RunOn(store, "").empty());
  CHECK(store.ledger().StateHash() == hash);
}

TEST_CASE("A C beyond what the clock can hold is malformed and leaves the clock") {
  // The clock holds S * 10^9 + k <= 2^63 - 1: S up to 9,223,372,036 while k <= 854,775,807.
  constexpr uint64_t kMaxSeconds = 9'223'372'036;
  const std::string to_max = "C," + std::to_string(kMaxSeconds - kClockStartSeconds) + "\n";
  CHECK(Run("A,1,1,1,0\nC,18446744073709551615\nA,2,1,1,0\n") == "1,1,ok\n2,-,malformed\n3,2,ok\n");
  CHECK(Run("C," + std::to_string(kMaxSeconds - kClockStartSeconds + 1) + "\nA,2,1,1,0\n") ==
        "1,-,malformed\n2,2,ok\n");
  MemoryLedgerStore store;
  CHECK(RunOn(store, to_max + "A,2,1,1,0\nC,1\nC,0\nA,3,1,1,0\n") ==
        "2,2,ok\n3,-,malformed\n5,3,ok\n");
  CHECK(store.ledger().LookupAccount(3)->timestamp == kMaxSeconds * kNanosPerSecond + 2);
}

TEST_CASE("A batch that would bring k to 10^9 is an error; the batches before it are output") {
  MemoryLedgerStore store;
  // A ledger whose clock has already used 999,999,990 of its nanoseconds.
  REQUIRE(store.ExpirePendingTransfers(kStart + 999'999'990).ok());
  std::string out;
  LedgerTool tool(store, [&](std::string_view bytes) {
    out.append(bytes);
    return absl::OkStatus();
  });
  CHECK(tool.clock_nanos_used() == 999'999'990);
  std::string in = "A,1,1,1,0\nB\n";
  for (int i = 2; i <= 10; ++i) in += "A," + std::to_string(i) + ",1,1,0\n";
  REQUIRE(tool.Feed(in).ok());  // 9 accounts pending in the open batch
  const absl::Status status = tool.Finish();
  CHECK(status.code() == absl::StatusCode::kOutOfRange);
  CHECK(std::string(status.message()).find("line 11") != std::string::npos);
  REQUIRE(tool.Flush().ok());
  CHECK(out == "1,1,ok\n");
  CHECK(store.ledger().stats().accounts == 1);

  // One event fewer fits exactly: k ends at 999,999,999.
  MemoryLedgerStore fits;
  REQUIRE(fits.ExpirePendingTransfers(kStart + 999'999'990).ok());
  std::string nine;
  for (int i = 1; i <= 9; ++i) nine += "A," + std::to_string(i) + ",1,1,0\n";
  CHECK(RunOn(fits, nine).size() == 9 * 7);
  CHECK(fits.ledger().stats().last_timestamp == kStart + 999'999'999);
}

TEST_CASE("A second run on the same ledger continues its state and its clock") {
  MemoryLedgerStore store;
  CHECK(RunOn(store, std::string(kTwoAccounts) + "T,10,1,2,100,0,5,1,1,pending\n"
                                                 "T,11,1,2,100,0,9,1,1,pending\nC,4\n") ==
        "1,1,ok\n2,2,ok\n3,10,ok\n4,11,ok\n");
  // Line numbers start again; the clock is S + 4 with k = 4.
  {
    LedgerTool tool(store, [](std::string_view) { return absl::OkStatus(); });
    CHECK(tool.clock_seconds() == kClockStartSeconds + 4);
    CHECK(tool.clock_nanos_used() == 4);
  }
  CHECK(RunOn(store,
              "A,1,1,1,0\nC,1\nT,12,0,0,100,10,0,1,1,post_pending_transfer\n"
              "T,13,0,0,100,11,0,1,1,post_pending_transfer\n",
              true) ==
        "1,1,exists\n3,12,pending_transfer_expired\n4,13,ok\n#balances\n1,0,100,0,0\n"
        "2,0,0,0,100\n");
  CHECK_FALSE(store.ledger().LookupTransfer(12).has_value());
  CHECK(store.ledger().LookupTransfer(13)->timestamp == kStart + 5 * kNanosPerSecond + 7);
}

TEST_CASE("Lines over 1 MiB are malformed, read past in any cut; 1 MiB exactly is a line") {
  // An account line of exactly kMaxLineBytes, made long by repeated flag names and padded to the
  // byte by leading zeros in its id.
  std::string flags = "history";
  while (flags.size() + 8 + 100 < kMaxLineBytes) flags += "|history";
  const std::string tail = ",1,1," + flags;
  const std::string exact =
      "A," + std::string(kMaxLineBytes - 2 - 1 - tail.size(), '0') + "1" + tail;
  REQUIRE(exact.size() == kMaxLineBytes);
  const std::string longer = "A,0" + exact.substr(2);
  const std::string in = exact + "\n" + longer + "\n" + exact + "\r\n" + longer +
                         "\r\nA,2,1,1,0\n" + longer;  // the last without a newline
  const std::string want =
      "1,1,ok\n2,-,malformed\n3,1,exists\n4,-,malformed\n5,2,ok\n"
      "6,-,malformed\n";
  for (const size_t chunk :
       {size_t{0}, size_t{1000}, kMaxLineBytes - 3, kMaxLineBytes + 1, size_t{65536}}) {
    MemoryLedgerStore store;
    CAPTURE(chunk);
    CHECK(RunOn(store, in, false, chunk) == want);
  }
}

// A store that checks the tool's durability contract: no output is written while a batch applied
// since the last Sync() is pending, and syncs are counted.
class CheckingStore final : public LedgerStore {
 public:
  absl::Status CreateAccounts(std::span<const ledger::Account> events, uint64_t timestamp,
                              std::vector<ledger::CreateAccountsResult>& results) override {
    dirty_ = true;
    return memory_.CreateAccounts(events, timestamp, results);
  }
  absl::Status CreateTransfers(std::span<const ledger::Transfer> events, uint64_t timestamp,
                               std::vector<ledger::CreateTransfersResult>& results) override {
    dirty_ = true;
    return memory_.CreateTransfers(events, timestamp, results);
  }
  absl::StatusOr<uint32_t> ExpirePendingTransfers(uint64_t timestamp) override {
    dirty_ = true;
    return memory_.ExpirePendingTransfers(timestamp);
  }
  absl::Status Sync() override {
    ++syncs_;
    dirty_ = false;
    return absl::OkStatus();
  }
  const ledger::Ledger& ledger() const override { return memory_.ledger(); }

  bool dirty() const { return dirty_; }
  int syncs() const { return syncs_; }

 private:
  MemoryLedgerStore memory_;
  bool dirty_ = false;
  int syncs_ = 0;
};

TEST_CASE("Output is written only after a Sync, and syncs are grouped") {
  CheckingStore store;
  size_t written = 0;
  int writes = 0;
  LedgerTool tool(store, [&](std::string_view bytes) {
    CHECK_FALSE(store.dirty());
    written += bytes.size();
    ++writes;
    return absl::OkStatus();
  });
  // 200,000 transfers that all fail (no accounts), in one piece: about 7 MB of output.
  std::string in;
  for (int i = 1; i <= 200000; ++i) {
    in += "T," + std::to_string(i) + ",1,2,1,0,0,1,1,0\n";
    if (i % 1000 == 0) in += "C,1\n";
  }
  REQUIRE(tool.Feed(in).ok());
  REQUIRE(tool.Flush().ok());
  REQUIRE(tool.Finish().ok());
  CHECK_FALSE(store.dirty());
  const auto most = static_cast<int>(written / kFlushBytes) + 2;
  CHECK(writes <= most);
  CHECK(store.syncs() <= most + 1);  // Finish syncs even with nothing to write
  CHECK(store.syncs() >= static_cast<int>(written / kFlushBytes));
}

TEST_CASE("Finish syncs even when a trailing C leaves nothing to write") {
  CheckingStore store;
  LedgerTool tool(store, [](std::string_view) { return absl::OkStatus(); });
  REQUIRE(tool.Feed("C,5\n").ok());
  CHECK(store.dirty());
  REQUIRE(tool.Finish().ok());
  CHECK_FALSE(store.dirty());
}

TEST_CASE("The sink's error stops the tool") {
  MemoryLedgerStore store;
  LedgerTool tool(store, [](std::string_view) { return absl::UnavailableError("disk full"); });
  REQUIRE(tool.Feed("A,1,1,1,0\n").ok());
  CHECK(tool.Finish().code() == absl::StatusCode::kUnavailable);
}

TEST_CASE("RunLedgerFile reads a file in chunks and writes to a descriptor") {
  testing::TempDir dir;
  std::string in;
  for (int i = 1; i <= 5000; ++i) in += "A," + std::to_string(i) + ",1,1,0\n";
  for (int i = 1; i <= 60000; ++i) {
    in += "T," + std::to_string(i) + "," + std::to_string(i % 5000 + 1) + "," +
          std::to_string((i * 7) % 5000 + 1) + ",3,0,0,1,1," + (i % 3 == 0 ? "linked" : "0") + "\n";
  }
  const std::string in_path = dir.path() + "/in.txt";
  const std::string out_path = dir.path() + "/out.txt";
  std::ofstream(in_path) << in;
  const int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(out_fd >= 0);
  MemoryLedgerStore store;
  REQUIRE(RunLedgerFile(in_path, store, {.balances = true}, out_fd).ok());
  ::close(out_fd);
  std::ifstream got(out_path);
  std::stringstream buffer;
  buffer << got.rdbuf();
  CHECK(buffer.str() == Run(in, true));

  MemoryLedgerStore other;
  const absl::Status missing = RunLedgerFile(dir.path() + "/missing.txt", other, {}, out_fd);
  CHECK(missing.code() == absl::StatusCode::kNotFound);
  CHECK(std::string(missing.message()).find("missing.txt") != std::string::npos);
}

}  // namespace
}  // namespace keel::examples::wallet
