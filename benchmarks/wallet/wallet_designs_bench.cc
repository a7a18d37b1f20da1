// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The digital wallet's designs side by side (examples/digital_wallet/designs.h): transfers per
// second on one workload, 100,000 wallets over 4 shards and 1,000,000 transfers, 10% of them
// across shards and 2% overdrawing, for
//
//   Baseline/unordered_map   a single std::unordered_map of balances, the transfers applied in a
//                            plain loop: no routing, no design machinery.
//   Design/<name>            each design through the runner, single thread: the time of the
//                            runner's transfer loop (routing, the protocol, recoveries), not of
//                            building the shards or checking the invariants (manual time).
//   Design/<name>/faults     the same with 1% of the cross-shard transfers given a fault from
//                            every point of the design, recovered 100 transfers later (and the
//                            invariants checked at the end only: a check during the run walks
//                            every wallet and leaves the caches cold for the transfers after it).
//   Design/2pc/fsync         two-phase commit with its decision log on disk ($KEEL_BENCH_DIR or
//                            the temporary directory): an fsync per commit and end record, on a
//                            5,000-transfer prefix of the workload.
//
// Same-shard transfers are one local transaction in every design, so the distributed designs'
// cost is in the 10% that cross: the counter cross_shard_per_s says how many of those per second.
// The workload is drawn before any timing. KEEL_BENCH_SMOKE=1 shrinks everything (CTest's run).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/scratch_dir.h"
#include "digital_wallet/designs.h"
#include "digital_wallet/designs_runner.h"
#include "keel/base/strings.h"

namespace {

using keel::examples::wallet::designs::DesignKind;
using keel::examples::wallet::designs::Faults;
using keel::examples::wallet::designs::Report;
using keel::examples::wallet::designs::Transfer;
using keel::examples::wallet::designs::Workload;
using keel::examples::wallet::designs::WorkloadOptions;

const bool kSmoke = std::getenv("KEEL_BENCH_SMOKE") != nullptr;

const Workload& TheWorkload() {
  static const Workload workload = [] {
    WorkloadOptions options;
    options.wallets = kSmoke ? 2'000 : 100'000;
    options.transfers = kSmoke ? 5'000 : 1'000'000;
    options.shards = 4;
    options.initial_balance = 10'000;
    options.max_amount = 2'000;
    options.cross_shard_fraction = 0.1;
    options.overdraw_fraction = 0.02;
    options.seed = 2028;
    absl::StatusOr<Workload> w = keel::examples::wallet::designs::MakeWorkload(options);
    if (!w.ok()) {
      std::fprintf(stderr, "workload: %s\n", w.status().ToString().c_str());
      std::abort();
    }
    return *std::move(w);
  }();
  return workload;
}

// The first `n` transfers of the workload, with its wallets.
const Workload& Prefix(uint64_t n) {
  static const Workload prefix = [n] {
    Workload w = TheWorkload();
    w.transfers.resize(std::min<uint64_t>(n, w.transfers.size()));
    w.cross_shard = 0;
    for (const Transfer& t : w.transfers) w.cross_shard += w.IsCrossShard(t);
    return w;
  }();
  return prefix;
}

void BM_Baseline(benchmark::State& state) {
  const Workload& w = TheWorkload();
  for (auto _ : state) {
    state.PauseTiming();
    std::unordered_map<uint32_t, int64_t> balances;
    balances.reserve(w.initial_balances.size());
    for (uint32_t id = 0; id < w.initial_balances.size(); ++id) {
      balances[id] = w.initial_balances[id];
    }
    state.ResumeTiming();
    int64_t committed = 0;
    for (const Transfer& t : w.transfers) {
      int64_t& payer = balances.find(t.from)->second;
      if (payer < t.amount) continue;
      payer -= t.amount;
      balances.find(t.to)->second += t.amount;
      ++committed;
    }
    benchmark::DoNotOptimize(committed);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(w.transfers.size()));
  state.counters["transfers_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * w.transfers.size()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Baseline)->Name("Baseline/unordered_map")->Unit(benchmark::kMillisecond);

void RunOne(benchmark::State& state, DesignKind kind, const Workload& w, const Faults& faults,
            bool on_disk) {
  keel::bench::ScratchDir* scratch = nullptr;
  std::unique_ptr<keel::bench::ScratchDir> owned;
  if (on_disk) {
    owned = std::make_unique<keel::bench::ScratchDir>("wallet_designs");
    scratch = owned.get();
  }
  Report report;
  double seconds = 0;
  for (auto _ : state) {
    keel::examples::wallet::designs::RunOptions options;
    if (scratch != nullptr) {
      options.log_dir = scratch->NewPath("run");
      std::filesystem::create_directories(options.log_dir);
    }
    auto design = keel::examples::wallet::designs::MakeDesign(kind, w, options);
    if (!design.ok()) {
      state.SkipWithError(design.status().ToString().c_str());
      return;
    }
    // Only the end-of-run checks: the ones during the run would leave the caches cold.
    absl::StatusOr<Report> r = keel::examples::wallet::designs::RunDesign(
        **design, w, faults, {.check_during_run = false});
    if (!r.ok() || !r->ok()) {
      state.SkipWithError(r.ok() ? r->violations.front().c_str() : r.status().ToString().c_str());
      return;
    }
    state.SetIterationTime(r->seconds);
    seconds += r->seconds;
    report = *std::move(r);
  }
  const auto iterations = static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(w.transfers.size()));
  state.counters["transfers_per_s"] =
      benchmark::Counter(iterations * static_cast<double>(w.transfers.size()) / seconds);
  state.counters["cross_shard_per_s"] =
      benchmark::Counter(iterations * static_cast<double>(w.cross_shard) / seconds);
  state.counters["committed"] = static_cast<double>(report.committed);
  state.counters["aborted"] = static_cast<double>(report.aborted);
  state.counters["faults"] = static_cast<double>(report.faults_injected);
  state.counters["blocked"] = static_cast<double>(report.blocked);
  state.counters["broken"] = static_cast<double>(report.broken);
}

void RegisterAll() {
  for (DesignKind kind : keel::examples::wallet::designs::kAllDesigns) {
    const std::string name(keel::examples::wallet::designs::DesignKindName(kind));
    benchmark::RegisterBenchmark(
        keel::base::Cat("Design/", name).c_str(),
        [kind](benchmark::State& state) { RunOne(state, kind, TheWorkload(), {}, false); })
        ->UseManualTime()
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond);
  }
  for (DesignKind kind :
       {DesignKind::kSharded, DesignKind::kTwoPhaseCommit, DesignKind::kTcc, DesignKind::kSaga}) {
    const std::string name(keel::examples::wallet::designs::DesignKindName(kind));
    benchmark::RegisterBenchmark(
        keel::base::Cat("Design/", name, "/faults").c_str(),
        [kind](benchmark::State& state) {
          RunOne(state, kind, TheWorkload(),
                 {.rate = 0.01, .seed = 5, .recovery_delay_transfers = 100}, false);
        })
        ->UseManualTime()
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("Design/2pc/fsync",
                               [](benchmark::State& state) {
                                 RunOne(state, DesignKind::kTwoPhaseCommit,
                                        Prefix(kSmoke ? 500 : 5'000), {}, true);
                               })
      ->UseManualTime()
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
}

const bool kRegistered = (RegisterAll(), true);

}  // namespace
