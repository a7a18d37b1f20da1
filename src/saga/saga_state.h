// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// SagaState: what the log says about one saga, and the rules that move it. The same Apply runs
// when a transition is decided (after its record is durable) and when Open replays the log, so a
// recovered saga is in exactly the state the live one was. Apply checks that a record fits the
// state it is applied to (the step, phase and attempt it names are the ones under way) and
// returns kDataLoss if not: a live orchestrator never produces such a record, so on replay it
// means the log is not this orchestrator's or was tampered with.
//
// Also the checkpoint's encoding of a saga (docs/saga.md, "Checkpoint").
//
// Internal to keel/saga.
#ifndef KEEL_SRC_SAGA_SAGA_STATE_H_
#define KEEL_SRC_SAGA_SAGA_STATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/base/coding.h"
#include "keel/saga/definition.h"
#include "keel/saga/orchestrator.h"
#include "record.h"

namespace keel::saga::internal {

// What Apply needs of a definition.
struct DefinitionShape {
  uint32_t steps = 0;
  std::optional<uint32_t> pivot;
  std::vector<bool> has_compensation;

  static DefinitionShape Of(const SagaDefinition& definition);
};

// Per-step flags.
inline constexpr uint8_t kStepMaybeApplied = 1;
inline constexpr uint8_t kStepCompensated = 2;

struct SagaState {
  uint64_t seq = 0;
  std::string id;
  std::string definition;
  std::string input;
  uint32_t steps = 0;
  Outcome outcome = Outcome::kRunning;
  bool dismissed = false;
  bool compensating = false;
  bool pivot_passed = false;
  uint32_t step = 0;     // the step under way (or that ended the saga)
  uint32_t attempt = 1;  // its attempt under way
  std::vector<uint8_t> step_flags;
  std::vector<std::string> outputs;
  std::optional<StepError> last_error;
  std::vector<Transition> history;  // a ring of at most history_length, oldest at history_next
  uint32_t history_next = 0;

  // A new saga, from its kStarted record.
  static SagaState Create(const Record& started, uint32_t history_length);

  // Moves the saga by `record` (kFailed, kSucceeded or kDismissed). Errors: kDataLoss when the
  // record does not fit the saga's state.
  [[nodiscard]] absl::Status Apply(const Record& record, const DefinitionShape& shape,
                                   uint32_t history_length);

  [[nodiscard]] Phase phase() const { return compensating ? Phase::kCompensation : Phase::kAction; }
  // Running: a step is due or under way.
  [[nodiscard]] bool running() const { return outcome == Outcome::kRunning; }
  // Done with for good: completed, compensated, or stuck and dismissed.
  [[nodiscard]] bool finished() const {
    return outcome == Outcome::kCompleted || outcome == Outcome::kCompensated || dismissed;
  }

  [[nodiscard]] SagaInfo ToInfo() const;

  // Adds to the history ring, dropping the oldest when it holds history_length.
  void PushHistory(const Transition& transition, uint32_t history_length);

 private:
  // Moves to the next step to compensate at or before `from` (inclusive), or ends compensated.
  void CompensateFrom(int64_t from, const DefinitionShape& shape);
};

// The checkpoint's encoding of a saga.
void EncodeSaga(const SagaState& saga, std::string& out);
// Errors: kDataLoss for bytes that are not a consistent saga.
[[nodiscard]] absl::StatusOr<SagaState> DecodeSaga(base::Reader& in, uint32_t history_length);

}  // namespace keel::saga::internal

#endif  // KEEL_SRC_SAGA_SAGA_STATE_H_
