// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Opening the ledger tool's store (ledger_store.h).
#include "digital_wallet/ledger_store.h"

#include "keel/base/strings.h"

namespace keel::examples::wallet {

ledger::LedgerOptions ToolLedgerOptions() {
  // The tool's clock gives each event one nanosecond of a 10^9 budget (ledger_tool.h), so a
  // ledger never holds 10^9 accounts or transfers.
  ledger::LedgerOptions options;
  options.max_accounts = 1'000'000'000;
  options.max_transfers = 1'000'000'000;
  return options;
}

absl::StatusOr<std::unique_ptr<LedgerStore>> OpenLedgerStore(const std::string& dir) {
  if (dir.empty()) return std::make_unique<MemoryLedgerStore>();
  return absl::UnimplementedError(
      base::Cat("--dir ", base::Quoted(dir),
                ": the durable ledger (keel::ledger::DurableLedger) is not built yet"));
}

}  // namespace keel::examples::wallet
