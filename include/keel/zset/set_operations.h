// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Union and intersection of sorted sets with weights and an aggregate: ZUNIONSTORE and
// ZINTERSTORE (https://redis.io/docs/latest/commands/zunionstore/).
//
// Each input's scores are multiplied by its weight; a member in several inputs gets the SUM, MIN
// or MAX of its weighted scores. A monthly leaderboard's yearly board is the SUM-union of twelve
// months; "players active in every month" is their intersection.
//
// The result is Redis's to the last bit, which takes three of its conventions:
//   - Inputs are combined from the smallest to the largest (a stable sort by size), since Redis
//     does so for speed and floating-point sums depend on their order.
//   - A weighted score that is NaN (a weight of 0 times an infinite score) counts as 0, and so
//     does a SUM that is NaN (inf + -inf). In an intersection, a NaN weighted score after the
//     first input is left to the aggregate: SUM makes it 0, MIN and MAX ignore it.
//   - A missing input (a key that does not exist) is an empty set.
//
// Example:
//
//   keel::zset::SortedSet year = *keel::zset::Union(
//       {{&january, 1}, {&february, 1}, {&march, 1}}, keel::zset::Aggregate::kSum);
#ifndef KEEL_ZSET_SET_OPERATIONS_H_
#define KEEL_ZSET_SET_OPERATIONS_H_

#include <span>

#include "absl/status/statusor.h"
#include "keel/zset/sorted_set.h"

namespace keel::zset {

enum class Aggregate { kSum, kMin, kMax };

struct WeightedInput {
  const SortedSet* set;  // nullptr: a missing key, an empty set
  double weight = 1;
};

// Errors: a NaN weight (naming its input's position).
absl::StatusOr<SortedSet> Union(std::span<const WeightedInput> inputs,
                                Aggregate aggregate = Aggregate::kSum);
absl::StatusOr<SortedSet> Intersection(std::span<const WeightedInput> inputs,
                                       Aggregate aggregate = Aggregate::kSum);

}  // namespace keel::zset

#endif  // KEEL_ZSET_SET_OPERATIONS_H_
