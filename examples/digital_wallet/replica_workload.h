// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The wallet workload of the replication test and benchmark: one bank account (id 1, no limits)
// that funds the wallets, and wallets (ids 2 .. wallets + 1) that pay each other. With limits on,
// a wallet's debits may not exceed its credits (kDebitsMustNotExceedCredits), so a payment larger
// than the payer's balance fails with exceeds_credits, and which ones fail depends on the order
// the log gave the batches; without limits every transfer succeeds (the benchmark's simple
// transfers, as ledger_bench's). Everything is drawn from a seeded generator.
//
// Example:
//
//   WalletWorkload workload({.seed = 7, .wallets = 1000, .batch_size = 500});
//   std::vector<keel::ledger::Command> setup = workload.AccountBatches();
//   keel::ledger::Command batch = workload.NextTransferBatch();
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_REPLICA_WORKLOAD_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_REPLICA_WORKLOAD_H_

#include <cstdint>
#include <random>
#include <vector>

#include "keel/ledger/command.h"
#include "keel/ledger/types.h"

namespace keel::examples::wallet {

struct WorkloadOptions {
  uint64_t seed = 1;
  uint64_t wallets = 1000;
  uint32_t batch_size = ledger::kBatchMax;  // transfers per batch, 1 .. kBatchMax
  bool limits = true;                       // wallets may not go below zero
  uint32_t funding_percent = 15;            // of transfers, from the bank to a wallet
  uint64_t first_transfer_id = 1'000'000'000;
};

inline constexpr uint32_t kWalletLedger = 840;  // one currency
inline constexpr ledger::Uint128 kBankAccount = 1;

class WalletWorkload {
 public:
  explicit WalletWorkload(const WorkloadOptions& options);

  // The bank and the wallets, in batches of up to kBatchMax accounts.
  [[nodiscard]] std::vector<ledger::Command> AccountBatches() const;
  // The next batch of batch_size transfers, with fresh ids (consecutive from
  // first_transfer_id).
  [[nodiscard]] ledger::Command NextTransferBatch();
  // The id the next transfer will get.
  [[nodiscard]] uint64_t next_transfer_id() const { return next_id_; }

 private:
  WorkloadOptions options_;
  std::mt19937_64 random_;
  uint64_t next_id_;
};

}  // namespace keel::examples::wallet

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_REPLICA_WORKLOAD_H_
