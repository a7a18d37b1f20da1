// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel's XXH3 wrappers against std::hash (libstdc++: identity for integers, a Murmur-style hash
// for strings) and absl::Hash, on strings of several lengths, on integers, and as the hash of an
// absl::flat_hash_map under lookups.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "keel/base/hash.h"
#include "keel/base/random.h"

namespace keel::base {
namespace {

// 1024 random strings of the benchmark's length, hashed in turn so that the loop is not one
// input kept in registers.
std::vector<std::string> RandomStrings(size_t length) {
  Random rng(length);
  std::vector<std::string> strings(1024, std::string(length, '\0'));
  for (std::string& s : strings) {
    for (char& c : s) c = static_cast<char>('a' + rng.Uniform(26));
  }
  return strings;
}

template <typename HashFn>
void RunStringHash(benchmark::State& state, HashFn hash) {
  const std::vector<std::string> strings = RandomStrings(static_cast<size_t>(state.range(0)));
  size_t i = 0;
  for (auto _ : state) {
    const std::string_view s = strings[i++ & 1023];
    benchmark::DoNotOptimize(hash(s));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

void BM_Hash64(benchmark::State& state) {
  RunStringHash(state, [](std::string_view s) { return Hash64(s); });
}
void BM_Hash128(benchmark::State& state) {
  RunStringHash(state, [](std::string_view s) { return Hash128(s); });
}
void BM_StdHashStringBaseline(benchmark::State& state) {
  RunStringHash(state, std::hash<std::string_view>{});
}
void BM_AbslHashStringBaseline(benchmark::State& state) {
  RunStringHash(state, [](std::string_view s) {
    return absl::Hash<absl::string_view>{}(absl::string_view(s.data(), s.size()));
  });
}

#define KEEL_HASH_SIZES ->Arg(8)->Arg(16)->Arg(64)->Arg(256)->Arg(4096)
BENCHMARK(BM_Hash64) KEEL_HASH_SIZES;
BENCHMARK(BM_Hash128) KEEL_HASH_SIZES;
BENCHMARK(BM_StdHashStringBaseline) KEEL_HASH_SIZES;
BENCHMARK(BM_AbslHashStringBaseline) KEEL_HASH_SIZES;
#undef KEEL_HASH_SIZES

template <typename HashFn>
void RunIntHash(benchmark::State& state, HashFn hash) {
  uint64_t key = 0x9e3779b97f4a7c15u;
  for (auto _ : state) {
    benchmark::DoNotOptimize(hash(key));
    ++key;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_HashInt(benchmark::State& state) {
  RunIntHash(state, [](uint64_t k) { return HashInt(k); });
}
void BM_StdHashIntBaseline(benchmark::State& state) { RunIntHash(state, std::hash<uint64_t>{}); }
void BM_AbslHashIntBaseline(benchmark::State& state) { RunIntHash(state, absl::Hash<uint64_t>{}); }
BENCHMARK(BM_HashInt);
BENCHMARK(BM_StdHashIntBaseline);
BENCHMARK(BM_AbslHashIntBaseline);

// Lookups of present keys in a map of 100,000 16-byte strings.
template <typename Hash>
void RunMapLookup(benchmark::State& state) {
  const size_t n = 100000;
  Random rng(1);
  std::vector<std::string> keys;
  keys.reserve(n);
  absl::flat_hash_map<std::string, int, Hash, std::equal_to<>> map;
  for (size_t i = 0; i < n; ++i) {
    std::string key(16, '\0');
    for (char& c : key) c = static_cast<char>('a' + rng.Uniform(26));
    map.emplace(key, static_cast<int>(i));
    keys.push_back(std::move(key));
  }
  rng.Shuffle(keys);
  size_t i = 0;
  for (auto _ : state) {
    auto it = map.find(std::string_view(keys[i++ % n]));
    benchmark::DoNotOptimize(it);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

struct StdStringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
struct AbslStringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const {
    return absl::Hash<absl::string_view>{}(absl::string_view(s.data(), s.size()));
  }
};

void BM_MapLookupHasher(benchmark::State& state) { RunMapLookup<Hasher>(state); }
void BM_MapLookupStdHashBaseline(benchmark::State& state) {
  RunMapLookup<StdStringViewHash>(state);
}
void BM_MapLookupAbslHashBaseline(benchmark::State& state) {
  RunMapLookup<AbslStringViewHash>(state);
}
BENCHMARK(BM_MapLookupHasher);
BENCHMARK(BM_MapLookupStdHashBaseline);
BENCHMARK(BM_MapLookupAbslHashBaseline);

}  // namespace
}  // namespace keel::base
