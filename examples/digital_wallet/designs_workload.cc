// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "digital_wallet/designs_workload.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>
#include <utility>

#include "keel/base/assert.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"

namespace keel::examples::wallet::designs {
namespace {

absl::Status CheckFraction(const char* name, double value) {
  if (!(value >= 0.0 && value <= 1.0)) {
    return absl::InvalidArgumentError(base::Cat(name, " is ", value, ", not in [0, 1]"));
  }
  return absl::OkStatus();
}

absl::Status Validate(const WorkloadOptions& o) {
  if (o.wallets < 2 || o.wallets > kMaxWallets) {
    return absl::InvalidArgumentError(
        base::Cat("wallets is ", o.wallets, ", not in [2, ", kMaxWallets, "]"));
  }
  if (o.transfers < 1 || o.transfers > kMaxTransfers) {
    return absl::InvalidArgumentError(
        base::Cat("transfers is ", o.transfers, ", not in [1, ", kMaxTransfers, "]"));
  }
  if (o.shards < 2 || o.shards > kMaxShards) {
    return absl::InvalidArgumentError(
        base::Cat("shards is ", o.shards, ", not in [2, ", kMaxShards, "]"));
  }
  if (o.initial_balance < 1 || o.initial_balance > kMaxInitialBalance) {
    return absl::InvalidArgumentError(base::Cat("initial_balance is ", o.initial_balance,
                                                ", not in [1, ", kMaxInitialBalance, "]"));
  }
  if (o.max_amount < 1 || o.max_amount > kMaxInitialBalance) {
    return absl::InvalidArgumentError(
        base::Cat("max_amount is ", o.max_amount, ", not in [1, ", kMaxInitialBalance, "]"));
  }
  if (o.hot_wallets > o.wallets / 2) {
    return absl::InvalidArgumentError(base::Cat("hot_wallets is ", o.hot_wallets,
                                                ", more than half of the ", o.wallets, " wallets"));
  }
  if (absl::Status s = CheckFraction("cross_shard_fraction", o.cross_shard_fraction); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckFraction("overdraw_fraction", o.overdraw_fraction); !s.ok()) return s;
  return CheckFraction("hot_fraction", o.hot_fraction);
}

// Draws the transfers' parties: a payer and a payee, on one shard or on two as asked.
class PartyPicker {
 public:
  PartyPicker(const Workload& w, base::Random& rng) : w_(w), rng_(rng) {
    by_shard_.resize(w.shard_map.shards());
    for (WalletId id = 0; id < w.options.wallets; ++id) by_shard_[w.shard_of[id]].push_back(id);
  }

  // The shard with fewer than two wallets, if any (a same-shard transfer needs two).
  [[nodiscard]] std::optional<uint32_t> ThinShard() const {
    for (uint32_t s = 0; s < by_shard_.size(); ++s) {
      if (by_shard_[s].size() < 2) return s;
    }
    return std::nullopt;
  }

  // A wallet other than `other`, on `other`'s shard (same) or on another shard.
  WalletId Partner(WalletId other, bool same_shard) {
    const uint32_t shard = w_.shard_of[other];
    if (same_shard) {
      const std::vector<WalletId>& pool = by_shard_[shard];
      while (true) {
        const WalletId id = pool[rng_.Uniform(pool.size())];
        if (id != other) return id;
      }
    }
    // Rejection over every wallet: with K >= 2 equal shards, fewer than two draws on average.
    while (true) {
      const auto id = static_cast<WalletId>(rng_.Uniform(w_.options.wallets));
      if (w_.shard_of[id] != shard) return id;
    }
  }

 private:
  const Workload& w_;
  base::Random& rng_;
  std::vector<std::vector<WalletId>> by_shard_;
};

}  // namespace

absl::StatusOr<ShardMap> ShardMap::Make(uint32_t shards) {
  if (shards < 1 || shards > kMaxShards) {
    return absl::InvalidArgumentError(
        base::Cat("shards is ", shards, ", not in [1, ", kMaxShards, "]"));
  }
  auto table = std::make_shared<shard::SlotTable>();
  for (uint32_t i = 0; i < shards; ++i) {
    const uint32_t first = static_cast<uint32_t>(uint64_t{i} * shard::kSlotCount / shards);
    const uint32_t last = static_cast<uint32_t>(uint64_t{i + 1} * shard::kSlotCount / shards) - 1;
    if (absl::Status s = table->Assign({.first = first, .last = last}, i); !s.ok()) return s;
  }
  KEEL_ASSERT(table->covers_all_slots());
  return ShardMap(std::move(table), shards);
}

uint32_t ShardMap::ShardOf(WalletId wallet) const {
  char buffer[24];
  const absl::StatusOr<shard::SlotRoute> route = table_->RouteKey(WalletKey(wallet, buffer));
  // Every slot has an owner (Make covers them all), so a route always exists.
  KEEL_ASSERT(route.ok(), route.status().ToString());
  return route->owner;
}

std::string_view WalletKey(WalletId wallet, char (&buffer)[24]) {
  static constexpr std::string_view kPrefix = "wallet:";
  std::memcpy(buffer, kPrefix.data(), kPrefix.size());
  const std::to_chars_result r =
      std::to_chars(buffer + kPrefix.size(), buffer + sizeof(buffer), wallet);
  return std::string_view(buffer, static_cast<size_t>(r.ptr - buffer));
}

int64_t Workload::total_money() const {
  int64_t total = 0;
  for (int64_t b : initial_balances) total += b;
  return total;
}

absl::StatusOr<Workload> MakeWorkload(const WorkloadOptions& options) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  absl::StatusOr<ShardMap> map = ShardMap::Make(options.shards);
  if (!map.ok()) return map.status();
  Workload w{.options = options, .shard_map = *std::move(map)};
  w.initial_balances.assign(options.wallets, options.initial_balance);
  w.shard_of.resize(options.wallets);
  for (WalletId id = 0; id < options.wallets; ++id) w.shard_of[id] = w.shard_map.ShardOf(id);

  base::Random rng(options.seed);
  PartyPicker picker(w, rng);
  if (std::optional<uint32_t> thin = picker.ThinShard()) {
    return absl::InvalidArgumentError(base::Cat("shard ", *thin, " of ", options.shards,
                                                " gets fewer than 2 of the ", options.wallets,
                                                " wallets: use more wallets or fewer shards"));
  }
  // The single node's balances: the generator's own reference run.
  std::vector<int64_t> model = w.initial_balances;
  w.transfers.reserve(options.transfers);
  for (uint64_t i = 0; i < options.transfers; ++i) {
    const bool same_shard = !rng.Bernoulli(options.cross_shard_fraction);
    WalletId from = 0;
    WalletId to = 0;
    if (options.hot_wallets > 0 && rng.Bernoulli(options.hot_fraction)) {
      const auto hot = static_cast<WalletId>(rng.Uniform(options.hot_wallets));
      const WalletId partner = picker.Partner(hot, same_shard);
      const bool hot_pays = rng.Bernoulli(0.5);
      from = hot_pays ? hot : partner;
      to = hot_pays ? partner : hot;
    } else {
      from = static_cast<WalletId>(rng.Uniform(options.wallets));
      to = picker.Partner(from, same_shard);
    }
    int64_t amount = 0;
    if (rng.Bernoulli(options.overdraw_fraction)) {
      amount = model[from] + 1 + static_cast<int64_t>(rng.Uniform(options.max_amount));
    } else {
      const int64_t cap = std::clamp<int64_t>(model[from], 1, options.max_amount);
      amount = 1 + static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(cap)));
    }
    if (amount <= model[from]) {
      model[from] -= amount;
      model[to] += amount;
    } else {
      ++w.meant_to_overdraw;  // drawn so, or the payer's balance is 0
    }
    w.transfers.push_back({.id = i, .from = from, .to = to, .amount = amount});
    if (!same_shard) ++w.cross_shard;
  }
  return w;
}

}  // namespace keel::examples::wallet::designs
