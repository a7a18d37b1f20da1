// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The orchestrator against the reference model (saga_testing.h's Reference, a sequential
// interpreter of the semantics) under random participant failures, losses and late answers,
// many sagas at once, in memory and on a log with frequent checkpoints and restarts.
#include "keel/base/random.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
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
      const int64_t until =
          clock.NowNanos() + static_cast<int64_t>(random.Uniform(20)) * base::kNanosPerMilli;
      REQUIRE(testing::RunUntil(*orchestrator, network, until).ok());
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

TEST_CASE("Checkpoints keep the log short while sagas come and go") {
  const uint64_t seed = keel::testing::TestSeed(1403);
  CAPTURE(seed);
  testing::World world(seed, testing::Mix{}, testing::Mix{});
  testing::Sim sim(seed, 3, world);
  wal::MemoryFileSystem fs;
  OrchestratorOptions options;
  options.clock = &sim.clock;
  options.dir = "/sagas";
  options.log.file_system = &fs;
  options.log.max_segment_bytes = 4096;
  options.log.max_record_bytes = 2048;
  options.log.preallocate_bytes = 0;
  options.max_input_bytes = 64;
  options.max_output_bytes = 64;
  options.max_message_bytes = 64;
  options.max_finished_sagas = 8;
  options.checkpoint_interval_records = 50;
  auto opened = Orchestrator::Open(options, sim.definitions);
  REQUIRE_MESSAGE(opened.ok(), opened.status());
  size_t most_segments = 0;
  for (int i = 0; i < 300; ++i) {
    REQUIRE((*opened)->Start(base::Cat("s", i), sim.definitions[i % 3].name, "").ok());
    REQUIRE(testing::Drive(**opened, sim.network).ok());
    const auto names = fs.List("/sagas/log");
    REQUIRE(names.ok());
    size_t segments = 0;
    for (const std::string& name : *names) segments += name.ends_with(".wal") ? 1 : 0;
    most_segments = std::max(most_segments, segments);
  }
  CHECK((*opened)->stats().checkpoints >= 5);
  // 50 records of at most ~200 bytes span at most 4 segments of 4 KiB, plus the active one.
  CHECK(most_segments <= 5);
  const SagaInfo last = *(*opened)->Inspect("s299");
  opened->reset();
  SagaRecoveryReport report;
  auto reopened = Orchestrator::Open(options, sim.definitions, &report);
  REQUIRE_MESSAGE(reopened.ok(), reopened.status());
  CHECK(report.checkpoint_found);
  CHECK(report.records_replayed < 50);
  CHECK(report.finished_sagas == 8);
  CHECK(testing::Summary(*(*reopened)->Inspect("s299")) == testing::Summary(last));
  CHECK((*reopened)->stats().finished == 8);  // the others were forgotten (or are stuck)
}

TEST_CASE("Open refuses recovered sagas whose definition is gone or changed") {
  wal::MemoryFileSystem fs;
  OrchestratorOptions options;
  options.dir = "/sagas";
  options.log.file_system = &fs;
  const StepFunction never = [](const StepContext&, Completion) {};
  SagaDefinition definition{.name = "d", .steps = {Step{.name = "a", .action = never}}};
  {
    auto opened = Orchestrator::Open(options, {definition});
    REQUIRE(opened.ok());
    REQUIRE((*opened)->Start("r", "d", "").ok());
  }
  const auto gone = Orchestrator::Open(options, {});
  CHECK(gone.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(gone.status().message(), "\"d\""));
  definition.steps.push_back(Step{.name = "b", .action = never});
  const auto changed = Orchestrator::Open(options, {definition});
  CHECK(changed.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(changed.status().message(), "now has 2"));
  options.log.max_record_bytes = 1024;  // too small for a 64 KiB input
  const auto small = Orchestrator::Open(options, {definition});
  CHECK(small.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(small.status().message(), "max_record_bytes 1024"));
}

}  // namespace
}  // namespace keel::saga
