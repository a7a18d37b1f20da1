// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Exchange: the case study's whole order flow, wired from keel's parts.
//
//   client request -> ClientGateway (validation, normalisation, rate limit per client)
//                  -> OrderManager (risk check: cash or shares withheld)
//                  -> Sequencer (the command is logged to the write-ahead log, numbered, applied
//                     by the MatchingEngine, which numbers every event)
//                  -> the events go back to the OrderManager (holds released, fills settled) and
//                     on to the MarketDataPublisher (L2 depth, candlesticks) and the TradeHistory
//                     (the reporter)
//
// and beside the sequencer a Standby, a second engine following the same log, which takes over
// when the primary dies. The primary's events that never left it are the ones the standby
// produces for the log's tail as it takes over; they go downstream like any others, so the order
// manager, market data and reporter see one gap-free stream across the fail-over.
//
// Everything here is a thin composition; the parts are in include/keel/market/.
#ifndef KEEL_EXAMPLES_STOCK_EXCHANGE_EXCHANGE_H_
#define KEEL_EXAMPLES_STOCK_EXCHANGE_EXCHANGE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/base/clock.h"
#include "keel/market/gateway.h"
#include "keel/market/market_data.h"
#include "keel/market/matching_engine.h"
#include "keel/market/order_manager.h"
#include "keel/market/sequencer.h"
#include "keel/market/trade_history.h"

namespace keel::examples {

struct ExchangeOptions {
  market::GatewayOptions gateway = {};
  market::OrderManagerOptions risk = {};
  market::MarketDataOptions market_data = {};
  market::TradeHistoryOptions history = {};
  market::SequencerOptions sequencer = {};
};

// Where a request ended up.
enum class Stage : uint8_t { kGateway, kRisk, kEngine };

struct Outcome {
  Stage stage = Stage::kEngine;
  // kGateway, kRisk: why it was refused (the gateway's or order manager's explanation).
  absl::Status refusal;
  market::GatewayReject gateway = market::GatewayReject::kNone;
  market::RiskReject risk = market::RiskReject::kNone;
  // kEngine: the command's events (the engine may still reject it), valid until the next call.
  const std::vector<market::EngineEvent>* events = nullptr;
};

class Exchange {
 public:
  // Opens the command log in `dir` (replaying what it holds into the engine) and starts a standby
  // following it. REQUIRES: `clock` outlives the exchange; `dir` holds no log, or one whose
  // commands passed this exchange's risk checks (the order manager starts empty).
  static absl::StatusOr<std::unique_ptr<Exchange>> Open(const std::string& dir,
                                                        const ExchangeOptions& options,
                                                        const base::Clock& clock);

  market::ClientGateway& gateway() { return gateway_; }
  market::OrderManager& risk() { return risk_; }
  const market::MarketDataPublisher& market_data() const { return market_data_; }
  const market::TradeHistory& history() const { return history_; }
  const market::MatchingEngine& engine() const { return sequencer_->engine(); }
  // REQUIRES: a standby (none after a failed fail-over).
  const market::Standby& standby() const { return *standby_; }

  // One client request through the whole flow. Errors: the command log's (the primary is then
  // lost, as in a crash: nothing downstream changed, the command stays in flight in the order
  // manager since the log may hold it, and later calls fail), or a downstream consumer's;
  // kFailedPrecondition once the primary is lost or a fail-over has failed. Events are
  // stamped with the clock's time, or the last time stamped if the clock was set back.
  absl::StatusOr<Outcome> Handle(const market::OrderRequest& request);

  // Lets the standby apply what the primary has logged; returns how many commands it applied.
  // kFailedPrecondition when there is no primary or no standby (a failed fail-over).
  absl::StatusOr<uint64_t> FeedStandby();

  // The primary logs `request` (which must pass the gateway and the risk check) and dies before
  // its events leave it: the state the primary reached is returned as its hash. Then the standby
  // takes over the log; the events of the commands it had not applied yet (at least this one) go
  // downstream, and it becomes the primary, with a new standby following it. `tail` receives those
  // events. If the standby cannot take over, the error is returned and the exchange has no
  // primary and no standby from then on: every later call fails with kFailedPrecondition.
  struct FailOver {
    uint64_t primary_hash = 0;
    uint64_t successor_hash = 0;
    uint64_t commands_caught_up = 0;
    std::vector<market::EngineEvent> tail;
    market::EngineRecovery new_standby;  // how the successor's standby started
  };
  absl::StatusOr<FailOver> CrashAndFailOver(const market::OrderRequest& request);

  // The primary shuts down cleanly and its sequencer is opened again from disk, as after a restart
  // of its host: the newest snapshot plus the log after it. The order manager, market data and
  // the reporter keep their state (they follow the event stream, which goes on with the same
  // numbers). A new standby follows the reopened primary. If the reopening fails, the exchange has
  // no primary from then on, as after a failed fail-over.
  struct Restart {
    uint64_t hash_before = 0;
    uint64_t hash_after = 0;
    market::EngineRecovery recovery;  // how the reopened sequencer rebuilt its engine
    market::EngineRecovery standby;   // how the new standby started
  };
  absl::StatusOr<Restart> RestartPrimary();

  // The primary's sequencer. REQUIRES: a primary.
  const market::Sequencer& sequencer() const { return *sequencer_; }

 private:
  Exchange(std::string dir, const ExchangeOptions& options, const base::Clock& clock,
           market::ClientGateway gateway, market::MarketDataPublisher market_data,
           market::TradeHistory history)
      : dir_(std::move(dir)),
        options_(options),
        clock_(clock),
        gateway_(std::move(gateway)),
        risk_(options.risk),
        market_data_(std::move(market_data)),
        history_(std::move(history)) {}

  // OK while there is a primary; kFailedPrecondition naming why the fail-over failed after.
  absl::Status Alive() const;
  // The gateway and the risk check: true if the request may go on to the sequencer, as `command`
  // (whose symbol points into the gateway until its next request); otherwise `refused` says who
  // refused it and why.
  bool Admit(const market::OrderRequest& request, market::Command& command, Outcome& refused);
  absl::Status LosePrimary(const absl::Status& error);
  // The order manager, market data and the reporter take one command's events.
  absl::Status Publish(const market::Command& command,
                       const std::vector<market::EngineEvent>& events);

  std::string dir_;
  ExchangeOptions options_;
  const base::Clock& clock_;
  market::ClientGateway gateway_;
  market::OrderManager risk_;
  market::MarketDataPublisher market_data_;
  market::TradeHistory history_;
  std::unique_ptr<market::Sequencer> sequencer_;
  std::unique_ptr<market::Standby> standby_;
  std::vector<market::EngineEvent> events_;
  absl::Status dead_;  // why there is no primary: a log error, or a failed take-over (OK until)
};

}  // namespace keel::examples

#endif  // KEEL_EXAMPLES_STOCK_EXCHANGE_EXCHANGE_H_
