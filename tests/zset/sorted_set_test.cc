// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/zset/sorted_set.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "keel/base/random.h"
#include "testing/testing.h"
#include "zset/reference_sorted_set.h"

namespace keel::zset {
namespace {

using Outcome = AddResult::Outcome;
using base::Random;
using testing::ReferenceSortedSet;

constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<Element> Ascending(const SortedSet& set) {
  std::vector<Element> out;
  for (auto c = set.CursorAt(0); c.valid(); c.Next()) {
    out.push_back({std::string(c.member()), c.score()});
  }
  return out;
}

TEST_CASE("Members are ordered by score, then by member bytes as unsigned memcmp") {
  SortedSet set;
  REQUIRE(set.Add("b", 1).ok());
  REQUIRE(set.Add("a", 2).ok());
  REQUIRE(set.Add("ab", 1).ok());
  REQUIRE(set.Add("a", 1).ok());  // moves a to score 1
  REQUIRE(set.Add("\xff", 0).ok());
  REQUIRE(set.Add("\x01", 0).ok());
  REQUIRE(set.Add("", 0).ok());
  REQUIRE(set.Add("z", -kInf).ok());
  REQUIRE(set.Add("y", kInf).ok());
  const std::vector<Element> expected = {{"z", -kInf}, {"", 0},   {"\x01", 0}, {"\xff", 0},
                                         {"a", 1},     {"ab", 1}, {"b", 1},    {"y", kInf}};
  CHECK(Ascending(set) == expected);
  CHECK(set.Rank("a") == 4);
  CHECK(set.ReverseRank("a") == 3);
  CHECK(set.Rank("missing") == std::nullopt);
  set.CheckInvariants();
}

TEST_CASE("Add reports added, updated, unchanged and skipped as ZADD's flags do") {
  SortedSet set;
  CHECK(set.Add("m", 1)->outcome == Outcome::kAdded);
  CHECK(set.Add("m", 1)->outcome == Outcome::kUnchanged);
  CHECK(set.Add("m", 2)->outcome == Outcome::kUpdated);
  CHECK(set.Add("m", 5, {.existence = Existence::kOnlyAbsent})->outcome == Outcome::kSkipped);
  CHECK(set.Score("m") == 2);
  AddResult xx_absent = *set.Add("n", 5, {.existence = Existence::kOnlyPresent});
  CHECK(xx_absent.outcome == Outcome::kSkipped);
  CHECK(xx_absent.score == std::nullopt);
  CHECK_FALSE(set.Contains("n"));

  // GT and LT need a strict improvement; a new member is added regardless.
  CHECK(set.Add("m", 2, {.condition = ScoreCondition::kOnlyGreater})->outcome == Outcome::kSkipped);
  CHECK(set.Add("m", 1, {.condition = ScoreCondition::kOnlyGreater})->outcome == Outcome::kSkipped);
  CHECK(set.Add("m", 3, {.condition = ScoreCondition::kOnlyGreater})->outcome == Outcome::kUpdated);
  CHECK(set.Add("m", 4, {.condition = ScoreCondition::kOnlyLess})->outcome == Outcome::kSkipped);
  CHECK(set.Add("new", 9, {.condition = ScoreCondition::kOnlyLess})->outcome == Outcome::kAdded);

  // INCR: the increment is applied before GT/LT judge it.
  AddResult incr = *set.Add("m", 1.5, {.increment = true});
  CHECK(incr.outcome == Outcome::kUpdated);
  CHECK(incr.score == 4.5);
  CHECK(set.Add("m", -1, {.condition = ScoreCondition::kOnlyGreater, .increment = true})->outcome ==
        Outcome::kSkipped);
  CHECK(set.Add("m", 0, {.increment = true})->outcome == Outcome::kUnchanged);
  CHECK(set.Add("fresh", 7, {.increment = true})->score == 7);
  set.CheckInvariants();
}

TEST_CASE("Negative zero equals zero: an update between them changes nothing") {
  SortedSet set;
  REQUIRE(set.Add("m", -0.0).ok());
  CHECK(set.Add("m", 0.0)->outcome == Outcome::kUnchanged);
  CHECK(std::signbit(*set.Score("m")));
}

TEST_CASE("Bad input is refused with a status and changes nothing") {
  SortedSet set;
  REQUIRE(set.Add("m", kInf).ok());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  absl::StatusOr<AddResult> r = set.Add("x", nan);
  CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(r.status().message()).find("NaN") != std::string::npos);
  r = set.Add("m", -kInf, {.increment = true});
  CHECK(r.status().message() == "resulting score is not a number (NaN)");
  CHECK(set.Score("m") == kInf);
  r = set.Add("m", 1,
              {.existence = Existence::kOnlyAbsent, .condition = ScoreCondition::kOnlyGreater});
  CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(set.size() == 1);
  set.CheckInvariants();
}

TEST_CASE("Members of 255 bytes and longer, and empty members, round-trip") {
  SortedSet set;
  const std::string long_member(300, 'x');
  const std::string boundary(255, 'y');
  const std::string below(254, 'z');
  REQUIRE(set.Add(long_member, 1).ok());
  REQUIRE(set.Add(boundary, 2).ok());
  REQUIRE(set.Add(below, 3).ok());
  REQUIRE(set.Add("", 4).ok());
  CHECK(set.Score(long_member) == 1);
  CHECK(set.Score(boundary) == 2);
  CHECK(set.Score(below) == 3);
  CHECK(set.Score("") == 4);
  CHECK(set.CursorAt(0).member() == long_member);
  CHECK(set.CursorAt(1).member() == boundary);
}

TEST_CASE("Score ranges honour exclusive bounds and infinities") {
  SortedSet set;
  for (int i = 0; i < 10; ++i) REQUIRE(set.Add(std::to_string(i), i).ok());
  REQUIRE(set.Add("-inf", -kInf).ok());
  REQUIRE(set.Add("+inf", kInf).ok());
  auto count = [&](ScoreRange r) { return set.RanksOf(r).size(); };
  CHECK(count({{2}, {4}}) == 3);
  CHECK(count({{2, true}, {4}}) == 2);
  CHECK(count({{2, true}, {4, true}}) == 1);
  CHECK(count({{4}, {2}}) == 0);
  CHECK(count({{3, true}, {3}}) == 0);
  CHECK(count({{-kInf}, {kInf}}) == 12);
  CHECK(count({{-kInf, true}, {kInf, true}}) == 10);
  CHECK(set.RanksOf(ScoreRange{{2}, {4}}).begin == 3);  // after -inf, 0 and 1
}

TEST_CASE("Lex ranges on members of equal score") {
  SortedSet set;
  for (std::string m : {"a", "b", "c", "d", "e", "f", "g"}) REQUIRE(set.Add(m, 0).ok());
  auto span = [&](LexBound min, LexBound max) { return set.RanksOf(LexRange{min, max}); };
  CHECK(span(LexBound::MinusInfinity(), LexBound::Inclusive("c")).size() == 3);
  CHECK(span(LexBound::MinusInfinity(), LexBound::Exclusive("c")).size() == 2);
  CHECK(span(LexBound::Exclusive("a"), LexBound::Inclusive("c")).size() == 2);
  CHECK(span(LexBound::Inclusive("aa"), LexBound::Exclusive("g")).size() == 5);
  CHECK(span(LexBound::MinusInfinity(), LexBound::PlusInfinity()).size() == 7);
  CHECK(span(LexBound::PlusInfinity(), LexBound::PlusInfinity()).size() == 0);
  CHECK(span(LexBound::MinusInfinity(), LexBound::MinusInfinity()).size() == 0);
  CHECK(span(LexBound::Inclusive("e"), LexBound::Inclusive("c")).size() == 0);
}

TEST_CASE("Cursors walk forward and backward from a rank, top 10 best first") {
  SortedSet set;
  for (int i = 0; i < 100; ++i) REQUIRE(set.Add(absl::StrCat("p", i), i).ok());
  std::vector<std::string> top;
  for (auto c = set.ReverseCursorAt(0); c.valid() && c.rank() < 10; c.Next()) {
    top.emplace_back(c.member());
  }
  CHECK(top == std::vector<std::string>{"p99", "p98", "p97", "p96", "p95", "p94", "p93", "p92",
                                        "p91", "p90"});
  CHECK_FALSE(set.CursorAt(100).valid());
  CHECK_FALSE(set.ReverseCursorAt(100).valid());
  auto last = set.CursorAt(99);
  last.Next();
  CHECK_FALSE(last.valid());
  auto first = set.ReverseCursorAt(99);
  CHECK(first.member() == "p0");
  first.Next();
  CHECK_FALSE(first.valid());
}

TEST_CASE("Pops and rank removals take members from the ends and the middle") {
  SortedSet set;
  for (int i = 0; i < 10; ++i) REQUIRE(set.Add(std::string(1, static_cast<char>('a' + i)), i).ok());
  CHECK(set.PopMin(2) == std::vector<Element>{{"a", 0}, {"b", 1}});
  CHECK(set.PopMax(1) == std::vector<Element>{{"j", 9}});
  CHECK(set.RemoveRanks({1, 3}) == 2);  // d and e
  CHECK(set.RemoveRanks({5, 100}) == 0);
  CHECK(set.RemoveRanks({3, 100}) == 2);  // h and i
  CHECK(Ascending(set) == std::vector<Element>{{"c", 2}, {"f", 5}, {"g", 6}});
  CHECK(set.PopMin(10).size() == 3);
  CHECK(set.empty());
  CHECK(set.PopMax(1).empty());
  set.CheckInvariants();
}

TEST_CASE("A moved-from set is empty and usable") {
  SortedSet a;
  for (int i = 0; i < 1000; ++i) REQUIRE(a.Add(std::to_string(i), i).ok());
  SortedSet b = std::move(a);
  CHECK(b.size() == 1000);
  CHECK(a.empty());  // NOLINT(bugprone-use-after-move): a moved-from set is specified empty
  REQUIRE(a.Add("x", 1).ok());
  a = std::move(b);
  CHECK(a.size() == 1000);
  CHECK_FALSE(a.Contains("x"));
  a.CheckInvariants();
}

// ---------------------------------------------------------------------------------------------
// Randomized differential test against the reference.
// ---------------------------------------------------------------------------------------------
struct Workload {
  Random rng;
  int member_space;
  bool equal_scores;  // lex ranges are specified only when every score is the same

  std::string Member() {
    const uint64_t k = rng.Uniform(static_cast<uint64_t>(member_space));
    if (k % 97 == 5) return std::string(250 + k % 10, static_cast<char>('a' + k % 26));
    std::string m = absl::StrCat("m", k);
    if (k % 13 == 0) m.push_back('\xff');
    if (k % 17 == 0) m = m.substr(0, 1);
    return m;
  }

  double Score() {
    if (equal_scores) return 7;
    switch (rng.Uniform(8)) {
      case 0:
        return kInf;
      case 1:
        return -kInf;
      case 2:
        return rng.Bernoulli(0.5) ? 0.0 : -0.0;
      case 3:
        return rng.UniformDouble(-1e6, 1e6);
      default:
        return static_cast<double>(rng.UniformInRange(-20, 20));
    }
  }

  ScoreBound Bound() {
    return {rng.Bernoulli(0.1) ? (rng.Bernoulli(0.5) ? kInf : -kInf)
                               : static_cast<double>(rng.UniformInRange(-22, 22)),
            rng.Bernoulli(0.5)};
  }

  LexBound Lex() {
    switch (rng.Uniform(6)) {
      case 0:
        return LexBound::MinusInfinity();
      case 1:
        return LexBound::PlusInfinity();
      case 2:
      case 3:
        return LexBound::Inclusive(Member());
      default:
        return LexBound::Exclusive(Member());
    }
  }
};

Workload MakeWorkload(uint64_t seed, int member_space, bool equal_scores) {
  return {Random(seed), member_space, equal_scores};
}

void RunDifferential(Workload& w, int operations) {
  SortedSet set;
  ReferenceSortedSet reference;
  for (int op = 0; op < operations; ++op) {
    CAPTURE(op);
    const std::string member = w.Member();
    switch (w.rng.Uniform(12)) {
      case 0:
      case 1:
      case 2:
      case 3: {
        AddOptions options;
        options.existence = static_cast<Existence>(w.rng.Uniform(3));
        options.condition = static_cast<ScoreCondition>(w.rng.Uniform(3));
        options.increment = !w.equal_scores && w.rng.Bernoulli(0.3);
        const double score = w.rng.Bernoulli(0.01) ? std::nan("") : w.Score();
        absl::StatusOr<AddResult> got = set.Add(member, score, options);
        std::optional<AddResult> want = reference.Add(member, score, options);
        REQUIRE(got.ok() == want.has_value());
        if (want) {
          CHECK(got->outcome == want->outcome);
          CHECK(got->score.has_value() == want->score.has_value());
          if (want->score) CHECK(std::memcmp(&*got->score, &*want->score, sizeof(double)) == 0);
        }
        break;
      }
      case 4:
        CHECK(set.Remove(member) == reference.Remove(member));
        break;
      case 5:
        CHECK(set.Score(member) == reference.Score(member));
        CHECK(set.Rank(member) == reference.Rank(member));
        if (auto rank = reference.Rank(member)) {
          CHECK(set.ReverseRank(member) == reference.size() - 1 - *rank);
        }
        break;
      case 6: {
        ScoreRange range{w.Bound(), w.Bound()};
        const RankSpan got = set.RanksOf(range);
        const RankSpan want = reference.RanksOf(range);
        CHECK(got.size() == want.size());
        if (!want.empty()) CHECK(got.begin == want.begin);
        break;
      }
      case 7:
        if (w.equal_scores) {
          LexRange range{w.Lex(), w.Lex()};
          const RankSpan got = set.RanksOf(range);
          const RankSpan want = reference.RanksOf(range);
          CHECK(got.size() == want.size());
          if (!want.empty()) CHECK(got.begin == want.begin);
        }
        break;
      case 8: {
        // A window of the order, forward or reverse, from a random rank.
        const bool reverse = w.rng.Bernoulli(0.5);
        const size_t start = w.rng.Uniform(reference.size() + 2);
        const std::vector<Element> all = reference.Elements();
        auto c = reverse ? set.ReverseCursorAt(start) : set.CursorAt(start);
        for (size_t k = start; k < start + 40; ++k, c.Next()) {
          if (k >= all.size()) {
            CHECK_FALSE(c.valid());
            break;
          }
          REQUIRE(c.valid());
          const Element& e = reverse ? all[all.size() - 1 - k] : all[k];
          CHECK(c.member() == e.member);
          CHECK(c.score() == e.score);
        }
        break;
      }
      case 9: {
        const size_t count = w.rng.Uniform(4);
        const bool max = w.rng.Bernoulli(0.5);
        std::vector<Element> want = reference.Elements();
        if (max) std::reverse(want.begin(), want.end());
        want.resize(std::min(count, want.size()));
        for (const Element& e : want) reference.Remove(e.member);
        CHECK((max ? set.PopMax(count) : set.PopMin(count)) == want);
        break;
      }
      case 10: {
        if (w.rng.Bernoulli(0.8)) break;  // rare: it can empty a small set
        const size_t begin = w.rng.Uniform(reference.size() + 2);
        const RankSpan span{begin, begin + w.rng.Uniform(6)};
        const std::vector<Element> all = reference.Elements();
        size_t removed = 0;
        for (size_t k = span.begin; k < span.end && k < all.size(); ++k, ++removed) {
          reference.Remove(all[k].member);
        }
        CHECK(set.RemoveRanks(span) == removed);
        break;
      }
      default:
        break;
    }
    REQUIRE(set.size() == reference.size());
    if (op % 500 == 0) set.CheckInvariants();
  }
  set.CheckInvariants();
  CHECK(Ascending(set) == reference.Elements());
}

TEST_CASE("Random operations agree with the reference sorted set") {
  const uint64_t rounds = keel::testing::TestRounds("KEEL_ZSET_ROUNDS", 16);
  for (uint64_t round = 0; round < rounds; ++round) {
    const uint64_t seed = keel::testing::TestSeed(1000 + round);
    CAPTURE(seed);
    // Small member spaces churn a few leaves; large ones grow a tree three levels deep.
    const int member_space = round % 2 == 0 ? 60 : 4000;
    Workload w = MakeWorkload(seed, member_space, /*equal_scores=*/false);
    RunDifferential(w, 20000);
  }
}

TEST_CASE("Random lex ranges agree with the reference when every score is equal") {
  const uint64_t rounds = keel::testing::TestRounds("KEEL_ZSET_ROUNDS", 16);
  for (uint64_t round = 0; round < rounds / 2 + 1; ++round) {
    const uint64_t seed = keel::testing::TestSeed(2000 + round);
    CAPTURE(seed);
    Workload w = MakeWorkload(seed, 3000, /*equal_scores=*/true);
    RunDifferential(w, 15000);
  }
}

TEST_CASE("A large set grown in order and shrunk from both ends keeps every invariant") {
  // Monotonic scores (timestamps, a counter) are the worst case for a B+ tree's splits and
  // merges: every insert lands in the last leaf and every pop empties the first.
  SortedSet set;
  const int n = 50000;
  for (int i = 0; i < n; ++i) REQUIRE(set.Add(absl::StrCat("k", i), i).ok());
  set.CheckInvariants();
  CHECK(set.Rank("k12345") == 12345);
  CHECK(set.CursorAt(40000).member() == "k40000");
  for (int i = 0; i < n / 2; ++i) {
    REQUIRE(set.PopMin(1).size() == 1);
    REQUIRE(set.PopMax(1).size() == 1);
    if (i % 5000 == 0) set.CheckInvariants();
  }
  CHECK(set.empty());
  set.CheckInvariants();
  REQUIRE(set.Add("again", 1).ok());
  CHECK(set.Rank("again") == 0);
}

}  // namespace
}  // namespace keel::zset
