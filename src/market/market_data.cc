// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/market/market_data.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::market {

using internal::PriceLadder;

namespace {

constexpr size_t Index(Side side) { return side == Side::kBuy ? 0 : 1; }
constexpr uint64_t Key(Price price) { return static_cast<uint64_t>(price); }

bool ValidQuantity(Quantity q) { return q >= 1 && q <= kMaxQuantity; }
bool ValidPrice(Price p) { return p >= 1 && p <= kMaxPrice; }

// A disagreement between an event and the book built from the events before it.
template <typename... Args>
absl::Status Inconsistent(const EngineEvent& e, const Args&... what) {
  return absl::DataLossError(base::Cat("market data: event ", e.sequence, " (",
                                       EventKindName(e.event.kind), " of order ", e.event.order_id,
                                       "): ", what...));
}

template <typename... Args>
absl::Status BadOption(std::string_view name, int64_t value, const Args&... range) {
  return absl::InvalidArgumentError(
      base::Cat("MarketDataOptions::", name, " is ", value, "; it must be ", range...));
}

}  // namespace

absl::StatusOr<MarketDataPublisher> MarketDataPublisher::Create(const MarketDataOptions& options) {
  if (options.candle_interval_ns < 1 || options.candle_interval_ns > kMaxCandleIntervalNs) {
    return BadOption("candle_interval_ns", options.candle_interval_ns, "1 to ",
                     kMaxCandleIntervalNs, " (a week)");
  }
  if (options.candle_history < 1 || options.candle_history > kMaxCandleHistory) {
    return BadOption("candle_history", options.candle_history, "1 to ", kMaxCandleHistory);
  }
  if (options.max_symbols < 1 || options.max_symbols > (uint32_t{1} << 20)) {
    return BadOption("max_symbols", options.max_symbols, "1 to ", uint32_t{1} << 20);
  }
  if (options.max_orders < 1 || options.max_orders > kMaxOrders) {
    return BadOption("max_orders", options.max_orders, "1 to ", kMaxOrders);
  }
  return MarketDataPublisher(options);
}

// ---------------------------------------------------------------------------------------------
// Applying events.
// ---------------------------------------------------------------------------------------------

absl::Status MarketDataPublisher::Apply(std::span<const EngineEvent> events, int64_t time_ns) {
  if (!status_.ok()) return status_;
  // A bad time changes nothing, so it is not sticky.
  if (time_ns < 0) {
    return absl::InvalidArgumentError(base::Cat("market data: time ", time_ns, " ns is negative"));
  }
  if (time_ns < time_ns_) {
    return absl::InvalidArgumentError(base::Cat(
        "market data: time ", time_ns, " ns is before the last batch's ", time_ns_, " ns"));
  }
  time_ns_ = time_ns;
  for (const EngineEvent& e : events) {
    if (absl::Status s = ApplyOne(e); !s.ok()) {
      status_ = std::move(s);
      return status_;
    }
    ++next_sequence_;
  }
  if (absl::Status s = Settle(next_sequence_ - 1); !s.ok()) {
    status_ = std::move(s);
    return status_;
  }
  return absl::OkStatus();
}

absl::Status MarketDataPublisher::ApplyOne(const EngineEvent& e) {
  if (e.sequence != next_sequence_) {
    return absl::DataLossError(base::Cat("market data: event sequence ", e.sequence, " where ",
                                         next_sequence_,
                                         " was expected (a gap, or events out of order)"));
  }
  // A rejected command changed nothing (and belongs to no symbol); it only ends the command
  // before it.
  if (e.event.kind == EventKind::kRejected) return Settle(e.sequence - 1);
  if (e.symbol == kNoSymbol) return Inconsistent(e, "it names no symbol");
  if (e.symbol >= options_.max_symbols) {
    return absl::ResourceExhaustedError(base::Cat("market data: event ", e.sequence,
                                                  " is for symbol index ", e.symbol,
                                                  ", beyond max_symbols ", options_.max_symbols));
  }
  switch (e.event.kind) {
    case EventKind::kAccepted:
      return OnAccepted(e);
    case EventKind::kModified:
      return OnModified(e);
    case EventKind::kCancelled:
      return OnCancelled(e);
    case EventKind::kDone:
      return OnDone(e);
    case EventKind::kTrade:
      return OnTrade(e);
    case EventKind::kReduced:
      return OnReduced(e);
    case EventKind::kBestBidOffer:
      return OnBestBidOffer(e);
    case EventKind::kRejected:
      break;
  }
  return Inconsistent(e, "unknown event kind ", static_cast<int>(e.event.kind));
}

absl::Status MarketDataPublisher::Settle(uint64_t sequence) {
  if (!pending_) return absl::OkStatus();
  const auto it = orders_.find(*pending_);
  KEEL_ASSERT(it != orders_.end(), "the order being matched is not tracked");
  TrackedOrder& order = it->second;
  if (order.quantity == 0 || order.price == 0) {
    // Filled without a done event, or a market order (price 0) that would rest.
    return absl::DataLossError(base::Cat(
        "market data: order ", it->first, " has ", order.quantity, " open at price ", order.price,
        " when its command's events end at event ", sequence, ", but it cannot rest"));
  }
  Book& book = BookOf(order.symbol);
  if (book.orders > options_.max_orders) {
    return absl::ResourceExhaustedError(base::Cat(
        "market data: order ", it->first, " would rest beyond max_orders ", options_.max_orders,
        " in symbol ", order.symbol, " (its command's events end at event ", sequence, ")"));
  }
  AddToLevel(book, order);
  order.resting = true;
  pending_.reset();
  return absl::OkStatus();
}

absl::StatusOr<MarketDataPublisher::TrackedOrder*> MarketDataPublisher::Live(const EngineEvent& e,
                                                                             const char* what) {
  const auto it = orders_.find(e.event.order_id);
  if (it == orders_.end()) return Inconsistent(e, what, " of an order that is not live");
  TrackedOrder& order = it->second;
  if (order.symbol != e.symbol || order.side != e.event.side) {
    return Inconsistent(e, "the order is on symbol ", order.symbol, " side ",
                        static_cast<int>(order.side), ", not ", e.symbol, " side ",
                        static_cast<int>(e.event.side));
  }
  return &order;
}

absl::Status MarketDataPublisher::OnAccepted(const EngineEvent& e) {
  KEEL_RETURN_IF_ERROR(Settle(e.sequence - 1));
  const Event& ev = e.event;
  if (orders_.contains(ev.order_id)) return Inconsistent(e, "the order id is already live");
  if (!ValidQuantity(ev.quantity) || ev.price < 0 || ev.price > kMaxPrice) {
    return Inconsistent(e, "price ", ev.price, " or quantity ", ev.quantity, " out of range");
  }
  // The limit is on resting orders, as the engine's is: a book that holds max_orders still
  // matches an order that will not rest (IOC, FOK, market), so the one matching is counted beyond
  // it here, and Settle refuses an order that would rest beyond it.
  Book& book = BookOf(e.symbol);
  KEEL_ASSERT(book.orders <= options_.max_orders, "more orders rest than max_orders");
  ++book.orders;
  orders_.emplace(ev.order_id, TrackedOrder{.price = ev.price,
                                            .quantity = ev.quantity,
                                            .symbol = e.symbol,
                                            .side = ev.side,
                                            .resting = false});
  pending_ = ev.order_id;
  return absl::OkStatus();
}

absl::Status MarketDataPublisher::OnModified(const EngineEvent& e) {
  KEEL_RETURN_IF_ERROR(Settle(e.sequence - 1));
  KEEL_ASSIGN_OR_RETURN(TrackedOrder * order, Live(e, "a modify"));
  const Event& ev = e.event;
  if (!ValidPrice(ev.price) || !ValidQuantity(ev.quantity)) {
    return Inconsistent(e, "price ", ev.price, " or quantity ", ev.quantity, " out of range");
  }
  // Whether it keeps its place or goes to the back does not change L2; it rejoins its (new)
  // level when its command's events end, after any trades it makes as the taker.
  RemoveFromLevel(*books_[order->symbol], *order);
  order->price = ev.price;
  order->quantity = ev.quantity;
  order->resting = false;
  pending_ = ev.order_id;
  return absl::OkStatus();
}

absl::Status MarketDataPublisher::OnCancelled(const EngineEvent& e) {
  const Event& ev = e.event;
  if (ev.cancel == CancelReason::kRequested) {
    KEEL_RETURN_IF_ERROR(Settle(e.sequence - 1));
  } else if (!pending_) {
    return Inconsistent(e, "cancelled (", CancelReasonName(ev.cancel),
                        ") while no order is matching");
  }
  KEEL_ASSIGN_OR_RETURN(TrackedOrder * order, Live(e, "a cancellation"));
  const bool taker = pending_ && *pending_ == ev.order_id;
  if (!taker && !order->resting) return Inconsistent(e, "the order is not resting");
  if (order->quantity != ev.quantity) {
    return Inconsistent(e, "cancelled with ", ev.quantity, " left, but it had ", order->quantity);
  }
  if (order->resting) RemoveFromLevel(*books_[order->symbol], *order);
  if (taker) pending_.reset();
  Forget(ev.order_id, *order);
  return absl::OkStatus();
}

absl::Status MarketDataPublisher::OnDone(const EngineEvent& e) {
  KEEL_ASSIGN_OR_RETURN(TrackedOrder * order, Live(e, "done"));
  if (order->quantity != 0) return Inconsistent(e, "done with ", order->quantity, " still open");
  const bool taker = pending_ && *pending_ == e.event.order_id;
  if (!taker && !order->resting) return Inconsistent(e, "the order is not resting");
  if (order->resting) RemoveFromLevel(*books_[order->symbol], *order);
  if (taker) pending_.reset();
  Forget(e.event.order_id, *order);
  return absl::OkStatus();
}

absl::Status MarketDataPublisher::OnTrade(const EngineEvent& e) {
  const Event& ev = e.event;
  if (!pending_ || *pending_ != ev.order_id) {
    return Inconsistent(e, "the taker is not the order its command accepted or modified");
  }
  KEEL_ASSIGN_OR_RETURN(TrackedOrder * taker, Live(e, "a trade"));
  const auto it = orders_.find(ev.maker_id);
  if (it == orders_.end()) {
    return Inconsistent(e, "maker ", ev.maker_id, " is not a live order");
  }
  TrackedOrder& maker = it->second;
  if (!maker.resting || maker.symbol != e.symbol || maker.side == ev.side) {
    return Inconsistent(e, "maker ", ev.maker_id, " is not resting on the other side of the book");
  }
  if (maker.price != ev.price) {
    return Inconsistent(e, "trade at ", ev.price, " but maker ", ev.maker_id, " rests at ",
                        maker.price);
  }
  if (ev.quantity < 1 || ev.quantity > maker.quantity || ev.quantity > taker->quantity) {
    return Inconsistent(e, "trade of ", ev.quantity, " but the taker has ", taker->quantity,
                        " and maker ", ev.maker_id, " has ", maker.quantity);
  }
  Book& book = *books_[e.symbol];
  const int64_t start = time_ns_ / options_.candle_interval_ns * options_.candle_interval_ns;
  if (book.candle_count > 0) {
    const Candle& last = book.candles[(book.first + book.candle_count - 1) % book.candles.size()];
    if (last.start_ns == start &&
        last.volume > std::numeric_limits<Quantity>::max() - ev.quantity) {
      return absl::OutOfRangeError(base::Cat("market data: event ", e.sequence,
                                             " overflows the volume of symbol ", e.symbol,
                                             "'s candle at ", start, " ns"));
    }
  }
  LevelOf(book, maker).quantity -= ev.quantity;
  maker.quantity -= ev.quantity;  // a filled maker stays counted until its done event
  taker->quantity -= ev.quantity;
  AddTrade(book, ev.price, ev.quantity);
  return absl::OkStatus();
}

absl::Status MarketDataPublisher::OnReduced(const EngineEvent& e) {
  if (!pending_) return Inconsistent(e, "reduced while no order is matching");
  KEEL_ASSIGN_OR_RETURN(TrackedOrder * order, Live(e, "a reduction"));
  const bool taker = *pending_ == e.event.order_id;
  if (!taker && !order->resting) return Inconsistent(e, "the order is not resting");
  const Quantity by = e.event.quantity;
  if (by < 1 || by >= order->quantity) {
    return Inconsistent(e, "reduced by ", by, " but it has ", order->quantity,
                        " (a reduction to zero is a cancellation)");
  }
  if (order->resting) LevelOf(*books_[order->symbol], *order).quantity -= by;
  order->quantity -= by;
  return absl::OkStatus();
}

absl::Status MarketDataPublisher::OnBestBidOffer(const EngineEvent& e) {
  // The engine reports the best bid and offer after everything else its command did, the taker
  // rested: it is the end of the command, and a check of the book built so far.
  KEEL_RETURN_IF_ERROR(Settle(e.sequence - 1));
  const Quote bid = best_bid(e.symbol);
  const Quote ask = best_ask(e.symbol);
  if (bid != e.event.bid || ask != e.event.ask) {
    return Inconsistent(e, "best bid ", e.event.bid.price, " x ", e.event.bid.quantity,
                        " and offer ", e.event.ask.price, " x ", e.event.ask.quantity,
                        ", but the book built from the events has ", bid.price, " x ", bid.quantity,
                        " and ", ask.price, " x ", ask.quantity);
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Books and candles.
// ---------------------------------------------------------------------------------------------

MarketDataPublisher::Book& MarketDataPublisher::BookOf(uint32_t symbol) {
  KEEL_ASSERT(symbol < options_.max_symbols, "symbol index beyond max_symbols");
  if (symbol >= books_.size()) books_.resize(size_t{symbol} + 1);
  if (books_[symbol] == nullptr) books_[symbol] = std::make_unique<Book>();
  return *books_[symbol];
}

void MarketDataPublisher::Forget(OrderId id, const TrackedOrder& order) {
  Book& book = *books_[order.symbol];
  KEEL_ASSERT(book.orders > 0, "a symbol's tracked orders miscounted");
  --book.orders;
  orders_.erase(id);
}

const MarketDataPublisher::Book* MarketDataPublisher::FindBook(uint32_t symbol) const {
  return symbol < books_.size() ? books_[symbol].get() : nullptr;
}

MarketDataPublisher::Level& MarketDataPublisher::LevelOf(Book& book, const TrackedOrder& order) {
  const uint32_t index = book.ladders[Index(order.side)].Find(Key(order.price));
  KEEL_ASSERT(index != PriceLadder::kAbsent, "a resting order's level is missing");
  return book.levels[index];
}

void MarketDataPublisher::AddToLevel(Book& book, const TrackedOrder& order) {
  const auto fresh = static_cast<uint32_t>(book.free_levels.empty() ? book.levels.size()
                                                                    : book.free_levels.back());
  const uint32_t index = book.ladders[Index(order.side)].FindOrInsert(Key(order.price), fresh);
  if (index == fresh) {
    if (book.free_levels.empty()) {
      book.levels.emplace_back();
    } else {
      book.free_levels.pop_back();
    }
    book.levels[index] = Level{};
  }
  Level& level = book.levels[index];
  level.quantity += order.quantity;
  ++level.orders;
}

void MarketDataPublisher::RemoveFromLevel(Book& book, const TrackedOrder& order) {
  PriceLadder& ladder = book.ladders[Index(order.side)];
  const uint32_t index = ladder.Find(Key(order.price));
  KEEL_ASSERT(index != PriceLadder::kAbsent, "a resting order's level is missing");
  Level& level = book.levels[index];
  level.quantity -= order.quantity;
  --level.orders;
  KEEL_ASSERT(level.quantity >= 0 && (level.orders > 0 || level.quantity == 0),
              "a level's quantity disagrees with its orders'");
  if (level.orders == 0) {
    ladder.Erase(Key(order.price));
    book.free_levels.push_back(index);
  }
}

Quote MarketDataPublisher::BestOf(const Book& book, Side side) {
  const PriceLadder& ladder = book.ladders[Index(side)];
  if (ladder.empty()) return {};
  const uint64_t key = side == Side::kBuy ? ladder.Last() : ladder.First();
  return {static_cast<Price>(key), book.levels[ladder.Find(key)].quantity};
}

void MarketDataPublisher::AddTrade(Book& book, Price price, Quantity quantity) {
  const int64_t start = time_ns_ / options_.candle_interval_ns * options_.candle_interval_ns;
  if (book.candles.empty()) book.candles.resize(options_.candle_history);
  const size_t capacity = book.candles.size();
  if (book.candle_count > 0) {
    Candle& last = book.candles[(book.first + book.candle_count - 1) % capacity];
    if (last.start_ns == start) {
      last.high = std::max(last.high, price);
      last.low = std::min(last.low, price);
      last.close = price;
      last.volume += quantity;
      ++last.trades;
      return;
    }
    KEEL_ASSERT(last.start_ns < start, "time went backwards");
  }
  if (book.candle_count == capacity) {  // the ring is full: the oldest candle goes
    book.first = (book.first + 1) % capacity;
    --book.candle_count;
  }
  book.candles[(book.first + book.candle_count) % capacity] = Candle{.start_ns = start,
                                                                     .open = price,
                                                                     .high = price,
                                                                     .low = price,
                                                                     .close = price,
                                                                     .volume = quantity,
                                                                     .trades = 1};
  ++book.candle_count;
}

// ---------------------------------------------------------------------------------------------
// Queries.
// ---------------------------------------------------------------------------------------------

Quote MarketDataPublisher::best_bid(uint32_t symbol) const {
  const Book* book = FindBook(symbol);
  return book == nullptr ? Quote{} : BestOf(*book, Side::kBuy);
}

Quote MarketDataPublisher::best_ask(uint32_t symbol) const {
  const Book* book = FindBook(symbol);
  return book == nullptr ? Quote{} : BestOf(*book, Side::kSell);
}

void MarketDataPublisher::Depth(uint32_t symbol, Side side, size_t max_levels,
                                std::vector<LevelView>& out) const {
  out.clear();
  const Book* book = FindBook(symbol);
  if (book == nullptr) return;
  const PriceLadder& ladder = book->ladders[Index(side)];
  if (ladder.empty() || max_levels == 0) return;
  std::optional<uint64_t> key = side == Side::kBuy ? ladder.Last() : ladder.First();
  while (key && out.size() < max_levels) {
    const Level& level = book->levels[ladder.Find(*key)];
    out.push_back({static_cast<Price>(*key), level.quantity, level.orders});
    key = side == Side::kBuy ? ladder.Below(*key) : ladder.Above(*key);
  }
}

void MarketDataPublisher::Snapshot(uint32_t symbol, size_t max_levels, L2Snapshot& out) const {
  out.symbol = symbol;
  out.sequence = next_sequence_ - 1;
  out.time_ns = time_ns_;
  Depth(symbol, Side::kBuy, max_levels, out.bids);
  Depth(symbol, Side::kSell, max_levels, out.asks);
}

void MarketDataPublisher::Candles(uint32_t symbol, int64_t from_ns, int64_t to_ns,
                                  std::vector<Candle>& out) const {
  out.clear();
  const Book* book = FindBook(symbol);
  if (book == nullptr) return;
  for (size_t i = 0; i < book->candle_count; ++i) {
    const Candle& c = book->candles[(book->first + i) % book->candles.size()];
    if (c.start_ns >= from_ns && c.start_ns < to_ns) out.push_back(c);
  }
}

std::optional<Candle> MarketDataPublisher::LastCandle(uint32_t symbol) const {
  const Book* book = FindBook(symbol);
  if (book == nullptr || book->candle_count == 0) return std::nullopt;
  return book->candles[(book->first + book->candle_count - 1) % book->candles.size()];
}

absl::Status FillEmptyIntervals(std::span<const Candle> sparse, int64_t interval_ns,
                                size_t max_candles, std::vector<Candle>& out) {
  out.clear();
  if (interval_ns < 1 || interval_ns > kMaxCandleIntervalNs) {
    return absl::InvalidArgumentError(base::Cat("FillEmptyIntervals: interval ", interval_ns,
                                                " ns is not 1 to ", kMaxCandleIntervalNs));
  }
  for (size_t i = 0; i < sparse.size(); ++i) {
    const Candle& c = sparse[i];
    if (c.start_ns < 0 || c.start_ns % interval_ns != 0) {
      return absl::InvalidArgumentError(base::Cat("FillEmptyIntervals: candle ", i, " starts at ",
                                                  c.start_ns, " ns, not a multiple of ",
                                                  interval_ns, " ns"));
    }
    // Gaps before this candle, counted before any is added so that a huge gap cannot run long.
    uint64_t gaps = 0;
    if (i > 0) {
      const Candle& prev = sparse[i - 1];
      if (c.start_ns <= prev.start_ns) {
        return absl::InvalidArgumentError(
            base::Cat("FillEmptyIntervals: candle ", i, " starts at ", c.start_ns,
                      " ns, not after the one before it (", prev.start_ns, " ns)"));
      }
      gaps = static_cast<uint64_t>((c.start_ns - prev.start_ns) / interval_ns) - 1;
    }
    if (gaps >= max_candles || out.size() + gaps >= max_candles) {
      out.clear();
      return absl::OutOfRangeError(base::Cat("FillEmptyIntervals: the series would hold more than ",
                                             max_candles, " candles"));
    }
    const Price close = out.empty() ? 0 : out.back().close;
    for (uint64_t g = 1; g <= gaps; ++g) {
      const int64_t start = sparse[i - 1].start_ns + static_cast<int64_t>(g) * interval_ns;
      out.push_back({.start_ns = start,
                     .open = close,
                     .high = close,
                     .low = close,
                     .close = close,
                     .volume = 0,
                     .trades = 0});
    }
    out.push_back(c);
  }
  return absl::OkStatus();
}

}  // namespace keel::market
