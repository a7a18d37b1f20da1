// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Inbox: where participants' answers wait for the next Poll. Completion::Done pushes from any
// thread; Poll takes everything at once. It also wakes a thread blocked in WaitForWork (a
// Driver) when an answer comes in or a saga is started. It is shared with every Completion, so
// that an answer given after the orchestrator is gone lands here and is dropped.
//
// Internal to keel/saga.
#ifndef KEEL_SRC_SAGA_INBOX_H_
#define KEEL_SRC_SAGA_INBOX_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "keel/saga/definition.h"

namespace keel::saga::internal {

// IdempotencyKey without the allocation: appends the key to `out`.
void AppendIdempotencyKey(std::string& out, std::string_view saga_id, uint32_t step, Phase phase);

struct Answer {
  uint32_t slot = 0;
  uint64_t token = 0;
  StepResult result;
};

class Inbox {
 public:
  // Queues an answer, unless the inbox is closed.
  void Push(uint32_t slot, uint64_t token, StepResult result);

  // Moves every queued answer to the end of `out` and clears the wake-up flag.
  void TakeAll(std::vector<Answer>& out);

  // Makes the next (or current) WaitForWork return true.
  void Wake();

  // Waits until there is an answer or a wake-up, or `timeout_ns` passes.
  bool WaitForWork(int64_t timeout_ns);

  // Drops every queued answer and every later one.
  void Close();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Answer> answers_;  // guarded by mu_
  bool woken_ = false;           // guarded by mu_
  bool closed_ = false;          // guarded by mu_
};

}  // namespace keel::saga::internal

#endif  // KEEL_SRC_SAGA_INBOX_H_
