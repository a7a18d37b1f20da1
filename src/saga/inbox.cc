// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "inbox.h"

#include <chrono>
#include <utility>

namespace keel::saga::internal {

void Inbox::Push(uint32_t slot, uint64_t token, StepResult result) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    answers_.push_back(Answer{slot, token, clock_.NowNanos(), std::move(result)});
  }
  cv_.notify_one();
}

void Inbox::TakeAll(std::vector<Answer>& out) {
  std::lock_guard<std::mutex> lock(mu_);
  woken_ = false;
  if (out.empty()) {
    out.swap(answers_);
    return;
  }
  for (Answer& answer : answers_) out.push_back(std::move(answer));
  answers_.clear();
}

void Inbox::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_one();
}

bool Inbox::WaitForWork(int64_t timeout_ns) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, std::chrono::nanoseconds(timeout_ns),
                      [&] { return woken_ || !answers_.empty(); });
}

void Inbox::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  answers_.clear();
}

}  // namespace keel::saga::internal
