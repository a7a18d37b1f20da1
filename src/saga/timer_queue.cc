// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "timer_queue.h"

#include "keel/base/assert.h"

namespace keel::saga::internal {

void TimerQueue::Place(size_t index, const Entry& entry) {
  heap_[index] = entry;
  position_[entry.slot] = static_cast<uint32_t>(index);
}

void TimerQueue::SiftUp(size_t index) {
  const Entry entry = heap_[index];
  while (index > 0) {
    const size_t parent = (index - 1) / 2;
    if (!Before(entry, heap_[parent])) break;
    Place(index, heap_[parent]);
    index = parent;
  }
  Place(index, entry);
}

void TimerQueue::SiftDown(size_t index) {
  const Entry entry = heap_[index];
  const size_t size = heap_.size();
  while (true) {
    size_t child = 2 * index + 1;
    if (child >= size) break;
    if (child + 1 < size && Before(heap_[child + 1], heap_[child])) ++child;
    if (!Before(heap_[child], entry)) break;
    Place(index, heap_[child]);
    index = child;
  }
  Place(index, entry);
}

void TimerQueue::RemoveAt(size_t index) {
  position_[heap_[index].slot] = kNone;
  const Entry last = heap_.back();
  heap_.pop_back();
  if (index == heap_.size()) return;
  Place(index, last);
  SiftDown(index);
  SiftUp(position_[last.slot]);
}

void TimerQueue::Set(uint32_t slot, int64_t deadline_ns) {
  if (slot >= position_.size()) position_.resize(slot + 1, kNone);
  Cancel(slot);
  heap_.push_back(Entry{deadline_ns, next_order_++, slot});
  position_[slot] = static_cast<uint32_t>(heap_.size() - 1);
  SiftUp(heap_.size() - 1);
}

void TimerQueue::Cancel(uint32_t slot) {
  if (slot >= position_.size() || position_[slot] == kNone) return;
  const uint32_t index = position_[slot];
  KEEL_DCHECK(heap_[index].slot == slot);
  RemoveAt(index);
}

std::optional<int64_t> TimerQueue::Next() const {
  if (heap_.empty()) return std::nullopt;
  return heap_.front().deadline_ns;
}

std::optional<uint32_t> TimerQueue::PopDue(int64_t now_ns) {
  if (heap_.empty() || heap_.front().deadline_ns > now_ns) return std::nullopt;
  const uint32_t slot = heap_.front().slot;
  RemoveAt(0);
  return slot;
}

}  // namespace keel::saga::internal
