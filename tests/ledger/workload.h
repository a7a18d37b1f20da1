// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A seeded stream of ledger commands for the event-sourcing tests (durable ledger, read model),
// and the reference: a plain Ledger's StateHash after each number of them.
#ifndef KEEL_TESTS_LEDGER_WORKLOAD_H_
#define KEEL_TESTS_LEDGER_WORKLOAD_H_

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "keel/base/random.h"
#include "keel/ledger/command.h"
#include "keel/ledger/ledger.h"

namespace keel::ledger::testing {

inline constexpr uint64_t kSecond = 1'000'000'000;
inline constexpr uint32_t kAccounts = 24;

// A seeded stream of commands that reaches the ledger's kinds of change: accounts (some keeping
// history, some with limits), transfers single-phase and pending (some with timeouts), posts and
// voids, linked chains that hold or fail, transient failures (failed ids), and expiries.
class Workload {
 public:
  explicit Workload(uint64_t seed) : rng_(seed) {}

  Command Next() {
    Command c;
    if (index_++ == 0) {
      c.kind = CommandKind::kCreateAccounts;
      for (uint32_t i = 1; i <= kAccounts; ++i) {
        Account a;
        a.id = Uint128{i} << (i % 3 == 0 ? 70 : 0) | i;
        a.ledger = 1 + i % 2;
        a.code = 7;
        a.flags =
            static_cast<uint16_t>((i % 4 == 0 ? AccountFlags::kHistory : 0) |
                                  (i % 5 == 0 ? AccountFlags::kDebitsMustNotExceedCredits : 0));
        c.accounts.push_back(a);
        ids_.push_back(a.id);
      }
      c.timestamp = Tick(c.accounts.size());
      return c;
    }
    if (rng_.Bernoulli(0.1)) {
      c.kind = CommandKind::kExpirePendingTransfers;
      now_ += rng_.UniformInRange(1, 3) * kSecond;
      c.timestamp = now_;
      return c;
    }
    c.kind = CommandKind::kCreateTransfers;
    const uint64_t n = rng_.UniformInRange(1, 24);
    for (uint64_t i = 0; i < n; ++i) c.transfers.push_back(RandomTransfer());
    if (rng_.Bernoulli(0.2)) c.transfers.back().flags |= TransferFlags::kLinked;  // chain open
    c.timestamp = Tick(n);
    return c;
  }

 private:
  uint64_t Tick(uint64_t n) {
    now_ += n + rng_.Uniform(1000);
    return now_;
  }

  Transfer RandomTransfer() {
    Transfer t;
    t.id = next_id_++;
    if (rng_.Bernoulli(0.05) && t.id > 3) t.id -= rng_.UniformInRange(1, 3);  // exists...
    t.debit_account_id = ids_[rng_.Uniform(ids_.size())];
    t.credit_account_id = ids_[rng_.Uniform(ids_.size())];
    if (rng_.Bernoulli(0.03)) t.credit_account_id = 999;  // not found: a failed id
    t.amount = rng_.UniformInRange(0, 1000);
    t.ledger = 1 + static_cast<uint32_t>(rng_.Uniform(2));
    t.code = 1;
    const double kind = rng_.UniformDouble();
    if (kind < 0.25) {
      t.flags = TransferFlags::kPending;
      if (rng_.Bernoulli(0.5)) t.timeout = static_cast<uint32_t>(rng_.UniformInRange(1, 4));
      pending_.push_back(t.id);
    } else if (kind < 0.4 && !pending_.empty()) {
      t.flags = rng_.Bernoulli(0.6) ? TransferFlags::kPostPendingTransfer
                                    : TransferFlags::kVoidPendingTransfer;
      t.pending_id = pending_[rng_.Uniform(pending_.size())];
      t.debit_account_id = 0;
      t.credit_account_id = 0;
      t.ledger = 0;
      t.code = 0;
      t.amount = rng_.Bernoulli(0.5) ? kMaxUint128 : t.amount;
      if (t.flags == TransferFlags::kVoidPendingTransfer) t.amount = 0;
    } else if (kind < 0.45) {
      t.flags = TransferFlags::kBalancingDebit;
    }
    if (rng_.Bernoulli(0.15)) t.flags |= TransferFlags::kLinked;
    return t;
  }

  base::Random rng_;
  uint64_t index_ = 0;
  uint64_t now_ = 1'700'000'000 * kSecond;
  Uint128 next_id_ = 1;
  std::vector<Uint128> ids_;
  std::vector<Uint128> pending_;
};

// The reference: the state hash after each number of commands (hashes[0]: none).
inline std::vector<uint64_t> ReferenceHashes(uint64_t seed, size_t commands) {
  Workload workload(seed);
  Ledger ledger;
  std::vector<uint64_t> hashes = {ledger.StateHash()};
  for (size_t i = 0; i < commands; ++i) {
    REQUIRE(ledger.Execute(workload.Next()).ok());
    hashes.push_back(ledger.StateHash());
  }
  return hashes;
}

}  // namespace keel::ledger::testing

#endif  // KEEL_TESTS_LEDGER_WORKLOAD_H_
