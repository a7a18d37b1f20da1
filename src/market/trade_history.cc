// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/market/trade_history.h"

#include <algorithm>
#include <utility>

#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::market {

namespace {

// The event that begins a command's events: every command produces exactly one, first.
bool BeginsCommand(const Event& e) {
  return e.kind == EventKind::kAccepted || e.kind == EventKind::kModified ||
         e.kind == EventKind::kRejected ||
         (e.kind == EventKind::kCancelled && e.cancel == CancelReason::kRequested);
}

// Whether `e`, a command's first event, can be `command`'s.
bool Answers(const Command& command, const Event& e) {
  if (e.kind == EventKind::kRejected) {
    return command.kind == CommandKind::kInvalid || e.order_id == command.order.id;
  }
  if (e.order_id != command.order.id) return false;
  switch (command.kind) {
    case CommandKind::kNew:
      return e.kind == EventKind::kAccepted;
    case CommandKind::kCancel:
      return e.kind == EventKind::kCancelled;
    case CommandKind::kModify:
      return e.kind == EventKind::kModified;
    case CommandKind::kInvalid:
      return false;
  }
  return false;
}

template <typename... Args>
absl::Status Inconsistent(const EngineEvent& e, const Args&... what) {
  return absl::DataLossError(base::Cat("trade history: event ", e.sequence, " (",
                                       EventKindName(e.event.kind), " of order ", e.event.order_id,
                                       "): ", what...));
}

// Files trade `number` under a key: returns the previous newest trade with that key.
template <typename Map, typename Key>
uint64_t Link(Map& newest, const Key& key, uint64_t number, uint64_t none) {
  const auto [it, inserted] = newest.try_emplace(key, number);
  return inserted ? none : std::exchange(it->second, number);
}

template <typename Map, typename Key>
void Unlink(Map& newest, const Key& key, uint64_t number) {
  const auto it = newest.find(key);
  if (it != newest.end() && it->second == number) newest.erase(it);
}

}  // namespace

absl::StatusOr<TradeHistory> TradeHistory::Create(const TradeHistoryOptions& options) {
  if (options.max_trades < 1 || options.max_trades > kMaxTradeHistory) {
    return absl::InvalidArgumentError(base::Cat("TradeHistoryOptions::max_trades is ",
                                                options.max_trades, "; it must be 1 to ",
                                                kMaxTradeHistory));
  }
  if (options.max_symbols < 1 || options.max_symbols > (uint32_t{1} << 20)) {
    return absl::InvalidArgumentError(base::Cat("TradeHistoryOptions::max_symbols is ",
                                                options.max_symbols, "; it must be 1 to ",
                                                uint32_t{1} << 20));
  }
  if (options.max_live_orders < 1) {
    return absl::InvalidArgumentError(
        "TradeHistoryOptions::max_live_orders is 0; it must be 1 or more");
  }
  return TradeHistory(options);
}

absl::Status TradeHistory::Apply(std::span<const Command> commands,
                                 std::span<const EngineEvent> events, int64_t time_ns) {
  if (!status_.ok()) return status_;
  if (time_ns < 0 || time_ns < time_ns_) {
    return absl::InvalidArgumentError(base::Cat("trade history: time ", time_ns,
                                                " ns is negative or before the last batch's ",
                                                time_ns_, " ns"));
  }
  time_ns_ = time_ns;
  status_ = ApplyAll(commands, events, time_ns);
  return status_;
}

absl::Status TradeHistory::ApplyAll(std::span<const Command> commands,
                                    std::span<const EngineEvent> events, int64_t time_ns) {
  const auto begun = std::count_if(events.begin(), events.end(),
                                   [](const EngineEvent& e) { return BeginsCommand(e.event); });
  if (static_cast<size_t>(begun) != commands.size()) {
    return absl::DataLossError(
        base::Cat("trade history: ", commands.size(), " commands, but the events begin ", begun));
  }
  size_t next_command = 0;
  const Command* command = nullptr;
  for (const EngineEvent& e : events) {
    if (e.sequence != next_sequence_) {
      return absl::DataLossError(base::Cat("trade history: event sequence ", e.sequence, " where ",
                                           next_sequence_,
                                           " was expected (a gap, or events out of order)"));
    }
    const Event& ev = e.event;
    if (BeginsCommand(ev)) {
      command = &commands[next_command++];
      if (!Answers(*command, ev)) {
        return Inconsistent(e, "it does not answer command ", next_command - 1, " (order ",
                            command->order.id, ")");
      }
    } else if (command == nullptr) {
      return Inconsistent(e, "it comes before the first command's first event");
    }
    if (ev.kind != EventKind::kRejected && e.symbol >= options_.max_symbols) {
      return absl::ResourceExhaustedError(base::Cat("trade history: event ", e.sequence,
                                                    " is for symbol index ", e.symbol,
                                                    ", beyond max_symbols ", options_.max_symbols));
    }
    switch (ev.kind) {
      case EventKind::kAccepted:
        if (clients_.size() >= options_.max_live_orders) {
          return absl::ResourceExhaustedError(
              base::Cat("trade history: event ", e.sequence, " accepts order ", ev.order_id,
                        " beyond max_live_orders ", options_.max_live_orders));
        }
        if (!clients_.try_emplace(ev.order_id, LiveOrder{command->order.client, e.symbol}).second) {
          return Inconsistent(e, "the order id is already live");
        }
        break;
      case EventKind::kTrade:
        KEEL_RETURN_IF_ERROR(Record(e, time_ns));
        break;
      case EventKind::kDone:
      case EventKind::kCancelled:
        if (clients_.erase(ev.order_id) == 0) return Inconsistent(e, "the order is not live");
        break;
      case EventKind::kRejected:
      case EventKind::kModified:
      case EventKind::kReduced:
      case EventKind::kBestBidOffer:
        break;
    }
    ++next_sequence_;
  }
  return absl::OkStatus();
}

absl::Status TradeHistory::Record(const EngineEvent& e, int64_t time_ns) {
  const Event& ev = e.event;
  const auto maker = clients_.find(ev.maker_id);
  const auto taker = clients_.find(ev.order_id);
  if (maker == clients_.end() || taker == clients_.end()) {
    return Inconsistent(e, "maker ", ev.maker_id, " or taker ", ev.order_id, " is not live");
  }
  if (maker->second.symbol != e.symbol || taker->second.symbol != e.symbol) {
    return Inconsistent(e, "the orders are not both of symbol ", e.symbol);
  }
  if (recorded_ - first_ == options_.max_trades) Drop();
  const uint64_t n = recorded_++;
  Slot s;
  s.trade = TradeRecord{.sequence = e.sequence,
                        .time_ns = time_ns,
                        .symbol = e.symbol,
                        .taker_side = ev.side,
                        .maker_order = ev.maker_id,
                        .taker_order = ev.order_id,
                        .maker_client = maker->second.client,
                        .taker_client = taker->second.client,
                        .price = ev.price,
                        .quantity = ev.quantity};
  if (e.symbol >= newest_of_symbol_.size()) newest_of_symbol_.resize(size_t{e.symbol} + 1, kNone);
  s.prev_symbol = std::exchange(newest_of_symbol_[e.symbol], n);
  s.prev_maker_order = Link(newest_of_order_, s.trade.maker_order, n, kNone);
  s.prev_taker_order = Link(newest_of_order_, s.trade.taker_order, n, kNone);
  s.prev_maker_client = Link(newest_of_client_, s.trade.maker_client, n, kNone);
  if (s.trade.taker_client != s.trade.maker_client) {
    s.prev_taker_client = Link(newest_of_client_, s.trade.taker_client, n, kNone);
  }
  if (ring_.size() < options_.max_trades) {
    KEEL_ASSERT(ring_.size() == n, "the ring grows one trade at a time");
    ring_.push_back(s);
  } else {
    ring_[n % options_.max_trades] = s;
  }
  return absl::OkStatus();
}

void TradeHistory::Drop() {
  const Slot& s = slot(first_);
  if (newest_of_symbol_[s.trade.symbol] == first_) newest_of_symbol_[s.trade.symbol] = kNone;
  Unlink(newest_of_order_, s.trade.maker_order, first_);
  Unlink(newest_of_order_, s.trade.taker_order, first_);
  Unlink(newest_of_client_, s.trade.maker_client, first_);
  Unlink(newest_of_client_, s.trade.taker_client, first_);
  ++first_;
}

// ---------------------------------------------------------------------------------------------
// Queries.
// ---------------------------------------------------------------------------------------------

namespace {
enum class Step : uint8_t { kSkip, kTake, kStop };
}  // namespace

template <typename Next, typename Keep>
void TradeHistory::Walk(uint64_t newest, Next&& next, Keep&& keep,
                        std::vector<TradeRecord>& out) const {
  out.clear();
  for (uint64_t n = newest; kept(n);) {
    const Slot& s = slot(n);
    const Step step = keep(s.trade);
    if (step == Step::kStop) break;
    if (step == Step::kTake) out.push_back(s.trade);
    n = next(s);
  }
  std::reverse(out.begin(), out.end());
}

void TradeHistory::TradesOfSymbol(uint32_t symbol, uint64_t from_sequence, uint64_t to_sequence,
                                  std::vector<TradeRecord>& out) const {
  const uint64_t newest = symbol < newest_of_symbol_.size() ? newest_of_symbol_[symbol] : kNone;
  Walk(
      newest, [](const Slot& s) { return s.prev_symbol; },
      [&](const TradeRecord& t) {
        if (t.sequence < from_sequence) return Step::kStop;
        return t.sequence < to_sequence ? Step::kTake : Step::kSkip;
      },
      out);
}

void TradeHistory::TradesOfSymbolBetween(uint32_t symbol, int64_t from_ns, int64_t to_ns,
                                         std::vector<TradeRecord>& out) const {
  const uint64_t newest = symbol < newest_of_symbol_.size() ? newest_of_symbol_[symbol] : kNone;
  // Times never decrease along the sequence, so the walk stops at the first one too old.
  Walk(
      newest, [](const Slot& s) { return s.prev_symbol; },
      [&](const TradeRecord& t) {
        if (t.time_ns < from_ns) return Step::kStop;
        return t.time_ns < to_ns ? Step::kTake : Step::kSkip;
      },
      out);
}

void TradeHistory::TradesOfOrder(OrderId order, std::vector<TradeRecord>& out) const {
  const auto it = newest_of_order_.find(order);
  Walk(
      it == newest_of_order_.end() ? kNone : it->second,
      [&](const Slot& s) {
        return s.trade.maker_order == order ? s.prev_maker_order : s.prev_taker_order;
      },
      [](const TradeRecord&) { return Step::kTake; }, out);
}

void TradeHistory::TradesOfClient(ClientId client, std::vector<TradeRecord>& out) const {
  const auto it = newest_of_client_.find(client);
  Walk(
      it == newest_of_client_.end() ? kNone : it->second,
      [&](const Slot& s) {
        return s.trade.maker_client == client ? s.prev_maker_client : s.prev_taker_client;
      },
      [](const TradeRecord&) { return Step::kTake; }, out);
}

}  // namespace keel::market
