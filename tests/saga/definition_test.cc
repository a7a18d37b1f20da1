// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A saga's definition on its own: Validate's rules (without an orchestrator: Open applies the same
// and orchestrator_test checks what it does with them), the idempotency keys, the results a
// participant answers with, and a Completion that belongs to no orchestrator.
#include "keel/saga/definition.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "absl/strings/match.h"

namespace keel::saga {
namespace {

void Nothing(const StepContext&, Completion) {}

// Three steps, the middle one the pivot: hold, charge, confirm.
SagaDefinition Booking() {
  SagaDefinition d;
  d.name = "booking";
  d.steps.push_back({.name = "hold", .action = Nothing, .compensation = Nothing});
  d.steps.push_back({.name = "charge", .action = Nothing, .compensation = Nothing, .pivot = true});
  d.steps.push_back({.name = "confirm", .action = Nothing});
  return d;
}

void Refused(const SagaDefinition& d, std::string_view expected,
             const DefinitionLimits& limits = {}) {
  const absl::Status status = d.Validate(limits);
  CAPTURE(expected);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_MESSAGE(
      absl::StrContains(status.message(), absl::string_view(expected.data(), expected.size())),
      status);
}

TEST_CASE("A booking with a pivot and a forward-only last step is valid") {
  CHECK(Booking().Validate().ok());
  SagaDefinition no_pivot = Booking();
  no_pivot.steps[1].pivot = false;
  no_pivot.steps[2].compensation = Nothing;
  CHECK(no_pivot.Validate().ok());
}

TEST_CASE("Validate names the step and the problem") {
  SagaDefinition d = Booking();
  d.name = "";
  Refused(d, "name");
  d = Booking();
  d.steps.clear();
  Refused(d, "0 steps");
  d = Booking();
  d.steps[0].action = nullptr;
  Refused(d, "step 0 (\"hold\") has no action");
  d = Booking();
  d.steps[1].timeout_ns = -1;
  Refused(d, "timeout_ns -1");
  d = Booking();
  d.steps[0].retry.initial_interval_ns = 0;
  Refused(d, "step 0 (\"hold\") retry");
  d = Booking();
  d.steps[2].pivot = true;
  Refused(d, "second pivot");
  d = Booking();
  d.steps[2].retry.maximum_attempts = 3;
  Refused(d, "maximum_attempts 3");
  d = Booking();
  d.steps[2].compensation = Nothing;
  Refused(d, "would never run");
  Refused(Booking(), "3 steps", {.max_steps = 2});
  Refused(Booking(), "name", {.max_name_bytes = 3});
}

TEST_CASE("Idempotency keys name the saga the step and the phase") {
  CHECK(IdempotencyKey("reservation-7", 0, Phase::kAction) == "reservation-7:0:a");
  CHECK(IdempotencyKey("a:b", 12, Phase::kCompensation) == "a:b:12:c");
  CHECK(PhaseName(Phase::kAction) == "action");
  CHECK(PhaseName(Phase::kCompensation) == "compensation");
}

TEST_CASE("Step results say whether they succeeded and whether a retry may help") {
  const StepResult ok = StepResult::Success("payment-9");
  CHECK(ok.ok);
  CHECK(ok.output == "payment-9");
  const StepResult retry = StepResult::Failure("Timeout", "no answer");
  CHECK_FALSE(retry.ok);
  CHECK_FALSE(retry.non_retryable);
  CHECK(retry.error_type == "Timeout");
  CHECK(retry.message == "no answer");
  const StepResult final_failure = StepResult::NonRetryableFailure("CardDeclined");
  CHECK_FALSE(final_failure.ok);
  CHECK(final_failure.non_retryable);
  CHECK(final_failure.error_type == "CardDeclined");
}

TEST_CASE("A completion that belongs to no orchestrator drops its answer") {
  const Completion none;
  none.Done(StepResult::Success());  // nothing to deliver to, and no crash
  none.Done(StepResult::Failure("again"));
}

}  // namespace
}  // namespace keel::saga
