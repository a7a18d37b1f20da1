// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel::saga::Orchestrator's semantics, one rule at a time, with participants the test answers
// by hand on a ManualClock: order, outputs, compensation of completed and timed-out steps only,
// the pivot, late and repeated answers, retry waits, stuck sagas, history, limits and bad input.
#include "keel/saga/orchestrator.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "keel/base/clock.h"
#include "saga/saga_testing.h"
#include "testing/testing.h"

namespace keel::saga {
namespace {

constexpr int64_t kMilli = base::kNanosPerMilli;

// A call a participant received and has not answered yet.
struct Call {
  std::string key;
  uint32_t step = 0;
  Phase phase = Phase::kAction;
  uint32_t attempt = 0;
  std::vector<std::string> outputs;
  Completion done;
};

class Fixture {
 public:
  Fixture() { options.clock = &clock; }

  // A step whose participant records its calls in calls_.
  Step MakeStep(std::string name, bool compensable = true) {
    Step step;
    step.name = std::move(name);
    step.action = Recorder();
    if (compensable) step.compensation = Recorder();
    step.retry = RetryPolicy{.initial_interval_ns = 10 * kMilli, .maximum_attempts = 3};
    step.compensation_retry = RetryPolicy{.initial_interval_ns = 10 * kMilli};
    step.timeout_ns = 100 * kMilli;
    return step;
  }

  void Open(std::vector<SagaDefinition> definitions) {
    auto opened = Orchestrator::Open(options, std::move(definitions));
    REQUIRE_MESSAGE(opened.ok(), opened.status());
    orchestrator = std::move(*opened);
  }

  void Poll() {
    const absl::StatusOr<uint64_t> polled = orchestrator->Poll();
    REQUIRE_MESSAGE(polled.ok(), polled.status());
  }

  // Answers the oldest unanswered call and polls.
  Call Answer(StepResult result) {
    REQUIRE(!calls.empty());
    Call call = std::move(calls.front());
    calls.erase(calls.begin());
    call.done.Done(std::move(result));
    Poll();
    return call;
  }

  // Moves the clock and polls.
  void Advance(int64_t ns) {
    clock.Advance(ns);
    Poll();
  }

  SagaInfo Info(std::string_view id) {
    absl::StatusOr<SagaInfo> info = orchestrator->Inspect(id);
    REQUIRE_MESSAGE(info.ok(), info.status());
    return *info;
  }

  // "0a1" for step 0's action, attempt 1.
  static std::string Name(const Call& call) {
    return base::Cat(call.step, call.phase == Phase::kAction ? "a" : "c", call.attempt);
  }

  base::ManualClock clock{1'000 * kMilli};
  OrchestratorOptions options;
  std::unique_ptr<Orchestrator> orchestrator;
  std::vector<Call> calls;
  std::vector<SagaInfo> finished;

 private:
  StepFunction Recorder() {
    return [this](const StepContext& context, Completion done) {
      calls.push_back(Call{std::string(context.idempotency_key), context.step, context.phase,
                           context.attempt,
                           std::vector<std::string>(context.outputs.begin(), context.outputs.end()),
                           std::move(done)});
    };
  }
};

SagaDefinition Definition(Fixture& f, size_t steps, std::optional<size_t> pivot = std::nullopt) {
  SagaDefinition definition;
  definition.name = "booking";
  for (size_t i = 0; i < steps; ++i) {
    const bool after_pivot = pivot.has_value() && i > *pivot;
    Step step = f.MakeStep(base::Cat("step", i), !after_pivot);
    if (after_pivot) step.retry.maximum_attempts = 0;
    step.pivot = pivot == i;
    definition.steps.push_back(std::move(step));
  }
  return definition;
}

TEST_CASE("A saga whose actions succeed runs its steps in order and passes outputs on") {
  Fixture f;
  f.options.on_finished = [&](const SagaInfo& info) { f.finished.push_back(info); };
  f.Open({Definition(f, 3)});
  REQUIRE(f.orchestrator->Start("r1", "booking", "2 rooms").ok());
  CHECK(f.calls.empty());  // nothing runs until Poll
  f.Poll();
  REQUIRE(f.calls.size() == 1);
  CHECK(f.calls[0].key == "r1:0:a");
  CHECK(Fixture::Name(f.Answer(StepResult::Success("hold-17"))) == "0a1");
  REQUIRE(f.calls.size() == 1);
  CHECK(f.calls[0].outputs[0] == "hold-17");  // a later step sees what the first returned
  CHECK(Fixture::Name(f.Answer(StepResult::Success("pay-9"))) == "1a1");
  CHECK(Fixture::Name(f.Answer(StepResult::Success())) == "2a1");
  CHECK(f.calls.empty());
  const SagaInfo info = f.Info("r1");
  CHECK(info.outcome == Outcome::kCompleted);
  CHECK(info.outputs == std::vector<std::string>{"hold-17", "pay-9", ""});
  REQUIRE(f.finished.size() == 1);
  CHECK(f.finished[0].outcome == Outcome::kCompleted);
  CHECK(f.orchestrator->stats().completed == 1);
  CHECK(f.orchestrator->stats().live == 0);
  CHECK(!f.orchestrator->NextDeadlineNs().has_value());
}

TEST_CASE("A failed action compensates the completed steps in reverse order and not itself") {
  Fixture f;
  f.Open({Definition(f, 4)});
  REQUIRE(f.orchestrator->Start("r1", "booking", "").ok());
  f.Poll();
  f.Answer(StepResult::Success("a"));
  f.Answer(StepResult::Success("b"));
  f.Answer(StepResult::Success("c"));
  // Step 3 is declined: it did nothing, so only steps 2, 1, 0 are undone, in that order.
  CHECK(Fixture::Name(f.Answer(StepResult::NonRetryableFailure("Declined", "card"))) == "3a1");
  std::vector<std::string> order;
  while (!f.calls.empty()) {
    CHECK(f.calls[0].outputs[f.calls[0].step] != "");  // a compensation sees its action's output
    order.push_back(Fixture::Name(f.Answer(StepResult::Success())));
  }
  CHECK(order == std::vector<std::string>{"2c1", "1c1", "0c1"});
  const SagaInfo info = f.Info("r1");
  CHECK(info.outcome == Outcome::kCompensated);
  CHECK(info.compensated == std::vector<bool>{true, true, true, false});
  REQUIRE(info.last_error.has_value());
  CHECK(info.last_error->type == "Declined");
  CHECK(info.last_error->step == 3);
}

TEST_CASE("A step without a compensation is skipped when compensating") {
  Fixture f;
  SagaDefinition definition = Definition(f, 3);
  definition.steps[1].compensation = nullptr;  // a read-only step
  f.Open({definition});
  REQUIRE(f.orchestrator->Start("r1", "booking", "").ok());
  f.Poll();
  f.Answer(StepResult::Success());
  f.Answer(StepResult::Success());
  f.Answer(StepResult::NonRetryableFailure("Declined"));
  CHECK(Fixture::Name(f.Answer(StepResult::Success())) == "0c1");
  CHECK(f.calls.empty());
  CHECK(f.Info("r1").outcome == Outcome::kCompensated);
}

TEST_CASE("A failure in the first step compensates nothing") {
  Fixture f;
  f.Open({Definition(f, 2)});
  REQUIRE(f.orchestrator->Start("r1", "booking", "").ok());
  f.Poll();
  f.Answer(StepResult::NonRetryableFailure("Declined"));
  CHECK(f.calls.empty());
  CHECK(f.Info("r1").outcome == Outcome::kCompensated);
  CHECK(f.Info("r1").compensated == std::vector<bool>{false, false});
}

TEST_CASE("Retryable failures are retried after the policy's wait with the same key") {
  Fixture f;
  f.Open({Definition(f, 1)});
  REQUIRE(f.orchestrator->Start("r1", "booking", "").ok());
  f.Poll();
  CHECK(Fixture::Name(f.Answer(StepResult::Failure("Busy"))) == "0a1");
  CHECK(f.calls.empty());
  REQUIRE(f.orchestrator->NextDeadlineNs().has_value());
  CHECK(*f.orchestrator->NextDeadlineNs() == f.clock.NowNanos() + 10 * kMilli);
  f.Advance(10 * kMilli - 1);
  CHECK(f.calls.empty());
  f.Advance(1);
  REQUIRE(f.calls.size() == 1);
  CHECK(f.calls[0].key == "r1:0:a");
  CHECK(Fixture::Name(f.Answer(StepResult::Failure("Busy"))) == "0a2");
  f.Advance(20 * kMilli);  // the second wait doubles
  CHECK(Fixture::Name(f.Answer(StepResult::Failure("Busy"))) == "0a3");
  // Three attempts, the policy's maximum: the saga gives up, and nothing was done.
  CHECK(f.calls.empty());
  CHECK(f.Info("r1").outcome == Outcome::kCompensated);
}

TEST_CASE("A failure whose type the policy lists is not retried") {
  Fixture f;
  SagaDefinition definition = Definition(f, 1);
  definition.steps[0].retry.non_retryable_error_types = {"Declined"};
  f.Open({definition});
  REQUIRE(f.orchestrator->Start("r1", "booking", "").ok());
  f.Poll();
  f.Answer(StepResult::Failure("Declined"));
  CHECK(f.calls.empty());
  CHECK(f.Info("r1").outcome == Outcome::kCompensated);
  CHECK(f.Info("r1").history.back().event == Event::kGaveUp);
}

TEST_CASE("A timed out action counts as maybe done and is compensated") {
  Fixture f;
  SagaDefinition definition = Definition(f, 2);
  definition.steps[1].retry.maximum_attempts = 1;
  f.Open({definition});
  REQUIRE(f.orchestrator->Start("r1", "booking", "").ok());
  f.Poll();
  f.Answer(StepResult::Success());
  REQUIRE(f.calls.size() == 1);
  Call lost = std::move(f.calls[0]);  // the payment provider never answers
  f.calls.clear();
  f.Advance(100 * kMilli);
  // Its one attempt timed out: the provider may have charged, so the charge is undone too.
  std::vector<std::string> order;
  while (!f.calls.empty()) order.push_back(Fixture::Name(f.Answer(StepResult::Success())));
  CHECK(order == std::vector<std::string>{"1c1", "0c1"});
  const SagaInfo info = f.Info("r1");
  CHECK(info.outcome == Outcome::kCompensated);
  CHECK(info.maybe_applied == std::vector<bool>{true, true});
  CHECK(info.last_error->timed_out);
  CHECK(info.last_error->type == "keel.Timeout");
  // The late answer changes nothing.
  lost.done.Done(StepResult::Success("late"));
  f.Poll();
  CHECK(f.orchestrator->stats().stale_answers == 1);
  CHECK(f.orchestrator->stats().timeouts == 1);
  CHECK(f.Info("r1").outcome == Outcome::kCompensated);
}

TEST_CASE("An answer after its attempt timed out is ignored and the retry's answer counts") {
  Fixture f;
  f.Open({Definition(f, 1)});
  REQUIRE(f.orchestrator->Start("r1", "booking", "").ok());
  f.Poll();
  Call first = std::move(f.calls[0]);
  f.calls.clear();
  f.Advance(100 * kMilli);  // attempt 1 times out
  f.Advance(10 * kMilli);   // the retry wait
  REQUIRE(f.calls.size() == 1);
  CHECK(f.calls[0].attempt == 2);
  first.done.Done(StepResult::NonRetryableFailure("Declined"));  // late: ignored
  f.Poll();
  CHECK(f.Info("r1").outcome == Outcome::kRunning);
  f.Answer(StepResult::Success());
  CHECK(f.Info("r1").outcome == Outcome::kCompleted);
  CHECK(f.orchestrator->stats().stale_answers == 1);
}

TEST_CASE("An answer that arrives after its deadline is late even if Poll sees it later") {
  Fixture f;
  f.Open({Definition(f, 1)});
  REQUIRE(f.orchestrator->Start("r1", "booking", "").ok());
  f.Poll();
  f.clock.Advance(100 * kMilli);  // the deadline passes before anyone polls
  f.Answer(StepResult::Success());
  CHECK(f.orchestrator->stats().stale_answers == 1);
  CHECK(f.orchestrator->stats().timeouts == 1);
  CHECK(f.Info("r1").attempt == 2);
}

TEST_CASE("An answer that arrived in time counts even if Poll sees it after the deadline") {
  Fixture f;
  f.Open({Definition(f, 1)});
  REQUIRE(f.orchestrator->Start("r1", "booking", "").ok());
  f.Poll();
  f.clock.Advance(100 * kMilli - 1);
  f.calls[0].done.Done(StepResult::Success("in time"));
  f.calls.clear();
  f.Advance(10 * kMilli);  // Poll runs late
  CHECK(f.Info("r1").outcome == Outcome::kCompleted);
  CHECK(f.orchestrator->stats().timeouts == 0);
}

TEST_CASE("Only the first of repeated answers counts") {
  Fixture f;
  f.Open({Definition(f, 2)});
  REQUIRE(f.orchestrator->Start("r1", "booking", "").ok());
  f.Poll();
  Completion done = f.calls[0].done;
  f.Answer(StepResult::Success("first"));
  done.Done(StepResult::NonRetryableFailure("Declined"));
  done.Done(StepResult::Success("third"));
  f.Poll();
  CHECK(f.Info("r1").outputs[0] == "first");
  CHECK(f.Info("r1").step == 1);
  CHECK(f.orchestrator->stats().stale_answers == 2);
}

TEST_CASE("After the pivot a failing step is retried until it succeeds and nothing is undone") {
  Fixture f;
  f.Open({Definition(f, 3, /*pivot=*/1)});
  REQUIRE(f.orchestrator->Start("r1", "booking", "").ok());
  f.Poll();
  f.Answer(StepResult::Success());
  f.Answer(StepResult::Success("charged"));
  CHECK(f.Info("r1").pivot_passed);
  for (int i = 0; i < 20; ++i) {
    REQUIRE(f.calls.size() == 1);
    CHECK(f.Answer(StepResult::Failure("Busy")).attempt == static_cast<uint32_t>(i + 1));
    f.Advance(*f.orchestrator->NextDeadlineNs() - f.clock.NowNanos());
  }
  f.Answer(StepResult::Success());
  CHECK(f.Info("r1").outcome == Outcome::kCompleted);
}

TEST_CASE("A pivot that fails compensates the steps before it") {
  Fixture f;
  f.Open({Definition(f, 3, /*pivot=*/1)});
  REQUIRE(f.orchestrator->Start("r1", "booking", "").ok());
  f.Poll();
  f.Answer(StepResult::Success());
  f.Answer(StepResult::NonRetryableFailure("Declined"));
  CHECK(Fixture::Name(f.Answer(StepResult::Success())) == "0c1");
  CHECK(f.Info("r1").outcome == Outcome::kCompensated);
}

TEST_CASE("A non retryable failure after the pivot leaves the saga stuck until dismissed") {
  Fixture f;
  f.options.on_finished = [&](const SagaInfo& info) { f.finished.push_back(info); };
  f.Open({Definition(f, 3, /*pivot=*/1)});
  REQUIRE(f.orchestrator->Start("r1", "booking", "").ok());
  f.Poll();
  f.Answer(StepResult::Success());
  f.Answer(StepResult::Success());
  f.Answer(StepResult::NonRetryableFailure("RoomGone", "the hotel sold it"));
  CHECK(f.calls.empty());
  REQUIRE(f.finished.size() == 1);
  CHECK(f.finished[0].outcome == Outcome::kStuck);
  CHECK(f.finished[0].last_error->message == "the hotel sold it");
  CHECK(f.orchestrator->stats().stuck == 1);
  CHECK(f.orchestrator->stats().live == 1);
  CHECK(f.orchestrator->Start("r1", "booking", "").code() == absl::StatusCode::kAlreadyExists);
  REQUIRE(f.orchestrator->Dismiss("r1").ok());
  CHECK(f.orchestrator->stats().stuck == 0);
  CHECK(f.orchestrator->stats().live == 0);
  CHECK(f.Info("r1").dismissed);
  CHECK(f.Info("r1").history.back().event == Event::kDismissed);
  CHECK(f.orchestrator->Dismiss("r1").code() == absl::StatusCode::kNotFound);
}

TEST_CASE("A compensation that gives up leaves the saga stuck") {
  Fixture f;
  SagaDefinition definition = Definition(f, 2);
  definition.steps[0].compensation_retry.maximum_attempts = 2;
  f.Open({definition});
  REQUIRE(f.orchestrator->Start("r1", "booking", "").ok());
  f.Poll();
  f.Answer(StepResult::Success());
  f.Answer(StepResult::NonRetryableFailure("Declined"));
  f.Answer(StepResult::Failure("Busy"));
  f.Advance(10 * kMilli);
  CHECK(Fixture::Name(f.Answer(StepResult::Failure("Busy"))) == "0c2");
  const SagaInfo info = f.Info("r1");
  CHECK(info.outcome == Outcome::kStuck);
  CHECK(info.compensating);
  CHECK(info.last_error->phase == Phase::kCompensation);
  CHECK(f.orchestrator->Dismiss("nope").code() == absl::StatusCode::kNotFound);
}

TEST_CASE("Dismiss refuses a saga that is not stuck") {
  Fixture f;
  f.Open({Definition(f, 2)});
  REQUIRE(f.orchestrator->Start("r1", "booking", "").ok());
  const absl::Status status = f.orchestrator->Dismiss("r1");
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(status.message(), "running"));
}

TEST_CASE("An output over the limit is a non retryable failure") {
  Fixture f;
  f.options.max_output_bytes = 4;
  f.Open({Definition(f, 1)});
  REQUIRE(f.orchestrator->Start("r1", "booking", "").ok());
  f.Poll();
  f.Answer(StepResult::Success("12345"));
  const SagaInfo info = f.Info("r1");
  CHECK(info.outcome == Outcome::kCompensated);
  CHECK(info.last_error->type == "keel.OutputTooLarge");
}

TEST_CASE("Long error types and messages are cut to max_message_bytes") {
  Fixture f;
  f.options.max_message_bytes = 8;
  f.Open({Definition(f, 1)});
  REQUIRE(f.orchestrator->Start("r1", "booking", "").ok());
  f.Poll();
  f.Answer(StepResult::NonRetryableFailure(std::string(100, 'T'), std::string(100, 'm')));
  CHECK(f.Info("r1").last_error->type == std::string(8, 'T'));
  CHECK(f.Info("r1").last_error->message == std::string(8, 'm'));
}

TEST_CASE("History keeps the last history_length transitions oldest first") {
  Fixture f;
  f.options.history_length = 4;
  SagaDefinition definition = Definition(f, 1);
  definition.steps[0].retry.maximum_attempts = 0;
  f.Open({definition});
  REQUIRE(f.orchestrator->Start("r1", "booking", "").ok());
  f.Poll();
  for (int i = 0; i < 6; ++i) {
    f.Answer(StepResult::Failure("Busy"));
    f.Advance(*f.orchestrator->NextDeadlineNs() - f.clock.NowNanos());
  }
  f.Answer(StepResult::Success());
  const SagaInfo info = f.Info("r1");
  REQUIRE(info.history.size() == 4);
  CHECK(info.history[0].event == Event::kRetrying);
  CHECK(info.history[0].attempt == 4);
  CHECK(info.history[2].attempt == 6);
  CHECK(info.history[3].event == Event::kSucceeded);
  CHECK(info.history[3].attempt == 7);
  CHECK(info.history[3].time_ns > info.history[0].time_ns);
}

TEST_CASE("Many sagas run side by side and each keeps its own keys") {
  Fixture f;
  f.Open({Definition(f, 2)});
  for (int i = 0; i < 10; ++i)
    REQUIRE(f.orchestrator->Start(base::Cat("r", i), "booking", "").ok());
  f.Poll();
  CHECK(f.calls.size() == 10);
  CHECK(f.calls[3].key == "r3:0:a");
  while (!f.calls.empty()) f.Answer(StepResult::Success());
  for (int i = 0; i < 10; ++i) CHECK(f.Info(base::Cat("r", i)).outcome == Outcome::kCompleted);
  CHECK(f.orchestrator->stats().transitions == 30);
  CHECK(f.orchestrator->stats().invocations == 20);
}

// ---------------------------------------------------------------------------------------------
// Limits and bad input.
// ---------------------------------------------------------------------------------------------

TEST_CASE("Start refuses bad ids inputs and definitions and duplicate ids") {
  Fixture f;
  f.options.max_saga_id_bytes = 8;
  f.options.max_input_bytes = 4;
  f.Open({Definition(f, 1)});
  CHECK(f.orchestrator->Start("", "booking", "").code() == absl::StatusCode::kInvalidArgument);
  const absl::Status long_id = f.orchestrator->Start("123456789", "booking", "");
  CHECK(long_id.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(long_id.message(), "\"123456789\""));
  CHECK(f.orchestrator->Start("r", "booking", "12345").code() ==
        absl::StatusCode::kInvalidArgument);
  const absl::Status unknown = f.orchestrator->Start("r", "flight", "");
  CHECK(unknown.code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(unknown.message(), "\"flight\""));
  REQUIRE(f.orchestrator->Start("r", "booking", "").ok());
  CHECK(f.orchestrator->Start("r", "booking", "").code() == absl::StatusCode::kAlreadyExists);
  CHECK(f.orchestrator->Inspect("other").status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("Live sagas are limited and the oldest finished ones are forgotten") {
  Fixture f;
  f.options.max_live_sagas = 2;
  f.options.max_finished_sagas = 2;
  f.Open({Definition(f, 1)});
  REQUIRE(f.orchestrator->Start("a", "booking", "").ok());
  REQUIRE(f.orchestrator->Start("b", "booking", "").ok());
  const absl::Status full = f.orchestrator->Start("c", "booking", "");
  CHECK(full.code() == absl::StatusCode::kResourceExhausted);
  CHECK(absl::StrContains(full.message(), "max_live_sagas 2"));
  f.Poll();
  f.Answer(StepResult::Success());
  f.Answer(StepResult::Success());
  REQUIRE(f.orchestrator->Start("c", "booking", "").ok());
  f.Poll();
  f.Answer(StepResult::Success());
  CHECK(f.orchestrator->Inspect("a").status().code() == absl::StatusCode::kNotFound);
  CHECK(f.Info("b").outcome == Outcome::kCompleted);
  CHECK(f.Info("c").outcome == Outcome::kCompleted);
  CHECK(f.orchestrator->stats().finished == 2);
  REQUIRE(f.orchestrator->Start("a", "booking", "").ok());  // forgotten: the id is free again
}

TEST_CASE("Open refuses bad definitions naming the step") {
  Fixture f;
  const auto refused = [&](const SagaDefinition& definition, std::string_view expected) {
    auto opened = Orchestrator::Open(f.options, {definition});
    CAPTURE(expected);
    REQUIRE(!opened.ok());
    CHECK(opened.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_MESSAGE(absl::StrContains(opened.status().message(),
                                    absl::string_view(expected.data(), expected.size())),
                  opened.status());
  };
  SagaDefinition good = Definition(f, 3, /*pivot=*/1);
  REQUIRE(good.Validate().ok());
  SagaDefinition bad = good;
  bad.name = "";
  refused(bad, "name");
  bad = good;
  bad.steps.clear();
  refused(bad, "0 steps");
  bad = good;
  bad.steps[0].action = nullptr;
  refused(bad, "step 0 (\"step0\") has no action");
  bad = good;
  bad.steps[2].name = "";
  refused(bad, "step 2");
  bad = good;
  bad.steps[0].timeout_ns = 0;
  refused(bad, "timeout_ns 0");
  bad = good;
  bad.steps[1].retry.backoff_coefficient = 0.5;
  refused(bad, "step 1 (\"step1\") retry: retry policy backoff_coefficient 0.5");
  bad = good;
  bad.steps[0].compensation_retry.jitter = 2;
  refused(bad, "compensation_retry: retry policy jitter 2");
  bad = good;
  bad.steps[2].pivot = true;
  refused(bad, "second pivot");
  bad = good;
  bad.steps[2].retry.maximum_attempts = 5;
  refused(bad, "maximum_attempts 5");
  bad = good;
  bad.steps[2].compensation = bad.steps[0].compensation;
  refused(bad, "would never run");
  bad = good;
  f.options.definition_limits.max_steps = 2;
  refused(bad, "3 steps");
  f.options.definition_limits.max_steps = 64;
  auto twice = Orchestrator::Open(f.options, {good, good});
  CHECK(twice.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(twice.status().message(), "two saga definitions"));
}

TEST_CASE("Open refuses bad options naming the field") {
  const std::vector<std::pair<std::function<void(OrchestratorOptions&)>, std::string>> cases = {
      {[](OrchestratorOptions& o) { o.max_live_sagas = 0; }, "max_live_sagas"},
      {[](OrchestratorOptions& o) { o.history_length = 0; }, "history_length"},
      {[](OrchestratorOptions& o) { o.max_saga_id_bytes = 0; }, "max_saga_id_bytes"},
      {[](OrchestratorOptions& o) { o.max_message_bytes = 0; }, "max_message_bytes"},
      {[](OrchestratorOptions& o) { o.definition_limits.max_steps = 0; }, "max_steps"},
  };
  for (const auto& [change, field] : cases) {
    OrchestratorOptions options;
    change(options);
    auto opened = Orchestrator::Open(options, {});
    CAPTURE(field);
    CHECK(opened.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(opened.status().message(), absl::string_view(field)));
  }
}

TEST_CASE("A completion outliving its orchestrator is dropped") {
  Completion done;
  {
    Fixture f;
    f.Open({Definition(f, 1)});
    REQUIRE(f.orchestrator->Start("r1", "booking", "").ok());
    f.Poll();
    done = f.calls[0].done;
    f.calls.clear();
  }
  done.Done(StepResult::Success());  // nothing to crash into
  Completion().Done(StepResult::Success());
}

}  // namespace
}  // namespace keel::saga
