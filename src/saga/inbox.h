// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Inbox: where participants' answers wait for the next Poll. Completion::Done pushes from any
// thread, stamped with the time it arrived, so that an answer that came after its attempt's
// deadline is late even if Poll only looks at it later; Poll takes everything at once. It also
// wakes a thread blocked in WaitForWork (a Driver) when an answer comes in or a saga is started. It
// is shared with every Completion, so that an answer given after the orchestrator is gone lands
// here and is dropped.
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

#include "keel/base/clock.h"
#include "keel/saga/definition.h"

namespace keel::saga::internal {

// IdempotencyKey without the allocation: appends the key to `out`.
void AppendIdempotencyKey(std::string& out, std::string_view saga_id, uint32_t step, Phase phase);

struct Answer {
  uint32_t slot = 0;
  uint64_t token = 0;
  int64_t arrived_ns = 0;  // by the orchestrator's clock: an answer at its deadline is late
  StepResult result;
};

class Inbox {
 public:
  // `clock` stamps each answer's arrival; it outlives the orchestrator, which closes the inbox
  // before it goes, so no later Push reads it.
  explicit Inbox(const base::Clock& clock) : clock_(clock) {}

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
  const base::Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Answer> answers_;  // guarded by mu_
  bool woken_ = false;           // guarded by mu_
  bool closed_ = false;          // guarded by mu_
};

}  // namespace keel::saga::internal

#endif  // KEEL_SRC_SAGA_INBOX_H_
