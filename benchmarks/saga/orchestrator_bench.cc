// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Saga step transitions per second: keel's orchestrator against a hand-written state machine
// doing the same steps, in the same run. Items are transitions: a saga of k steps whose actions
// all succeed makes k + 1 of them (started, then one per step), each a record that the
// orchestrator decides, logs (when durable) and applies, and most of them a participant call.
//
//   BM_Transitions_Keel/<steps>/<sagas>            in memory: Start `sagas` sagas of `steps`
//                                                  steps, then Poll until all completed; the
//                                                  participants answer inline (Completion::Done
//                                                  from inside the call), so this is the
//                                                  machinery alone: the inbox, the timer heap
//                                                  (every call sets and cancels a timeout), the
//                                                  state machine, the history ring.
//   BM_Transitions_SwitchBaseline/<steps>/<sagas>  the same sagas as a switch over an enum per
//                                                  saga and a std::function call per step, with
//                                                  no timers, history, ids or keys: the floor.
//   BM_Transitions_Durable/<sagas>                 4-step sagas on a real directory with
//                                                  SyncPolicy::kEveryAppend: each Start is one
//                                                  fsync (it returns once durable), and each Poll
//                                                  round's transitions, one per live saga, are
//                                                  one group commit (one fsync).
//
// The durable figures depend on the disk (the directory is $KEEL_BENCH_DIR, else the system's
// temporary directory; on tmpfs an fsync costs nothing).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/scratch_dir.h"
#include "keel/base/strings.h"
#include "keel/saga/orchestrator.h"

namespace keel::saga {
namespace {

SagaDefinition InlineDefinition(int64_t steps) {
  SagaDefinition definition;
  definition.name = "bench";
  for (int64_t i = 0; i < steps; ++i) {
    Step step;
    step.name = base::Cat("s", i);
    step.action = [](const StepContext&, Completion done) { done.Done(StepResult::Success()); };
    step.compensation = [](const StepContext&, Completion done) {
      done.Done(StepResult::Success());
    };
    definition.steps.push_back(std::move(step));
  }
  return definition;
}

std::vector<std::string> Ids(int64_t sagas) {
  std::vector<std::string> ids;
  for (int64_t i = 0; i < sagas; ++i) ids.push_back(base::Cat("reservation-", 100000 + i));
  return ids;
}

void RunBatches(benchmark::State& state, Orchestrator& orchestrator,
                const std::vector<std::string>& ids) {
  for (auto _ : state) {
    for (const std::string& id : ids) {
      if (!orchestrator.Start(id, "bench", "").ok()) state.SkipWithError("Start failed");
    }
    if (!orchestrator.Poll().ok()) state.SkipWithError("Poll failed");
  }
  const OrchestratorStats stats = orchestrator.stats();
  if (stats.completed != static_cast<uint64_t>(state.iterations()) * ids.size()) {
    state.SkipWithError("not every saga completed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(stats.transitions));
}

void BM_Transitions_Keel(benchmark::State& state) {
  OrchestratorOptions options;
  options.max_finished_sagas = 0;  // forgotten at once, so the ids can be used again
  auto orchestrator = Orchestrator::Open(options, {InlineDefinition(state.range(0))});
  if (!orchestrator.ok()) {
    state.SkipWithError(std::string(orchestrator.status().message()).c_str());
    return;
  }
  RunBatches(state, **orchestrator, Ids(state.range(1)));
}
BENCHMARK(BM_Transitions_Keel)->Args({4, 1})->Args({4, 1000})->Args({16, 1000});

// The baseline: a saga is a step counter and a state; a step is a std::function call that
// answers through a callback.
void BM_Transitions_SwitchBaseline(benchmark::State& state) {
  enum class SagaState : uint8_t { kRunning, kCompleted, kCompensating, kCompensated };
  struct Saga {
    SagaState state = SagaState::kRunning;
    uint32_t step = 0;
  };
  using Callback = std::function<void(bool ok)>;
  const int64_t steps = state.range(0);
  std::vector<std::function<void(Callback)>> actions(static_cast<size_t>(steps),
                                                     [](const Callback& done) { done(true); });
  std::vector<Saga> sagas(static_cast<size_t>(state.range(1)));
  int64_t transitions = 0;
  for (auto _ : state) {
    for (Saga& saga : sagas) {
      saga = Saga{};
      ++transitions;  // started
      while (saga.state == SagaState::kRunning) {
        bool ok = false;
        actions[saga.step]([&](bool answer) { ok = answer; });
        ++transitions;
        switch (saga.state) {
          case SagaState::kRunning:
            if (!ok) {
              saga.state = SagaState::kCompensating;
            } else if (++saga.step == static_cast<uint32_t>(steps)) {
              saga.state = SagaState::kCompleted;
            }
            break;
          case SagaState::kCompensating:
          case SagaState::kCompleted:
          case SagaState::kCompensated:
            break;
        }
      }
      benchmark::DoNotOptimize(saga);
    }
  }
  state.SetItemsProcessed(transitions);
}
BENCHMARK(BM_Transitions_SwitchBaseline)->Args({4, 1})->Args({4, 1000})->Args({16, 1000});

void BM_Transitions_Durable(benchmark::State& state) {
  static bench::ScratchDir dir("saga");  // one per run: its path goes in the context once
  OrchestratorOptions options;
  options.dir = dir.NewPath("sagas");
  options.max_finished_sagas = 0;
  options.checkpoint_interval_records = 1 << 16;
  auto orchestrator = Orchestrator::Open(options, {InlineDefinition(4)});
  if (!orchestrator.ok()) {
    state.SkipWithError(std::string(orchestrator.status().message()).c_str());
    return;
  }
  RunBatches(state, **orchestrator, Ids(state.range(0)));
}
BENCHMARK(BM_Transitions_Durable)->Arg(1)->Arg(100)->Arg(1000)->UseRealTime();

}  // namespace
}  // namespace keel::saga
