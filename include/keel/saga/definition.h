// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A saga's definition: its steps, and what a step's participant is handed and answers.
//
// A saga (Garcia-Molina and Salem, "Sagas", SIGMOD 1987) is a long-lived transaction split into
// steps that each commit on their own in some service (hold the rooms, charge the card, confirm
// the booking), each paired with a compensation that semantically undoes it (release the rooms,
// refund the charge). If a step fails for good, the steps already done are compensated in reverse
// order. Richardson's "Microservices Patterns" (ch. 4) adds the pivot: the step after which the
// saga can no longer be undone, so that it only goes forward, the steps after it retried until
// they succeed.
//
// A step is two callbacks, an action and an optional compensation (the pivot, a read-only step or
// the last steps need none). Participants are asynchronous: the orchestrator calls the callback
// with a StepContext and a Completion, the callback starts the work (sends a request) and returns,
// and whoever learns the answer, on any thread and at any later time, calls Completion::Done
// once. An answer that comes after the attempt's timeout, or a second answer, is ignored.
//
// Every invocation carries an idempotency key: "<saga id>:<step index>:a" for the action and
// "<saga id>:<step index>:c" for the compensation. It is the same for every attempt and after a
// restart of the orchestrator, which may repeat an attempt whose answer it never learned, so a
// participant that stores its answer under the key (keel's idempotency store, Stripe's
// Idempotency-Key) does each thing once however often it is asked.
//
// Example (the hotel's booking saga, with the charge as its pivot):
//
//   keel::saga::SagaDefinition booking;
//   booking.name = "booking";
//   booking.steps.push_back({
//       .name = "hold rooms",
//       .action = [&](const StepContext& c, Completion done) { inventory.Hold(c, done); },
//       .compensation = [&](const StepContext& c, Completion done) {
//         inventory.Release(c, done);
//       },
//       .retry = {.initial_interval_ns = 10 * kNanosPerMilli, .maximum_attempts = 3},
//       .timeout_ns = kNanosPerSecond});
//   booking.steps.push_back({
//       .name = "charge guest",
//       .action = [&](const StepContext& c, Completion done) {
//         payments.Charge(c.idempotency_key, c.input, [done](PaymentAnswer a) {
//           if (a.declined) done.Done(StepResult::NonRetryableFailure("CardDeclined"));
//           else done.Done(StepResult::Success(a.payment_id));  // stored, given to later steps
//         });
//       },
//       .retry = {.initial_interval_ns = 100 * kNanosPerMilli, .maximum_attempts = 4},
//       .timeout_ns = 2 * kNanosPerSecond,
//       .pivot = true});
//   booking.steps.push_back({
//       .name = "confirm",
//       .action = [&](const StepContext& c, Completion done) { reservations.Confirm(c, done); },
//       .timeout_ns = kNanosPerSecond});  // after the pivot: retried until it succeeds
#ifndef KEEL_SAGA_DEFINITION_H_
#define KEEL_SAGA_DEFINITION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "keel/base/clock.h"
#include "keel/saga/retry_policy.h"

namespace keel::saga {

// Which callback of a step runs.
enum class Phase : uint8_t { kAction = 0, kCompensation = 1 };

// "action" or "compensation".
[[nodiscard]] std::string_view PhaseName(Phase phase);

// What a callback is handed. The views are valid only during the call: copy what is needed
// later (the idempotency key, usually).
struct StepContext {
  std::string_view saga_id;
  std::string_view idempotency_key;  // "<saga id>:<step>:a" or ":c"; see the file comment
  std::string_view input;            // the saga's input, as given to Orchestrator::Start
  // The output of each step's action that succeeded, indexed by step (empty for the others): a
  // later step or a compensation reads what an earlier action returned (a hold id, a payment id).
  std::span<const std::string> outputs;
  uint32_t step = 0;  // index in the definition
  Phase phase = Phase::kAction;
  uint32_t attempt = 1;     // 1 for the first attempt
  int64_t deadline_ns = 0;  // by the orchestrator's clock: an answer after it is ignored
};

// The idempotency key of a step's action or compensation: "<saga id>:<step>:a" or ":c".
[[nodiscard]] std::string IdempotencyKey(std::string_view saga_id, uint32_t step, Phase phase);

// A participant's answer.
struct StepResult {
  bool ok = true;
  std::string output;      // on success: kept with the saga (at most max_output_bytes)
  std::string error_type;  // on failure: matched against non_retryable_error_types
  std::string message;     // on failure: for people (cut to max_message_bytes)
  bool non_retryable = false;

  [[nodiscard]] static StepResult Success(std::string output = {});
  // Retried unless `error_type` is one of the policy's non-retryable types.
  [[nodiscard]] static StepResult Failure(std::string error_type, std::string message = {});
  // Final at once, whatever the policy says.
  [[nodiscard]] static StepResult NonRetryableFailure(std::string error_type,
                                                      std::string message = {});
};

namespace internal {
class Inbox;
}  // namespace internal

// How a participant answers one invocation. Cheap to copy; may be called from any thread, also
// after the orchestrator is gone (the answer is then dropped). Only the first Done of an
// invocation counts, and only if it comes before the attempt's deadline (by the orchestrator's
// clock, read when Done is called).
class Completion {
 public:
  Completion() = default;
  void Done(StepResult result) const;

  // For the orchestrator.
  Completion(std::shared_ptr<internal::Inbox> inbox, uint32_t slot, uint64_t token)
      : inbox_(std::move(inbox)), slot_(slot), token_(token) {}

 private:
  std::shared_ptr<internal::Inbox> inbox_;
  uint32_t slot_ = 0;
  uint64_t token_ = 0;
};

// A step's callback: starts the work and returns; the answer goes to `done`. It must not call
// Orchestrator::Poll (it runs inside it); anything else is allowed.
using StepFunction = std::function<void(const StepContext& context, Completion done)>;

// The retry policy compensations get unless a step says otherwise: Temporal's default, retried
// for ever, since a compensation that gives up leaves a saga half undone.
inline RetryPolicy DefaultCompensationRetry() { return RetryPolicy{}; }

// Every field has a default member initializer, so that designated initializers may leave any
// out (GCC's -Wmissing-field-initializers asks for it).
struct Step {
  std::string name{};
  StepFunction action{};
  StepFunction compensation{};  // empty: nothing to undo
  RetryPolicy retry{};          // the action's
  RetryPolicy compensation_retry = DefaultCompensationRetry();
  // Each attempt's limit, after which it counts as failed with its outcome unknown (the
  // participant may have done it). Must be above 0: an answer that never comes would otherwise
  // hold the saga for ever.
  int64_t timeout_ns = 30 * base::kNanosPerSecond;
  // At most one step per saga. Once its action succeeds the saga only goes forward: the steps
  // after it need maximum_attempts 0 and no compensation.
  bool pivot = false;
};

// The limits a definition is checked against (OrchestratorOptions holds them).
struct DefinitionLimits {
  uint32_t max_steps = 64;
  uint32_t max_name_bytes = 128;
};

struct SagaDefinition {
  std::string name{};
  std::vector<Step> steps{};

  // OK, or kInvalidArgument naming the step and the problem: no name, no steps or more than
  // max_steps, a name over max_name_bytes, a step without a name or an action, a bad retry policy
  // or timeout, two pivots, or a step after the pivot with a compensation or limited attempts.
  [[nodiscard]] absl::Status Validate(const DefinitionLimits& limits = {}) const;
};

}  // namespace keel::saga

#endif  // KEEL_SAGA_DEFINITION_H_
