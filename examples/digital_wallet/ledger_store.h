// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// LedgerStore: the ledger that the `digital_wallet ledger` tool drives, behind the four calls the
// tool makes (create accounts, create transfers, expire pending transfers, sync) and a read-only
// view of the state. MemoryLedgerStore keeps a keel::ledger::Ledger in memory; the durable store
// (OpenLedgerStore with a directory) is a keel::ledger::DurableLedger, the ledger's batches as
// events in keel's WAL with snapshots; the tool's batching, clock and output do not depend on
// where the ledger lives.
//
// The contract the tool relies on: a call applies its batch in memory at once (ledger() shows
// it), and everything applied before a Sync() that returned OK survives a crash. The tool writes
// a batch's output only after such a Sync().
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(std::unique_ptr<LedgerStore> store, OpenLedgerStore(""));
//   std::vector<keel::ledger::CreateAccountsResult> results;
//   KEEL_RETURN_IF_ERROR(store->CreateAccounts(accounts, timestamp, results));
//   KEEL_RETURN_IF_ERROR(store->Sync());
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_LEDGER_STORE_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_LEDGER_STORE_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/ledger/ledger.h"

namespace keel::examples::wallet {

class LedgerStore {
 public:
  virtual ~LedgerStore() = default;

  // keel::ledger::Ledger's calls of the same names, with its errors.
  [[nodiscard]] virtual absl::Status CreateAccounts(
      std::span<const ledger::Account> events, uint64_t timestamp,
      std::vector<ledger::CreateAccountsResult>& results) = 0;
  [[nodiscard]] virtual absl::Status CreateTransfers(
      std::span<const ledger::Transfer> events, uint64_t timestamp,
      std::vector<ledger::CreateTransfersResult>& results) = 0;
  [[nodiscard]] virtual absl::StatusOr<uint32_t> ExpirePendingTransfers(uint64_t timestamp) = 0;

  // Makes every call before it durable (nothing to do in memory).
  [[nodiscard]] virtual absl::Status Sync() = 0;

  // The run is over (after its last Sync): a durable store may write a snapshot, so that the
  // next run replays less of the log.
  [[nodiscard]] virtual absl::Status Finish() { return absl::OkStatus(); }

  // The state, with every call applied.
  [[nodiscard]] virtual const ledger::Ledger& ledger() const = 0;
};

// The ledger's limits for the tool: high enough that no file within the tool's clock (fewer than
// 10^9 events over a ledger's life, docs/digital_wallet.md) reaches them, so that a batch is never
// refused for capacity; memory grows with what is created, not with these.
[[nodiscard]] ledger::LedgerOptions ToolLedgerOptions();

class MemoryLedgerStore final : public LedgerStore {
 public:
  explicit MemoryLedgerStore(const ledger::LedgerOptions& options = ToolLedgerOptions())
      : ledger_(options) {}

  absl::Status CreateAccounts(std::span<const ledger::Account> events, uint64_t timestamp,
                              std::vector<ledger::CreateAccountsResult>& results) override {
    return ledger_.CreateAccounts(events, timestamp, results);
  }
  absl::Status CreateTransfers(std::span<const ledger::Transfer> events, uint64_t timestamp,
                               std::vector<ledger::CreateTransfersResult>& results) override {
    return ledger_.CreateTransfers(events, timestamp, results);
  }
  absl::StatusOr<uint32_t> ExpirePendingTransfers(uint64_t timestamp) override {
    return ledger_.ExpirePendingTransfers(timestamp);
  }
  absl::Status Sync() override { return absl::OkStatus(); }
  const ledger::Ledger& ledger() const override { return ledger_; }

 private:
  ledger::Ledger ledger_;
};

// A durable store writes a snapshot when a run ends with at least this many accounts and
// transfers in the log after the last snapshot (replayed at the run's start or created by it):
// the next run then replays only what follows. Replay is fast (tens of millions of events a
// second), so snapshots are kept rare; each writes the whole state.
inline constexpr uint64_t kSnapshotAfterEvents = 1'000'000;

// The store for `--dir DIR`: in memory when `dir` is empty; otherwise a DurableLedger in `dir`,
// created if absent, continuing from what an earlier run left there (DurableLedger::Open's
// errors: a damaged log, another process with `dir` open).
[[nodiscard]] absl::StatusOr<std::unique_ptr<LedgerStore>> OpenLedgerStore(
    const std::string& dir, uint64_t snapshot_after_events = kSnapshotAfterEvents);

}  // namespace keel::examples::wallet

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_LEDGER_STORE_H_
