// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/market/internal/used_ids.h"

#include <algorithm>

#include "keel/base/assert.h"

namespace keel::market::internal {

bool UsedIds::Insert(uint64_t id) {
  const uint64_t word = id >> 6;
  if (word >= base_word_ + kWindowWords) SlideTo(word);
  if (word < base_word_) {
    if (!InsertStored(id)) return false;
  } else {
    uint64_t& bits = words_[word % kWindowWords];
    const uint64_t bit = uint64_t{1} << (id & 63);
    if ((bits & bit) != 0) return false;
    bits |= bit;
  }
  ++size_;
  return true;
}

bool UsedIds::Contains(uint64_t id) const {
  const uint64_t word = id >> 6;
  if (InWindow(word)) return (words_[word % kWindowWords] >> (id & 63) & 1) != 0;
  if (word >= base_word_) return false;  // above the window
  auto it = runs_.upper_bound(id);       // the first run that starts after id
  if (it == runs_.begin()) return false;
  --it;
  return it->second >= id;
}

void UsedIds::SlideTo(uint64_t word) {
  KEEL_DCHECK(word >= base_word_ + kWindowWords);
  const uint64_t new_base = word - kWindowWords + 1;
  // The words that leave the window become runs, in order (all of them when the jump is longer
  // than the window, whose ids are then all below the new base).
  const uint64_t leaving_end = std::min(new_base, base_word_ + kWindowWords);
  for (uint64_t w = base_word_; w < leaving_end; ++w) {
    uint64_t& slot = words_[w % kWindowWords];
    ForEachRunInWord(w, slot, [&](uint64_t first, uint64_t last) { AppendStored(first, last); });
    slot = 0;
  }
  base_word_ = new_base;
}

void UsedIds::AppendStored(uint64_t first, uint64_t last) {
  if (!runs_.empty()) {
    auto back = std::prev(runs_.end());
    KEEL_DCHECK(back->second < first);
    if (back->second + 1 == first) {
      back->second = last;
      return;
    }
  }
  runs_.emplace_hint(runs_.end(), first, last);
}

bool UsedIds::InsertStored(uint64_t id) {
  auto next = runs_.upper_bound(id);  // the first run that starts after id
  const bool has_prev = next != runs_.begin();
  auto prev = has_prev ? std::prev(next) : runs_.end();
  if (has_prev && prev->second >= id) return false;
  const bool joins_prev = has_prev && prev->second + 1 == id;
  const bool joins_next = next != runs_.end() && next->first == id + 1;
  if (joins_prev && joins_next) {
    // id fills the one-id gap between two runs: they become one.
    prev->second = next->second;
    runs_.erase(next);
  } else if (joins_prev) {
    prev->second = id;
  } else if (joins_next) {
    // The key is the run's first id, so the run is re-entered one lower.
    const uint64_t last = next->second;
    next = runs_.erase(next);
    runs_.emplace_hint(next, id, last);
  } else {
    runs_.emplace_hint(next, id, id);
  }
  return true;
}

void UsedIds::AppendRun(uint64_t first, uint64_t last) {
  KEEL_ASSERT(first <= last, "UsedIds::AppendRun: first > last");
  const uint64_t last_word = last >> 6;
  if (last_word >= base_word_ + kWindowWords) SlideTo(last_word);
  // The part below the window goes to the runs; the rest is set in the window, a word at a time
  // (at most kWindowWords of them).
  const uint64_t base_id = base_word_ * 64;
  if (first < base_id) AppendStored(first, std::min(last, base_id - 1));
  for (uint64_t id = std::max(first, base_id); id <= last;) {
    const uint64_t word = id >> 6;
    const uint64_t word_last = std::min(last, word * 64 + 63);
    const int from = static_cast<int>(id & 63);
    const int count = static_cast<int>(word_last - id + 1);
    const uint64_t mask = count == 64 ? ~uint64_t{0} : ((uint64_t{1} << count) - 1) << from;
    KEEL_DCHECK((words_[word % kWindowWords] & mask) == 0);
    words_[word % kWindowWords] |= mask;
    if (word_last == last) break;  // last may be the largest id: no id after it to move to
    id = word_last + 1;
  }
  size_ += last - first + 1;
}

}  // namespace keel::market::internal
