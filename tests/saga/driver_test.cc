// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel::saga::Driver in real time: sagas started from several threads, participants answering
// from worker threads after small delays, on a log; every saga ends as the reference model says.
// Runs under ThreadSanitizer.
#include "keel/saga/driver.h"

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "keel/base/random.h"
#include "keel/saga/orchestrator.h"
#include "saga/saga_testing.h"
#include "testing/testing.h"

namespace keel::saga {
namespace {

// Participants on worker threads: each call's behaviour comes from the same table as the
// oracle's (no losses: a real-time answer must never race its timeout here), its effect is
// applied under a lock, and the answer is given from a worker after a short sleep.
class Participants {
 public:
  Participants(uint64_t seed, size_t workers) : world_(seed, mix_, mix_) {
    for (size_t i = 0; i < workers; ++i) {
      threads_.emplace_back([this, i] { Work(i); });
    }
  }
  ~Participants() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (std::thread& thread : threads_) thread.join();
  }

  void Handle(const StepContext& context, Completion done) {
    const std::string key(context.idempotency_key);
    const testing::Behaviour behaviour =
        testing::BehaviourOf(world_.seed(), key, context.attempt, world_.mix(context.phase));
    std::lock_guard<std::mutex> lock(mu_);
    const bool applied = effects_.contains(key);
    StepResult result = StepResult::Success(context.phase == Phase::kAction ? testing::OutputOf(key)
                                                                            : std::string());
    if (behaviour == testing::Behaviour::kOk) {
      effects_.insert(key);
    } else if (!applied) {
      result = behaviour == testing::Behaviour::kFail
                   ? StepResult::Failure(testing::kBusy)
                   : StepResult::NonRetryableFailure(testing::kDeclined);
    }
    queue_.push_back({std::move(done), std::move(result)});
    cv_.notify_one();
  }

  const testing::World& world() const { return world_; }
  std::set<std::string> effects() {
    std::lock_guard<std::mutex> lock(mu_);
    return effects_;
  }

 private:
  void Work(size_t index) {
    base::Random random(index + 1);
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      auto [done, result] = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::microseconds(random.Uniform(500)));
      done.Done(std::move(result));
      lock.lock();
    }
  }

  testing::Mix mix_{.fail = 0.25, .non_retryable = 0.05, .lost = 0, .applied_lost = 0};
  testing::World world_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<Completion, StepResult>> queue_;
  std::set<std::string> effects_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

TEST_CASE("A driver runs sagas started from several threads to the reference outcomes") {
  const uint64_t seed = keel::testing::TestSeed(2401);
  CAPTURE(seed);
  keel::testing::TempDir temp;
  Participants participants(seed, 3);
  const StepFunction call = [&](const StepContext& context, Completion done) {
    participants.Handle(context, std::move(done));
  };
  std::vector<SagaDefinition> definitions;
  for (int d = 0; d < 2; ++d) {
    SagaDefinition definition;
    definition.name = base::Cat("d", d);
    for (int i = 0; i < 3; ++i) {
      Step step{.name = base::Cat("s", i), .action = call};
      step.retry = {.initial_interval_ns = base::kNanosPerMilli / 10,
                    .maximum_attempts = d == 0 ? 2u : 4u};
      step.compensation_retry = {.initial_interval_ns = base::kNanosPerMilli / 10,
                                 .maximum_interval_ns = base::kNanosPerMilli};
      step.timeout_ns = 60 * base::kNanosPerSecond;  // never: answers come within a millisecond
      if (i < 2) step.compensation = call;
      definition.steps.push_back(std::move(step));
    }
    definitions.push_back(std::move(definition));
  }
  std::atomic<int> finished{0};
  OrchestratorOptions options;
  options.dir = temp.path() + "/sagas";
  options.checkpoint_interval_records = 64;
  options.on_finished = [&](const SagaInfo&) { finished.fetch_add(1); };
  auto opened = Orchestrator::Open(options, definitions);
  REQUIRE_MESSAGE(opened.ok(), opened.status());
  Orchestrator& orchestrator = **opened;
  const int per_thread = static_cast<int>(keel::testing::TestRounds("KEEL_SAGA_DRIVER_SAGAS", 50));
  {
    Driver driver(orchestrator);
    std::vector<std::thread> starters;
    for (int t = 0; t < 2; ++t) {
      starters.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          const std::string id = base::Cat("t", t, "-", i);
          CHECK(orchestrator.Start(id, base::Cat("d", i % 2), "").ok());
        }
      });
    }
    for (std::thread& starter : starters) starter.join();
    CHECK(keel::testing::Eventually([&] { return finished.load() == 2 * per_thread; },
                                    std::chrono::seconds(60)));
    driver.Stop();
    CHECK(driver.status().ok());
  }
  std::set<std::string> expected_effects;
  for (int t = 0; t < 2; ++t) {
    for (int i = 0; i < per_thread; ++i) {
      const std::string id = base::Cat("t", t, "-", i);
      const testing::Expected expected =
          testing::Reference(definitions[static_cast<size_t>(i % 2)], id, participants.world());
      const absl::Status status = testing::CheckAgainst(orchestrator, id, expected);
      CHECK_MESSAGE(status.ok(), status);
      expected_effects.insert(expected.effects.begin(), expected.effects.end());
    }
  }
  CHECK(participants.effects() == expected_effects);
  CHECK(orchestrator.stats().live == orchestrator.stats().stuck);
}

TEST_CASE("A driver stops promptly with nothing to do") {
  auto opened = Orchestrator::Open(OrchestratorOptions{}, {});
  REQUIRE(opened.ok());
  const auto start = std::chrono::steady_clock::now();
  {
    Driver driver(**opened);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

}  // namespace
}  // namespace keel::saga
