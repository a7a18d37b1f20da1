// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "digital_wallet/replica_workload.h"

#include <algorithm>

namespace keel::examples::wallet {

WalletWorkload::WalletWorkload(const WorkloadOptions& options)
    : options_(options), random_(options.seed), next_id_(options.first_transfer_id) {
  options_.wallets = std::max<uint64_t>(options_.wallets, 2);
  options_.batch_size = std::clamp<uint32_t>(options_.batch_size, 1, ledger::kBatchMax);
}

std::vector<ledger::Command> WalletWorkload::AccountBatches() const {
  std::vector<ledger::Command> batches;
  const uint64_t total = options_.wallets + 1;
  for (uint64_t first = 0; first < total; first += ledger::kBatchMax) {
    ledger::Command batch;
    batch.kind = ledger::CommandKind::kCreateAccounts;
    const uint64_t end = std::min<uint64_t>(total, first + ledger::kBatchMax);
    for (uint64_t i = first; i < end; ++i) {
      const bool bank = i == 0;
      batch.accounts.push_back({.id = kBankAccount + i,
                                .ledger = kWalletLedger,
                                .code = static_cast<uint16_t>(bank ? 1 : 2),
                                .flags = bank || !options_.limits
                                             ? uint16_t{0}
                                             : ledger::AccountFlags::kDebitsMustNotExceedCredits});
    }
    batches.push_back(std::move(batch));
  }
  return batches;
}

ledger::Command WalletWorkload::NextTransferBatch() {
  ledger::Command batch;
  batch.kind = ledger::CommandKind::kCreateTransfers;
  batch.transfers.reserve(options_.batch_size);
  std::uniform_int_distribution<uint64_t> wallet(2, options_.wallets + 1);
  for (uint32_t i = 0; i < options_.batch_size; ++i) {
    const bool funding = random_() % 100 < options_.funding_percent;
    uint64_t debit = funding ? 1 : wallet(random_);
    uint64_t credit = wallet(random_);
    while (credit == debit) credit = wallet(random_);
    const uint64_t amount = funding ? 1 + random_() % 1000 : 1 + random_() % 300;
    batch.transfers.push_back({.id = next_id_++,
                               .debit_account_id = debit,
                               .credit_account_id = credit,
                               .amount = amount,
                               .user_data_64 = random_(),
                               .ledger = kWalletLedger,
                               .code = static_cast<uint16_t>(funding ? 1 : 2)});
  }
  return batch;
}

}  // namespace keel::examples::wallet
