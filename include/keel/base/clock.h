// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Clocks: where every time-dependent primitive in keel gets the time.
//
// A TTL cache expires entries, a producer lingers before sending a batch, a Raft follower times
// out, a rate limiter refills its bucket. If each of them called the system clock directly, their
// tests would have to sleep and would still be flaky, and a simulation could not replay a run.
// So they take a `const Clock&` and ask it for the time:
//
//   MonotonicClock   the real steady clock (CLOCK_MONOTONIC); for measuring intervals and
//                    deadlines in a running process. Its epoch is arbitrary (boot time).
//   CoarseMonotonicClock  the same clock as MonotonicClock (the same epoch), read as the kernel
//                    last stored it (CLOCK_MONOTONIC_COARSE): it moves once per kernel tick (4 ms
//                    on the benchmark machine) and costs ~6 ns to read instead of ~28; for
//                    retention and timeouts of seconds or more, read on every request.
//   SystemClock      the real wall clock (CLOCK_REALTIME), nanoseconds since the Unix epoch; for
//                    timestamps that are stored or shown. It can jump when the host's time is set.
//   ManualClock      a clock that only moves when told to; tests and deterministic simulations
//                    advance it by hand.
//
// Time is an int64_t count of nanoseconds, as everywhere in keel: exact, cheap to store, and good
// for 292 years either side of the epoch.
//
// Example:
//
//   // The code under test takes the clock it reads...
//   bool IsExpired(const keel::base::Clock& clock, int64_t deadline_ns) {
//     return clock.NowNanos() >= deadline_ns;
//   }
//
//   // ...so the test moves time instead of sleeping.
//   keel::base::ManualClock clock(/*start_ns=*/0);
//   const int64_t deadline_ns = 30 * keel::base::kNanosPerSecond;
//   assert(!IsExpired(clock, deadline_ns));
//   clock.Advance(31 * keel::base::kNanosPerSecond);
//   assert(IsExpired(clock, deadline_ns));
//
// Thread safety: all clocks may be read from many threads at once; ManualClock may also be
// advanced while others read it.
#ifndef KEEL_BASE_CLOCK_H_
#define KEEL_BASE_CLOCK_H_

#include <atomic>
#include <cstdint>

namespace keel::base {

inline constexpr int64_t kNanosPerMicro = 1'000;
inline constexpr int64_t kNanosPerMilli = 1'000'000;
inline constexpr int64_t kNanosPerSecond = 1'000'000'000;

// The interface every time-dependent primitive takes. Implementations never go backwards:
// successive calls to NowNanos() on one clock return non-decreasing values (SystemClock excepted,
// see above).
class Clock {
 public:
  virtual ~Clock() = default;

  // The current time in nanoseconds since the clock's epoch.
  [[nodiscard]] virtual int64_t NowNanos() const = 0;

  // How far a reading may trail the true time: 0 for a clock read from the hardware, one tick for
  // CoarseMonotonicClock. Code that must never act early (expire a key, fire a deadline) adds it
  // to the interval it waits for.
  [[nodiscard]] virtual int64_t MaxLagNanos() const { return 0; }
};

// CLOCK_MONOTONIC: never jumps, never goes backwards, does not count time the host is suspended.
class MonotonicClock final : public Clock {
 public:
  [[nodiscard]] int64_t NowNanos() const override;

  // A process-wide instance, for code that has no clock handed to it (benchmarks, examples).
  static const MonotonicClock& Default();
};

// CLOCK_MONOTONIC_COARSE: MonotonicClock's time as of the last kernel tick.
class CoarseMonotonicClock final : public Clock {
 public:
  [[nodiscard]] int64_t NowNanos() const override;
  // The tick (clock_getres of CLOCK_MONOTONIC_COARSE), read once.
  [[nodiscard]] int64_t MaxLagNanos() const override;

  static const CoarseMonotonicClock& Default();
};

// CLOCK_REALTIME: nanoseconds since 1970-01-01T00:00:00Z, as the host believes it.
class SystemClock final : public Clock {
 public:
  [[nodiscard]] int64_t NowNanos() const override;

  static const SystemClock& Default();
};

// A clock that stands still until Advance() or Set() moves it forward.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ns = 0) : now_ns_(start_ns) {}

  [[nodiscard]] int64_t NowNanos() const override {
    return now_ns_.load(std::memory_order_acquire);
  }

  // Moves the clock forward by `delta_ns`.
  // REQUIRES: delta_ns >= 0, and the new time does not overflow int64_t. A clock that went
  // backwards would break every primitive reading it, so either is a bug in the caller.
  void Advance(int64_t delta_ns);

  // Moves the clock forward to `now_ns`.
  // REQUIRES: now_ns >= NowNanos().
  void Set(int64_t now_ns);

 private:
  std::atomic<int64_t> now_ns_;
};

}  // namespace keel::base

#endif  // KEEL_BASE_CLOCK_H_
