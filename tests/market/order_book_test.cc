// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/market/order_book.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "keel/base/random.h"
#include "market/events.h"
#include "market/reference_book.h"
#include "testing/testing.h"

// GCC before 14 warns about designated initializers that leave members to their default member
// initializers, which is what they are for here: an event or order names only the fields it uses.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

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

namespace keel::market {
namespace {

using testing::Describe;
using testing::ReferenceBook;

using enum Side;
using enum OrderType;
using enum TimeInForce;
using enum SelfTradePrevention;

// The expected events (market/events.h), built the way the reference's comment describes them.
using testing::Accepted;
using testing::Bbo;
using testing::Cancelled;
using testing::Done;
using testing::Modified;
using testing::Reduced;
using testing::Rejected;
using testing::Trade;

constexpr Quote kEmpty{};

using Events = std::vector<Event>;

std::vector<OrderId> Ids(const std::vector<RestingOrder>& orders) {
  std::vector<OrderId> ids;
  for (const RestingOrder& o : orders) ids.push_back(o.id);
  return ids;
}

// The levels Orders() implies: L2 computed from L3.
std::vector<LevelView> LevelsOf(const std::vector<RestingOrder>& orders) {
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
std::string StateDifference(const OrderBook& book, const ReferenceBook& ref) {
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

// ---------------------------------------------------------------------------------------------
// Price-time priority and fills.
// ---------------------------------------------------------------------------------------------

TEST_CASE("Orders at one price fill first come first served") {
  Books b;
  CHECK(b.Submit({.id = 1, .client = 1, .side = kSell, .price = 101, .quantity = 5}) ==
        Events{Accepted(1, kSell, 101, 5), Bbo(kEmpty, {101, 5})});
  CHECK(b.Submit({.id = 2, .client = 2, .side = kSell, .price = 101, .quantity = 5}) ==
        Events{Accepted(2, kSell, 101, 5), Bbo(kEmpty, {101, 10})});
  CHECK(b.Submit({.id = 3, .client = 3, .side = kSell, .price = 101, .quantity = 5}) ==
        Events{Accepted(3, kSell, 101, 5), Bbo(kEmpty, {101, 15})});
  CHECK(b.Submit({.id = 4, .client = 4, .side = kSell, .price = 102, .quantity = 5}) ==
        Events{Accepted(4, kSell, 102, 5)});
  CHECK(Ids(b.book().Orders(kSell)) == std::vector<OrderId>{1, 2, 3, 4});
  CHECK(b.Submit({.id = 5, .client = 5, .side = kBuy, .price = 101, .quantity = 12}) ==
        Events{Accepted(5, kBuy, 101, 12), Trade(5, kBuy, 1, 101, 5), Done(1, kSell),
               Trade(5, kBuy, 2, 101, 5), Done(2, kSell), Trade(5, kBuy, 3, 101, 2), Done(5, kBuy),
               Bbo(kEmpty, {101, 3})});
  CHECK(b.book().Orders(kSell) ==
        std::vector<RestingOrder>{{3, 3, kSell, kGoodTillCancel, 101, 3},
                                  {4, 4, kSell, kGoodTillCancel, 102, 5}});
}

TEST_CASE("A better price fills before an earlier order at a worse price") {
  Books b;
  b.Submit({.id = 1, .client = 1, .side = kSell, .price = 102, .quantity = 5});
  CHECK(b.Submit({.id = 2, .client = 2, .side = kSell, .price = 101, .quantity = 5}) ==
        Events{Accepted(2, kSell, 101, 5), Bbo(kEmpty, {101, 5})});
  CHECK(b.Submit({.id = 3, .client = 3, .side = kBuy, .price = 102, .quantity = 6}) ==
        Events{Accepted(3, kBuy, 102, 6), Trade(3, kBuy, 2, 101, 5), Done(2, kSell),
               Trade(3, kBuy, 1, 102, 1), Done(3, kBuy), Bbo(kEmpty, {102, 4})});
  // The same on the bid side: the highest bid first.
  b.Submit({.id = 4, .client = 1, .side = kBuy, .price = 99, .quantity = 5});
  b.Submit({.id = 5, .client = 2, .side = kBuy, .price = 100, .quantity = 5});
  CHECK(b.Submit({.id = 6, .client = 3, .side = kSell, .price = 99, .quantity = 7}) ==
        Events{Accepted(6, kSell, 99, 7), Trade(6, kSell, 5, 100, 5), Done(5, kBuy),
               Trade(6, kSell, 4, 99, 2), Done(6, kSell), Bbo({99, 3}, {102, 4})});
}

TEST_CASE("A partial fill leaves the maker at the head of its level") {
  Books b;
  b.Submit({.id = 1, .client = 1, .side = kSell, .price = 100, .quantity = 10});
  CHECK(b.Submit({.id = 2, .client = 2, .side = kBuy, .price = 100, .quantity = 4}) ==
        Events{Accepted(2, kBuy, 100, 4), Trade(2, kBuy, 1, 100, 4), Done(2, kBuy),
               Bbo(kEmpty, {100, 6})});
  b.Submit({.id = 3, .client = 3, .side = kSell, .price = 100, .quantity = 1});
  CHECK(Ids(b.book().Orders(kSell)) == std::vector<OrderId>{1, 3});
  CHECK(b.Submit({.id = 4, .client = 2, .side = kBuy, .price = 100, .quantity = 7}) ==
        Events{Accepted(4, kBuy, 100, 7), Trade(4, kBuy, 1, 100, 6), Done(1, kSell),
               Trade(4, kBuy, 3, 100, 1), Done(3, kSell), Done(4, kBuy), Bbo(kEmpty, kEmpty)});
  CHECK(b.book().order_count() == 0);
}

TEST_CASE("A taker's remainder rests at its own price") {
  Books b;
  b.Submit({.id = 1, .client = 1, .side = kSell, .price = 100, .quantity = 2});
  CHECK(b.Submit({.id = 2, .client = 2, .side = kBuy, .price = 101, .quantity = 5}) ==
        Events{Accepted(2, kBuy, 101, 5), Trade(2, kBuy, 1, 100, 2), Done(1, kSell),
               Bbo({101, 3}, kEmpty)});
  CHECK(b.book().Find(2) == RestingOrder{2, 2, kBuy, kGoodTillCancel, 101, 3});
}

TEST_CASE("An IOC order's remainder is cancelled") {
  Books b;
  b.Submit({.id = 1, .client = 1, .side = kSell, .price = 100, .quantity = 2});
  b.Submit({.id = 2, .client = 1, .side = kSell, .price = 102, .quantity = 2});
  CHECK(b.Submit({.id = 3,
                  .client = 2,
                  .side = kBuy,
                  .tif = kImmediateOrCancel,
                  .price = 101,
                  .quantity = 5}) ==
        Events{Accepted(3, kBuy, 101, 5), Trade(3, kBuy, 1, 100, 2), Done(1, kSell),
               Cancelled(3, kBuy, CancelReason::kUnfilled, 3), Bbo(kEmpty, {102, 2})});
  // One that cannot trade at all is cancelled whole, and one that fills is done.
  CHECK(b.Submit({.id = 4,
                  .client = 2,
                  .side = kBuy,
                  .tif = kImmediateOrCancel,
                  .price = 101,
                  .quantity = 1}) ==
        Events{Accepted(4, kBuy, 101, 1), Cancelled(4, kBuy, CancelReason::kUnfilled, 1)});
  CHECK(b.Submit({.id = 5,
                  .client = 2,
                  .side = kBuy,
                  .tif = kImmediateOrCancel,
                  .price = 102,
                  .quantity = 2}) == Events{Accepted(5, kBuy, 102, 2), Trade(5, kBuy, 2, 102, 2),
                                            Done(2, kSell), Done(5, kBuy), Bbo(kEmpty, kEmpty)});
  CHECK(b.book().order_count() == 0);
}

TEST_CASE("A fill-or-kill order that cannot fill whole leaves the book unchanged") {
  Books b;
  b.Submit({.id = 1, .client = 1, .side = kSell, .price = 100, .quantity = 2});
  b.Submit({.id = 2, .client = 2, .side = kSell, .price = 101, .quantity = 2});
  b.Submit({.id = 3, .client = 3, .side = kBuy, .price = 98, .quantity = 4});
  const Snapshot before(b.book());
  // Enough quantity exists, but not at or below its price.
  CHECK(
      b.Submit(
          {.id = 4, .client = 4, .side = kBuy, .tif = kFillOrKill, .price = 100, .quantity = 3}) ==
      Events{Accepted(4, kBuy, 100, 3), Cancelled(4, kBuy, CancelReason::kUnfilled, 3)});
  CHECK(Snapshot(b.book()) == before);
  // More than the whole side.
  CHECK(
      b.Submit(
          {.id = 5, .client = 4, .side = kBuy, .tif = kFillOrKill, .price = 200, .quantity = 5}) ==
      Events{Accepted(5, kBuy, 200, 5), Cancelled(5, kBuy, CancelReason::kUnfilled, 5)});
  CHECK(b.Submit({.id = 6,
                  .client = 4,
                  .side = kBuy,
                  .type = kMarket,
                  .tif = kFillOrKill,
                  .quantity = 5}) ==
        Events{Accepted(6, kBuy, 0, 5), Cancelled(6, kBuy, CancelReason::kUnfilled, 5)});
  CHECK(Snapshot(b.book()) == before);
}

TEST_CASE("A fill-or-kill order that can fill whole trades across levels") {
  Books b;
  b.Submit({.id = 1, .client = 1, .side = kSell, .price = 100, .quantity = 2});
  b.Submit({.id = 2, .client = 2, .side = kSell, .price = 101, .quantity = 2});
  CHECK(
      b.Submit(
          {.id = 3, .client = 3, .side = kBuy, .tif = kFillOrKill, .price = 101, .quantity = 4}) ==
      Events{Accepted(3, kBuy, 101, 4), Trade(3, kBuy, 1, 100, 2), Done(1, kSell),
             Trade(3, kBuy, 2, 101, 2), Done(2, kSell), Done(3, kBuy), Bbo(kEmpty, kEmpty)});
  b.Submit({.id = 4, .client = 1, .side = kBuy, .price = 50, .quantity = 3});
  CHECK(b.Submit({.id = 5,
                  .client = 3,
                  .side = kSell,
                  .type = kMarket,
                  .tif = kFillOrKill,
                  .quantity = 2}) == Events{Accepted(5, kSell, 0, 2), Trade(5, kSell, 4, 50, 2),
                                            Done(5, kSell), Bbo({50, 1}, kEmpty)});
}

TEST_CASE("A post-only order that would cross is rejected and one that would not rests") {
  Books b;
  b.Submit({.id = 1, .client = 1, .side = kSell, .price = 100, .quantity = 5});
  const Snapshot before(b.book());
  CHECK(b.Submit(
            {.id = 2, .client = 2, .side = kBuy, .tif = kPostOnly, .price = 100, .quantity = 5}) ==
        Events{Rejected(2, kBuy, RejectReason::kWouldCross)});
  CHECK(b.Submit(
            {.id = 3, .client = 2, .side = kBuy, .tif = kPostOnly, .price = 150, .quantity = 5}) ==
        Events{Rejected(3, kBuy, RejectReason::kWouldCross)});
  // Crossing the client's own order counts too: post-only never meets self-trade prevention.
  CHECK(b.Submit(
            {.id = 4, .client = 1, .side = kBuy, .tif = kPostOnly, .price = 100, .quantity = 5}) ==
        Events{Rejected(4, kBuy, RejectReason::kWouldCross)});
  CHECK(Snapshot(b.book()) == before);
  CHECK(b.Submit(
            {.id = 5, .client = 2, .side = kBuy, .tif = kPostOnly, .price = 99, .quantity = 5}) ==
        Events{Accepted(5, kBuy, 99, 5), Bbo({99, 5}, {100, 5})});
  CHECK(b.book().Find(5) == RestingOrder{5, 2, kBuy, kPostOnly, 99, 5});
  CHECK(b.Submit(
            {.id = 6, .client = 3, .side = kSell, .tif = kPostOnly, .price = 99, .quantity = 1}) ==
        Events{Rejected(6, kSell, RejectReason::kWouldCross)});
  // A resting post-only order is a maker like any other.
  CHECK(b.Submit({.id = 7, .client = 3, .side = kSell, .price = 99, .quantity = 1}) ==
        Events{Accepted(7, kSell, 99, 1), Trade(7, kSell, 5, 99, 1), Done(7, kSell),
               Bbo({99, 4}, {100, 5})});
}

TEST_CASE("A market order on an empty side is cancelled unfilled") {
  Books b;
  CHECK(b.Submit({.id = 1, .client = 1, .side = kBuy, .type = kMarket, .quantity = 5}) ==
        Events{Accepted(1, kBuy, 0, 5), Cancelled(1, kBuy, CancelReason::kUnfilled, 5)});
  b.Submit({.id = 2, .client = 1, .side = kBuy, .price = 100, .quantity = 5});
  CHECK(b.Submit({.id = 3,
                  .client = 2,
                  .side = kBuy,
                  .type = kMarket,
                  .tif = kImmediateOrCancel,
                  .quantity = 5}) ==
        Events{Accepted(3, kBuy, 0, 5), Cancelled(3, kBuy, CancelReason::kUnfilled, 5)});
  CHECK(b.book().order_count() == 1);
}

TEST_CASE("A market order takes every price and cancels what the book lacks") {
  Books b;
  b.Submit({.id = 1, .client = 1, .side = kSell, .price = 100, .quantity = 2});
  b.Submit({.id = 2, .client = 1, .side = kSell, .price = kMaxPrice, .quantity = 2});
  // Its price is ignored (and reported as 0), whatever it is.
  CHECK(
      b.Submit({.id = 3, .client = 2, .side = kBuy, .type = kMarket, .price = -7, .quantity = 5}) ==
      Events{Accepted(3, kBuy, 0, 5), Trade(3, kBuy, 1, 100, 2), Done(1, kSell),
             Trade(3, kBuy, 2, kMaxPrice, 2), Done(2, kSell),
             Cancelled(3, kBuy, CancelReason::kUnfilled, 1), Bbo(kEmpty, kEmpty)});
  b.Submit({.id = 4, .client = 1, .side = kBuy, .price = 1, .quantity = 2});
  CHECK(
      b.Submit(
          {.id = 5, .client = 2, .side = kSell, .type = kMarket, .price = 12345, .quantity = 2}) ==
      Events{Accepted(5, kSell, 0, 2), Trade(5, kSell, 4, 1, 2), Done(4, kBuy), Done(5, kSell),
             Bbo(kEmpty, kEmpty)});
}

// ---------------------------------------------------------------------------------------------
// Cancel and modify.
// ---------------------------------------------------------------------------------------------

TEST_CASE("Cancel removes a resting order and reports its open quantity") {
  Books b;
  b.Submit({.id = 1, .client = 1, .side = kBuy, .price = 100, .quantity = 5});
  b.Submit({.id = 2, .client = 1, .side = kBuy, .price = 99, .quantity = 5});
  b.Submit({.id = 3, .client = 2, .side = kSell, .price = 100, .quantity = 2});
  CHECK(b.Cancel(2) == Events{Cancelled(2, kBuy, CancelReason::kRequested, 5)});
  CHECK(b.Cancel(1) ==
        Events{Cancelled(1, kBuy, CancelReason::kRequested, 3), Bbo(kEmpty, kEmpty)});
  CHECK(b.book().order_count() == 0);
}

TEST_CASE("Cancel of an unknown filled or cancelled order is rejected") {
  Books b;
  CHECK(b.Cancel(42) == Events{Rejected(42, kBuy, RejectReason::kUnknownOrder)});
  b.Submit({.id = 1, .client = 1, .side = kSell, .price = 100, .quantity = 2});
  b.Submit({.id = 2, .client = 2, .side = kBuy, .price = 100, .quantity = 2});
  CHECK(b.Cancel(1) == Events{Rejected(1, kBuy, RejectReason::kUnknownOrder)});
  CHECK(b.Cancel(2) == Events{Rejected(2, kBuy, RejectReason::kUnknownOrder)});
  b.Submit({.id = 3, .client = 1, .side = kSell, .price = 100, .quantity = 2});
  CHECK(b.Cancel(3) ==
        Events{Cancelled(3, kSell, CancelReason::kRequested, 2), Bbo(kEmpty, kEmpty)});
  CHECK(b.Cancel(3) == Events{Rejected(3, kBuy, RejectReason::kUnknownOrder)});
  // An IOC order never rests, so it cannot be cancelled.
  b.Submit({.id = 4,
            .client = 1,
            .side = kSell,
            .tif = kImmediateOrCancel,
            .price = 100,
            .quantity = 2});
  CHECK(b.Cancel(4) == Events{Rejected(4, kBuy, RejectReason::kUnknownOrder)});
}

TEST_CASE("Modify to a smaller quantity at the same price keeps priority") {
  Books b;
  b.Submit({.id = 1, .client = 1, .side = kBuy, .price = 100, .quantity = 5});
  b.Submit({.id = 2, .client = 2, .side = kBuy, .price = 100, .quantity = 5});
  CHECK(b.Modify(1, 100, 3) == Events{Modified(1, kBuy, 100, 3), Bbo({100, 8}, kEmpty)});
  CHECK(Ids(b.book().Orders(kBuy)) == std::vector<OrderId>{1, 2});
  CHECK(b.Submit({.id = 3, .client = 3, .side = kSell, .price = 100, .quantity = 4}) ==
        Events{Accepted(3, kSell, 100, 4), Trade(3, kSell, 1, 100, 3), Done(1, kBuy),
               Trade(3, kSell, 2, 100, 1), Done(3, kSell), Bbo({100, 4}, kEmpty)});
}

TEST_CASE("Modify to the same price and quantity is reported and changes nothing") {
  Books b;
  b.Submit({.id = 1, .client = 1, .side = kBuy, .price = 100, .quantity = 5});
  b.Submit({.id = 2, .client = 2, .side = kBuy, .price = 100, .quantity = 5});
  const Snapshot before(b.book());
  CHECK(b.Modify(1, 100, 5) == Events{Modified(1, kBuy, 100, 5)});
  CHECK(Snapshot(b.book()) == before);
}

TEST_CASE("Modify to a larger quantity loses priority") {
  Books b;
  b.Submit({.id = 1, .client = 1, .side = kBuy, .price = 100, .quantity = 5});
  b.Submit({.id = 2, .client = 2, .side = kBuy, .price = 100, .quantity = 5});
  CHECK(b.Modify(1, 100, 6) == Events{Modified(1, kBuy, 100, 6), Bbo({100, 11}, kEmpty)});
  CHECK(Ids(b.book().Orders(kBuy)) == std::vector<OrderId>{2, 1});
  CHECK(b.Submit({.id = 3, .client = 3, .side = kSell, .price = 100, .quantity = 5}) ==
        Events{Accepted(3, kSell, 100, 5), Trade(3, kSell, 2, 100, 5), Done(2, kBuy),
               Done(3, kSell), Bbo({100, 6}, kEmpty)});
}

TEST_CASE("Modify to another price loses priority even when it comes back") {
  Books b;
  b.Submit({.id = 1, .client = 1, .side = kSell, .price = 100, .quantity = 5});
  b.Submit({.id = 2, .client = 2, .side = kSell, .price = 100, .quantity = 5});
  CHECK(b.Modify(1, 101, 5) == Events{Modified(1, kSell, 101, 5), Bbo(kEmpty, {100, 5})});
  CHECK(Ids(b.book().Orders(kSell)) == std::vector<OrderId>{2, 1});
  CHECK(b.Modify(1, 100, 2) == Events{Modified(1, kSell, 100, 2), Bbo(kEmpty, {100, 7})});
  CHECK(Ids(b.book().Orders(kSell)) == std::vector<OrderId>{2, 1});
  CHECK(b.book().Find(1) == RestingOrder{1, 1, kSell, kGoodTillCancel, 100, 2});
}

TEST_CASE("A modified order that now crosses trades as the taker") {
  Books b;
  b.Submit({.id = 1, .client = 1, .side = kSell, .price = 101, .quantity = 3});
  b.Submit({.id = 2, .client = 2, .side = kSell, .price = 102, .quantity = 3});
  b.Submit({.id = 3, .client = 3, .side = kBuy, .price = 100, .quantity = 5});
  CHECK(b.Modify(3, 101, 5) == Events{Modified(3, kBuy, 101, 5), Trade(3, kBuy, 1, 101, 3),
                                      Done(1, kSell), Bbo({101, 2}, {102, 3})});
  CHECK(b.book().Find(3) == RestingOrder{3, 3, kBuy, kGoodTillCancel, 101, 2});
  CHECK(b.Modify(3, 102, 2) == Events{Modified(3, kBuy, 102, 2), Trade(3, kBuy, 2, 102, 2),
                                      Done(3, kBuy), Bbo(kEmpty, {102, 1})});
  CHECK(b.book().Find(3) == std::nullopt);
}

TEST_CASE("A modified order that crosses applies its own self-trade prevention") {
  Books b;
  b.Submit({.id = 1, .client = 1, .side = kBuy, .stp = kCancelOldest, .price = 100, .quantity = 5});
  b.Submit({.id = 2, .client = 1, .side = kSell, .price = 101, .quantity = 2});
  b.Submit({.id = 3, .client = 2, .side = kSell, .price = 101, .quantity = 2});
  CHECK(b.Modify(1, 101, 5) ==
        Events{Modified(1, kBuy, 101, 5), Cancelled(2, kSell, CancelReason::kSelfTrade, 2),
               Trade(1, kBuy, 3, 101, 2), Done(3, kSell), Bbo({101, 3}, kEmpty)});
}

TEST_CASE("A post-only modify that would cross is rejected and the order stays as it was") {
  Books b;
  b.Submit({.id = 1, .client = 1, .side = kSell, .price = 101, .quantity = 5});
  b.Submit({.id = 2, .client = 2, .side = kBuy, .tif = kPostOnly, .price = 100, .quantity = 5});
  const Snapshot before(b.book());
  CHECK(b.Modify(2, 101, 5) == Events{Rejected(2, kBuy, RejectReason::kWouldCross)});
  CHECK(b.Modify(2, 105, 1) == Events{Rejected(2, kBuy, RejectReason::kWouldCross)});
  CHECK(Snapshot(b.book()) == before);
  CHECK(b.Modify(2, 100, 3) == Events{Modified(2, kBuy, 100, 3), Bbo({100, 3}, {101, 5})});
  CHECK(b.book().Find(2) == RestingOrder{2, 2, kBuy, kPostOnly, 100, 3});
}

TEST_CASE("Modify with bad input or an unknown id is rejected") {
  Books b;
  b.Submit({.id = 1, .client = 1, .side = kSell, .price = 101, .quantity = 5});
  const Snapshot before(b.book());
  CHECK(b.Modify(1, 101, 0) == Events{Rejected(1, kSell, RejectReason::kBadQuantity)});
  CHECK(b.Modify(1, 101, -1) == Events{Rejected(1, kSell, RejectReason::kBadQuantity)});
  CHECK(b.Modify(1, 101, kMaxQuantity + 1) ==
        Events{Rejected(1, kSell, RejectReason::kBadQuantity)});
  CHECK(b.Modify(1, 0, 5) == Events{Rejected(1, kSell, RejectReason::kBadPrice)});
  CHECK(b.Modify(1, kMaxPrice + 1, 5) == Events{Rejected(1, kSell, RejectReason::kBadPrice)});
  // Quantity is checked before price, and both before the id.
  CHECK(b.Modify(1, 0, 0) == Events{Rejected(1, kSell, RejectReason::kBadQuantity)});
  CHECK(b.Modify(9, 0, 5) == Events{Rejected(9, kBuy, RejectReason::kBadPrice)});
  CHECK(b.Modify(9, 100, 5) == Events{Rejected(9, kBuy, RejectReason::kUnknownOrder)});
  CHECK(Snapshot(b.book()) == before);
  CHECK(b.Modify(1, kMaxPrice, kMaxQuantity) == Events{Modified(1, kSell, kMaxPrice, kMaxQuantity),
                                                       Bbo(kEmpty, {kMaxPrice, kMaxQuantity})});
}

// ---------------------------------------------------------------------------------------------
// Self-trade prevention. Client 7 rests an ask, then client 8 rests one behind it at the same
// price, then client 7 sends a buy.
// ---------------------------------------------------------------------------------------------

Books OwnAskThenOther(Quantity own = 5, Quantity other = 5) {
  Books b;
  b.Submit({.id = 1, .client = 7, .side = kSell, .price = 100, .quantity = own});
  b.Submit({.id = 2, .client = 8, .side = kSell, .price = 100, .quantity = other});
  return b;
}

NewOrder OwnBuy(SelfTradePrevention stp, Quantity quantity, TimeInForce tif = kGoodTillCancel) {
  return {.id = 3,
          .client = 7,
          .side = kBuy,
          .tif = tif,
          .stp = stp,
          .price = 100,
          .quantity = quantity};
}

TEST_CASE("Self-trade cancel-newest cancels the taker's remainder") {
  Books b = OwnAskThenOther();
  CHECK(b.Submit(OwnBuy(kCancelNewest, 4)) ==
        Events{Accepted(3, kBuy, 100, 4), Cancelled(3, kBuy, CancelReason::kSelfTrade, 4)});
  CHECK(Ids(b.book().Orders(kSell)) == std::vector<OrderId>{1, 2});
  // After trading with another client's order first.
  Books c;
  c.Submit({.id = 1, .client = 8, .side = kSell, .price = 100, .quantity = 2});
  c.Submit({.id = 2, .client = 7, .side = kSell, .price = 100, .quantity = 5});
  CHECK(c.Submit(OwnBuy(kCancelNewest, 4)) ==
        Events{Accepted(3, kBuy, 100, 4), Trade(3, kBuy, 1, 100, 2), Done(1, kSell),
               Cancelled(3, kBuy, CancelReason::kSelfTrade, 2), Bbo(kEmpty, {100, 5})});
}

TEST_CASE("Self-trade cancel-oldest cancels the maker and matching goes on") {
  Books b = OwnAskThenOther();
  CHECK(b.Submit(OwnBuy(kCancelOldest, 4)) ==
        Events{Accepted(3, kBuy, 100, 4), Cancelled(1, kSell, CancelReason::kSelfTrade, 5),
               Trade(3, kBuy, 2, 100, 4), Done(3, kBuy), Bbo(kEmpty, {100, 1})});
}

TEST_CASE("Self-trade cancel-both cancels the maker and the taker") {
  Books b = OwnAskThenOther();
  CHECK(b.Submit(OwnBuy(kCancelBoth, 4)) ==
        Events{Accepted(3, kBuy, 100, 4), Cancelled(1, kSell, CancelReason::kSelfTrade, 5),
               Cancelled(3, kBuy, CancelReason::kSelfTrade, 4), Bbo(kEmpty, {100, 5})});
}

TEST_CASE("Self-trade decrement reduces both and cancels whichever reaches zero") {
  SUBCASE("the taker is smaller") {
    Books b = OwnAskThenOther();
    CHECK(b.Submit(OwnBuy(kDecrement, 4)) == Events{Accepted(3, kBuy, 100, 4), Reduced(1, kSell, 4),
                                                    Cancelled(3, kBuy, CancelReason::kSelfTrade, 4),
                                                    Bbo(kEmpty, {100, 6})});
    // The maker keeps its place with what is left.
    CHECK(b.book().Orders(kSell) ==
          std::vector<RestingOrder>{{1, 7, kSell, kGoodTillCancel, 100, 1},
                                    {2, 8, kSell, kGoodTillCancel, 100, 5}});
  }
  SUBCASE("the maker is smaller") {
    Books b = OwnAskThenOther();
    CHECK(b.Submit(OwnBuy(kDecrement, 8)) ==
          Events{Accepted(3, kBuy, 100, 8), Cancelled(1, kSell, CancelReason::kSelfTrade, 5),
                 Reduced(3, kBuy, 5), Trade(3, kBuy, 2, 100, 3), Done(3, kBuy),
                 Bbo(kEmpty, {100, 2})});
  }
  SUBCASE("both are equal") {
    Books b = OwnAskThenOther();
    CHECK(b.Submit(OwnBuy(kDecrement, 5)) ==
          Events{Accepted(3, kBuy, 100, 5), Cancelled(1, kSell, CancelReason::kSelfTrade, 5),
                 Cancelled(3, kBuy, CancelReason::kSelfTrade, 5), Bbo(kEmpty, {100, 5})});
  }
  SUBCASE("the taker outlasts the book and rests") {
    Books b = OwnAskThenOther();
    CHECK(b.Submit(OwnBuy(kDecrement, 12)) ==
          Events{Accepted(3, kBuy, 100, 12), Cancelled(1, kSell, CancelReason::kSelfTrade, 5),
                 Reduced(3, kBuy, 5), Trade(3, kBuy, 2, 100, 5), Done(2, kSell),
                 Bbo({100, 2}, kEmpty)});
    CHECK(b.book().Find(3) == RestingOrder{3, 7, kBuy, kGoodTillCancel, 100, 2, kDecrement});
  }
}

TEST_CASE("Orders of different clients trade whatever the self-trade mode") {
  for (const SelfTradePrevention stp : {kCancelNewest, kCancelOldest, kCancelBoth, kDecrement}) {
    Books b;
    b.Submit({.id = 1, .client = 1, .side = kSell, .stp = stp, .price = 100, .quantity = 5});
    CHECK(b.Submit({.id = 2, .client = 2, .side = kBuy, .stp = stp, .price = 100, .quantity = 5}) ==
          Events{Accepted(2, kBuy, 100, 5), Trade(2, kBuy, 1, 100, 5), Done(1, kSell),
                 Done(2, kBuy), Bbo(kEmpty, kEmpty)});
  }
}

TEST_CASE("A fill-or-kill order is filled only by other clients") {
  SUBCASE("cancel-oldest passes its own orders by and cancels them") {
    Books b = OwnAskThenOther();
    CHECK(b.Submit(OwnBuy(kCancelOldest, 4, kFillOrKill)) ==
          Events{Accepted(3, kBuy, 100, 4), Cancelled(1, kSell, CancelReason::kSelfTrade, 5),
                 Trade(3, kBuy, 2, 100, 4), Done(3, kBuy), Bbo(kEmpty, {100, 1})});
  }
  SUBCASE("cancel-oldest that cannot fill whole leaves its own orders alone") {
    Books b = OwnAskThenOther();
    const Snapshot before(b.book());
    CHECK(b.Submit(OwnBuy(kCancelOldest, 6, kFillOrKill)) ==
          Events{Accepted(3, kBuy, 100, 6), Cancelled(3, kBuy, CancelReason::kUnfilled, 6)});
    CHECK(Snapshot(b.book()) == before);
  }
  for (const SelfTradePrevention stp : {kCancelNewest, kCancelBoth, kDecrement}) {
    CAPTURE(static_cast<int>(stp));
    // Its own order comes first and stops it: killed, and nothing else changes.
    Books b = OwnAskThenOther();
    const Snapshot before(b.book());
    CHECK(b.Submit(OwnBuy(stp, 4, kFillOrKill)) ==
          Events{Accepted(3, kBuy, 100, 4), Cancelled(3, kBuy, CancelReason::kUnfilled, 4)});
    CHECK(Snapshot(b.book()) == before);
    // Its own order comes after enough of another client's: filled.
    Books c;
    c.Submit({.id = 1, .client = 8, .side = kSell, .price = 100, .quantity = 5});
    c.Submit({.id = 2, .client = 7, .side = kSell, .price = 100, .quantity = 5});
    CHECK(c.Submit(OwnBuy(stp, 5, kFillOrKill)) == Events{Accepted(3, kBuy, 100, 5),
                                                          Trade(3, kBuy, 1, 100, 5), Done(1, kSell),
                                                          Done(3, kBuy), Bbo(kEmpty, {100, 5})});
    // But not when it needs more than comes before its own order.
    CHECK(c.Submit({.id = 4, .client = 9, .side = kSell, .price = 100, .quantity = 5}) ==
          Events{Accepted(4, kSell, 100, 5), Bbo(kEmpty, {100, 10})});
    CHECK(c.Submit({.id = 5,
                    .client = 7,
                    .side = kBuy,
                    .tif = kFillOrKill,
                    .stp = stp,
                    .price = 100,
                    .quantity = 1}) ==
          Events{Accepted(5, kBuy, 100, 1), Cancelled(5, kBuy, CancelReason::kUnfilled, 1)});
  }
}

// ---------------------------------------------------------------------------------------------
// Bad input and limits.
// ---------------------------------------------------------------------------------------------

TEST_CASE("New orders with bad input are rejected and change nothing") {
  Books b;
  b.Submit({.id = 1, .client = 1, .side = kSell, .price = 101, .quantity = 5});
  const Snapshot before(b.book());
  const auto check = [&](const NewOrder& order, RejectReason reason) {
    CAPTURE(order.id);
    CHECK(b.Submit(order) == Events{Rejected(order.id, order.side, reason)});
    CHECK(Snapshot(b.book()) == before);
  };
  check({.id = 10, .side = kBuy, .price = 100, .quantity = 0}, RejectReason::kBadQuantity);
  check({.id = 11, .side = kSell, .price = 102, .quantity = -5}, RejectReason::kBadQuantity);
  check({.id = 12, .side = kBuy, .price = 100, .quantity = kMaxQuantity + 1},
        RejectReason::kBadQuantity);
  check({.id = 13, .side = kBuy, .price = 100, .quantity = std::numeric_limits<Quantity>::min()},
        RejectReason::kBadQuantity);
  check({.id = 14, .side = kBuy, .type = kMarket, .quantity = 0}, RejectReason::kBadQuantity);
  check({.id = 15, .side = kBuy, .price = 0, .quantity = 1}, RejectReason::kBadPrice);
  check({.id = 16, .side = kBuy, .price = -100, .quantity = 1}, RejectReason::kBadPrice);
  check({.id = 17, .side = kSell, .price = kMaxPrice + 1, .quantity = 1}, RejectReason::kBadPrice);
  check({.id = 18, .side = kSell, .price = std::numeric_limits<Price>::max(), .quantity = 1},
        RejectReason::kBadPrice);
  check({.id = 19, .side = kBuy, .type = kMarket, .tif = kPostOnly, .quantity = 1},
        RejectReason::kBadOrderType);
  check({.id = 1, .side = kBuy, .price = 100, .quantity = 1}, RejectReason::kDuplicateOrderId);
  check({.id = 1, .side = kBuy, .type = kMarket, .quantity = 1}, RejectReason::kDuplicateOrderId);
  // Quantity before price, price before type, and all of them before the id.
  check({.id = 1, .side = kBuy, .price = 0, .quantity = 0}, RejectReason::kBadQuantity);
  check({.id = 1, .side = kBuy, .price = 0, .quantity = 1}, RejectReason::kBadPrice);
  check({.id = 1, .side = kBuy, .type = kMarket, .tif = kPostOnly, .quantity = 1},
        RejectReason::kBadOrderType);
  CHECK(b.book().Find(1) == RestingOrder{1, 1, kSell, kGoodTillCancel, 101, 5});
}

TEST_CASE("The extreme prices and quantities are accepted") {
  Books b;
  CHECK(
      b.Submit(
          {.id = 1, .client = 1, .side = kSell, .price = kMaxPrice, .quantity = kMaxQuantity}) ==
      Events{Accepted(1, kSell, kMaxPrice, kMaxQuantity), Bbo(kEmpty, {kMaxPrice, kMaxQuantity})});
  CHECK(b.Submit({.id = 2, .client = 1, .side = kBuy, .price = 1, .quantity = 1}) ==
        Events{Accepted(2, kBuy, 1, 1), Bbo({1, 1}, {kMaxPrice, kMaxQuantity})});
  CHECK(b.Submit(
            {.id = 3, .client = 1, .side = kSell, .price = kMaxPrice, .quantity = kMaxQuantity}) ==
        Events{Accepted(3, kSell, kMaxPrice, kMaxQuantity),
               Bbo({1, 1}, {kMaxPrice, 2 * kMaxQuantity})});
  CHECK(b.Submit({.id = 4, .client = 2, .side = kBuy, .type = kMarket, .quantity = kMaxQuantity}) ==
        Events{Accepted(4, kBuy, 0, kMaxQuantity), Trade(4, kBuy, 1, kMaxPrice, kMaxQuantity),
               Done(1, kSell), Done(4, kBuy), Bbo({1, 1}, {kMaxPrice, kMaxQuantity})});
}

TEST_CASE("An order id may be used again once its order has gone") {
  Books b;
  b.Submit({.id = 1, .client = 1, .side = kSell, .price = 101, .quantity = 5});
  b.Cancel(1);
  CHECK(b.Submit({.id = 1, .client = 2, .side = kBuy, .price = 100, .quantity = 5}) ==
        Events{Accepted(1, kBuy, 100, 5), Bbo({100, 5}, kEmpty)});
  // An id of 0 is an id like any other.
  CHECK(b.Submit({.id = 0, .client = 0, .side = kSell, .price = 100, .quantity = 2}) ==
        Events{Accepted(0, kSell, 100, 2), Trade(0, kSell, 1, 100, 2), Done(0, kSell),
               Bbo({100, 3}, kEmpty)});
}

TEST_CASE("A full book rejects new orders that could rest and takes the others") {
  Books b(/*max_orders=*/2);
  b.Submit({.id = 1, .client = 1, .side = kBuy, .price = 100, .quantity = 5});
  b.Submit({.id = 2, .client = 1, .side = kSell, .price = 102, .quantity = 5});
  const Snapshot before(b.book());
  CHECK(b.Submit({.id = 3, .client = 2, .side = kBuy, .price = 99, .quantity = 1}) ==
        Events{Rejected(3, kBuy, RejectReason::kBookFull)});
  CHECK(b.Submit(
            {.id = 4, .client = 2, .side = kSell, .tif = kPostOnly, .price = 103, .quantity = 1}) ==
        Events{Rejected(4, kSell, RejectReason::kBookFull)});
  // The rule is checked before matching: even a GTC order that would fill whole is refused.
  CHECK(b.Submit({.id = 5, .client = 2, .side = kSell, .price = 100, .quantity = 1}) ==
        Events{Rejected(5, kSell, RejectReason::kBookFull)});
  CHECK(Snapshot(b.book()) == before);
  CHECK(b.Submit({.id = 6,
                  .client = 2,
                  .side = kSell,
                  .tif = kImmediateOrCancel,
                  .price = 100,
                  .quantity = 1}) == Events{Accepted(6, kSell, 100, 1), Trade(6, kSell, 1, 100, 1),
                                            Done(6, kSell), Bbo({100, 4}, {102, 5})});
  CHECK(b.Submit({.id = 7, .client = 2, .side = kSell, .type = kMarket, .quantity = 1}) ==
        Events{Accepted(7, kSell, 0, 1), Trade(7, kSell, 1, 100, 1), Done(7, kSell),
               Bbo({100, 3}, {102, 5})});
  CHECK(
      b.Submit(
          {.id = 8, .client = 2, .side = kSell, .tif = kFillOrKill, .price = 100, .quantity = 1}) ==
      Events{Accepted(8, kSell, 100, 1), Trade(8, kSell, 1, 100, 1), Done(8, kSell),
             Bbo({100, 2}, {102, 5})});
  // Modify never adds an order, so a full book takes it.
  CHECK(b.Modify(1, 101, 2) == Events{Modified(1, kBuy, 101, 2), Bbo({101, 2}, {102, 5})});
  b.Cancel(2);
  CHECK(b.Submit({.id = 9, .client = 2, .side = kSell, .price = 103, .quantity = 1}) ==
        Events{Accepted(9, kSell, 103, 1), Bbo({101, 2}, {103, 1})});
}

TEST_CASE("Event and reason names are distinct") {
  CHECK(EventKindName(EventKind::kAccepted) == "accepted");
  CHECK(RejectReasonName(RejectReason::kDuplicateOrderId) == "duplicate_order_id");
  std::set<std::string_view> names;
  for (int k = 0; k <= static_cast<int>(EventKind::kReduced); ++k) {
    names.insert(EventKindName(static_cast<EventKind>(k)));
  }
  CHECK(names.size() == 8);
  names.clear();
  for (int r = 0; r <= static_cast<int>(RejectReason::kMalformed); ++r) {
    names.insert(RejectReasonName(static_cast<RejectReason>(r)));
  }
  CHECK(names.size() == 11);
  names.clear();
  for (int c = 0; c <= static_cast<int>(CancelReason::kSelfTrade); ++c) {
    names.insert(CancelReasonName(static_cast<CancelReason>(c)));
  }
  CHECK(names.size() == 4);
  CHECK(!names.contains(""));
}

// ---------------------------------------------------------------------------------------------
// Random commands.
// ---------------------------------------------------------------------------------------------

struct Command {
  enum class Kind : uint8_t { kSubmit, kCancel, kModify };
  Kind kind = Kind::kSubmit;
  NewOrder order;  // kSubmit
  OrderId id = 0;  // kCancel, kModify
  Price price = 0;
  Quantity quantity = 0;
};

// A command as C++, to paste into a test.
std::string Describe(const Command& c) {
  static constexpr const char* kTifs[] = {"kGoodTillCancel", "kImmediateOrCancel", "kFillOrKill",
                                          "kPostOnly"};
  static constexpr const char* kStps[] = {"kCancelNewest", "kCancelOldest", "kCancelBoth",
                                          "kDecrement"};
  switch (c.kind) {
    case Command::Kind::kSubmit:
      return absl::StrCat("Submit({.id = ", c.order.id, ", .client = ", c.order.client,
                          ", .side = ", c.order.side == kBuy ? "kBuy" : "kSell",
                          ", .type = ", c.order.type == kLimit ? "kLimit" : "kMarket",
                          ", .tif = ", kTifs[static_cast<int>(c.order.tif)],
                          ", .stp = ", kStps[static_cast<int>(c.order.stp)],
                          ", .price = ", c.order.price, ", .quantity = ", c.order.quantity, "})");
    case Command::Kind::kCancel:
      return absl::StrCat("Cancel(", c.id, ")");
    case Command::Kind::kModify:
      return absl::StrCat("Modify(", c.id, ", ", c.price, ", ", c.quantity, ")");
  }
  return "?";
}

template <typename Book>
void Apply(Book& book, const Command& c, Events& events) {
  switch (c.kind) {
    case Command::Kind::kSubmit:
      return book.Submit(c.order, events);
    case Command::Kind::kCancel:
      return book.Cancel(c.id, events);
    case Command::Kind::kModify:
      return book.Modify(c.id, c.price, c.quantity, events);
  }
}

// The shape of a random run.
struct Profile {
  const char* name;
  Price low, high;          // most limit prices fall in [low, high], so that orders cross often
  uint64_t clients;         // few, so that self-trades happen
  uint32_t max_orders;      // small, to reach kBookFull
  uint32_t initial_orders;  // small, so that the book's pools grow while it matches
  size_t target_orders;     // cancels grow more likely once this many orders rest
};

constexpr Profile kProfiles[] = {
    {"narrow band", 1000, 1020, 3, 1 << 16, 1, 200},
    {"two prices", 500, 501, 2, 1 << 16, 4, 60},
    {"bottom of the price range", 1, 10, 3, 1 << 16, 1 << 12, 100},
    {"top of the price range", kMaxPrice - 9, kMaxPrice, 3, 1 << 16, 16, 100},
    {"wider band many clients", 900, 1100, 6, 1 << 16, 64, 400},
    {"small full book", 1000, 1006, 2, 12, 12, 1000},
};

// Draws random commands, using the reference's resting orders to aim cancels and modifies at
// live ids as well as at gone and never used ones.
class CommandGenerator {
 public:
  CommandGenerator(const Profile& profile, uint64_t seed, uint64_t stream)
      : p_(profile), rng_(seed, stream) {}

  Command Next(const ReferenceBook& ref) {
    const auto& live = ref.entries();
    const bool crowded = live.size() > p_.target_orders;
    const uint64_t r = rng_.Uniform(100);
    Command c;
    if (r < (crowded ? 35u : 55u)) {
      c.kind = Command::Kind::kSubmit;
      c.order = RandomOrder(live);
      used_.push_back(c.order.id);
    } else if (r < (crowded ? 75u : 65u)) {
      c.kind = Command::Kind::kCancel;
      c.id = PickId(live);
    } else {
      c.kind = Command::Kind::kModify;
      c.id = PickId(live);
      const ReferenceBook::Entry* e = nullptr;
      for (const auto& x : live) {
        if (x.id == c.id) e = &x;
      }
      const uint64_t m = rng_.Uniform(100);
      if (e != nullptr && m < 30) {  // the same price, no larger (keeps priority)
        c.price = e->price;
        c.quantity = 1 + static_cast<Quantity>(rng_.Uniform(static_cast<uint64_t>(e->quantity)));
      } else if (e != nullptr && m < 45) {  // the same price, larger
        c.price = e->price;
        c.quantity = e->quantity + 1 + static_cast<Quantity>(rng_.Uniform(5));
      } else {
        c.price = RandomPrice(e != nullptr ? e->side : kBuy);
        c.quantity = RandomQuantity();
      }
      if (rng_.Uniform(100) < 3) c.quantity = BadQuantity();
      if (rng_.Uniform(100) < 3) c.price = BadPrice();
    }
    return c;
  }

 private:
  NewOrder RandomOrder(const std::vector<ReferenceBook::Entry>& live) {
    NewOrder o;
    const uint64_t r = rng_.Uniform(100);
    if (r < 3 && !live.empty()) {
      o.id = live[rng_.Uniform(live.size())].id;  // a duplicate
    } else if (r < 6 && !used_.empty()) {
      o.id = used_[rng_.Uniform(used_.size())];  // gone (or still resting)
    } else {
      o.id = next_id_++;
    }
    o.client = 1 + rng_.Uniform(p_.clients);
    o.side = rng_.Uniform(2) == 0 ? kBuy : kSell;
    o.type = rng_.Uniform(100) < 6 ? kMarket : kLimit;
    const uint64_t t = rng_.Uniform(100);
    o.tif = t < 45   ? kGoodTillCancel
            : t < 65 ? kImmediateOrCancel
            : t < 80 ? kFillOrKill
                     : kPostOnly;
    o.stp = static_cast<SelfTradePrevention>(rng_.Uniform(4));
    o.price = rng_.Uniform(100) < 3 ? BadPrice() : RandomPrice(o.side);
    o.quantity = rng_.Uniform(100) < 3 ? BadQuantity() : RandomQuantity();
    return o;
  }

  OrderId PickId(const std::vector<ReferenceBook::Entry>& live) {
    const uint64_t r = rng_.Uniform(100);
    if (r < 75 && !live.empty()) return live[rng_.Uniform(live.size())].id;
    if (r < 92 && !used_.empty()) return used_[rng_.Uniform(used_.size())];
    return next_id_ + rng_.Uniform(1000);  // never used (yet)
  }

  // Mostly on the order's own side of the band's middle (so that the book has depth), and a fifth
  // of the time on the other side (so that it trades).
  Price RandomPrice(Side side) {
    const uint64_t r = rng_.Uniform(100);
    if (r < 95) {
      // Bids in [low, mid], asks in [mid + 1, high].
      const Price mid = p_.low + (p_.high - p_.low - 1) / 2;
      const Price offset = rng_.UniformInRange(0, std::max<Price>(1, (p_.high - p_.low) / 2));
      const bool aggressive = rng_.Uniform(5) == 0;
      const Price price = (side == kBuy) == aggressive ? mid + 1 + offset : mid - offset;
      return std::clamp(price, p_.low, p_.high);
    }
    if (r < 98) {  // near the band
      return std::clamp<Price>(rng_.UniformInRange(p_.low - 20, p_.high + 20), 1, kMaxPrice);
    }
    return rng_.UniformInRange(1, kMaxPrice);  // anywhere
  }

  Quantity RandomQuantity() {
    const uint64_t r = rng_.Uniform(100);
    if (r < 85) return rng_.UniformInRange(1, 10);
    if (r < 98) return rng_.UniformInRange(1, 100);
    return kMaxQuantity - rng_.UniformInRange(0, 2);
  }

  Price BadPrice() {
    constexpr Price kBad[] = {0, -1, kMaxPrice + 1, std::numeric_limits<Price>::min(),
                              std::numeric_limits<Price>::max()};
    return kBad[rng_.Uniform(std::size(kBad))];
  }

  Quantity BadQuantity() {
    constexpr Quantity kBad[] = {0, -1, kMaxQuantity + 1, std::numeric_limits<Quantity>::min(),
                                 std::numeric_limits<Quantity>::max()};
    return kBad[rng_.Uniform(std::size(kBad))];
  }

  Profile p_;
  base::Random rng_;
  OrderId next_id_ = 1;
  std::vector<OrderId> used_;
};

// The first way `commands` make the book and the reference disagree, or "" if they never do.
// Events are compared after every command, state after every `state_every`-th and at the end.
std::string Disagreement(const std::vector<Command>& commands, const BookOptions& options,
                         size_t state_every) {
  OrderBook book(options);
  ReferenceBook ref(options.max_orders);
  Events actual, expected;
  for (size_t i = 0; i < commands.size(); ++i) {
    actual.clear();
    expected.clear();
    Apply(book, commands[i], actual);
    Apply(ref, commands[i], expected);
    if (actual != expected) {
      return absl::StrCat("command ", i, ": ", Describe(commands[i]), "\n book:\n",
                          Describe(actual), " reference:\n", Describe(expected));
    }
    if ((i + 1) % state_every == 0 || i + 1 == commands.size()) {
      const std::string diff = StateDifference(book, ref);
      if (!diff.empty()) return absl::StrCat("after command ", i, ": ", diff);
    }
  }
  return "";
}

// Shrinks a failing command list to a short one that still fails (delta debugging: drop ever
// smaller chunks while the failure persists), within a budget of replays.
std::vector<Command> Minimise(std::vector<Command> commands, const BookOptions& options) {
  int budget = 20'000;
  for (size_t chunk = commands.size() / 2; chunk >= 1 && budget > 0; chunk /= 2) {
    for (size_t start = 0; start < commands.size() && budget > 0; --budget) {
      std::vector<Command> candidate(commands.begin(),
                                     commands.begin() + static_cast<ptrdiff_t>(start));
      candidate.insert(
          candidate.end(),
          commands.begin() + static_cast<ptrdiff_t>(std::min(start + chunk, commands.size())),
          commands.end());
      // Checking the state after every command is slow on long lists, so only short ones do.
      const size_t state_every = candidate.size() > 2000 ? 16 : 1;
      if (!Disagreement(candidate, options, state_every).empty()) {
        commands = std::move(candidate);
      } else {
        start += chunk;
      }
    }
  }
  return commands;
}

std::string DescribeCase(const std::vector<Command>& commands, const BookOptions& options) {
  std::string out = absl::StrCat("OrderBook book({.max_orders = ", options.max_orders,
                                 ", .initial_orders = ", options.initial_orders, "});\n");
  for (const Command& c : commands) absl::StrAppend(&out, "book.", Describe(c), ";\n");
  return absl::StrCat(out, Disagreement(commands, options, 1));
}

// "trade", or "rejected:would_cross": an event's kind, and its reason if it has one.
std::string EventKey(const Event& e) {
  std::string key(EventKindName(e.kind));
  std::string_view reason;
  if (e.kind == EventKind::kRejected) reason = RejectReasonName(e.reject);
  if (e.kind == EventKind::kCancelled || e.kind == EventKind::kReduced) {
    reason = CancelReasonName(e.cancel);
  }
  if (!reason.empty()) key.append(":").append(reason);
  return key;
}

// The commands of the differential test, over all the profiles: 200,000 by default (about a
// second in Release), or KEEL_MARKET_DIFF_COMMANDS, e.g. 6000000 to run millions by hand.
size_t DifferentialCommands() {
  const char* env = std::getenv("KEEL_MARKET_DIFF_COMMANDS");
  size_t n = 0;
  if (env != nullptr && absl::SimpleAtoi(env, &n)) return n;
  return 200'000;
}

TEST_CASE("OrderBook emits the reference's events for random commands") {
  const uint64_t seed = keel::testing::TestSeed(505);
  CAPTURE(seed);
  const size_t total = DifferentialCommands();
  std::map<std::string, size_t> seen;  // events by kind and reason, over all the profiles
  for (size_t p = 0; p < std::size(kProfiles); ++p) {
    const Profile& profile = kProfiles[p];
    const std::string_view name = profile.name;
    CAPTURE(name);
    CommandGenerator gen(profile, seed, p);
    const BookOptions options{.max_orders = profile.max_orders,
                              .initial_orders = profile.initial_orders};
    OrderBook book(options);
    ReferenceBook ref(profile.max_orders);
    std::vector<Command> commands;
    Events actual, expected;
    std::string failure;
    const size_t n = total / std::size(kProfiles);
    size_t trades = 0, self_trades = 0, book_full = 0, resting = 0, most_resting = 0;
    for (size_t i = 0; i < n && failure.empty(); ++i) {
      commands.push_back(gen.Next(ref));
      actual.clear();
      expected.clear();
      Apply(book, commands.back(), actual);
      Apply(ref, commands.back(), expected);
      if (actual != expected) {
        failure = "events";
      } else if (i % 16 == 0 || ref.order_count() < 8) {
        failure = StateDifference(book, ref);
      }
      resting += ref.order_count();
      most_resting = std::max(most_resting, ref.order_count());
      for (const Event& e : expected) {
        ++seen[EventKey(e)];
        if (e.kind == EventKind::kTrade && commands.back().kind == Command::Kind::kModify) {
          ++seen["trade after modify"];
        }
        trades += e.kind == EventKind::kTrade;
        self_trades += e.cancel == CancelReason::kSelfTrade;
        book_full += e.reject == RejectReason::kBookFull;
      }
    }
    if (failure.empty()) failure = StateDifference(book, ref);
    if (!failure.empty()) {
      FAIL_CHECK("the book and the reference disagree; shortest case found:\n",
                 DescribeCase(Minimise(commands, options), options));
      continue;
    }
    // The run must have exercised what it is meant to.
    CHECK(trades > n / 20);
    CHECK(self_trades > n / 200);
    if (profile.max_orders < 100) CHECK(book_full > 0);
    MESSAGE(name, ": ", n, " commands, ", trades, " trades, ", self_trades, " self-trade cancels, ",
            book_full, " book-full rejects, ", resting / n, " orders resting on average and ",
            most_resting, " at most");
  }
  for (const char* key : {"accepted", "trade", "trade after modify", "modified", "done",
                          "best_bid_offer", "rejected:duplicate_order_id", "rejected:unknown_order",
                          "rejected:bad_quantity", "rejected:bad_price", "rejected:bad_order_type",
                          "rejected:would_cross", "rejected:book_full", "cancelled:requested",
                          "cancelled:unfilled", "cancelled:self_trade", "reduced:self_trade"}) {
    CAPTURE(key);
    CHECK(seen[key] > 0);
  }
}

// Commands for the tests below that check the book on its own.
template <typename Fn>
void RandomRun(uint64_t seed, size_t commands, Fn&& after_each) {
  const Profile& profile = kProfiles[0];
  CommandGenerator gen(profile, seed, 0);
  OrderBook book({.max_orders = profile.max_orders});
  ReferenceBook ref(profile.max_orders);  // only to aim the generator at live ids
  Events events, ignored;
  for (size_t i = 0; i < commands; ++i) {
    const Command c = gen.Next(ref);
    events.clear();
    Apply(book, c, events);
    Apply(ref, c, ignored);
    after_each(book, events);
  }
}

TEST_CASE("Depth equals the sum of Orders at every step of a random run") {
  const uint64_t seed = keel::testing::TestSeed(506);
  CAPTURE(seed);
  std::vector<LevelView> depth, top;
  size_t step = 0;
  RandomRun(seed, 5'000, [&](const OrderBook& book, const Events&) {
    CAPTURE(step++);
    size_t orders = 0;
    for (const Side side : {kBuy, kSell}) {
      const std::vector<RestingOrder> l3 = book.Orders(side);
      orders += l3.size();
      book.Depth(side, SIZE_MAX, depth);
      REQUIRE(depth == LevelsOf(l3));
      CHECK(book.level_count(side) == depth.size());
      book.Depth(side, 3, top);
      CHECK(top == std::vector<LevelView>(
                       depth.begin(),
                       depth.begin() + static_cast<ptrdiff_t>(std::min<size_t>(3, depth.size()))));
      const Quote best = side == kBuy ? book.best_bid() : book.best_ask();
      CHECK(best == (depth.empty() ? Quote{} : Quote{depth[0].price, depth[0].quantity}));
    }
    CHECK(book.order_count() == orders);
    // Never crossed.
    if (book.best_bid().quantity > 0 && book.best_ask().quantity > 0) {
      CHECK(book.best_bid().price < book.best_ask().price);
    }
  });
}

TEST_CASE("Best bid and offer events appear only when the best bid or offer changes") {
  const uint64_t seed = keel::testing::TestSeed(507);
  CAPTURE(seed);
  Quote bid, ask;  // as last reported
  size_t step = 0, reported = 0;
  RandomRun(seed, 20'000, [&](const OrderBook& book, const Events& events) {
    CAPTURE(step++);
    const bool changed = book.best_bid() != bid || book.best_ask() != ask;
    const auto count = std::count_if(events.begin(), events.end(), [](const Event& e) {
      return e.kind == EventKind::kBestBidOffer;
    });
    REQUIRE(count == (changed ? 1 : 0));
    if (changed) {
      REQUIRE(events.back().kind == EventKind::kBestBidOffer);
      CHECK(events.back().bid == book.best_bid());
      CHECK(events.back().ask == book.best_ask());
      bid = book.best_bid();
      ask = book.best_ask();
      ++reported;
    }
  });
  CHECK(reported > 1000);
  CHECK(reported < 20'000);
}

TEST_CASE("Books with the same resting orders have the same state hash") {
  const uint64_t seed = keel::testing::TestSeed(508);
  CAPTURE(seed);
  size_t step = 0;
  RandomRun(seed, 3'000, [&](const OrderBook& book, const Events&) {
    if (++step % 25 != 0) return;
    CAPTURE(step);
    // Rebuild the book from its L3 view, order by order in priority order: nothing crosses.
    OrderBook copy({.max_orders = 1 << 16});
    Events events;
    for (const Side side : {kBuy, kSell}) {
      for (const RestingOrder& o : book.Orders(side)) {
        copy.Submit({.id = o.id,
                     .client = o.client,
                     .side = o.side,
                     .tif = o.tif,
                     .stp = o.stp,
                     .price = o.price,
                     .quantity = o.quantity},
                    events);
      }
    }
    CHECK(copy.StateHash() == book.StateHash());
    CHECK(copy.Orders(kBuy) == book.Orders(kBuy));
    CHECK(copy.Orders(kSell) == book.Orders(kSell));
    // One lot fewer somewhere is another state.
    const std::vector<RestingOrder> bids = copy.Orders(kBuy);
    if (!bids.empty()) {
      const RestingOrder& o = bids[bids.size() / 2];
      if (o.quantity > 1) {
        copy.Modify(o.id, o.price, o.quantity - 1, events);
        CHECK(copy.StateHash() != book.StateHash());
      }
    }
  });
}

TEST_CASE("A book restored from its L3 view answers every later command as the original") {
  const uint64_t seed = keel::testing::TestSeed(509);
  CAPTURE(seed);
  const Profile& profile = kProfiles[0];
  CommandGenerator gen(profile, seed, 0);
  OrderBook book({.max_orders = profile.max_orders});
  ReferenceBook ref(profile.max_orders);  // to aim the generator at live ids
  Events events, ignored, restored_events;
  std::vector<std::unique_ptr<OrderBook>> restored;  // copies made along the way, still running
  for (size_t i = 0; i < 4'000; ++i) {
    CAPTURE(i);
    if (i % 200 == 0) {
      auto copy = std::make_unique<OrderBook>(BookOptions{.max_orders = profile.max_orders});
      for (const Side side : {kBuy, kSell}) {
        for (const RestingOrder& o : book.Orders(side)) REQUIRE(copy->RestoreOrder(o));
      }
      CHECK(copy->StateHash() == book.StateHash());
      CHECK(copy->best_bid() == book.best_bid());
      CHECK(copy->best_ask() == book.best_ask());
      restored.push_back(std::move(copy));
    }
    const Command c = gen.Next(ref);
    events.clear();
    Apply(book, c, events);
    Apply(ref, c, ignored);
    for (const auto& copy : restored) {
      restored_events.clear();
      Apply(*copy, c, restored_events);
      REQUIRE(restored_events == events);
    }
  }
  CHECK(restored.size() == 20);
}

TEST_CASE("RestoreOrder refuses what no book could hold at rest and changes nothing") {
  OrderBook book({.max_orders = 3});
  const RestingOrder bid{.id = 1, .client = 1, .side = kBuy, .price = 100, .quantity = 5};
  REQUIRE(book.RestoreOrder(bid));
  REQUIRE(book.RestoreOrder({.id = 2, .client = 1, .side = kSell, .price = 101, .quantity = 5}));
  const uint64_t hash = book.StateHash();
  std::vector<RestingOrder> bad;
  bad.push_back(bid);                                      // its id rests already
  bad.push_back({.id = 3, .side = kSell, .price = 100, .quantity = 1});  // crosses the bid
  bad.push_back({.id = 3, .side = kBuy, .price = 101, .quantity = 1});   // crosses the ask
  bad.push_back({.id = 3, .side = kBuy, .price = 0, .quantity = 1});
  bad.push_back({.id = 3, .side = kBuy, .price = kMaxPrice + 1, .quantity = 1});
  bad.push_back({.id = 3, .side = kBuy, .price = 99, .quantity = 0});
  bad.push_back({.id = 3, .side = kBuy, .price = 99, .quantity = kMaxQuantity + 1});
  bad.push_back({.id = 3, .side = kBuy, .tif = kImmediateOrCancel, .price = 99, .quantity = 1});
  bad.push_back({.id = 3, .side = kBuy, .tif = kFillOrKill, .price = 99, .quantity = 1});
  bad.push_back({.id = 3, .side = static_cast<Side>(2), .price = 99, .quantity = 1});
  bad.push_back(
      {.id = 3, .side = kBuy, .price = 99, .quantity = 1, .stp = static_cast<SelfTradePrevention>(4)});
  for (const RestingOrder& o : bad) {
    CAPTURE(o.id);
    CHECK(!book.RestoreOrder(o));
    CHECK(book.StateHash() == hash);
    CHECK(book.order_count() == 2);
  }
  CHECK(book.RestoreOrder({.id = 3, .side = kBuy, .tif = kPostOnly, .price = 99, .quantity = 1}));
  CHECK(!book.RestoreOrder({.id = 4, .side = kBuy, .price = 98, .quantity = 1}));  // full
}

TEST_CASE("A moved book carries on where it was") {
  OrderBook book({.max_orders = 16});
  Events events;
  book.Submit({.id = 1, .client = 1, .side = kSell, .price = 100, .quantity = 5}, events);
  OrderBook moved(std::move(book));
  events.clear();
  moved.Submit({.id = 2, .client = 2, .side = kBuy, .price = 100, .quantity = 2}, events);
  CHECK(events == Events{Accepted(2, kBuy, 100, 2), Trade(2, kBuy, 1, 100, 2), Done(2, kBuy),
                         Bbo(kEmpty, {100, 3})});
  CHECK(moved.Find(1) == RestingOrder{1, 1, kSell, kGoodTillCancel, 100, 3});
}

}  // namespace
}  // namespace keel::market
