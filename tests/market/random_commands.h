// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Random MatchingEngine commands for the differential tests of the engine's consumers (market data,
// trade history). Not installed.
//
// A few symbols, a few clients (so that self-trade prevention happens often), prices in a narrow
// band (so that orders cross and rest at shared levels), and every order type, time in force and
// self-trade mode; cancels and modifies mostly aim at recent orders (many still resting), and a
// few commands are bad (an unknown or reused id, a bad price, an invalid command) so that
// rejections are in the stream too.
#ifndef KEEL_TESTS_MARKET_RANDOM_COMMANDS_H_
#define KEEL_TESTS_MARKET_RANDOM_COMMANDS_H_

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "keel/base/random.h"
#include "keel/market/matching_engine.h"

namespace keel::market::testing {

class RandomCommands {
 public:
  explicit RandomCommands(uint64_t seed) : rng_(seed) {}

  Command Next() {
    Command c;
    const uint64_t roll = rng_.Uniform(100);
    if (roll < 55 || ids_.empty()) {
      c.kind = CommandKind::kNew;
      c.symbol = kSymbols[rng_.Uniform(kSymbols.size())];
      c.order = RandomOrder();
      // Now and then an id used before: rejected, as ids are unique for the whole run.
      if (!ids_.empty() && rng_.Uniform(50) == 0) c.order.id = Recent();
      ids_.push_back(c.order.id);
    } else if (roll < 75) {
      c.kind = CommandKind::kCancel;
      c.order.id = rng_.Uniform(20) == 0 ? next_id_ + 1000 : Recent();
    } else if (roll < 97) {
      c.kind = CommandKind::kModify;
      c.order.id = Recent();
      c.order.price = rng_.Uniform(40) == 0 ? 0 : Price(90 + rng_.Uniform(21));
      c.order.quantity = Quantity(1 + rng_.Uniform(25));
    } else {
      c.kind = CommandKind::kInvalid;
    }
    return c;
  }

 private:
  static constexpr std::array<std::string_view, 3> kSymbols = {"AAA", "BBB", "CCC"};

  NewOrder RandomOrder() {
    NewOrder o;
    o.id = next_id_++;
    o.client = 1 + rng_.Uniform(4);
    o.side = rng_.Uniform(2) == 0 ? Side::kBuy : Side::kSell;
    o.type = rng_.Uniform(10) == 0 ? OrderType::kMarket : OrderType::kLimit;
    const uint64_t tif = rng_.Uniform(20);
    o.tif = tif < 12   ? TimeInForce::kGoodTillCancel
            : tif < 15 ? TimeInForce::kImmediateOrCancel
            : tif < 18 ? TimeInForce::kFillOrKill
                       : TimeInForce::kPostOnly;
    o.stp = static_cast<SelfTradePrevention>(rng_.Uniform(4));
    o.price = rng_.Uniform(50) == 0 ? -1 : Price(90 + rng_.Uniform(21));
    o.quantity = Quantity(1 + rng_.Uniform(20));
    return o;
  }

  // One of the last 40 ids handed out.
  OrderId Recent() {
    const size_t window = ids_.size() < 40 ? ids_.size() : 40;
    return ids_[ids_.size() - 1 - rng_.Uniform(window)];
  }

  base::Random rng_;
  OrderId next_id_ = 1;
  std::vector<OrderId> ids_;  // of the new orders, in order (a reused id appears twice)
};

}  // namespace keel::market::testing

#endif  // KEEL_TESTS_MARKET_RANDOM_COMMANDS_H_
