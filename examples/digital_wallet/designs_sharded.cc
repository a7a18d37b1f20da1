// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "digital_wallet/designs_sharded.h"

#include "keel/base/assert.h"
#include "keel/base/strings.h"

namespace keel::examples::wallet::designs {

int64_t BalanceShard::balance(WalletId wallet) const {
  auto it = balances_.find(wallet);
  KEEL_ASSERT(it != balances_.end(), "wallet routed to the wrong shard");
  return it->second;
}

int64_t& BalanceShard::at(WalletId wallet) {
  auto it = balances_.find(wallet);
  KEEL_ASSERT(it != balances_.end(), "wallet routed to the wrong shard");
  return it->second;
}

bool BalanceShard::Debit(WalletId wallet, int64_t amount) {
  int64_t& b = at(wallet);
  if (b < amount) return false;
  b -= amount;
  return true;
}

void BalanceShard::Credit(WalletId wallet, int64_t amount) { at(wallet) += amount; }

bool BalanceShard::Transfer(WalletId from, WalletId to, int64_t amount) {
  int64_t& payer = at(from);
  if (payer < amount) return false;
  payer -= amount;
  at(to) += amount;
  return true;
}

std::vector<BalanceShard> MakeBalanceShards(const Workload& workload) {
  std::vector<BalanceShard> shards(workload.shard_map.shards());
  for (WalletId id = 0; id < workload.initial_balances.size(); ++id) {
    shards[workload.shard_of[id]].Add(id, workload.initial_balances[id]);
  }
  return shards;
}

// ---------------------------------------------------------------------------------------------
// The single node.

SingleMapDesign::SingleMapDesign(const Workload& workload) {
  balances_.reserve(workload.initial_balances.size());
  for (WalletId id = 0; id < workload.initial_balances.size(); ++id) {
    balances_[id] = workload.initial_balances[id];
  }
}

std::string_view SingleMapDesign::guarantee() const {
  return "every transfer is atomic on the one node; that node is the limit of scale and a single "
         "point of failure";
}

absl::StatusOr<Outcome> SingleMapDesign::Execute(const Transfer& t, int /*fault*/) {
  int64_t& payer = balances_.find(t.from)->second;
  if (payer < t.amount) return Outcome::kRefused;
  payer -= t.amount;
  balances_.find(t.to)->second += t.amount;
  return Outcome::kCommitted;
}

int64_t SingleMapDesign::balance(WalletId wallet) const { return balances_.at(wallet); }

// ---------------------------------------------------------------------------------------------
// Sharded in memory.

namespace {
constexpr std::string_view kShardedFaults[] = {"crash-after-debit", "credit-retried"};
}  // namespace

ShardedDesign::ShardedDesign(const Workload& workload)
    : shard_map_(workload.shard_map), shards_(MakeBalanceShards(workload)) {}

std::string_view ShardedDesign::guarantee() const {
  return "a transfer within one shard is atomic; across shards it is two independent updates, "
         "and a failure between them loses or creates money";
}

std::span<const std::string_view> ShardedDesign::Points() { return kShardedFaults; }

absl::StatusOr<Outcome> ShardedDesign::Execute(const Transfer& t, int fault) {
  // The wallet service routes both wallets by the shard map, as a cluster client does.
  const uint32_t x = shard_map_.ShardOf(t.from);
  const uint32_t y = shard_map_.ShardOf(t.to);
  if (x == y) {
    return shards_[x].Transfer(t.from, t.to, t.amount) ? Outcome::kCommitted : Outcome::kRefused;
  }
  if (!shards_[x].Debit(t.from, t.amount)) return Outcome::kRefused;
  // Nothing ties the two updates together: a crash here ends the transfer half done.
  if (fault == kCrashAfterDebit) return Outcome::kHalfApplied;
  shards_[y].Credit(t.to, t.amount);
  if (fault == kCreditRetried) {
    // The credit's reply was lost; the service cannot tell a lost request from a lost reply
    // and sends it again. An increment is not idempotent.
    shards_[y].Credit(t.to, t.amount);
    return Outcome::kCreditedTwice;
  }
  return Outcome::kCommitted;
}

int64_t ShardedDesign::balance(WalletId wallet) const {
  return shards_[shard_map_.ShardOf(wallet)].balance(wallet);
}

void ShardedDesign::Describe(Report& report) const {
  report.notes.push_back(base::Cat(shards_.size(), " shards of ", shard::kSlotCount,
                                   " hash slots; each wallet routed by CRC16(\"wallet:<id>\")"));
}

}  // namespace keel::examples::wallet::designs
