// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The exchange's front: a client request through the gateway (authentication, rate limit,
// validation, normalisation) and the order manager's risk check (ownership, funds or shares
// withheld), then the engine's answer fed back to the order manager. The engine itself is left out
// (market_bench measures it): each request's answer (accepted, cancelled or modified) is generated
// with the request, before timing starts.
//
// Workload: 1,048,576 requests from 10,000 clients over 16 symbols, about 1 us apart; 60% new limit
// orders (buys and sells around 10,000 ticks), 25% cancels and 15% modifies of the client's own
// open orders (at most 8 open per client). Every client is funded so that every request passes
// (both implementations are checked to accept all of them), so the figure is the cost of the
// checks and the bookkeeping, not of rejections.
//
// Baseline: the same rules written the obvious way: a std::unordered_set of clients, a
// std::unordered_map of floating-point token buckets, the symbol upper-cased into a std::string,
// accounts in a std::unordered_map, positions in a std::map keyed by (client, symbol name), open
// orders in a std::unordered_map holding their symbol as a std::string.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/naive_token_bucket.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/market/gateway.h"
#include "keel/market/order_manager.h"

namespace keel::market {
namespace {

constexpr size_t kRequests = size_t{1} << 20;
constexpr ClientId kClients = 10'000;
constexpr int kSymbols = 16;
constexpr size_t kMaxOpenPerClient = 8;
constexpr int64_t kCashPerClient = int64_t{1} << 40;
constexpr Quantity kSharesPerClient = Quantity{1} << 30;
constexpr ratelimit::Rate kRate = {.interval_ns = base::kNanosPerMilli, .burst = 64};

const char* const kSymbolNames[kSymbols] = {"aapl", "msft", "goog",  "amzn", "meta", "tsla",
                                            "nvda", "jpm",  "v",     "ma",   "unh",  "hd",
                                            "pg",   "xom",  "brk.b", "lly"};
std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
  return out;
}

struct Step {
  int64_t time_ns = 0;
  OrderRequest request;
  EngineEvent answer;  // what the engine would say
};

struct Workload {
  std::vector<Step> steps;
  std::vector<std::string> upper_names;
};

Event Answer(EventKind kind, Side side, OrderId id, Price price, Quantity quantity) {
  Event e;
  e.kind = kind;
  e.side = side;
  e.order_id = id;
  e.price = price;
  e.quantity = quantity;
  return e;
}

const Workload& TheWorkload() {
  static const Workload workload = [] {
    Workload w;
    for (const char* name : kSymbolNames) w.upper_names.push_back(Upper(name));
    base::Random rng(2026);
    struct Open {
      OrderId id;
      Side side;
      Quantity quantity;
    };
    std::vector<std::vector<Open>> open(kClients);
    OrderId next_id = 1;
    int64_t now = base::kNanosPerSecond;
    w.steps.reserve(kRequests);
    while (w.steps.size() < kRequests) {
      now += static_cast<int64_t>(rng.Uniform(2000));
      const ClientId client = rng.Uniform(kClients);
      std::vector<Open>& mine = open[client];
      const uint64_t what = rng.Uniform(100);
      Step s;
      s.time_ns = now;
      s.request.client = client;
      if (mine.empty() || (what < 60 && mine.size() < kMaxOpenPerClient)) {
        const Side side = rng.Uniform(2) == 0 ? Side::kBuy : Side::kSell;
        const auto quantity = static_cast<Quantity>(1 + rng.Uniform(100));
        const auto price = static_cast<Price>(9'900 + rng.Uniform(200));
        s.request = {.kind = RequestKind::kNew,
                     .client = client,
                     .order_id = next_id,
                     .symbol = kSymbolNames[rng.Uniform(kSymbols)],
                     .side = side,
                     .price = price,
                     .quantity = quantity};
        s.answer.event = Answer(EventKind::kAccepted, side, next_id, price, quantity);
        mine.push_back({next_id++, side, quantity});
      } else if (what < 85) {
        const size_t k = rng.Uniform(mine.size());
        s.request = {.kind = RequestKind::kCancel, .client = client, .order_id = mine[k].id};
        s.answer.event =
            Answer(EventKind::kCancelled, mine[k].side, mine[k].id, 0, mine[k].quantity);
        s.answer.event.cancel = CancelReason::kRequested;
        mine[k] = mine.back();
        mine.pop_back();
      } else {
        Open& o = mine[rng.Uniform(mine.size())];
        const auto quantity = static_cast<Quantity>(1 + rng.Uniform(100));
        const auto price = static_cast<Price>(9'900 + rng.Uniform(200));
        s.request = {.kind = RequestKind::kModify,
                     .client = client,
                     .order_id = o.id,
                     .price = price,
                     .quantity = quantity};
        s.answer.event = Answer(EventKind::kModified, o.side, o.id, price, quantity);
        o.quantity = quantity;
      }
      w.steps.push_back(s);
    }
    return w;
  }();
  return workload;
}

// ---------------------------------------------------------------------------------------------
// The baseline.
// ---------------------------------------------------------------------------------------------

class NaiveFront {
 public:
  NaiveFront() {
    for (ClientId c = 0; c < kClients; ++c) {
      clients_.insert(c);
      accounts_[c].balance = kCashPerClient;
      for (const char* name : kSymbolNames) positions_[{c, Upper(name)}].shares = kSharesPerClient;
    }
  }

  // Returns whether the request passed both the gateway's and the risk check's rules.
  bool Submit(const Step& step) {
    const OrderRequest& r = step.request;
    if (!clients_.contains(r.client)) return false;
    if (!TakeToken(r.client, step.time_ns)) return false;
    switch (r.kind) {
      case RequestKind::kNew:
        return New(r);
      case RequestKind::kCancel:
        return Cancel(r, step.answer.event);
      case RequestKind::kModify:
        return Modify(r, step.answer.event);
    }
    return false;
  }

 private:
  struct Account {
    int64_t balance = 0;
    int64_t held = 0;
  };
  struct Position {
    int64_t shares = 0;
    int64_t held = 0;
  };
  struct Order {
    ClientId client;
    std::string symbol;
    Side side;
    Price price;
    Quantity open;
    int64_t hold;
  };

  bool TakeToken(ClientId client, int64_t now) { return buckets_.TryAcquire(client, now); }

  static bool ValidSymbol(const std::string& s) {
    if (s.empty() || s.size() > kMaxSymbolBytes) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    });
  }

  void Hold(const Order& o, int64_t delta) {
    if (o.side == Side::kBuy) {
      accounts_[o.client].held += delta;
    } else {
      positions_[{o.client, o.symbol}].held += delta;
    }
  }

  // The engine's answer to a new order is "accepted" (it rests): nothing more to do.
  bool New(const OrderRequest& r) {
    std::string symbol = Upper(r.symbol);
    if (!ValidSymbol(symbol)) return false;
    if (r.quantity < 1 || r.quantity > kMaxQuantity || r.price < 1 || r.price > kMaxPrice) {
      return false;
    }
    if (orders_.contains(r.order_id)) return false;
    Order o{r.client, std::move(symbol), r.side, r.price, r.quantity, 0};
    if (r.side == Side::kBuy) {
      if (r.quantity > kMaxTotalCash / r.price) return false;
      o.hold = r.price * r.quantity;
      const Account& a = accounts_[r.client];
      if (o.hold > a.balance - a.held) return false;
    } else {
      o.hold = r.quantity;
      const Position& p = positions_[{r.client, o.symbol}];
      if (o.hold > p.shares - p.held) return false;
    }
    Hold(o, o.hold);
    orders_.emplace(r.order_id, std::move(o));
    return true;
  }

  bool Cancel(const OrderRequest& r, const Event& answer) {
    const auto it = orders_.find(r.order_id);
    if (it == orders_.end() || it->second.client != r.client) return false;
    // The engine's answer: cancelled with everything left.
    Order& o = it->second;
    if (answer.quantity != o.open) return false;
    Hold(o, -o.hold);
    orders_.erase(it);
    return true;
  }

  bool Modify(const OrderRequest& r, const Event& answer) {
    const auto it = orders_.find(r.order_id);
    if (it == orders_.end() || it->second.client != r.client) return false;
    if (r.quantity < 1 || r.quantity > kMaxQuantity || r.price < 1 || r.price > kMaxPrice) {
      return false;
    }
    Order& o = it->second;
    int64_t hold = r.quantity;
    if (o.side == Side::kBuy) {
      if (r.quantity > kMaxTotalCash / r.price) return false;
      hold = r.price * r.quantity;
      const Account& a = accounts_[o.client];
      if (hold - o.hold > a.balance - a.held) return false;
    } else {
      const Position& p = positions_[{o.client, o.symbol}];
      if (hold - o.hold > p.shares - p.held) return false;
    }
    // The engine's answer: modified.
    Hold(o, hold - o.hold);
    o.hold = hold;
    o.price = answer.price;
    o.open = answer.quantity;
    return true;
  }

  std::unordered_set<ClientId> clients_;
  bench::NaiveTokenBuckets buckets_{kRate};
  std::unordered_map<ClientId, Account> accounts_;
  std::map<std::pair<ClientId, std::string>, Position> positions_;
  std::unordered_map<OrderId, Order> orders_;
};

// ---------------------------------------------------------------------------------------------
// keel's gateway and order manager.
// ---------------------------------------------------------------------------------------------

struct KeelFront {
  explicit KeelFront(const base::Clock& clock)
      : gateway(*ClientGateway::Create({.rate = kRate}, clock)), risk({}) {
    for (ClientId c = 0; c < kClients; ++c) {
      (void)gateway.AddClient(c);
      (void)risk.OpenAccount(c);
      (void)risk.Deposit(c, kCashPerClient);
      for (const std::string& name : TheWorkload().upper_names) {
        (void)risk.DepositShares(c, name, kSharesPerClient);
      }
    }
  }

  bool Submit(const Step& step) {
    const GatewayDecision d = gateway.Accept(step.request);
    if (!d.ok()) return false;
    if (!risk.Check(d.command).ok()) return false;
    risk.OnEvents(std::span<const EngineEvent>(&step.answer, 1));
    return true;
  }

  ClientGateway gateway;
  OrderManager risk;
};

void BM_GatewayAndRisk_Keel(benchmark::State& state) {
  const Workload& w = TheWorkload();
  size_t passed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    base::ManualClock clock(0);
    auto front = std::make_unique<KeelFront>(clock);
    passed = 0;
    state.ResumeTiming();
    for (const Step& s : w.steps) {
      clock.Set(s.time_ns);
      passed += front->Submit(s);
    }
    state.PauseTiming();
    front.reset();
    state.ResumeTiming();
  }
  if (passed != w.steps.size())
    state.SkipWithError("keel rejected a request the workload meant to pass");
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(w.steps.size()));
}

void BM_GatewayAndRisk_MapBaseline(benchmark::State& state) {
  const Workload& w = TheWorkload();
  size_t passed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto front = std::make_unique<NaiveFront>();
    passed = 0;
    state.ResumeTiming();
    for (const Step& s : w.steps) passed += front->Submit(s);
    state.PauseTiming();
    front.reset();
    state.ResumeTiming();
  }
  if (passed != w.steps.size()) {
    state.SkipWithError("the baseline rejected a request the workload meant to pass");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(w.steps.size()));
}

BENCHMARK(BM_GatewayAndRisk_Keel)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GatewayAndRisk_MapBaseline)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace keel::market
