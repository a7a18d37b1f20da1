// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The demo's second half: a generated trading session through the whole exchange (gateway, order
// manager, sequencer and matching engine, market data, reporter, warm standby; exchange.h), on a
// simulated clock, ending with a candlestick chart, the books as market data rebuilt them, a
// client's fills, the primary's crash and fail-over, and the successor's restart from its newest
// snapshot.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exchange.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::examples {
namespace {

using market::ClientId;
using market::OrderId;
using market::OrderRequest;
using market::OrderType;
using market::Price;
using market::Quantity;
using market::RequestKind;
using market::Side;
using market::TimeInForce;

constexpr int64_t kMinute = 60 * base::kNanosPerSecond;
constexpr int64_t kOpening = 9 * 60 * kMinute + 30 * kMinute;  // 09:30, the session's start
constexpr ClientId kFirstMaker = 1, kMakers = 4;               // market makers 1 to 4
constexpr ClientId kFirstTrader = 11, kTraders = 20;           // traders 11 to 30
constexpr ClientId kFlooder = 90, kBroke = 91, kStranger = 777;
constexpr std::string_view kSymbols[] = {"ACME", "BOLT"};

std::string Clock(int64_t ns) {
  const int64_t minutes = ns / kMinute;
  return base::Cat(minutes / 60 < 10 ? "0" : "", minutes / 60, ":", minutes % 60 < 10 ? "0" : "",
                   minutes % 60);
}

std::string Money(int64_t ticks) {  // a price in cents, as dollars
  return base::Cat(ticks / 100, ".", ticks % 100 < 10 ? "0" : "", ticks % 100);
}

// The simulated market: a fair price per symbol that wanders, market makers quoting around it and
// traders taking liquidity. Every order id is fresh; the makers remember their resting orders.
class Flow {
 public:
  explicit Flow(uint64_t seed) : rng_(seed) {}

  // The next request. Orders the order manager no longer has open (filled, or cancelled by the
  // engine) are forgotten first, so that the makers cancel and move live orders.
  OrderRequest Next(const market::OrderManager& risk) {
    const size_t s = rng_.Uniform(2);
    Wander(s);
    const uint64_t roll = rng_.Uniform(100);
    if (roll < 40) return Quote(s);
    if (roll < 70) {
      // A maker pulls or moves one of its orders (or quotes, when it has none left).
      const ClientId maker = kFirstMaker + rng_.Uniform(kMakers);
      std::vector<OrderId>& live = resting_[maker];
      std::erase_if(live, [&](OrderId id) { return !risk.FindOrder(id).has_value(); });
      if (live.empty()) return Quote(s);
      const size_t i = rng_.Uniform(live.size());
      OrderRequest r = Request(maker, live[i]);
      if (roll < 60) {
        r.kind = RequestKind::kCancel;
        live[i] = live.back();
        live.pop_back();
      } else {
        // A move: the maker re-prices the order near the fair price of its symbol, same side.
        const Side side = sides_[live[i]];
        r.kind = RequestKind::kModify;
        r.price = PassivePrice(symbol_of_[live[i]], side);
        r.quantity = 10 + rng_.Uniform(190);
      }
      return r;
    }
    // A trader takes liquidity: an IOC limit a little through the fair price, or a market order.
    OrderRequest r = Request(kFirstTrader + rng_.Uniform(kTraders), next_id_++);
    r.symbol = kSymbols[s];
    r.side = rng_.Uniform(2) == 0 ? Side::kBuy : Side::kSell;
    r.tif = TimeInForce::kImmediateOrCancel;
    r.quantity = 1 + rng_.Uniform(60);
    const int64_t through = static_cast<int64_t>(rng_.Uniform(4));
    r.price = r.side == Side::kBuy ? fair_[s] + through : fair_[s] - through;
    if (rng_.Uniform(10) == 0) {
      r.type = OrderType::kMarket;
      r.price = r.side == Side::kBuy ? fair_[s] + 25 : 0;  // a market buy's protection price
    }
    return r;
  }

  // An immediate-or-cancel buy or sell of `quantity` a little through the fair price.
  OrderRequest Buy(ClientId client, size_t s, Quantity quantity) {
    return Take(client, s, Side::kBuy, quantity);
  }
  OrderRequest Sell(ClientId client, size_t s, Quantity quantity) {
    return Take(client, s, Side::kSell, quantity);
  }

  // The gap to the next request: 0 to 40 ms, 20 ms on average.
  int64_t Gap() { return static_cast<int64_t>(rng_.Uniform(40'000)) * 1000; }

 private:
  static OrderRequest Request(ClientId client, OrderId id) {
    OrderRequest r;
    r.client = client;
    r.order_id = id;
    return r;
  }

  OrderRequest Take(ClientId client, size_t s, Side side, Quantity quantity) {
    OrderRequest r = Request(client, next_id_++);
    r.symbol = kSymbols[s];
    r.side = side;
    r.tif = TimeInForce::kImmediateOrCancel;
    r.price = side == Side::kBuy ? fair_[s] + 2 : fair_[s] - 2;
    r.quantity = quantity;
    return r;
  }

  OrderRequest Quote(size_t s) {
    const ClientId maker = kFirstMaker + rng_.Uniform(kMakers);
    OrderRequest r = Request(maker, next_id_++);
    r.symbol = kSymbols[s];
    r.side = rng_.Uniform(2) == 0 ? Side::kBuy : Side::kSell;
    r.price = PassivePrice(s, r.side);
    r.quantity = 10 + rng_.Uniform(190);
    resting_[maker].push_back(r.order_id);
    sides_[r.order_id] = r.side;
    symbol_of_[r.order_id] = s;
    return r;
  }

  Price PassivePrice(size_t s, Side side) {
    const int64_t away = 1 + static_cast<int64_t>(rng_.Uniform(8));
    return side == Side::kBuy ? fair_[s] - away : fair_[s] + away;
  }

  // A random walk with a drift that changes every few minutes, so that the chart has trends.
  void Wander(size_t s) {
    if (rng_.Uniform(9'000) == 0) drift_[s] = static_cast<int>(rng_.Uniform(3)) - 1;
    if (rng_.Uniform(40) == 0) fair_[s] += static_cast<int64_t>(rng_.Uniform(7)) - 3;
    if (rng_.Uniform(400) == 0) fair_[s] += drift_[s];
    fair_[s] = std::max<int64_t>(fair_[s], 500);
  }

  base::Random rng_;
  OrderId next_id_ = 1;
  Price fair_[2] = {10'000, 2'500};
  int drift_[2] = {1, -1};
  std::map<ClientId, std::vector<OrderId>> resting_;
  std::map<OrderId, Side> sides_;
  std::map<OrderId, size_t> symbol_of_;
};

// One column per candle: the wick '|' from low to high, the body from open to close ('#' when
// the price rose or stayed, '=' when it fell), prices on the left, the time below.
void DrawCandles(const std::vector<market::Candle>& candles) {
  if (candles.empty()) return;
  Price low = candles[0].low, high = candles[0].high;
  for (const market::Candle& c : candles) {
    low = std::min(low, c.low);
    high = std::max(high, c.high);
  }
  const int rows = 14;
  const double step = std::max(1.0, static_cast<double>(high - low) / (rows - 1));
  for (int row = rows - 1; row >= 0; --row) {
    const double band_low = static_cast<double>(low) + row * step;
    const double band_high = band_low + step;
    std::string label = Money(static_cast<int64_t>(band_low));
    label.insert(0, label.size() < 8 ? 8 - label.size() : 0, ' ');
    std::string line = base::Cat("  ", label, " |");
    for (const market::Candle& c : candles) {
      const auto body_low = static_cast<double>(std::min(c.open, c.close));
      const auto body_high = static_cast<double>(std::max(c.open, c.close));
      const bool in_body = body_low < band_high && body_high >= band_low;
      const bool in_wick =
          static_cast<double>(c.low) < band_high && static_cast<double>(c.high) >= band_low;
      line += in_body ? (c.close >= c.open ? '#' : '=') : in_wick ? '|' : ' ';
      line += ' ';
    }
    std::printf("%s\n", line.c_str());
  }
  std::string axis(12, ' ');
  for (size_t i = 0; i < candles.size(); i += 5) {
    std::string label = Clock(candles[i].start_ns);
    label.resize(10, ' ');
    axis += label;
  }
  std::printf("%s\n", axis.c_str());
}

struct Tally {
  uint64_t requests = 0, sequenced = 0, engine_rejected = 0, trades = 0, events = 0;
  std::map<std::string, uint64_t> refused;  // "gateway: rate_limited" -> count

  void Count(const Outcome& o) {
    ++requests;
    if (o.stage == Stage::kGateway) {
      ++refused[base::Cat("gateway: ", market::GatewayRejectName(o.gateway))];
      return;
    }
    if (o.stage == Stage::kRisk) {
      ++refused[base::Cat("order manager: ", market::RiskRejectName(o.risk))];
      return;
    }
    ++sequenced;
    events += o.events->size();
    for (const market::EngineEvent& e : *o.events) {
      if (e.event.kind == market::EventKind::kTrade) ++trades;
      if (e.event.kind == market::EventKind::kRejected) ++engine_rejected;
    }
  }
};

double MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// Where an engine started, in a sentence's words: a sequencer's (which applied the log's tail
// there and then) or a standby's (which reads the log from there as it catches up).
std::string StartedFrom(const market::EngineRecovery& r, bool standby) {
  if (!r.from_snapshot) return "from the log's start";
  if (standby) return base::Cat("from the snapshot after command ", r.snapshot);
  return base::Cat("from the snapshot after command ", r.snapshot, " and the ", r.replayed,
                   " commands logged after it");
}

// The baseline a snapshot saves: every logged command applied again to a fresh engine.
struct ReplayTiming {
  uint64_t commands = 0;
  uint64_t hash = 0;
  double ms = 0;
};
absl::StatusOr<ReplayTiming> ReplayFromStart(const market::Sequencer& sequencer,
                                             const ExchangeOptions& options) {
  const auto began = std::chrono::steady_clock::now();
  market::MatchingEngine engine(options.sequencer.engine);
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogReader> reader, sequencer.log().NewReader(0));
  std::vector<market::EngineEvent> events;
  for (;;) {
    KEEL_ASSIGN_OR_RETURN(const std::optional<wal::RecordView> record, reader->Next());
    if (!record) break;
    KEEL_ASSIGN_OR_RETURN(const market::Command command, market::DecodeCommand(record->payload));
    events.clear();
    engine.Apply(command, events);
  }
  return ReplayTiming{engine.commands(), engine.StateHash(), MillisSince(began)};
}

void Show(const Outcome& o, std::string_view what) {
  std::printf("    %-52.*s -> ", static_cast<int>(what.size()), what.data());
  if (o.stage == Stage::kEngine) {
    std::printf("sequenced, %zu events\n", o.events->size());
  } else {
    std::printf("refused: %s\n", std::string(o.refusal.message()).c_str());
  }
}

}  // namespace

int TradingSession(bool short_run) {
  const int64_t length = (short_run ? 10 : 30) * kMinute;
  std::printf(
      "\n== A trading session through the whole exchange ==\n"
      "Every request passes the client gateway (validation, a token bucket per client), the order\n"
      "manager (cash or shares withheld before the order reaches the book), the sequencer (logged\n"
      "to a keel write-ahead log, numbered, matched), and its events go back to the order manager\n"
      "and on to market data (L2, candlesticks) and the reporter (trade history). A warm standby\n"
      "follows the log, and every 10,000 commands the sequencer snapshots the engine's state.\n"
      "%lld simulated minutes from 09:30, a request every 20 ms on average.\n\n",
      static_cast<long long>(length / kMinute));

  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / base::Cat("keel_exchange_session_", ::getpid());
  std::filesystem::remove_all(dir);
  base::ManualClock clock(kOpening);
  ExchangeOptions options;
  options.market_data.candle_interval_ns = kMinute;
  options.sequencer.sync = wal::SyncPolicy::kNone;      // the demo's speed; the default syncs each
  options.sequencer.snapshots.every_commands = 10'000;  // the default is a million
  absl::StatusOr<std::unique_ptr<Exchange>> opened = Exchange::Open(dir.string(), options, clock);
  if (!opened.ok()) {
    std::fprintf(stderr, "cannot open the exchange: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  Exchange& exchange = **opened;
  auto fail = [&](const absl::Status& status) {
    std::fprintf(stderr, "the exchange failed: %s\n", status.ToString().c_str());
    std::filesystem::remove_all(dir);
    return 1;
  };

  // Accounts: the makers and traders are funded with cash (in cents) and shares of both symbols.
  auto open_account = [&](ClientId c, int64_t cash, Quantity shares) -> absl::Status {
    KEEL_RETURN_IF_ERROR(exchange.gateway().AddClient(c));
    KEEL_RETURN_IF_ERROR(exchange.risk().OpenAccount(c));
    if (cash > 0) KEEL_RETURN_IF_ERROR(exchange.risk().Deposit(c, cash));
    for (std::string_view s : kSymbols) {
      if (shares > 0) KEEL_RETURN_IF_ERROR(exchange.risk().DepositShares(c, s, shares));
    }
    return absl::OkStatus();
  };
  for (ClientId c = kFirstMaker; c < kFirstMaker + kMakers; ++c) {
    if (absl::Status s = open_account(c, 50'000'000'000, 10'000'000); !s.ok()) return fail(s);
  }
  for (ClientId c = kFirstTrader; c < kFirstTrader + kTraders; ++c) {
    if (absl::Status s = open_account(c, 500'000'000, 1'000'000); !s.ok()) return fail(s);
  }
  if (absl::Status s = open_account(kFlooder, 100'000'000, 1'000); !s.ok()) return fail(s);
  if (absl::Status s = open_account(kBroke, 1'000, 0); !s.ok()) return fail(s);
  const int64_t cash_at_open = exchange.risk().total_cash();

  Flow flow(2026);
  Tally tally;
  auto send = [&](const OrderRequest& r) -> absl::StatusOr<Outcome> {
    absl::StatusOr<Outcome> outcome = exchange.Handle(r);
    if (outcome.ok()) tally.Count(*outcome);
    return outcome;
  };

  std::printf("Some requests the flow refuses, and why:\n");
  bool shown = false;
  const int64_t end = kOpening + length;
  while (clock.NowNanos() < end) {
    clock.Advance(flow.Gap());
    absl::StatusOr<Outcome> outcome = send(flow.Next(exchange.risk()));
    if (!outcome.ok()) return fail(outcome.status());
    if (tally.requests % 1000 == 0) {
      if (absl::StatusOr<uint64_t> fed = exchange.FeedStandby(); !fed.ok()) {
        return fail(fed.status());
      }
    }
    if (!shown && clock.NowNanos() >= kOpening + 2 * kMinute) {
      shown = true;
      // A client sends 30 orders at once: its bucket holds 20.
      uint64_t limited = 0;
      for (int i = 0; i < 30; ++i) {
        absl::StatusOr<Outcome> o = send(flow.Buy(kFlooder, 0, 1));
        if (!o.ok()) return fail(o.status());
        if (o->stage == Stage::kGateway && o->gateway == market::GatewayReject::kRateLimited) {
          if (++limited == 1) Show(*o, "client 90 sends 30 orders in one instant");
        }
      }
      std::printf("    %-52s    (%llu of the 30 refused)\n", "",
                  static_cast<unsigned long long>(limited));
      clock.Advance(base::kNanosPerSecond);  // its bucket refills
      const OrderRequest broke = flow.Buy(kBroke, 0, 50);
      absl::StatusOr<Outcome> o = send(broke);
      if (!o.ok()) return fail(o.status());
      Show(*o, "client 91, with $10.00, buys 50 ACME");
      const OrderRequest oversold = flow.Sell(kFlooder, 1, 5'000);
      o = send(oversold);
      if (!o.ok()) return fail(o.status());
      Show(*o, "client 90, with 1,000 BOLT, sells 5,000");
      OrderRequest stranger = flow.Buy(kStranger, 0, 1);
      o = send(stranger);
      if (!o.ok()) return fail(o.status());
      Show(*o, "an unknown client 777 sends an order");
      OrderRequest lower = flow.Buy(kFirstTrader, 0, 5);
      lower.symbol = "acme";
      o = send(lower);
      if (!o.ok()) return fail(o.status());
      Show(*o, "client 11 writes the symbol in lower case");
      OrderRequest zero = flow.Buy(kFirstTrader, 0, 0);
      o = send(zero);
      if (!o.ok()) return fail(o.status());
      Show(*o, "client 11 asks for 0 shares");
    }
  }

  // The primary dies right after logging one more order, before anyone hears of its events.
  const OrderRequest last = flow.Buy(kFirstTrader + 1, 0, 40);
  absl::StatusOr<Exchange::FailOver> failover = exchange.CrashAndFailOver(last);
  if (!failover.ok()) return fail(failover.status());
  ++tally.sequenced;
  tally.events += failover->tail.size();
  for (const market::EngineEvent& e : failover->tail) {
    if (e.event.kind == market::EventKind::kTrade) ++tally.trades;
  }

  std::printf("\nThe session's requests (%llu):\n",
              static_cast<unsigned long long>(tally.requests + 1));
  std::printf("    %-40s %llu (%llu events, %llu trades, %llu rejected by the engine)\n",
              "sequenced and matched", static_cast<unsigned long long>(tally.sequenced),
              static_cast<unsigned long long>(tally.events),
              static_cast<unsigned long long>(tally.trades),
              static_cast<unsigned long long>(tally.engine_rejected));
  for (const auto& [why, count] : tally.refused) {
    std::printf("    refused by the %-24s %llu\n", why.c_str(),
                static_cast<unsigned long long>(count));
  }

  const market::MatchingEngine& engine = exchange.engine();
  const uint32_t acme = engine.FindSymbol("ACME");
  std::vector<market::Candle> candles;
  exchange.market_data().Candles(acme, kOpening, end + kMinute, candles);
  std::printf("\nACME, one candle a minute, from the market data publisher's trades:\n\n");
  DrawCandles(candles);
  if (!candles.empty()) {
    const market::Candle& c = candles.back();
    std::printf("\n    last candle %s: open %s high %s low %s close %s, volume %lld in %llu %s\n",
                Clock(c.start_ns).c_str(), Money(c.open).c_str(), Money(c.high).c_str(),
                Money(c.low).c_str(), Money(c.close).c_str(), static_cast<long long>(c.volume),
                static_cast<unsigned long long>(c.trades), c.trades == 1 ? "trade" : "trades");
  }

  // Market data rebuilt the books from the events alone: they agree with the engine's.
  market::L2Snapshot snapshot;
  exchange.market_data().Snapshot(acme, 5, snapshot);
  std::vector<market::LevelView> bids, asks;
  engine.book(acme).Depth(Side::kBuy, 5, bids);
  engine.book(acme).Depth(Side::kSell, 5, asks);
  const bool same = snapshot.bids == bids && snapshot.asks == asks;
  std::printf("\nACME's L2 snapshot at event %llu (market data; %s the engine's own book):\n",
              static_cast<unsigned long long>(snapshot.sequence),
              same ? "identical to" : "DIFFERENT from");
  std::printf("    %-24s %s\n", "bids", "asks");
  for (size_t i = 0; i < std::max(snapshot.bids.size(), snapshot.asks.size()); ++i) {
    auto level = [](const std::vector<market::LevelView>& side, size_t at) {
      if (at >= side.size()) return std::string();
      return base::Cat(side[at].quantity, " @ ", Money(side[at].price), " (", side[at].orders, ")");
    };
    std::printf("    %-24s %s\n", level(snapshot.bids, i).c_str(), level(snapshot.asks, i).c_str());
  }

  // The reporter: a client's fills, with the counterparty's client.
  std::vector<market::TradeRecord> fills;
  const ClientId trader = kFirstTrader + 3;
  exchange.history().TradesOfClient(trader, fills);
  std::printf("\nThe reporter: %llu trades recorded; client %llu's last fills of %zu:\n",
              static_cast<unsigned long long>(exchange.history().recorded()),
              static_cast<unsigned long long>(trader), fills.size());
  for (size_t i = fills.size() > 3 ? fills.size() - 3 : 0; i < fills.size(); ++i) {
    const market::TradeRecord& t = fills[i];
    const bool bought = (t.taker_client == trader) == (t.taker_side == Side::kBuy);
    std::printf("    #%llu %s %s %lld %s @ %s from client %llu\n",
                static_cast<unsigned long long>(t.sequence), Clock(t.time_ns).c_str(),
                bought ? "bought" : "sold", static_cast<long long>(t.quantity),
                engine.symbol_name(t.symbol).c_str(), Money(t.price).c_str(),
                static_cast<unsigned long long>(t.taker_client == trader ? t.maker_client
                                                                         : t.taker_client));
  }
  const market::Cash cash = exchange.risk().cash(trader);
  const market::Holding acme_shares = exchange.risk().holding(trader, "ACME");
  std::printf(
      "    client %llu now: $%s (of which $%s withheld), %lld ACME\n"
      "    all clients' cash: $%s at the open, $%s now (trades move money, never make it)\n",
      static_cast<unsigned long long>(trader), Money(cash.balance).c_str(),
      Money(cash.held).c_str(), static_cast<long long>(acme_shares.shares),
      Money(cash_at_open).c_str(), Money(exchange.risk().total_cash()).c_str());

  std::printf(
      "\nThe primary crashed after logging client 12's last order, before publishing its events.\n"
      "    primary's state hash when it died:      %016llx\n"
      "    the standby took over: it applied the %llu commands it had not read and sequences on\n"
      "    successor's state hash:                 %016llx%s\n"
      "    the order's %zu events were published by the successor: the order manager, market data\n"
      "    and the reporter saw one gap-free stream.\n",
      static_cast<unsigned long long>(failover->primary_hash),
      static_cast<unsigned long long>(failover->commands_caught_up),
      static_cast<unsigned long long>(failover->successor_hash),
      failover->successor_hash == failover->primary_hash ? " (identical)" : " (DIFFERENT)",
      failover->tail.size());
  std::printf("    a new standby follows the successor, started %s.\n",
              StartedFrom(failover->new_standby, /*standby=*/true).c_str());

  // The successor's host restarts: its sequencer reopens from disk.
  const auto restart_began = std::chrono::steady_clock::now();
  absl::StatusOr<Exchange::Restart> restart = exchange.RestartPrimary();
  if (!restart.ok()) return fail(restart.status());
  const double restart_ms = MillisSince(restart_began);
  absl::StatusOr<ReplayTiming> replay = ReplayFromStart(exchange.sequencer(), options);
  if (!replay.ok()) return fail(replay.status());
  const bool restarted_same =
      restart->hash_after == restart->hash_before && replay->hash == restart->hash_before;
  std::printf(
      "\nThe successor's host restarted. Its sequencer reopened from disk in %.1f ms,\n"
      "    %s;\n"
      "    applying all %llu logged commands from the log's start instead takes %.1f ms.\n"
      "    state hash before the restart:          %016llx\n"
      "    after it:                               %016llx%s\n"
      "    from a replay of the whole log:         %016llx%s\n"
      "    its new standby started %s.\n",
      restart_ms, StartedFrom(restart->recovery, /*standby=*/false).c_str(),
      static_cast<unsigned long long>(replay->commands), replay->ms,
      static_cast<unsigned long long>(restart->hash_before),
      static_cast<unsigned long long>(restart->hash_after),
      restart->hash_after == restart->hash_before ? " (identical)" : " (DIFFERENT)",
      static_cast<unsigned long long>(replay->hash),
      replay->hash == restart->hash_before ? " (identical)" : " (DIFFERENT)",
      StartedFrom(restart->standby, /*standby=*/true).c_str());

  std::filesystem::remove_all(dir);
  const bool ok = same && failover->successor_hash == failover->primary_hash &&
                  exchange.risk().total_cash() == cash_at_open && restarted_same &&
                  restart->recovery.from_snapshot && failover->new_standby.from_snapshot;
  return ok ? 0 : 1;
}

}  // namespace keel::examples
