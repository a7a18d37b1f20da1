// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What reading the time through keel's Clock interface costs, against calling
// std::chrono::steady_clock directly: the price of making time injectable.
#include <benchmark/benchmark.h>

#include <chrono>

#include "keel/base/clock.h"

namespace keel::base {
namespace {

// Reached through a reference to the interface, as a primitive holding a `const Clock&` would.
void BM_ClockNowMonotonic(benchmark::State& state) {
  const Clock& clock = MonotonicClock::Default();
  benchmark::DoNotOptimize(&clock);
  for (auto _ : state) benchmark::DoNotOptimize(clock.NowNanos());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_ClockNowManual(benchmark::State& state) {
  ManualClock manual(0);
  const Clock* clock = &manual;
  benchmark::DoNotOptimize(clock);
  for (auto _ : state) benchmark::DoNotOptimize(clock->NowNanos());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_SteadyClockNowBaseline(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(std::chrono::steady_clock::now());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK(BM_ClockNowMonotonic);
BENCHMARK(BM_ClockNowManual);
BENCHMARK(BM_SteadyClockNowBaseline);

}  // namespace
}  // namespace keel::base
