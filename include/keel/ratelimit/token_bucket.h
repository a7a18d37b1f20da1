// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Rate limiting by token bucket: a client may send `burst` requests at once, and after that one
// every `interval_ns` on average. The stock exchange's client gateway limits each client's orders
// this way (the case study's defence against a flood of orders), and any service can do the same.
//
// The bucket is kept as the generic cell rate algorithm (GCRA) does it, in ITU-T Recommendation
// I.371's "virtual scheduling" form: instead of a token count that a timer refills, one number per
// client, the theoretical arrival time (TAT) of its next request if it kept exactly to the rate. A
// request at time t costing n tokens is allowed when TAT + n * interval - t <= burst * interval,
// and then TAT becomes max(TAT, t) + n * interval. That is exactly a bucket of `burst` tokens
// refilled one per interval, in integers (no drift, no rounding), with no timer, and a client whose
// TAT is in the past holds a full bucket: it can be forgotten.
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(auto limits, keel::ratelimit::RateLimiter::Create(
//       {.interval_ns = keel::base::kNanosPerSecond / 100, .burst = 20}, clock));
//   if (!limits.TryAcquire(client_id).allowed) reject("rate limited");
//
// Time comes from a keel::base::Clock, so tests and simulations drive it by hand.
//
// Thread safety: none; one thread (a gateway's) uses a limiter.
#ifndef KEEL_RATELIMIT_TOKEN_BUCKET_H_
#define KEEL_RATELIMIT_TOKEN_BUCKET_H_

#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "keel/base/clock.h"

namespace keel::ratelimit {

struct Rate {
  int64_t interval_ns = base::kNanosPerMilli;  // one token per this many nanoseconds, on average
  int64_t burst = 1;                           // the bucket's size: requests allowed at once

  friend bool operator==(const Rate&, const Rate&) = default;
};

// The limits, so that burst * interval never overflows: about 35 years of tokens.
inline constexpr int64_t kMaxIntervalNs = int64_t{1} << 50;
inline constexpr int64_t kMaxBurst = int64_t{1} << 12;
// Checks a Rate: interval 1 to kMaxIntervalNs, burst 1 to kMaxBurst, and their product within
// kMaxIntervalNs (kInvalidArgument naming the bad value otherwise).
[[nodiscard]] absl::Status CheckRate(const Rate& rate);

struct Decision {
  bool allowed = false;
  int64_t retry_after_ns = 0;  // when refused: how long until the same request would be allowed
};

// One bucket.
class TokenBucket {
 public:
  // REQUIRES: CheckRate(rate).ok().
  explicit TokenBucket(const Rate& rate) : rate_(rate) {}

  // Takes `tokens` (1 to the burst) at `now_ns`, if the bucket holds them. Asking for more than
  // the burst is refused with retry_after_ns -1: it can never be allowed.
  [[nodiscard]] Decision TryAcquire(int64_t now_ns, int64_t tokens = 1);

  // Whole tokens in the bucket at `now_ns`.
  [[nodiscard]] int64_t Available(int64_t now_ns) const;

  [[nodiscard]] const Rate& rate() const { return rate_; }

 private:
  friend class RateLimiter;
  static Decision Decide(const Rate& rate, int64_t& tat_ns, int64_t now_ns, int64_t tokens);

  Rate rate_;
  // The theoretical arrival time; "long ago" (a full bucket) until the first request.
  int64_t tat_ns_ = INT64_MIN / 2;
};

// A bucket per client, all with one rate; clients with a full bucket take no memory once Purge()
// has run.
class RateLimiter {
 public:
  [[nodiscard]] static absl::StatusOr<RateLimiter> Create(const Rate& rate,
                                                          const base::Clock& clock);

  // One request of `tokens` from `client` now.
  [[nodiscard]] Decision TryAcquire(uint64_t client, int64_t tokens = 1);

  // Forgets every client whose bucket has refilled; returns how many. Call it now and then (each
  // entry costs about 16 bytes until then).
  size_t Purge();

  [[nodiscard]] size_t clients() const { return tat_ns_.size(); }
  [[nodiscard]] const Rate& rate() const { return rate_; }

 private:
  RateLimiter(const Rate& rate, const base::Clock& clock) : rate_(rate), clock_(&clock) {}

  Rate rate_;
  const base::Clock* clock_;
  absl::flat_hash_map<uint64_t, int64_t> tat_ns_;
};

}  // namespace keel::ratelimit

#endif  // KEEL_RATELIMIT_TOKEN_BUCKET_H_
