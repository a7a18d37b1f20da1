// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Per-client rate limiting, as a gateway does it for every order: RateLimiter::TryAcquire (GCRA,
// one int64 per client in an absl::flat_hash_map) against the textbook token bucket in a
// std::unordered_map (a double token count and the time of the last refill per client), on the
// same stream of requests from 10,000 clients, a few of them over their rate. The allowed_fraction
// counters show the two making the same decisions (the baseline up to its floating point).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "common/naive_token_bucket.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/ratelimit/token_bucket.h"

namespace keel::ratelimit {
namespace {

constexpr Rate kRate{.interval_ns = 10 * base::kNanosPerMilli, .burst = 20};
constexpr size_t kClients = 10'000;
constexpr size_t kRequests = 1 << 20;

struct Request {
  int64_t time_ns;
  uint64_t client;
};

// Requests 1 µs apart on average from clients drawn with a skew (a few busy clients exceed the
// rate; most do not).
const std::vector<Request>& Requests() {
  static const std::vector<Request> requests = [] {
    base::Random rng(42);
    std::vector<Request> out;
    int64_t now = base::kNanosPerSecond;
    for (size_t i = 0; i < kRequests; ++i) {
      now += static_cast<int64_t>(rng.Uniform(2000));
      const uint64_t client =
          rng.Uniform(4) == 0 ? rng.Uniform(10) : rng.Uniform(kClients);  // a quarter: 10 clients
      out.push_back({now, client});
    }
    return out;
  }();
  return requests;
}

void BM_RateLimiter_Keel(benchmark::State& state) {
  const std::vector<Request>& requests = Requests();
  size_t allowed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    base::ManualClock clock(0);
    auto limiter = *RateLimiter::Create(kRate, clock);
    allowed = 0;
    state.ResumeTiming();
    for (const Request& r : requests) {
      clock.Set(r.time_ns);
      allowed += limiter.TryAcquire(r.client).allowed;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(requests.size()));
  state.counters["allowed_fraction"] =
      static_cast<double>(allowed) / static_cast<double>(requests.size());
}

void BM_RateLimiter_UnorderedMapBaseline(benchmark::State& state) {
  const std::vector<Request>& requests = Requests();
  size_t allowed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto baseline = std::make_unique<bench::NaiveTokenBuckets>(kRate);
    allowed = 0;
    state.ResumeTiming();
    for (const Request& r : requests) allowed += baseline->TryAcquire(r.client, r.time_ns);
    state.PauseTiming();
    baseline.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(requests.size()));
  state.counters["allowed_fraction"] =
      static_cast<double>(allowed) / static_cast<double>(requests.size());
}

BENCHMARK(BM_RateLimiter_Keel)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RateLimiter_UnorderedMapBaseline)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace keel::ratelimit
