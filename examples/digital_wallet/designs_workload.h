// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The transfer workload every wallet design runs, and the sharding information they route by.
//
// The digital wallet case study moves money between wallets: "deduct $1 from account A, add it to
// account C", a million times a second. Its designs (designs.h) differ in how they keep that
// transfer atomic once A and C live on different storage nodes, and to compare them fairly they
// all run the same transfers. A workload is N wallets with a starting balance each and a stream of
// transfers (from, to, amount in minor units) drawn from a seed:
//
//   - a configurable fraction crosses shards (payer and payee on different shards);
//   - a configurable fraction would overdraw the payer and must be refused: the generator keeps
//     the balances of the run where every transfer before succeeds or is refused exactly as a
//     single node would decide, and draws those amounts above the payer's balance there;
//   - a few "hot" wallets (merchants) take part in a configurable fraction of the transfers, as
//     payee or payer, so that a wallet locked by an unfinished transaction is one that others
//     want (which is what makes two-phase commit's blocking visible).
//
// ShardMap is the chapter's sharding information (kept in Zookeeper there): wallets are keys
// "wallet:<id>", a key's hash slot is Redis Cluster's CRC16 mod 16384 (keel/shard/hash_slot.h),
// and a slot table gives each of the K shards an equal range of slots. The stateless wallet
// service computes the route of every wallet it touches from this map, as a Redis Cluster client
// does.
//
// Example:
//
//   WorkloadOptions options;
//   options.wallets = 100'000;
//   options.transfers = 1'000'000;
//   options.cross_shard_fraction = 0.1;
//   KEEL_ASSIGN_OR_RETURN(Workload workload, MakeWorkload(options));
//   for (const Transfer& t : workload.transfers) { ... }
//
// Allocation: a Workload holds its transfers (24 bytes each) and a few bytes per wallet; a
// ShardMap holds keel's 64 KiB slot table. ShardOf allocates nothing.
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_WORKLOAD_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_WORKLOAD_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/shard/hash_slot.h"

namespace keel::examples::wallet::designs {

using WalletId = uint32_t;
// A transfer's id: its index in the workload. The distributed designs use it as the global
// transaction id (2PC's XID, TC/C's and the saga's transaction id), so it is unique for ever.
using TxnId = uint64_t;

struct Transfer {
  TxnId id = 0;
  WalletId from = 0;
  WalletId to = 0;
  int64_t amount = 0;  // minor units, > 0
};

// Limits on a workload (MakeWorkload refuses more).
inline constexpr uint32_t kMaxWallets = 10'000'000;
inline constexpr uint64_t kMaxTransfers = 100'000'000;
inline constexpr uint32_t kMaxShards = 1024;
inline constexpr int64_t kMaxInitialBalance = 1'000'000'000;  // 10 million in major units

// Every field has a default, so designated initializers may leave any out.
struct WorkloadOptions {
  uint32_t wallets = 10'000;         // 2 .. kMaxWallets
  uint64_t transfers = 100'000;      // 1 .. kMaxTransfers
  uint32_t shards = 4;               // 2 .. kMaxShards; each shard must end up with 2 wallets
  int64_t initial_balance = 10'000;  // per wallet, 1 .. kMaxInitialBalance
  int64_t max_amount = 2'000;        // a transfer that fits moves 1 .. max_amount
  double cross_shard_fraction = 0.1;
  double overdraw_fraction = 0.02;
  uint32_t hot_wallets = 8;   // merchants: wallets 0 .. hot_wallets - 1; at most wallets / 2
  double hot_fraction = 0.2;  // transfers with a hot wallet as payee or payer
  uint64_t seed = 1;
};

// The chapter's sharding information: wallet -> key -> hash slot -> shard.
class ShardMap {
 public:
  // Gives shard i (0 .. shards - 1) the slots [i * 16384 / shards, (i + 1) * 16384 / shards).
  // kInvalidArgument for fewer than 1 or more than kMaxShards shards.
  [[nodiscard]] static absl::StatusOr<ShardMap> Make(uint32_t shards);

  // The shard that holds `wallet`: the owner of KeySlot("wallet:<id>"). Allocates nothing.
  [[nodiscard]] uint32_t ShardOf(WalletId wallet) const;
  [[nodiscard]] uint32_t shards() const { return shards_; }
  [[nodiscard]] const shard::SlotTable& slot_table() const { return *table_; }

 private:
  ShardMap(std::shared_ptr<const shard::SlotTable> table, uint32_t shards)
      : table_(std::move(table)), shards_(shards) {}

  std::shared_ptr<const shard::SlotTable> table_;  // immutable once built: copies share it
  uint32_t shards_ = 0;
};

// Writes "wallet:<id>" into `buffer` and returns it: the wallet's key, as the chapter's Redis
// would store it.
[[nodiscard]] std::string_view WalletKey(WalletId wallet, char (&buffer)[24]);

struct Workload {
  WorkloadOptions options;
  ShardMap shard_map;
  std::vector<int64_t> initial_balances{};  // by wallet id
  std::vector<Transfer> transfers{};        // transfers[i].id == i
  std::vector<uint32_t> shard_of{};         // by wallet id, from shard_map (for checks and reports)
  // What the generator meant; a design's own counts differ once failures change balances.
  uint64_t cross_shard = 0;
  uint64_t meant_to_overdraw = 0;  // what a single node, without failures, refuses

  [[nodiscard]] bool IsCrossShard(const Transfer& t) const {
    return shard_of[t.from] != shard_of[t.to];
  }
  [[nodiscard]] int64_t total_money() const;
};

// Draws a workload. kInvalidArgument naming the first bad option (a count out of its range, a
// fraction outside [0, 1], a shard left with fewer than two wallets).
[[nodiscard]] absl::StatusOr<Workload> MakeWorkload(const WorkloadOptions& options);

}  // namespace keel::examples::wallet::designs

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_WORKLOAD_H_
