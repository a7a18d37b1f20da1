// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// RetryPolicy: how often, and how long apart, a saga step is tried again after it fails.
//
// A hotel's payment provider declines a card now and then, times out under load, or answers
// "try again later". The saga orchestrator (keel/saga/orchestrator.h) retries such a step on its
// own, and the policy says how: the fields and their meaning are Temporal's RetryPolicy
// (docs.temporal.io, "What is a Temporal Retry Policy?", and the RetryPolicy message of
// temporal/api/common/v1), so that someone who knows Temporal knows these:
//
//   initial_interval_ns         the wait before the first retry (attempt 2).
//   backoff_coefficient         each wait is the previous one times this (at least 1).
//   maximum_interval_ns         no wait is longer; 0 means 100 times initial_interval_ns.
//   maximum_attempts            attempts in all, the first included; 1 disables retries; 0 means
//                               no limit (the step is retried until it succeeds or fails with a
//                               non-retryable error).
//   non_retryable_error_types   a failure whose error type (not message) is exactly one of these
//                               is final at once; so is one the participant marks non-retryable.
//
// So the wait before attempt n (n >= 2) is min(initial * coefficient^(n-2), maximum): with
// Temporal's defaults (1 s, 2.0, 100 s) 1 s, 2 s, 4 s, ..., 64 s, then 100 s for ever.
//
// Jitter is keel's addition (Temporal's server retries activities without it): when many sagas
// fail together (the provider went down), equal waits would bring them all back together. With
// `jitter` = j, each wait is drawn uniformly from [d * (1 - j), d], where d is the wait above; it
// never exceeds d, so maximum_interval_ns stays a true cap. The draw comes from a seeded
// keel::base::Random, so a run replays exactly for its seed.
//
// Example:
//
//   keel::saga::RetryPolicy charge;
//   charge.initial_interval_ns = 200 * keel::base::kNanosPerMilli;
//   charge.maximum_attempts = 4;
//   charge.non_retryable_error_types = {"CardDeclined"};
//   KEEL_RETURN_IF_ERROR(charge.Validate());
//   int64_t wait_ns = keel::saga::RetryDelayNs(charge, /*attempt=*/3);  // 400 ms
#ifndef KEEL_SAGA_RETRY_POLICY_H_
#define KEEL_SAGA_RETRY_POLICY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"

namespace keel::saga {

struct RetryPolicy {
  int64_t initial_interval_ns = base::kNanosPerSecond;
  double backoff_coefficient = 2.0;
  int64_t maximum_interval_ns = 0;  // 0: 100 * initial_interval_ns
  uint32_t maximum_attempts = 0;    // 0: unlimited
  double jitter = 0.0;              // in [0, 1]
  std::vector<std::string> non_retryable_error_types{};

  // OK, or kInvalidArgument naming the first bad field and its value: initial_interval_ns not
  // above 0; backoff_coefficient below 1 or not finite; maximum_interval_ns negative, or below
  // initial_interval_ns when set; jitter outside [0, 1]; an empty error type. (100 times an
  // initial interval that would overflow is an error too.)
  [[nodiscard]] absl::Status Validate() const;

  // maximum_interval_ns, or its default. REQUIRES: Validate() is OK.
  [[nodiscard]] int64_t EffectiveMaximumIntervalNs() const;

  // Whether a failure of type `error_type` may be retried (it is not in the list).
  [[nodiscard]] bool IsRetryable(std::string_view error_type) const;

  // Whether another attempt is allowed after `attempts_made` attempts.
  [[nodiscard]] bool AllowsAttempt(uint32_t attempts_made) const {
    return maximum_attempts == 0 || attempts_made < maximum_attempts;
  }
};

// The wait before attempt `attempt` (2 for the first retry), without jitter:
// min(initial_interval_ns * backoff_coefficient^(attempt - 2), maximum interval), in whole
// nanoseconds (the product rounded down). REQUIRES: policy.Validate() is OK and attempt >= 2.
[[nodiscard]] int64_t RetryDelayNs(const RetryPolicy& policy, uint32_t attempt);

// The same wait with the policy's jitter, drawn from `random`: uniformly in
// [d - floor(d * jitter), d]. Draws nothing when jitter is 0.
[[nodiscard]] int64_t RetryDelayNs(const RetryPolicy& policy, uint32_t attempt,
                                   base::Random& random);

}  // namespace keel::saga

#endif  // KEEL_SAGA_RETRY_POLICY_H_
