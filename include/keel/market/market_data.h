// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// MarketDataPublisher: L2 depth and candlesticks, rebuilt from the matching engine's event stream.
//
// In the stock exchange case study the matching engine does not serve market data itself: the
// market data publisher (the chapter's "MDP") receives the engine's stream of executions and
// order updates, builds its own copy of every order book and the candlestick charts from it, and
// hands them to the data service that clients subscribe to. Keeping it a separate consumer of the
// sequenced stream takes the work off the engine's critical path, and it means market data can be
// rebuilt, or run on another machine, from nothing but the stream. This class is that consumer:
// it is fed the numbered EngineEvents of keel/market/matching_engine.h (and never looks at an
// OrderBook) and keeps, per symbol,
//
//   - an L2 book: for each price level of each side, the total open quantity and the number of
//     orders, from which Snapshot() gives the top N levels at any time; to know the levels it
//     tracks every resting order's side, price and open quantity (the events say which order
//     traded or was cancelled, not which level it was on);
//   - candlesticks: open, high, low, close, volume (and the number of trades) of the trades of each
//     fixed interval (MarketDataOptions::candle_interval_ns, e.g. a second or a minute), aligned to
//     multiples of the interval since time 0, in a ring of the newest candle_history candles.
//
// Events carry no time (the engine is deterministic and has no clock), so the caller stamps each
// batch with the time it read from keel's clock (keel/base/clock.h) when the batch came out of the
// engine; a trade falls in the interval that contains its batch's time.
//
// Empty intervals: a candle exists only for an interval with at least one trade. A quiet symbol
// then costs nothing per interval, its ring holds its last candle_history trading intervals rather
// than being flushed by empty ones, and "no trade" stays distinguishable from "a trade at the
// previous close". A chart that wants every interval fills the gaps with FillEmptyIntervals(): a
// flat candle at the previous close with zero volume, the usual convention.
//
// The events are checked as they are applied, since a book built from a stream with a hole in it
// would be silently wrong: sequence numbers must follow each other without gaps from 1, every
// event must agree with the book built so far (a trade's maker must rest on the other side at the
// trade's price with at least the traded quantity, a cancellation must name a live order with the
// quantity it had, and so on), and each best bid and offer event must equal the top of the book
// built from the events before it. A disagreement is an error naming the event and what is wrong,
// and it is sticky: the events before the bad one are applied, and every later call returns the
// same error (the state no longer follows the stream; build a new publisher).
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(auto md, keel::market::MarketDataPublisher::Create(
//                                      {.candle_interval_ns = 60 * keel::base::kNanosPerSecond}));
//   std::vector<keel::market::EngineEvent> events;
//   engine.Apply(command, events);
//   KEEL_RETURN_IF_ERROR(md.Apply(events, clock.NowNanos()));
//   keel::market::L2Snapshot snapshot;
//   md.Snapshot(engine.FindSymbol("ACME"), /*max_levels=*/10, snapshot);
//
// Allocation: a symbol's first event creates its book and its first trade its candle ring
// (candle_history candles); the order table and the level pools grow to the largest the books have
// been and are reused from then on, so after warm-up an event allocates nothing (the order table
// may rehash in place). Snapshot and Candles reuse the caller's vectors.
//
// Not thread-safe: one thread applies events and queries, as the case study's publisher does.
#ifndef KEEL_MARKET_MARKET_DATA_H_
#define KEEL_MARKET_MARKET_DATA_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/base/clock.h"
#include "keel/market/internal/price_ladder.h"
#include "keel/market/matching_engine.h"
#include "keel/market/order_book.h"

namespace keel::market {

// The limits MarketDataOptions is checked against.
inline constexpr int64_t kMaxCandleIntervalNs = 7 * 24 * 3600 * base::kNanosPerSecond;  // a week
inline constexpr uint32_t kMaxCandleHistory = uint32_t{1} << 20;

struct MarketDataOptions {
  // The length of a candle, 1 ns to a week (kMaxCandleIntervalNs).
  int64_t candle_interval_ns = base::kNanosPerSecond;
  // Candles kept per symbol, 1 to kMaxCandleHistory: the newest ones; an older one is dropped.
  uint32_t candle_history = 3600;
  // Symbols at most: an event for symbol index >= max_symbols is an error (1 to 2^20). Should be
  // the engine's EngineOptions::max_symbols.
  uint32_t max_symbols = 1024;
  // Orders resting at most per symbol, 1 to kMaxOrders (an OrderBook's own limit, which also
  // keeps a level's total quantity within int64): one more that would rest is an error. Should be
  // the engine's BookOptions::max_orders: as in the book, an order that will not rest (IOC, FOK,
  // market) may still match a book that holds max_orders, and is tracked beyond it meanwhile.
  uint32_t max_orders = kMaxOrders;
};

// The top of a symbol's book, as the publisher hands it out.
struct L2Snapshot {
  uint32_t symbol = kNoSymbol;
  uint64_t sequence = 0;        // the last event applied (0: none yet)
  int64_t time_ns = 0;          // the time of the last batch applied
  std::vector<LevelView> bids;  // best (highest) first
  std::vector<LevelView> asks;  // best (lowest) first

  friend bool operator==(const L2Snapshot&, const L2Snapshot&) = default;
};

// The trades of one interval [start_ns, start_ns + interval).
struct Candle {
  int64_t start_ns = 0;
  Price open = 0;  // the first trade's price
  Price high = 0;
  Price low = 0;
  Price close = 0;      // the last trade's price
  Quantity volume = 0;  // the sum of the trades' quantities (0 only in a filled gap)
  uint64_t trades = 0;  // how many (0 only in a filled gap)

  friend bool operator==(const Candle&, const Candle&) = default;
};

class MarketDataPublisher {
 public:
  // Errors: kInvalidArgument naming the option that is out of range and its value.
  [[nodiscard]] static absl::StatusOr<MarketDataPublisher> Create(const MarketDataOptions& options);

  MarketDataPublisher(MarketDataPublisher&&) = default;
  MarketDataPublisher& operator=(MarketDataPublisher&&) = default;

  // Applies the events of whole commands, as MatchingEngine::Apply (or a Sequencer) appended them,
  // stamped with `time_ns` (0 or more, and never less than the previous call's). The first event
  // ever applied is sequence 1 and each is the one after the last (an empty span is allowed).
  // An order a command accepted or modified joins its level when its command's events end: at the
  // next command's first event or at the end of the span, so a span must not end inside a
  // command's events (a span that did is reported when the rest arrives: a trade by a resting
  // order that no modify set matching).
  // Errors: kInvalidArgument for a time before the last one or negative (nothing is applied, and
  // the call may be repeated with a good time); and, sticky (see the file comment), kDataLoss for a
  // sequence gap or an event that disagrees with the book built so far, kResourceExhausted beyond
  // max_symbols or max_orders (an order that would rest beyond it), kOutOfRange for a candle's
  // volume beyond 2^63 - 1.
  [[nodiscard]] absl::Status Apply(std::span<const EngineEvent> events, int64_t time_ns);

  // The best `max_levels` levels of each side of `symbol` (an unknown symbol's are empty), with
  // the sequence and time they reflect; replaces `out`'s contents, reusing its vectors.
  void Snapshot(uint32_t symbol, size_t max_levels, L2Snapshot& out) const;
  // One side's best `max_levels` levels, best first (replacing `out`'s contents).
  void Depth(uint32_t symbol, Side side, size_t max_levels, std::vector<LevelView>& out) const;
  [[nodiscard]] Quote best_bid(uint32_t symbol) const;
  [[nodiscard]] Quote best_ask(uint32_t symbol) const;

  // The kept candles of `symbol` that start in [from_ns, to_ns), oldest first (replacing `out`'s
  // contents). Only intervals with trades have one; the newest may still grow while time is in
  // its interval.
  void Candles(uint32_t symbol, int64_t from_ns, int64_t to_ns, std::vector<Candle>& out) const;
  // The newest candle of `symbol`, if it has traded.
  [[nodiscard]] std::optional<Candle> LastCandle(uint32_t symbol) const;

  // The sequence the next event must have, and the time of the last batch.
  [[nodiscard]] uint64_t next_sequence() const { return next_sequence_; }
  [[nodiscard]] int64_t time_ns() const { return time_ns_; }
  // The first error met, sticky (OK while none).
  [[nodiscard]] const absl::Status& status() const { return status_; }
  [[nodiscard]] const MarketDataOptions& options() const { return options_; }
  // Orders tracked (resting, or accepted and still matching) over every symbol.
  [[nodiscard]] size_t order_count() const { return orders_.size(); }

 private:
  struct TrackedOrder {
    Price price = 0;
    Quantity quantity = 0;  // open
    uint32_t symbol = kNoSymbol;
    Side side = Side::kBuy;
    bool resting = false;  // counted in its level (false while it matches as the taker)
  };
  struct Level {
    Quantity quantity = 0;
    uint32_t orders = 0;
  };
  struct Book {
    internal::PriceLadder ladders[2];  // by Side: price -> index in levels
    std::vector<Level> levels;
    std::vector<uint32_t> free_levels;
    uint32_t orders = 0;  // tracked
    // The candle ring: candles[(first + i) % candles.size()] for i < candle_count, oldest first.
    std::vector<Candle> candles;
    size_t first = 0;
    size_t candle_count = 0;
  };

  explicit MarketDataPublisher(const MarketDataOptions& options) : options_(options) {}

  absl::Status ApplyOne(const EngineEvent& e);
  absl::Status OnAccepted(const EngineEvent& e);
  absl::Status OnModified(const EngineEvent& e);
  absl::Status OnCancelled(const EngineEvent& e);
  absl::Status OnDone(const EngineEvent& e);
  absl::Status OnTrade(const EngineEvent& e);
  absl::Status OnReduced(const EngineEvent& e);
  absl::Status OnBestBidOffer(const EngineEvent& e);
  // Rests the order its command accepted or modified, if any: its command's events have ended.
  absl::Status Settle(uint64_t sequence);
  // The live order `e` names, checked to be in e's symbol on e's side; or an error.
  absl::StatusOr<TrackedOrder*> Live(const EngineEvent& e, const char* what);

  // Forgets a tracked order, after it has left its level.
  void Forget(OrderId id, const TrackedOrder& order);
  Book& BookOf(uint32_t symbol);  // creating it. REQUIRES: symbol < max_symbols
  const Book* FindBook(uint32_t symbol) const;
  void AddToLevel(Book& book, const TrackedOrder& order);
  void RemoveFromLevel(Book& book, const TrackedOrder& order);
  Level& LevelOf(Book& book, const TrackedOrder& order);
  static Quote BestOf(const Book& book, Side side);
  void AddTrade(Book& book, Price price, Quantity quantity);

  MarketDataOptions options_;
  std::vector<std::unique_ptr<Book>> books_;  // by symbol index
  absl::flat_hash_map<OrderId, TrackedOrder> orders_;
  // The order accepted or modified by the command whose events are being applied, until they end.
  std::optional<OrderId> pending_;
  uint64_t next_sequence_ = 1;
  int64_t time_ns_ = 0;
  absl::Status status_;
};

// A dense series from the sparse one Candles() gives: `sparse` (ascending, aligned to
// `interval_ns`) with each interval between two of its candles filled by a flat candle at the
// previous close (open = high = low = close, volume 0, trades 0). Replaces `out`'s contents.
// Errors: kInvalidArgument for an interval out of range or candles out of order or unaligned;
// kOutOfRange if the series would hold more than `max_candles`.
[[nodiscard]] absl::Status FillEmptyIntervals(std::span<const Candle> sparse, int64_t interval_ns,
                                              size_t max_candles, std::vector<Candle>& out);

}  // namespace keel::market

#endif  // KEEL_MARKET_MARKET_DATA_H_
