// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/saga/retry_policy.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "keel/base/assert.h"
#include "keel/base/strings.h"

namespace keel::saga {
namespace {

// Temporal's default maximum interval is this many initial intervals.
constexpr int64_t kDefaultMaximumIntervalFactor = 100;

}  // namespace

absl::Status RetryPolicy::Validate() const {
  if (initial_interval_ns <= 0) {
    return absl::InvalidArgumentError(
        base::Cat("retry policy initial_interval_ns ", initial_interval_ns, " is not above 0"));
  }
  if (!std::isfinite(backoff_coefficient) || backoff_coefficient < 1.0) {
    return absl::InvalidArgumentError(base::Cat("retry policy backoff_coefficient ",
                                                backoff_coefficient, " is not a number >= 1"));
  }
  if (maximum_interval_ns < 0) {
    return absl::InvalidArgumentError(
        base::Cat("retry policy maximum_interval_ns ", maximum_interval_ns, " is negative"));
  }
  if (maximum_interval_ns == 0 &&
      initial_interval_ns > std::numeric_limits<int64_t>::max() / kDefaultMaximumIntervalFactor) {
    return absl::InvalidArgumentError(
        base::Cat("retry policy initial_interval_ns ", initial_interval_ns,
                  " is too large for the default maximum interval (100 times it)"));
  }
  if (maximum_interval_ns != 0 && maximum_interval_ns < initial_interval_ns) {
    return absl::InvalidArgumentError(
        base::Cat("retry policy maximum_interval_ns ", maximum_interval_ns,
                  " is below initial_interval_ns ", initial_interval_ns));
  }
  if (!(jitter >= 0.0 && jitter <= 1.0)) {
    return absl::InvalidArgumentError(
        base::Cat("retry policy jitter ", jitter, " is not in [0, 1]"));
  }
  for (size_t i = 0; i < non_retryable_error_types.size(); ++i) {
    if (non_retryable_error_types[i].empty()) {
      return absl::InvalidArgumentError(
          base::Cat("retry policy non_retryable_error_types[", i, "] is empty"));
    }
  }
  return absl::OkStatus();
}

int64_t RetryPolicy::EffectiveMaximumIntervalNs() const {
  return maximum_interval_ns != 0 ? maximum_interval_ns
                                  : initial_interval_ns * kDefaultMaximumIntervalFactor;
}

bool RetryPolicy::IsRetryable(std::string_view error_type) const {
  return std::find(non_retryable_error_types.begin(), non_retryable_error_types.end(),
                   error_type) == non_retryable_error_types.end();
}

int64_t RetryDelayNs(const RetryPolicy& policy, uint32_t attempt) {
  KEEL_ASSERT(attempt >= 2, "attempt ", attempt, " has no wait before it");
  const int64_t maximum = policy.EffectiveMaximumIntervalNs();
  // initial * coefficient^k in doubles: exact for the usual small powers of 2, and any overflow
  // turns into infinity, which the cap then catches.
  const double delay = static_cast<double>(policy.initial_interval_ns) *
                       std::pow(policy.backoff_coefficient, static_cast<double>(attempt - 2));
  if (!(delay < static_cast<double>(maximum))) return maximum;
  return std::min(maximum, static_cast<int64_t>(delay));
}

int64_t RetryDelayNs(const RetryPolicy& policy, uint32_t attempt, base::Random& random) {
  const int64_t delay = RetryDelayNs(policy, attempt);
  if (policy.jitter == 0.0) return delay;
  const auto spread = static_cast<int64_t>(static_cast<double>(delay) * policy.jitter);
  return delay - random.UniformInRange(0, std::min(spread, delay));
}

}  // namespace keel::saga
