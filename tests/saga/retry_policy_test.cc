// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel::saga::RetryPolicy against Temporal's semantics, with waits computed by hand.
#include "keel/saga/retry_policy.h"

#include <doctest/doctest.h>

#include <limits>

#include "absl/strings/match.h"
#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::saga {
namespace {

constexpr int64_t kSecond = base::kNanosPerSecond;
constexpr int64_t kMilli = base::kNanosPerMilli;

TEST_CASE("Temporal's default policy waits 1 2 4 up to 64 seconds then 100 for ever") {
  const RetryPolicy policy;  // 1 s, 2.0, 100 x 1 s, unlimited
  REQUIRE(policy.Validate().ok());
  CHECK(policy.EffectiveMaximumIntervalNs() == 100 * kSecond);
  const int64_t expected[] = {1, 2, 4, 8, 16, 32, 64, 100, 100, 100};
  for (uint32_t attempt = 2; attempt < 12; ++attempt) {
    CAPTURE(attempt);
    CHECK(RetryDelayNs(policy, attempt) == expected[attempt - 2] * kSecond);
  }
  CHECK(RetryDelayNs(policy, std::numeric_limits<uint32_t>::max()) == 100 * kSecond);
  CHECK(policy.AllowsAttempt(1'000'000));
}

TEST_CASE("A coefficient of 1 waits the initial interval every time") {
  RetryPolicy policy{.initial_interval_ns = 250 * kMilli, .backoff_coefficient = 1.0};
  REQUIRE(policy.Validate().ok());
  for (uint32_t attempt = 2; attempt < 50; ++attempt) {
    CHECK(RetryDelayNs(policy, attempt) == 250 * kMilli);
  }
}

TEST_CASE(
    "A fractional coefficient and an explicit maximum interval give the hand computed waits") {
  // 200 ms * 1.5^k: 200, 300, 450, 675, then capped at 1 s.
  RetryPolicy policy{.initial_interval_ns = 200 * kMilli,
                     .backoff_coefficient = 1.5,
                     .maximum_interval_ns = 1 * kSecond};
  REQUIRE(policy.Validate().ok());
  CHECK(RetryDelayNs(policy, 2) == 200 * kMilli);
  CHECK(RetryDelayNs(policy, 3) == 300 * kMilli);
  CHECK(RetryDelayNs(policy, 4) == 450 * kMilli);
  CHECK(RetryDelayNs(policy, 5) == 675 * kMilli);
  CHECK(RetryDelayNs(policy, 6) == 1 * kSecond);  // 1012.5 ms capped
  CHECK(RetryDelayNs(policy, 7) == 1 * kSecond);
}

TEST_CASE("Maximum attempts counts the first attempt and 0 means unlimited") {
  RetryPolicy policy{.maximum_attempts = 1};
  CHECK_FALSE(policy.AllowsAttempt(1));  // 1 disables retries
  policy.maximum_attempts = 3;
  CHECK(policy.AllowsAttempt(1));
  CHECK(policy.AllowsAttempt(2));
  CHECK_FALSE(policy.AllowsAttempt(3));
  policy.maximum_attempts = 0;
  CHECK(policy.AllowsAttempt(std::numeric_limits<uint32_t>::max() - 1));
}

TEST_CASE("Non retryable error types match the type exactly") {
  RetryPolicy policy{.non_retryable_error_types = {"CardDeclined", "Fraud"}};
  CHECK_FALSE(policy.IsRetryable("CardDeclined"));
  CHECK_FALSE(policy.IsRetryable("Fraud"));
  CHECK(policy.IsRetryable("carddeclined"));             // not case-folded
  CHECK(policy.IsRetryable("CardDeclinedTemporarily"));  // not a prefix match
  CHECK(policy.IsRetryable(""));
}

TEST_CASE("Jitter draws each wait from the band below the plain wait and replays for a seed") {
  const uint64_t seed = keel::testing::TestSeed(31);
  CAPTURE(seed);
  RetryPolicy policy{.initial_interval_ns = 1 * kSecond, .jitter = 0.25};
  REQUIRE(policy.Validate().ok());
  base::Random a(seed);
  base::Random b(seed);
  bool saw_below = false;
  for (uint32_t attempt = 2; attempt < 200; ++attempt) {
    const int64_t plain = RetryDelayNs(policy, attempt);
    const int64_t jittered = RetryDelayNs(policy, attempt, a);
    CHECK(jittered <= plain);
    CHECK(jittered >= plain - plain / 4);
    CHECK(RetryDelayNs(policy, attempt, b) == jittered);
    saw_below = saw_below || jittered < plain;
  }
  CHECK(saw_below);
  // Without jitter nothing is drawn.
  policy.jitter = 0;
  base::Random c(seed);
  CHECK(RetryDelayNs(policy, 5, c) == 8 * kSecond);
  CHECK(c.Next() == base::Random(seed).Next());
}

TEST_CASE("Validate names the bad field") {
  const auto error = [](const RetryPolicy& policy) {
    return std::string(policy.Validate().message());
  };
  CHECK(absl::StrContains(error({.initial_interval_ns = 0}), "initial_interval_ns 0"));
  CHECK(absl::StrContains(error({.initial_interval_ns = -5}), "initial_interval_ns -5"));
  CHECK(absl::StrContains(error({.backoff_coefficient = 0.5}), "backoff_coefficient 0.5"));
  CHECK(absl::StrContains(error({.backoff_coefficient = std::numeric_limits<double>::quiet_NaN()}),
                          "backoff_coefficient"));
  CHECK(absl::StrContains(error({.backoff_coefficient = std::numeric_limits<double>::infinity()}),
                          "backoff_coefficient"));
  CHECK(absl::StrContains(error({.maximum_interval_ns = -1}), "maximum_interval_ns -1"));
  CHECK(
      absl::StrContains(error({.initial_interval_ns = 2 * kSecond, .maximum_interval_ns = kSecond}),
                        "below initial_interval_ns"));
  CHECK(absl::StrContains(error({.initial_interval_ns = std::numeric_limits<int64_t>::max() / 50}),
                          "too large"));
  CHECK(absl::StrContains(error({.jitter = 1.5}), "jitter 1.5"));
  CHECK(absl::StrContains(error({.jitter = -0.1}), "jitter -0.1"));
  CHECK(absl::StrContains(error({.non_retryable_error_types = {"ok", ""}}),
                          "non_retryable_error_types[1]"));
  CHECK(RetryPolicy{.jitter = 1.0}.Validate().ok());
  CHECK(
      RetryPolicy{.initial_interval_ns = kSecond, .maximum_interval_ns = kSecond}.Validate().ok());
}

}  // namespace
}  // namespace keel::saga
