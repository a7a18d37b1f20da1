// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Driver: runs an orchestrator's Polls on a thread of its own, for programs that run sagas in
// real time. The thread polls whenever an answer comes in or a saga is started, and when the
// earliest timer is due; in between it sleeps. A test that wants every step under its control
// calls Poll itself instead, with a ManualClock.
//
// The orchestrator's clock must be a real one (MonotonicClock, the default): the driver sleeps in
// real time until the clock says a timer is due.
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(auto sagas, keel::saga::Orchestrator::Open(options, {booking}));
//   keel::saga::Driver driver(*sagas);
//   KEEL_RETURN_IF_ERROR(sagas->Start("reservation-7781", "booking", request));
//   ... participants answer from their own threads; on_finished reports the outcome ...
//   driver.Stop();  // or let it go out of scope before the orchestrator
#ifndef KEEL_SAGA_DRIVER_H_
#define KEEL_SAGA_DRIVER_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "keel/base/clock.h"
#include "keel/saga/orchestrator.h"

namespace keel::saga {

class Driver {
 public:
  // Starts the thread. `orchestrator` must outlive the driver; `clock` must be the
  // orchestrator's (MonotonicClock::Default() unless the options said otherwise).
  explicit Driver(Orchestrator& orchestrator,
                  const base::Clock& clock = base::MonotonicClock::Default());
  // Stops the thread.
  ~Driver();
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  // Stops the thread and waits for it; a Poll under way finishes first. Idempotent.
  void Stop();

  // OK, or the error that stopped the thread (a Poll's: the log failed).
  [[nodiscard]] absl::Status status() const;

 private:
  // The longest sleep without a timer due: a bound on how late a missed wake-up is noticed.
  static constexpr int64_t kMaxSleepNs = 100 * base::kNanosPerMilli;

  void Run();

  Orchestrator& orchestrator_;
  const base::Clock& clock_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  absl::Status status_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace keel::saga

#endif  // KEEL_SAGA_DRIVER_H_
