// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// UsedIds: the exact set of order ids a MatchingEngine has accepted, in memory that grows with the
// gaps between them rather than with their number. Internal to keel/market.
//
// An engine must reject any id used before, for the whole run, so it must remember every one; a
// hash set does that with an entry per id forever (16 bytes and more each). But ids are not
// random: a gateway or a client session hands them out counting up, so the used ids form long runs
// of consecutive numbers broken only where an id was never accepted (a rejected order, a request
// refused before the engine). This set stores those runs, as a sorted map from a run's first id to
// its last (an Abseil B-tree), so its memory is one entry per gap, not per id: a day of
// consecutive ids is one entry, and ids that are random after all cost one entry each, no worse
// than a hash set.
//
// In front of the runs sits a window: a bitmap of the kWindowIds ids at the top of the set. The
// newest ids land there (a bit test and a set, no search), and so do ids that come a little out of
// order (several sessions counting up side by side); an id above the window slides it up, and the
// words it leaves behind are turned into runs, appended at the end of the map. Only an id older
// than the window searches the map. This is the anti-replay window of IPsec (RFC 4303, section
// 3.4.3) with the difference that what leaves the window is kept, exactly, rather than forgotten.
//
// Example:
//
//   keel::market::internal::UsedIds ids;
//   ids.Insert(1);   // true
//   ids.Insert(2);   // true: one run, 1..2
//   ids.Insert(1);   // false: used
//   ids.Contains(3); // false
//
// Memory: kWindowIds / 8 bytes for the window, plus one map entry (16 bytes, in B-tree nodes about
// three-quarters full) per maximal run below it. Not thread-safe.
#ifndef KEEL_MARKET_INTERNAL_USED_IDS_H_
#define KEEL_MARKET_INTERNAL_USED_IDS_H_

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "absl/container/btree_map.h"

namespace keel::market::internal {

class UsedIds {
 public:
  static constexpr size_t kWindowWords = 64;
  static constexpr uint64_t kWindowIds = kWindowWords * 64;

  // Adds `id`; false if it was in the set already.
  bool Insert(uint64_t id);
  [[nodiscard]] bool Contains(uint64_t id) const;

  // Ids in the set.
  [[nodiscard]] uint64_t size() const { return size_; }
  // Runs stored in the map (the window's ids not included): what the memory grows with.
  [[nodiscard]] size_t stored_runs() const { return runs_.size(); }

  // Calls fn(first, last) for each maximal run of consecutive ids in the set, in increasing order
  // (runs that meet across the window's edge reported as one).
  template <typename Fn>
  void ForEachRun(Fn&& fn) const;

  // Adds the ids first..last. REQUIRES: first <= last, and first - 1 is above every id in the set
  // (runs come in increasing order with gaps between them, as ForEachRun reports them): for
  // rebuilding a set from its runs.
  void AppendRun(uint64_t first, uint64_t last);

 private:
  // The window covers the ids of words [base_word_, base_word_ + kWindowWords); word w (the ids
  // 64w..64w+63) lives in words_[w % kWindowWords]. Every id above the window is absent; every id
  // below it is in runs_.
  [[nodiscard]] bool InWindow(uint64_t word) const {
    return word >= base_word_ && word - base_word_ < kWindowWords;
  }
  // Calls fn(first, last) for each run of ones in `bits`, the bits of the ids of word `word`.
  template <typename Fn>
  static void ForEachRunInWord(uint64_t word, uint64_t bits, Fn&& fn);
  // Slides the window up until `word` is its top word.
  void SlideTo(uint64_t word);
  // Appends a run at the end of runs_ (merging it with the last run when they meet). REQUIRES:
  // first is above every stored id.
  void AppendStored(uint64_t first, uint64_t last);
  // Adds an id below the window to runs_; false if there already.
  bool InsertStored(uint64_t id);

  absl::btree_map<uint64_t, uint64_t> runs_;  // first id -> last id, disjoint, not adjacent
  std::array<uint64_t, kWindowWords> words_ = {};
  uint64_t base_word_ = 0;
  uint64_t size_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Implementation details.
// ---------------------------------------------------------------------------------------------

template <typename Fn>
void UsedIds::ForEachRun(Fn&& fn) const {
  bool open = false;  // a run is being accumulated in [first, last]
  uint64_t first = 0, last = 0;
  const auto add = [&](uint64_t from, uint64_t to) {
    if (open && last + 1 == from) {
      last = to;
      return;
    }
    if (open) fn(first, last);
    open = true;
    first = from;
    last = to;
  };
  for (const auto& [from, to] : runs_) add(from, to);
  for (uint64_t w = base_word_; w < base_word_ + kWindowWords; ++w) {
    ForEachRunInWord(w, words_[w % kWindowWords], add);
  }
  if (open) fn(first, last);
}

template <typename Fn>
void UsedIds::ForEachRunInWord(uint64_t word, uint64_t bits, Fn&& fn) {
  while (bits != 0) {
    const int start = std::countr_zero(bits);
    const int length = std::countr_one(bits >> start);
    fn(word * 64 + static_cast<uint64_t>(start),
       word * 64 + static_cast<uint64_t>(start + length - 1));
    bits &= start + length == 64 ? 0 : ~uint64_t{0} << (start + length);
  }
}

}  // namespace keel::market::internal

#endif  // KEEL_MARKET_INTERNAL_USED_IDS_H_
