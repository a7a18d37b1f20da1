// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "market/reference_book.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "keel/base/assert.h"
#include "market/events.h"

// GCC before 14 warns about designated initializers that leave members to their default member
// initializers, which is what they are for here: an event or order names only the fields it uses.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace keel::market::testing {
namespace {

bool ValidQuantity(Quantity q) { return q >= 1 && q <= kMaxQuantity; }
bool ValidPrice(Price p) { return p >= 1 && p <= kMaxPrice; }
Side Opposite(Side side) { return side == Side::kBuy ? Side::kSell : Side::kBuy; }

}  // namespace

bool ReferenceBook::Crosses(Side taker_side, bool market, Price taker_price, Price maker_price) {
  if (market) return true;
  return taker_side == Side::kBuy ? maker_price <= taker_price : maker_price >= taker_price;
}

bool ReferenceBook::Before(const Entry& a, const Entry& b) {
  KEEL_ASSERT(a.side == b.side);
  if (a.price != b.price) return a.side == Side::kBuy ? a.price > b.price : a.price < b.price;
  return a.arrival < b.arrival;
}

std::optional<size_t> ReferenceBook::FindIndex(OrderId id) const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].id == id) return i;
  }
  return std::nullopt;
}

std::optional<size_t> ReferenceBook::Best(Side side) const {
  std::optional<size_t> best;
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].side != side) continue;
    if (!best || Before(entries_[i], entries_[*best])) best = i;
  }
  return best;
}

std::vector<ReferenceBook::Entry> ReferenceBook::CrossedMakers(const Taker& taker) const {
  std::vector<Entry> makers;
  for (const Entry& e : entries_) {
    if (e.side != taker.side && Crosses(taker.side, taker.market, taker.price, e.price)) {
      makers.push_back(e);
    }
  }
  std::sort(makers.begin(), makers.end(), Before);
  return makers;
}

bool ReferenceBook::CanFillWhole(const Taker& taker) const {
  Quantity needed = taker.quantity;
  for (const Entry& maker : CrossedMakers(taker)) {
    if (maker.client == taker.client) {
      if (taker.stp == SelfTradePrevention::kCancelOldest) continue;
      return false;
    }
    needed -= maker.quantity;
    if (needed <= 0) return true;
  }
  return false;
}

void ReferenceBook::Submit(const NewOrder& order, std::vector<Event>& events) {
  const bool market = order.type == OrderType::kMarket;
  const bool post_only = order.tif == TimeInForce::kPostOnly;
  const auto reject = [&](RejectReason reason) {
    events.push_back(Rejected(order.id, order.side, reason));
  };
  if (!ValidQuantity(order.quantity)) return reject(RejectReason::kBadQuantity);
  if (!market && !ValidPrice(order.price)) return reject(RejectReason::kBadPrice);
  if (market && post_only) return reject(RejectReason::kBadOrderType);
  if (FindIndex(order.id)) return reject(RejectReason::kDuplicateOrderId);
  const bool may_rest = !market && (order.tif == TimeInForce::kGoodTillCancel || post_only);
  if (may_rest && order_count() >= max_orders_) return reject(RejectReason::kBookFull);
  if (post_only) {
    const std::optional<size_t> best = Best(Opposite(order.side));
    if (best && Crosses(order.side, false, order.price, entries_[*best].price)) {
      return reject(RejectReason::kWouldCross);
    }
  }

  events.push_back({.kind = EventKind::kAccepted,
                    .side = order.side,
                    .order_id = order.id,
                    .price = market ? 0 : order.price,
                    .quantity = order.quantity});
  Taker taker{.id = order.id,
              .client = order.client,
              .side = order.side,
              .tif = order.tif,
              .stp = order.stp,
              .market = market,
              .price = market ? 0 : order.price,
              .quantity = order.quantity};
  if (order.tif == TimeInForce::kFillOrKill && !CanFillWhole(taker)) {
    events.push_back(Cancelled(order.id, order.side, CancelReason::kUnfilled, order.quantity));
    return;  // the book is untouched, so the best bid and offer are too
  }
  MatchAndFinish(taker, events);
  ReportBestBidOffer(events);
}

void ReferenceBook::MatchAndFinish(Taker& taker, std::vector<Event>& events) {
  bool taker_cancelled = false;
  while (taker.quantity > 0 && !taker_cancelled) {
    const std::optional<size_t> best = Best(Opposite(taker.side));
    if (!best || !Crosses(taker.side, taker.market, taker.price, entries_[*best].price)) break;
    Entry& maker = entries_[*best];
    if (maker.client != taker.client) {
      const Quantity q = std::min(taker.quantity, maker.quantity);
      events.push_back({.kind = EventKind::kTrade,
                        .side = taker.side,
                        .order_id = taker.id,
                        .maker_id = maker.id,
                        .price = maker.price,
                        .quantity = q});
      taker.quantity -= q;
      maker.quantity -= q;
      if (maker.quantity == 0) {
        events.push_back(Done(maker.id, maker.side));
        Erase(*best);
      }
      continue;
    }
    // The same client on both sides: self-trade prevention, by the taker's mode.
    const auto cancel_maker = [&](Quantity quantity) {
      events.push_back(Cancelled(maker.id, maker.side, CancelReason::kSelfTrade, quantity));
      Erase(*best);
    };
    const auto cancel_taker = [&](Quantity quantity) {
      events.push_back(Cancelled(taker.id, taker.side, CancelReason::kSelfTrade, quantity));
      taker.quantity = 0;
      taker_cancelled = true;
    };
    switch (taker.stp) {
      case SelfTradePrevention::kCancelNewest:
        cancel_taker(taker.quantity);
        break;
      case SelfTradePrevention::kCancelOldest:
        cancel_maker(maker.quantity);
        break;
      case SelfTradePrevention::kCancelBoth:
        cancel_maker(maker.quantity);
        cancel_taker(taker.quantity);
        break;
      case SelfTradePrevention::kDecrement: {
        const Quantity d = std::min(taker.quantity, maker.quantity);
        const bool maker_gone = maker.quantity == d;
        if (maker_gone) {
          cancel_maker(d);
        } else {
          maker.quantity -= d;
          events.push_back(Reduced(maker.id, maker.side, d));
        }
        if (taker.quantity == d) {
          cancel_taker(d);
        } else {
          taker.quantity -= d;
          events.push_back(Reduced(taker.id, taker.side, d));
        }
        break;
      }
    }
  }
  if (taker_cancelled) return;
  if (taker.quantity == 0) {
    events.push_back(Done(taker.id, taker.side));
  } else if (taker.market || taker.tif == TimeInForce::kImmediateOrCancel ||
             taker.tif == TimeInForce::kFillOrKill) {
    events.push_back(Cancelled(taker.id, taker.side, CancelReason::kUnfilled, taker.quantity));
  } else {
    Rest(taker);
  }
}

void ReferenceBook::Rest(const Taker& taker) {
  KEEL_ASSERT(!taker.market && taker.quantity > 0);
  entries_.push_back({.id = taker.id,
                      .client = taker.client,
                      .side = taker.side,
                      .tif = taker.tif,
                      .stp = taker.stp,
                      .price = taker.price,
                      .quantity = taker.quantity,
                      .arrival = next_arrival_++});
}

void ReferenceBook::Erase(size_t index) {
  entries_.erase(entries_.begin() + static_cast<ptrdiff_t>(index));
}

void ReferenceBook::Cancel(OrderId id, std::vector<Event>& events) {
  const std::optional<size_t> index = FindIndex(id);
  if (!index) {
    events.push_back(Rejected(id, Side::kBuy, RejectReason::kUnknownOrder));
    return;
  }
  const Entry& e = entries_[*index];
  events.push_back(Cancelled(id, e.side, CancelReason::kRequested, e.quantity));
  Erase(*index);
  ReportBestBidOffer(events);
}

void ReferenceBook::Modify(OrderId id, Price price, Quantity quantity, std::vector<Event>& events) {
  const std::optional<size_t> index = FindIndex(id);
  const Side reject_side = index ? entries_[*index].side : Side::kBuy;
  const auto reject = [&](RejectReason reason) {
    events.push_back(Rejected(id, reject_side, reason));
  };
  if (!ValidQuantity(quantity)) return reject(RejectReason::kBadQuantity);
  if (!ValidPrice(price)) return reject(RejectReason::kBadPrice);
  if (!index) return reject(RejectReason::kUnknownOrder);
  const Entry old = entries_[*index];
  const std::optional<size_t> best = Best(Opposite(old.side));
  const bool crosses = best && Crosses(old.side, false, price, entries_[*best].price);
  if (old.tif == TimeInForce::kPostOnly && crosses) return reject(RejectReason::kWouldCross);

  events.push_back({.kind = EventKind::kModified,
                    .side = old.side,
                    .order_id = id,
                    .price = price,
                    .quantity = quantity});
  if (price == old.price && quantity <= old.quantity) {
    KEEL_ASSERT(!crosses);  // the book was not crossed, and the price is the same
    entries_[*index].quantity = quantity;
  } else {
    Erase(*index);
    Taker taker{.id = id,
                .client = old.client,
                .side = old.side,
                .tif = old.tif,
                .stp = old.stp,
                .market = false,
                .price = price,
                .quantity = quantity};
    MatchAndFinish(taker, events);
  }
  ReportBestBidOffer(events);
}

std::vector<RestingOrder> ReferenceBook::Orders(Side side) const {
  std::vector<Entry> sorted;
  for (const Entry& e : entries_) {
    if (e.side == side) sorted.push_back(e);
  }
  std::sort(sorted.begin(), sorted.end(), Before);
  std::vector<RestingOrder> out;
  for (const Entry& e : sorted) {
    out.push_back({.id = e.id,
                   .client = e.client,
                   .side = e.side,
                   .tif = e.tif,
                   .price = e.price,
                   .quantity = e.quantity,
                   .stp = e.stp});
  }
  return out;
}

std::vector<LevelView> ReferenceBook::Depth(Side side, size_t max_levels) const {
  std::vector<LevelView> out;
  for (const RestingOrder& o : Orders(side)) {
    if (out.empty() || out.back().price != o.price) {
      if (out.size() == max_levels) break;
      out.push_back({.price = o.price});
    }
    out.back().quantity += o.quantity;
    ++out.back().orders;
  }
  return out;
}

std::optional<RestingOrder> ReferenceBook::Find(OrderId id) const {
  const std::optional<size_t> index = FindIndex(id);
  if (!index) return std::nullopt;
  const Entry& e = entries_[*index];
  return RestingOrder{.id = e.id,
                      .client = e.client,
                      .side = e.side,
                      .tif = e.tif,
                      .price = e.price,
                      .quantity = e.quantity,
                      .stp = e.stp};
}

size_t ReferenceBook::level_count(Side side) const { return Depth(side, SIZE_MAX).size(); }

Quote ReferenceBook::BestOf(Side side) const {
  const std::vector<LevelView> top = Depth(side, 1);
  if (top.empty()) return {};
  return {.price = top[0].price, .quantity = top[0].quantity};
}

void ReferenceBook::ReportBestBidOffer(std::vector<Event>& events) {
  const Quote bid = best_bid();
  const Quote ask = best_ask();
  if (bid == last_bid_ && ask == last_ask_) return;
  last_bid_ = bid;
  last_ask_ = ask;
  events.push_back({.kind = EventKind::kBestBidOffer, .bid = bid, .ask = ask});
}

namespace {

// Debian's Abseil has its own string_view, not an alias of std::string_view.
absl::string_view Name(std::string_view name) { return {name.data(), name.size()}; }

}  // namespace

// Every field is printed, so that two events that differ never print the same.
std::string Describe(const Event& e) {
  return absl::StrCat(
      Name(EventKindName(e.kind)), "{side=", e.side == Side::kBuy ? "B" : "S",
      " reject=", Name(RejectReasonName(e.reject)), " cancel=", Name(CancelReasonName(e.cancel)),
      " id=", e.order_id, " maker=", e.maker_id, " price=", e.price, " qty=", e.quantity,
      " bid=", e.bid.price, "x", e.bid.quantity, " ask=", e.ask.price, "x", e.ask.quantity, "}");
}

std::string Describe(const std::vector<Event>& events) {
  std::string out;
  for (const Event& e : events) absl::StrAppend(&out, "  ", Describe(e), "\n");
  return out.empty() ? "  (none)\n" : out;
}

}  // namespace keel::market::testing
