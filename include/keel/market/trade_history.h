// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// TradeHistory: the exchange's reporter, the record of every trade with who made it.
//
// In the stock exchange case study the reporter is a consumer of the sequenced stream that writes
// down the executions, each with the order and the client behind it, for reporting, reconciliation
// and the clients' own trade queries ("my fills today"). The engine's trade events name the two
// orders, the price and the quantity, not the clients: an order's client is in the command that
// submitted it. So TradeHistory is fed each command together with the events it produced (what
// MatchingEngine::Apply appends for it, or a Sequencer's for a batch), remembers the client of
// every order while it is live (accepted and not yet done or cancelled), and stamps each trade
// with both clients, the symbol, the aggressor's side, the sequence number and the caller's time.
//
// Queries: the trades of a symbol in a range of sequence numbers or of time, of one order (as
// maker or taker), of one client. Each trade is kept in a ring and linked to the previous trade of
// the same symbol, of each of its two orders and of each of its two clients (the newest of each
// is in a table), so a query walks only the trades it is about, newest first, and stops at the
// first one the ring has dropped.
//
// Memory is bounded: the ring keeps the newest TradeHistoryOptions::max_trades trades (older ones
// are dropped: a full day's history belongs in a store built on the write-ahead log, which this is
// the in-memory tail of), the tables keep only keys with a kept trade (two per trade at most), and
// the clients of live orders are those of the engine's resting orders plus one (and at most
// max_live_orders).
//
// The stream is checked as it comes (sequence numbers without gaps from 1, each command's events
// beginning with that command's acceptance, modification, cancellation or rejection, trades
// between live orders); a disagreement is an error naming the event and is sticky, like
// MarketDataPublisher's.
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(auto history, keel::market::TradeHistory::Create({}));
//   std::vector<keel::market::EngineEvent> events;
//   engine.Apply(command, events);
//   KEEL_RETURN_IF_ERROR(history.Apply({&command, 1}, events, clock.NowNanos()));
//   std::vector<keel::market::TradeRecord> fills;
//   history.TradesOfClient(7, fills);  // client 7's trades, oldest first
//
// Allocation: the ring grows to max_trades records (about 110 bytes each) and is then reused; the
// tables grow with the keys they hold. Queries reuse the caller's vector.
//
// Not thread-safe.
#ifndef KEEL_MARKET_TRADE_HISTORY_H_
#define KEEL_MARKET_TRADE_HISTORY_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/market/matching_engine.h"
#include "keel/market/order_book.h"

namespace keel::market {

inline constexpr uint32_t kMaxTradeHistory = uint32_t{1} << 26;

struct TradeHistoryOptions {
  // Trades kept, 1 to kMaxTradeHistory: the newest; an older one is dropped.
  uint32_t max_trades = uint32_t{1} << 20;
  // Symbols at most (1 to 2^20): a trade of symbol index >= max_symbols is an error.
  uint32_t max_symbols = 1024;
  // Live orders whose client is remembered, at most (at least 1): one more accepted is an error.
  // A real stream never has more than the engine's resting orders plus one.
  uint32_t max_live_orders = uint32_t{1} << 24;
};

struct TradeRecord {
  uint64_t sequence = 0;  // the trade event's
  int64_t time_ns = 0;    // its batch's
  uint32_t symbol = kNoSymbol;
  Side taker_side = Side::kBuy;  // the aggressor's
  OrderId maker_order = 0;
  OrderId taker_order = 0;
  ClientId maker_client = 0;
  ClientId taker_client = 0;
  Price price = 0;
  Quantity quantity = 0;

  friend bool operator==(const TradeRecord&, const TradeRecord&) = default;
};

class TradeHistory {
 public:
  // Errors: kInvalidArgument naming the option out of range and its value.
  [[nodiscard]] static absl::StatusOr<TradeHistory> Create(const TradeHistoryOptions& options);

  TradeHistory(TradeHistory&&) = default;
  TradeHistory& operator=(TradeHistory&&) = default;

  // Records the trades among `events`, the events `commands` produced, in order (every command
  // gives exactly one first event: accepted, modified, cancelled as requested, or rejected),
  // stamped with `time_ns` (0 or more, never less than the last call's). The first event ever is
  // sequence 1, each the one after the last.
  // Errors: kInvalidArgument for a bad time (nothing recorded, not sticky); sticky: kDataLoss for
  // a sequence gap, events that do not belong to the commands, or a trade of an order that is not
  // live; kResourceExhausted for a symbol index beyond max_symbols or an order beyond
  // max_live_orders.
  [[nodiscard]] absl::Status Apply(std::span<const Command> commands,
                                   std::span<const EngineEvent> events, int64_t time_ns);

  // Queries over the kept trades; each replaces `out`'s contents with the matches, oldest first,
  // and costs the number of kept trades of its key newer than the range (or all of them).
  // A symbol's trades with from_sequence <= sequence < to_sequence.
  void TradesOfSymbol(uint32_t symbol, uint64_t from_sequence, uint64_t to_sequence,
                      std::vector<TradeRecord>& out) const;
  // A symbol's trades with from_ns <= time_ns < to_ns.
  void TradesOfSymbolBetween(uint32_t symbol, int64_t from_ns, int64_t to_ns,
                             std::vector<TradeRecord>& out) const;
  // An order's trades, as maker or as taker.
  void TradesOfOrder(OrderId order, std::vector<TradeRecord>& out) const;
  // A client's trades, as maker or as taker.
  void TradesOfClient(ClientId client, std::vector<TradeRecord>& out) const;

  // Trades kept now, and recorded since the start (the difference was dropped).
  [[nodiscard]] size_t size() const { return static_cast<size_t>(recorded_ - first_); }
  [[nodiscard]] uint64_t recorded() const { return recorded_; }
  [[nodiscard]] uint64_t next_sequence() const { return next_sequence_; }
  [[nodiscard]] const absl::Status& status() const { return status_; }
  // Orders whose client is remembered (the live ones).
  [[nodiscard]] size_t live_orders() const { return clients_.size(); }
  // Orders and clients with a kept trade (the query tables' sizes: at most twice size() each).
  [[nodiscard]] size_t indexed_orders() const { return newest_of_order_.size(); }
  [[nodiscard]] size_t indexed_clients() const { return newest_of_client_.size(); }

 private:
  static constexpr uint64_t kNone = UINT64_MAX;

  // A kept trade and, for each key it is filed under, the number of the previous trade with that
  // key (kNone or a dropped number when it is the oldest kept).
  struct Slot {
    TradeRecord trade;
    uint64_t prev_symbol = kNone;
    uint64_t prev_maker_order = kNone;
    uint64_t prev_taker_order = kNone;
    uint64_t prev_maker_client = kNone;
    uint64_t prev_taker_client = kNone;  // unused when both clients are one
  };
  struct LiveOrder {
    ClientId client = 0;
    uint32_t symbol = kNoSymbol;
  };

  explicit TradeHistory(const TradeHistoryOptions& options) : options_(options) {}

  absl::Status ApplyAll(std::span<const Command> commands, std::span<const EngineEvent> events,
                        int64_t time_ns);
  absl::Status Record(const EngineEvent& e, int64_t time_ns);
  void Drop();  // the oldest kept trade
  const Slot& slot(uint64_t number) const { return ring_[number % options_.max_trades]; }
  bool kept(uint64_t number) const { return number != kNone && number >= first_; }
  // Walks the trades filed under a key, newest first, from `newest`; `next` gives a slot's link.
  template <typename Next, typename Keep>
  void Walk(uint64_t newest, Next&& next, Keep&& keep, std::vector<TradeRecord>& out) const;

  TradeHistoryOptions options_;
  std::vector<Slot> ring_;  // trade number n at ring_[n % max_trades]
  uint64_t first_ = 0;      // the oldest kept trade's number
  uint64_t recorded_ = 0;   // the next trade's number
  std::vector<uint64_t> newest_of_symbol_;
  absl::flat_hash_map<OrderId, uint64_t> newest_of_order_;
  absl::flat_hash_map<ClientId, uint64_t> newest_of_client_;
  absl::flat_hash_map<OrderId, LiveOrder> clients_;
  uint64_t next_sequence_ = 1;
  int64_t time_ns_ = 0;
  absl::Status status_;
};

}  // namespace keel::market

#endif  // KEEL_MARKET_TRADE_HISTORY_H_
