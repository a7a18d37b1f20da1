// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// OrderBook: one symbol's limit order book and its matching engine, with price-time priority.
//
// Resting orders wait on two sides: bids (buy orders) best first by highest price, asks (sell
// orders) best first by lowest price, and within a price level first come, first served. An
// incoming order that crosses the other side's best price trades against it as the taker, level by
// level and order by order, always at the resting (maker) order's price; what is left then rests
// (GTC, post-only) or is cancelled (IOC, market). A fill-or-kill order trades its whole quantity or
// nothing, leaving the book as it was. Prices are integer ticks and quantities integer lots: no
// floating point anywhere.
//
// Everything that happens is reported as Events, appended to a vector the caller owns and reuses:
// accepted, rejected (with a reason), trade (maker, taker, price, quantity), modified, cancelled
// (with the quantity left and why), done (an order filled completely), and the best bid and offer
// whenever either changes. Bad input never fails the book: it is a rejected event, and the book
// is unchanged.
//
// The structure follows the case study's: a doubly linked list of orders per price level, so that
// cancelling any order is O(1) given its id (a hash map from order id to order). The levels of each
// side are found through a price ladder (internal/price_ladder.h): a direct-mapped window of the
// 2,048 prices around where the side trades (a price's level is one load, the next non-empty price
// a count of zeros in a bitmap word), backed by a 64-ary bitmap trie for prices outside it, where
// the same queries cost a few word operations whatever the spread of prices. Orders and levels live
// in pools that grow to the book's largest size and are reused from then on, so after warm-up
// nothing is allocated per message (BookOptions says how much to allocate up front, and max_orders
// is a limit).
//
// Behaviour is deterministic: the same commands in the same order give the same events and the
// same StateHash(), which is what lets a sequenced command log rebuild the book (event sourcing)
// and a warm standby follow the primary.
//
// Example:
//
//   keel::market::OrderBook book({});
//   std::vector<keel::market::Event> events;
//   book.Submit({.id = 1, .client = 7, .side = keel::market::Side::kSell, .price = 101,
//                .quantity = 10}, events);
//   book.Submit({.id = 2, .client = 8, .side = keel::market::Side::kBuy, .price = 102,
//                .quantity = 4}, events);
//   // events: accepted 1, best bid/offer, accepted 2, trade (maker 1, taker 2, 101 x 4),
//   // done 2, best bid/offer. Order 1 rests with 6 left.
//
// Not thread-safe, not even for const methods (the price index caches its last lookup): one
// thread drives a book, as the case study's single-threaded matching engine does, and the
// sequencer in front of it orders the commands.
#ifndef KEEL_MARKET_ORDER_BOOK_H_
#define KEEL_MARKET_ORDER_BOOK_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "keel/market/internal/price_ladder.h"

namespace keel::market {

using OrderId = uint64_t;
using ClientId = uint64_t;
using Price = int64_t;     // ticks
using Quantity = int64_t;  // lots

// Limits, so that no sum can overflow: a level's total is at most kMaxOrders * kMaxQuantity.
inline constexpr Price kMaxPrice = (Price{1} << 48) - 1;
inline constexpr Quantity kMaxQuantity = Quantity{1} << 40;
inline constexpr uint32_t kMaxOrders = uint32_t{1} << 22;

enum class Side : uint8_t { kBuy, kSell };
enum class OrderType : uint8_t { kLimit, kMarket };

// GTC rests until filled or cancelled; IOC trades what it can now and cancels the rest; FOK
// trades its whole quantity now or nothing; post-only rests without trading, and is rejected if it
// would cross.
enum class TimeInForce : uint8_t { kGoodTillCancel, kImmediateOrCancel, kFillOrKill, kPostOnly };

// What happens when an incoming order (the taker) meets a resting order of the same client (the
// maker), chosen by the taker. kCancelNewest: the taker's remainder is cancelled. kCancelOldest:
// the maker is cancelled and matching goes on. kCancelBoth: both. kDecrement: both quantities are
// reduced by the smaller one without a trade, and whichever reaches zero is cancelled; matching
// goes on while the taker has quantity left (an order reduced but not to zero gets kReduced). A
// fill-or-kill taker is filled only by other clients'
// orders: under kCancelOldest it passes its own orders by (cancelling them), under any other mode
// its own order stops it, and if it cannot be filled whole it is killed before anything happens.
enum class SelfTradePrevention : uint8_t { kCancelNewest, kCancelOldest, kCancelBoth, kDecrement };

struct NewOrder {
  OrderId id = 0;
  ClientId client = 0;
  Side side = Side::kBuy;
  OrderType type = OrderType::kLimit;
  TimeInForce tif = TimeInForce::kGoodTillCancel;
  SelfTradePrevention stp = SelfTradePrevention::kCancelNewest;
  Price price = 0;        // 1 to kMaxPrice for a limit order; ignored for a market order
  Quantity quantity = 0;  // 1 to kMaxQuantity
};

enum class EventKind : uint8_t {
  kAccepted,      // order_id entered the book's matching (price as given, 0 for a market
                  // order; quantity as given)
  kRejected,      // order_id's command changed nothing (reject says why)
  kTrade,         // maker_id and order_id (the taker) traded quantity at price (the maker's)
  kModified,      // order_id now has price and quantity (open), modified by its owner
  kCancelled,     // order_id left the book with quantity unfilled (cancel says why)
  kDone,          // order_id was filled completely
  kBestBidOffer,  // the best bid or offer changed: bid and ask (quantity 0: that side is empty)
  kReduced,       // order_id's open quantity was reduced by quantity without a trade (cancel
                  // says why: kSelfTrade, the decrement mode) and the order goes on: a maker
                  // keeps its place, a taker keeps matching
};

enum class RejectReason : uint8_t {
  kNone,
  kDuplicateOrderId,  // a new order's id is already resting (or, in an engine, was ever accepted)
  kUnknownOrder,      // cancel or modify of an order that is not resting
  kBadQuantity,       // not in 1 to kMaxQuantity
  kBadPrice,          // a limit price not in 1 to kMaxPrice
  kBadOrderType,      // a post-only market order
  kWouldCross,        // a post-only order (new or modified) that would cross the other side's
                      // best price (even if that order is its own client's)
  kBookFull,          // max_orders orders rest already
  kBadSymbol,         // (MatchingEngine) not a valid symbol name
  kTooManySymbols,    // (MatchingEngine) a new symbol beyond EngineOptions::max_symbols
  kMalformed,         // (MatchingEngine) input that could not be read as a command
};

enum class CancelReason : uint8_t {
  kNone,
  kRequested,  // Cancel()
  kUnfilled,   // the remainder of an IOC or market order, or a killed fill-or-kill order
  kSelfTrade,  // self-trade prevention
};

struct Quote {
  Price price = 0;
  Quantity quantity = 0;  // 0: no order on this side (price is then 0)

  friend bool operator==(const Quote&, const Quote&) = default;
};

// The fields an event kind does not use are zero (and side kBuy): a cancellation has no price, a
// rejection no price or quantity, done neither, a best bid and offer only `bid` and `ask`.
struct Event {
  EventKind kind = EventKind::kAccepted;
  Side side = Side::kBuy;  // order_id's side (kBuy for a cancel or modify of an unknown id)
  RejectReason reject = RejectReason::kNone;
  CancelReason cancel = CancelReason::kNone;
  OrderId order_id = 0;   // the order; for a trade, the taker
  OrderId maker_id = 0;   // trades only
  Price price = 0;        // accepted, modified, trade (the maker's price)
  Quantity quantity = 0;  // accepted, modified (open), trade, cancelled (what was left unfilled)
  Quote bid;              // kBestBidOffer only
  Quote ask;

  friend bool operator==(const Event&, const Event&) = default;
};

// The names used in logs and in the replay format: "accepted", "duplicate_order_id", ...
[[nodiscard]] std::string_view EventKindName(EventKind kind);
[[nodiscard]] std::string_view RejectReasonName(RejectReason reason);
[[nodiscard]] std::string_view CancelReasonName(CancelReason reason);

// One price level, as market data shows it (L2).
struct LevelView {
  Price price = 0;
  Quantity quantity = 0;  // the sum of its orders' open quantities
  uint32_t orders = 0;

  friend bool operator==(const LevelView&, const LevelView&) = default;
};

// One resting order (L3).
struct RestingOrder {
  OrderId id = 0;
  ClientId client = 0;
  Side side = Side::kBuy;
  TimeInForce tif = TimeInForce::kGoodTillCancel;
  Price price = 0;
  Quantity quantity = 0;  // open
  SelfTradePrevention stp = SelfTradePrevention::kCancelNewest;

  friend bool operator==(const RestingOrder&, const RestingOrder&) = default;
};

struct BookOptions {
  // Resting orders at most (1 to kMaxOrders). While the book holds that many, every new GTC or
  // post-only limit order is rejected (kBookFull), even one that would fill at once: whether it
  // would is only known by matching it, and a rejection must leave the book as it was.
  uint32_t max_orders = 1 << 20;
  // Orders (and levels) the pools hold from the start; they grow beyond it as needed, up to
  // max_orders. A book that never holds more allocates nothing after construction.
  uint32_t initial_orders = 1 << 12;
};

class OrderBook {
 public:
  // REQUIRES: 1 <= options.max_orders <= kMaxOrders (checked: a bad value stops the program, as
  // it is the caller's configuration, not input).
  explicit OrderBook(const BookOptions& options);

  OrderBook(const OrderBook&) = delete;
  OrderBook& operator=(const OrderBook&) = delete;
  OrderBook(OrderBook&&) = default;
  OrderBook& operator=(OrderBook&&) = default;

  // The three commands. Each appends its events to `events` (which it never clears).
  void Submit(const NewOrder& order, std::vector<Event>& events);
  // The checks of a new order that need no book: kBadQuantity, kBadPrice, kBadOrderType, in that
  // order, or kNone. Submit makes them first.
  [[nodiscard]] static RejectReason CheckNewOrder(const NewOrder& order);
  void Cancel(OrderId id, std::vector<Event>& events);
  // Sets a resting order's price and open quantity (at least 1). The same price and a smaller
  // quantity keeps its place in the queue; anything else loses it, as a new order would, and an
  // order that now crosses trades as the taker (a post-only order is rejected instead and stays
  // as it was). Modifying to the same price and quantity changes nothing but is reported.
  void Modify(OrderId id, Price price, Quantity quantity, std::vector<Event>& events);

  // Rebuilding a book from a snapshot (keel/market/snapshot.h): `order` rests as the newest order
  // at its price, behind those there, without matching and without events. Giving a book the
  // orders Orders() listed, in that order, rebuilds the same book. Returns false, changing
  // nothing, for an order no book of these options could hold at rest: an id resting already, a
  // bad price or quantity, a time in force other than GTC or post-only, an enum out of range, a
  // price at or through the other side's best, or a full book.
  [[nodiscard]] bool RestoreOrder(const RestingOrder& order);

  [[nodiscard]] Quote best_bid() const;
  [[nodiscard]] Quote best_ask() const;

  // L2: the best `max_levels` levels of a side, best first (replacing `out`'s contents).
  void Depth(Side side, size_t max_levels, std::vector<LevelView>& out) const;
  // L3: every resting order of a side, in priority order (best price first, then time).
  [[nodiscard]] std::vector<RestingOrder> Orders(Side side) const;
  [[nodiscard]] std::optional<RestingOrder> Find(OrderId id) const;

  [[nodiscard]] size_t order_count() const { return id_count_; }
  [[nodiscard]] size_t level_count(Side side) const;
  // A hash of every resting order in priority order (ids, clients, prices, quantities, sides, time
  // in force, self-trade modes):
  // equal books have equal hashes, whatever happened to them.
  [[nodiscard]] uint64_t StateHash() const;
  // Bytes held by the book's pools and maps.
  [[nodiscard]] size_t memory_bytes() const;

 private:
  static constexpr uint32_t kNil = UINT32_MAX;

  // 47 bytes of fields, aligned to a cache line: at 48 bytes half the orders would straddle two
  // lines, and a cancel or modify, which reads an order picked at random, would miss the cache
  // twice for those (docs/benchmarks.md has what the alignment saved).
  struct alignas(64) Order {
    OrderId id = 0;
    ClientId client = 0;
    Price price = 0;
    Quantity quantity = 0;  // open
    uint32_t prev = kNil;   // towards the level's head (older)
    uint32_t next = kNil;   // towards its tail (newer)
    uint32_t level = kNil;
    Side side = Side::kBuy;
    TimeInForce tif = TimeInForce::kGoodTillCancel;
    SelfTradePrevention stp = SelfTradePrevention::kCancelNewest;
  };
  struct Level {
    Price price = 0;
    Quantity quantity = 0;
    uint32_t orders = 0;
    uint32_t head = kNil;
    uint32_t tail = kNil;
  };
  struct BookSide {
    internal::PriceLadder ladder;  // price -> level index, for the prices with orders
    uint32_t best = kNil;          // the best level, kept as levels come and go
    bool bids = false;             // best is the highest price (bids) or the lowest (asks)
  };

  BookSide& side_of(Side side) { return side == Side::kBuy ? bids_ : asks_; }
  const BookSide& side_of(Side side) const { return side == Side::kBuy ? bids_ : asks_; }
  BookSide& opposite(Side side) { return side == Side::kBuy ? asks_ : bids_; }
  const BookSide& opposite(Side side) const { return side == Side::kBuy ? asks_ : bids_; }

  // Matching: the taker (an order in the pool, resting nowhere) trades against the other side
  // while it crosses. Returns false if self-trade prevention cancelled the taker.
  bool Match(Order& taker, bool market, std::vector<Event>& events);
  void Trade(Order& taker, uint32_t maker, std::vector<Event>& events);
  bool PreventSelfTrade(Order& taker, uint32_t maker, std::vector<Event>& events);
  bool CanFillWhole(const Order& taker, bool market) const;
  // What follows matching: done, cancelled, or resting.
  void Finish(uint32_t taker, bool taker_cancelled, std::vector<Event>& events);
  [[nodiscard]] bool Crosses(Side taker_side, Price taker_price) const;

  // Resting orders.
  void Rest(uint32_t order);     // links an order at its level's tail
  void Unlink(uint32_t order);   // removes it from its level (and the level if empty)
  void Release(uint32_t order);  // returns it to the pool and forgets its id
  void Reduce(uint32_t order, Quantity by);
  void Cancelled(uint32_t order, CancelReason reason, std::vector<Event>& events);
  static void Reduced(const Order& order, Quantity by, std::vector<Event>& events);
  RejectReason CheckAgainstBook(const NewOrder& order) const;
  uint32_t AllocateOrder();
  uint32_t AllocateLevel();
  void EraseLevel(BookSide& side, uint32_t level);
  // The level after `level` in its side's priority order, or kNil.
  uint32_t NextLevel(const BookSide& side, uint32_t level) const;

  void ReportBestBidOffer(std::vector<Event>& events);
  // Calls fn(const Order&) for each resting order of a side in priority order.
  template <typename Fn>
  void ForEachResting(Side side, Fn&& fn) const;
  Quote BestOf(const BookSide& side) const;

  // The id index: the pool slot of each resting order, by id. Every cancel and modify starts
  // here, so it is built for this book rather than taken off the shelf: open addressing with
  // linear probing over a power-of-two table kept at most half full, whose entries are just the
  // orders' slots (4 bytes; kNil when empty). The id is read from the order itself, which a
  // cancel or modify reads next anyway, so a general hash map's copy of the 8-byte id (16-byte
  // entries) only spreads a 1,000-order book's lookups over four times the cache lines. Erasing
  // shifts the entries after it back (no tombstones), so probe runs stay short however many
  // orders come and go.
  [[nodiscard]] size_t IdHome(OrderId id) const;  // where id's probe run starts
  // The entry holding id, or the empty entry where its probe run ends.
  [[nodiscard]] size_t FindIdEntry(OrderId id) const;
  [[nodiscard]] uint32_t FindId(OrderId id) const;  // the order's slot, or kNil
  void InsertId(OrderId id, uint32_t slot);         // REQUIRES: id is absent
  void EraseId(OrderId id);                         // if present
  void EraseIdEntry(size_t entry);                  // REQUIRES: a full entry
  void GrowIds();

  // The pools: resting orders and the incoming one; levels. Indexes stay valid as they grow.
  std::vector<Order> orders_;
  std::vector<uint32_t> free_orders_;
  std::vector<Level> levels_;
  std::vector<uint32_t> free_levels_;
  std::vector<uint32_t> id_table_;  // the id index (above); its size is a power of two
  uint32_t id_count_ = 0;           // resting orders
  int id_shift_ = 64;               // 64 - log2(id_table_.size())
  uint64_t id_seed_ = 0;            // mixed into the hash: see IdHome
  BookSide bids_;
  BookSide asks_;
  Quote last_bid_;
  Quote last_ask_;
  uint32_t max_orders_ = 0;
};

}  // namespace keel::market

#endif  // KEEL_MARKET_ORDER_BOOK_H_
