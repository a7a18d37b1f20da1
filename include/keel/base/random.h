// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A small, fast, seeded random number generator for simulations, tests and benchmark data.
//
// keel's randomized tests print their seed so that a failure can be replayed, its simulations
// (Raft under partitions, an exchange under load) must produce the same run from the same seed,
// and its benchmarks must measure keel and a baseline on the same data. All of that needs a
// generator whose output is fixed by its seed on every platform and standard library. The standard
// engines are fixed, but std::uniform_int_distribution and friends are not (libstdc++ and libc++
// map the same bits to different numbers), so Random also does its own range reduction.
//
// The generator is xoshiro256** (Blackman and Vigna, "Scrambled Linear Pseudorandom Number
// Generators", ACM TOMS 2021): 256 bits of state, period 2^256 - 1, passes BigCrush, about a
// nanosecond per number. It is seeded through splitmix64 (Steele, Lea and Flood, "Fast Splittable
// Pseudorandom Number Generators", OOPSLA 2014), as its authors recommend, so that similar seeds
// still give unrelated streams. It is not cryptographically secure.
//
// Streams: Random(seed, stream) gives a different, reproducible sequence for every stream number,
// so that each simulated node or client can own a generator and adding one does not shift what
// the others draw.
//
// Example:
//
//   keel::base::Random rng(/*seed=*/42);
//   uint64_t die = rng.Uniform(6) + 1;                  // 1..6, unbiased
//   int64_t price = rng.UniformInRange(9'900, 10'100);  // both ends included
//   bool heads = rng.Bernoulli(0.5);
//   keel::base::Random node3(/*seed=*/42, /*stream=*/3);
//
// Random satisfies std::uniform_random_bit_generator, so it also works with std::shuffle (whose
// result, again, depends on the standard library; Random::Shuffle does not).
#ifndef KEEL_BASE_RANDOM_H_
#define KEEL_BASE_RANDOM_H_

#include <array>
#include <bit>
#include <cstdint>
#include <iterator>
#include <limits>
#include <ranges>

#include "keel/base/assert.h"

namespace keel::base {

namespace internal {
// GCC and Clang's 128-bit integer; __extension__ keeps -Wpedantic quiet about it.
__extension__ using UInt128 = unsigned __int128;
}  // namespace internal

// splitmix64: a tiny generator whose outputs are well-mixed functions of a counter. Used to seed
// Random; also handy on its own to scramble one 64-bit value into another.
class SplitMix64 {
 public:
  explicit constexpr SplitMix64(uint64_t seed) : state_(seed) {}

  constexpr uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

class Random {
 public:
  using result_type = uint64_t;

  // The generator for `seed`, stream 0.
  explicit constexpr Random(uint64_t seed) : Random(seed, 0) {}

  // The generator for `seed` and `stream`. Different streams of one seed are independent for all
  // practical purposes (their starting states are unrelated 256-bit values).
  constexpr Random(uint64_t seed, uint64_t stream) {
    // Stream 0 is seeded from `seed` alone, so Random(s) == Random(s, 0).
    SplitMix64 mix(stream == 0 ? seed : seed ^ SplitMix64(stream).Next());
    for (uint64_t& word : state_) word = mix.Next();
  }

  // Returns the next 64 uniformly distributed bits.
  constexpr uint64_t Next() {
    const uint64_t result = std::rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = std::rotl(state_[3], 45);
    return result;
  }

  // Returns a uniformly distributed integer in [0, n), without modulo bias (Lemire, "Fast Random
  // Integer Generation in an Interval", ACM TOMACS 2019).
  // REQUIRES: n > 0.
  constexpr uint64_t Uniform(uint64_t n) {
    KEEL_ASSERT(n > 0, "Random::Uniform(0) has no value to return");
    internal::UInt128 m = static_cast<internal::UInt128>(Next()) * n;
    auto low = static_cast<uint64_t>(m);
    if (low < n) {
      // Reject the few products that would make some values more likely than others.
      const uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<internal::UInt128>(Next()) * n;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }

  // Returns a uniformly distributed integer in [lo, hi], both ends included.
  // REQUIRES: lo <= hi.
  constexpr int64_t UniformInRange(int64_t lo, int64_t hi) {
    KEEL_ASSERT(lo <= hi, "Random::UniformInRange(", lo, ", ", hi, ") is an empty range");
    const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
    const uint64_t offset =
        span == std::numeric_limits<uint64_t>::max() ? Next() : Uniform(span + 1);
    return static_cast<int64_t>(static_cast<uint64_t>(lo) + offset);
  }

  // Returns a uniformly distributed double in [0, 1), with 53 random bits.
  constexpr double UniformDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  // Returns a uniformly distributed double in [lo, hi).
  // REQUIRES: lo < hi, both finite.
  constexpr double UniformDouble(double lo, double hi) {
    KEEL_ASSERT(lo < hi, "Random::UniformDouble(", lo, ", ", hi, ") is an empty range");
    const double x = lo + (hi - lo) * UniformDouble();
    return x < hi ? x : lo;  // rounding can land exactly on hi; keep the interval half-open
  }

  // Returns true with probability p (p <= 0: never; p >= 1: always).
  constexpr bool Bernoulli(double p) { return UniformDouble() < p; }

  // Puts `items` in a uniformly random order (Fisher-Yates), the same order on every platform.
  template <std::ranges::random_access_range Range>
  constexpr void Shuffle(Range&& items) {
    const auto first = std::ranges::begin(items);
    for (auto i = std::ranges::distance(items); i > 1; --i) {
      const auto j = static_cast<decltype(i)>(Uniform(static_cast<uint64_t>(i)));
      std::ranges::iter_swap(first + (i - 1), first + j);
    }
  }

  // std::uniform_random_bit_generator.
  static constexpr uint64_t min() { return 0; }
  static constexpr uint64_t max() { return std::numeric_limits<uint64_t>::max(); }
  constexpr uint64_t operator()() { return Next(); }

 private:
  std::array<uint64_t, 4> state_{};
};

}  // namespace keel::base

#endif  // KEEL_BASE_RANDOM_H_
