// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/base/clock.h"

#include <time.h>

#include <limits>

#include "keel/base/assert.h"

namespace keel::base {
namespace {

int64_t ReadClock(clockid_t id) {
  timespec ts;
  // clock_gettime cannot fail for these two clocks on Linux; if it ever did, every deadline in
  // the process would be wrong, so treat it as the broken invariant it is.
  const int rc = clock_gettime(id, &ts);
  KEEL_ASSERT(rc == 0, "clock_gettime(", id, ") failed");
  return int64_t{ts.tv_sec} * kNanosPerSecond + int64_t{ts.tv_nsec};
}

}  // namespace

int64_t MonotonicClock::NowNanos() const { return ReadClock(CLOCK_MONOTONIC); }

const MonotonicClock& MonotonicClock::Default() {
  static const MonotonicClock clock;
  return clock;
}

int64_t CoarseMonotonicClock::NowNanos() const { return ReadClock(CLOCK_MONOTONIC_COARSE); }

int64_t CoarseMonotonicClock::MaxLagNanos() const {
  static const int64_t tick_ns = [] {
    timespec ts;
    const int rc = clock_getres(CLOCK_MONOTONIC_COARSE, &ts);
    KEEL_ASSERT(rc == 0, "clock_getres(CLOCK_MONOTONIC_COARSE) failed");
    return int64_t{ts.tv_sec} * kNanosPerSecond + int64_t{ts.tv_nsec};
  }();
  return tick_ns;
}

const CoarseMonotonicClock& CoarseMonotonicClock::Default() {
  static const CoarseMonotonicClock clock;
  return clock;
}

int64_t SystemClock::NowNanos() const { return ReadClock(CLOCK_REALTIME); }

const SystemClock& SystemClock::Default() {
  static const SystemClock clock;
  return clock;
}

void ManualClock::Advance(int64_t delta_ns) {
  KEEL_ASSERT(delta_ns >= 0, "a ManualClock cannot go back ", -delta_ns, " ns");
  int64_t now = now_ns_.load(std::memory_order_relaxed);
  int64_t next;
  do {
    KEEL_ASSERT(now <= std::numeric_limits<int64_t>::max() - delta_ns,
                "advancing a ManualClock at ", now, " ns by ", delta_ns, " ns overflows");
    next = now + delta_ns;
  } while (!now_ns_.compare_exchange_weak(now, next, std::memory_order_acq_rel,
                                          std::memory_order_relaxed));
}

void ManualClock::Set(int64_t now_ns) {
  int64_t now = now_ns_.load(std::memory_order_relaxed);
  do {
    KEEL_ASSERT(now_ns >= now, "a ManualClock at ", now, " ns cannot be set back to ", now_ns,
                " ns");
  } while (!now_ns_.compare_exchange_weak(now, now_ns, std::memory_order_acq_rel,
                                          std::memory_order_relaxed));
}

}  // namespace keel::base
