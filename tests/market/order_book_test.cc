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
#include "market/order_book_testing.h"
#include "testing/testing.h"

// GCC before 14 warns about designated initializers that leave members to their default member
// initializers, which is what they are for here: an event or order names only the fields it uses.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace keel::market::testing {
namespace {

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

}  // namespace
}  // namespace keel::market::testing
