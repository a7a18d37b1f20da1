// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/shard/maglev.h"

#include <algorithm>
#include <limits>

#include "keel/base/assert.h"
#include "keel/base/strings.h"

namespace keel::shard {
namespace {

// h2 is h1 with another seed; any constant that changes every bit pattern will do.
constexpr uint64_t kSkipSeedXor = 0x9e3779b97f4a7c15u;

}  // namespace

bool Maglev::IsPrime(uint64_t n) {
  if (n < 2) return false;
  for (uint64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

absl::StatusOr<Maglev> Maglev::Create(uint32_t table_size, uint64_t seed) {
  if (table_size > kMaglevMaxTableSize || !IsPrime(table_size)) {
    return absl::InvalidArgumentError(base::Cat("Maglev table size ", table_size,
                                                " is not a prime from 2 to ", kMaglevMaxTableSize));
  }
  return Maglev(table_size, seed);
}

absl::StatusOr<uint32_t> Maglev::TableSizeFor(size_t nodes) {
  if (nodes > kMaglevMaxTableSize / 100) {
    return absl::InvalidArgumentError(base::Cat("no Maglev table size up to ", kMaglevMaxTableSize,
                                                " gives 100 entries to each of ", nodes, " nodes"));
  }
  uint64_t size = std::max<uint64_t>(kMaglevDefaultTableSize, uint64_t{100} * nodes);
  while (!IsPrime(size)) ++size;
  if (size > kMaglevMaxTableSize) {
    return absl::InvalidArgumentError(
        base::Cat("the prime table size for ", nodes, " nodes passes ", kMaglevMaxTableSize));
  }
  return static_cast<uint32_t>(size);
}

absl::Status Maglev::SetNodes(std::span<const NodeId> ids) {
  std::vector<NodeId> sorted(ids.begin(), ids.end());
  std::sort(sorted.begin(), sorted.end());
  if (const auto dup = std::adjacent_find(sorted.begin(), sorted.end()); dup != sorted.end()) {
    return absl::InvalidArgumentError(base::Cat("node ", *dup, " is listed twice"));
  }
  if (sorted.size() > table_size_) {
    return absl::InvalidArgumentError(base::Cat(sorted.size(), " nodes do not fit a Maglev table ",
                                                "of ", table_size_, " entries"));
  }
  nodes_ = std::move(sorted);
  Populate();
  return absl::OkStatus();
}

absl::Status Maglev::AddNode(NodeId id) {
  if (std::binary_search(nodes_.begin(), nodes_.end(), id)) {
    return absl::AlreadyExistsError(base::Cat("node ", id, " is already in the table"));
  }
  if (nodes_.size() == table_size_) {
    return absl::InvalidArgumentError(base::Cat("node ", id, " does not fit: a Maglev table of ",
                                                table_size_, " entries holds that many nodes"));
  }
  nodes_.insert(std::upper_bound(nodes_.begin(), nodes_.end(), id), id);
  Populate();
  return absl::OkStatus();
}

absl::Status Maglev::RemoveNode(NodeId id) {
  const auto it = std::lower_bound(nodes_.begin(), nodes_.end(), id);
  if (it == nodes_.end() || *it != id) {
    return absl::NotFoundError(base::Cat("node ", id, " is not in the table"));
  }
  nodes_.erase(it);
  Populate();
  return absl::OkStatus();
}

// The paper's population loop (its Pseudocode 1), with each node's permutation walked
// incrementally ((offset + j * skip) mod M is the previous entry plus skip, mod M) instead of
// materialised as an n x M array.
void Maglev::Populate() {
  entries_.clear();
  if (nodes_.empty()) return;
  constexpr NodeId kEmpty = std::numeric_limits<NodeId>::max();
  std::vector<uint32_t> next(nodes_.size());  // each node's next preferred entry
  std::vector<uint32_t> skip(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i) {
    next[i] = static_cast<uint32_t>(base::HashInt(nodes_[i], seed_) % table_size_);
    skip[i] =
        static_cast<uint32_t>(base::HashInt(nodes_[i], seed_ ^ kSkipSeedXor) % (table_size_ - 1)) +
        1;
  }
  // Node ids may use every value, kEmpty included, so emptiness is tracked apart.
  std::vector<bool> claimed(table_size_, false);
  entries_.assign(table_size_, kEmpty);
  // (entry + skip) mod M without overflow or division: entry < M and skip < M.
  const auto advance = [m = table_size_](uint32_t entry, uint32_t step) {
    return entry >= m - step ? entry - (m - step) : entry + step;
  };
  uint32_t filled = 0;
  for (;;) {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      uint32_t entry = next[i];
      while (claimed[entry]) entry = advance(entry, skip[i]);
      claimed[entry] = true;
      entries_[entry] = nodes_[i];
      next[i] = advance(entry, skip[i]);
      if (++filled == table_size_) return;
    }
  }
}

}  // namespace keel::shard
