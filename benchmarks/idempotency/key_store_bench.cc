// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Idempotency keys in memory: a retry's lookup (Begin on a completed key) and a new key's insert
// (Begin and Complete) with 1M and 10M live keys, against std::unordered_map<std::string, Entry>
// behind a std::mutex holding the same keys, fingerprints and outcomes (the baseline). Latency
// benchmarks time every operation and report p50 and p99, over uniformly drawn keys and over the
// traffic a store really sees (fresh keys, and retries of recent ones); BM_TimerOverhead reports
// what the two clock reads around each timed operation cost by themselves. The fill benchmarks
// report the memory each key costs (resident set growth per key).
//
// Keys look like Stripe's (a 24-character random id), fingerprints are 16 bytes (a 128-bit hash
// of the request), outcomes 24 bytes. The key order of each run is drawn before timing starts.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "keel/base/internal/arena.h"
#include "keel/base/random.h"
#include "keel/idempotency/key_store.h"

namespace {

using keel::idempotency::KeyStore;
using keel::idempotency::Verdict;

const bool kSmoke = std::getenv("KEEL_BENCH_SMOKE") != nullptr;

int64_t Keys(const benchmark::State& state) { return kSmoke ? 10'000 : state.range(0); }

std::string KeyOf(uint64_t i) {
  // 24 characters, like "idem_3f9a...": a prefix and the index mixed into hex.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string key = "idem_";
  uint64_t x = keel::base::SplitMix64(i).Next();
  for (int d = 0; d < 19; ++d, x >>= 3) key.push_back(kHex[x & 15]);
  return key;
}
const std::string kFingerprint(16, 'f');
const std::string kOutcome = "{\"status\":\"succeeded\"}..";

size_t ResidentBytes() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return static_cast<size_t>(resident) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

struct BaselineEntry {
  std::string fingerprint;
  std::string outcome;
  int64_t created_ns;
};
struct Baseline {
  std::mutex mu;
  std::unordered_map<std::string, BaselineEntry> map;
};

// One store per size, filled once and shared by the benchmarks of that size.
KeyStore& FilledStore(int64_t n, double* bytes_per_key = nullptr) {
  static std::map<int64_t, std::pair<std::unique_ptr<KeyStore>, double>> stores;
  auto& slot = stores[n];
  if (!slot.first) {
    const size_t before = ResidentBytes();
    slot.first = std::make_unique<KeyStore>(keel::idempotency::KeyStoreOptions{
        .max_keys = uint64_t{1} << 26, .max_bytes = uint64_t{1} << 36, .shards = 16});
    for (int64_t i = 0; i < n; ++i) {
      auto claim = slot.first->Begin("acct_1", KeyOf(static_cast<uint64_t>(i)), kFingerprint);
      if (!claim.ok() || !slot.first->Complete(claim->ticket, kOutcome).ok()) std::abort();
    }
    slot.second = static_cast<double>(ResidentBytes() - before) / static_cast<double>(n);
  }
  if (bytes_per_key != nullptr) *bytes_per_key = slot.second;
  return *slot.first;
}

Baseline& FilledBaseline(int64_t n, double* bytes_per_key = nullptr) {
  static std::map<int64_t, std::pair<std::unique_ptr<Baseline>, double>> maps;
  auto& slot = maps[n];
  if (!slot.first) {
    const size_t before = ResidentBytes();
    slot.first = std::make_unique<Baseline>();
    slot.first->map.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      slot.first->map.emplace("acct_1/" + KeyOf(static_cast<uint64_t>(i)),
                              BaselineEntry{kFingerprint, kOutcome, 0});
    }
    slot.second = static_cast<double>(ResidentBytes() - before) / static_cast<double>(n);
  }
  if (bytes_per_key != nullptr) *bytes_per_key = slot.second;
  return *slot.first;
}

std::vector<std::string> RandomExistingKeys(int64_t n, size_t count, uint64_t seed) {
  keel::base::Random rng(seed);
  std::vector<std::string> keys(count);
  for (std::string& k : keys) k = KeyOf(rng.Uniform(static_cast<uint64_t>(n)));
  return keys;
}

// Fresh keys, never used before in this process (indexes past every fill).
std::vector<std::string> FreshKeys(size_t count) {
  static uint64_t next = uint64_t{1} << 40;
  std::vector<std::string> keys(count);
  for (std::string& k : keys) k = KeyOf(next++);
  return keys;
}

void Percentiles(benchmark::State& state, std::vector<int64_t>& ns, const char* name) {
  if (ns.empty()) return;
  std::sort(ns.begin(), ns.end());
  state.counters[std::string(name) + "_p50_ns"] = static_cast<double>(ns[ns.size() / 2]);
  state.counters[std::string(name) + "_p99_ns"] = static_cast<double>(ns[ns.size() * 99 / 100]);
}

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void BM_KeyStoreReplay(benchmark::State& state) {
  const int64_t n = Keys(state);
  double bytes_per_key = 0;
  KeyStore& keys = FilledStore(n, &bytes_per_key);
  const std::vector<std::string> order = RandomExistingKeys(n, 1 << 20, 1);
  size_t i = 0;
  for (auto _ : state) {
    auto claim = keys.Begin("acct_1", order[i++ & (order.size() - 1)], kFingerprint);
    if (!claim.ok() || claim->verdict != Verdict::kReplay) state.SkipWithError("not a replay");
    benchmark::DoNotOptimize(claim);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_per_key"] = bytes_per_key;
}
BENCHMARK(BM_KeyStoreReplay)->Arg(1'000'000)->Arg(10'000'000);

void BM_KeyStoreReplayBaseline(benchmark::State& state) {
  const int64_t n = Keys(state);
  double bytes_per_key = 0;
  Baseline& baseline = FilledBaseline(n, &bytes_per_key);
  std::vector<std::string> order = RandomExistingKeys(n, 1 << 20, 1);
  for (std::string& k : order) k = "acct_1/" + k;
  size_t i = 0;
  for (auto _ : state) {
    std::string outcome;
    {
      std::lock_guard lock(baseline.mu);
      auto it = baseline.map.find(order[i++ & (order.size() - 1)]);
      if (it == baseline.map.end() || it->second.fingerprint != kFingerprint) std::abort();
      outcome = it->second.outcome;
    }
    benchmark::DoNotOptimize(outcome);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_per_key"] = bytes_per_key;
}
BENCHMARK(BM_KeyStoreReplayBaseline)->Arg(1'000'000)->Arg(10'000'000);

void BM_KeyStoreInsert(benchmark::State& state) {
  KeyStore& keys = FilledStore(Keys(state));
  std::vector<std::string> fresh;
  size_t i = 0;
  for (auto _ : state) {
    if (i == fresh.size()) {
      state.PauseTiming();
      fresh = FreshKeys(1 << 16);
      i = 0;
      state.ResumeTiming();
    }
    auto claim = keys.Begin("acct_1", fresh[i++], kFingerprint);
    if (!claim.ok() || !keys.Complete(claim->ticket, kOutcome).ok()) state.SkipWithError("full");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KeyStoreInsert)->Arg(1'000'000)->Arg(10'000'000);

void BM_KeyStoreInsertBaseline(benchmark::State& state) {
  Baseline& baseline = FilledBaseline(Keys(state));
  std::vector<std::string> fresh;
  size_t i = 0;
  for (auto _ : state) {
    if (i == fresh.size()) {
      state.PauseTiming();
      fresh = FreshKeys(1 << 16);
      for (std::string& k : fresh) k = "acct_1/" + k;
      i = 0;
      state.ResumeTiming();
    }
    std::lock_guard lock(baseline.mu);
    auto [it, inserted] = baseline.map.try_emplace(fresh[i++], BaselineEntry{kFingerprint, {}, 0});
    if (!inserted) std::abort();
    it->second.outcome = kOutcome;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KeyStoreInsertBaseline)->Arg(1'000'000)->Arg(10'000'000);

// Every operation timed on its own: a lookup of a random existing key, then an insert of a new
// one, alternating. p50 and p99 include the clock reads (~20 ns each on this machine).
// `lookup(key)` and `insert(key)` run one operation on the structure under test.
template <typename Lookup, typename Insert>
void TimeEachOperation(benchmark::State& state, const std::string& prefix, Lookup lookup,
                       Insert insert) {
  const int64_t n = Keys(state);
  const size_t ops = kSmoke ? 1'000 : 200'000;
  std::vector<std::string> lookups = RandomExistingKeys(n, ops, 2);
  for (std::string& k : lookups) k = prefix + k;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<std::string> fresh = FreshKeys(ops);
    for (std::string& k : fresh) k = prefix + k;
    std::vector<int64_t> lookup_ns, insert_ns;
    lookup_ns.reserve(ops);
    insert_ns.reserve(ops);
    state.ResumeTiming();
    for (size_t i = 0; i < ops; ++i) {
      int64_t t0 = Now();
      lookup(lookups[i]);
      int64_t t1 = Now();
      lookup_ns.push_back(t1 - t0);
      t0 = Now();
      insert(fresh[i]);
      t1 = Now();
      insert_ns.push_back(t1 - t0);
    }
    state.PauseTiming();
    Percentiles(state, lookup_ns, "lookup");
    Percentiles(state, insert_ns, "insert");
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(2 * ops));
}

// The traffic an idempotency store sees: every request brings a new key, and a retry comes soon
// after the request it repeats (Stripe's client libraries retry after 0.5 s, 1 s, 2 s...). Each
// step inserts a fresh key, then looks up one inserted within the last `window` steps (the
// benchmark's second argument: 10,000 steps is a second at 10,000 requests per second), each
// operation timed on its own.

template <typename Lookup, typename Insert>
void TimeRecentRetries(benchmark::State& state, const std::string& prefix, Lookup lookup,
                       Insert insert) {
  const auto window = static_cast<size_t>(state.range(1));
  const size_t ops = kSmoke ? 2 * window : 200'000 + window;
  keel::base::Random rng(3);
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<std::string> fresh = FreshKeys(ops);
    for (std::string& k : fresh) k = prefix + k;
    std::vector<size_t> retry_of(ops);
    for (size_t i = 0; i < ops; ++i) retry_of[i] = i - std::min(i, 1 + rng.Uniform(window));
    std::vector<int64_t> lookup_ns, insert_ns;
    lookup_ns.reserve(ops);
    insert_ns.reserve(ops);
    // The first window of requests only fills the window: nothing is retried yet.
    for (size_t i = 0; i < window; ++i) insert(fresh[i]);
    state.ResumeTiming();
    for (size_t i = window; i < ops; ++i) {
      int64_t t0 = Now();
      insert(fresh[i]);
      int64_t t1 = Now();
      insert_ns.push_back(t1 - t0);
      t0 = Now();
      lookup(fresh[retry_of[i]]);
      t1 = Now();
      lookup_ns.push_back(t1 - t0);
    }
    state.PauseTiming();
    Percentiles(state, lookup_ns, "retry");
    Percentiles(state, insert_ns, "insert");
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(2 * (ops - window)));
}

// The machine's floor for any structure larger than its caches: one dependent read at a random
// place in 1 GiB (about what 10M keys occupy), on 2 MiB pages as the store's own memory, timed
// as a chain of reads through a random cycle of cache lines.
void BM_DramRandomRead(benchmark::State& state) {
  const size_t bytes = kSmoke ? size_t{4} << 20 : size_t{1} << 30;
  const size_t lines = bytes / 64;
  char* memory = keel::base::internal::MapHugePages(bytes);
  if (memory == nullptr) {
    state.SkipWithError("mmap failed");
    return;
  }
  auto* next = reinterpret_cast<uint64_t*>(memory);
  std::vector<uint32_t> order(lines);
  for (size_t i = 0; i < lines; ++i) order[i] = static_cast<uint32_t>(i);
  keel::base::Random rng(4);
  for (size_t i = lines - 1; i > 0; --i) std::swap(order[i], order[rng.Uniform(i + 1)]);
  for (size_t i = 0; i < lines; ++i) next[order[i] * 8] = order[(i + 1) % lines] * 8;
  uint64_t at = 0;
  for (auto _ : state) {
    at = next[at];
    benchmark::DoNotOptimize(at);
  }
  keel::base::internal::UnmapHugePages(memory, bytes);
}
BENCHMARK(BM_DramRandomRead);

// The timer's own cost: two clock reads around nothing, as the latency benchmarks take them.
void BM_TimerOverhead(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<int64_t> ns;
    ns.reserve(200'000);
    for (int i = 0; i < 200'000; ++i) {
      const int64_t t0 = Now();
      const int64_t t1 = Now();
      ns.push_back(t1 - t0);
    }
    Percentiles(state, ns, "empty");
  }
}
BENCHMARK(BM_TimerOverhead)->Iterations(1);

// One retry's lookup and one new key's insert, on the store and on the baseline.
void StoreLookup(KeyStore& keys, const std::string& key) {
  auto claim = keys.Begin("acct_1", key, kFingerprint);
  if (!claim.ok() || claim->verdict != Verdict::kReplay) std::abort();
  benchmark::DoNotOptimize(claim);
}

void StoreInsert(KeyStore& keys, const std::string& key) {
  auto claim = keys.Begin("acct_1", key, kFingerprint);
  if (!claim.ok() || !keys.Complete(claim->ticket, kOutcome).ok()) std::abort();
}

void BaselineLookup(Baseline& baseline, const std::string& key) {
  std::string outcome;
  {
    std::lock_guard lock(baseline.mu);
    auto it = baseline.map.find(key);
    if (it == baseline.map.end() || it->second.fingerprint != kFingerprint) std::abort();
    outcome = it->second.outcome;
  }
  benchmark::DoNotOptimize(outcome);
}

void BaselineInsert(Baseline& baseline, const std::string& key) {
  std::lock_guard lock(baseline.mu);
  auto [it, inserted] = baseline.map.try_emplace(key, BaselineEntry{kFingerprint, {}, 0});
  if (!inserted) std::abort();
  it->second.outcome = kOutcome;
}

void BM_KeyStoreLatency(benchmark::State& state) {
  KeyStore& keys = FilledStore(Keys(state));
  TimeEachOperation(
      state, "", [&](const std::string& key) { StoreLookup(keys, key); },
      [&](const std::string& key) { StoreInsert(keys, key); });
}
BENCHMARK(BM_KeyStoreLatency)->Arg(1'000'000)->Arg(10'000'000)->Iterations(1);

void BM_KeyStoreLatencyBaseline(benchmark::State& state) {
  Baseline& baseline = FilledBaseline(Keys(state));
  TimeEachOperation(
      state, "acct_1/", [&](const std::string& key) { BaselineLookup(baseline, key); },
      [&](const std::string& key) { BaselineInsert(baseline, key); });
}
BENCHMARK(BM_KeyStoreLatencyBaseline)->Arg(1'000'000)->Arg(10'000'000)->Iterations(1);

void BM_KeyStoreRecentRetries(benchmark::State& state) {
  KeyStore& keys = FilledStore(Keys(state));
  TimeRecentRetries(
      state, "", [&](const std::string& key) { StoreLookup(keys, key); },
      [&](const std::string& key) { StoreInsert(keys, key); });
}
BENCHMARK(BM_KeyStoreRecentRetries)
    ->ArgsProduct({{10'000'000}, {100, 1'000, 10'000}})
    ->Iterations(1);

void BM_KeyStoreRecentRetriesBaseline(benchmark::State& state) {
  Baseline& baseline = FilledBaseline(Keys(state));
  TimeRecentRetries(
      state, "acct_1/", [&](const std::string& key) { BaselineLookup(baseline, key); },
      [&](const std::string& key) { BaselineInsert(baseline, key); });
}
BENCHMARK(BM_KeyStoreRecentRetriesBaseline)
    ->ArgsProduct({{10'000'000}, {100, 1'000, 10'000}})
    ->Iterations(1);

}  // namespace
