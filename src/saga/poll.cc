// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Poll: one round takes the answers that came in and the timers that are due, turns them into
// records, makes the records durable as one batch and applies them, then calls (without the lock)
// every participant that is due. Answers given inline by those calls are taken by the next round;
// Poll returns when a round finds nothing to do.
#include <algorithm>
#include <limits>
#include <utility>

#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "orchestrator_impl.h"

namespace keel::saga::internal {
namespace {

// The error type of an attempt that timed out, and of an output over max_output_bytes.
constexpr std::string_view kTimeoutType = "keel.Timeout";
constexpr std::string_view kOutputTooLargeType = "keel.OutputTooLarge";

std::string Cut(std::string text, size_t max_bytes) {
  if (text.size() > max_bytes) text.resize(max_bytes);
  return text;
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  return a > std::numeric_limits<int64_t>::max() - b ? std::numeric_limits<int64_t>::max() : a + b;
}

const RetryPolicy& PolicyOf(const Saga& saga) {
  const Step& step = saga.definition->definition.steps[saga.state.step];
  return saga.state.compensating ? step.compensation_retry : step.retry;
}

}  // namespace

absl::StatusOr<uint64_t> OrchestratorImpl::Poll() {
  std::lock_guard<std::mutex> poll_lock(poll_mu_);
  uint64_t transitions = 0;
  while (true) {
    bool progressed = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      KEEL_RETURN_IF_ERROR(CheckUsable());
      const int64_t now_ns = clock_.NowNanos();
      inbox_->TakeAll(answers_);
      progressed = !answers_.empty();
      for (Answer& answer : answers_) DecideAnswer(answer, now_ns);
      answers_.clear();
      while (const std::optional<uint32_t> slot = timers_.PopDue(now_ns)) {
        DecideTimer(*slot, now_ns);
        progressed = true;
      }
      transitions += decided_.size();
      KEEL_RETURN_IF_ERROR(Commit(decided_));
      for (const uint32_t slot : runnable_) {
        Saga& saga = *slots_[slot];
        saga.queued = false;
        saga.token = next_token_++;
        const Step& step = saga.definition->definition.steps[saga.state.step];
        const int64_t deadline_ns = SaturatingAdd(now_ns, step.timeout_ns);
        saga.deadline_ns = deadline_ns;
        timers_.Set(slot, deadline_ns);
        invocations_.push_back(Invocation{&saga, slot, saga.token, deadline_ns});
      }
      runnable_.clear();
      stats_.invocations += invocations_.size();
      reports_.swap(finished_reports_);
    }
    progressed = progressed || !invocations_.empty() || !reports_.empty();
    for (const Invocation& invocation : invocations_) Invoke(invocation);
    invocations_.clear();
    for (const SagaInfo& report : reports_) options_.on_finished(report);
    reports_.clear();
    if (!progressed) return transitions;
  }
}

void OrchestratorImpl::DecideAnswer(Answer& answer, int64_t now_ns) {
  if (answer.token == 0 || answer.slot >= slots_.size() || slots_[answer.slot] == nullptr ||
      slots_[answer.slot]->token != answer.token ||
      answer.arrived_ns >= slots_[answer.slot]->deadline_ns) {
    // Late (it came at or after its deadline: the timer, due by now, times the attempt out),
    // repeated, or for an invocation or saga that is over.
    ++stats_.stale_answers;
    return;
  }
  Saga& saga = *slots_[answer.slot];
  saga.token = 0;
  timers_.Cancel(answer.slot);
  StepResult& result = answer.result;
  if (result.ok && result.output.size() > options_.max_output_bytes) {
    result = StepResult::NonRetryableFailure(
        std::string(kOutputTooLargeType),
        base::Cat("the output has ", result.output.size(), " bytes: max_output_bytes is ",
                  options_.max_output_bytes));
  }
  Record record;
  if (result.ok) {
    record.kind = RecordKind::kSucceeded;
    record.output = std::move(result.output);
  } else {
    const RetryPolicy& policy = PolicyOf(saga);
    record.kind = RecordKind::kFailed;
    record.final = result.non_retryable || !policy.IsRetryable(result.error_type) ||
                   !policy.AllowsAttempt(saga.state.attempt);
    record.error_type = Cut(std::move(result.error_type), options_.max_message_bytes);
    record.message = Cut(std::move(result.message), options_.max_message_bytes);
  }
  Decide(saga, std::move(record), now_ns);
}

void OrchestratorImpl::DecideTimer(uint32_t slot, int64_t now_ns) {
  Saga& saga = *slots_[slot];
  if (saga.retry_wait) {
    saga.retry_wait = false;
    Queue(slot);
    return;
  }
  KEEL_ASSERT(saga.token != 0, "saga ", base::Quoted(saga.state.id),
              " has a timer but nothing under way");
  saga.token = 0;
  ++stats_.timeouts;
  const Step& step = saga.definition->definition.steps[saga.state.step];
  Record record;
  record.kind = RecordKind::kFailed;
  record.timed_out = true;
  record.final = !PolicyOf(saga).AllowsAttempt(saga.state.attempt);
  record.error_type = std::string(kTimeoutType);
  record.message = base::Cat("no answer within timeout_ns ", step.timeout_ns);
  Decide(saga, std::move(record), now_ns);
}

void OrchestratorImpl::Decide(Saga& saga, Record record, int64_t now_ns) {
  record.seq = saga.state.seq;
  record.time_ns = now_ns;
  record.step = saga.state.step;
  record.phase = saga.state.phase();
  record.attempt = saga.state.attempt;
  decided_.push_back(std::move(record));
}

void OrchestratorImpl::Invoke(const Invocation& invocation) {
  const SagaState& state = invocation.saga->state;
  const Step& step = invocation.saga->definition->definition.steps[state.step];
  key_.clear();
  AppendIdempotencyKey(key_, state.id, state.step, state.phase());
  const StepContext context{.saga_id = state.id,
                            .idempotency_key = key_,
                            .input = state.input,
                            .outputs = state.outputs,
                            .step = state.step,
                            .phase = state.phase(),
                            .attempt = state.attempt,
                            .deadline_ns = invocation.deadline_ns};
  const StepFunction& function = state.phase() == Phase::kAction ? step.action : step.compensation;
  KEEL_ASSERT(static_cast<bool>(function), "saga ", base::Quoted(state.id), " step ", state.step,
              " has no ", PhaseName(state.phase()));
  function(context, Completion(inbox_, invocation.slot, invocation.token));
}

}  // namespace keel::saga::internal
