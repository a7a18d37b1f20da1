// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/saga/driver.h"

#include <algorithm>
#include <optional>

namespace keel::saga {

Driver::Driver(Orchestrator& orchestrator, const base::Clock& clock)
    : orchestrator_(orchestrator), clock_(clock), thread_([this] { Run(); }) {}

Driver::~Driver() { Stop(); }

void Driver::Stop() {
  stop_.store(true, std::memory_order_release);
  orchestrator_.WakeWaiters();
  if (thread_.joinable()) thread_.join();
}

absl::Status Driver::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

void Driver::Run() {
  while (!stop_.load(std::memory_order_acquire)) {
    absl::StatusOr<uint64_t> polled = orchestrator_.Poll();
    if (!polled.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      status_ = std::move(polled).status();
      return;
    }
    int64_t sleep_ns = kMaxSleepNs;
    if (const std::optional<int64_t> next = orchestrator_.NextDeadlineNs(); next.has_value()) {
      sleep_ns = std::clamp<int64_t>(*next - clock_.NowNanos(), 0, kMaxSleepNs);
    }
    if (sleep_ns > 0) (void)orchestrator_.WaitForWork(sleep_ns);
  }
}

}  // namespace keel::saga
