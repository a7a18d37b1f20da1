// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// IdIndex: a hash index from a 128-bit id to a row number, built for the ledger's batch loop.
//
// Why not absl::flat_hash_map: the batch loop asks for the memory of events a few places ahead
// (Prefetch), and to be useful that must be the very cache line the lookup will read. A
// flat_hash_map can only prefetch the start of a probe group, which for 32-byte entries is up to
// 480 bytes away from the entry. Here an entry sits at its hash's home slot or just after it
// (linear probing, at most half full), so the home slot's line and the next are the lines the
// lookup reads.
//
// Entries are 24 bytes (the id's two halves and the row plus one, 0 meaning empty); the table
// doubles when half full, and once it is 2 MiB or more it lives on huge pages. Erase is
// backward-shift deletion, so lookups never meet tombstones.
#ifndef KEEL_SRC_LEDGER_ID_INDEX_H_
#define KEEL_SRC_LEDGER_ID_INDEX_H_

#include <cstdint>
#include <vector>

#include "keel/base/assert.h"
#include "keel/base/internal/arena.h"
#include "keel/base/internal/prefetch.h"
#include "keel/ledger/types.h"

namespace keel::ledger::internal {

class IdIndex {
 public:
  static constexpr uint64_t kNone = ~uint64_t{0};

  IdIndex() : entries_(kInitialSlots) {}

  size_t size() const { return size_; }

  // The row of `id`, or kNone.
  uint64_t Find(Uint128 id) const {
    const uint64_t lo = absl::Uint128Low64(id);
    const uint64_t hi = absl::Uint128High64(id);
    for (size_t i = Home(lo, hi);; i = (i + 1) & mask()) {
      const Entry& e = entries_[i];
      if (e.row_plus_one == 0) return kNone;
      if (e.lo == lo && e.hi == hi) return e.row_plus_one - 1;
    }
  }

  // Asks the CPU for the lines a Find(id) will most likely read: the home entry's and the next
  // (a 24-byte entry may straddle two lines, and a probe run may go on into the next).
  void Prefetch(Uint128 id) const {
    const char* home = reinterpret_cast<const char*>(
        &entries_[Home(absl::Uint128Low64(id), absl::Uint128High64(id))]);
    base::internal::Prefetch(home);
    base::internal::Prefetch(home + 64);
  }

  // REQUIRES: `id` is not in the index.
  void Insert(Uint128 id, uint64_t row) {
    if ((size_ + 1) * 2 > entries_.size()) Grow();
    Place({absl::Uint128Low64(id), absl::Uint128High64(id), row + 1});
    ++size_;
  }

  // REQUIRES: `id` is in the index.
  void Erase(Uint128 id) {
    const uint64_t lo = absl::Uint128Low64(id);
    const uint64_t hi = absl::Uint128High64(id);
    size_t hole = Home(lo, hi);
    while (!(entries_[hole].lo == lo && entries_[hole].hi == hi)) {
      KEEL_ASSERT(entries_[hole].row_plus_one != 0, "erasing an id the index does not hold");
      hole = (hole + 1) & mask();
    }
    // Later entries of the probe run move back, so that no lookup stops early at the hole.
    for (size_t i = (hole + 1) & mask();; i = (i + 1) & mask()) {
      const Entry& e = entries_[i];
      if (e.row_plus_one == 0) break;
      const size_t home = Home(e.lo, e.hi);
      const bool stays = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
      if (!stays) {
        entries_[hole] = e;
        hole = i;
      }
    }
    entries_[hole] = {};
    --size_;
  }

  // Sizes the table for `n` ids, so that inserting them never grows it.
  void Reserve(size_t n) {
    while (n * 2 > entries_.size()) Grow();
  }

 private:
  struct Entry {
    uint64_t lo = 0;
    uint64_t hi = 0;
    uint64_t row_plus_one = 0;  // 0: empty
  };
  static constexpr size_t kInitialSlots = 16;

  size_t mask() const { return entries_.size() - 1; }

  // A multiply-xorshift mix of both halves (ids are often sequential).
  size_t Home(uint64_t lo, uint64_t hi) const {
    uint64_t h = lo * 0x9E3779B97F4A7C15ULL ^ (hi + 0x632BE59BD9B4E019ULL) * 0xC2B2AE3D27D4EB4FULL;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 32;
    return static_cast<size_t>(h) & mask();
  }

  void Place(const Entry& entry) {
    size_t i = Home(entry.lo, entry.hi);
    while (entries_[i].row_plus_one != 0) i = (i + 1) & mask();
    entries_[i] = entry;
  }

  void Grow() {
    std::vector<Entry, base::internal::HugePageAllocator<Entry>> old(entries_.size() * 2);
    old.swap(entries_);
    for (const Entry& e : old) {
      if (e.row_plus_one != 0) Place(e);
    }
  }

  std::vector<Entry, base::internal::HugePageAllocator<Entry>> entries_;
  size_t size_ = 0;
};

}  // namespace keel::ledger::internal

#endif  // KEEL_SRC_LEDGER_ID_INDEX_H_
