// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The orchestrator against the reference model (saga_testing.h's Reference, a sequential
// interpreter of the semantics) under random participant failures, losses and late answers,
// many sagas at once, in memory and on a log with frequent checkpoints and restarts.
#include "keel/base/random.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "keel/saga/orchestrator.h"
#include "keel/wal/memory_file_system.h"
#include "saga/saga_testing.h"
#include "testing/testing.h"

namespace keel::saga {
namespace {

using testing::Expected;

struct Run {
  uint64_t seed = 0;
  size_t sagas = 0;
  bool durable = false;
  uint64_t checkpoint_interval = 0;
  int restarts = 0;  // clean restarts part-way
};

// Runs `run.sagas` random sagas to the end and checks each against the oracle.
void CheckRun(const Run& run) {
  CAPTURE(run.seed);
  CAPTURE(run.durable);
  testing::World world(run.seed, testing::Mix{}, testing::Mix{.fail = 0.3, .non_retryable = 0.02});
  testing::Sim sim(run.seed, 6, world);
  base::ManualClock& clock = sim.clock;
  testing::Network& network = sim.network;
  const std::vector<SagaDefinition>& definitions = sim.definitions;
  base::Random random(run.seed, /*stream=*/2);
  wal::MemoryFileSystem fs;
  OrchestratorOptions options;
  options.clock = &clock;
  options.seed = run.seed;
  if (run.durable) {
    options.dir = "/sagas";
    options.log.file_system = &fs;
    options.log.clock = &clock;
    options.log.salt = 1;
    options.checkpoint_interval_records = run.checkpoint_interval;
  }
  auto opened = Orchestrator::Open(options, definitions);
  REQUIRE_MESSAGE(opened.ok(), opened.status());
  std::unique_ptr<Orchestrator> orchestrator = std::move(*opened);
  std::vector<std::pair<std::string, const SagaDefinition*>> started;
  for (size_t i = 0; i < run.sagas; ++i) {
    const SagaDefinition& definition = definitions[random.Uniform(definitions.size())];
    const std::string id = base::Cat("saga-", i);
    REQUIRE(orchestrator->Start(id, definition.name, base::Cat("input ", i)).ok());
    started.emplace_back(id, &definition);
    // Let some run before the next starts, so that sagas overlap at every stage.
    if (random.Bernoulli(0.3)) {
      clock.Advance(static_cast<int64_t>(random.Uniform(20)) * base::kNanosPerMilli);
      network.DeliverDue();
      REQUIRE(orchestrator->Poll().ok());
    }
    if (run.restarts > 0 && i % (run.sagas / static_cast<size_t>(run.restarts) + 1) == 0 && i > 0) {
      // A clean restart: answers on their way are lost with the process that awaited them.
      orchestrator.reset();
      network.Clear();
      auto reopened = Orchestrator::Open(options, definitions);
      REQUIRE_MESSAGE(reopened.ok(), reopened.status());
      orchestrator = std::move(*reopened);
    }
  }
  const absl::Status driven = testing::Drive(*orchestrator, network);
  REQUIRE_MESSAGE(driven.ok(), driven);
  std::set<std::string> effects;
  for (const auto& [id, definition] : started) {
    const Expected expected = testing::Reference(*definition, id, world);
    const absl::Status status = testing::CheckAgainst(*orchestrator, id, expected);
    CHECK_MESSAGE(status.ok(), status);
    effects.insert(expected.effects.begin(), expected.effects.end());
  }
  CHECK(world.effects == effects);
  CHECK_MESSAGE(world.violations.empty(), world.violations.front());
  const OrchestratorStats stats = orchestrator->stats();
  CHECK(stats.live == stats.stuck);
}

TEST_CASE("Random sagas in memory end as the reference model says") {
  const uint64_t seed = keel::testing::TestSeed(1401);
  const uint64_t rounds = keel::testing::TestRounds("KEEL_SAGA_RANDOM_ROUNDS", 30);
  for (uint64_t i = 0; i < rounds; ++i) {
    CheckRun(Run{.seed = seed + i, .sagas = 40});
  }
}

TEST_CASE("Random sagas on a log with checkpoints and restarts end as the reference model says") {
  const uint64_t seed = keel::testing::TestSeed(1402);
  const uint64_t rounds = keel::testing::TestRounds("KEEL_SAGA_RANDOM_ROUNDS", 30);
  for (uint64_t i = 0; i < rounds; ++i) {
    CheckRun(Run{.seed = seed + i,
                 .sagas = 40,
                 .durable = true,
                 .checkpoint_interval = 1 + (seed + i) % 17,
                 .restarts = static_cast<int>((seed + i) % 4)});
  }
}

TEST_CASE("A saga stuck in a compensation survives restarts and checkpoints until dismissed") {
  base::ManualClock clock(0);
  wal::MemoryFileSystem fs;
  OrchestratorOptions options;
  options.clock = &clock;
  options.dir = "/sagas";
  options.log.file_system = &fs;
  options.checkpoint_interval_records = 2;
  SagaDefinition definition;
  definition.name = "d";
  const StepFunction ok = [](const StepContext&, Completion done) {
    done.Done(StepResult::Success());
  };
  const StepFunction declined = [](const StepContext&, Completion done) {
    done.Done(StepResult::NonRetryableFailure("Declined"));
  };
  definition.steps.push_back(Step{.name = "hold", .action = ok, .compensation = declined});
  definition.steps.push_back(Step{.name = "charge", .action = declined});
  for (int round = 0; round < 3; ++round) {
    auto opened = Orchestrator::Open(options, {definition});
    REQUIRE_MESSAGE(opened.ok(), opened.status());
    if (round == 0) REQUIRE((*opened)->Start("r", "d", "").ok());
    REQUIRE((*opened)->Poll().ok());
    const SagaInfo info = *(*opened)->Inspect("r");
    CHECK(info.outcome == Outcome::kStuck);
    CHECK((*opened)->stats().stuck == 1);
    if (round == 2) REQUIRE((*opened)->Dismiss("r").ok());
  }
  auto opened = Orchestrator::Open(options, {definition});
  REQUIRE(opened.ok());
  CHECK((*opened)->Inspect("r")->dismissed);
  CHECK((*opened)->stats().stuck == 0);
  CHECK((*opened)->stats().live == 0);
}

}  // namespace
}  // namespace keel::saga
