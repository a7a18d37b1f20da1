// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The engine's consumers: MarketDataPublisher (L2 books and candlesticks rebuilt from the event
// stream) and TradeHistory (the reporter), one thread, against baselines in the same run.
//
// The workload is generated before timing starts: 500,000 commands over four symbols driven
// through a MatchingEngine (each book kept near 1,000 resting orders over a few hundred levels;
// 50% GTC limit orders of which a tenth cross the spread, 5% IOC, 25% cancels, 20% modifies of
// price or quantity), and the events it produced recorded command by command with a time
// advancing 10 us per command. A timed run feeds the recorded events, one command's events per
// call, to a fresh consumer: the figure is events per second.
//
// The market data baseline is the textbook consumer: an std::unordered_map from order id to order
// and, per symbol, an std::map from price to level per side, with candles in an std::deque; it
// follows the same event semantics but checks nothing (keel's checks every event against its book,
// and each best bid and offer against its top). Both end with the same depth (checked before
// timing). Snapshots: the top 10 levels of both sides of a symbol, keel's against the map's.
// The trade history baseline keeps every trade in an std::deque and, per order and per client, an
// std::unordered_map to an std::vector of positions (no bound on memory, no dropping).
// Heap allocations per event are counted (a global operator new) over the second half of a run.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <new>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/heap_allocations.h"
#include "keel/base/random.h"
#include "keel/market/market_data.h"
#include "keel/market/matching_engine.h"
#include "keel/market/trade_history.h"

namespace keel::market {
namespace {

constexpr size_t kCommands = 500'000;
constexpr int64_t kStepNs = 10'000;
constexpr Price kMiddle = 100'000;
constexpr std::string_view kSymbols[] = {"AAA", "BBB", "CCC", "DDD"};

struct Workload {
  std::vector<Command> commands;
  std::vector<EngineEvent> events;
  std::vector<size_t> ends;  // command i's events are events[ends[i - 1] .. ends[i])
  size_t trades = 0;
};

const Workload& GetWorkload() {
  static const Workload* workload = [] {
    auto* w = new Workload;
    base::Random rng(42);
    MatchingEngine engine({});
    std::vector<std::vector<OrderId>> live(std::size(kSymbols));
    std::unordered_set<OrderId> gone;
    OrderId next_id = 1;
    // A random live order of a symbol (dropping the ids found gone), or 0.
    auto pick = [&](size_t s) -> OrderId {
      while (!live[s].empty()) {
        const size_t i = rng.Uniform(live[s].size());
        const OrderId id = live[s][i];
        if (!gone.contains(id)) return id;
        live[s][i] = live[s].back();
        live[s].pop_back();
      }
      return 0;
    };
    for (size_t n = 0; n < kCommands; ++n) {
      const size_t s = rng.Uniform(std::size(kSymbols));
      const uint32_t sym = engine.FindSymbol(kSymbols[s]);
      const size_t resting = sym == kNoSymbol ? 0 : engine.book(sym).order_count();
      const uint64_t roll = rng.Uniform(100);
      const uint64_t cancels = resting > 1000 ? 40 : 25;
      Command c;
      const OrderId target = roll < 55 ? 0 : pick(s);
      if (target == 0) {
        c.kind = CommandKind::kNew;
        c.symbol = kSymbols[s];
        c.order.id = next_id++;
        c.order.client = 1 + rng.Uniform(1000);
        c.order.side = rng.Uniform(2) == 0 ? Side::kBuy : Side::kSell;
        c.order.tif =
            rng.Uniform(11) == 0 ? TimeInForce::kImmediateOrCancel : TimeInForce::kGoodTillCancel;
        const bool cross = c.order.tif == TimeInForce::kImmediateOrCancel || rng.Uniform(10) == 0;
        const auto offset = static_cast<Price>(rng.Uniform(cross ? 5 : 300)) + (cross ? 0 : 1);
        c.order.price = (c.order.side == Side::kBuy) == cross ? kMiddle + offset : kMiddle - offset;
        c.order.quantity = static_cast<Quantity>(1 + rng.Uniform(100));
      } else if (roll < 55 + cancels) {
        c.kind = CommandKind::kCancel;
        c.order.id = target;
      } else {
        c.kind = CommandKind::kModify;
        c.order.id = target;
        const RestingOrder o = *engine.book(engine.FindSymbol(kSymbols[s])).Find(target);
        c.order.price = o.price + static_cast<Price>(rng.Uniform(5)) - 2;
        c.order.quantity = static_cast<Quantity>(1 + rng.Uniform(100));
      }
      const size_t begin = w->events.size();
      engine.Apply(c, w->events);
      for (size_t i = begin; i < w->events.size(); ++i) {
        const Event& e = w->events[i].event;
        if (e.kind == EventKind::kAccepted) live[s].push_back(e.order_id);
        if (e.kind == EventKind::kDone || e.kind == EventKind::kCancelled) gone.insert(e.order_id);
        if (e.kind == EventKind::kTrade) ++w->trades;
      }
      w->commands.push_back(c);
      w->ends.push_back(w->events.size());
    }
    return w;
  }();
  return *workload;
}

template <typename Fn>
void ForEachCommand(const Workload& w, size_t from, size_t to, Fn&& fn) {
  for (size_t i = from; i < to; ++i) {
    const size_t begin = i == 0 ? 0 : w.ends[i - 1];
    fn(i, std::span<const EngineEvent>(w.events).subspan(begin, w.ends[i] - begin),
       static_cast<int64_t>(i) * kStepNs);
  }
}

// ---------------------------------------------------------------------------------------------
// The baseline market data consumer.
// ---------------------------------------------------------------------------------------------

class MapMarketData {
 public:
  void Apply(std::span<const EngineEvent> events, int64_t time_ns) {
    for (const EngineEvent& e : events) {
      const Event& ev = e.event;
      switch (ev.kind) {
        case EventKind::kAccepted:
          Settle();
          if (e.symbol >= books_.size()) books_.resize(e.symbol + 1);
          orders_[ev.order_id] = {e.symbol, ev.side, ev.price, ev.quantity, false};
          pending_ = ev.order_id;
          break;
        case EventKind::kModified: {
          Settle();
          Order& o = orders_.at(ev.order_id);
          Remove(o);
          o.price = ev.price;
          o.quantity = ev.quantity;
          o.resting = false;
          pending_ = ev.order_id;
          break;
        }
        case EventKind::kRejected:
        case EventKind::kBestBidOffer:
          Settle();
          break;
        case EventKind::kCancelled:
        case EventKind::kDone: {
          if (ev.cancel == CancelReason::kRequested) Settle();
          const auto it = orders_.find(ev.order_id);
          if (it->second.resting) Remove(it->second);
          if (pending_ == ev.order_id) pending_.reset();
          orders_.erase(it);
          break;
        }
        case EventKind::kTrade: {
          Order& maker = orders_.at(ev.maker_id);
          Change(maker, -ev.quantity, 0);
          maker.quantity -= ev.quantity;
          orders_.at(ev.order_id).quantity -= ev.quantity;
          AddTrade(books_[e.symbol], time_ns, ev.price, ev.quantity);
          break;
        }
        case EventKind::kReduced: {
          Order& o = orders_.at(ev.order_id);
          if (o.resting) Change(o, -ev.quantity, 0);
          o.quantity -= ev.quantity;
          break;
        }
      }
    }
    Settle();
  }

  void Depth(uint32_t symbol, Side side, size_t max_levels, std::vector<LevelView>& out) const {
    out.clear();
    if (symbol >= books_.size()) return;
    const Book& b = books_[symbol];
    auto copy = [&](const auto& levels) {
      for (const auto& [price, level] : levels) {
        if (out.size() == max_levels) break;
        out.push_back(level);
      }
    };
    side == Side::kBuy ? copy(b.bids) : copy(b.asks);
  }

 private:
  struct Order {
    uint32_t symbol;
    Side side;
    Price price;
    Quantity quantity;
    bool resting;
  };
  struct Book {
    std::map<Price, LevelView, std::greater<>> bids;
    std::map<Price, LevelView> asks;
    std::deque<Candle> candles;
  };

  void Settle() {
    if (!pending_) return;
    Order& o = orders_.at(*pending_);
    o.resting = true;
    Change(o, o.quantity, 1);
    pending_.reset();
  }
  void Remove(Order& o) { Change(o, -o.quantity, -1); }
  void Change(const Order& o, Quantity quantity, int orders) {
    Book& b = books_[o.symbol];
    auto apply = [&](auto& levels) {
      LevelView& l = levels[o.price];
      l.price = o.price;
      l.quantity += quantity;
      l.orders = static_cast<uint32_t>(static_cast<int>(l.orders) + orders);
      if (l.orders == 0) levels.erase(o.price);
    };
    o.side == Side::kBuy ? apply(b.bids) : apply(b.asks);
  }
  static void AddTrade(Book& b, int64_t time_ns, Price price, Quantity quantity) {
    const int64_t start = time_ns / kNanosPerCandle * kNanosPerCandle;
    if (b.candles.empty() || b.candles.back().start_ns != start) {
      if (b.candles.size() == kHistory) b.candles.pop_front();
      b.candles.push_back({start, price, price, price, price, 0, 0});
    }
    Candle& c = b.candles.back();
    c.high = std::max(c.high, price);
    c.low = std::min(c.low, price);
    c.close = price;
    c.volume += quantity;
    ++c.trades;
  }

 public:
  static constexpr int64_t kNanosPerCandle = base::kNanosPerMilli;
  static constexpr size_t kHistory = 3600;

 private:
  std::unordered_map<OrderId, Order> orders_;
  std::vector<Book> books_;
  std::optional<OrderId> pending_;
};

MarketDataPublisher NewPublisher() {
  return *MarketDataPublisher::Create(
      {.candle_interval_ns = MapMarketData::kNanosPerCandle,
       .candle_history = static_cast<uint32_t>(MapMarketData::kHistory)});
}

struct KeelMd {
  MarketDataPublisher md = NewPublisher();
  void Apply(std::span<const EngineEvent> events, int64_t time_ns) {
    if (!md.Apply(events, time_ns).ok()) std::abort();
  }
  void Depth(uint32_t s, Side side, size_t n, std::vector<LevelView>& out) const {
    md.Depth(s, side, n, out);
  }
};
struct BaselineMd {
  MapMarketData md;
  void Apply(std::span<const EngineEvent> events, int64_t time_ns) { md.Apply(events, time_ns); }
  void Depth(uint32_t s, Side side, size_t n, std::vector<LevelView>& out) const {
    md.Depth(s, side, n, out);
  }
};

// Both consumers end with the same depth as each other (the publisher checks itself against the
// engine's best bid and offer as it goes).
bool SameDepth() {
  const Workload& w = GetWorkload();
  KeelMd a;
  BaselineMd b;
  ForEachCommand(w, 0, w.commands.size(), [&](size_t, auto events, int64_t t) {
    a.Apply(events, t);
    b.Apply(events, t);
  });
  std::vector<LevelView> x, y;
  for (uint32_t s = 0; s < std::size(kSymbols); ++s) {
    for (const Side side : {Side::kBuy, Side::kSell}) {
      a.Depth(s, side, 1 << 20, x);
      b.Depth(s, side, 1 << 20, y);
      if (x != y || x.empty()) return false;
    }
  }
  return true;
}

template <typename Consumer>
void RunMarketData(benchmark::State& state) {
  const Workload& w = GetWorkload();
  static const bool same = SameDepth();
  if (!same) {
    state.SkipWithError("keel's and the baseline's depth differ");
    return;
  }
  for (auto _ : state) {
    state.PauseTiming();
    auto consumer = std::make_unique<Consumer>();
    state.ResumeTiming();
    ForEachCommand(w, 0, w.commands.size(),
                   [&](size_t, auto events, int64_t t) { consumer->Apply(events, t); });
    benchmark::DoNotOptimize(consumer.get());
    state.PauseTiming();
    consumer.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(w.events.size()));
  state.counters["events_per_command"] =
      static_cast<double>(w.events.size()) / static_cast<double>(w.commands.size());
  auto consumer = std::make_unique<Consumer>();
  const size_t half = w.commands.size() / 2;
  ForEachCommand(w, 0, half, [&](size_t, auto events, int64_t t) { consumer->Apply(events, t); });
  const size_t before = bench::HeapAllocations();
  ForEachCommand(w, half, w.commands.size(),
                 [&](size_t, auto events, int64_t t) { consumer->Apply(events, t); });
  state.counters["allocs_per_event"] = static_cast<double>(bench::HeapAllocations() - before) /
                                       static_cast<double>(w.events.size() - w.ends[half - 1]);
}

void BM_MarketData_Keel(benchmark::State& state) { RunMarketData<KeelMd>(state); }
void BM_MarketData_MapBaseline(benchmark::State& state) { RunMarketData<BaselineMd>(state); }

// The top 10 levels of both sides of one symbol, from a consumer that has applied the workload.
template <typename Consumer>
void RunSnapshot(benchmark::State& state) {
  const Workload& w = GetWorkload();
  auto consumer = std::make_unique<Consumer>();
  ForEachCommand(w, 0, w.commands.size(),
                 [&](size_t, auto events, int64_t t) { consumer->Apply(events, t); });
  std::vector<LevelView> bids, asks;
  uint32_t symbol = 0;
  for (auto _ : state) {
    consumer->Depth(symbol, Side::kBuy, 10, bids);
    consumer->Depth(symbol, Side::kSell, 10, asks);
    benchmark::DoNotOptimize(bids.data());
    benchmark::DoNotOptimize(asks.data());
    symbol = (symbol + 1) % std::size(kSymbols);
  }
  state.SetItemsProcessed(state.iterations());
  size_t levels = 0;
  for (uint32_t s = 0; s < std::size(kSymbols); ++s) {
    for (const Side side : {Side::kBuy, Side::kSell}) {
      consumer->Depth(s, side, 1 << 20, bids);
      levels += bids.size();
    }
  }
  state.counters["levels_per_side"] =
      static_cast<double>(levels) / static_cast<double>(2 * std::size(kSymbols));
}

void BM_Snapshot10_Keel(benchmark::State& state) { RunSnapshot<KeelMd>(state); }
void BM_Snapshot10_MapBaseline(benchmark::State& state) { RunSnapshot<BaselineMd>(state); }

// ---------------------------------------------------------------------------------------------
// Trade history.
// ---------------------------------------------------------------------------------------------

// Every trade in a deque, and per order and per client a vector of positions; owners of live
// orders in a map.
class DequeTradeHistory {
 public:
  void Apply(std::span<const Command> commands, std::span<const EngineEvent> events,
             int64_t time_ns) {
    size_t next = 0;
    const Command* command = nullptr;
    for (const EngineEvent& e : events) {
      const Event& ev = e.event;
      if (ev.kind == EventKind::kAccepted || ev.kind == EventKind::kModified ||
          ev.kind == EventKind::kRejected ||
          (ev.kind == EventKind::kCancelled && ev.cancel == CancelReason::kRequested)) {
        command = &commands[next++];
      }
      if (ev.kind == EventKind::kAccepted) owners_[ev.order_id] = command->order.client;
      if (ev.kind == EventKind::kDone || ev.kind == EventKind::kCancelled) {
        owners_.erase(ev.order_id);
      }
      if (ev.kind != EventKind::kTrade) continue;
      const TradeRecord t{e.sequence,
                          time_ns,
                          e.symbol,
                          ev.side,
                          ev.maker_id,
                          ev.order_id,
                          owners_.at(ev.maker_id),
                          owners_.at(ev.order_id),
                          ev.price,
                          ev.quantity};
      const size_t at = trades_.size();
      trades_.push_back(t);
      by_order_[t.maker_order].push_back(at);
      by_order_[t.taker_order].push_back(at);
      by_client_[t.maker_client].push_back(at);
      by_client_[t.taker_client].push_back(at);
    }
  }

 private:
  std::deque<TradeRecord> trades_;
  std::unordered_map<OrderId, std::vector<size_t>> by_order_;
  std::unordered_map<ClientId, std::vector<size_t>> by_client_;
  std::unordered_map<OrderId, ClientId> owners_;
};

struct KeelHistory {
  TradeHistory history = *TradeHistory::Create({});
  void Apply(std::span<const Command> c, std::span<const EngineEvent> e, int64_t t) {
    if (!history.Apply(c, e, t).ok()) std::abort();
  }
};
struct BaselineHistory {
  DequeTradeHistory history;
  void Apply(std::span<const Command> c, std::span<const EngineEvent> e, int64_t t) {
    history.Apply(c, e, t);
  }
};

template <typename Consumer>
void RunTradeHistory(benchmark::State& state) {
  const Workload& w = GetWorkload();
  for (auto _ : state) {
    state.PauseTiming();
    auto consumer = std::make_unique<Consumer>();
    state.ResumeTiming();
    ForEachCommand(w, 0, w.commands.size(), [&](size_t i, auto events, int64_t t) {
      consumer->Apply({&w.commands[i], 1}, events, t);
    });
    benchmark::DoNotOptimize(consumer.get());
    state.PauseTiming();
    consumer.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(w.events.size()));
  state.counters["trades_per_event"] =
      static_cast<double>(w.trades) / static_cast<double>(w.events.size());
}

void BM_TradeHistory_Keel(benchmark::State& state) { RunTradeHistory<KeelHistory>(state); }
void BM_TradeHistory_DequeBaseline(benchmark::State& state) {
  RunTradeHistory<BaselineHistory>(state);
}

BENCHMARK(BM_MarketData_Keel)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MarketData_MapBaseline)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Snapshot10_Keel);
BENCHMARK(BM_Snapshot10_MapBaseline);
BENCHMARK(BM_TradeHistory_Keel)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TradeHistory_DequeBaseline)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace keel::market
