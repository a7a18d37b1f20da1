// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/market/trade_history.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "commands.h"
#include "events.h"
#include "keel/base/random.h"
#include "keel/market/matching_engine.h"
#include "random_commands.h"
#include "testing/testing.h"

namespace keel::market {
namespace {

constexpr int64_t kForever = std::numeric_limits<int64_t>::max();

Command New(OrderId id, ClientId client, Side side, Price price, Quantity quantity) {
  return testing::NewCommand("ACME", id, client, side, price, quantity);
}

using testing::ModifyCommand;

// An engine and a trade history fed its events, command by command.
struct Exchange {
  explicit Exchange(uint32_t max_trades = 1000)
      : engine({}), history(*TradeHistory::Create({.max_trades = max_trades})) {}

  void Do(const Command& command, int64_t time_ns = 0) {
    events.clear();
    engine.Apply(command, events);
    REQUIRE(history.Apply({&command, 1}, events, time_ns).ok());
  }

  MatchingEngine engine;
  TradeHistory history;
  std::vector<EngineEvent> events;
};

TEST_CASE("Trade history options out of range are errors that name the value") {
  const auto zero = TradeHistory::Create({.max_trades = 0});
  REQUIRE_FALSE(zero.ok());
  CHECK(std::string(zero.status().message()).find("max_trades is 0") != std::string::npos);
  const auto big = TradeHistory::Create({.max_trades = kMaxTradeHistory + 1});
  CHECK(big.status().code() == absl::StatusCode::kInvalidArgument);
  const auto symbols = TradeHistory::Create({.max_symbols = 0});
  CHECK(std::string(symbols.status().message()).find("max_symbols is 0") != std::string::npos);
  const auto live = TradeHistory::Create({.max_live_orders = 0});
  CHECK(std::string(live.status().message()).find("max_live_orders is 0") != std::string::npos);
  CHECK(TradeHistory::Create({}).ok());
}

TEST_CASE("An order beyond max_live_orders is an error") {
  MatchingEngine engine({});
  TradeHistory history = *TradeHistory::Create({.max_live_orders = 1});
  std::vector<EngineEvent> events;
  const Command first = New(1, 7, Side::kSell, 100, 5);
  engine.Apply(first, events);
  REQUIRE(history.Apply({&first, 1}, events, 0).ok());
  events.clear();
  const Command second = New(2, 7, Side::kSell, 101, 5);
  engine.Apply(second, events);
  CHECK(history.Apply({&second, 1}, events, 0).code() == absl::StatusCode::kResourceExhausted);
}

TEST_CASE("Each trade carries both clients from the commands that submitted the orders") {
  Exchange x;
  x.Do(New(1, 7, Side::kSell, 100, 5));
  x.Do(New(2, 8, Side::kBuy, 100, 3), 50);
  x.Do(New(3, 9, Side::kBuy, 99, 4), 60);
  x.Do(New(4, 10, Side::kSell, 101, 4), 70);
  x.Do(ModifyCommand(3, 101, 4), 80);  // order 3 now crosses: the taker, at the maker 4's price
  std::vector<TradeRecord> trades;
  x.history.TradesOfSymbol(0, 0, UINT64_MAX, trades);
  REQUIRE(trades.size() == 3);
  CHECK(trades[0] == TradeRecord{.sequence = 4,
                                 .time_ns = 50,
                                 .symbol = 0,
                                 .taker_side = Side::kBuy,
                                 .maker_order = 1,
                                 .taker_order = 2,
                                 .maker_client = 7,
                                 .taker_client = 8,
                                 .price = 100,
                                 .quantity = 3});
  // Order 3 trades with the 2 left of order 1 first (the best ask), then with order 4.
  CHECK(trades[1].maker_order == 1);
  CHECK(trades[1].taker_client == 9);
  CHECK(trades[2].maker_order == 4);
  CHECK(trades[2].maker_client == 10);
  CHECK(trades[2].taker_client == 9);
  CHECK(trades[2].price == 101);
  x.history.TradesOfOrder(3, trades);
  CHECK(trades.size() == 2);
  x.history.TradesOfOrder(1, trades);
  CHECK(trades.size() == 2);
  x.history.TradesOfClient(7, trades);
  CHECK(trades.size() == 2);
  x.history.TradesOfClient(10, trades);
  CHECK(trades.size() == 1);
  x.history.TradesOfSymbolBetween(0, 51, 81, trades);
  CHECK(trades.size() == 2);
  x.history.TradesOfSymbol(1, 0, UINT64_MAX, trades);
  CHECK(trades.empty());
  // Orders done or cancelled are forgotten: 1, 2 and 3 are filled; only 4 rests (with 2).
  CHECK(x.history.live_orders() == 1);
}

TEST_CASE("Dropped trades leave every query and their keys are forgotten") {
  Exchange x(3);
  x.Do(New(1, 7, Side::kSell, 100, 100));
  for (OrderId id = 2; id <= 6; ++id) x.Do(New(id, id, Side::kBuy, 100, 1), 10 * id);
  CHECK(x.history.recorded() == 5);
  CHECK(x.history.size() == 3);
  CHECK(x.history.indexed_orders() == 4);   // 1, the maker, and 4, 5, 6
  CHECK(x.history.indexed_clients() == 4);  // 7 and 4, 5, 6
  std::vector<TradeRecord> trades;
  x.history.TradesOfOrder(2, trades);
  CHECK(trades.empty());
  x.history.TradesOfClient(3, trades);
  CHECK(trades.empty());
  x.history.TradesOfClient(7, trades);
  REQUIRE(trades.size() == 3);
  CHECK(trades[0].taker_order == 4);
  CHECK(trades[2].taker_order == 6);
  x.history.TradesOfSymbol(0, 0, UINT64_MAX, trades);
  CHECK(trades.size() == 3);
  x.history.TradesOfSymbolBetween(0, 0, 50, trades);  // only 4's (at 40) is kept
  REQUIRE(trades.size() == 1);
  CHECK(trades[0].taker_order == 4);
}

TEST_CASE("Events that do not belong to the commands are errors and the error sticks") {
  Exchange x;
  x.Do(New(1, 7, Side::kSell, 100, 5));
  const Command buy = New(2, 8, Side::kBuy, 100, 3);
  std::vector<EngineEvent> events;
  x.engine.Apply(buy, events);

  SUBCASE("fewer commands than the events answer") {
    const absl::Status s = x.history.Apply({}, events, 0);
    CHECK(s.code() == absl::StatusCode::kDataLoss);
    CHECK(std::string(s.message()).find("0 commands") != std::string::npos);
  }
  SUBCASE("another command than the one the events answer") {
    const Command other = New(3, 8, Side::kBuy, 100, 3);
    CHECK(x.history.Apply({&other, 1}, events, 0).code() == absl::StatusCode::kDataLoss);
  }
  SUBCASE("a gap") {
    events.erase(events.begin());
    CHECK(x.history.Apply({&buy, 1}, events, 0).code() == absl::StatusCode::kDataLoss);
  }
  SUBCASE("a trade of an order never accepted") {
    std::vector<EngineEvent> fake = {
        {.sequence = 3, .symbol = 0, .event = testing::Accepted(2, Side::kBuy, 100, 3)},
        {.sequence = 4, .symbol = 0, .event = testing::Trade(2, Side::kBuy, 42, 100, 3)}};
    const absl::Status s = x.history.Apply({&buy, 1}, fake, 0);
    CHECK(s.code() == absl::StatusCode::kDataLoss);
    CHECK(std::string(s.message()).find("maker 42") != std::string::npos);
  }
  REQUIRE_FALSE(x.history.status().ok());
  CHECK(x.history.Apply({}, {}, 0) == x.history.status());
}

TEST_CASE("A time before the last batch is refused by the trade history") {
  Exchange x;
  x.Do(New(1, 7, Side::kSell, 100, 5), 100);
  const Command buy = New(2, 8, Side::kBuy, 100, 3);
  std::vector<EngineEvent> events;
  x.engine.Apply(buy, events);
  CHECK(x.history.Apply({&buy, 1}, events, 99).code() == absl::StatusCode::kInvalidArgument);
  CHECK(x.history.status().ok());
  CHECK(x.history.Apply({&buy, 1}, events, 100).ok());
}

// The oracle: every trade with its clients, filtered by brute force over the newest max_trades.
struct BruteForce {
  std::vector<TradeRecord> all;
  uint32_t max_trades = 0;

  template <typename Pred>
  std::vector<TradeRecord> Select(Pred&& pred) const {
    std::vector<TradeRecord> out;
    const size_t first = all.size() > max_trades ? all.size() - max_trades : 0;
    for (size_t i = first; i < all.size(); ++i) {
      if (pred(all[i])) out.push_back(all[i]);
    }
    return out;
  }
};

TEST_CASE("Trade history queries equal brute force over random commands") {
  for (const uint32_t max_trades : {100'000u, 64u}) {
    const uint64_t seed = keel::testing::TestSeed(621);
    CAPTURE(seed);
    CAPTURE(max_trades);
    base::Random rng(seed ^ 0x7a11);
    testing::RandomCommands commands(seed);
    MatchingEngine engine({});
    TradeHistory history = *TradeHistory::Create({.max_trades = max_trades});
    BruteForce oracle;
    oracle.max_trades = max_trades;
    absl::flat_hash_map<OrderId, ClientId> owner;
    std::vector<Command> batch;
    std::vector<EngineEvent> events;
    std::vector<TradeRecord> got;
    int64_t now = 0;
    for (int i = 0; i < 6000; ++i) {
      // A batch of one to four commands, their events handed over together.
      batch.clear();
      events.clear();
      for (uint64_t n = 1 + rng.Uniform(4); n > 0; --n) {
        batch.push_back(commands.Next());
        const size_t begin = events.size();
        engine.Apply(batch.back(), events);
        for (size_t k = begin; k < events.size(); ++k) {
          const EngineEvent& e = events[k];
          if (e.event.kind == EventKind::kAccepted)
            owner[e.event.order_id] = batch.back().order.client;
          if (e.event.kind != EventKind::kTrade) continue;
          oracle.all.push_back({.sequence = e.sequence,
                                .time_ns = now,
                                .symbol = e.symbol,
                                .taker_side = e.event.side,
                                .maker_order = e.event.maker_id,
                                .taker_order = e.event.order_id,
                                .maker_client = owner.at(e.event.maker_id),
                                .taker_client = owner.at(e.event.order_id),
                                .price = e.event.price,
                                .quantity = e.event.quantity});
        }
      }
      REQUIRE(history.Apply(batch, events, now).ok());
      now += static_cast<int64_t>(rng.Uniform(3));
      if (i % 20 != 0) continue;

      CAPTURE(i);
      REQUIRE(history.size() == std::min<size_t>(oracle.all.size(), max_trades));
      REQUIRE(history.indexed_orders() <= 2 * history.size());
      REQUIRE(history.indexed_clients() <= 2 * history.size());
      const uint64_t last = engine.next_sequence();
      for (uint32_t symbol = 0; symbol < 4; ++symbol) {
        const uint64_t from = rng.Uniform(last + 1);
        const uint64_t to = from + rng.Uniform(last + 1);
        history.TradesOfSymbol(symbol, from, to, got);
        REQUIRE(got == oracle.Select([&](const TradeRecord& t) {
          return t.symbol == symbol && t.sequence >= from && t.sequence < to;
        }));
        const auto from_ns = static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(now) + 1));
        const int64_t to_ns = rng.Uniform(5) == 0 ? kForever : from_ns + 1 + now / 4;
        history.TradesOfSymbolBetween(symbol, from_ns, to_ns, got);
        REQUIRE(got == oracle.Select([&](const TradeRecord& t) {
          return t.symbol == symbol && t.time_ns >= from_ns && t.time_ns < to_ns;
        }));
      }
      for (ClientId client = 0; client <= 5; ++client) {
        history.TradesOfClient(client, got);
        REQUIRE(got == oracle.Select([&](const TradeRecord& t) {
          return t.maker_client == client || t.taker_client == client;
        }));
      }
      for (int k = 0; k < 5 && !oracle.all.empty(); ++k) {
        const TradeRecord& t =
            oracle
                .all[oracle.all.size() - 1 - rng.Uniform(std::min<size_t>(oracle.all.size(), 200))];
        for (const OrderId order : {t.maker_order, t.taker_order}) {
          history.TradesOfOrder(order, got);
          REQUIRE(got == oracle.Select([&](const TradeRecord& r) {
            return r.maker_order == order || r.taker_order == order;
          }));
        }
      }
    }
    CHECK(oracle.all.size() > 1000);
    CHECK(history.live_orders() == [&] {
      size_t resting = 0;
      for (uint32_t s = 0; s < engine.symbol_count(); ++s) resting += engine.book(s).order_count();
      return resting;
    }());
  }
}

}  // namespace
}  // namespace keel::market
