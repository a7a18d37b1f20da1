// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "digital_wallet/designs_saga.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "keel/base/assert.h"
#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::examples::wallet::designs {
namespace {

constexpr std::string_view kSagaFaults[] = {"credit-fails", "crash-in-step", "crash-between-steps",
                                            "debit-answer-lost", "credit-answers-lost"};
constexpr std::string_view kTransferSaga = "transfer";
constexpr int64_t kMs = base::kNanosPerMilli;
constexpr size_t kInputBytes = 32;

// The saga's input: the transfer, four fixed64s.
std::string EncodeTransfer(const Transfer& t) {
  std::string out;
  base::PutFixed64(out, t.id);
  base::PutFixed64(out, t.from);
  base::PutFixed64(out, t.to);
  base::PutFixed64(out, static_cast<uint64_t>(t.amount));
  return out;
}

absl::StatusOr<Transfer> DecodeTransfer(std::string_view input) {
  if (input.size() != kInputBytes) {
    return absl::InvalidArgumentError(
        base::Cat("a transfer saga's input is ", kInputBytes, " bytes, not ", input.size()));
  }
  const char* p = input.data();
  const uint64_t from = base::DecodeFixed64(p + 8);
  const uint64_t to = base::DecodeFixed64(p + 16);
  const auto amount = static_cast<int64_t>(base::DecodeFixed64(p + 24));
  if (from > kMaxWallets || to > kMaxWallets || amount <= 0) {
    return absl::InvalidArgumentError(base::Cat("bad transfer saga input ", base::Quoted(input)));
  }
  return Transfer{.id = base::DecodeFixed64(p),
                  .from = static_cast<WalletId>(from),
                  .to = static_cast<WalletId>(to),
                  .amount = amount};
}

std::string SagaId(TxnId txn) { return base::Cat("t", txn); }

saga::StepResult ToResult(SagaParticipant::Answer answer) {
  switch (answer) {
    case SagaParticipant::Answer::kDone:
      return saga::StepResult::Success();
    case SagaParticipant::Answer::kNoFunds:
      return saga::StepResult::NonRetryableFailure("InsufficientFunds");
    case SagaParticipant::Answer::kRejected:
      return saga::StepResult::NonRetryableFailure("AccountFrozen");
    case SagaParticipant::Answer::kCancelled:
      return saga::StepResult::NonRetryableFailure("AlreadyCompensated");
  }
  return saga::StepResult::NonRetryableFailure("UnknownAnswer");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Participant.

SagaParticipant::Answer SagaParticipant::Repeat(const Entry& entry) {
  switch (entry.state) {
    case State::kApplied:
      return Answer::kDone;
    case State::kNoFunds:
      return Answer::kNoFunds;
    case State::kRejected:
      return Answer::kRejected;
    case State::kUndone:
      return Answer::kCancelled;
  }
  return Answer::kCancelled;
}

SagaParticipant::Answer SagaParticipant::Debit(TxnId txn, WalletId wallet, int64_t amount) {
  if (auto it = debits_.find(txn); it != debits_.end()) return Repeat(it->second);
  Entry entry{.wallet = wallet, .amount = amount};
  if (!shard_.Debit(wallet, amount)) {
    entry.state = State::kNoFunds;
  } else {
    funds_->Take(wallet, amount);
  }
  debits_.emplace(txn, entry);
  return Repeat(entry);
}

SagaParticipant::Answer SagaParticipant::UndoDebit(TxnId txn) {
  auto it = debits_.find(txn);
  if (it == debits_.end()) {
    // Compensating a debit never seen: nothing to give back, and a tombstone so that the debit,
    // should it arrive late, is refused.
    debits_.emplace(txn, Entry{.state = State::kUndone});
    return Answer::kDone;
  }
  Entry& entry = it->second;
  if (entry.state == State::kApplied) {
    shard_.Credit(entry.wallet, entry.amount);
    funds_->Return(entry.amount);
    funds_->Release(entry.wallet, entry.amount);
  }
  entry.state = State::kUndone;
  return Answer::kDone;
}

SagaParticipant::Answer SagaParticipant::Credit(TxnId txn, WalletId wallet, int64_t amount) {
  if (auto it = credits_.find(txn); it != credits_.end()) return Repeat(it->second);
  Entry entry{.wallet = wallet, .amount = amount};
  if (std::exchange(fail_next_credit_, false)) {
    entry.state = State::kRejected;
  } else {
    shard_.Credit(wallet, amount);
    funds_->Deliver(amount);
  }
  credits_.emplace(txn, entry);
  return Repeat(entry);
}

SagaParticipant::Answer SagaParticipant::UndoCredit(TxnId txn) {
  auto it = credits_.find(txn);
  if (it == credits_.end()) {
    credits_.emplace(txn, Entry{.state = State::kUndone});
    return Answer::kDone;
  }
  Entry& entry = it->second;
  if (entry.state == State::kApplied) {
    // The saga's weak spot: the payee may have spent the credit already. Then the compensation
    // cannot run yet, and is retried.
    if (!shard_.Debit(entry.wallet, entry.amount)) return Answer::kNoFunds;
    funds_->TakeBack(entry.amount);
  }
  entry.state = State::kUndone;
  return Answer::kDone;
}

// ---------------------------------------------------------------------------------------------
// The design.

SagaDesign::SagaDesign(const Workload& workload) : shard_map_(workload.shard_map) {
  for (BalanceShard& shard : MakeBalanceShards(workload)) {
    participants_.emplace_back(std::move(shard), &funds_);
  }
}

SagaDesign::~SagaDesign() = default;

absl::StatusOr<std::unique_ptr<SagaDesign>> SagaDesign::Make(const Workload& workload) {
  std::unique_ptr<SagaDesign> design(new SagaDesign(workload));
  KEEL_ASSIGN_OR_RETURN(design->orchestrator_, design->OpenOrchestrator(0));
  return design;
}

std::string_view SagaDesign::guarantee() const {
  return "atomic in the end across shards: steps commit one by one and a failed step is "
         "compensated in reverse; no locks, and the debited money is invisible until the saga ends";
}

std::span<const std::string_view> SagaDesign::Points() { return kSagaFaults; }

void SagaDesign::Trace(std::string_view operation, TxnId txn) {
  if (trace_ != nullptr) trace_->push_back(base::Cat(operation, " t", txn));
}

saga::SagaDefinition SagaDesign::Definition() {
  // The callbacks answer inline, from the shard's local transaction; a fault decides whether
  // the answer reaches the orchestrator.
  auto payer = [this](const Transfer& t) -> SagaParticipant& {
    return participants_[shard_map_.ShardOf(t.from)];
  };
  auto payee = [this](const Transfer& t) -> SagaParticipant& {
    return participants_[shard_map_.ShardOf(t.to)];
  };
  auto step = [](auto body) {
    return [body](const saga::StepContext& c, saga::Completion done) {
      absl::StatusOr<Transfer> t = DecodeTransfer(c.input);
      if (!t.ok()) {
        done.Done(saga::StepResult::NonRetryableFailure("BadInput", t.status().ToString()));
        return;
      }
      body(*t, c, done);
    };
  };
  const saga::RetryPolicy action_retry{.initial_interval_ns = kMs, .maximum_attempts = 3};
  // A compensation is retried for long, not for ever: one that cannot run (the payee spent the
  // credit) leaves the saga stuck, reported, rather than the run waiting for ever.
  const saga::RetryPolicy compensation_retry{.initial_interval_ns = kMs, .maximum_attempts = 20};

  saga::SagaDefinition d;
  d.name = std::string(kTransferSaga);
  d.steps.push_back({
      .name = "debit payer",
      .action = step(
          [this, payer](const Transfer& t, const saga::StepContext&, const saga::Completion& done) {
            Trace("debit", t.id);
            const SagaParticipant::Answer a = payer(t).Debit(t.id, t.from, t.amount);
            const int fault = FaultFor(t.id);
            if (fault == kCrashInStep || fault == kDebitAnswerLost) {
              fault_ = kNoFault;  // one shot
              crash_requested_ = fault == kCrashInStep;
              return;  // applied; the answer is lost (with the orchestrator, or on the network)
            }
            done.Done(ToResult(a));
          }),
      .compensation = step(
          [this, payer](const Transfer& t, const saga::StepContext&, const saga::Completion& done) {
            Trace("undo-debit", t.id);
            done.Done(ToResult(payer(t).UndoDebit(t.id)));
          }),
      .retry = action_retry,
      .compensation_retry = compensation_retry,
      .timeout_ns = 10 * kMs,
  });
  d.steps.push_back({
      .name = "credit payee",
      .action = step(
          [this, payee](const Transfer& t, const saga::StepContext&, const saga::Completion& done) {
            const int fault = FaultFor(t.id);
            if (fault == kCrashBetweenSteps) {
              fault_ = kNoFault;
              crash_requested_ = true;  // the orchestrator dies before the request leaves it
              return;
            }
            Trace("credit", t.id);
            if (fault == kCreditFails) {
              fault_ = kNoFault;
              payee(t).FailNextCredit();
            }
            const SagaParticipant::Answer a = payee(t).Credit(t.id, t.to, t.amount);
            if (fault == kCreditAnswersLost) return;  // applied; no answer ever comes back
            done.Done(ToResult(a));
          }),
      .compensation = step(
          [this, payee](const Transfer& t, const saga::StepContext&, const saga::Completion& done) {
            Trace("undo-credit", t.id);
            const SagaParticipant::Answer a = payee(t).UndoCredit(t.id);
            done.Done(a == SagaParticipant::Answer::kNoFunds
                          ? saga::StepResult::Failure("InsufficientFunds", "the payee spent it")
                          : ToResult(a));
          }),
      .retry = action_retry,
      .compensation_retry = compensation_retry,
      .timeout_ns = 10 * kMs,
  });
  return d;
}

absl::StatusOr<std::unique_ptr<saga::Orchestrator>> SagaDesign::OpenOrchestrator(
    uint32_t generation) {
  saga::OrchestratorOptions options;
  options.dir = base::Cat("/saga-", generation);
  options.log.file_system = &fs_;
  options.log.salt = generation;
  options.log.preallocate_bytes = 0;  // it saves fsync work on disk; in memory it only costs
  options.clock = &clock_;
  options.seed = generation + 1;
  options.max_finished_sagas = 1024;
  options.on_finished = [this](const saga::SagaInfo& info) { OnFinished(info); };
  return saga::Orchestrator::Open(options, {Definition()});
}

void SagaDesign::OnFinished(const saga::SagaInfo& info) {
  uint64_t txn = 0;
  KEEL_ASSERT(info.id.size() > 1 && absl::SimpleAtoi(info.id.substr(1), &txn));
  auto it = live_.find(txn);
  KEEL_ASSERT(it != live_.end(), "a saga finished that was never started");
  const Transfer t = it->second;
  switch (info.outcome) {
    case saga::Outcome::kCompleted:
      funds_.Release(t.from, t.amount);  // the payer's part is over
      finished_.emplace_back(txn, Outcome::kCommitted);
      break;
    case saga::Outcome::kCompensated: {
      const bool refused = info.last_error.has_value() && info.last_error->step == 0 &&
                           info.last_error->type == "InsufficientFunds";
      if (!refused) ++compensated_;
      finished_.emplace_back(txn, refused ? Outcome::kRefused : Outcome::kAborted);
      break;
    }
    case saga::Outcome::kStuck:
      ++stuck_;  // stays live and pending: the run reports it unfinished
      return;
    case saga::Outcome::kRunning:
      return;
  }
  live_.erase(it);
}

absl::Status SagaDesign::RunToQuiet(saga::Orchestrator& orchestrator) {
  while (true) {
    KEEL_RETURN_IF_ERROR(orchestrator.Poll().status());
    if (crash_requested_) return absl::OkStatus();
    const saga::OrchestratorStats stats = orchestrator.stats();
    if (stats.live == stats.stuck) return absl::OkStatus();
    // Everything running waits on a timer (an attempt's timeout or a retry's wait): move to it.
    const std::optional<int64_t> deadline = orchestrator.NextDeadlineNs();
    if (!deadline) {
      return absl::InternalError(base::Cat(stats.live, " sagas running with no timer set"));
    }
    clock_.Set(std::max(clock_.NowNanos(), *deadline));
  }
}

absl::StatusOr<Outcome> SagaDesign::Execute(const Transfer& t, int fault) {
  const uint32_t x = shard_map_.ShardOf(t.from);
  const uint32_t y = shard_map_.ShardOf(t.to);
  Outcome outcome = Outcome::kPending;
  if (x == y) {
    outcome = participants_[x].LocalTransfer(t) ? Outcome::kCommitted : Outcome::kRefused;
  } else {
    fault_txn_ = t.id;
    fault_ = fault;
    live_.emplace(t.id, t);
    KEEL_RETURN_IF_ERROR(orchestrator_->Start(SagaId(t.id), kTransferSaga, EncodeTransfer(t)));
    KEEL_RETURN_IF_ERROR(RunToQuiet(*orchestrator_));
    fault_txn_ = ~TxnId{0};
    fault_ = kNoFault;
    if (crash_requested_) {
      crash_requested_ = false;
      timeouts_ += orchestrator_->stats().timeouts;
      orchestrator_.reset();
      crashed_.Add(generation_, due_index());
      ++generation_;
      KEEL_ASSIGN_OR_RETURN(orchestrator_, OpenOrchestrator(generation_));
    }
    for (const auto& [txn, o] : std::exchange(finished_, {})) {
      if (txn == t.id) {
        outcome = o;
      } else {
        Resolve(txn, o);
      }
    }
  }
  if (outcome == Outcome::kRefused && balance(t.from) + funds_.held(t.from) >= t.amount) {
    ++refused_while_held_;
  }
  return outcome;
}

absl::Status SagaDesign::RecoverDue(uint64_t index) {
  while (std::optional<uint32_t> generation = crashed_.PopDue(index)) {
    // Reopening the orchestrator on its log resumes every saga it had running.
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<saga::Orchestrator> recovering,
                          OpenOrchestrator(*generation));
    KEEL_RETURN_IF_ERROR(RunToQuiet(*recovering));
    timeouts_ += recovering->stats().timeouts;
    for (const auto& [txn, o] : std::exchange(finished_, {})) Resolve(txn, o);
    CountRecovery();
  }
  return absl::OkStatus();
}

absl::Status SagaDesign::Redeliver(const Transfer& t, Outcome outcome) {
  const uint32_t x = shard_map_.ShardOf(t.from);
  const uint32_t y = shard_map_.ShardOf(t.to);
  if (x == y) return absl::OkStatus();
  SagaParticipant& payer = participants_[x];
  SagaParticipant& payee = participants_[y];
  // Every request the saga could have sent, once more, compensations after their actions.
  if (outcome == Outcome::kCommitted) {
    (void)payer.Debit(t.id, t.from, t.amount);
    (void)payee.Credit(t.id, t.to, t.amount);
  } else {
    (void)payee.UndoCredit(t.id);
    (void)payer.UndoDebit(t.id);
    (void)payer.Debit(t.id, t.from, t.amount);  // after its compensation: refused
    (void)payee.Credit(t.id, t.to, t.amount);
  }
  return absl::OkStatus();
}

int64_t SagaDesign::balance(WalletId wallet) const {
  return participants_[shard_map_.ShardOf(wallet)].balance(wallet);
}

void SagaDesign::Describe(Report& report) const {
  report.refused_while_held = refused_while_held_;
  report.notes.push_back(base::Cat(
      "orchestrator: keel::saga, its log a keel::wal::Log on a MemoryFileSystem; ", compensated_,
      " sagas compensated, ", timeouts_ + (orchestrator_ ? orchestrator_->stats().timeouts : 0),
      " step attempts timed out, ", stuck_, " stuck"));
  report.notes.push_back(base::Cat("no locks: ", refused_while_held_,
                                   " transfers were refused while an unfinished saga held part of "
                                   "the payer's money"));
}

}  // namespace keel::examples::wallet::designs
