// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Builders for expected OrderBook events, with the fields each kind carries (and zeros elsewhere,
// as order_book.h says). Shared by the reference matcher and the tests. Not installed.
#ifndef KEEL_TESTS_MARKET_EVENTS_H_
#define KEEL_TESTS_MARKET_EVENTS_H_

#include "keel/market/order_book.h"

namespace keel::market::testing {

inline Event MakeEvent(EventKind kind, OrderId id, Side side) {
  Event e;
  e.kind = kind;
  e.side = side;
  e.order_id = id;
  return e;
}

inline Event Accepted(OrderId id, Side side, Price price, Quantity quantity) {
  Event e = MakeEvent(EventKind::kAccepted, id, side);
  e.price = price;
  e.quantity = quantity;
  return e;
}

inline Event Rejected(OrderId id, Side side, RejectReason reason) {
  Event e = MakeEvent(EventKind::kRejected, id, side);
  e.reject = reason;
  return e;
}

inline Event Trade(OrderId taker, Side taker_side, OrderId maker, Price price, Quantity quantity) {
  Event e = MakeEvent(EventKind::kTrade, taker, taker_side);
  e.maker_id = maker;
  e.price = price;
  e.quantity = quantity;
  return e;
}

inline Event Modified(OrderId id, Side side, Price price, Quantity quantity) {
  Event e = MakeEvent(EventKind::kModified, id, side);
  e.price = price;
  e.quantity = quantity;
  return e;
}

inline Event Cancelled(OrderId id, Side side, CancelReason reason, Quantity quantity) {
  Event e = MakeEvent(EventKind::kCancelled, id, side);
  e.cancel = reason;
  e.quantity = quantity;
  return e;
}

inline Event Reduced(OrderId id, Side side, Quantity by) {
  Event e = MakeEvent(EventKind::kReduced, id, side);
  e.cancel = CancelReason::kSelfTrade;
  e.quantity = by;
  return e;
}

inline Event Done(OrderId id, Side side) { return MakeEvent(EventKind::kDone, id, side); }

inline Event Bbo(Quote bid, Quote ask) {
  Event e = MakeEvent(EventKind::kBestBidOffer, 0, Side::kBuy);
  e.bid = bid;
  e.ask = ask;
  return e;
}

}  // namespace keel::market::testing

#endif  // KEEL_TESTS_MARKET_EVENTS_H_
