// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/market/gateway.h"

#include <doctest/doctest.h>

#include <string>

#include "keel/base/clock.h"

namespace keel::market {
namespace {

// Whether a status's message contains `text` (Debian's absl::string_view is not std's).
bool Contains(const absl::Status& status, std::string_view text) {
  return std::string(status.message()).find(text) != std::string::npos;
}

OrderRequest Limit(ClientId client, OrderId id, std::string_view symbol, Side side, Price price,
                   Quantity quantity) {
  return {.client = client,
          .order_id = id,
          .symbol = symbol,
          .side = side,
          .price = price,
          .quantity = quantity};
}

ClientGateway MakeGateway(const base::Clock& clock, GatewayOptions options = {}) {
  absl::StatusOr<ClientGateway> gateway = ClientGateway::Create(options, clock);
  REQUIRE(gateway.ok());
  REQUIRE(gateway->AddClient(7).ok());
  return *std::move(gateway);
}

TEST_CASE("The gateway normalises a limit order into a command for the engine") {
  base::ManualClock clock;
  ClientGateway gateway = MakeGateway(clock);
  const GatewayDecision d = gateway.Accept(Limit(7, 1, "acMe.b", Side::kBuy, 100, 5));
  REQUIRE(d.ok());
  CHECK(d.command.kind == CommandKind::kNew);
  CHECK(d.command.symbol == "ACME.B");
  CHECK(d.command.order.id == 1);
  CHECK(d.command.order.client == 7);
  CHECK(d.command.order.side == Side::kBuy);
  CHECK(d.command.order.type == OrderType::kLimit);
  CHECK(d.command.order.price == 100);
  CHECK(d.command.order.quantity == 5);
  CHECK(gateway.Explain(Limit(7, 1, "acMe.b", Side::kBuy, 100, 5), d).ok());
}

TEST_CASE("The gateway stamps the sender on cancels and modifies") {
  base::ManualClock clock;
  ClientGateway gateway = MakeGateway(clock);
  GatewayDecision d = gateway.Accept({.kind = RequestKind::kCancel, .client = 7, .order_id = 4});
  REQUIRE(d.ok());
  CHECK(d.command.kind == CommandKind::kCancel);
  CHECK(d.command.order.id == 4);
  CHECK(d.command.order.client == 7);
  d = gateway.Accept(
      {.kind = RequestKind::kModify, .client = 7, .order_id = 4, .price = 99, .quantity = 3});
  REQUIRE(d.ok());
  CHECK(d.command.kind == CommandKind::kModify);
  CHECK(d.command.order.client == 7);
  CHECK(d.command.order.price == 99);
  CHECK(d.command.order.quantity == 3);
}

TEST_CASE("A market sell has its price set to zero") {
  base::ManualClock clock;
  ClientGateway gateway = MakeGateway(clock);
  OrderRequest r = Limit(7, 1, "ACME", Side::kSell, 12345, 5);
  r.type = OrderType::kMarket;
  const GatewayDecision d = gateway.Accept(r);
  REQUIRE(d.ok());
  CHECK(d.command.order.type == OrderType::kMarket);
  CHECK(d.command.order.price == 0);
}

TEST_CASE("A market buy becomes an immediate limit order at its protection price") {
  base::ManualClock clock;
  ClientGateway gateway = MakeGateway(clock);
  OrderRequest r = Limit(7, 1, "ACME", Side::kBuy, 110, 5);
  r.type = OrderType::kMarket;
  GatewayDecision d = gateway.Accept(r);
  REQUIRE(d.ok());
  CHECK(d.command.order.type == OrderType::kLimit);
  CHECK(d.command.order.tif == TimeInForce::kImmediateOrCancel);
  CHECK(d.command.order.price == 110);
  r.tif = TimeInForce::kFillOrKill;
  d = gateway.Accept(r);
  REQUIRE(d.ok());
  CHECK(d.command.order.tif == TimeInForce::kFillOrKill);
  r.price = 0;
  d = gateway.Accept(r);
  CHECK(d.reject == GatewayReject::kNoProtectionPrice);
  CHECK(Contains(gateway.Explain(r, d), "protection price"));
  r.price = -5;
  CHECK(gateway.Accept(r).reject == GatewayReject::kBadPrice);
  r.price = 100;
  r.tif = TimeInForce::kPostOnly;
  CHECK(gateway.Accept(r).reject == GatewayReject::kBadOrderType);
}

TEST_CASE("An unknown client is rejected without spending tokens") {
  base::ManualClock clock;
  ClientGateway gateway = MakeGateway(clock, {.rate = {.interval_ns = 1000, .burst = 1}});
  const OrderRequest r = Limit(8, 1, "ACME", Side::kBuy, 100, 5);
  const GatewayDecision d = gateway.Accept(r);
  CHECK(d.reject == GatewayReject::kUnknownClient);
  const absl::Status status = gateway.Explain(r, d);
  CHECK(status.code() == absl::StatusCode::kPermissionDenied);
  CHECK(Contains(status, "client 8"));
  CHECK(gateway.AddClient(8).ok());
  CHECK(gateway.AddClient(8).code() == absl::StatusCode::kAlreadyExists);
  CHECK(gateway.Accept(r).ok());  // its bucket is full
  CHECK(gateway.RemoveClient(8).ok());
  CHECK(gateway.RemoveClient(8).code() == absl::StatusCode::kNotFound);
  CHECK(gateway.Accept(r).reject == GatewayReject::kUnknownClient);
}

TEST_CASE("A client over its rate is rejected with the time to wait") {
  base::ManualClock clock(1'000'000);
  ClientGateway gateway = MakeGateway(clock, {.rate = {.interval_ns = 1000, .burst = 3}});
  REQUIRE(gateway.AddClient(9).ok());
  const OrderRequest r = Limit(7, 1, "ACME", Side::kBuy, 100, 5);
  for (int i = 0; i < 3; ++i) CHECK(gateway.Accept(r).ok());
  GatewayDecision d = gateway.Accept(r);
  CHECK(d.reject == GatewayReject::kRateLimited);
  CHECK(d.retry_after_ns == 1000);
  const absl::Status status = gateway.Explain(r, d);
  CHECK(status.code() == absl::StatusCode::kResourceExhausted);
  CHECK(Contains(status, "retry after 1000 ns"));
  // Another client has its own bucket.
  CHECK(gateway.Accept(Limit(9, 2, "ACME", Side::kBuy, 100, 5)).ok());
  // Malformed requests spend tokens too.
  clock.Advance(999);
  CHECK(gateway.Accept(r).reject == GatewayReject::kRateLimited);
  clock.Advance(1);
  CHECK(gateway.Accept(Limit(7, 1, "", Side::kBuy, 100, 5)).reject == GatewayReject::kBadSymbol);
  CHECK(gateway.Accept(r).reject == GatewayReject::kRateLimited);
  clock.Advance(1000);
  CHECK(gateway.Accept(r).ok());
  clock.Advance(1'000'000);
  CHECK(gateway.Purge() == 2);
}

TEST_CASE("Cancels can be let through a throttled client") {
  base::ManualClock clock;
  ClientGateway gateway =
      MakeGateway(clock, {.rate = {.interval_ns = 1000, .burst = 1}, .cancel_tokens = 0});
  CHECK(gateway.Accept(Limit(7, 1, "ACME", Side::kBuy, 100, 5)).ok());
  CHECK(gateway.Accept(Limit(7, 2, "ACME", Side::kBuy, 100, 5)).reject ==
        GatewayReject::kRateLimited);
  for (int i = 0; i < 10; ++i) {
    CHECK(gateway.Accept({.kind = RequestKind::kCancel, .client = 7, .order_id = 1}).ok());
  }
}

TEST_CASE("Each bad field is rejected with a reason naming it") {
  base::ManualClock clock;
  ClientGateway gateway =
      MakeGateway(clock, {.rate = {.interval_ns = 1, .burst = 4096}, .max_quantity = 1000});
  const OrderRequest good = Limit(7, 1, "ACME", Side::kBuy, 100, 5);
  struct Case {
    OrderRequest request;
    GatewayReject reject;
    std::string_view message;
  };
  auto with = [&](auto&& edit) {
    OrderRequest r = good;
    edit(r);
    return r;
  };
  const Case cases[] = {
      {with([](OrderRequest& r) { r.symbol = ""; }), GatewayReject::kBadSymbol, "bad symbol \"\""},
      {with([](OrderRequest& r) { r.symbol = "AC ME"; }), GatewayReject::kBadSymbol,
       "bad symbol \"AC ME\""},
      {with([](OrderRequest& r) { r.symbol = "ABCDEFGHIJKLMNOPQ"; }), GatewayReject::kBadSymbol,
       "ABCDEFGHIJKLMNOPQ"},
      {with([](OrderRequest& r) { r.side = static_cast<Side>(7); }), GatewayReject::kBadSide,
       "bad side 7"},
      {with([](OrderRequest& r) { r.type = static_cast<OrderType>(9); }),
       GatewayReject::kBadOrderType, "bad order type 9"},
      {with([](OrderRequest& r) { r.tif = static_cast<TimeInForce>(9); }),
       GatewayReject::kBadTimeInForce, "bad time in force 9"},
      {with([](OrderRequest& r) { r.stp = static_cast<SelfTradePrevention>(9); }),
       GatewayReject::kBadSelfTradeMode, "mode 9"},
      {with([](OrderRequest& r) { r.price = 0; }), GatewayReject::kBadPrice, "bad price 0"},
      {with([](OrderRequest& r) { r.price = -3; }), GatewayReject::kBadPrice, "bad price -3"},
      {with([](OrderRequest& r) { r.price = kMaxPrice + 1; }), GatewayReject::kBadPrice,
       "bad price 281474976710656"},
      {with([](OrderRequest& r) { r.quantity = 0; }), GatewayReject::kBadQuantity,
       "bad quantity 0"},
      {with([](OrderRequest& r) { r.quantity = kMaxQuantity + 1; }), GatewayReject::kBadQuantity,
       "bad quantity 1099511627777"},
      {with([](OrderRequest& r) { r.quantity = 1001; }), GatewayReject::kQuantityOverLimit,
       "quantity 1001 is over the per-order limit of 1000"},
      {with([](OrderRequest& r) { r.kind = static_cast<RequestKind>(5); }), GatewayReject::kBadKind,
       "bad request kind 5"},
      {with([](OrderRequest& r) {
         r.kind = RequestKind::kModify;
         r.quantity = 0;
       }),
       GatewayReject::kBadQuantity, "bad quantity 0"},
      {with([](OrderRequest& r) {
         r.kind = RequestKind::kModify;
         r.price = 0;
       }),
       GatewayReject::kBadPrice, "bad price 0"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.message);
    const GatewayDecision d = gateway.Accept(c.request);
    CHECK(d.reject == c.reject);
    CHECK(d.command.symbol.empty());
    const absl::Status status = gateway.Explain(c.request, d);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK(Contains(status, c.message));
    CHECK(Contains(status, "client 7 order 1"));
    CHECK(!GatewayRejectName(c.reject).empty());
  }
  CHECK(gateway.Accept(good).ok());
}

TEST_CASE("Bad gateway options are refused") {
  base::ManualClock clock;
  CHECK(ClientGateway::Create({.rate = {.interval_ns = 0, .burst = 1}}, clock).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(!ClientGateway::Create({.rate = {.interval_ns = 10, .burst = 2}, .cancel_tokens = 3}, clock)
             .ok());
  CHECK(!ClientGateway::Create({.cancel_tokens = -1}, clock).ok());
  CHECK(!ClientGateway::Create({.max_quantity = 0}, clock).ok());
  CHECK(!ClientGateway::Create({.max_quantity = kMaxQuantity + 1}, clock).ok());
}

}  // namespace
}  // namespace keel::market
