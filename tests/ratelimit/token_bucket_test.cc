// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/ratelimit/token_bucket.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::ratelimit {
namespace {

constexpr int64_t kMs = base::kNanosPerMilli;

TEST_CASE("A bucket allows a burst and then one request per interval") {
  TokenBucket bucket({.interval_ns = 10 * kMs, .burst = 5});
  const int64_t t0 = 1'000 * kMs;
  CHECK(bucket.Available(t0) == 5);
  for (int i = 0; i < 5; ++i) CHECK(bucket.TryAcquire(t0).allowed);
  const Decision refused = bucket.TryAcquire(t0);
  CHECK(!refused.allowed);
  CHECK(refused.retry_after_ns == 10 * kMs);
  CHECK(!bucket.TryAcquire(t0 + 10 * kMs - 1).allowed);
  CHECK(bucket.TryAcquire(t0 + 10 * kMs).allowed);
  CHECK(bucket.Available(t0 + 10 * kMs) == 0);
  // Idle for long: the bucket is full again, never fuller.
  CHECK(bucket.Available(t0 + 10'000 * kMs) == 5);
  CHECK(bucket.TryAcquire(t0 + 10'000 * kMs, 5).allowed);
  CHECK(!bucket.TryAcquire(t0 + 10'000 * kMs).allowed);
}

TEST_CASE("A request for more tokens than the burst is never allowed") {
  TokenBucket bucket({.interval_ns = kMs, .burst = 3});
  CHECK(bucket.TryAcquire(0, 4).retry_after_ns == -1);
  CHECK(bucket.TryAcquire(0, 0).retry_after_ns == -1);
  CHECK(bucket.TryAcquire(0, -1).retry_after_ns == -1);
  CHECK(bucket.Available(0) == 3);  // nothing was taken
}

TEST_CASE("Bad rates are refused with the bad value named") {
  CHECK(CheckRate({.interval_ns = 1, .burst = 1}).ok());
  CHECK(CheckRate({.interval_ns = kMaxIntervalNs / kMaxBurst, .burst = kMaxBurst}).ok());
  for (const Rate& bad :
       {Rate{.interval_ns = 0, .burst = 1}, Rate{.interval_ns = -5, .burst = 1},
        Rate{.interval_ns = kMaxIntervalNs + 1, .burst = 1}, Rate{.interval_ns = 1, .burst = 0},
        Rate{.interval_ns = 1, .burst = kMaxBurst + 1},
        Rate{.interval_ns = kMaxIntervalNs, .burst = 2}}) {
    const absl::Status status = CheckRate(bad);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK((absl::StrContains(status.message(), std::to_string(bad.interval_ns)) ||
           absl::StrContains(status.message(), std::to_string(bad.burst))));
  }
  base::ManualClock clock(0);
  CHECK(RateLimiter::Create({.interval_ns = 0, .burst = 1}, clock).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

// The oracle: the textbook bucket, a level of tokens (counted in nanoseconds of refill, so that it
// is exact) topped up by the time that passed and capped at the burst.
struct OracleBucket {
  Rate rate;
  int64_t level_ns;
  int64_t last_ns;

  Decision TryAcquire(int64_t now, int64_t tokens) {
    if (tokens < 1 || tokens > rate.burst) return {false, -1};
    const int64_t capacity = rate.burst * rate.interval_ns;
    level_ns = std::min(capacity, level_ns + (now - last_ns));
    last_ns = now;
    const int64_t cost = tokens * rate.interval_ns;
    if (level_ns < cost) return {false, cost - level_ns};
    level_ns -= cost;
    return {true, 0};
  }
};

TEST_CASE("Buckets decide exactly as a textbook token bucket on random requests") {
  const uint64_t seed = keel::testing::TestSeed(601);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int run = 0; run < 200; ++run) {
    const Rate rate{.interval_ns = static_cast<int64_t>(1 + rng.Uniform(1'000'000)),
                    .burst = static_cast<int64_t>(1 + rng.Uniform(20))};
    CAPTURE(rate.interval_ns);
    CAPTURE(rate.burst);
    base::ManualClock clock(static_cast<int64_t>(rng.Uniform(1'000'000'000)));
    auto limiter = *RateLimiter::Create(rate, clock);
    std::map<uint64_t, OracleBucket> oracle;
    for (int step = 0; step < 2000; ++step) {
      clock.Advance(static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(rate.interval_ns) * 2)));
      const uint64_t client = rng.Uniform(5);
      const auto tokens = static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(rate.burst) + 2));
      auto [it, fresh] = oracle.try_emplace(
          client, OracleBucket{rate, rate.burst * rate.interval_ns, clock.NowNanos()});
      const Decision want = it->second.TryAcquire(clock.NowNanos(), tokens);
      const Decision got = limiter.TryAcquire(client, tokens);
      REQUIRE(got.allowed == want.allowed);
      REQUIRE(got.retry_after_ns == want.retry_after_ns);
      if (rng.Uniform(50) == 0) (void)limiter.Purge();
    }
  }
}

TEST_CASE("A limiter keeps clients apart and forgets the ones with a full bucket") {
  base::ManualClock clock(0);
  auto limiter = *RateLimiter::Create({.interval_ns = 100 * kMs, .burst = 2}, clock);
  CHECK(limiter.TryAcquire(1).allowed);
  CHECK(limiter.TryAcquire(1).allowed);
  CHECK(!limiter.TryAcquire(1).allowed);
  CHECK(limiter.TryAcquire(2).allowed);  // another client's bucket is full
  CHECK(!limiter.TryAcquire(3, 3).allowed);
  CHECK(limiter.clients() == 2);  // a refused first request leaves nothing behind
  clock.Advance(100 * kMs);
  CHECK(limiter.Purge() == 1);  // client 2 is full again; client 1 has one token of two
  CHECK(limiter.clients() == 1);
  clock.Advance(100 * kMs);
  CHECK(limiter.Purge() == 1);
  CHECK(limiter.clients() == 0);
  CHECK(limiter.TryAcquire(1, 2).allowed);
}

}  // namespace
}  // namespace keel::ratelimit
