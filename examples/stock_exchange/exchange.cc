// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "exchange.h"

#include <algorithm>
#include <span>
#include <utility>

#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::examples {

absl::StatusOr<std::unique_ptr<Exchange>> Exchange::Open(const std::string& dir,
                                                         const ExchangeOptions& options,
                                                         const base::Clock& clock) {
  KEEL_ASSIGN_OR_RETURN(market::ClientGateway gateway,
                        market::ClientGateway::Create(options.gateway, clock));
  KEEL_ASSIGN_OR_RETURN(market::MarketDataPublisher market_data,
                        market::MarketDataPublisher::Create(options.market_data));
  KEEL_ASSIGN_OR_RETURN(market::TradeHistory history,
                        market::TradeHistory::Create(options.history));
  std::unique_ptr<Exchange> exchange(new Exchange(dir, options, clock, std::move(gateway),
                                                  std::move(market_data), std::move(history)));
  KEEL_ASSIGN_OR_RETURN(exchange->sequencer_, market::Sequencer::Open(dir, options.sequencer));
  if (exchange->sequencer_->engine().commands() > 0) {
    return absl::FailedPreconditionError(
        base::Cat(dir, " already holds a command log: this example starts a fresh exchange"));
  }
  KEEL_ASSIGN_OR_RETURN(exchange->standby_,
                        market::Standby::Follow(*exchange->sequencer_, options.sequencer.engine));
  return exchange;
}

absl::Status Exchange::Alive() const {
  if (sequencer_ == nullptr) {
    return absl::FailedPreconditionError(
        base::Cat("the exchange has no primary: ", dead_.message()));
  }
  return absl::OkStatus();
}

// A log write failed: the command may or may not be in the log (as after a crash), and the log
// refuses writes from then on, so this primary is lost. The command's hold stays in flight in the
// order manager: giving it back could be wrong, since a replay of the log may yet apply it.
absl::Status Exchange::LosePrimary(const absl::Status& error) {
  standby_.reset();  // it follows the lost primary's log
  sequencer_.reset();
  dead_ = error;
  return error;
}

absl::StatusOr<uint64_t> Exchange::FeedStandby() {
  KEEL_RETURN_IF_ERROR(Alive());
  if (standby_ == nullptr) return absl::FailedPreconditionError("the exchange has no standby");
  return standby_->CatchUp();
}

bool Exchange::Admit(const market::OrderRequest& request, market::Command& command,
                     Outcome& refused) {
  const market::GatewayDecision admitted = gateway_.Accept(request);
  if (!admitted.ok()) {
    refused.stage = Stage::kGateway;
    refused.gateway = admitted.reject;
    refused.refusal = gateway_.Explain(request, admitted);
    return false;
  }
  command = admitted.command;
  const market::RiskDecision checked = risk_.Check(command);
  if (!checked.ok()) {
    refused.stage = Stage::kRisk;
    refused.risk = checked.reject;
    refused.refusal = risk_.Explain(command, checked);
    return false;
  }
  return true;
}

absl::StatusOr<Outcome> Exchange::Handle(const market::OrderRequest& request) {
  KEEL_RETURN_IF_ERROR(Alive());
  Outcome outcome;
  market::Command command;
  if (!Admit(request, command, outcome)) return outcome;
  events_.clear();
  const absl::StatusOr<uint64_t> sequenced = sequencer_->Submit(command, events_);
  if (!sequenced.ok()) return LosePrimary(sequenced.status());
  KEEL_RETURN_IF_ERROR(Publish(command, events_));
  outcome.events = &events_;
  return outcome;
}

absl::Status Exchange::Publish(const market::Command& command,
                               const std::vector<market::EngineEvent>& events) {
  risk_.OnEvents(events);
  // Market data and the reporter refuse a time before the last one they saw; a wall clock
  // (SystemClock) may be set back, and its events still happened after the ones before.
  const int64_t now = std::max(clock_.NowNanos(), market_data_.time_ns());
  KEEL_RETURN_IF_ERROR(market_data_.Apply(events, now));
  return history_.Apply(std::span<const market::Command>(&command, 1), events, now);
}

absl::StatusOr<Exchange::FailOver> Exchange::CrashAndFailOver(const market::OrderRequest& request) {
  KEEL_RETURN_IF_ERROR(Alive());
  Outcome refused;
  market::Command command;
  if (!Admit(request, command, refused)) return refused.refusal;

  FailOver result;
  events_.clear();
  const absl::StatusOr<uint64_t> sequenced = sequencer_->Submit(command, events_);
  if (!sequenced.ok()) return LosePrimary(sequenced.status());
  // The command is in the log and applied; the primary dies before its events go anywhere.
  result.primary_hash = sequencer_->engine().StateHash();
  const uint64_t published = market_data_.next_sequence();
  sequencer_.reset();

  const uint64_t standby_had = standby_->engine().commands();
  std::vector<market::EngineEvent> applied;
  absl::StatusOr<std::unique_ptr<market::Sequencer>> successor =
      market::Standby::TakeOver(standby_, dir_, options_.sequencer, applied);
  if (!successor.ok()) {
    // No primary: the standby (if TakeOver left it) follows a log that died with the primary, and
    // the crashed command stays in flight in the order manager, its fate in the log unknown.
    standby_.reset();
    dead_ = successor.status();
    return successor.status();
  }
  sequencer_ = *std::move(successor);
  result.successor_hash = sequencer_->engine().StateHash();
  result.commands_caught_up = sequencer_->engine().commands() - standby_had;
  // The tail the standby applied repeats events the primary had already published (those of the
  // commands it logged since the standby last caught up), with the same numbers: only the crashed
  // command's are new downstream.
  for (const market::EngineEvent& e : applied) {
    if (e.sequence >= published) result.tail.push_back(e);
  }
  // A new standby follows the new primary's log (the old one was consumed), whatever happens
  // downstream.
  absl::StatusOr<std::unique_ptr<market::Standby>> follower =
      market::Standby::Follow(*sequencer_, options_.sequencer.engine);
  const absl::Status published_downstream = Publish(command, result.tail);
  KEEL_ASSIGN_OR_RETURN(standby_, std::move(follower));
  result.new_standby = standby_->recovery();
  KEEL_RETURN_IF_ERROR(published_downstream);
  return result;
}

absl::StatusOr<Exchange::Restart> Exchange::RestartPrimary() {
  KEEL_RETURN_IF_ERROR(Alive());
  Restart result;
  result.hash_before = sequencer_->engine().StateHash();
  standby_.reset();  // it follows the log of the sequencer about to close
  sequencer_.reset();
  absl::StatusOr<std::unique_ptr<market::Sequencer>> reopened =
      market::Sequencer::Open(dir_, options_.sequencer);
  if (!reopened.ok()) {
    dead_ = reopened.status();
    return reopened.status();
  }
  sequencer_ = *std::move(reopened);
  result.hash_after = sequencer_->engine().StateHash();
  result.recovery = sequencer_->recovery();
  KEEL_ASSIGN_OR_RETURN(standby_, market::Standby::Follow(*sequencer_, options_.sequencer.engine));
  result.standby = standby_->recovery();
  return result;
}

}  // namespace keel::examples
