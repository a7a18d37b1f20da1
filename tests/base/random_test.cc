// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/base/random.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "testing/testing.h"

namespace keel::base {
namespace {

// Known answers from an independent implementation of the published algorithms (a few lines of
// Python following Vigna's reference C code, xoshiro256starstar.c and splitmix64.c).
TEST_CASE("SplitMix64 matches the reference outputs") {
  SplitMix64 mix(1234567);
  CHECK(mix.Next() == 6457827717110365317u);
  CHECK(mix.Next() == 3203168211198807973u);
  CHECK(mix.Next() == 9817491932198370423u);
  CHECK(mix.Next() == 4593380528125082431u);
  CHECK(mix.Next() == 16408922859458223821u);
}

TEST_CASE("Random is xoshiro256** seeded through SplitMix64") {
  Random rng(42);
  CHECK(rng.Next() == 0x15780b2e0c2ec716u);
  CHECK(rng.Next() == 0x6104d9866d113a7eu);
  CHECK(rng.Next() == 0xae17533239e499a1u);
  CHECK(rng.Next() == 0xecb8ad4703b360a1u);
  CHECK(rng.Next() == 0xfde6dc7fe2ec5e64u);
  CHECK(rng.Next() == 0xc50da53101795238u);
  Random zero(0);
  CHECK(zero.Next() == 0x99ec5f36cb75f2b4u);
}

TEST_CASE("Random streams are reproducible and differ from each other") {
  Random stream3(42, 3);
  CHECK(stream3.Next() == 0x44ad28f44a5c0633u);
  CHECK(stream3.Next() == 0xa9625f7b75117928u);

  Random a(42);
  Random a0(42, 0);
  for (int i = 0; i < 100; ++i) CHECK(a.Next() == a0.Next());

  std::vector<uint64_t> firsts;
  for (uint64_t stream = 0; stream < 1000; ++stream) firsts.push_back(Random(7, stream).Next());
  std::sort(firsts.begin(), firsts.end());
  CHECK(std::adjacent_find(firsts.begin(), firsts.end()) == firsts.end());
}

TEST_CASE("Uniform stays in range and is unbiased") {
  const uint64_t seed = testing::TestSeed(11);
  CAPTURE(seed);
  Random rng(seed);
  CHECK(rng.Uniform(1) == 0);
  for (int i = 0; i < 1000; ++i)
    CHECK(rng.Uniform(std::numeric_limits<uint64_t>::max()) < std::numeric_limits<uint64_t>::max());
  // Chi-square over 10 buckets, 1,000,000 draws: 9 degrees of freedom, p < 1e-6 above 45.
  constexpr int kBuckets = 10;
  constexpr int kDraws = 1'000'000;
  std::vector<int> counts(kBuckets, 0);
  for (int i = 0; i < kDraws; ++i) ++counts[rng.Uniform(kBuckets)];
  double chi_square = 0;
  for (const int c : counts) {
    const double e = double{kDraws} / kBuckets;
    chi_square += (c - e) * (c - e) / e;
  }
  CAPTURE(chi_square);
  CHECK(chi_square < 45.0);

  // A range just above 2^63 is where modulo reduction is most biased (values below 2^64 mod n
  // would be twice as likely); Lemire's method must keep the top half as likely as the bottom.
  const uint64_t n = (uint64_t{1} << 63) + (uint64_t{1} << 62);
  int top = 0;
  for (int i = 0; i < 100000; ++i) top += rng.Uniform(n) >= n / 2 ? 1 : 0;
  CHECK(top > 49000);
  CHECK(top < 51000);
}

TEST_CASE("UniformInRange covers both ends and the full int64 range") {
  Random rng(testing::TestSeed(12));
  CHECK(rng.UniformInRange(5, 5) == 5);
  bool saw_lo = false;
  bool saw_hi = false;
  for (int i = 0; i < 1000; ++i) {
    const int64_t v = rng.UniformInRange(-2, 2);
    CHECK(v >= -2);
    CHECK(v <= 2);
    saw_lo |= v == -2;
    saw_hi |= v == 2;
  }
  CHECK(saw_lo);
  CHECK(saw_hi);
  int negative = 0;
  for (int i = 0; i < 10000; ++i) {
    negative += rng.UniformInRange(std::numeric_limits<int64_t>::min(),
                                   std::numeric_limits<int64_t>::max()) < 0;
  }
  CHECK(negative > 4700);
  CHECK(negative < 5300);
}

TEST_CASE("UniformDouble stays in its half-open interval") {
  Random rng(testing::TestSeed(13));
  double sum = 0;
  for (int i = 0; i < 100000; ++i) {
    const double x = rng.UniformDouble();
    REQUIRE(x >= 0.0);
    REQUIRE(x < 1.0);
    sum += x;
    const double y = rng.UniformDouble(-180.0, 180.0);
    REQUIRE(y >= -180.0);
    REQUIRE(y < 180.0);
  }
  CHECK(sum / 100000 == doctest::Approx(0.5).epsilon(0.01));
}

TEST_CASE("Bernoulli honours its probability and its extremes") {
  Random rng(testing::TestSeed(14));
  int hits = 0;
  for (int i = 0; i < 100000; ++i) hits += rng.Bernoulli(0.3);
  CHECK(hits > 29000);
  CHECK(hits < 31000);
  for (int i = 0; i < 1000; ++i) {
    CHECK(!rng.Bernoulli(0.0));
    CHECK(rng.Bernoulli(1.0));
  }
}

TEST_CASE("Shuffle gives a reproducible permutation") {
  std::vector<int> a(100);
  std::iota(a.begin(), a.end(), 0);
  std::vector<int> b = a;
  Random rng_a(99);
  Random rng_b(99);
  rng_a.Shuffle(a);
  rng_b.Shuffle(b);
  CHECK(a == b);
  std::vector<int> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int> identity(100);
  std::iota(identity.begin(), identity.end(), 0);
  CHECK(sorted == identity);
  CHECK(a != identity);

  // Every position is equally likely for the first element: 3 items, 60,000 shuffles.
  Random rng(testing::TestSeed(15));
  int first_counts[3] = {0, 0, 0};
  for (int i = 0; i < 60000; ++i) {
    int items[3] = {0, 1, 2};
    rng.Shuffle(items);
    ++first_counts[items[0]];
  }
  for (const int c : first_counts) {
    CHECK(c > 19000);
    CHECK(c < 21000);
  }
}

TEST_CASE("Random is a standard uniform random bit generator") {
  static_assert(std::uniform_random_bit_generator<Random>);
  Random rng(1);
  std::vector<int> v = {1, 2, 3, 4, 5};
  std::shuffle(v.begin(), v.end(), rng);
  std::sort(v.begin(), v.end());
  CHECK(v == std::vector<int>{1, 2, 3, 4, 5});
}

TEST_CASE("Random misuse stops the program") {
  CHECK(testing::RunInChild([] {
          Random rng(1);
          (void)rng.Uniform(0);
        }).aborted);
  CHECK(testing::RunInChild([] {
          Random rng(1);
          (void)rng.UniformInRange(3, 2);
        }).aborted);
}

}  // namespace
}  // namespace keel::base
