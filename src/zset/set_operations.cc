// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/zset/set_operations.h"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "keel/base/assert.h"

namespace keel::zset {
namespace {

size_t SizeOf(const WeightedInput& input) { return input.set == nullptr ? 0 : input.set->size(); }

// The inputs from the smallest to the largest, equal sizes in their given order.
absl::StatusOr<std::vector<WeightedInput>> SortedBySize(std::span<const WeightedInput> inputs) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (std::isnan(inputs[i].weight)) {
      return absl::InvalidArgumentError(absl::StrCat("weight ", i, " is not a number (NaN)"));
    }
  }
  std::vector<WeightedInput> sorted(inputs.begin(), inputs.end());
  std::stable_sort(
      sorted.begin(), sorted.end(),
      [](const WeightedInput& a, const WeightedInput& b) { return SizeOf(a) < SizeOf(b); });
  return sorted;
}

double Weighted(double score, double weight) {
  const double weighted = weight * score;
  return std::isnan(weighted) ? 0 : weighted;
}

void Combine(double& target, double value, Aggregate aggregate) {
  switch (aggregate) {
    case Aggregate::kSum:
      target += value;
      if (std::isnan(target)) target = 0;
      return;
    case Aggregate::kMin:
      if (value < target) target = value;
      return;
    case Aggregate::kMax:
      if (value > target) target = value;
      return;
  }
}

void Insert(SortedSet& result, std::string_view member, double score) {
  absl::StatusOr<AddResult> added = result.Add(member, score);
  KEEL_ASSERT(added.ok() && added->outcome == AddResult::Outcome::kAdded,
              added.status().ToString());
}

}  // namespace

absl::StatusOr<SortedSet> Union(std::span<const WeightedInput> inputs, Aggregate aggregate) {
  auto sorted = SortedBySize(inputs);
  if (!sorted.ok()) return sorted.status();
  // The members are views into the inputs, which nothing changes while this runs.
  absl::flat_hash_map<std::string_view, double> scores;
  if (!sorted->empty()) scores.reserve(SizeOf(sorted->back()));
  for (const WeightedInput& input : *sorted) {
    if (input.set == nullptr) continue;
    for (auto c = input.set->CursorAt(0); c.valid(); c.Next()) {
      const double weighted = Weighted(c.score(), input.weight);
      auto [it, inserted] = scores.try_emplace(c.member(), weighted);
      if (!inserted) Combine(it->second, weighted, aggregate);
    }
  }
  SortedSet result;
  for (const auto& [member, score] : scores) Insert(result, member, score);
  return result;
}

absl::StatusOr<SortedSet> Intersection(std::span<const WeightedInput> inputs, Aggregate aggregate) {
  auto sorted = SortedBySize(inputs);
  if (!sorted.ok()) return sorted.status();
  SortedSet result;
  if (sorted->empty() || SizeOf(sorted->front()) == 0) return result;
  const WeightedInput& smallest = sorted->front();
  for (auto c = smallest.set->CursorAt(0); c.valid(); c.Next()) {
    double score = Weighted(c.score(), smallest.weight);
    bool everywhere = true;
    for (size_t j = 1; j < sorted->size() && everywhere; ++j) {
      const std::optional<double> other = (*sorted)[j].set->Score(c.member());
      if (other) {
        Combine(score, *other * (*sorted)[j].weight, aggregate);
      } else {
        everywhere = false;
      }
    }
    if (everywhere) Insert(result, c.member(), score);
  }
  return result;
}

}  // namespace keel::zset
