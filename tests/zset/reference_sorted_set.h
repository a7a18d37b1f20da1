// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// ReferenceSortedSet: the oracle for keel::zset::SortedSet. A std::map from member to score and
// a std::set of (score, member) in Redis's order; ranks by walking the set, ranges by testing
// every member. Slow and obviously right, which is the point.
#ifndef KEEL_TESTS_ZSET_REFERENCE_SORTED_SET_H_
#define KEEL_TESTS_ZSET_REFERENCE_SORTED_SET_H_

#include <cmath>
#include <cstring>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "keel/zset/sorted_set.h"

namespace keel::zset::testing {

class ReferenceSortedSet {
 public:
  struct Less {
    bool operator()(const std::pair<double, std::string>& a,
                    const std::pair<double, std::string>& b) const {
      if (a.first != b.first) return a.first < b.first;
      // std::string's compare is memcmp-like on char_traits<char>, which compares as unsigned
      // char: the same as Redis's memcmp.
      return a.second.compare(b.second) < 0;
    }
  };
  using Ordered = std::set<std::pair<double, std::string>, Less>;

  // Redis's zsetAdd, restated plainly. Returns nullopt for the error cases.
  std::optional<AddResult> Add(const std::string& member, double score, AddOptions options) {
    using Outcome = AddResult::Outcome;
    if (std::isnan(score)) return std::nullopt;
    if (options.existence == Existence::kOnlyAbsent && options.condition != ScoreCondition::kAny)
      return std::nullopt;
    auto it = scores_.find(member);
    if (it == scores_.end()) {
      if (options.existence == Existence::kOnlyPresent) return AddResult{Outcome::kSkipped, {}};
      scores_[member] = score;
      ordered_.insert({score, member});
      return AddResult{Outcome::kAdded, score};
    }
    const double current = it->second;
    if (options.existence == Existence::kOnlyAbsent) return AddResult{Outcome::kSkipped, current};
    const double updated = options.increment ? current + score : score;
    if (std::isnan(updated)) return std::nullopt;
    if ((options.condition == ScoreCondition::kOnlyLess && updated >= current) ||
        (options.condition == ScoreCondition::kOnlyGreater && updated <= current))
      return AddResult{Outcome::kSkipped, current};
    if (updated == current) return AddResult{Outcome::kUnchanged, current};
    ordered_.erase({current, member});
    ordered_.insert({updated, member});
    it->second = updated;
    return AddResult{Outcome::kUpdated, updated};
  }

  bool Remove(const std::string& member) {
    auto it = scores_.find(member);
    if (it == scores_.end()) return false;
    ordered_.erase({it->second, member});
    scores_.erase(it);
    return true;
  }

  std::optional<double> Score(const std::string& member) const {
    auto it = scores_.find(member);
    if (it == scores_.end()) return std::nullopt;
    return it->second;
  }

  std::optional<size_t> Rank(const std::string& member) const {
    auto it = scores_.find(member);
    if (it == scores_.end()) return std::nullopt;
    return static_cast<size_t>(
        std::distance(ordered_.begin(), ordered_.find({it->second, member})));
  }

  // The ascending ranks of the members that satisfy `in_range`, which must be contiguous.
  template <typename InRange>
  RankSpan Span(InRange in_range) const {
    size_t rank = 0;
    std::optional<size_t> first;
    size_t last = 0;
    for (const auto& [score, member] : ordered_) {
      if (in_range(score, member)) {
        if (!first) first = rank;
        last = rank + 1;
      }
      ++rank;
    }
    if (!first) return {0, 0};
    return {*first, last};
  }

  RankSpan RanksOf(const ScoreRange& r) const {
    return Span([&](double s, const std::string&) {
      const bool above_min = r.min.exclusive ? s > r.min.value : s >= r.min.value;
      const bool below_max = r.max.exclusive ? s < r.max.value : s <= r.max.value;
      return above_min && below_max;
    });
  }

  RankSpan RanksOf(const LexRange& r) const {
    return Span(
        [&](double, const std::string& m) { return AboveMin(m, r.min) && BelowMax(m, r.max); });
  }

  std::vector<Element> Elements() const {
    std::vector<Element> out;
    for (const auto& [score, member] : ordered_) out.push_back({member, score});
    return out;
  }

  size_t size() const { return scores_.size(); }
  const Ordered& ordered() const { return ordered_; }

 private:
  static int Compare(const std::string& a, const std::string& b) { return a.compare(b); }
  static bool AboveMin(const std::string& m, const LexBound& b) {
    switch (b.kind) {
      case LexBound::Kind::kMinusInfinity:
        return true;
      case LexBound::Kind::kPlusInfinity:
        return false;
      case LexBound::Kind::kInclusive:
        return Compare(m, b.value) >= 0;
      case LexBound::Kind::kExclusive:
        return Compare(m, b.value) > 0;
    }
    return false;
  }
  static bool BelowMax(const std::string& m, const LexBound& b) {
    switch (b.kind) {
      case LexBound::Kind::kMinusInfinity:
        return false;
      case LexBound::Kind::kPlusInfinity:
        return true;
      case LexBound::Kind::kInclusive:
        return Compare(m, b.value) <= 0;
      case LexBound::Kind::kExclusive:
        return Compare(m, b.value) < 0;
    }
    return false;
  }

  std::map<std::string, double> scores_;
  Ordered ordered_;
};

}  // namespace keel::zset::testing

#endif  // KEEL_TESTS_ZSET_REFERENCE_SORTED_SET_H_
