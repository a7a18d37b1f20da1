// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/market/market_data.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "commands.h"
#include "events.h"
#include "keel/base/random.h"
#include "keel/market/matching_engine.h"
#include "random_commands.h"
#include "testing/testing.h"

namespace keel::market {
namespace {

constexpr int64_t kForever = std::numeric_limits<int64_t>::max();

Command New(OrderId id, ClientId client, Side side, Price price, Quantity quantity,
            TimeInForce tif = TimeInForce::kGoodTillCancel,
            SelfTradePrevention stp = SelfTradePrevention::kCancelNewest) {
  return testing::NewCommand("ACME", id, client, side, price, quantity, tif, stp);
}

Command Market(OrderId id, ClientId client, Side side, Quantity quantity) {
  return testing::NewCommand("ACME", id, client, side, 0, quantity, TimeInForce::kImmediateOrCancel,
                             SelfTradePrevention::kCancelNewest, OrderType::kMarket);
}

using testing::CancelCommand;
using testing::ModifyCommand;

MarketDataOptions Options(int64_t interval_ns = 1000, uint32_t history = 16) {
  return {.candle_interval_ns = interval_ns, .candle_history = history};
}

// An engine and a publisher fed its events, command by command.
struct Exchange {
  explicit Exchange(const MarketDataOptions& options = Options())
      : engine({}), md(*MarketDataPublisher::Create(options)) {}

  // Applies a command and hands its events to the publisher at `time_ns`.
  void Do(const Command& command, int64_t time_ns = 0) {
    events.clear();
    engine.Apply(command, events);
    REQUIRE(md.Apply(events, time_ns).ok());
  }

  // The publisher's depth of a side of ACME.
  std::vector<LevelView> Depth(Side side) {
    std::vector<LevelView> out;
    md.Depth(engine.FindSymbol("ACME"), side, 100, out);
    return out;
  }

  // Whether the publisher's L2 equals every book's.
  void CheckAgainstEngine() {
    std::vector<LevelView> want, got;
    for (uint32_t s = 0; s < engine.symbol_count(); ++s) {
      for (const Side side : {Side::kBuy, Side::kSell}) {
        engine.book(s).Depth(side, 1000, want);
        md.Depth(s, side, 1000, got);
        REQUIRE(got == want);
      }
      CHECK(md.best_bid(s) == engine.book(s).best_bid());
      CHECK(md.best_ask(s) == engine.book(s).best_ask());
    }
  }

  MatchingEngine engine;
  MarketDataPublisher md;
  std::vector<EngineEvent> events;
};

EngineEvent Made(uint64_t sequence, uint32_t symbol, Event event) {
  return {.sequence = sequence, .symbol = symbol, .event = event};
}

TEST_CASE("Options out of range are errors that name the option and its value") {
  auto bad = [](MarketDataOptions o) {
    const auto md = MarketDataPublisher::Create(o);
    REQUIRE_FALSE(md.ok());
    CHECK(md.status().code() == absl::StatusCode::kInvalidArgument);
    return std::string(md.status().message());
  };
  MarketDataOptions o;
  o.candle_interval_ns = 0;
  CHECK(bad(o).find("candle_interval_ns is 0") != std::string::npos);
  o.candle_interval_ns = -5;
  CHECK(bad(o).find("candle_interval_ns is -5") != std::string::npos);
  o.candle_interval_ns = kMaxCandleIntervalNs + 1;
  CHECK(bad(o).find("candle_interval_ns") != std::string::npos);
  o = {};
  o.candle_history = 0;
  CHECK(bad(o).find("candle_history is 0") != std::string::npos);
  o.candle_history = kMaxCandleHistory + 1;
  CHECK(bad(o).find("candle_history is 1048577") != std::string::npos);
  o = {};
  o.max_symbols = 0;
  CHECK(bad(o).find("max_symbols is 0") != std::string::npos);
  o = {};
  o.max_orders = 0;
  CHECK(bad(o).find("max_orders is 0") != std::string::npos);
  CHECK(MarketDataPublisher::Create({}).ok());
}

TEST_CASE("A snapshot shows the top levels of each side with their order counts") {
  Exchange x;
  x.Do(New(1, 1, Side::kBuy, 99, 10));
  x.Do(New(2, 2, Side::kBuy, 99, 5));
  x.Do(New(3, 1, Side::kBuy, 97, 1));
  x.Do(New(4, 3, Side::kSell, 101, 7));
  x.Do(New(5, 3, Side::kSell, 103, 2));
  x.Do(New(6, 3, Side::kSell, 102, 2));
  x.Do(CancelCommand(6), 55);
  L2Snapshot snapshot;
  x.md.Snapshot(x.engine.FindSymbol("ACME"), 1, snapshot);
  CHECK(snapshot.sequence == x.engine.next_sequence() - 1);
  CHECK(snapshot.time_ns == 55);
  CHECK(snapshot.bids == std::vector<LevelView>{{99, 15, 2}});
  CHECK(snapshot.asks == std::vector<LevelView>{{101, 7, 1}});
  x.md.Snapshot(x.engine.FindSymbol("ACME"), 10, snapshot);
  CHECK(snapshot.bids == std::vector<LevelView>{{99, 15, 2}, {97, 1, 1}});
  CHECK(snapshot.asks == std::vector<LevelView>{{101, 7, 1}, {103, 2, 1}});
  // An unknown symbol has an empty book.
  x.md.Snapshot(77, 10, snapshot);
  CHECK(snapshot.bids.empty());
  CHECK(snapshot.asks.empty());
  x.CheckAgainstEngine();
}

TEST_CASE("An IOC remainder a killed FOK order and a market order never rest") {
  Exchange x;
  x.Do(New(1, 1, Side::kSell, 100, 5));
  x.Do(New(2, 2, Side::kBuy, 101, 8, TimeInForce::kImmediateOrCancel));  // 5 trade, 3 cancelled
  CHECK(x.Depth(Side::kBuy).empty());
  CHECK(x.Depth(Side::kSell).empty());
  x.Do(New(3, 1, Side::kSell, 100, 5));
  x.Do(New(4, 2, Side::kBuy, 101, 10, TimeInForce::kFillOrKill));  // killed: the book untouched
  CHECK(x.Depth(Side::kSell) == std::vector<LevelView>{{100, 5, 1}});
  CHECK(x.Depth(Side::kBuy).empty());
  x.Do(Market(5, 2, Side::kBuy, 7));  // takes 5, the rest cancelled
  CHECK(x.Depth(Side::kSell).empty());
  CHECK(x.Depth(Side::kBuy).empty());
  CHECK(x.md.order_count() == 0);
  x.CheckAgainstEngine();
}

TEST_CASE("Modifies move quantity within and between levels and may trade") {
  Exchange x;
  x.Do(New(1, 1, Side::kBuy, 99, 10));
  x.Do(New(2, 2, Side::kBuy, 99, 5));
  x.Do(ModifyCommand(1, 99, 4));  // down: keeps its place
  CHECK(x.Depth(Side::kBuy) == std::vector<LevelView>{{99, 9, 2}});
  x.Do(ModifyCommand(1, 99, 20));  // up: to the back
  CHECK(x.Depth(Side::kBuy) == std::vector<LevelView>{{99, 25, 2}});
  x.Do(ModifyCommand(1, 98, 20));  // another price
  CHECK(x.Depth(Side::kBuy) == std::vector<LevelView>{{99, 5, 1}, {98, 20, 1}});
  x.Do(New(3, 3, Side::kSell, 100, 5));
  x.Do(ModifyCommand(1, 100, 20), 10);  // crosses: trades 5 as the taker, 15 rest at 100
  CHECK(x.Depth(Side::kBuy) == std::vector<LevelView>{{100, 15, 1}, {99, 5, 1}});
  CHECK(x.Depth(Side::kSell).empty());
  const auto candle = x.md.LastCandle(x.engine.FindSymbol("ACME"));
  REQUIRE(candle.has_value());
  CHECK(*candle == Candle{.start_ns = 0,
                          .open = 100,
                          .high = 100,
                          .low = 100,
                          .close = 100,
                          .volume = 5,
                          .trades = 1});
  x.CheckAgainstEngine();
}

TEST_CASE("Decrement self-trade prevention reduces levels without trading") {
  Exchange x;
  x.Do(New(1, 1, Side::kSell, 100, 10));
  x.Do(New(2, 1, Side::kBuy, 100, 4, TimeInForce::kGoodTillCancel,
           SelfTradePrevention::kDecrement));  // the maker reduced by 4, the taker cancelled
  CHECK(x.Depth(Side::kSell) == std::vector<LevelView>{{100, 6, 1}});
  CHECK(x.Depth(Side::kBuy).empty());
  x.Do(New(3, 1, Side::kBuy, 100, 15, TimeInForce::kGoodTillCancel,
           SelfTradePrevention::kDecrement));  // the maker cancelled, the taker reduced to 9
  CHECK(x.Depth(Side::kSell).empty());
  CHECK(x.Depth(Side::kBuy) == std::vector<LevelView>{{100, 9, 1}});
  CHECK_FALSE(x.md.LastCandle(x.engine.FindSymbol("ACME")).has_value());
  x.CheckAgainstEngine();
}

TEST_CASE("A trade falls in the interval that contains its batch time") {
  Exchange x(Options(1000));
  const uint32_t acme = 0;
  x.Do(New(1, 1, Side::kSell, 100, 100));
  x.Do(New(2, 2, Side::kBuy, 100, 3), 0);
  x.Do(New(3, 1, Side::kSell, 98, 1), 500);
  x.Do(New(4, 2, Side::kBuy, 99, 1), 999);    // 98
  x.Do(New(5, 2, Side::kBuy, 100, 2), 1000);  // the next interval
  std::vector<Candle> candles;
  x.md.Candles(acme, 0, kForever, candles);
  REQUIRE(candles.size() == 2);
  CHECK(candles[0] == Candle{.start_ns = 0,
                             .open = 100,
                             .high = 100,
                             .low = 98,
                             .close = 98,
                             .volume = 4,
                             .trades = 2});
  CHECK(candles[1] == Candle{.start_ns = 1000,
                             .open = 100,
                             .high = 100,
                             .low = 100,
                             .close = 100,
                             .volume = 2,
                             .trades = 1});
  x.md.Candles(acme, 1, 1000, candles);  // starts in [1, 1000): none
  CHECK(candles.empty());
  x.md.Candles(acme, 1000, 1001, candles);
  CHECK(candles.size() == 1);
}

TEST_CASE("Intervals without trades have no candle and can be filled flat") {
  Exchange x(Options(1000));
  x.Do(New(1, 1, Side::kSell, 100, 100));
  x.Do(New(2, 2, Side::kBuy, 100, 3), 10);
  x.Do(New(3, 1, Side::kBuy, 90, 1), 1500);  // rests: no trade, no candle
  x.Do(New(4, 2, Side::kBuy, 100, 2), 3500);
  std::vector<Candle> sparse, dense;
  x.md.Candles(0, 0, kForever, sparse);
  REQUIRE(sparse.size() == 2);
  CHECK(sparse[1].start_ns == 3000);
  REQUIRE(FillEmptyIntervals(sparse, 1000, 100, dense).ok());
  REQUIRE(dense.size() == 4);
  CHECK(dense[0] == sparse[0]);
  for (int i : {1, 2}) {
    CHECK(dense[i] == Candle{.start_ns = 1000 * i,
                             .open = 100,
                             .high = 100,
                             .low = 100,
                             .close = 100,
                             .volume = 0,
                             .trades = 0});
  }
  CHECK(dense[3] == sparse[1]);
}

// A one-trade candle at `start_ns`.
Candle At(int64_t start_ns, Price price) {
  return {.start_ns = start_ns,
          .open = price,
          .high = price,
          .low = price,
          .close = price,
          .volume = 1,
          .trades = 1};
}

TEST_CASE("FillEmptyIntervals refuses unaligned or unordered candles and oversized series") {
  std::vector<Candle> out;
  const std::vector<Candle> fine = {At(0, 5), At(5000, 6)};
  CHECK(FillEmptyIntervals(fine, 1000, 6, out).ok());
  CHECK(out.size() == 6);
  CHECK(FillEmptyIntervals(fine, 1000, 5, out).code() == absl::StatusCode::kOutOfRange);
  CHECK(out.empty());
  CHECK(FillEmptyIntervals(fine, 0, 100, out).code() == absl::StatusCode::kInvalidArgument);
  const std::vector<Candle> unaligned = {At(10, 5)};
  CHECK(FillEmptyIntervals(unaligned, 1000, 100, out).code() == absl::StatusCode::kInvalidArgument);
  const std::vector<Candle> unordered = {At(2000, 5), At(1000, 5)};
  CHECK(FillEmptyIntervals(unordered, 1000, 100, out).code() == absl::StatusCode::kInvalidArgument);
  // A gap of 2^62 intervals is refused without being walked.
  const std::vector<Candle> huge = {At(0, 5), At(int64_t{1} << 62, 5)};
  CHECK(FillEmptyIntervals(huge, 1, 1000, out).code() == absl::StatusCode::kOutOfRange);
  CHECK(FillEmptyIntervals({}, 1000, 0, out).ok());
}

TEST_CASE("The candle ring keeps the newest intervals and drops the oldest") {
  Exchange x(Options(1000, 3));
  x.Do(New(1, 1, Side::kSell, 100, 100));
  for (int i = 0; i < 5; ++i) x.Do(New(10 + i, 2, Side::kBuy, 100, 1 + i), 1000 * i + 7);
  std::vector<Candle> candles;
  x.md.Candles(0, 0, kForever, candles);
  REQUIRE(candles.size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(candles[i].start_ns == 1000 * (i + 2));
    CHECK(candles[i].volume == 3 + i);
  }
  CHECK(x.md.LastCandle(0)->start_ns == 4000);
}

TEST_CASE("A time before the last batch is refused and changes nothing") {
  Exchange x;
  x.Do(New(1, 1, Side::kSell, 100, 100), 5000);
  x.events.clear();
  x.engine.Apply(New(2, 2, Side::kBuy, 100, 1), x.events);
  const absl::Status early = x.md.Apply(x.events, 4999);
  CHECK(early.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(early.message()).find("4999") != std::string::npos);
  CHECK(x.md.Apply(x.events, -1).code() == absl::StatusCode::kInvalidArgument);
  CHECK(x.md.status().ok());
  CHECK(x.md.Apply(x.events, 5000).ok());  // the same batch, on time
  x.CheckAgainstEngine();
}

TEST_CASE("Events that disagree with the book are errors and the error sticks") {
  auto md = *MarketDataPublisher::Create(Options());
  const Event accepted = testing::Accepted(1, Side::kSell, 100, 5);
  REQUIRE(md.Apply(std::vector{Made(1, 0, accepted)}, 0).ok());
  std::vector<LevelView> asks;
  md.Depth(0, Side::kSell, 5, asks);
  CHECK(asks == std::vector<LevelView>{{100, 5, 1}});

  SUBCASE("a trade with an unknown maker") {
    const Event taker = testing::Accepted(2, Side::kBuy, 100, 5);
    const Event trade = testing::Trade(2, Side::kBuy, 99, 100, 1);
    const absl::Status s = md.Apply(std::vector{Made(2, 0, taker), Made(3, 0, trade)}, 0);
    CHECK(s.code() == absl::StatusCode::kDataLoss);
    CHECK(std::string(s.message()).find("maker 99") != std::string::npos);
    CHECK(md.next_sequence() == 3);  // the taker's acceptance was applied, the trade not
  }
  SUBCASE("a trade at another price than the maker's") {
    const Event taker = testing::Accepted(2, Side::kBuy, 101, 5);
    const Event trade = testing::Trade(2, Side::kBuy, 1, 101, 1);
    CHECK(md.Apply(std::vector{Made(2, 0, taker), Made(3, 0, trade)}, 0).code() ==
          absl::StatusCode::kDataLoss);
  }
  SUBCASE("a sequence gap") {
    const absl::Status s = md.Apply(
        std::vector{Made(3, kNoSymbol, testing::Rejected(5, Side::kBuy, RejectReason::kBadPrice))},
        0);
    CHECK(s.code() == absl::StatusCode::kDataLoss);
    CHECK(std::string(s.message()).find("sequence 3 where 2") != std::string::npos);
  }
  SUBCASE("a cancellation with the wrong quantity") {
    const Event cancelled = testing::Cancelled(1, Side::kSell, CancelReason::kRequested, 4);
    CHECK(md.Apply(std::vector{Made(2, 0, cancelled)}, 0).code() == absl::StatusCode::kDataLoss);
  }
  SUBCASE("done with quantity left") {
    const Event done = testing::Done(1, Side::kSell);
    CHECK(md.Apply(std::vector{Made(2, 0, done)}, 0).code() == absl::StatusCode::kDataLoss);
  }
  SUBCASE("a best bid and offer the events do not give") {
    const Event bbo = testing::Bbo({}, {100, 6});
    const absl::Status s = md.Apply(std::vector{Made(2, 0, bbo)}, 0);
    CHECK(s.code() == absl::StatusCode::kDataLoss);
    CHECK(std::string(s.message()).find("100 x 5") != std::string::npos);
  }
  SUBCASE("a symbol beyond max_symbols") {
    const Event other = testing::Accepted(2, Side::kSell, 100, 5);
    CHECK(md.Apply(std::vector{Made(2, 5000, other)}, 0).code() ==
          absl::StatusCode::kResourceExhausted);
  }
  SUBCASE("a market order left resting") {
    const Event market = testing::Accepted(2, Side::kSell, 0, 5);
    CHECK(md.Apply(std::vector{Made(2, 0, market)}, 0).code() == absl::StatusCode::kDataLoss);
  }
  REQUIRE_FALSE(md.status().ok());
  // Sticky: even a good event is refused now.
  CHECK(md.Apply({}, 0) == md.status());
}

TEST_CASE("An order beyond max_orders of its symbol is an error") {
  MarketDataOptions options = Options();
  options.max_orders = 2;
  Exchange x(options);
  x.Do(New(1, 1, Side::kBuy, 90, 1));
  x.Do(New(2, 1, Side::kBuy, 91, 1));
  x.events.clear();
  x.engine.Apply(New(3, 1, Side::kBuy, 92, 1), x.events);
  const absl::Status s = x.md.Apply(x.events, 0);
  CHECK(s.code() == absl::StatusCode::kResourceExhausted);
  CHECK(std::string(s.message()).find("max_orders 2") != std::string::npos);
}

TEST_CASE("A taker on a full book is tracked when max_orders equals the engine's") {
  // The engine lets an order that never rests (IOC, FOK, market) match a book that holds
  // max_orders already; the publisher configured with the same limit must follow it.
  EngineOptions engine_options;
  engine_options.book.max_orders = 2;
  MatchingEngine engine(engine_options);
  MarketDataOptions options = Options();
  options.max_orders = 2;
  MarketDataPublisher md = *MarketDataPublisher::Create(options);
  std::vector<EngineEvent> events;
  const Command commands[] = {New(1, 1, Side::kSell, 100, 5),
                              New(2, 1, Side::kSell, 101, 5),
                              New(3, 2, Side::kBuy, 100, 2, TimeInForce::kImmediateOrCancel),
                              New(4, 2, Side::kBuy, 101, 20, TimeInForce::kFillOrKill),
                              Market(5, 2, Side::kBuy, 4),
                              New(6, 2, Side::kBuy, 90, 1),  // rejected by the engine: book_full
                              New(7, 2, Side::kBuy, 101, 6)};
  for (const Command& c : commands) {
    CAPTURE(c.order.id);
    events.clear();
    engine.Apply(c, events);
    REQUIRE(md.Apply(events, 0).ok());
  }
  std::vector<LevelView> want, got;
  for (const Side side : {Side::kBuy, Side::kSell}) {
    engine.book(0).Depth(side, 10, want);
    md.Depth(0, side, 10, got);
    CHECK(got == want);
  }
}

TEST_CASE("Random events never crash the publisher") {
  const uint64_t seed = keel::testing::TestSeed(601);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int run = 0; run < 300; ++run) {
    auto md = *MarketDataPublisher::Create(Options(static_cast<int64_t>(1 + rng.Uniform(100)), 4));
    std::vector<EngineEvent> batch;
    uint64_t sequence = 1;
    for (int i = 0; i < 30 && md.status().ok(); ++i) {
      batch.clear();
      for (uint64_t n = rng.Uniform(4); n > 0; --n) {
        Event e;
        e.kind = static_cast<EventKind>(rng.Uniform(9));
        e.side = static_cast<Side>(rng.Uniform(2));
        e.cancel = static_cast<CancelReason>(rng.Uniform(4));
        e.order_id = rng.Uniform(4);
        e.maker_id = rng.Uniform(4);
        e.price = static_cast<Price>(rng.Uniform(4)) - 1;
        e.quantity = static_cast<Quantity>(rng.Uniform(4)) - 1;
        e.bid = {static_cast<Price>(rng.Uniform(3)), static_cast<Quantity>(rng.Uniform(3))};
        const uint32_t symbol =
            rng.Uniform(8) == 0 ? kNoSymbol : static_cast<uint32_t>(rng.Uniform(3));
        batch.push_back(Made(rng.Uniform(30) == 0 ? sequence + 1 : sequence, symbol, e));
        ++sequence;
      }
      (void)md.Apply(batch, static_cast<int64_t>(rng.Uniform(1000)));
      L2Snapshot snapshot;
      md.Snapshot(static_cast<uint32_t>(rng.Uniform(4)), 3, snapshot);
    }
  }
}

// The candles of a symbol recomputed from its trades: the last `history` intervals that had any.
struct RecordedTrade {
  int64_t time_ns;
  Price price;
  Quantity quantity;
};

std::vector<Candle> BruteForceCandles(const std::vector<RecordedTrade>& trades, int64_t interval,
                                      uint32_t history) {
  std::vector<Candle> candles;
  for (const RecordedTrade& t : trades) {
    const int64_t start = t.time_ns - t.time_ns % interval;
    if (candles.empty() || candles.back().start_ns != start) {
      candles.push_back({start, t.price, t.price, t.price, t.price, 0, 0});
    }
    Candle& c = candles.back();
    c.high = std::max(c.high, t.price);
    c.low = std::min(c.low, t.price);
    c.close = t.price;
    c.volume += t.quantity;
    ++c.trades;
  }
  if (candles.size() > history) candles.erase(candles.begin(), candles.end() - history);
  return candles;
}

TEST_CASE("The book built from the events equals the engine's after every command or batch") {
  for (const uint64_t default_seed : {611u, 612u, 613u}) {
    const uint64_t seed = keel::testing::TestSeed(default_seed);
    CAPTURE(seed);
    base::Random rng(seed ^ 0x5eed);
    testing::RandomCommands commands(seed);
    const int64_t interval = 1000;
    const uint32_t history = default_seed == 611 ? 1000 : 5;
    Exchange x(Options(interval, history));
    std::vector<std::vector<RecordedTrade>> trades(4);
    std::vector<Candle> got;
    int64_t now = 0;
    size_t trade_count = 0;
    for (int i = 0; i < 4000; ++i) {
      CAPTURE(i);
      const uint64_t roll = rng.Uniform(10);
      now += roll < 5 ? 0 : roll < 9 ? static_cast<int64_t>(rng.Uniform(600)) : 5000;
      // Seed 611 hands the events over command by command; the others in batches of one to
      // four commands, as a Sequencer's SubmitBatch does, so that orders also join their levels
      // at the next command's first event inside a batch.
      const uint64_t batch = default_seed == 611 ? 1 : 1 + rng.Uniform(4);
      x.events.clear();
      for (uint64_t n = 0; n < batch; ++n) x.engine.Apply(commands.Next(), x.events);
      REQUIRE(x.md.Apply(x.events, now).ok());
      for (const EngineEvent& e : x.events) {
        if (e.event.kind != EventKind::kTrade) continue;
        trades[e.symbol].push_back({now, e.event.price, e.event.quantity});
        ++trade_count;
      }
      x.CheckAgainstEngine();
      for (uint32_t s = 0; s < x.engine.symbol_count(); ++s) {
        x.md.Candles(s, 0, kForever, got);
        REQUIRE(got == BruteForceCandles(trades[s], interval, history));
      }
    }
    CHECK(x.md.status().ok());
    CHECK(x.md.next_sequence() == x.engine.next_sequence());
    // The run exercised what it is meant to: many trades, over several symbols.
    CHECK(trade_count > 500);
    CHECK(x.engine.symbol_count() == 3);
  }
}

}  // namespace
}  // namespace keel::market
