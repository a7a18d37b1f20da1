// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/ratelimit/token_bucket.h"

#include "keel/base/strings.h"

namespace keel::ratelimit {

absl::Status CheckRate(const Rate& rate) {
  if (rate.interval_ns < 1 || rate.interval_ns > kMaxIntervalNs) {
    return absl::InvalidArgumentError(
        base::Cat("rate interval_ns is ", rate.interval_ns, ": want 1 to ", kMaxIntervalNs));
  }
  if (rate.burst < 1 || rate.burst > kMaxBurst) {
    return absl::InvalidArgumentError(
        base::Cat("rate burst is ", rate.burst, ": want 1 to ", kMaxBurst));
  }
  if (rate.interval_ns > kMaxIntervalNs / rate.burst) {
    return absl::InvalidArgumentError(base::Cat("rate burst ", rate.burst, " times interval_ns ",
                                                rate.interval_ns, " is over ", kMaxIntervalNs,
                                                " ns"));
  }
  return absl::OkStatus();
}

// The whole algorithm. `ahead` is how far the client's theoretical arrival time is in the future:
// the tokens it has spent and that have not yet refilled, in nanoseconds. Working with it rather
// than with absolute times keeps every sum below 2^52.
Decision TokenBucket::Decide(const Rate& rate, int64_t& tat_ns, int64_t now_ns, int64_t tokens) {
  if (tokens < 1 || tokens > rate.burst) return {false, -1};
  const int64_t ahead = tat_ns > now_ns ? tat_ns - now_ns : 0;
  const int64_t after = ahead + tokens * rate.interval_ns;
  const int64_t capacity = rate.burst * rate.interval_ns;
  if (after > capacity) return {false, after - capacity};
  tat_ns = now_ns + after;
  return {true, 0};
}

Decision TokenBucket::TryAcquire(int64_t now_ns, int64_t tokens) {
  return Decide(rate_, tat_ns_, now_ns, tokens);
}

int64_t TokenBucket::Available(int64_t now_ns) const {
  const int64_t ahead = tat_ns_ > now_ns ? tat_ns_ - now_ns : 0;
  return (rate_.burst * rate_.interval_ns - ahead) / rate_.interval_ns;
}

absl::StatusOr<RateLimiter> RateLimiter::Create(const Rate& rate, const base::Clock& clock) {
  if (absl::Status status = CheckRate(rate); !status.ok()) return status;
  return RateLimiter(rate, clock);
}

Decision RateLimiter::TryAcquire(uint64_t client, int64_t tokens) {
  const int64_t now = clock_->NowNanos();
  // A client not in the map has a full bucket: "long ago" is any time not after now.
  const auto [it, fresh] = tat_ns_.try_emplace(client, now);
  const Decision d = TokenBucket::Decide(rate_, it->second, now, tokens);
  if (fresh && !d.allowed) tat_ns_.erase(it);  // nothing spent: keep the map small
  return d;
}

size_t RateLimiter::Purge() {
  const int64_t now = clock_->NowNanos();
  size_t purged = 0;
  for (auto it = tat_ns_.begin(); it != tat_ns_.end();) {
    if (it->second <= now) {
      tat_ns_.erase(it++);
      ++purged;
    } else {
      ++it;
    }
  }
  return purged;
}

}  // namespace keel::ratelimit
