// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/base/hash.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::testing {
uint64_t LibraryXxh3_64(const void* data, size_t size, uint64_t seed);
void LibraryXxh3_128(const void* data, size_t size, uint64_t seed, uint64_t* high, uint64_t* low);
}  // namespace keel::testing

namespace keel::base {
namespace {

TEST_CASE("Hash64 and Hash128 match the xxhsum command line tool") {
  // Printed by `printf '<input>' | xxhsum -H3` and `xxhsum -H2` (xxHash 0.8.1).
  CHECK(Hash64("") == 0x2d06800538d394c2u);
  CHECK(Hash64("abc") == 0x78af5f94892f3950u);
  CHECK(Hash64("The quick brown fox jumps over the lazy dog") == 0xce7d19a5418fb365u);
  CHECK(Hash128("") == absl::MakeUint128(0x99aa06d3014798d8u, 0x6001c324468d497fu));
  CHECK(Hash128("abc") == absl::MakeUint128(0x06b05ab6733a6185u, 0x78af5f94892f3950u));
  CHECK(Hash128("The quick brown fox jumps over the lazy dog") ==
        absl::MakeUint128(0xddd650205ca3e7fau, 0x24a1cc2e3a8a7651u));
}

TEST_CASE("Hash64 and Hash128 equal libxxhash's compiled functions for random inputs and seeds") {
  const uint64_t seed = testing::TestSeed(1);
  CAPTURE(seed);
  Random rng(seed);
  std::string bytes;
  // Every length up to 300 crosses each of XXH3's size classes (0, 1-3, 4-8, 9-16, 17-128,
  // 129-240, 240+); a few long inputs cover the striped loop.
  std::vector<size_t> lengths;
  for (size_t n = 0; n <= 300; ++n) lengths.push_back(n);
  for (const size_t n : {1024u, 4096u, 100000u}) lengths.push_back(n);
  for (const size_t n : lengths) {
    bytes.resize(n);
    for (char& c : bytes) c = static_cast<char>(rng.Next());
    const uint64_t hash_seed = (n % 3 == 0) ? 0 : rng.Next();
    CAPTURE(n);
    CAPTURE(hash_seed);
    CHECK(Hash64(bytes, hash_seed) == testing::LibraryXxh3_64(bytes.data(), n, hash_seed));
    uint64_t high = 0;
    uint64_t low = 0;
    testing::LibraryXxh3_128(bytes.data(), n, hash_seed, &high, &low);
    CHECK(Hash128(bytes, hash_seed) == absl::MakeUint128(high, low));
  }
}

TEST_CASE("HashInt hashes the value's 8 little-endian bytes whatever its type") {
  const std::string five("\x05\0\0\0\0\0\0\0", 8);
  CHECK(HashInt(uint64_t{5}) == Hash64(five));
  CHECK(HashInt(int8_t{5}) == Hash64(five));
  CHECK(HashInt(uint16_t{5}) == Hash64(five));
  CHECK(HashInt(5) == Hash64(five));
  // Negative values are sign-extended: -1 is eight 0xff bytes.
  CHECK(HashInt(int8_t{-1}) == Hash64(std::string(8, '\xff')));
  CHECK(HashInt(int64_t{-1}) == HashInt(std::numeric_limits<uint64_t>::max()));
  CHECK(HashInt(uint64_t{0x0102030405060708u}) == Hash64("\x08\x07\x06\x05\x04\x03\x02\x01"));
  CHECK(HashInt(uint64_t{7}, 99) == Hash64(std::string("\x07\0\0\0\0\0\0\0", 8), 99));
}

TEST_CASE("A different seed gives a different hash") {
  CHECK(Hash64("key", 1) != Hash64("key", 2));
  CHECK(Hash128("key", 1) != Hash128("key", 2));
  CHECK(HashInt(42, 1) != HashInt(42, 2));
  CHECK(Hasher{.seed = 1}("key") != Hasher{.seed = 2}("key"));
}

TEST_CASE("Hasher works as the hash of an Abseil map with string_view lookups") {
  absl::flat_hash_map<std::string, int, Hasher, std::equal_to<>> counts;
  for (const char* word : {"alice", "bob", "alice", "carol", "alice"}) counts[word] += 1;
  CHECK(counts.size() == 3);
  const auto it = counts.find(std::string_view("alice"));
  REQUIRE(it != counts.end());
  CHECK(it->second == 3);
  CHECK(counts.contains("bob"));
  CHECK(!counts.contains(std::string_view("dave")));
  CHECK(Hasher{}(std::string("x")) == Hasher{}(std::string_view("x")));
}

TEST_CASE("Hasher hashes integers and enums by value") {
  enum class Side : uint8_t { kBuy = 1, kSell = 2 };
  CHECK(Hasher{}(Side::kSell) == HashInt(2));
  CHECK(Hasher{}(int16_t{-3}) == HashInt(int64_t{-3}));
  absl::flat_hash_map<uint64_t, int, Hasher> by_id;
  for (uint64_t id = 0; id < 1000; ++id) by_id[id] = static_cast<int>(id);
  CHECK(by_id.size() == 1000);
  CHECK(by_id.at(777) == 777);
}

TEST_CASE("Hash64 spreads sequential integers evenly over buckets") {
  // 1,048,576 consecutive keys into 1024 buckets: with a good hash each bucket holds 1024 +- a
  // few dozen (a chi-square statistic near 1023). An identity hash would put them all in order
  // into the low bits and a weak one would cluster; the bound below is p < 1e-9 for a random one.
  constexpr int kBuckets = 1024;
  constexpr int kKeys = 1 << 20;
  std::vector<int> buckets(kBuckets, 0);
  for (int key = 0; key < kKeys; ++key) ++buckets[HashInt(key) >> 54];
  double chi_square = 0;
  const double expected = double{kKeys} / kBuckets;
  for (const int count : buckets) chi_square += (count - expected) * (count - expected) / expected;
  CAPTURE(chi_square);
  CHECK(chi_square < 1300.0);
}

}  // namespace
}  // namespace keel::base
