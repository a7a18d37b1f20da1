// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The order book under three workloads, one thread, against a baseline book in the same run:
//
//   - exchange_core: the mix exchange-core publishes its figures for (its README's "Benchmark
//     configuration"): one symbol, about 1,000 resting orders over about 750 price levels, 82%
//     moves (a resting order's price changes, keeping its quantity), 9% GTC limit orders, 3% IOC
//     orders, 6% cancels, with a small share of the messages trading;
//   - add_cancel: 50% GTC limit orders and 45% cancels (5% IOC), the churn of quoting;
//   - aggressive: 30% moves, 30% GTC, 30% cancels, 10% IOC, half the moves and GTC orders priced
//     through the other side's best (sweeping up to a few levels): about 0.6 trades per message.
//
// The commands are generated before timing starts, by driving a keel book (so the generator knows
// which orders are alive and where the best prices are); the timed runs replay them on fresh
// books. The baseline is the textbook book: a std::map from price to a std::list of orders per
// side and a std::unordered_map from id to list iterator, with the same matching rules for these
// commands (limit GTC/IOC, cancel, modify; self-trades cancel the newest). It produces the same
// trades as keel's book (checked before timing). Reported: messages/s; latency per message
// (p50/p99/p99.9/p99.99, from a separate timed pass with a clock read around every message, which
// adds the clock's own cost of about 20 ns); heap allocations per message (after a warm-up pass).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <list>
#include <map>
#include <memory>
#include <new>
#include <unordered_map>
#include <vector>

#include "common/heap_allocations.h"
#include "keel/base/random.h"
#include "keel/market/order_book.h"

namespace keel::market {
namespace {

enum class Op : uint8_t { kSubmit, kCancel, kModify };

struct Command {
  Op op = Op::kSubmit;
  NewOrder order;  // kSubmit; for the others, order.id, order.price and order.quantity
};

struct Mix {
  const char* name;
  int move_pct;            // modify a resting order's price (keeping its quantity)
  int gtc_pct;             // a new GTC limit order
  int ioc_pct;             // a new IOC limit order, at or through the other side's best
  int cancel_pct;          // cancel a resting order
  int aggressive_pct;      // of GTC orders, the share priced through the other side's best
  int resting_orders;      // the book's target size
  int half_spread_levels;  // passive prices go this many ticks either side of the middle
};

constexpr Mix kMixes[] = {
    {"exchange_core", 82, 9, 3, 6, 6, 1000, 375},
    {"add_cancel", 0, 50, 5, 45, 2, 1000, 375},
    {"aggressive", 30, 30, 10, 30, 50, 1000, 50},
};

constexpr Price kMiddle = 1'000'000;
constexpr uint64_t kClients = 1000;

// Generates `count` commands of a mix, keeping a keel book in step to know what is resting.
std::vector<Command> Generate(const Mix& mix, size_t count, uint64_t seed) {
  base::Random rng(seed);
  OrderBook book({.max_orders = 1 << 16});
  std::vector<Event> events;
  std::vector<OrderId> live;               // resting ids, for picking one at random
  std::unordered_map<OrderId, size_t> at;  // id -> position in `live`
  OrderId next_id = 1;
  auto forget = [&](OrderId id) {
    const auto it = at.find(id);
    if (it == at.end()) return;
    const size_t pos = it->second;
    live[pos] = live.back();
    at[live[pos]] = pos;
    live.pop_back();
    at.erase(id);
  };
  auto apply = [&](const Command& c) {
    events.clear();
    switch (c.op) {
      case Op::kSubmit:
        book.Submit(c.order, events);
        break;
      case Op::kCancel:
        book.Cancel(c.order.id, events);
        break;
      case Op::kModify:
        book.Modify(c.order.id, c.order.price, c.order.quantity, events);
        break;
    }
    for (const Event& e : events) {
      if (e.kind == EventKind::kDone || e.kind == EventKind::kCancelled) forget(e.order_id);
    }
    if (c.op == Op::kSubmit && book.Find(c.order.id) && !at.contains(c.order.id)) {
      at[c.order.id] = live.size();
      live.push_back(c.order.id);
    }
  };
  auto passive_price = [&](Side side) {
    const auto offset = static_cast<Price>(1 + rng.Uniform(mix.half_spread_levels));
    return side == Side::kBuy ? kMiddle - offset : kMiddle + offset;
  };
  auto new_order = [&](Side side, TimeInForce tif, Price price) {
    NewOrder o;
    o.id = next_id++;
    o.client = 1 + rng.Uniform(kClients);
    o.side = side;
    o.tif = tif;
    o.price = price;
    o.quantity = static_cast<Quantity>(1 + rng.Uniform(100));
    return o;
  };
  // Crossing the other side's best by up to a few ticks: sweeps one level or several.
  auto aggressive_price = [&](Side side) {
    const Quote other = side == Side::kBuy ? book.best_ask() : book.best_bid();
    const Price best = other.quantity > 0 ? other.price : kMiddle;
    const auto through = static_cast<Price>(rng.Uniform(4));
    return side == Side::kBuy ? best + through : best - through;
  };

  // Fill the book first (not part of the workload's count).
  std::vector<Command> warmup;
  while (static_cast<int>(live.size()) < mix.resting_orders) {
    const Side side = rng.Uniform(2) == 0 ? Side::kBuy : Side::kSell;
    const Command c{Op::kSubmit,
                    new_order(side, TimeInForce::kGoodTillCancel, passive_price(side))};
    apply(c);
    warmup.push_back(c);
  }
  std::vector<Command> out = std::move(warmup);
  const size_t first = out.size();
  while (out.size() - first < count) {
    const auto dice = static_cast<int>(rng.Uniform(100));
    const Side side = rng.Uniform(2) == 0 ? Side::kBuy : Side::kSell;
    Command c;
    if (dice < mix.move_pct && !live.empty()) {
      const RestingOrder o = *book.Find(live[rng.Uniform(live.size())]);
      // A move keeps the order on its side of the middle most of the time, so the book keeps its
      // shape; now and then it crosses and trades.
      c.op = Op::kModify;
      c.order.id = o.id;
      c.order.price = passive_price(o.side);
      if (static_cast<int>(rng.Uniform(100)) < mix.aggressive_pct) {
        c.order.price = aggressive_price(o.side);
      }
      c.order.quantity = o.quantity;
    } else if (dice < mix.move_pct + mix.gtc_pct ||
               static_cast<int>(live.size()) < mix.resting_orders / 2) {
      const bool cross = static_cast<int>(rng.Uniform(100)) < mix.aggressive_pct;
      c.order = new_order(side, TimeInForce::kGoodTillCancel,
                          cross ? aggressive_price(side) : passive_price(side));
    } else if (dice < mix.move_pct + mix.gtc_pct + mix.ioc_pct) {
      c.order = new_order(side, TimeInForce::kImmediateOrCancel, aggressive_price(side));
    } else if (!live.empty()) {
      c.op = Op::kCancel;
      c.order.id = live[rng.Uniform(live.size())];
    } else {
      continue;
    }
    if (c.order.price < 1) c.order.price = 1;
    apply(c);
    out.push_back(c);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The baseline: std::map of std::list per side, std::unordered_map of iterators by id.
// ---------------------------------------------------------------------------------------------

class BaselineBook {
 public:
  size_t trades() const { return trades_; }

  void Apply(const Command& c) {
    switch (c.op) {
      case Op::kSubmit:
        Submit(c.order);
        break;
      case Op::kCancel:
        Cancel(c.order.id);
        break;
      case Op::kModify:
        Modify(c.order.id, c.order.price, c.order.quantity);
        break;
    }
  }

 private:
  struct Order {
    OrderId id;
    ClientId client;
    Side side;
    Price price;
    Quantity quantity;
  };
  using Queue = std::list<Order>;
  struct Handle {
    Side side;
    Price price;
    Queue::iterator it;
  };

  void Submit(NewOrder o) {
    if (ids_.contains(o.id)) return;
    Order taker{o.id, o.client, o.side, o.price, o.quantity};
    if (!Match(taker)) return;
    if (taker.quantity > 0 && o.tif == TimeInForce::kGoodTillCancel) Rest(taker);
  }

  void Cancel(OrderId id) {
    const auto it = ids_.find(id);
    if (it == ids_.end()) return;
    Remove(it->second);
    ids_.erase(it);
  }

  void Modify(OrderId id, Price price, Quantity quantity) {
    const auto it = ids_.find(id);
    if (it == ids_.end()) return;
    Handle& h = it->second;
    if (price == h.price && quantity <= h.it->quantity) {
      h.it->quantity = quantity;
      return;
    }
    Order order = *h.it;
    Remove(h);
    ids_.erase(it);
    order.price = price;
    order.quantity = quantity;
    if (Match(order) && order.quantity > 0) Rest(order);
  }

  // Returns false if self-trade prevention cancelled the taker.
  bool Match(Order& taker) {
    if (taker.side == Side::kBuy) return MatchAgainst(asks_, taker);
    return MatchAgainst(bids_, taker);
  }

  template <typename Levels>
  bool MatchAgainst(Levels& levels, Order& taker) {
    while (taker.quantity > 0 && !levels.empty()) {
      auto level = levels.begin();
      const bool crosses =
          taker.side == Side::kBuy ? taker.price >= level->first : taker.price <= level->first;
      if (!crosses) break;
      Order& maker = level->second.front();
      if (maker.client == taker.client) return false;
      const Quantity traded = std::min(taker.quantity, maker.quantity);
      ++trades_;
      taker.quantity -= traded;
      maker.quantity -= traded;
      if (maker.quantity == 0) {
        ids_.erase(maker.id);
        level->second.pop_front();
        if (level->second.empty()) levels.erase(level);
      }
    }
    return true;
  }

  void Rest(const Order& order) {
    Queue& queue = order.side == Side::kBuy ? bids_[order.price] : asks_[order.price];
    queue.push_back(order);
    ids_[order.id] = Handle{order.side, order.price, std::prev(queue.end())};
  }

  void Remove(const Handle& h) {
    if (h.side == Side::kBuy) {
      RemoveFrom(bids_, h);
    } else {
      RemoveFrom(asks_, h);
    }
  }
  template <typename Levels>
  void RemoveFrom(Levels& levels, const Handle& h) {
    auto level = levels.find(h.price);
    level->second.erase(h.it);
    if (level->second.empty()) levels.erase(level);
  }

  std::map<Price, Queue, std::greater<>> bids_;
  std::map<Price, Queue> asks_;
  std::unordered_map<OrderId, Handle> ids_;
  size_t trades_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Runs.
// ---------------------------------------------------------------------------------------------

// keel's book as the benchmark drives it: one events vector, cleared per message.
class KeelBook {
 public:
  KeelBook() { events_.reserve(1024); }
  size_t trades() const { return trades_; }

  void Apply(const Command& c) {
    events_.clear();
    switch (c.op) {
      case Op::kSubmit:
        book_.Submit(c.order, events_);
        break;
      case Op::kCancel:
        book_.Cancel(c.order.id, events_);
        break;
      case Op::kModify:
        book_.Modify(c.order.id, c.order.price, c.order.quantity, events_);
        break;
    }
    for (const Event& e : events_) trades_ += e.kind == EventKind::kTrade;
  }

 private:
  // Sized for the workloads' books (about 1,000 orders), with room to spare.
  static BookOptions Options() {
    BookOptions o;
    o.max_orders = 1 << 14;
    return o;
  }
  OrderBook book_{Options()};
  std::vector<Event> events_;
  size_t trades_ = 0;
};

constexpr size_t kMessages = 1'000'000;

// The commands of a mix, generated once; both books must make the same trades from them.
const std::vector<Command>& Workload(int mix) {
  static std::vector<Command> workloads[std::size(kMixes)];
  if (workloads[mix].empty()) {
    workloads[mix] = Generate(kMixes[mix], kMessages, 42 + static_cast<uint64_t>(mix));
    KeelBook keel;
    BaselineBook baseline;
    for (const Command& c : workloads[mix]) {
      keel.Apply(c);
      baseline.Apply(c);
    }
    if (keel.trades() != baseline.trades()) {
      std::fprintf(stderr, "%s: keel made %zu trades, the baseline %zu\n", kMixes[mix].name,
                   keel.trades(), baseline.trades());
      std::abort();
    }
  }
  return workloads[mix];
}

double Percentile(std::vector<int64_t>& v, double p) {
  const size_t k =
      std::min(v.size() - 1, static_cast<size_t>(p / 100 * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]);
}

template <typename Runner>
void RunBook(benchmark::State& state) {
  const int mix = static_cast<int>(state.range(0));
  const std::vector<Command>& commands = Workload(mix);
  size_t trades = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto runner = std::make_unique<Runner>();
    state.ResumeTiming();
    for (const Command& c : commands) runner->Apply(c);
    benchmark::DoNotOptimize(runner.get());
    state.PauseTiming();
    trades = runner->trades();
    runner.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(commands.size()));
  state.counters["trades_per_message"] =
      static_cast<double>(trades) / static_cast<double>(commands.size());

  // Latency per message and allocations per message, in one more untimed pass each.
  auto runner = std::make_unique<Runner>();
  std::vector<int64_t> latencies;
  latencies.reserve(commands.size());
  for (const Command& c : commands) {
    const auto start = std::chrono::steady_clock::now();
    runner->Apply(c);
    latencies.push_back((std::chrono::steady_clock::now() - start).count());
  }
  // Allocations: a second pass over the same commands on a warm book would reject them all (the
  // ids are used), so the count is taken over the second half of a fresh run, after warm-up.
  runner = std::make_unique<Runner>();
  const size_t half = commands.size() / 2;
  for (size_t i = 0; i < half; ++i) runner->Apply(commands[i]);
  const size_t before = bench::HeapAllocations();
  for (size_t i = half; i < commands.size(); ++i) runner->Apply(commands[i]);
  const size_t allocations = bench::HeapAllocations() - before;
  state.counters["allocs_per_message"] =
      static_cast<double>(allocations) / static_cast<double>(commands.size() - half);
  state.counters["p50_ns"] = Percentile(latencies, 50);
  state.counters["p99_ns"] = Percentile(latencies, 99);
  state.counters["p99.9_ns"] = Percentile(latencies, 99.9);
  state.counters["p99.99_ns"] = Percentile(latencies, 99.99);
  state.SetLabel(kMixes[mix].name);
}

void BM_OrderBook_Keel(benchmark::State& state) { RunBook<KeelBook>(state); }
void BM_OrderBook_MapListBaseline(benchmark::State& state) { RunBook<BaselineBook>(state); }

BENCHMARK(BM_OrderBook_Keel)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_OrderBook_MapListBaseline)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace keel::market
