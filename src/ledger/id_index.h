// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// IdIndex: a hash index from a 128-bit id to the row that holds it, built for the ledger's batch
// loop.
//
// The batch loop asks for the memory of events a few places ahead (Prefetch), so a lookup should
// read as few cache lines as possible and the prefetch must name exactly those. An entry here is
// 8 bytes: 24 bits of the id's hash (a tag) and 40 bits of row number. The id itself stays in
// the row, which the caller reads anyway: a lookup reads its home entry's line (eight entries,
// linear probing, at most half full, so a probe run rarely leaves it) and compares the id of a
// row only when the tag matches, about once in 16 million for a key that is not there. A
// flat_hash_map of (id, row) would read a 32-byte entry that it cannot prefetch exactly.
//
// The rows are the truth: the table can be rebuilt from them (growing does that, reading the rows
// in order), and every row is in the index. Erase is backward-shift deletion, so lookups never
// meet tombstones. Once the table is 2 MiB or more it lives on huge pages.
#ifndef KEEL_SRC_LEDGER_ID_INDEX_H_
#define KEEL_SRC_LEDGER_ID_INDEX_H_

#include <cstdint>
#include <vector>

#include "keel/base/assert.h"
#include "keel/base/internal/arena.h"
#include "keel/base/internal/prefetch.h"
#include "keel/ledger/types.h"

namespace keel::ledger::internal {

// `Rows` has `size()` and `operator[](row).id`.
template <typename Rows>
class IdIndex {
 public:
  static constexpr uint64_t kNone = ~uint64_t{0};
  static constexpr uint64_t kMaxRows = (uint64_t{1} << 40) - 1;

  explicit IdIndex(const Rows& rows) : rows_(rows), entries_(kInitialSlots) {}

  // The row of `id`, or kNone.
  uint64_t Find(Uint128 id) const {
    const uint64_t h = Hash(id);
    const uint64_t tag = Tag(h);
    for (size_t i = h & mask();; i = (i + 1) & mask()) {
      const uint64_t e = entries_[i];
      if (e == 0) return kNone;
      if ((e >> 40) == tag) {
        const uint64_t row = (e & kMaxRows) - 1;
        if (rows_[row].id == id) return row;
      }
    }
  }

  // The row Find(id) will most likely return, found without reading any row (so that the caller
  // can prefetch it): the first entry whose tag matches, or kNone.
  uint64_t Candidate(Uint128 id) const {
    const uint64_t h = Hash(id);
    for (size_t i = h & mask();; i = (i + 1) & mask()) {
      const uint64_t e = entries_[i];
      if (e == 0) return kNone;
      if ((e >> 40) == Tag(h)) return (e & kMaxRows) - 1;
    }
  }

  // Asks the CPU for the line a Find(id) will read in the index.
  void Prefetch(Uint128 id) const { base::internal::Prefetch(&entries_[Hash(id) & mask()]); }

  // Adds the newest row, `row`, holding `id`. REQUIRES: `id` is not in the index; row < kMaxRows.
  void Insert(Uint128 id, uint64_t row) {
    KEEL_ASSERT(row < kMaxRows, "the ledger's id index holds at most 2^40 - 1 rows");
    if ((size_ + 1) * 2 > entries_.size()) Rebuild(entries_.size() * 2);
    Place(Hash(id), row);
    ++size_;
  }

  // REQUIRES: `id` is in the index.
  void Erase(Uint128 id) {
    const uint64_t h = Hash(id);
    size_t hole = h & mask();
    for (;; hole = (hole + 1) & mask()) {
      const uint64_t e = entries_[hole];
      KEEL_ASSERT(e != 0, "erasing an id the index does not hold");
      if ((e >> 40) == Tag(h) && rows_[(e & kMaxRows) - 1].id == id) break;
    }
    // Later entries of the probe run move back, so that no lookup stops early at the hole.
    for (size_t i = (hole + 1) & mask();; i = (i + 1) & mask()) {
      const uint64_t e = entries_[i];
      if (e == 0) break;
      const size_t home = Hash(rows_[(e & kMaxRows) - 1].id) & mask();
      const bool stays = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
      if (!stays) {
        entries_[hole] = e;
        hole = i;
      }
    }
    entries_[hole] = 0;
    --size_;
  }

  // Sizes the table for `n` ids, so that inserting them never grows it.
  void Reserve(size_t n) {
    size_t slots = entries_.size();
    while (n * 2 > slots) slots *= 2;
    if (slots != entries_.size()) Rebuild(slots);
  }

 private:
  static constexpr size_t kInitialSlots = 16;

  // A multiply-xorshift mix of both halves (ids are often sequential).
  static uint64_t Hash(Uint128 id) {
    uint64_t h = absl::Uint128Low64(id) * 0x9E3779B97F4A7C15ULL ^
                 (absl::Uint128High64(id) + 0x632BE59BD9B4E019ULL) * 0xC2B2AE3D27D4EB4FULL;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 32;
    return h;
  }
  // The top 24 bits: the table's home slot uses the low bits.
  static uint64_t Tag(uint64_t hash) { return hash >> 40; }

  size_t mask() const { return entries_.size() - 1; }

  void Place(uint64_t hash, uint64_t row) {
    size_t i = hash & mask();
    while (entries_[i] != 0) i = (i + 1) & mask();
    entries_[i] = (Tag(hash) << 40) | (row + 1);
  }

  // A table of `slots` entries holding every row, read in order.
  void Rebuild(size_t slots) {
    std::vector<uint64_t, base::internal::HugePageAllocator<uint64_t>>(slots).swap(entries_);
    for (size_t row = 0; row < size_; ++row) Place(Hash(rows_[row].id), row);
  }

  const Rows& rows_;
  std::vector<uint64_t, base::internal::HugePageAllocator<uint64_t>> entries_;
  size_t size_ = 0;
};

}  // namespace keel::ledger::internal

#endif  // KEEL_SRC_LEDGER_ID_INDEX_H_
