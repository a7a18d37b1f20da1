// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// TimerQueue: the orchestrator's timers, at most one per saga (an attempt's timeout, or the wait
// before a retry). A binary min-heap on (deadline, order of setting) with each saga's position
// kept, so that setting, replacing and cancelling a saga's timer are O(log n) and the heap never
// holds more entries than live sagas: an answer that beats its timeout cancels the timer instead
// of leaving it to rot in the heap. Ties fire in the order they were set, so a run replays
// exactly.
//
// Internal to keel/saga.
#ifndef KEEL_SRC_SAGA_TIMER_QUEUE_H_
#define KEEL_SRC_SAGA_TIMER_QUEUE_H_

#include <cstdint>
#include <optional>
#include <vector>

namespace keel::saga::internal {

class TimerQueue {
 public:
  // Sets (or replaces) the timer of `slot`.
  void Set(uint32_t slot, int64_t deadline_ns);
  // Cancels the timer of `slot`, if it has one.
  void Cancel(uint32_t slot);
  // The earliest deadline.
  [[nodiscard]] std::optional<int64_t> Next() const;
  // Removes and returns the slot of the earliest timer if it is due at `now_ns`.
  [[nodiscard]] std::optional<uint32_t> PopDue(int64_t now_ns);
  [[nodiscard]] size_t size() const { return heap_.size(); }

 private:
  struct Entry {
    int64_t deadline_ns;
    uint64_t order;
    uint32_t slot;
  };
  static constexpr uint32_t kNone = UINT32_MAX;

  static bool Before(const Entry& a, const Entry& b) {
    return a.deadline_ns != b.deadline_ns ? a.deadline_ns < b.deadline_ns : a.order < b.order;
  }
  void Place(size_t index, const Entry& entry);
  void SiftUp(size_t index);
  void SiftDown(size_t index);
  void RemoveAt(size_t index);

  std::vector<Entry> heap_;
  std::vector<uint32_t> position_;  // by slot: its index in heap_, or kNone
  uint64_t next_order_ = 0;
};

}  // namespace keel::saga::internal

#endif  // KEEL_SRC_SAGA_TIMER_QUEUE_H_
