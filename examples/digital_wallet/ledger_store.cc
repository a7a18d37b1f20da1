// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The ledger tool's stores (ledger_store.h): in memory, or a keel::ledger::DurableLedger.
#include "digital_wallet/ledger_store.h"

#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/ledger/durable_ledger.h"

namespace keel::examples::wallet {
namespace {

class DurableLedgerStore final : public LedgerStore {
 public:
  DurableLedgerStore(std::unique_ptr<ledger::DurableLedger> ledger, uint64_t events_in_log,
                     uint64_t snapshot_after_events)
      : ledger_(std::move(ledger)),
        events_since_snapshot_(events_in_log),
        snapshot_after_events_(snapshot_after_events) {}

  absl::Status CreateAccounts(std::span<const ledger::Account> events, uint64_t timestamp,
                              std::vector<ledger::CreateAccountsResult>& results) override {
    events_since_snapshot_ += events.size();
    return ledger_->CreateAccounts(events, timestamp, results).status();
  }
  absl::Status CreateTransfers(std::span<const ledger::Transfer> events, uint64_t timestamp,
                               std::vector<ledger::CreateTransfersResult>& results) override {
    events_since_snapshot_ += events.size();
    return ledger_->CreateTransfers(events, timestamp, results).status();
  }
  absl::StatusOr<uint32_t> ExpirePendingTransfers(uint64_t timestamp) override {
    KEEL_ASSIGN_OR_RETURN(const ledger::DurableLedger::Expiry expiry,
                          ledger_->ExpirePendingTransfers(timestamp));
    return expiry.expired;
  }
  absl::Status Sync() override { return ledger_->Sync(); }
  absl::Status Finish() override {
    if (events_since_snapshot_ < snapshot_after_events_) return absl::OkStatus();
    KEEL_RETURN_IF_ERROR(ledger_->WriteSnapshot().status());
    events_since_snapshot_ = 0;
    return absl::OkStatus();
  }
  const ledger::Ledger& ledger() const override { return ledger_->ledger(); }

 private:
  std::unique_ptr<ledger::DurableLedger> ledger_;
  uint64_t events_since_snapshot_;
  uint64_t snapshot_after_events_;
};

}  // namespace

ledger::LedgerOptions ToolLedgerOptions() {
  // The tool's clock gives each event one nanosecond of a 10^9 budget (ledger_tool.h), so a
  // ledger never holds 10^9 accounts or transfers.
  ledger::LedgerOptions options;
  options.max_accounts = 1'000'000'000;
  options.max_transfers = 1'000'000'000;
  return options;
}

absl::StatusOr<std::unique_ptr<LedgerStore>> OpenLedgerStore(const std::string& dir,
                                                             uint64_t snapshot_after_events) {
  if (dir.empty()) return std::make_unique<MemoryLedgerStore>();
  ledger::DurableLedgerOptions options;
  options.ledger = ToolLedgerOptions();
  ledger::DurableLedgerReport report;
  absl::StatusOr<std::unique_ptr<ledger::DurableLedger>> durable =
      ledger::DurableLedger::Open(dir, options, &report);
  if (!durable.ok()) {
    return absl::Status(durable.status().code(),
                        base::Cat("--dir ", base::Quoted(dir), ": ", durable.status().message()));
  }
  // The accounts replayed are not counted apart; transfers are most of any ledger's events.
  return std::make_unique<DurableLedgerStore>(*std::move(durable), report.transfers_replayed,
                                              snapshot_after_events);
}

}  // namespace keel::examples::wallet
