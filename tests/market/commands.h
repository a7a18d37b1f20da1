// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Builders for MatchingEngine commands, shared by the engine's tests and its consumers' (market
// data, trade history). Not installed.
#ifndef KEEL_TESTS_MARKET_COMMANDS_H_
#define KEEL_TESTS_MARKET_COMMANDS_H_

#include <string_view>

#include "keel/market/matching_engine.h"

namespace keel::market::testing {

// A limit order (a market one with `type`); `symbol` is not copied.
inline Command NewCommand(std::string_view symbol, OrderId id, ClientId client, Side side,
                          Price price, Quantity quantity,
                          TimeInForce tif = TimeInForce::kGoodTillCancel,
                          SelfTradePrevention stp = SelfTradePrevention::kCancelNewest,
                          OrderType type = OrderType::kLimit) {
  Command c;
  c.kind = CommandKind::kNew;
  c.symbol = symbol;
  c.order.id = id;
  c.order.client = client;
  c.order.side = side;
  c.order.type = type;
  c.order.tif = tif;
  c.order.stp = stp;
  c.order.price = price;
  c.order.quantity = quantity;
  return c;
}

inline Command CancelCommand(OrderId id) {
  Command c;
  c.kind = CommandKind::kCancel;
  c.order.id = id;
  return c;
}

inline Command ModifyCommand(OrderId id, Price price, Quantity quantity) {
  Command c;
  c.kind = CommandKind::kModify;
  c.order.id = id;
  c.order.price = price;
  c.order.quantity = quantity;
  return c;
}

}  // namespace keel::market::testing

#endif  // KEEL_TESTS_MARKET_COMMANDS_H_
