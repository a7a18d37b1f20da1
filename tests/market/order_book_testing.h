// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What the order book's test files share: every command run on an OrderBook and on the reference
// book (Books), the first difference between their states (StateDifference), a snapshot of all a
// book shows (Snapshot), and doctest's printing of events. The tests live in this namespace, so
// the expected events (market/events.h) and the reference book need no qualification.
#ifndef KEEL_TESTS_MARKET_ORDER_BOOK_TESTING_H_
#define KEEL_TESTS_MARKET_ORDER_BOOK_TESTING_H_

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "keel/market/order_book.h"
#include "market/events.h"
#include "market/reference_book.h"

namespace doctest {

template <>
struct StringMaker<keel::market::Event> {
  static String convert(const keel::market::Event& e) {
    return keel::market::testing::Describe(e).c_str();
  }
};

template <>
struct StringMaker<std::vector<keel::market::Event>> {
  static String convert(const std::vector<keel::market::Event>& events) {
    return absl::StrCat("\n", keel::market::testing::Describe(events)).c_str();
  }
};

}  // namespace doctest

namespace keel::market::testing {

using Events = std::vector<Event>;

// What the order book's tests write unqualified: sides, order types, times in force, self-trade
// modes, and the quote of an empty side.
using enum Side;
using enum OrderType;
using enum TimeInForce;
using enum SelfTradePrevention;
inline constexpr Quote kEmpty{};

inline std::vector<OrderId> Ids(const std::vector<RestingOrder>& orders) {
  std::vector<OrderId> ids;
  for (const RestingOrder& o : orders) ids.push_back(o.id);
  return ids;
}

// The levels Orders() implies: L2 computed from L3.
inline std::vector<LevelView> LevelsOf(const std::vector<RestingOrder>& orders) {
  std::vector<LevelView> levels;
  for (const RestingOrder& o : orders) {
    if (levels.empty() || levels.back().price != o.price) levels.push_back({.price = o.price});
    levels.back().quantity += o.quantity;
    ++levels.back().orders;
  }
  return levels;
}

// The first difference between the book's state and the reference's, or "" if none. Cheap
// enough to run after every command on small books.
inline std::string StateDifference(const OrderBook& book, const ReferenceBook& ref) {
  if (book.best_bid() != ref.best_bid()) return "best_bid differs";
  if (book.best_ask() != ref.best_ask()) return "best_ask differs";
  if (book.order_count() != ref.order_count()) {
    return absl::StrCat("order_count ", book.order_count(), " != ", ref.order_count());
  }
  std::vector<LevelView> depth;
  for (const Side side : {kBuy, kSell}) {
    const std::vector<RestingOrder> orders = book.Orders(side);
    const std::vector<RestingOrder> expected = ref.Orders(side);
    if (orders != expected) {
      std::string text = absl::StrCat("Orders(", side == kBuy ? "kBuy" : "kSell", ") differs\n");
      for (const auto* list : {&orders, &expected}) {
        absl::StrAppend(&text, list == &orders ? "  book:" : "  reference:");
        for (const RestingOrder& o : *list) {
          absl::StrAppend(&text, " ", o.id, "/c", o.client, "@", o.price, "x", o.quantity);
        }
        absl::StrAppend(&text, "\n");
      }
      return text;
    }
    book.Depth(side, SIZE_MAX, depth);
    if (depth != LevelsOf(orders)) return "Depth is not the sum of Orders";
    if (book.level_count(side) != depth.size()) return "level_count differs from Depth";
    for (const RestingOrder& o : orders) {
      if (book.Find(o.id) != o) return absl::StrCat("Find(", o.id, ") differs");
    }
  }
  return "";
}

// Runs each command on an OrderBook and on the reference, checks that both emit the same events
// and reach the same state, and returns the book's events. So every hand-written expectation
// below checks the reference as well.
class Books {
 public:
  explicit Books(uint32_t max_orders = 1024)
      : book_({.max_orders = max_orders, .initial_orders = 2}), ref_(max_orders) {}

  Events Submit(const NewOrder& order) {
    Events actual, expected;
    book_.Submit(order, actual);
    ref_.Submit(order, expected);
    return Checked(actual, expected);
  }
  Events Cancel(OrderId id) {
    Events actual, expected;
    book_.Cancel(id, actual);
    ref_.Cancel(id, expected);
    return Checked(actual, expected);
  }
  Events Modify(OrderId id, Price price, Quantity quantity) {
    Events actual, expected;
    book_.Modify(id, price, quantity, actual);
    ref_.Modify(id, price, quantity, expected);
    return Checked(actual, expected);
  }

  const OrderBook& book() const { return book_; }

 private:
  Events Checked(const Events& actual, const Events& expected) {
    CHECK_MESSAGE(actual == expected, "the reference disagrees; it expects\n", Describe(expected));
    CHECK(StateDifference(book_, ref_) == "");
    return actual;
  }

  OrderBook book_;
  ReferenceBook ref_;
};

// Everything observable about a book, to show that a command changed nothing.
struct Snapshot {
  std::vector<RestingOrder> bids, asks;
  std::vector<LevelView> bid_depth, ask_depth;
  uint64_t hash = 0;

  explicit Snapshot(const OrderBook& book)
      : bids(book.Orders(kBuy)), asks(book.Orders(kSell)), hash(book.StateHash()) {
    book.Depth(kBuy, SIZE_MAX, bid_depth);
    book.Depth(kSell, SIZE_MAX, ask_depth);
  }
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

}  // namespace keel::market::testing

#endif  // KEEL_TESTS_MARKET_ORDER_BOOK_TESTING_H_
