// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The cost of keel's error channel: a three-deep call chain that parses digits, written with
// absl::StatusOr and KEEL_ASSIGN_OR_RETURN, against the same chain with bool returns and out
// parameters. Both on the success path and on the failure path (which builds a message).
#include <benchmark/benchmark.h>

#include <string_view>

#include "keel/base/status.h"

namespace keel::base {
namespace {

[[gnu::noinline]] absl::StatusOr<int> Digit(char c) {
  if (c < '0' || c > '9') return absl::InvalidArgumentError("not a digit");
  return c - '0';
}

[[gnu::noinline]] absl::StatusOr<int> TwoDigits(std::string_view s) {
  KEEL_ASSIGN_OR_RETURN(const int tens, Digit(s[0]));
  KEEL_ASSIGN_OR_RETURN(const int ones, Digit(s[1]));
  return tens * 10 + ones;
}

[[gnu::noinline]] absl::StatusOr<int> FourDigits(std::string_view s) {
  KEEL_ASSIGN_OR_RETURN(const int high, TwoDigits(s.substr(0, 2)));
  KEEL_ASSIGN_OR_RETURN(const int low, TwoDigits(s.substr(2, 2)));
  return high * 100 + low;
}

[[gnu::noinline]] bool DigitBool(char c, int* out) {
  if (c < '0' || c > '9') return false;
  *out = c - '0';
  return true;
}

[[gnu::noinline]] bool TwoDigitsBool(std::string_view s, int* out) {
  int tens;
  int ones;
  if (!DigitBool(s[0], &tens) || !DigitBool(s[1], &ones)) return false;
  *out = tens * 10 + ones;
  return true;
}

[[gnu::noinline]] bool FourDigitsBool(std::string_view s, int* out) {
  int high;
  int low;
  if (!TwoDigitsBool(s.substr(0, 2), &high) || !TwoDigitsBool(s.substr(2, 2), &low)) return false;
  *out = high * 100 + low;
  return true;
}

// range(0): 1 parses "1234" (success), 0 parses "12x4" (fails in the third digit).
std::string_view Input(const benchmark::State& state) { return state.range(0) ? "1234" : "12x4"; }

void BM_StatusOrChain(benchmark::State& state) {
  const std::string_view input = Input(state);
  for (auto _ : state) {
    benchmark::DoNotOptimize(input.data());
    absl::StatusOr<int> v = FourDigits(input);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_BoolOutParamChainBaseline(benchmark::State& state) {
  const std::string_view input = Input(state);
  for (auto _ : state) {
    benchmark::DoNotOptimize(input.data());
    int v = 0;
    bool ok = FourDigitsBool(input, &v);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK(BM_StatusOrChain)->ArgName("ok")->Arg(1)->Arg(0);
BENCHMARK(BM_BoolOutParamChainBaseline)->ArgName("ok")->Arg(1)->Arg(0);

}  // namespace
}  // namespace keel::base
