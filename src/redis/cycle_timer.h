// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// CycleTimer: times commands for INFO commandstats with the CPU's time-stamp counter, as Redis
// does (its monotonic clock reads the TSC where it can). A command is timed twice, and at a
// million commands a second the two clock_gettime calls cost a tenth of the server's time on a
// virtual machine whose clock source is not the TSC (perf, keel-server under redis-benchmark
// -P 16); reading the TSC costs a few nanoseconds. The rate is calibrated once against the
// monotonic clock. Elsewhere than x86-64, it is the monotonic clock.
#ifndef KEEL_SRC_REDIS_CYCLE_TIMER_H_
#define KEEL_SRC_REDIS_CYCLE_TIMER_H_

#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "keel/base/clock.h"

namespace keel::redis::internal {

class CycleTimer {
 public:
  CycleTimer() {
#if defined(__x86_64__)
    // Calibrate over about a millisecond: enough for a rate good to a fraction of a percent,
    // which is all commandstats need.
    base::MonotonicClock clock;
    const int64_t t0 = clock.NowNanos();
    const uint64_t c0 = __rdtsc();
    int64_t t1 = t0;
    while (t1 - t0 < 1'000'000) t1 = clock.NowNanos();
    const uint64_t c1 = __rdtsc();
    ticks_per_micro_ = static_cast<double>(c1 - c0) / (static_cast<double>(t1 - t0) / 1000.0);
    if (!(ticks_per_micro_ > 0)) ticks_per_micro_ = 1000;
#endif
  }

  [[nodiscard]] uint64_t Now() const {
#if defined(__x86_64__)
    return __rdtsc();
#else
    return static_cast<uint64_t>(clock_.NowNanos());
#endif
  }

  [[nodiscard]] uint64_t Micros(uint64_t ticks) const {
#if defined(__x86_64__)
    return static_cast<uint64_t>(static_cast<double>(ticks) / ticks_per_micro_);
#else
    return ticks / 1000;
#endif
  }

 private:
#if defined(__x86_64__)
  double ticks_per_micro_ = 1000;
#else
  base::MonotonicClock clock_;
#endif
};

}  // namespace keel::redis::internal

#endif  // KEEL_SRC_REDIS_CYCLE_TIMER_H_
