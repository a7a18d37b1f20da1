// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "saga/saga_testing.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "keel/base/assert.h"
#include "keel/base/hash.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::saga::testing {
namespace {

// A step's timeout in these tests; answers come within half of it.
constexpr int64_t kTimeoutNs = 50 * base::kNanosPerMilli;

// The counterpart key: an action's compensation, or a compensation's action.
std::string Counterpart(std::string_view key) {
  std::string other(key);
  other.back() = other.back() == 'a' ? 'c' : 'a';
  return other;
}

}  // namespace

Behaviour BehaviourOf(uint64_t seed, std::string_view key, uint32_t attempt, const Mix& mix) {
  base::Random random(seed ^ base::Hash64(key), attempt);
  double x = random.UniformDouble();
  if ((x -= mix.fail) < 0) return Behaviour::kFail;
  if ((x -= mix.non_retryable) < 0) return Behaviour::kNonRetryable;
  if ((x -= mix.lost) < 0) return Behaviour::kLost;
  if ((x -= mix.applied_lost) < 0) return Behaviour::kAppliedLost;
  return Behaviour::kOk;
}

std::string OutputOf(std::string_view key) { return base::Cat("out:", key); }

void World::Handle(const StepContext& context, const Completion& done, Network& network,
                   base::Random& delays) {
  ++invocations;
  const std::string key(context.idempotency_key);
  if (context.phase == Phase::kAction && effects.contains(Counterpart(key))) {
    violations.push_back(base::Cat("action ", key, " after its compensation"));
  }
  const Behaviour behaviour = BehaviourOf(seed_, key, context.attempt, mix(context.phase));
  const int64_t now = network.clock().NowNanos();
  const int64_t on_time = now + delays.UniformInRange(0, (context.deadline_ns - now) / 2);
  const int64_t late = context.deadline_ns + delays.UniformInRange(1, kTimeoutNs);
  const StepResult success =
      StepResult::Success(context.phase == Phase::kAction ? OutputOf(key) : std::string());
  const bool applied = effects.contains(key);
  const auto apply = [&] {
    if (!applied && on_effect) on_effect(key);
    effects.insert(key);
  };
  switch (behaviour) {
    case Behaviour::kLost:
      return;
    case Behaviour::kAppliedLost:
      apply();
      network.Send(late, done, success);  // too late: must be ignored
      return;
    case Behaviour::kOk:
      apply();
      network.Send(on_time, done, success);
      return;
    case Behaviour::kFail:
      network.Send(on_time, done, applied ? success : StepResult::Failure(kBusy, "try later"));
      return;
    case Behaviour::kNonRetryable:
      network.Send(on_time, done,
                   applied ? success : StepResult::NonRetryableFailure(kDeclined, "no"));
      return;
  }
}

void Network::Send(int64_t at_ns, Completion done, StepResult result) {
  pending_.emplace(std::make_pair(at_ns, sent_++), Message{std::move(done), std::move(result)});
}

std::optional<int64_t> Network::Next() const {
  if (pending_.empty()) return std::nullopt;
  return pending_.begin()->first.first;
}

void Network::DeliverDue() {
  const int64_t now = clock_.NowNanos();
  while (!pending_.empty() && pending_.begin()->first.first <= now) {
    Message message = std::move(pending_.begin()->second);
    pending_.erase(pending_.begin());
    message.done.Done(std::move(message.result));
  }
}

namespace {

enum class Try { kSucceeded, kGaveUp };

// One step's action or compensation, attempt after attempt, as the semantics say.
Try Attempts(const World& world, const std::string& key, Phase phase, const RetryPolicy& policy,
             std::set<std::string>& effects, bool& maybe_applied) {
  for (uint32_t attempt = 1;; ++attempt) {
    KEEL_ASSERT(attempt < 100'000, "the reference retries ", key, " for ever");
    const bool applied = effects.contains(key);
    bool final = !policy.AllowsAttempt(attempt);
    switch (BehaviourOf(world.seed(), key, attempt, world.mix(phase))) {
      case Behaviour::kOk:
        effects.insert(key);
        return Try::kSucceeded;
      case Behaviour::kFail:
        if (applied) return Try::kSucceeded;
        final = final || !policy.IsRetryable(kBusy);
        break;
      case Behaviour::kNonRetryable:
        if (applied) return Try::kSucceeded;
        return Try::kGaveUp;
      case Behaviour::kAppliedLost:
        effects.insert(key);
        maybe_applied = true;
        break;
      case Behaviour::kLost:
        maybe_applied = true;
        break;
    }
    if (final) return Try::kGaveUp;
  }
}

}  // namespace

Expected Reference(const SagaDefinition& definition, std::string_view saga_id, const World& world) {
  const size_t n = definition.steps.size();
  Expected expected;
  expected.maybe_applied.assign(n, false);
  expected.compensated.assign(n, false);
  expected.outputs.assign(n, "");
  bool pivot_passed = false;
  for (size_t i = 0; i < n; ++i) {
    const Step& step = definition.steps[i];
    const std::string key = IdempotencyKey(saga_id, static_cast<uint32_t>(i), Phase::kAction);
    bool maybe = false;
    const Try result = Attempts(world, key, Phase::kAction, step.retry, expected.effects, maybe);
    if (maybe) expected.maybe_applied[i] = true;
    if (result == Try::kSucceeded) {
      expected.maybe_applied[i] = true;
      expected.outputs[i] = OutputOf(key);
      pivot_passed = pivot_passed || step.pivot;
      continue;
    }
    if (pivot_passed) {
      expected.outcome = Outcome::kStuck;
      return expected;
    }
    for (size_t j = i + 1; j-- > 0;) {
      const Step& undo = definition.steps[j];
      if (!expected.maybe_applied[j] || !undo.compensation) continue;
      const std::string undo_key =
          IdempotencyKey(saga_id, static_cast<uint32_t>(j), Phase::kCompensation);
      bool ignored = false;
      if (Attempts(world, undo_key, Phase::kCompensation, undo.compensation_retry, expected.effects,
                   ignored) == Try::kGaveUp) {
        expected.outcome = Outcome::kStuck;
        return expected;
      }
      expected.compensated[j] = true;
    }
    expected.outcome = Outcome::kCompensated;
    return expected;
  }
  expected.outcome = Outcome::kCompleted;
  return expected;
}

std::vector<SagaDefinition> RandomDefinitions(uint64_t seed, size_t count, World& world,
                                              Network& network, base::Random& delays) {
  base::Random random(seed, /*stream=*/7);
  const StepFunction participant = [&world, &network, &delays](const StepContext& context,
                                                               Completion done) {
    world.Handle(context, done, network, delays);
  };
  std::vector<SagaDefinition> definitions;
  for (size_t d = 0; d < count; ++d) {
    SagaDefinition definition;
    definition.name = base::Cat("d", d);
    const size_t steps = 1 + random.Uniform(5);
    std::optional<size_t> pivot;
    if (random.Bernoulli(0.6)) pivot = random.Uniform(steps);
    for (size_t i = 0; i < steps; ++i) {
      Step step;
      step.name = base::Cat("s", i);
      step.action = participant;
      step.timeout_ns = kTimeoutNs;
      step.retry.initial_interval_ns =
          1 + static_cast<int64_t>(random.Uniform(5)) * base::kNanosPerMilli;
      step.retry.jitter = random.Bernoulli(0.5) ? 0.5 : 0.0;
      step.compensation_retry.initial_interval_ns = base::kNanosPerMilli;
      step.compensation_retry.maximum_interval_ns = 10 * base::kNanosPerMilli;
      const bool after_pivot = pivot.has_value() && i > *pivot;
      if (!after_pivot) {
        step.retry.maximum_attempts = 1 + static_cast<uint32_t>(random.Uniform(4));
        if (random.Bernoulli(0.2)) step.retry.non_retryable_error_types = {kBusy};
        if (random.Bernoulli(0.8)) step.compensation = participant;
        // A compensation that gives up leaves the saga stuck: sometimes limit it.
        if (random.Bernoulli(0.2)) step.compensation_retry.maximum_attempts = 3;
      }
      step.pivot = pivot == i;
      definition.steps.push_back(std::move(step));
    }
    definitions.push_back(std::move(definition));
  }
  return definitions;
}

absl::Status RunUntil(Orchestrator& orchestrator, Network& network, int64_t until_ns,
                      uint64_t max_rounds) {
  base::ManualClock& clock = network.clock();
  for (uint64_t round = 0; round < max_rounds; ++round) {
    network.DeliverDue();
    KEEL_RETURN_IF_ERROR(orchestrator.Poll().status());
    std::optional<int64_t> next = network.Next();
    if (const std::optional<int64_t> timer = orchestrator.NextDeadlineNs(); timer.has_value()) {
      next = next.has_value() ? std::min(*next, *timer) : *timer;
    }
    if (!next.has_value() || *next > until_ns) {
      if (until_ns != std::numeric_limits<int64_t>::max() && until_ns > clock.NowNanos()) {
        clock.Set(until_ns);
      }
      return absl::OkStatus();
    }
    if (*next > clock.NowNanos()) clock.Set(*next);
  }
  return absl::DeadlineExceededError(
      base::Cat("sagas still running after ", max_rounds, " rounds"));
}

absl::Status Drive(Orchestrator& orchestrator, Network& network, uint64_t max_rounds) {
  return RunUntil(orchestrator, network, std::numeric_limits<int64_t>::max(), max_rounds);
}

absl::Status CheckAgainst(const Orchestrator& orchestrator, std::string_view id,
                          const Expected& expected) {
  KEEL_ASSIGN_OR_RETURN(SagaInfo info, orchestrator.Inspect(id));
  if (info.outcome != expected.outcome || info.maybe_applied != expected.maybe_applied ||
      info.compensated != expected.compensated ||
      (expected.outcome == Outcome::kCompleted && info.outputs != expected.outputs)) {
    std::string want;
    for (size_t i = 0; i < expected.maybe_applied.size(); ++i) {
      want += base::Cat(expected.maybe_applied[i] ? "A" : "-", expected.compensated[i] ? "C" : "-",
                        " ");
    }
    return absl::InternalError(base::Cat("saga ", id, " is ", Summary(info), "; the oracle says ",
                                         OutcomeName(expected.outcome), " ", want));
  }
  return absl::OkStatus();
}

std::string Summary(const SagaInfo& info) {
  std::string out = base::Cat(info.id, " ", OutcomeName(info.outcome), info.dismissed ? "/d" : "",
                              " step ", info.step, info.compensating ? " comp" : " act",
                              " attempt ", info.attempt, info.pivot_passed ? " pivot" : "", " [");
  for (size_t i = 0; i < info.maybe_applied.size(); ++i) {
    out += base::Cat(info.maybe_applied[i] ? "A" : "-", info.compensated[i] ? "C" : "-",
                     info.outputs[i].empty() ? "" : "o", " ");
  }
  return out + "]";
}

}  // namespace keel::saga::testing
