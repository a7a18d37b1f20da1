// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What the ledger tool's tests share: running a tool over a store on some input, fed in pieces,
// and a pair of accounts to start files with.
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_LEDGER_TOOL_TESTING_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_LEDGER_TOOL_TESTING_H_

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "digital_wallet/ledger_store.h"
#include "digital_wallet/ledger_tool.h"

namespace keel::examples::wallet::tool_testing {

using ledger::Uint128;

inline constexpr uint64_t kStart = kClockStartSeconds * kNanosPerSecond;
inline constexpr char kTwoAccounts[] = "A,1,1,1,0\nA,2,1,1,0\n";

// Runs a tool over `store` on `input`, fed in pieces of `chunk` bytes (0: at once), and returns
// its output; with `balances`, the balances too.
inline std::string RunOn(LedgerStore& store, std::string_view input, bool balances = false,
                         size_t chunk = 0) {
  std::string out;
  LedgerTool tool(store, [&](std::string_view bytes) {
    out.append(bytes);
    return absl::OkStatus();
  });
  if (chunk == 0) chunk = std::max<size_t>(input.size(), 1);
  for (size_t at = 0; at < input.size(); at += chunk) {
    REQUIRE(tool.Feed(input.substr(at, chunk)).ok());
    REQUIRE(tool.Flush().ok());
  }
  REQUIRE(tool.Finish().ok());
  if (balances) REQUIRE(tool.WriteBalances().ok());
  return out;
}

// The output on a fresh in-memory ledger, which must not depend on how the input is cut.
inline std::string Run(std::string_view input, bool balances = false) {
  MemoryLedgerStore store;
  const std::string out = RunOn(store, input, balances);
  if (input.size() < 4096) {
    for (const size_t chunk : {1, 2, 3, 7, 64}) {
      MemoryLedgerStore other;
      CAPTURE(chunk);
      CHECK(RunOn(other, input, balances, chunk) == out);
    }
  }
  return out;
}

}  // namespace keel::examples::wallet::tool_testing

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_LEDGER_TOOL_TESTING_H_
