// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/market/matching_engine.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "commands.h"
#include "keel/base/random.h"
#include "keel/market/text_format.h"
#include "testing/testing.h"

namespace keel::market {
namespace {

Command New(OrderId id, std::string_view symbol, Side side, Price price, Quantity quantity,
            ClientId client = 1) {
  return testing::NewCommand(symbol, id, client, side, price, quantity);
}

using testing::CancelCommand;

TEST_CASE("The engine numbers every event without gaps across symbols and commands") {
  MatchingEngine engine({});
  std::vector<EngineEvent> events;
  engine.Apply(New(1, "AAA", Side::kSell, 100, 5), events);
  engine.Apply(New(2, "BBB", Side::kBuy, 50, 5), events);
  engine.Apply(New(3, "AAA", Side::kBuy, 100, 2, 2), events);
  engine.Apply(CancelCommand(99), events);
  engine.Apply(CancelCommand(1), events);
  for (size_t i = 0; i < events.size(); ++i) CHECK(events[i].sequence == i + 1);
  CHECK(engine.next_sequence() == events.size() + 1);
  CHECK(engine.commands() == 5);
  CHECK(engine.symbol_count() == 2);
  CHECK(engine.symbol_name(engine.FindSymbol("BBB")) == "BBB");
  CHECK(engine.FindSymbol("CCC") == kNoSymbol);
  // The cancel of order 1 went to AAA's book although the command named no symbol.
  const EngineEvent& cancelled = events.back().event.kind == EventKind::kBestBidOffer
                                     ? events[events.size() - 2]
                                     : events.back();
  CHECK(cancelled.event.kind == EventKind::kCancelled);
  CHECK(cancelled.event.quantity == 3);
  CHECK(cancelled.symbol == engine.FindSymbol("AAA"));
}

TEST_CASE("An order id is used once in the whole run across symbols") {
  MatchingEngine engine({});
  std::vector<EngineEvent> events;
  engine.Apply(New(7, "AAA", Side::kSell, 100, 5), events);
  events.clear();
  engine.Apply(New(7, "BBB", Side::kSell, 100, 5), events);  // resting in another book
  REQUIRE(events.size() == 1);
  CHECK(events[0].event.reject == RejectReason::kDuplicateOrderId);
  engine.Apply(CancelCommand(7), events);
  events.clear();
  engine.Apply(New(7, "AAA", Side::kSell, 100, 5), events);  // gone, but used
  REQUIRE(events.size() == 1);
  CHECK(events[0].event.reject == RejectReason::kDuplicateOrderId);
  // A rejected order never existed: its id may be used.
  events.clear();
  engine.Apply(New(8, "AAA", Side::kSell, 0, 5), events);
  CHECK(events[0].event.reject == RejectReason::kBadPrice);
  events.clear();
  engine.Apply(New(8, "AAA", Side::kSell, 100, 5), events);
  CHECK(events[0].event.kind == EventKind::kAccepted);
}

TEST_CASE("The engine rejects exactly the ids a brute-force set says were used") {
  const uint64_t seed = keel::testing::TestSeed(510);
  CAPTURE(seed);
  base::Random rng(seed);
  MatchingEngine engine({});
  std::set<OrderId> used;     // every id accepted, from the events
  std::set<OrderId> resting;  // accepted and not yet done or cancelled
  std::vector<EngineEvent> events;
  OrderId counter = 1;
  for (int i = 0; i < 30'000; ++i) {
    // Mostly counting up with holes, with reused, late and random ids among them.
    const uint64_t shape = rng.Uniform(20);
    OrderId id = shape < 14   ? counter++
                 : shape < 16 ? counter - rng.Uniform(std::min<OrderId>(counter, 10'000))
                 : shape < 17 ? rng.Next()
                              : (counter += 1 + rng.Uniform(100));
    const uint64_t kind = rng.Uniform(10);
    Command c = kind < 6   ? New(id, rng.Uniform(2) == 0 ? "AAA" : "BBB",
                               rng.Uniform(2) == 0 ? Side::kBuy : Side::kSell,
                               rng.Uniform(30) == 0 ? 0 : Price(95 + rng.Uniform(10)),
                                 Quantity(1 + rng.Uniform(5)), 1 + rng.Uniform(6))
                : kind < 9 ? CancelCommand(id)
                           : testing::ModifyCommand(id, Price(95 + rng.Uniform(10)), 3);
    if (kind < 6 && rng.Uniform(4) == 0) c.order.tif = TimeInForce::kImmediateOrCancel;
    CAPTURE(i);
    CAPTURE(id);
    events.clear();
    engine.Apply(c, events);
    REQUIRE(!events.empty());
    const Event& first = events.front().event;
    if (c.kind == CommandKind::kNew && first.reject != RejectReason::kBadPrice) {
      CHECK((first.reject == RejectReason::kDuplicateOrderId) == used.contains(id));
    } else if (c.kind != CommandKind::kNew) {
      CHECK((first.reject == RejectReason::kUnknownOrder) == !resting.contains(id));
    }
    for (const EngineEvent& e : events) {
      if (e.event.kind == EventKind::kAccepted) {
        CHECK(used.insert(e.event.order_id).second);
        resting.insert(e.event.order_id);
      } else if (e.event.kind == EventKind::kDone || e.event.kind == EventKind::kCancelled) {
        CHECK(resting.erase(e.event.order_id) == 1);
      }
    }
  }
}

TEST_CASE("The engine rejects bad symbols and symbols beyond its limit") {
  MatchingEngine engine({.max_symbols = 2});
  std::vector<EngineEvent> events;
  for (const std::string_view bad : {"", "lower", "WAY_TOO_LONG_SYMBOL", "A,B", "A B"}) {
    events.clear();
    engine.Apply(New(1, bad, Side::kBuy, 1, 1), events);
    REQUIRE(events.size() == 1);
    CHECK(events[0].event.reject == RejectReason::kBadSymbol);
  }
  CHECK(IsValidSymbol("BRK.B"));
  CHECK(IsValidSymbol("0123456789ABCDEF"));
  CHECK(!IsValidSymbol("0123456789ABCDEFG"));
  engine.Apply(New(1, "A", Side::kBuy, 1, 1), events);
  engine.Apply(New(2, "B", Side::kBuy, 1, 1), events);
  events.clear();
  engine.Apply(New(3, "C", Side::kBuy, 1, 1), events);
  CHECK(events[0].event.reject == RejectReason::kTooManySymbols);
  CHECK(engine.symbol_count() == 2);
  Command invalid;
  invalid.kind = CommandKind::kInvalid;
  events.clear();
  engine.Apply(invalid, events);
  CHECK(events[0].event.reject == RejectReason::kMalformed);
}

TEST_CASE("A rejected order does not use up a symbol or change the state") {
  MatchingEngine engine({.max_symbols = 1});
  std::vector<EngineEvent> events;
  engine.Apply(New(1, "BAD", Side::kBuy, 0, 5), events);
  engine.Apply(New(2, "BAD", Side::kBuy, 10, 0), events);
  CHECK(engine.symbol_count() == 0);
  events.clear();
  engine.Apply(New(3, "GOOD", Side::kBuy, 10, 5), events);
  CHECK(events[0].event.kind == EventKind::kAccepted);
}

TEST_CASE("A symbol too long to be valid is logged cut short and still rejected") {
  const std::string huge(1 << 20, 'A');
  const std::string bytes = EncodeCommand(New(1, huge, Side::kBuy, 1, 1));
  CHECK(bytes.size() < 100);
  const absl::StatusOr<Command> back = DecodeCommand(bytes);
  REQUIRE(back.ok());
  CHECK(back->symbol.size() == kMaxSymbolBytes + 1);
  MatchingEngine a({}), b({});
  std::vector<EngineEvent> from_huge, from_log;
  a.Apply(New(1, huge, Side::kBuy, 1, 1), from_huge);
  b.Apply(*back, from_log);
  CHECK(from_huge == from_log);
  CHECK(from_huge[0].event.reject == RejectReason::kBadSymbol);
}

TEST_CASE("Commands survive encoding and damaged encodings are refused") {
  const uint64_t seed = keel::testing::TestSeed(506);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int i = 0; i < 2000; ++i) {
    Command c;
    c.kind = static_cast<CommandKind>(rng.Uniform(4));
    c.order.id = rng.Next();
    if (c.kind == CommandKind::kNew) {
      c.symbol = rng.Uniform(2) == 0 ? "ACME" : "";
      c.order.client = rng.Next();
      c.order.side = static_cast<Side>(rng.Uniform(2));
      c.order.type = static_cast<OrderType>(rng.Uniform(2));
      c.order.tif = static_cast<TimeInForce>(rng.Uniform(4));
      c.order.stp = static_cast<SelfTradePrevention>(rng.Uniform(4));
    }
    if (c.kind == CommandKind::kNew || c.kind == CommandKind::kModify) {
      c.order.price = static_cast<Price>(rng.Next());
      c.order.quantity = static_cast<Quantity>(rng.Next());
    }
    const std::string bytes = EncodeCommand(c);
    const absl::StatusOr<Command> back = DecodeCommand(bytes);
    REQUIRE(back.ok());
    CHECK(back->kind == c.kind);
    CHECK(back->symbol == c.symbol);
    CHECK(back->order.id == c.order.id);
    CHECK(back->order.client == c.order.client);
    CHECK(back->order.side == c.order.side);
    CHECK(back->order.type == c.order.type);
    CHECK(back->order.tif == c.order.tif);
    CHECK(back->order.stp == c.order.stp);
    CHECK(back->order.price == c.order.price);
    CHECK(back->order.quantity == c.order.quantity);
    for (size_t cut = 0; cut < bytes.size(); ++cut) {
      CHECK(DecodeCommand(bytes.substr(0, cut)).status().code() == absl::StatusCode::kDataLoss);
    }
    CHECK(DecodeCommand(bytes + "x").status().code() == absl::StatusCode::kDataLoss);
  }
  std::string bad_enum = EncodeCommand(New(1, "A", Side::kBuy, 1, 1));
  bad_enum[1] = 9;  // the kind
  CHECK(DecodeCommand(bad_enum).status().code() == absl::StatusCode::kDataLoss);
  for (int i = 0; i < 10000; ++i) {
    std::string noise(rng.Uniform(40), '\0');
    for (char& ch : noise) ch = static_cast<char>(rng.Uniform(256));
    (void)DecodeCommand(noise);  // never crashes
  }
}

TEST_CASE("Replaying the same commands gives the same events and state hash") {
  const uint64_t seed = keel::testing::TestSeed(507);
  CAPTURE(seed);
  base::Random rng(seed);
  std::vector<std::string> lines;
  for (int i = 0; i < 20000; ++i) {
    lines.push_back(keel::base::Cat(
        "N,", i + 1, ",", rng.Uniform(10), ",", rng.Uniform(3) == 0 ? "X" : "Y", ",",
        rng.Uniform(2) == 0 ? "B" : "S", ",L,GTC,", 90 + rng.Uniform(20), ",", 1 + rng.Uniform(9)));
    if (rng.Uniform(4) == 0) lines.push_back(keel::base::Cat("C,", 1 + rng.Uniform(i + 1)));
  }
  std::vector<EngineEvent> first, second;
  MatchingEngine a({}), b({});
  std::string error;
  for (const std::string& line : lines) a.Apply(ParseCommand(line, &error), first);
  for (const std::string& line : lines) b.Apply(ParseCommand(line, &error), second);
  CHECK(first == second);
  CHECK(a.StateHash() == b.StateHash());
  // One command more or less changes the hash.
  b.Apply(ParseCommand("C,1", &error), second);
  b.Apply(ParseCommand("N,999999,1,X,B,L,GTC,1,1", &error), second);
  CHECK(a.StateHash() != b.StateHash());
}

}  // namespace
}  // namespace keel::market
