// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel's Random (xoshiro256**) against the standard library's std::mt19937_64 and its
// distributions, which is what simulations and tests reach for by default.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>

#include "keel/base/random.h"

namespace keel::base {
namespace {

void BM_RandomNext(benchmark::State& state) {
  Random rng(1);
  for (auto _ : state) benchmark::DoNotOptimize(rng.Next());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_Mt19937_64Baseline(benchmark::State& state) {
  std::mt19937_64 rng(1);
  for (auto _ : state) benchmark::DoNotOptimize(rng());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_RandomUniform(benchmark::State& state) {
  Random rng(1);
  const auto n = static_cast<uint64_t>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(rng.Uniform(n));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_StdUniformIntBaseline(benchmark::State& state) {
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<uint64_t> dist(0, static_cast<uint64_t>(state.range(0)) - 1);
  for (auto _ : state) benchmark::DoNotOptimize(dist(rng));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK(BM_RandomNext);
BENCHMARK(BM_Mt19937_64Baseline);
BENCHMARK(BM_RandomUniform)->Arg(6)->Arg(1'000'000'007);
BENCHMARK(BM_StdUniformIntBaseline)->Arg(6)->Arg(1'000'000'007);

void BM_RandomUniformDouble(benchmark::State& state) {
  Random rng(1);
  for (auto _ : state) benchmark::DoNotOptimize(rng.UniformDouble());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_StdUniformRealBaseline(benchmark::State& state) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> dist(0.0, 1.0);
  for (auto _ : state) benchmark::DoNotOptimize(dist(rng));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK(BM_RandomUniformDouble);
BENCHMARK(BM_StdUniformRealBaseline);

}  // namespace
}  // namespace keel::base
