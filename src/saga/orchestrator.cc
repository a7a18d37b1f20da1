// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/saga/orchestrator.h"

#include <utility>

#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "orchestrator_impl.h"

namespace keel::saga {

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kRunning:
      return "running";
    case Outcome::kCompleted:
      return "completed";
    case Outcome::kCompensated:
      return "compensated";
    case Outcome::kStuck:
      return "stuck";
  }
  return "unknown";
}

std::string_view EventName(Event event) {
  switch (event) {
    case Event::kStarted:
      return "started";
    case Event::kSucceeded:
      return "succeeded";
    case Event::kRetrying:
      return "retrying";
    case Event::kGaveUp:
      return "gave up";
    case Event::kDismissed:
      return "dismissed";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<Orchestrator>> Orchestrator::Open(
    const OrchestratorOptions& options, std::vector<SagaDefinition> definitions,
    SagaRecoveryReport* report) {
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<internal::OrchestratorImpl> impl,
                        internal::OrchestratorImpl::Open(options, std::move(definitions), report));
  return std::unique_ptr<Orchestrator>(new Orchestrator(std::move(impl)));
}

Orchestrator::Orchestrator(std::unique_ptr<internal::OrchestratorImpl> impl)
    : impl_(std::move(impl)) {}
Orchestrator::~Orchestrator() = default;

absl::Status Orchestrator::Start(std::string_view saga_id, std::string_view definition,
                                 std::string_view input) {
  return impl_->Start(saga_id, definition, input);
}
absl::StatusOr<uint64_t> Orchestrator::Poll() { return impl_->Poll(); }
std::optional<int64_t> Orchestrator::NextDeadlineNs() const { return impl_->NextDeadlineNs(); }
bool Orchestrator::WaitForWork(int64_t timeout_ns) const { return impl_->WaitForWork(timeout_ns); }
void Orchestrator::WakeWaiters() const { impl_->WakeWaiters(); }
absl::StatusOr<SagaInfo> Orchestrator::Inspect(std::string_view saga_id) const {
  return impl_->Inspect(saga_id);
}
absl::Status Orchestrator::Dismiss(std::string_view saga_id) { return impl_->Dismiss(saga_id); }
OrchestratorStats Orchestrator::stats() const { return impl_->stats(); }

namespace internal {

OrchestratorImpl::OrchestratorImpl(const OrchestratorOptions& options, const base::Clock& clock)
    : options_(options),
      clock_(clock),
      inbox_(std::make_shared<Inbox>(clock)),
      random_(options.seed) {}

OrchestratorImpl::~OrchestratorImpl() { inbox_->Close(); }

absl::Status OrchestratorImpl::CheckUsable() const {
  if (failed_.ok()) return absl::OkStatus();
  return absl::FailedPreconditionError(base::Cat(
      "the saga orchestrator stopped after a log error (reopen it): ", failed_.message()));
}

absl::Status OrchestratorImpl::Start(std::string_view saga_id, std::string_view definition,
                                     std::string_view input) {
  if (saga_id.empty() || saga_id.size() > options_.max_saga_id_bytes) {
    return absl::InvalidArgumentError(base::Cat("saga id ", base::Quoted(saga_id),
                                                " is empty or longer than ",
                                                options_.max_saga_id_bytes, " bytes"));
  }
  if (input.size() > options_.max_input_bytes) {
    return absl::InvalidArgumentError(base::Cat("saga ", base::Quoted(saga_id), " has ",
                                                input.size(), " bytes of input: the limit is ",
                                                options_.max_input_bytes));
  }
  const auto found = definitions_.find(absl::string_view(definition.data(), definition.size()));
  if (found == definitions_.end()) {
    return absl::NotFoundError(base::Cat("saga ", base::Quoted(saga_id),
                                         " names no known definition: ", base::Quoted(definition)));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    KEEL_RETURN_IF_ERROR(CheckUsable());
    const absl::string_view key(saga_id.data(), saga_id.size());
    if (live_by_id_.contains(key) || finished_.contains(key)) {
      return absl::AlreadyExistsError(base::Cat("saga ", base::Quoted(saga_id), " exists"));
    }
    if (live_by_id_.size() >= options_.max_live_sagas) {
      return absl::ResourceExhaustedError(base::Cat("cannot start saga ", base::Quoted(saga_id),
                                                    ": max_live_sagas ", options_.max_live_sagas,
                                                    " sagas are running or stuck"));
    }
    std::vector<Record> records(1);
    Record& started = records[0];
    started.kind = RecordKind::kStarted;
    started.seq = next_seq_;
    started.time_ns = clock_.NowNanos();
    started.id = std::string(saga_id);
    started.definition = std::string(definition);
    started.steps = found->second->shape.steps;
    started.input = std::string(input);
    KEEL_RETURN_IF_ERROR(Commit(records));
  }
  inbox_->Wake();
  return absl::OkStatus();
}

absl::Status OrchestratorImpl::Dismiss(std::string_view saga_id) {
  std::lock_guard<std::mutex> lock(mu_);
  KEEL_RETURN_IF_ERROR(CheckUsable());
  const auto found = live_by_id_.find(absl::string_view(saga_id.data(), saga_id.size()));
  if (found == live_by_id_.end()) {
    return absl::NotFoundError(base::Cat("no live saga ", base::Quoted(saga_id)));
  }
  const Saga& saga = *slots_[found->second];
  if (saga.state.outcome != Outcome::kStuck) {
    return absl::FailedPreconditionError(base::Cat("saga ", base::Quoted(saga_id), " is ",
                                                   OutcomeName(saga.state.outcome), ", not stuck"));
  }
  std::vector<Record> records(1);
  records[0].kind = RecordKind::kDismissed;
  records[0].seq = saga.state.seq;
  records[0].time_ns = clock_.NowNanos();
  return Commit(records);
}

absl::StatusOr<SagaInfo> OrchestratorImpl::Inspect(std::string_view saga_id) const {
  const absl::string_view key(saga_id.data(), saga_id.size());
  std::lock_guard<std::mutex> lock(mu_);
  if (const auto live = live_by_id_.find(key); live != live_by_id_.end()) {
    return slots_[live->second]->state.ToInfo();
  }
  if (const auto finished = finished_.find(key); finished != finished_.end()) {
    return finished->second->ToInfo();
  }
  return absl::NotFoundError(base::Cat("no saga ", base::Quoted(saga_id),
                                       " (never started, or forgotten past max_finished_sagas)"));
}

OrchestratorStats OrchestratorImpl::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  OrchestratorStats stats = stats_;
  stats.live = live_by_id_.size();
  stats.stuck = stuck_;
  stats.finished = finished_.size();
  return stats;
}

std::optional<int64_t> OrchestratorImpl::NextDeadlineNs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return timers_.Next();
}

absl::Status OrchestratorImpl::Commit(std::vector<Record>& records) {
  if (records.empty()) return absl::OkStatus();
  if (log_ != nullptr) {
    encoded_.clear();
    std::vector<size_t> ends;
    ends.reserve(records.size());
    for (const Record& record : records) {
      EncodeRecord(record, encoded_);
      ends.push_back(encoded_.size());
    }
    encoded_views_.clear();
    size_t begin = 0;
    for (size_t end : ends) {
      encoded_views_.push_back(std::string_view(encoded_).substr(begin, end - begin));
      begin = end;
    }
    // A batch larger than the log takes goes in pieces: each piece is durable before any of its
    // records is acted on, which is all that is promised.
    const size_t max_batch = log_->options().max_batch_records;
    for (size_t i = 0; i < encoded_views_.size(); i += max_batch) {
      const size_t n = std::min(max_batch, encoded_views_.size() - i);
      absl::StatusOr<uint64_t> appended =
          log_->AppendBatch(std::span<const std::string_view>(encoded_views_).subspan(i, n));
      if (!appended.ok()) {
        failed_ = appended.status();
        return appended.status();
      }
    }
  }
  for (const Record& record : records) {
    const absl::Status applied = ApplyRecord(record, /*live=*/true);
    KEEL_ASSERT(applied.ok(), "a decided saga record does not apply: ", applied.message());
  }
  stats_.transitions += records.size();
  records_since_checkpoint_ += records.size();
  records.clear();
  const absl::Status checkpoint = MaybeCheckpoint();
  if (!checkpoint.ok()) failed_ = checkpoint;
  return checkpoint;
}

uint32_t OrchestratorImpl::AllocateSlot() {
  if (!free_slots_.empty()) {
    const uint32_t slot = free_slots_.back();
    free_slots_.pop_back();
    return slot;
  }
  slots_.emplace_back();
  return static_cast<uint32_t>(slots_.size() - 1);
}

absl::Status OrchestratorImpl::ApplyStarted(const Record& record, bool live) {
  if (record.seq != next_seq_) {
    return absl::DataLossError(base::Cat("saga log starts saga ", base::Quoted(record.id),
                                         " as number ", record.seq, " where ", next_seq_,
                                         " comes next"));
  }
  uint32_t slot = 0;
  KEEL_RETURN_IF_ERROR(Admit(SagaState::Create(record, options_.history_length), &slot));
  ++next_seq_;
  if (live) Queue(slot);
  return absl::OkStatus();
}

absl::Status OrchestratorImpl::Admit(SagaState state, uint32_t* slot) {
  const auto definition = definitions_.find(state.definition);
  if (definition == definitions_.end()) {
    return absl::FailedPreconditionError(
        base::Cat("recovered saga ", base::Quoted(state.id), " names definition ",
                  base::Quoted(state.definition), ", which Open was not given"));
  }
  if (definition->second->shape.steps != state.steps) {
    return absl::FailedPreconditionError(base::Cat(
        "recovered saga ", base::Quoted(state.id), " has ", state.steps, " steps, but definition ",
        base::Quoted(state.definition), " now has ", definition->second->shape.steps));
  }
  if (live_by_id_.contains(state.id) || finished_.contains(state.id) ||
      live_by_seq_.contains(state.seq)) {
    return absl::DataLossError(base::Cat("saga log starts saga ", base::Quoted(state.id),
                                         " (number ", state.seq, ") twice"));
  }
  *slot = AllocateSlot();
  if (state.outcome == Outcome::kStuck) ++stuck_;
  live_by_id_.emplace(state.id, *slot);
  live_by_seq_.emplace(state.seq, *slot);
  auto saga = std::make_unique<Saga>();
  saga->definition = definition->second.get();
  saga->state = std::move(state);
  slots_[*slot] = std::move(saga);
  return absl::OkStatus();
}

absl::Status OrchestratorImpl::ApplyRecord(const Record& record, bool live) {
  if (record.kind == RecordKind::kStarted) return ApplyStarted(record, live);
  const auto found = live_by_seq_.find(record.seq);
  if (found == live_by_seq_.end()) {
    return absl::DataLossError(
        base::Cat("saga log has a record for saga number ", record.seq, ", which is not live"));
  }
  const uint32_t slot = found->second;
  Saga& saga = *slots_[slot];
  KEEL_RETURN_IF_ERROR(saga.state.Apply(record, saga.definition->shape, options_.history_length));
  AfterApply(slot, record, live);
  return absl::OkStatus();
}

void OrchestratorImpl::AfterApply(uint32_t slot, const Record& record, bool live) {
  Saga& saga = *slots_[slot];
  const SagaState& state = saga.state;
  if (state.finished()) {
    if (record.kind == RecordKind::kDismissed) {
      --stuck_;
    } else if (live) {
      ++(state.outcome == Outcome::kCompleted ? stats_.completed : stats_.compensated);
    }
    if (live && options_.on_finished && record.kind != RecordKind::kDismissed) {
      finished_reports_.push_back(state.ToInfo());
    }
    Retire(slot);
    return;
  }
  if (state.outcome == Outcome::kStuck) {
    ++stuck_;
    timers_.Cancel(slot);
    if (live && options_.on_finished) finished_reports_.push_back(state.ToInfo());
    return;
  }
  if (!live) return;  // recovery queues every running saga at the end
  if (record.kind == RecordKind::kFailed && !record.final) {
    const Step& step = saga.definition->definition.steps[state.step];
    const RetryPolicy& policy = state.compensating ? step.compensation_retry : step.retry;
    saga.retry_wait = true;
    timers_.Set(slot, clock_.NowNanos() + RetryDelayNs(policy, state.attempt, random_));
    return;
  }
  Queue(slot);
}

void OrchestratorImpl::Queue(uint32_t slot) {
  Saga& saga = *slots_[slot];
  if (saga.queued) return;
  saga.queued = true;
  runnable_.push_back(slot);
}

void OrchestratorImpl::Retire(uint32_t slot) {
  timers_.Cancel(slot);
  std::unique_ptr<Saga> saga = std::move(slots_[slot]);
  live_by_id_.erase(saga->state.id);
  live_by_seq_.erase(saga->state.seq);
  free_slots_.push_back(slot);
  // Only an answer, a timeout or a dismissal ends a saga, and none of them finds it queued.
  KEEL_DCHECK(!saga->queued);
  Retain(std::make_unique<SagaState>(std::move(saga->state)));
}

void OrchestratorImpl::Retain(std::unique_ptr<SagaState> saga) {
  if (options_.max_finished_sagas == 0) return;
  while (finished_.size() >= options_.max_finished_sagas) {
    finished_.erase(finished_order_.front());
    finished_order_.pop_front();
  }
  finished_order_.push_back(saga->id);
  std::string id = saga->id;
  finished_.emplace(std::move(id), std::move(saga));
}

}  // namespace internal
}  // namespace keel::saga
