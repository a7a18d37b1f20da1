// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/market/order_manager.h"

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/market/gateway.h"
#include "testing/testing.h"

namespace keel::market {
namespace {

// Whether a status's message contains `text` (Debian's absl::string_view is not std's).
bool Contains(const absl::Status& status, std::string_view text) {
  return std::string(status.message()).find(text) != std::string::npos;
}

// The whole front of the exchange: gateway, order manager, engine, driven one request at a time.
struct Exchange {
  explicit Exchange(const OrderManagerOptions& options = {},
                    GatewayOptions gateway_options = {.rate = {.interval_ns = 1, .burst = 4096}})
      : gateway(*ClientGateway::Create(gateway_options, clock)), risk(options), engine({}) {}

  void Open(ClientId client, int64_t cash) {
    REQUIRE(gateway.AddClient(client).ok());
    REQUIRE(risk.OpenAccount(client).ok());
    if (cash > 0) REQUIRE(risk.Deposit(client, cash).ok());
  }

  // The usual pair: client 1 buys with 10,000 in cash, client 2 sells `shares` ACME.
  void OpenBuyerAndSeller(Quantity shares) {
    Open(1, 10'000);
    Open(2, 0);
    REQUIRE(risk.DepositShares(2, "ACME", shares).ok());
  }

  // What became of a request: the gateway's rejection, the risk check's, or the engine's events.
  struct Outcome {
    GatewayReject gateway = GatewayReject::kNone;
    RiskReject risk = RiskReject::kNone;
    std::vector<EngineEvent> events;
  };

  Outcome Send(const OrderRequest& request) {
    Outcome out;
    const GatewayDecision d = gateway.Accept(request);
    out.gateway = d.reject;
    if (!d.ok()) return out;
    const RiskDecision r = risk.Check(d.command);
    out.risk = r.reject;
    if (!r.ok()) return out;
    engine.Apply(d.command, out.events);
    risk.OnEvents(out.events);
    return out;
  }
  Outcome Buy(ClientId client, OrderId id, Price price, Quantity quantity,
              TimeInForce tif = TimeInForce::kGoodTillCancel,
              SelfTradePrevention stp = SelfTradePrevention::kCancelNewest) {
    return Send({.client = client,
                 .order_id = id,
                 .symbol = "ACME",
                 .side = Side::kBuy,
                 .tif = tif,
                 .stp = stp,
                 .price = price,
                 .quantity = quantity});
  }
  Outcome Sell(ClientId client, OrderId id, Price price, Quantity quantity,
               TimeInForce tif = TimeInForce::kGoodTillCancel,
               SelfTradePrevention stp = SelfTradePrevention::kCancelNewest) {
    OrderRequest r = {.client = client,
                      .order_id = id,
                      .symbol = "ACME",
                      .side = Side::kSell,
                      .tif = tif,
                      .stp = stp,
                      .price = price,
                      .quantity = quantity};
    return Send(r);
  }
  Outcome Cancel(ClientId client, OrderId id) {
    return Send({.kind = RequestKind::kCancel, .client = client, .order_id = id});
  }
  Outcome Modify(ClientId client, OrderId id, Price price, Quantity quantity) {
    return Send({.kind = RequestKind::kModify,
                 .client = client,
                 .order_id = id,
                 .price = price,
                 .quantity = quantity});
  }

  base::ManualClock clock;
  ClientGateway gateway;
  OrderManager risk;
  MatchingEngine engine;
};

bool Has(const std::vector<EngineEvent>& events, EventKind kind, OrderId id) {
  for (const EngineEvent& e : events) {
    if (e.event.kind == kind && e.event.order_id == id) return true;
  }
  return false;
}

TEST_CASE("A buy withholds its limit price times its quantity and a cancel releases it") {
  Exchange x;
  x.Open(1, 1000);
  CHECK(x.Buy(1, 10, 100, 4).events.size() >= 1);
  CHECK(x.risk.cash(1) == Cash{.balance = 1000, .held = 400});
  CHECK(x.risk.cash(1).available() == 600);
  CHECK(x.risk.FindOrder(10)->hold == 400);
  CHECK(Has(x.Cancel(1, 10).events, EventKind::kCancelled, 10));
  CHECK(x.risk.cash(1) == Cash{.balance = 1000, .held = 0});
  CHECK(x.risk.open_orders() == 0);
}

TEST_CASE("A buy beyond the available cash is rejected and holds nothing") {
  Exchange x;
  x.Open(1, 1000);
  REQUIRE(x.Buy(1, 10, 100, 6).risk == RiskReject::kNone);
  const Exchange::Outcome o = x.Buy(1, 11, 100, 5);
  CHECK(o.risk == RiskReject::kInsufficientCash);
  CHECK(o.events.empty());  // the engine never saw it
  CHECK(x.risk.cash(1).held == 600);
  Command c{.kind = CommandKind::kNew, .symbol = "ACME"};
  c.order = {.id = 11, .client = 1, .price = 100, .quantity = 5};
  const RiskDecision d = x.risk.Check(c);
  CHECK(d.needed == 500);
  CHECK(d.available == 400);
  const absl::Status status = x.risk.Explain(c, d);
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(status.message()) ==
        "client 1 order 11: insufficient cash: needs 500 withheld, 400 available");
  // Exactly the available amount is enough.
  CHECK(x.Buy(1, 12, 100, 4).risk == RiskReject::kNone);
  CHECK(x.risk.cash(1).available() == 0);
}

TEST_CASE("A sell withholds shares and short selling is refused unless configured") {
  Exchange x;
  x.Open(1, 0);
  REQUIRE(x.risk.DepositShares(1, "ACME", 10).ok());
  CHECK(x.Sell(1, 10, 100, 7).risk == RiskReject::kNone);
  CHECK(x.risk.holding(1, "ACME") == Holding{.shares = 10, .held = 7});
  CHECK(x.Sell(1, 11, 100, 4).risk == RiskReject::kInsufficientPosition);
  CHECK(x.Sell(1, 12, 100, 3).risk == RiskReject::kNone);
  CHECK(x.risk.WithdrawShares(1, "ACME", 1).code() == absl::StatusCode::kInvalidArgument);
  // A symbol the client never held.
  OrderRequest other = {.client = 1,
                        .order_id = 13,
                        .symbol = "OTHER",
                        .side = Side::kSell,
                        .price = 5,
                        .quantity = 1};
  CHECK(x.Send(other).risk == RiskReject::kInsufficientPosition);

  Exchange shorts({.max_short = 5});
  shorts.Open(2, 0);
  shorts.Open(3, 10'000);
  CHECK(shorts.Sell(2, 20, 100, 6).risk == RiskReject::kInsufficientPosition);
  CHECK(shorts.Sell(2, 21, 100, 5).risk == RiskReject::kNone);
  shorts.Buy(3, 30, 100, 5);
  CHECK(shorts.risk.holding(2, "ACME") == Holding{.shares = -5, .held = 0});
  CHECK(shorts.risk.holding(3, "ACME") == Holding{.shares = 5, .held = 0});
  CHECK(shorts.risk.cash(2).balance == 500);
  CHECK(shorts.Sell(2, 22, 100, 1).risk == RiskReject::kInsufficientPosition);
}

TEST_CASE(
    "A fill moves cash and shares at the maker price and a partial fill keeps the rest held") {
  Exchange x;
  x.OpenBuyerAndSeller(50);
  x.Buy(1, 10, 100, 10);
  const Exchange::Outcome o = x.Sell(2, 20, 99, 4);
  CHECK(Has(o.events, EventKind::kTrade, 20));
  // Buyer 1 paid the maker's (its own) price 100 for 4; 6 stay held at 100.
  CHECK(x.risk.cash(1) == Cash{.balance = 9600, .held = 600});
  CHECK(x.risk.holding(1, "ACME") == Holding{.shares = 4, .held = 0});
  CHECK(x.risk.cash(2) == Cash{.balance = 400, .held = 0});
  CHECK(x.risk.holding(2, "ACME") == Holding{.shares = 46, .held = 0});
  CHECK(x.risk.FindOrder(10)->open == 6);
  CHECK(x.risk.FindOrder(10)->hold == 600);
  CHECK(!x.risk.FindOrder(20).has_value());  // done
}

TEST_CASE("A taker buy that trades below its limit gets the difference back") {
  Exchange x;
  x.OpenBuyerAndSeller(50);
  x.Sell(2, 20, 95, 3);
  x.Sell(2, 21, 97, 3);
  const Exchange::Outcome o = x.Buy(1, 10, 100, 10);  // takes 3 at 95 and 3 at 97; 4 rest
  CHECK(Has(o.events, EventKind::kTrade, 10));
  CHECK(x.risk.cash(1).balance == 10'000 - 3 * 95 - 3 * 97);
  CHECK(x.risk.cash(1).held == 4 * 100);
  CHECK(x.risk.cash(2).balance == 3 * 95 + 3 * 97);
  CHECK(x.risk.holding(2, "ACME") == Holding{.shares = 44, .held = 0});
}

TEST_CASE("An IOC remainder and a killed FOK order release their holds") {
  Exchange x;
  x.OpenBuyerAndSeller(50);
  x.Sell(2, 20, 100, 3);
  Exchange::Outcome o = x.Buy(1, 10, 100, 10, TimeInForce::kImmediateOrCancel);
  CHECK(Has(o.events, EventKind::kCancelled, 10));
  CHECK(x.risk.cash(1) == Cash{.balance = 9700, .held = 0});
  x.Sell(2, 21, 100, 3);
  o = x.Buy(1, 11, 100, 10, TimeInForce::kFillOrKill);
  CHECK(Has(o.events, EventKind::kCancelled, 11));
  CHECK(x.risk.cash(1) == Cash{.balance = 9700, .held = 0});
  // A FOK sell killed releases its shares.
  o = x.Sell(2, 22, 200, 40, TimeInForce::kFillOrKill);
  CHECK(Has(o.events, EventKind::kCancelled, 22));
  CHECK(x.risk.holding(2, "ACME") == Holding{.shares = 47, .held = 3});
  CHECK(x.risk.open_orders() == 1);
}

TEST_CASE("A market sell withholds shares and a raw market buy is refused") {
  Exchange x;
  x.OpenBuyerAndSeller(50);
  x.Buy(1, 10, 101, 5);
  OrderRequest sell = {.client = 2,
                       .order_id = 20,
                       .symbol = "ACME",
                       .side = Side::kSell,
                       .type = OrderType::kMarket,
                       .quantity = 8};
  const Exchange::Outcome o = x.Send(sell);
  CHECK(Has(o.events, EventKind::kCancelled, 20));  // 5 traded, 3 unfilled
  CHECK(x.risk.holding(2, "ACME") == Holding{.shares = 45, .held = 0});
  CHECK(x.risk.cash(2).balance == 505);
  Command raw{.kind = CommandKind::kNew, .symbol = "ACME"};
  raw.order = {.id = 11, .client = 1, .type = OrderType::kMarket, .quantity = 1};
  const RiskDecision d = x.risk.Check(raw);
  CHECK(d.reject == RiskReject::kMarketBuy);
  CHECK(Contains(x.risk.Explain(raw, d), "protection price"));
}

TEST_CASE("A modify down releases and a modify up is checked before the engine sees it") {
  Exchange x;
  x.Open(1, 1000);
  x.Buy(1, 10, 100, 5);
  CHECK(Has(x.Modify(1, 10, 100, 3).events, EventKind::kModified, 10));
  CHECK(x.risk.cash(1).held == 300);
  CHECK(Has(x.Modify(1, 10, 90, 10).events, EventKind::kModified, 10));
  CHECK(x.risk.cash(1).held == 900);
  const Exchange::Outcome o = x.Modify(1, 10, 101, 10);
  CHECK(o.risk == RiskReject::kInsufficientCash);
  CHECK(o.events.empty());
  CHECK(x.risk.cash(1).held == 900);
  CHECK(x.risk.FindOrder(10)->price == 90);
  // A sell modified up needs the shares.
  x.Open(2, 0);
  REQUIRE(x.risk.DepositShares(2, "ACME", 10).ok());
  x.Sell(2, 20, 200, 4);
  CHECK(x.Modify(2, 20, 200, 11).risk == RiskReject::kInsufficientPosition);
  CHECK(Has(x.Modify(2, 20, 150, 10).events, EventKind::kModified, 20));
  CHECK(x.risk.holding(2, "ACME").held == 10);
}

TEST_CASE("A modify the engine rejects gives back its extra hold") {
  Exchange x;
  x.OpenBuyerAndSeller(10);
  x.Sell(2, 20, 105, 5);
  x.Buy(1, 10, 100, 5, TimeInForce::kPostOnly);
  // Post-only moved to cross: the engine rejects it and it stays as it was.
  const Exchange::Outcome o = x.Modify(1, 10, 106, 8);
  CHECK(Has(o.events, EventKind::kRejected, 10));
  CHECK(x.risk.cash(1).held == 500);
  // A post-only new order that would cross is rejected by the engine: its hold goes back.
  CHECK(Has(x.Buy(1, 11, 105, 5, TimeInForce::kPostOnly).events, EventKind::kRejected, 11));
  CHECK(x.risk.cash(1).held == 500);
  CHECK(!x.risk.FindOrder(11).has_value());
}

TEST_CASE("A modified order that crosses pays the maker price") {
  Exchange x;
  x.OpenBuyerAndSeller(10);
  x.Sell(2, 20, 103, 5);
  x.Buy(1, 10, 100, 5);
  const Exchange::Outcome o = x.Modify(1, 10, 110, 6);  // takes 5 at 103; 1 rests at 110
  CHECK(Has(o.events, EventKind::kTrade, 10));
  CHECK(x.risk.cash(1) == Cash{.balance = 10'000 - 515, .held = 110});
}

TEST_CASE("Self-trade prevention releases what it cancels or decrements") {
  Exchange x;
  x.Open(1, 10'000);
  REQUIRE(x.risk.DepositShares(1, "ACME", 20).ok());
  x.Sell(1, 20, 100, 5);
  // Cancel newest: the taker buy is cancelled, its hold released.
  CHECK(Has(x.Buy(1, 10, 100, 5).events, EventKind::kCancelled, 10));
  CHECK(x.risk.cash(1).held == 0);
  // Cancel oldest: the resting sell goes, the buy rests.
  x.Buy(1, 11, 100, 5, TimeInForce::kGoodTillCancel, SelfTradePrevention::kCancelOldest);
  CHECK(x.risk.holding(1, "ACME").held == 0);
  CHECK(x.risk.cash(1).held == 500);
  // Decrement: both reduced by the smaller; the smaller is cancelled.
  const Exchange::Outcome o =
      x.Sell(1, 21, 100, 3, TimeInForce::kGoodTillCancel, SelfTradePrevention::kDecrement);
  CHECK(Has(o.events, EventKind::kReduced, 11));
  CHECK(Has(o.events, EventKind::kCancelled, 21));
  CHECK(x.risk.cash(1).held == 200);
  CHECK(x.risk.holding(1, "ACME") == Holding{.shares = 20, .held = 0});
  CHECK(x.risk.cash(1).balance == 10'000);
}

TEST_CASE("Only an order's owner may cancel or modify it") {
  Exchange x;
  x.Open(1, 10'000);
  x.Open(2, 10'000);
  x.Buy(1, 10, 100, 5);
  CHECK(x.Cancel(2, 10).risk == RiskReject::kNotOwner);
  CHECK(x.Modify(2, 10, 100, 1).risk == RiskReject::kNotOwner);
  CHECK(x.Cancel(2, 99).risk == RiskReject::kUnknownOrder);
  CHECK(x.Buy(2, 10, 100, 5).risk == RiskReject::kDuplicateOrderId);
  CHECK(x.risk.cash(1).held == 500);
  CHECK(x.risk.cash(2).held == 0);
  Command c{.kind = CommandKind::kCancel};
  c.order = {.id = 10, .client = 2};
  const absl::Status status = x.risk.Explain(c, x.risk.Check(c));
  CHECK(status.code() == absl::StatusCode::kPermissionDenied);
  CHECK(std::string(status.message()) == "client 2 order 10: the order is another client's");
  // An id the engine used before: the engine rejects it, and the hold goes back.
  x.Cancel(1, 10);
  CHECK(Has(x.Buy(2, 10, 100, 5).events, EventKind::kRejected, 10));
  CHECK(x.risk.cash(2).held == 0);
}

TEST_CASE("A notional too large for the books is rejected without overflow") {
  Exchange x;
  x.Open(1, kMaxTotalCash);
  // 2^48 - 1 ticks times 2^40 lots is about 2^88.
  CHECK(x.Buy(1, 10, kMaxPrice, kMaxQuantity).risk == RiskReject::kNotionalTooLarge);
  CHECK(x.Buy(1, 10, kMaxPrice, (kMaxTotalCash / kMaxPrice) + 1).risk ==
        RiskReject::kNotionalTooLarge);
  CHECK(x.Buy(1, 10, kMaxPrice, kMaxTotalCash / kMaxPrice).risk == RiskReject::kNone);
  CHECK(x.risk.cash(1).held == kMaxPrice * (kMaxTotalCash / kMaxPrice));
  x.Buy(1, 11, 1, 1);
  CHECK(x.Modify(1, 11, kMaxPrice, kMaxQuantity).risk == RiskReject::kNotionalTooLarge);
  // No deposit can take the total past its limit.
  CHECK(x.risk.Deposit(1, 1).code() == absl::StatusCode::kInvalidArgument);
  x.Open(2, 0);
  CHECK(x.risk.Deposit(2, 1).code() == absl::StatusCode::kInvalidArgument);
  CHECK(x.risk.DepositShares(2, "ACME", kMaxTotalShares).ok());
  CHECK(x.risk.DepositShares(1, "ACME", 1).code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Accounts refuse bad amounts and unknown clients with a message") {
  OrderManager risk({.max_symbols = 1, .max_clients = 2});
  CHECK(risk.Deposit(1, 10).code() == absl::StatusCode::kNotFound);
  CHECK(risk.OpenAccount(1).ok());
  CHECK(risk.OpenAccount(1).code() == absl::StatusCode::kAlreadyExists);
  CHECK(risk.OpenAccount(2).ok());
  CHECK(risk.OpenAccount(3).code() == absl::StatusCode::kResourceExhausted);
  const absl::Status bad = risk.Deposit(1, -5);
  CHECK(bad.code() == absl::StatusCode::kInvalidArgument);
  CHECK(Contains(bad, "-5"));
  CHECK(risk.Deposit(1, 100).ok());
  CHECK(risk.Withdraw(1, 101).code() == absl::StatusCode::kInvalidArgument);
  CHECK(risk.Withdraw(1, 0).code() == absl::StatusCode::kInvalidArgument);
  CHECK(risk.Withdraw(1, 40).ok());
  CHECK(risk.cash(1).balance == 60);
  CHECK(risk.total_cash() == 60);
  CHECK(risk.DepositShares(1, "acme", 1).code() == absl::StatusCode::kInvalidArgument);
  CHECK(risk.DepositShares(1, "ACME", 0).code() == absl::StatusCode::kInvalidArgument);
  CHECK(risk.DepositShares(1, "ACME", 5).ok());
  CHECK(risk.DepositShares(1, "OTHER", 5).code() == absl::StatusCode::kResourceExhausted);
  CHECK(risk.WithdrawShares(1, "ACME", 6).code() == absl::StatusCode::kInvalidArgument);
  CHECK(risk.WithdrawShares(1, "NONE", 1).code() == absl::StatusCode::kInvalidArgument);
  CHECK(risk.WithdrawShares(1, "ACME", 5).ok());
  CHECK(risk.total_shares("ACME") == 0);
  Command c{.kind = CommandKind::kNew, .symbol = "ACME"};
  c.order = {.id = 1, .client = 9, .price = 1, .quantity = 1};
  CHECK(risk.Check(c).reject == RiskReject::kUnknownClient);
  c.order.client = 1;
  c.symbol = "OTHER";
  const RiskDecision d = risk.Check(c);
  CHECK(d.reject == RiskReject::kTooManySymbols);
  CHECK(risk.Explain(c, d).code() == absl::StatusCode::kResourceExhausted);
  c.symbol = "bad symbol";
  CHECK(risk.Check(c).reject == RiskReject::kBadSymbol);
  c.symbol = "ACME";
  c.order.side = static_cast<Side>(3);
  CHECK(risk.Check(c).reject == RiskReject::kBadCommand);
  c.kind = CommandKind::kInvalid;
  CHECK(risk.Check(c).reject == RiskReject::kBadCommand);
  CHECK(!risk.in_flight());
}

TEST_CASE("A command that never reached the engine is aborted and its hold released") {
  OrderManager risk({});
  REQUIRE(risk.OpenAccount(1).ok());
  REQUIRE(risk.Deposit(1, 1000).ok());
  Command c{.kind = CommandKind::kNew, .symbol = "ACME"};
  c.order = {.id = 1, .client = 1, .price = 10, .quantity = 10};
  REQUIRE(risk.Check(c).ok());
  CHECK(risk.in_flight());
  CHECK(risk.cash(1).held == 100);
  risk.Abort();
  CHECK(!risk.in_flight());
  CHECK(risk.cash(1).held == 0);
  CHECK(risk.open_orders() == 0);
}

TEST_CASE("A second check while a command is in flight is refused and changes nothing") {
  OrderManager risk({});
  REQUIRE(risk.OpenAccount(1).ok());
  REQUIRE(risk.Deposit(1, 1000).ok());
  Command c{.kind = CommandKind::kNew, .symbol = "ACME"};
  c.order = {.id = 1, .client = 1, .price = 10, .quantity = 10};
  REQUIRE(risk.Check(c).ok());
  Command second = c;
  second.order.id = 2;
  const RiskDecision refused = risk.Check(second);
  CHECK(refused.reject == RiskReject::kCommandInFlight);
  const absl::Status why = risk.Explain(second, refused);
  CHECK(why.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(why.message().find("order 1's command is still in flight") != std::string_view::npos);
  CHECK(risk.cash(1).held == 100);
  CHECK(risk.open_orders() == 1);
  risk.Abort();
  CHECK(risk.Check(second).ok());
  CHECK(risk.cash(1).held == 100);
}

// ---------------------------------------------------------------------------------------------
// The randomized differential test: random clients send random requests through the gateway, the
// order manager and the engine; after each, every hold is recomputed from the books' resting
// orders, and money and shares are counted.
// ---------------------------------------------------------------------------------------------

constexpr std::string_view kSymbols[] = {"AAA", "BBB"};
constexpr std::string_view kRequestSymbols[] = {"AAA", "aaa", "BBB", "bBb", "A A", ""};

void CheckAgainstBooks(const Exchange& x, const std::vector<ClientId>& clients,
                       int64_t deposited_cash, const std::map<std::string_view, Quantity>& shares) {
  REQUIRE(!x.risk.in_flight());
  std::map<ClientId, int64_t> held_cash;
  std::map<std::pair<ClientId, std::string_view>, Quantity> held_shares;
  size_t resting = 0;
  for (const std::string_view symbol : kSymbols) {
    const uint32_t index = x.engine.FindSymbol(symbol);
    if (index == kNoSymbol) continue;
    for (const Side side : {Side::kBuy, Side::kSell}) {
      for (const RestingOrder& o : x.engine.book(index).Orders(side)) {
        ++resting;
        const std::optional<OrderHold> hold = x.risk.FindOrder(o.id);
        REQUIRE(hold.has_value());
        CHECK(hold->client == o.client);
        CHECK(hold->open == o.quantity);
        CHECK(hold->side == o.side);
        CHECK(hold->price == o.price);
        if (side == Side::kBuy) {
          held_cash[o.client] += o.price * o.quantity;
        } else {
          held_shares[{o.client, symbol}] += o.quantity;
        }
      }
    }
  }
  CHECK(x.risk.open_orders() == resting);
  int64_t total_cash = 0;
  std::map<std::string_view, Quantity> total_shares;
  for (const ClientId c : clients) {
    CAPTURE(c);
    const Cash cash = x.risk.cash(c);
    CHECK(cash.held == held_cash[c]);
    CHECK(cash.available() >= 0);
    total_cash += cash.balance;
    for (const std::string_view symbol : kSymbols) {
      const Holding h = x.risk.holding(c, symbol);
      CHECK(h.held == held_shares[{c, symbol}]);
      CHECK(h.available() >= -x.risk.options().max_short);
      total_shares[symbol] += h.shares;
    }
  }
  CHECK(total_cash == deposited_cash);
  CHECK(x.risk.total_cash() == deposited_cash);
  for (const std::string_view symbol : kSymbols) {
    CHECK(total_shares[symbol] == shares.at(symbol));
    CHECK(x.risk.total_shares(symbol) == shares.at(symbol));
  }
}

// An order to cancel or modify: mostly one of the book's resting orders, and then mostly as its
// owner; otherwise any id, resting or not.
OrderId PickOrder(const Exchange& x, base::Random& rng, ClientId& client, OrderId next_id) {
  const uint32_t index = x.engine.FindSymbol(kSymbols[rng.Uniform(std::size(kSymbols))]);
  if (index == kNoSymbol || rng.Uniform(5) == 0) return 1 + rng.Uniform(next_id);
  const std::vector<RestingOrder> orders =
      x.engine.book(index).Orders(static_cast<Side>(rng.Uniform(2)));
  if (orders.empty()) return 1 + rng.Uniform(next_id);
  const RestingOrder& o = orders[rng.Uniform(orders.size())];
  if (rng.Uniform(5) != 0) client = o.client;
  return o.id;
}

void RunRandomSession(uint64_t seed, const OrderManagerOptions& options, int steps) {
  base::Random rng(seed);
  Exchange x(options, {.rate = {.interval_ns = 1000, .burst = 8}});
  std::vector<ClientId> clients;
  int64_t cash = 0;
  std::map<std::string_view, Quantity> shares = {{"AAA", 0}, {"BBB", 0}};
  for (ClientId c = 1; c <= 6; ++c) {
    clients.push_back(c);
    const int64_t deposit = static_cast<int64_t>(rng.Uniform(60'000));
    x.Open(c, deposit);
    cash += deposit;
    for (const std::string_view symbol : kSymbols) {
      const auto q = static_cast<Quantity>(1 + rng.Uniform(100));
      REQUIRE(x.risk.DepositShares(c, symbol, q).ok());
      shares[symbol] += q;
    }
  }
  OrderId next_id = 1;
  std::map<GatewayReject, int> gateway_rejects;
  std::map<RiskReject, int> risk_rejects;
  int trades = 0;
  for (int step = 0; step < steps; ++step) {
    CAPTURE(step);
    x.clock.Advance(static_cast<int64_t>(rng.Uniform(400)));
    const auto client = static_cast<ClientId>(1 + rng.Uniform(clients.size() + 1));  // 7: unknown
    const uint64_t what = rng.Uniform(100);
    OrderRequest r;
    r.client = client;
    if (what < 55) {
      r.kind = RequestKind::kNew;
      // Now and then an id that was used before.
      r.order_id = rng.Uniform(20) == 0 ? 1 + rng.Uniform(next_id) : next_id++;
      r.symbol = kRequestSymbols[rng.Uniform(std::size(kRequestSymbols))];
      r.side = static_cast<Side>(rng.Uniform(2));
      r.type = rng.Uniform(10) == 0 ? OrderType::kMarket : OrderType::kLimit;
      r.tif = static_cast<TimeInForce>(rng.Uniform(4));
      r.stp = static_cast<SelfTradePrevention>(rng.Uniform(4));
      r.price = static_cast<Price>(rng.UniformInRange(-1, 110));
      if (r.price > 0) r.price = 90 + r.price % 20;
      r.quantity = static_cast<Quantity>(rng.UniformInRange(0, 60));
    } else if (what < 80) {
      r.kind = RequestKind::kCancel;
      r.order_id = PickOrder(x, rng, r.client, next_id);
    } else if (what < 98) {
      r.kind = RequestKind::kModify;
      r.order_id = PickOrder(x, rng, r.client, next_id);
      r.price = static_cast<Price>(90 + rng.Uniform(20));
      r.quantity = static_cast<Quantity>(rng.UniformInRange(0, 60));
    } else {
      // Money moves in and out between orders.
      if (client <= clients.size()) {
        const auto amount = static_cast<int64_t>(1 + rng.Uniform(2000));
        if (rng.Uniform(2) == 0) {
          if (x.risk.Deposit(client, amount).ok()) cash += amount;
        } else if (x.risk.Withdraw(client, amount).ok()) {
          cash -= amount;
        }
      }
      continue;
    }
    const Exchange::Outcome o = x.Send(r);
    ++gateway_rejects[o.gateway];
    if (o.gateway == GatewayReject::kNone) ++risk_rejects[o.risk];
    for (const EngineEvent& e : o.events) trades += e.event.kind == EventKind::kTrade;
    CheckAgainstBooks(x, clients, cash, shares);
  }
  // Every kind of outcome happened.
  CHECK(gateway_rejects[GatewayReject::kUnknownClient] > 0);
  CHECK(gateway_rejects[GatewayReject::kRateLimited] > 0);
  CHECK(gateway_rejects[GatewayReject::kBadSymbol] > 0);
  CHECK(risk_rejects[RiskReject::kInsufficientCash] > 0);
  CHECK(risk_rejects[RiskReject::kNotOwner] > 0);
  CHECK(risk_rejects[RiskReject::kNone] > steps / 5);
  CHECK(risk_rejects[RiskReject::kInsufficientPosition] > 0);
  CHECK(trades > steps / 50);
  // Everything cancelled: nothing is held.
  for (const std::string_view symbol : kSymbols) {
    const uint32_t index = x.engine.FindSymbol(symbol);
    if (index == kNoSymbol) continue;
    for (const Side side : {Side::kBuy, Side::kSell}) {
      for (const RestingOrder& order : x.engine.book(index).Orders(side)) {
        x.clock.Advance(base::kNanosPerSecond);
        const Exchange::Outcome o = x.Cancel(order.client, order.id);
        REQUIRE(Has(o.events, EventKind::kCancelled, order.id));
      }
    }
  }
  CheckAgainstBooks(x, clients, cash, shares);
  CHECK(x.risk.open_orders() == 0);
  for (const ClientId c : clients) {
    CHECK(x.risk.cash(c).held == 0);
    for (const std::string_view symbol : kSymbols) CHECK(x.risk.holding(c, symbol).held == 0);
  }
}

TEST_CASE("Random sessions keep every hold equal to the resting orders and conserve money") {
  const uint64_t seed = keel::testing::TestSeed(508);
  CAPTURE(seed);
  for (uint64_t round = 0; round < 4; ++round) {
    CAPTURE(round);
    RunRandomSession(seed + round, {}, 5000);
  }
}

TEST_CASE("Random sessions with short selling allowed keep the same invariants") {
  const uint64_t seed = keel::testing::TestSeed(509);
  CAPTURE(seed);
  for (uint64_t round = 0; round < 4; ++round) {
    CAPTURE(round);
    RunRandomSession(seed + round, {.max_short = 40}, 5000);
  }
}

}  // namespace
}  // namespace keel::market
