// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/market/order_book.h"

#include <algorithm>
#include <bit>

#include "keel/base/assert.h"
#include "keel/base/hash.h"

namespace keel::market {

std::string_view EventKindName(EventKind kind) {
  switch (kind) {
    case EventKind::kAccepted:
      return "accepted";
    case EventKind::kRejected:
      return "rejected";
    case EventKind::kTrade:
      return "trade";
    case EventKind::kModified:
      return "modified";
    case EventKind::kCancelled:
      return "cancelled";
    case EventKind::kDone:
      return "done";
    case EventKind::kBestBidOffer:
      return "best_bid_offer";
    case EventKind::kReduced:
      return "reduced";
  }
  return "?";
}

std::string_view RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kNone:
      return "none";
    case RejectReason::kDuplicateOrderId:
      return "duplicate_order_id";
    case RejectReason::kUnknownOrder:
      return "unknown_order";
    case RejectReason::kBadQuantity:
      return "bad_quantity";
    case RejectReason::kBadPrice:
      return "bad_price";
    case RejectReason::kBadOrderType:
      return "bad_order_type";
    case RejectReason::kWouldCross:
      return "would_cross";
    case RejectReason::kBookFull:
      return "book_full";
    case RejectReason::kBadSymbol:
      return "bad_symbol";
    case RejectReason::kTooManySymbols:
      return "too_many_symbols";
    case RejectReason::kMalformed:
      return "malformed";
  }
  return "?";
}

std::string_view CancelReasonName(CancelReason reason) {
  switch (reason) {
    case CancelReason::kNone:
      return "none";
    case CancelReason::kRequested:
      return "requested";
    case CancelReason::kUnfilled:
      return "unfilled";
    case CancelReason::kSelfTrade:
      return "self_trade";
  }
  return "?";
}

namespace {

// Appends an event of `kind` about `id` and returns it for its other fields (zero until set).
// Built in place: an event is 72 bytes, and a message makes two or three.
Event& Emit(std::vector<Event>& events, EventKind kind, Side side, OrderId id) {
  Event& e = events.emplace_back();
  e.kind = kind;
  e.side = side;
  e.order_id = id;
  return e;
}

void Reject(std::vector<Event>& events, OrderId id, Side side, RejectReason reason) {
  Emit(events, EventKind::kRejected, side, id).reject = reason;
}

bool ValidQuantity(Quantity q) { return q >= 1 && q <= kMaxQuantity; }
bool ValidPrice(Price p) { return p >= 1 && p <= kMaxPrice; }

// The id index's seed comes from where the program was loaded (as Abseil's hash tables do), so
// that ids chosen to collide in one process do not collide in the next. It changes only where in
// the table an id sits, never what the book does: no result depends on the table's order.
const char kIdSeedAnchor = 0;

}  // namespace

OrderBook::OrderBook(const BookOptions& options) : max_orders_(options.max_orders) {
  KEEL_ASSERT(options.max_orders >= 1 && options.max_orders <= kMaxOrders,
              "BookOptions::max_orders out of range");
  const uint32_t initial = std::min(options.initial_orders, options.max_orders);
  orders_.reserve(size_t{initial} + 1);  // an incoming order needs a slot while it matches
  free_orders_.reserve(size_t{initial} + 1);
  levels_.reserve(initial);  // every level holds an order: never more levels than orders
  free_levels_.reserve(initial);
  // The id index is sized for `initial` orders (at most half full), not for the limit: a table
  // sized for a limit spreads a small book's ids over far more cache lines than it needs
  // (measured: 10% of the time of a 1,000-order book with room for 16,384). It doubles when the
  // book outgrows it. (Sizing it to the book itself, smaller still, measured slower: fuller
  // tables make longer probe runs.)
  id_table_.assign(std::bit_ceil(std::max(2 * size_t{initial}, size_t{16})), kNil);
  id_shift_ = 64 - std::countr_zero(id_table_.size());
  id_seed_ = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(&kIdSeedAnchor));
  bids_.bids = true;
}

// The small helpers that every message goes through (the id index, Unlink, Rest, Crosses, the
// best bid and offer) are defined `inline` below. Without it GCC calls most of them, and the
// calls (registers saved and restored around each) measured 5-10% of the time of a message.

// ---------------------------------------------------------------------------------------------
// Commands.
// ---------------------------------------------------------------------------------------------

RejectReason OrderBook::CheckNewOrder(const NewOrder& in) {
  const bool market = in.type == OrderType::kMarket;
  if (!ValidQuantity(in.quantity)) return RejectReason::kBadQuantity;
  if (!market && !ValidPrice(in.price)) return RejectReason::kBadPrice;
  if (market && in.tif == TimeInForce::kPostOnly) return RejectReason::kBadOrderType;
  return RejectReason::kNone;
}

RejectReason OrderBook::CheckAgainstBook(const NewOrder& in) const {
  if (FindId(in.id) != kNil) return RejectReason::kDuplicateOrderId;
  const bool rests = in.tif == TimeInForce::kGoodTillCancel || in.tif == TimeInForce::kPostOnly;
  if (in.type == OrderType::kLimit && rests && id_count_ >= max_orders_) {
    return RejectReason::kBookFull;
  }
  if (in.tif == TimeInForce::kPostOnly && Crosses(in.side, in.price)) {
    return RejectReason::kWouldCross;
  }
  return RejectReason::kNone;
}

void OrderBook::Submit(const NewOrder& in, std::vector<Event>& events) {
  const bool market = in.type == OrderType::kMarket;
  // The order alone, then against the book: the first problem found is the one reported.
  RejectReason reason = CheckNewOrder(in);
  if (reason == RejectReason::kNone) reason = CheckAgainstBook(in);
  if (reason != RejectReason::kNone) {
    Reject(events, in.id, in.side, reason);
    return;
  }

  const uint32_t slot = AllocateOrder();
  Order& taker = orders_[slot];
  taker = Order{};
  taker.id = in.id;
  taker.client = in.client;
  taker.price = market ? 0 : in.price;
  taker.quantity = in.quantity;
  taker.side = in.side;
  // A market order never rests: whatever time in force it came with, its remainder is cancelled.
  taker.tif =
      market && in.tif == TimeInForce::kGoodTillCancel ? TimeInForce::kImmediateOrCancel : in.tif;
  taker.stp = in.stp;

  Event& accepted = Emit(events, EventKind::kAccepted, in.side, in.id);
  accepted.price = taker.price;
  accepted.quantity = in.quantity;

  if (taker.tif == TimeInForce::kFillOrKill && !CanFillWhole(taker, market)) {
    Cancelled(slot, CancelReason::kUnfilled, events);
    free_orders_.push_back(slot);
    return;  // the book is untouched: no best bid or offer can have changed
  }
  const bool cancelled = !Match(taker, market, events);
  if (!cancelled && taker.quantity > 0 && taker.tif != TimeInForce::kImmediateOrCancel &&
      taker.tif != TimeInForce::kFillOrKill) {
    InsertId(taker.id, slot);
  }
  Finish(slot, cancelled, events);
  ReportBestBidOffer(events);
}

void OrderBook::Cancel(OrderId id, std::vector<Event>& events) {
  const size_t entry = FindIdEntry(id);
  const uint32_t order = id_table_[entry];
  if (order == kNil) {
    Reject(events, id, Side::kBuy, RejectReason::kUnknownOrder);
    return;
  }
  Cancelled(order, CancelReason::kRequested, events);
  Unlink(order);
  EraseIdEntry(entry);  // found already: no second probe
  free_orders_.push_back(order);
  ReportBestBidOffer(events);
}

void OrderBook::Modify(OrderId id, Price price, Quantity quantity, std::vector<Event>& events) {
  RejectReason reason = RejectReason::kNone;
  const uint32_t index = FindId(id);
  if (!ValidQuantity(quantity)) {
    reason = RejectReason::kBadQuantity;
  } else if (!ValidPrice(price)) {
    reason = RejectReason::kBadPrice;
  } else if (index == kNil) {
    reason = RejectReason::kUnknownOrder;
  }
  if (reason != RejectReason::kNone) {
    // The order's side when there is an order; a side is needed, and an unknown id has none.
    const Side side = index == kNil ? Side::kBuy : orders_[index].side;
    Reject(events, id, side, reason);
    return;
  }
  Order& order = orders_[index];
  if (order.tif == TimeInForce::kPostOnly && Crosses(order.side, price)) {
    Reject(events, id, order.side, RejectReason::kWouldCross);
    return;
  }
  Event& modified = Emit(events, EventKind::kModified, order.side, id);
  modified.price = price;
  modified.quantity = quantity;

  if (price == order.price && quantity <= order.quantity) {
    // Less of the same keeps its place in the queue.
    Reduce(index, order.quantity - quantity);
  } else {
    // Anything else is a new order in all but its id: to the back of the queue, and it may trade.
    Unlink(index);
    order.price = price;
    order.quantity = quantity;
    if (Crosses(order.side, price)) {
      const bool cancelled = !Match(order, /*market=*/false, events);
      Finish(index, cancelled, events);
    } else {
      Rest(index);
    }
  }
  ReportBestBidOffer(events);
}

bool OrderBook::RestoreOrder(const RestingOrder& in) {
  const bool rests = in.tif == TimeInForce::kGoodTillCancel || in.tif == TimeInForce::kPostOnly;
  const bool enums_valid =
      in.side <= Side::kSell && in.stp <= SelfTradePrevention::kDecrement && rests;
  if (!enums_valid || !ValidPrice(in.price) || !ValidQuantity(in.quantity) ||
      id_count_ >= max_orders_ || FindId(in.id) != kNil || Crosses(in.side, in.price)) {
    return false;
  }
  const uint32_t slot = AllocateOrder();
  Order& order = orders_[slot];
  order = Order{};
  order.id = in.id;
  order.client = in.client;
  order.price = in.price;
  order.quantity = in.quantity;
  order.side = in.side;
  order.tif = in.tif;
  order.stp = in.stp;
  InsertId(in.id, slot);
  Rest(slot);
  // What the last command reported: after every command the best bid and offer reported last are
  // the book's (ReportBestBidOffer), and a rebuilt book must say the same of its next change.
  last_bid_ = BestOf(bids_);
  last_ask_ = BestOf(asks_);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Matching.
// ---------------------------------------------------------------------------------------------

inline bool OrderBook::Crosses(Side taker_side, Price taker_price) const {
  const BookSide& other = taker_side == Side::kBuy ? asks_ : bids_;
  if (other.best == kNil) return false;
  const Price best = levels_[other.best].price;
  return taker_side == Side::kBuy ? taker_price >= best : taker_price <= best;
}

bool OrderBook::Match(Order& taker, bool market, std::vector<Event>& events) {
  const BookSide& other = opposite(taker.side);
  while (taker.quantity > 0 && other.best != kNil) {
    if (!market && !Crosses(taker.side, taker.price)) break;
    const uint32_t maker = levels_[other.best].head;
    if (orders_[maker].client == taker.client) {
      if (!PreventSelfTrade(taker, maker, events)) return false;
    } else {
      Trade(taker, maker, events);
    }
  }
  return true;
}

void OrderBook::Trade(Order& taker, uint32_t m, std::vector<Event>& events) {
  Order& maker = orders_[m];
  const Quantity traded = std::min(taker.quantity, maker.quantity);
  Event& trade = Emit(events, EventKind::kTrade, taker.side, taker.id);
  trade.maker_id = maker.id;
  trade.price = maker.price;
  trade.quantity = traded;
  taker.quantity -= traded;
  if (traded < maker.quantity) {
    Reduce(m, traded);
    return;
  }
  Emit(events, EventKind::kDone, maker.side, maker.id);
  Unlink(m);
  Release(m);
}

// The taker meets its own client's order `m`: the taker's mode says what happens (see
// SelfTradePrevention). Returns false if the taker is cancelled; Finish then reports it, with the
// quantity it had.
bool OrderBook::PreventSelfTrade(Order& taker, uint32_t m, std::vector<Event>& events) {
  const auto cancel_maker = [&] {
    Cancelled(m, CancelReason::kSelfTrade, events);
    Unlink(m);
    Release(m);
  };
  switch (taker.stp) {
    case SelfTradePrevention::kCancelNewest:
      return false;
    case SelfTradePrevention::kCancelOldest:
      cancel_maker();
      return true;
    case SelfTradePrevention::kCancelBoth:
      cancel_maker();
      return false;
    case SelfTradePrevention::kDecrement:
      break;
  }
  const Quantity by = std::min(taker.quantity, orders_[m].quantity);
  if (by == orders_[m].quantity) {
    cancel_maker();
  } else {
    Reduce(m, by);
    Reduced(orders_[m], by, events);
  }
  if (by == taker.quantity) return false;
  taker.quantity -= by;
  Reduced(taker, by, events);
  return true;
}

// Whether a fill-or-kill taker would trade its whole quantity: the same walk as Match, without
// changing anything, counting only other clients' orders (see SelfTradePrevention).
bool OrderBook::CanFillWhole(const Order& taker, bool market) const {
  const BookSide& other = taker.side == Side::kBuy ? asks_ : bids_;
  Quantity available = 0;
  uint32_t level = other.best;
  while (level != kNil) {
    const Level& l = levels_[level];
    if (!market && (taker.side == Side::kBuy ? taker.price < l.price : taker.price > l.price)) {
      return false;
    }
    for (uint32_t o = l.head; o != kNil; o = orders_[o].next) {
      const Order& maker = orders_[o];
      if (maker.client == taker.client) {
        if (taker.stp == SelfTradePrevention::kCancelOldest) continue;
        return false;
      }
      available += maker.quantity;
      if (available >= taker.quantity) return true;
    }
    level = NextLevel(other, level);
  }
  return false;
}

void OrderBook::Finish(uint32_t index, bool taker_cancelled, std::vector<Event>& events) {
  Order& taker = orders_[index];
  if (taker_cancelled) {
    Cancelled(index, CancelReason::kSelfTrade, events);
    Release(index);
  } else if (taker.quantity == 0) {
    Emit(events, EventKind::kDone, taker.side, taker.id);
    Release(index);
  } else if (taker.tif == TimeInForce::kImmediateOrCancel ||
             taker.tif == TimeInForce::kFillOrKill) {
    Cancelled(index, CancelReason::kUnfilled, events);
    Release(index);
  } else {
    Rest(index);
  }
}

// ---------------------------------------------------------------------------------------------
// Resting orders and levels.
// ---------------------------------------------------------------------------------------------

inline void OrderBook::Rest(uint32_t index) {
  Order& order = orders_[index];
  BookSide& side = side_of(order.side);
  // Find, then insert only if absent, so that a level leaves the pool only when the price needs
  // one (most orders join an existing level). Near the best prices both are a load or two in the
  // ladder's window.
  const auto key = static_cast<uint64_t>(order.price);
  uint32_t level = side.ladder.Find(key);
  if (level == internal::PriceLadder::kAbsent) {
    level = AllocateLevel();
    side.ladder.Insert(key, level);
    levels_[level] = Level{};
    levels_[level].price = order.price;
    if (side.best == kNil || (side.bids ? order.price > levels_[side.best].price
                                        : order.price < levels_[side.best].price)) {
      side.best = level;
    }
  }
  Level& l = levels_[level];
  order.level = level;
  order.prev = l.tail;
  order.next = kNil;
  if (l.tail != kNil) {
    orders_[l.tail].next = index;
  } else {
    l.head = index;
  }
  l.tail = index;
  l.quantity += order.quantity;
  ++l.orders;
}

inline void OrderBook::Unlink(uint32_t index) {
  Order& order = orders_[index];
  Level& l = levels_[order.level];
  if (order.prev != kNil) {
    orders_[order.prev].next = order.next;
  } else {
    l.head = order.next;
  }
  if (order.next != kNil) {
    orders_[order.next].prev = order.prev;
  } else {
    l.tail = order.prev;
  }
  l.quantity -= order.quantity;
  --l.orders;
  if (l.orders == 0) {
    EraseLevel(side_of(order.side), order.level);
    free_levels_.push_back(order.level);
  }
  order.level = kNil;
  order.prev = order.next = kNil;
}

uint32_t OrderBook::AllocateOrder() {
  if (free_orders_.empty()) {
    orders_.emplace_back();
    return static_cast<uint32_t>(orders_.size() - 1);
  }
  const uint32_t index = free_orders_.back();
  free_orders_.pop_back();
  return index;
}

inline uint32_t OrderBook::AllocateLevel() {
  if (free_levels_.empty()) {
    levels_.emplace_back();
    return static_cast<uint32_t>(levels_.size() - 1);
  }
  const uint32_t index = free_levels_.back();
  free_levels_.pop_back();
  return index;
}

inline void OrderBook::Release(uint32_t index) {
  EraseId(orders_[index].id);
  free_orders_.push_back(index);
}

inline void OrderBook::Reduce(uint32_t index, Quantity by) {
  Order& order = orders_[index];
  order.quantity -= by;
  levels_[order.level].quantity -= by;
}

void OrderBook::Reduced(const Order& order, Quantity by, std::vector<Event>& events) {
  Event& e = Emit(events, EventKind::kReduced, order.side, order.id);
  e.cancel = CancelReason::kSelfTrade;
  e.quantity = by;
}

inline void OrderBook::Cancelled(uint32_t index, CancelReason reason, std::vector<Event>& events) {
  const Order& order = orders_[index];
  Event& e = Emit(events, EventKind::kCancelled, order.side, order.id);
  e.cancel = reason;
  e.quantity = order.quantity;
}

uint32_t OrderBook::NextLevel(const BookSide& side, uint32_t level) const {
  const auto key = static_cast<uint64_t>(levels_[level].price);
  const std::optional<uint64_t> next = side.bids ? side.ladder.Below(key) : side.ladder.Above(key);
  return next ? side.ladder.Find(*next) : kNil;
}

void OrderBook::EraseLevel(BookSide& side, uint32_t level) {
  if (side.best == level) side.best = NextLevel(side, level);
  side.ladder.Erase(static_cast<uint64_t>(levels_[level].price));
}

// ---------------------------------------------------------------------------------------------
// The id index.
// ---------------------------------------------------------------------------------------------

// Fibonacci hashing (Knuth's multiplicative method): the top bits of one multiplication, which
// depend on all of the id's bits; consecutive ids (the usual kind) spread evenly over the table.
// Every message hashes an id, and a stronger mixer (MurmurHash3's finalizer) measured slower.
inline size_t OrderBook::IdHome(OrderId id) const {
  return static_cast<size_t>(((id ^ id_seed_) * 0x9e3779b97f4a7c15ULL) >> id_shift_);
}

inline size_t OrderBook::FindIdEntry(OrderId id) const {
  const size_t mask = id_table_.size() - 1;
  // The table is never full, so every probe run ends at an empty entry.
  for (size_t i = IdHome(id);; i = (i + 1) & mask) {
    const uint32_t slot = id_table_[i];
    if (slot == kNil || orders_[slot].id == id) return i;
  }
}

inline uint32_t OrderBook::FindId(OrderId id) const { return id_table_[FindIdEntry(id)]; }

void OrderBook::InsertId(OrderId id, uint32_t slot) {
  if (2 * (size_t{id_count_} + 1) > id_table_.size()) GrowIds();
  const size_t mask = id_table_.size() - 1;
  size_t i = IdHome(id);
  while (id_table_[i] != kNil) i = (i + 1) & mask;
  id_table_[i] = slot;
  ++id_count_;
}

void OrderBook::EraseId(OrderId id) {
  const size_t entry = FindIdEntry(id);
  if (id_table_[entry] != kNil) EraseIdEntry(entry);  // else a taker that never rested
}

void OrderBook::EraseIdEntry(size_t hole) {
  const size_t mask = id_table_.size() - 1;
  // Backward shift: each later entry of the probe run whose home is not after the hole moves
  // into it (its probe from home would otherwise stop at the hole), leaving a new hole behind.
  for (size_t j = (hole + 1) & mask; id_table_[j] != kNil; j = (j + 1) & mask) {
    const size_t home = IdHome(orders_[id_table_[j]].id);
    if (((j - home) & mask) >= ((j - hole) & mask)) {
      id_table_[hole] = id_table_[j];
      hole = j;
    }
  }
  id_table_[hole] = kNil;
  --id_count_;
}

void OrderBook::GrowIds() {
  std::vector<uint32_t> old(2 * id_table_.size(), kNil);
  old.swap(id_table_);
  --id_shift_;
  const size_t mask = id_table_.size() - 1;
  for (const uint32_t slot : old) {
    if (slot == kNil) continue;
    size_t i = IdHome(orders_[slot].id);
    while (id_table_[i] != kNil) i = (i + 1) & mask;
    id_table_[i] = slot;
  }
}

// ---------------------------------------------------------------------------------------------
// Market data.
// ---------------------------------------------------------------------------------------------

inline Quote OrderBook::BestOf(const BookSide& side) const {
  if (side.best == kNil) return {};
  const Level& l = levels_[side.best];
  return {l.price, l.quantity};
}

Quote OrderBook::best_bid() const { return BestOf(bids_); }
Quote OrderBook::best_ask() const { return BestOf(asks_); }

inline void OrderBook::ReportBestBidOffer(std::vector<Event>& events) {
  const Quote bid = BestOf(bids_);
  const Quote ask = BestOf(asks_);
  if (bid == last_bid_ && ask == last_ask_) return;
  last_bid_ = bid;
  last_ask_ = ask;
  Event& e = Emit(events, EventKind::kBestBidOffer, Side::kBuy, 0);
  e.bid = bid;
  e.ask = ask;
}

void OrderBook::Depth(Side side, size_t max_levels, std::vector<LevelView>& out) const {
  out.clear();
  const BookSide& s = side_of(side);
  uint32_t level = s.best;
  while (level != kNil && out.size() < max_levels) {
    const Level& l = levels_[level];
    out.push_back({l.price, l.quantity, l.orders});
    level = NextLevel(s, level);
  }
}

template <typename Fn>
void OrderBook::ForEachResting(Side side, Fn&& fn) const {
  const BookSide& s = side_of(side);
  uint32_t level = s.best;
  while (level != kNil) {
    const Level& l = levels_[level];
    for (uint32_t o = l.head; o != kNil; o = orders_[o].next) fn(orders_[o]);
    level = NextLevel(s, level);
  }
}

std::vector<RestingOrder> OrderBook::Orders(Side side) const {
  std::vector<RestingOrder> out;
  ForEachResting(side, [&](const Order& o) {
    out.push_back({o.id, o.client, o.side, o.tif, o.price, o.quantity, o.stp});
  });
  return out;
}

std::optional<RestingOrder> OrderBook::Find(OrderId id) const {
  const uint32_t index = FindId(id);
  if (index == kNil) return std::nullopt;
  const Order& o = orders_[index];
  return RestingOrder{o.id, o.client, o.side, o.tif, o.price, o.quantity, o.stp};
}

size_t OrderBook::level_count(Side side) const { return side_of(side).ladder.size(); }

uint64_t OrderBook::StateHash() const {
  uint64_t h = 0;
  for (const Side side : {Side::kBuy, Side::kSell}) {
    ForEachResting(side, [&](const Order& o) {
      for (const uint64_t field : {o.id, o.client, static_cast<uint64_t>(o.price),
                                   static_cast<uint64_t>(o.quantity), static_cast<uint64_t>(o.side),
                                   static_cast<uint64_t>(o.tif), static_cast<uint64_t>(o.stp)}) {
        h = base::HashInt(field, h);
      }
    });
    h = base::HashInt(uint64_t{0xfeed}, h);  // the boundary between the sides
  }
  return h;
}

size_t OrderBook::memory_bytes() const {
  return orders_.capacity() * sizeof(Order) + free_orders_.capacity() * sizeof(uint32_t) +
         levels_.capacity() * sizeof(Level) + free_levels_.capacity() * sizeof(uint32_t) +
         id_table_.capacity() * sizeof(uint32_t) + bids_.ladder.memory_bytes() +
         asks_.ladder.memory_bytes();
}

}  // namespace keel::market
