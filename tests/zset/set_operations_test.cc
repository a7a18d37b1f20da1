// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/zset/set_operations.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::zset {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

SortedSet Make(std::initializer_list<std::pair<const char*, double>> elements) {
  SortedSet set;
  for (const auto& [member, score] : elements) REQUIRE(set.Add(member, score).ok());
  return set;
}

std::map<std::string, double> AsMap(const SortedSet& set) {
  std::map<std::string, double> out;
  for (auto c = set.CursorAt(0); c.valid(); c.Next()) out[std::string(c.member())] = c.score();
  return out;
}

TEST_CASE("Union sums weighted scores, and MIN and MAX pick one") {
  SortedSet a = Make({{"x", 1}, {"y", 2}});
  SortedSet b = Make({{"y", 10}, {"z", 20}});
  const std::vector<WeightedInput> inputs = {{&a, 2}, {&b, 1}};
  CHECK(AsMap(*Union(inputs)) == std::map<std::string, double>{{"x", 2}, {"y", 14}, {"z", 20}});
  CHECK(AsMap(*Union(inputs, Aggregate::kMin)) ==
        std::map<std::string, double>{{"x", 2}, {"y", 4}, {"z", 20}});
  CHECK(AsMap(*Union(inputs, Aggregate::kMax)) ==
        std::map<std::string, double>{{"x", 2}, {"y", 10}, {"z", 20}});
}

TEST_CASE("Intersection keeps members present in every input, missing inputs are empty") {
  SortedSet a = Make({{"x", 1}, {"y", 2}});
  SortedSet b = Make({{"y", 10}, {"z", 20}});
  const std::vector<WeightedInput> both = {{&a, 1}, {&b, 3}};
  CHECK(AsMap(*Intersection(both)) == std::map<std::string, double>{{"y", 32}});
  const std::vector<WeightedInput> with_missing = {{&a, 1}, {nullptr, 1}};
  CHECK(Intersection(with_missing)->empty());
  CHECK(AsMap(*Union(with_missing)) == AsMap(a));
  CHECK(Union(std::vector<WeightedInput>{})->empty());
}

TEST_CASE("NaN from infinities becomes 0 as Redis makes it") {
  SortedSet a = Make({{"x", kInf}});
  SortedSet b = Make({{"x", -kInf}});
  // inf * 0 is NaN: counted as 0.
  const std::vector<WeightedInput> zero_weight = {{&a, 0}};
  CHECK(AsMap(*Union(zero_weight)) == std::map<std::string, double>{{"x", 0}});
  // inf + -inf is NaN: counted as 0.
  const std::vector<WeightedInput> opposite = {{&a, 1}, {&b, 1}};
  CHECK(AsMap(*Union(opposite)) == std::map<std::string, double>{{"x", 0}});
  CHECK(AsMap(*Intersection(opposite)) == std::map<std::string, double>{{"x", 0}});
  // In an intersection a later NaN term is left to the aggregate: MAX keeps the first term.
  SortedSet c = Make({{"x", 5}, {"pad", 1}});
  const std::vector<WeightedInput> later_nan = {{&a, 0}, {&c, 1}};
  // a is smaller, so it comes first: its NaN is 0, then c's 5 is the MAX.
  CHECK(AsMap(*Intersection(later_nan, Aggregate::kMax)) ==
        std::map<std::string, double>{{"x", 5}});
  const std::vector<WeightedInput> nan_second = {{&c, 1}, {&a, 0}};
  CHECK(AsMap(*Intersection(nan_second, Aggregate::kMin)) ==
        std::map<std::string, double>{{"x", 0}});
}

TEST_CASE("A NaN weight is refused") {
  SortedSet a = Make({{"x", 1}});
  const std::vector<WeightedInput> inputs = {{&a, 1}, {&a, std::nan("")}};
  absl::StatusOr<SortedSet> u = Union(inputs);
  CHECK(u.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(u.status().message()).find("weight 1") != std::string::npos);
  CHECK(Intersection(inputs).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Inputs are combined from the smallest, so sums round as Redis's do") {
  // (1e16 + 1) + 1 != 1e16 + (1 + 1) in doubles: the order of a SUM shows in its result.
  SortedSet big = Make({{"x", 1e16}, {"p1", 0}, {"p2", 0}});
  SortedSet small1 = Make({{"x", 1}});
  SortedSet small2 = Make({{"x", 1}, {"q", 0}});
  const std::vector<WeightedInput> inputs = {{&big, 1}, {&small2, 1}, {&small1, 1}};
  // Sorted by size: small1, small2, big: (1 + 1) + 1e16.
  CHECK(Union(inputs)->Score("x") == (1.0 + 1.0) + 1e16);
  CHECK(Intersection(inputs)->Score("x") == (1.0 + 1.0) + 1e16);
}

TEST_CASE("Random unions and intersections agree with a brute-force restatement") {
  const uint64_t seed = keel::testing::TestSeed(77);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int round = 0; round < 200; ++round) {
    CAPTURE(round);
    const int n = 1 + static_cast<int>(rng.Uniform(4));
    std::vector<SortedSet> sets(n);
    std::vector<WeightedInput> inputs;
    for (int i = 0; i < n; ++i) {
      const uint64_t size = rng.Uniform(30);
      for (uint64_t k = 0; k < size; ++k) {
        const double score = rng.Bernoulli(0.05) ? (rng.Bernoulli(0.5) ? kInf : -kInf)
                                                 : static_cast<double>(rng.UniformInRange(-9, 9));
        REQUIRE(sets[i].Add(absl::StrCat("m", rng.Uniform(40)), score).ok());
      }
      const double weight = rng.Bernoulli(0.1) ? 0 : static_cast<double>(rng.UniformInRange(-3, 3));
      inputs.push_back({rng.Bernoulli(0.1) ? nullptr : &sets[i], weight});
    }
    const auto aggregate = static_cast<Aggregate>(rng.Uniform(3));
    // The restatement: the same order of inputs, every member's terms combined in that order.
    std::vector<WeightedInput> order = inputs;
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      return (a.set ? a.set->size() : 0) < (b.set ? b.set->size() : 0);
    });
    auto combine = [&](double& t, double v) {
      if (aggregate == Aggregate::kSum) {
        t = t + v;
        if (std::isnan(t)) t = 0;
      } else if (aggregate == Aggregate::kMin) {
        t = v < t ? v : t;
      } else {
        t = v > t ? v : t;
      }
    };
    std::map<std::string, double> want_union;
    std::map<std::string, int> seen;
    for (const WeightedInput& in : order) {
      if (in.set == nullptr) continue;
      for (const auto& [member, score] : AsMap(*in.set)) {
        double w = in.weight * score;
        if (std::isnan(w)) w = 0;
        auto it = want_union.find(member);
        if (it == want_union.end()) {
          want_union[member] = w;
        } else {
          combine(it->second, w);
        }
      }
    }
    std::map<std::string, double> want_inter;
    if (order[0].set != nullptr) {
      for (const auto& [member, score] : AsMap(*order[0].set)) {
        double t = order[0].weight * score;
        if (std::isnan(t)) t = 0;
        bool all = true;
        for (size_t j = 1; j < order.size() && all; ++j) {
          auto s = order[j].set ? order[j].set->Score(member) : std::nullopt;
          if (s) {
            combine(t, *s * order[j].weight);
          } else {
            all = false;
          }
        }
        if (all) want_inter[member] = t;
      }
    }
    absl::StatusOr<SortedSet> u = Union(inputs, aggregate);
    absl::StatusOr<SortedSet> i = Intersection(inputs, aggregate);
    REQUIRE(u.ok());
    REQUIRE(i.ok());
    CHECK(AsMap(*u) == want_union);
    CHECK(AsMap(*i) == want_inter);
    u->CheckInvariants();
    i->CheckInvariants();
  }
}

}  // namespace
}  // namespace keel::zset
