// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What the saga tests share. Not installed.
//
//   World         the participants: each invocation's behaviour is a pure function of the seed,
//                 its idempotency key and its attempt (answers, fails, fails for good, is lost,
//                 or is done but its answer lost), and like real deduplicating participants they
//                 remember what they did under each key and answer a repeat with success.
//   Network       answers on their way back, delivered at chosen times on a ManualClock; lost
//                 answers never arrive and "done but lost" ones arrive after the timeout.
//   Reference     the oracle: a plain sequential interpreter of the saga semantics that asks the
//                 same behaviour table, with no timers, logs or slots.
//   Drive         polls and moves the clock from event to event until nothing is pending.
#ifndef KEEL_TESTS_SAGA_SAGA_TESTING_H_
#define KEEL_TESTS_SAGA_SAGA_TESTING_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/saga/definition.h"
#include "keel/saga/orchestrator.h"

namespace keel::saga::testing {

enum class Behaviour : uint8_t { kOk, kFail, kNonRetryable, kLost, kAppliedLost };

// Chances of each behaviour but kOk, which takes the rest.
struct Mix {
  double fail = 0.2;
  double non_retryable = 0.05;
  double lost = 0.1;
  double applied_lost = 0.05;
};

// The error types participants fail with.
inline constexpr char kBusy[] = "Busy";
inline constexpr char kDeclined[] = "Declined";

[[nodiscard]] Behaviour BehaviourOf(uint64_t seed, std::string_view key, uint32_t attempt,
                                    const Mix& mix);

// The output a participant returns for an action.
[[nodiscard]] std::string OutputOf(std::string_view key);

class Network;

class World {
 public:
  World(uint64_t seed, Mix actions, Mix compensations)
      : seed_(seed), actions_(actions), compensations_(compensations) {}

  // A participant's handling of one invocation: its effect now, its answer through `network`.
  void Handle(const StepContext& context, const Completion& done, Network& network,
              base::Random& delays);

  uint64_t seed() const { return seed_; }
  const Mix& mix(Phase phase) const { return phase == Phase::kAction ? actions_ : compensations_; }

  // Keys whose effect was applied (each at most once: the participants deduplicate).
  std::set<std::string> effects;
  // Broken promises seen by participants (an action after its compensation).
  std::vector<std::string> violations;
  // Invocations seen.
  uint64_t invocations = 0;
  // Called with each key whose effect is applied, before the answer goes out.
  std::function<void(const std::string& key)> on_effect;

 private:
  uint64_t seed_;
  Mix actions_;
  Mix compensations_;
};

class Network {
 public:
  explicit Network(base::ManualClock& clock) : clock_(clock) {}
  void Send(int64_t at_ns, Completion done, StepResult result);
  [[nodiscard]] std::optional<int64_t> Next() const;
  void DeliverDue();
  void Clear() { pending_.clear(); }
  base::ManualClock& clock() { return clock_; }

 private:
  struct Message {
    Completion done;
    StepResult result;
  };
  base::ManualClock& clock_;
  std::multimap<std::pair<int64_t, uint64_t>, Message> pending_;
  uint64_t sent_ = 0;
};

// What the oracle says a saga ends as.
struct Expected {
  Outcome outcome = Outcome::kRunning;
  std::vector<bool> maybe_applied;
  std::vector<bool> compensated;
  std::vector<std::string> outputs;
  std::set<std::string> effects;
};

[[nodiscard]] Expected Reference(const SagaDefinition& definition, std::string_view saga_id,
                                 const World& world);

// Random definitions "d0", "d1", ... whose participants live in `world` and answer through
// `network`, with delays drawn from `delays`.
[[nodiscard]] std::vector<SagaDefinition> RandomDefinitions(uint64_t seed, size_t count,
                                                            World& world, Network& network,
                                                            base::Random& delays);

// One process's view of the participants: a ManualClock, a Network on it, and `count` random
// definitions (RandomDefinitions(seed, count)) whose participants live in `world`. Not movable:
// the definitions' callbacks point into it.
struct Sim {
  Sim(uint64_t seed, size_t count, World& world)
      : network(clock),
        delays(seed, /*stream=*/11),
        definitions(RandomDefinitions(seed, count, world, network, delays)) {}
  Sim(const Sim&) = delete;
  Sim& operator=(const Sim&) = delete;

  base::ManualClock clock{0};
  Network network;
  base::Random delays;
  std::vector<SagaDefinition> definitions;
};

// Polls and advances the clock from event (an answer's arrival, a timer) to event, in time
// order, until the next is after `until_ns`; then moves the clock to `until_ns`. An error after
// `max_rounds` rounds.
[[nodiscard]] absl::Status RunUntil(Orchestrator& orchestrator, Network& network, int64_t until_ns,
                                    uint64_t max_rounds = 1'000'000);

// RunUntil with no end: until no answer or timer is left.
[[nodiscard]] absl::Status Drive(Orchestrator& orchestrator, Network& network,
                                 uint64_t max_rounds = 1'000'000);

// An error unless the saga `id` ended as the oracle says.
[[nodiscard]] absl::Status CheckAgainst(const Orchestrator& orchestrator, std::string_view id,
                                        const Expected& expected);

// A one-line summary of a saga's state, for comparing recovered states.
[[nodiscard]] std::string Summary(const SagaInfo& info);

}  // namespace keel::saga::testing

#endif  // KEEL_TESTS_SAGA_SAGA_TESTING_H_
