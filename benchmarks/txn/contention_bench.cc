// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The hotel case study's contention workload (examples/hotel_reservation/contention.h) for each
// concurrency approach at 1, 2, 4, 8 and 16 client threads: 40,000 bookings of 1-3 rooms for 1-4
// nights of one room type over 14 nights holding 10,000 rooms each (11,000 with overbooking), so
// that about three quarters of the demand fits and the rooms are fought over to the end. The
// baseline is one std::mutex around a std::map of the rows (global-mutex).
//
// Each iteration is one run, timed by the workload itself (set-up excluded: manual time).
// Counters: items_per_second (bookings decided per second, booked or sold out), retries and
// deadlocks per booking, p50 and p99 latency of one booking in microseconds (retries included),
// and the fraction of bookings that succeeded.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "hotel_reservation/contention.h"

namespace keel::examples::hotel {
namespace {

const bool kSmoke = std::getenv("KEEL_BENCH_SMOKE") != nullptr;

void BM_Contention(benchmark::State& state, Approach approach) {
  ContentionOptions options;
  options.threads = static_cast<int>(state.range(0));
  const int total_bookings = kSmoke ? 64 : 40'000;
  options.bookings_per_thread = total_bookings / options.threads;
  options.dates = 14;
  options.total_inventory = 10'000;
  options.max_rooms = 3;
  options.max_nights = 4;
  double retries = 0;
  double deadlocks = 0;
  double p50_us = 0;
  double p99_us = 0;
  double booked = 0;
  int64_t attempted = 0;
  uint64_t seed = 1;
  for (auto _ : state) {
    options.seed = seed++;  // the same sequence of workloads for every approach
    const absl::StatusOr<ApproachResult> r = RunApproach(options, approach);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    state.SetIterationTime(static_cast<double>(r->elapsed_ns) / 1e9);
    attempted += r->attempted;
    retries += static_cast<double>(r->retries) / static_cast<double>(r->attempted);
    deadlocks += static_cast<double>(r->deadlocks) / static_cast<double>(r->attempted);
    p50_us += static_cast<double>(r->latency_ns_p50) / 1e3;
    p99_us += static_cast<double>(r->latency_ns_p99) / 1e3;
    booked += static_cast<double>(r->booked) / static_cast<double>(r->attempted);
  }
  const auto n = static_cast<double>(state.iterations());
  state.SetItemsProcessed(attempted);
  state.counters["retries_per_booking"] = retries / n;
  state.counters["deadlocks_per_booking"] = deadlocks / n;
  state.counters["p50_us"] = p50_us / n;
  state.counters["p99_us"] = p99_us / n;
  state.counters["booked_fraction"] = booked / n;
}

void ThreadCounts(benchmark::internal::Benchmark* b) {
  for (int threads : {1, 2, 4, 8, 16}) b->Arg(threads);
  b->ArgName("threads")->UseManualTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK_CAPTURE(BM_Contention, Optimistic, Approach::kOptimistic)->Apply(ThreadCounts);
BENCHMARK_CAPTURE(BM_Contention, Pessimistic, Approach::kPessimistic)->Apply(ThreadCounts);
BENCHMARK_CAPTURE(BM_Contention, PessimisticUnordered, Approach::kPessimisticUnordered)
    ->Apply(ThreadCounts);
BENCHMARK_CAPTURE(BM_Contention, Constraint, Approach::kConstraint)->Apply(ThreadCounts);
BENCHMARK_CAPTURE(BM_Contention, Sqlite, Approach::kSqlite)->Apply(ThreadCounts);
BENCHMARK_CAPTURE(BM_Contention, GlobalMutexBaseline, Approach::kGlobalMutex)->Apply(ThreadCounts);

}  // namespace
}  // namespace keel::examples::hotel
