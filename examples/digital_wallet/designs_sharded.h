// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The chapter's first design, balances sharded in memory, and the single node it starts from.
//
// "One Redis node is not enough to handle 1 million TPS. We need to set up a cluster of Redis
// nodes and evenly distribute user accounts among them." Each shard here is one such node: a hash
// map from wallet to balance, with the atomic operations a Redis node offers on its own keys (a
// Lua script that checks and decrements, or one that moves money between two of its keys). The
// stateless wallet service routes every wallet through the shard map (designs_workload.h: hash
// slot, then slot table) and updates the balances there.
//
// Within one shard a transfer is one atomic script. Across shards it is two independent updates,
// debit on the payer's shard and then credit on the payee's, and nothing ties them together. The
// design injects the two failures that shows:
//
//   crash-after-debit   the service dies between the debit and the credit: the payer has paid,
//                       the payee never receives. Money is lost.
//   credit-retried      the credit's reply is lost and the service, seeing a timeout, sends the
//                       credit again: the payee receives twice. Money is created.
//
// Both outcomes are counted (kHalfApplied, kCreditedTwice) and the report shows the money lost
// and created: the chapter's reason to move on to distributed transactions.
//
// SingleMapDesign is the baseline: every balance in one std::unordered_map on one node, no
// routing, every transfer atomic. It is what sharding must beat per node, and what cannot scale
// past one machine.
//
// Example:
//
//   ShardedDesign sharded(workload);
//   KEEL_ASSIGN_OR_RETURN(Outcome o, sharded.Execute(workload.transfers[0], kNoFault));
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_SHARDED_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_SHARDED_H_

#include <cstdint>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "digital_wallet/designs_interface.h"
#include "digital_wallet/designs_workload.h"

namespace keel::examples::wallet::designs {

// One in-memory shard's balances (a Redis node), with the operations that are atomic on it.
// Every wallet it is asked about must have been added (a bug otherwise: the caller routed wrong).
class BalanceShard {
 public:
  void Add(WalletId wallet, int64_t balance) { balances_[wallet] = balance; }
  [[nodiscard]] bool Has(WalletId wallet) const { return balances_.contains(wallet); }
  [[nodiscard]] int64_t balance(WalletId wallet) const;
  // The balance's slot, for the participants that update it inside their own transactions.
  [[nodiscard]] int64_t& at(WalletId wallet);
  // Takes `amount` if the balance covers it; false (and nothing changes) otherwise.
  [[nodiscard]] bool Debit(WalletId wallet, int64_t amount);
  void Credit(WalletId wallet, int64_t amount);
  // Both wallets on this shard: moves `amount` if `from` covers it, else changes nothing.
  [[nodiscard]] bool Transfer(WalletId from, WalletId to, int64_t amount);
  [[nodiscard]] size_t size() const { return balances_.size(); }

 private:
  absl::flat_hash_map<WalletId, int64_t> balances_;
};

// Builds the shards of `workload`'s shard map with its starting balances.
[[nodiscard]] std::vector<BalanceShard> MakeBalanceShards(const Workload& workload);

class SingleMapDesign final : public Design {
 public:
  explicit SingleMapDesign(const Workload& workload);

  [[nodiscard]] std::string_view name() const override { return "single node"; }
  [[nodiscard]] std::string_view guarantee() const override;
  [[nodiscard]] bool has_phase_messages() const override { return false; }
  [[nodiscard]] absl::StatusOr<Outcome> Execute(const Transfer& t, int fault) override;
  [[nodiscard]] int64_t balance(WalletId wallet) const override;

 private:
  std::unordered_map<WalletId, int64_t> balances_;
};

class ShardedDesign final : public Design {
 public:
  enum FaultPoint : int { kCrashAfterDebit = 0, kCreditRetried = 1 };

  explicit ShardedDesign(const Workload& workload);

  [[nodiscard]] std::string_view name() const override { return "sharded in memory"; }
  [[nodiscard]] std::string_view guarantee() const override;
  // The fault points, by name (see the file comment).
  [[nodiscard]] static std::span<const std::string_view> Points();
  [[nodiscard]] std::span<const std::string_view> fault_points() const override { return Points(); }
  [[nodiscard]] bool atomic_across_shards() const override { return false; }
  [[nodiscard]] bool has_phase_messages() const override { return false; }
  [[nodiscard]] absl::StatusOr<Outcome> Execute(const Transfer& t, int fault) override;
  [[nodiscard]] int64_t balance(WalletId wallet) const override;
  void Describe(Report& report) const override;

 private:
  ShardMap shard_map_;
  std::vector<BalanceShard> shards_;
};

}  // namespace keel::examples::wallet::designs

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_SHARDED_H_
