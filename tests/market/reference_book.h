// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// ReferenceBook: the oracle for keel::market::OrderBook. Not installed.
//
// It implements the semantics written in keel/market/order_book.h as plainly as possible, so that
// it is obviously right rather than fast: the resting orders of both sides sit in one
// std::vector, each stamped with an arrival number, and every match step scans the whole vector
// for the best maker (best price, then lowest arrival). Priority is nothing but that arrival
// number: an order that loses its place gets a new one. The differential test in
// order_book_test.cc runs the same random commands through both books and demands the same
// events, command by command.
//
// Where the header leaves a detail open, the reference fixes it as follows, and OrderBook must do
// the same.
//
// Submit(order):
//   1. Validation, in this order, each rejecting with kRejected (order_id, side = the order's
//      side, reject; price and quantity 0) and nothing else:
//        kBadQuantity       quantity not in 1 to kMaxQuantity;
//        kBadPrice          a limit order whose price is not in 1 to kMaxPrice (a market order's
//                           price is ignored, never checked);
//        kBadOrderType      a post-only market order;
//        kDuplicateOrderId  the id is resting now (an id whose order has gone may be used again);
//        kBookFull          a GTC or post-only limit order while order_count() == max_orders,
//                           whether or not it would trade;
//        kWouldCross        a post-only order whose price crosses the other side's best price
//                           (buy price >= best ask, sell price <= best bid), whoever owns that
//                           order.
//   2. kAccepted (side, price as given or 0 for a market order, quantity as given).
//   3. A fill-or-kill order that cannot be filled whole is killed: kCancelled (kUnfilled, its
//      whole quantity), and the book is untouched. It can be filled whole if the makers it
//      crosses, in priority order, hold its quantity from other clients before the first of its
//      own client's orders stops the count; under kCancelOldest its own orders are skipped
//      instead of stopping the count.
//   4. Match steps while the taker has quantity left and the best maker crosses it (a market
//      order crosses every price). Each step is one of:
//        another client's maker: kTrade (side = the taker's, order_id = taker, maker_id = maker,
//          price = the maker's, quantity = the smaller of the two), then kDone for the maker if
//          that filled it;
//        the taker's own client's maker, by the taker's SelfTradePrevention:
//          kCancelNewest  kCancelled taker (kSelfTrade, its remaining quantity); matching ends;
//          kCancelOldest  kCancelled maker (kSelfTrade, its quantity); matching goes on;
//          kCancelBoth    kCancelled maker, then kCancelled taker (both kSelfTrade, their
//                         quantities); matching ends;
//          kDecrement     d = the smaller quantity; both are reduced by d, the maker first, then
//                         the taker. One reduced to zero gets kCancelled (kSelfTrade, quantity d,
//                         i.e. what it had; for the taker, matching ends); one left with quantity
//                         gets kReduced (kSelfTrade, quantity d) and goes on (a maker keeps its
//                         place).
//   5. The taker's end, unless self-trade prevention cancelled it: filled, kDone; otherwise a
//      market, IOC (or FOK) order gets kCancelled (kUnfilled, its remaining quantity); a GTC or
//      post-only limit order rests, with no event, behind the orders already at its price. A
//      market order acts like IOC whatever its time in force (except FOK, which is step 3).
//   6. kBestBidOffer, if the best bid or the best ask (price, level quantity) differs from the
//      one last reported (initially both empty), once, after every other event of the command.
//
// Cancel(id):
//   unknown id: kRejected (kUnknownOrder, order_id = id, side kBuy); otherwise kCancelled
//   (kRequested, side = the order's, its open quantity), then kBestBidOffer if it changed.
//
// Modify(id, price, quantity):
//   1. Validation, in this order: kBadQuantity (quantity not in 1 to kMaxQuantity), kBadPrice
//      (price not in 1 to kMaxPrice), kUnknownOrder (id not resting), kWouldCross (a post-only
//      order whose new price crosses the other side's best price; it stays as it was). The
//      kRejected event has side = the order's side if it is resting, kBuy if not.
//   2. kModified (side, order_id, the new price and quantity).
//   3. The same price and a quantity no larger keeps the order's place (and it cannot cross).
//      Anything else takes it out and puts it back as a new arrival: if it crosses, it is the
//      taker of steps 4 and 5 of Submit with the self-trade prevention mode it was submitted with
//      (and its remainder rests, as a GTC order's does).
//   4. kBestBidOffer if it changed.
//
// Event fields not named above are zero (or kBuy, kNone): kDone has price and quantity 0,
// kCancelled has price 0, and kBestBidOffer has order_id 0 and side kBuy.
#ifndef KEEL_TESTS_MARKET_REFERENCE_BOOK_H_
#define KEEL_TESTS_MARKET_REFERENCE_BOOK_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keel/market/order_book.h"

namespace keel::market::testing {

class ReferenceBook {
 public:
  // One resting order, with what the oracle needs beyond RestingOrder.
  struct Entry {
    OrderId id = 0;
    ClientId client = 0;
    Side side = Side::kBuy;
    TimeInForce tif = TimeInForce::kGoodTillCancel;
    SelfTradePrevention stp = SelfTradePrevention::kCancelNewest;
    Price price = 0;
    Quantity quantity = 0;
    uint64_t arrival = 0;  // time priority: lower is older
  };

  explicit ReferenceBook(uint32_t max_orders) : max_orders_(max_orders) {}

  void Submit(const NewOrder& order, std::vector<Event>& events);
  void Cancel(OrderId id, std::vector<Event>& events);
  void Modify(OrderId id, Price price, Quantity quantity, std::vector<Event>& events);

  [[nodiscard]] Quote best_bid() const { return BestOf(Side::kBuy); }
  [[nodiscard]] Quote best_ask() const { return BestOf(Side::kSell); }
  [[nodiscard]] std::vector<RestingOrder> Orders(Side side) const;
  [[nodiscard]] std::vector<LevelView> Depth(Side side, size_t max_levels) const;
  [[nodiscard]] std::optional<RestingOrder> Find(OrderId id) const;
  [[nodiscard]] size_t order_count() const { return entries_.size(); }
  [[nodiscard]] size_t level_count(Side side) const;

  // Every resting order, in no particular order (for generators of random commands).
  [[nodiscard]] const std::vector<Entry>& entries() const { return entries_; }

 private:
  // The incoming order while it matches.
  struct Taker {
    OrderId id = 0;
    ClientId client = 0;
    Side side = Side::kBuy;
    TimeInForce tif = TimeInForce::kGoodTillCancel;
    SelfTradePrevention stp = SelfTradePrevention::kCancelNewest;
    bool market = false;
    Price price = 0;
    Quantity quantity = 0;
  };

  // Whether an order on `taker_side` at `taker_price` (any price if `market`) trades with a maker
  // at `maker_price`.
  static bool Crosses(Side taker_side, bool market, Price taker_price, Price maker_price);
  // Whether a has priority over b (both on one side).
  static bool Before(const Entry& a, const Entry& b);

  std::optional<size_t> FindIndex(OrderId id) const;
  // The index of the best order of `side`, if any.
  std::optional<size_t> Best(Side side) const;
  // The makers `taker` crosses, in priority order.
  std::vector<Entry> CrossedMakers(const Taker& taker) const;
  bool CanFillWhole(const Taker& taker) const;
  // Steps 4 and 5 of Submit.
  void MatchAndFinish(Taker& taker, std::vector<Event>& events);
  void Rest(const Taker& taker);
  void Erase(size_t index);
  Quote BestOf(Side side) const;
  void ReportBestBidOffer(std::vector<Event>& events);

  uint32_t max_orders_;
  std::vector<Entry> entries_;
  uint64_t next_arrival_ = 0;
  Quote last_bid_;
  Quote last_ask_;
};

// One event or a list of them, readably, for failure messages.
[[nodiscard]] std::string Describe(const Event& event);
[[nodiscard]] std::string Describe(const std::vector<Event>& events);

}  // namespace keel::market::testing

#endif  // KEEL_TESTS_MARKET_REFERENCE_BOOK_H_
