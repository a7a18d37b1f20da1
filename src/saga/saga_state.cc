// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "saga_state.h"

#include <utility>

#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::saga::internal {

DefinitionShape DefinitionShape::Of(const SagaDefinition& definition) {
  DefinitionShape shape;
  shape.steps = static_cast<uint32_t>(definition.steps.size());
  for (uint32_t i = 0; i < shape.steps; ++i) {
    const Step& step = definition.steps[i];
    if (step.pivot) shape.pivot = i;
    shape.has_compensation.push_back(static_cast<bool>(step.compensation));
  }
  return shape;
}

SagaState SagaState::Create(const Record& started, uint32_t history_length) {
  SagaState saga;
  saga.seq = started.seq;
  saga.id = started.id;
  saga.definition = started.definition;
  saga.input = started.input;
  saga.steps = started.steps;
  saga.step_flags.assign(started.steps, 0);
  saga.outputs.resize(started.steps);
  saga.history.reserve(history_length);
  saga.PushHistory({.time_ns = started.time_ns, .event = Event::kStarted}, history_length);
  return saga;
}

void SagaState::PushHistory(const Transition& transition, uint32_t history_length) {
  if (history.size() < history_length) {
    history.push_back(transition);
    return;
  }
  history[history_next] = transition;
  history_next = (history_next + 1) % history_length;
}

void SagaState::CompensateFrom(int64_t from, const DefinitionShape& shape) {
  compensating = true;
  for (int64_t i = from; i >= 0; --i) {
    const auto index = static_cast<uint32_t>(i);
    if ((step_flags[index] & kStepMaybeApplied) != 0 && shape.has_compensation[index]) {
      step = index;
      attempt = 1;
      return;
    }
  }
  outcome = Outcome::kCompensated;
}

absl::Status SagaState::Apply(const internal::Record& record, const DefinitionShape& shape,
                              uint32_t history_length) {
  if (record.kind == RecordKind::kDismissed) {
    if (outcome != Outcome::kStuck || dismissed) {
      return absl::DataLossError(base::Cat("saga ", base::Quoted(id), " is dismissed while ",
                                           OutcomeName(outcome), dismissed ? " (dismissed)" : ""));
    }
    dismissed = true;
    PushHistory({.time_ns = record.time_ns,
                 .event = Event::kDismissed,
                 .step = step,
                 .phase = phase(),
                 .attempt = attempt},
                history_length);
    return absl::OkStatus();
  }
  if (!running() || record.step != step || record.phase != phase() || record.attempt != attempt) {
    return absl::DataLossError(base::Cat(
        "saga ", base::Quoted(id), " gets a record for step ", record.step, " ",
        PhaseName(record.phase), " attempt ", record.attempt, " while it is ", OutcomeName(outcome),
        " at step ", step, " ", PhaseName(phase()), " attempt ", attempt));
  }
  Transition transition{
      .time_ns = record.time_ns, .step = step, .phase = phase(), .attempt = attempt};
  if (record.kind == RecordKind::kSucceeded) {
    transition.event = Event::kSucceeded;
    PushHistory(transition, history_length);
    if (compensating) {
      step_flags[step] |= kStepCompensated;
      CompensateFrom(static_cast<int64_t>(step) - 1, shape);
      return absl::OkStatus();
    }
    step_flags[step] |= kStepMaybeApplied;
    outputs[step] = record.output;
    if (shape.pivot == step) pivot_passed = true;
    if (step + 1 == steps) {
      outcome = Outcome::kCompleted;
    } else {
      ++step;
      attempt = 1;
    }
    return absl::OkStatus();
  }
  KEEL_ASSERT(record.kind == RecordKind::kFailed);
  transition.event = record.final ? Event::kGaveUp : Event::kRetrying;
  transition.timed_out = record.timed_out;
  PushHistory(transition, history_length);
  last_error = StepError{.step = step,
                         .phase = phase(),
                         .attempt = attempt,
                         .timed_out = record.timed_out,
                         .type = record.error_type,
                         .message = record.message};
  // An attempt that timed out may have been done: the step's compensation must run.
  if (record.timed_out && !compensating) step_flags[step] |= kStepMaybeApplied;
  if (!record.final) {
    if (attempt == UINT32_MAX) {
      return absl::DataLossError(
          base::Cat("saga ", base::Quoted(id), " retries past attempt ", attempt));
    }
    ++attempt;
    return absl::OkStatus();
  }
  if (compensating || pivot_passed) {
    outcome = Outcome::kStuck;
    return absl::OkStatus();
  }
  CompensateFrom(step, shape);
  return absl::OkStatus();
}

SagaInfo SagaState::ToInfo() const {
  SagaInfo info;
  info.id = id;
  info.definition = definition;
  info.outcome = outcome;
  info.dismissed = dismissed;
  info.compensating = compensating;
  info.pivot_passed = pivot_passed;
  info.step = step;
  info.attempt = attempt;
  for (uint8_t flags : step_flags) {
    info.maybe_applied.push_back((flags & kStepMaybeApplied) != 0);
    info.compensated.push_back((flags & kStepCompensated) != 0);
  }
  info.outputs = outputs;
  info.last_error = last_error;
  info.history.reserve(history.size());
  for (size_t i = 0; i < history.size(); ++i) {
    info.history.push_back(history[(history_next + i) % history.size()]);
  }
  return info;
}

// ---------------------------------------------------------------------------------------------
// The checkpoint's encoding.
// ---------------------------------------------------------------------------------------------
namespace {

constexpr uint8_t kSagaDismissed = 1;
constexpr uint8_t kSagaCompensating = 2;
constexpr uint8_t kSagaPivotPassed = 4;

void EncodeTransition(const Transition& transition, std::string& out) {
  base::PutVarint64(out, base::ZigZagEncode64(transition.time_ns));
  out.push_back(static_cast<char>(transition.event));
  base::PutVarint32(out, transition.step);
  out.push_back(static_cast<char>(transition.phase));
  base::PutVarint32(out, transition.attempt);
  out.push_back(static_cast<char>(transition.timed_out ? 1 : 0));
}

absl::StatusOr<Phase> ReadPhase(base::Reader& in) {
  KEEL_ASSIGN_OR_RETURN(uint8_t phase, in.ReadByte());
  if (phase > 1) return absl::DataLossError(base::Cat("bad phase ", phase));
  return static_cast<Phase>(phase);
}

absl::StatusOr<bool> ReadBool(base::Reader& in) {
  KEEL_ASSIGN_OR_RETURN(uint8_t value, in.ReadByte());
  if (value > 1) return absl::DataLossError(base::Cat("bad boolean ", value));
  return value == 1;
}

absl::StatusOr<std::string> ReadString(base::Reader& in) {
  KEEL_ASSIGN_OR_RETURN(std::string_view bytes, in.ReadLengthPrefixed());
  return std::string(bytes);
}

absl::StatusOr<Transition> DecodeTransition(base::Reader& in) {
  Transition transition;
  KEEL_ASSIGN_OR_RETURN(uint64_t time, in.ReadVarint64());
  transition.time_ns = base::ZigZagDecode64(time);
  KEEL_ASSIGN_OR_RETURN(uint8_t event, in.ReadByte());
  if (event > static_cast<uint8_t>(Event::kDismissed)) {
    return absl::DataLossError(base::Cat("bad history event ", event));
  }
  transition.event = static_cast<Event>(event);
  KEEL_ASSIGN_OR_RETURN(transition.step, in.ReadVarint32());
  KEEL_ASSIGN_OR_RETURN(transition.phase, ReadPhase(in));
  KEEL_ASSIGN_OR_RETURN(transition.attempt, in.ReadVarint32());
  KEEL_ASSIGN_OR_RETURN(transition.timed_out, ReadBool(in));
  return transition;
}

absl::Status DecodeError(base::Reader& in, SagaState& saga) {
  KEEL_ASSIGN_OR_RETURN(bool has_error, ReadBool(in));
  if (!has_error) return absl::OkStatus();
  StepError error;
  KEEL_ASSIGN_OR_RETURN(error.step, in.ReadVarint32());
  KEEL_ASSIGN_OR_RETURN(error.phase, ReadPhase(in));
  KEEL_ASSIGN_OR_RETURN(error.attempt, in.ReadVarint32());
  KEEL_ASSIGN_OR_RETURN(error.timed_out, ReadBool(in));
  KEEL_ASSIGN_OR_RETURN(error.type, ReadString(in));
  KEEL_ASSIGN_OR_RETURN(error.message, ReadString(in));
  saga.last_error = std::move(error);
  return absl::OkStatus();
}

// What a saga's fields must satisfy for Apply to work on it.
absl::Status CheckConsistent(const SagaState& saga) {
  if (saga.steps == 0 || saga.step >= saga.steps || saga.attempt == 0 ||
      saga.step_flags.size() != saga.steps || saga.outputs.size() != saga.steps ||
      (saga.dismissed && saga.outcome != Outcome::kStuck)) {
    return absl::DataLossError(base::Cat("saga ", base::Quoted(saga.id), " is inconsistent: step ",
                                         saga.step, " of ", saga.steps, ", attempt ",
                                         saga.attempt));
  }
  return absl::OkStatus();
}

}  // namespace

void EncodeSaga(const SagaState& saga, std::string& out) {
  base::PutVarint64(out, saga.seq);
  base::PutLengthPrefixed(out, saga.id);
  base::PutLengthPrefixed(out, saga.definition);
  base::PutLengthPrefixed(out, saga.input);
  base::PutVarint32(out, saga.steps);
  out.push_back(static_cast<char>(saga.outcome));
  out.push_back(static_cast<char>((saga.dismissed ? kSagaDismissed : 0) |
                                  (saga.compensating ? kSagaCompensating : 0) |
                                  (saga.pivot_passed ? kSagaPivotPassed : 0)));
  base::PutVarint32(out, saga.step);
  base::PutVarint32(out, saga.attempt);
  for (uint32_t i = 0; i < saga.steps; ++i) {
    out.push_back(static_cast<char>(saga.step_flags[i]));
    base::PutLengthPrefixed(out, saga.outputs[i]);
  }
  out.push_back(static_cast<char>(saga.last_error.has_value() ? 1 : 0));
  if (saga.last_error.has_value()) {
    const StepError& error = *saga.last_error;
    base::PutVarint32(out, error.step);
    out.push_back(static_cast<char>(error.phase));
    base::PutVarint32(out, error.attempt);
    out.push_back(static_cast<char>(error.timed_out ? 1 : 0));
    base::PutLengthPrefixed(out, error.type);
    base::PutLengthPrefixed(out, error.message);
  }
  base::PutVarint32(out, static_cast<uint32_t>(saga.history.size()));
  for (size_t i = 0; i < saga.history.size(); ++i) {
    EncodeTransition(saga.history[(saga.history_next + i) % saga.history.size()], out);
  }
}

absl::StatusOr<SagaState> DecodeSaga(base::Reader& in, uint32_t history_length) {
  SagaState saga;
  KEEL_ASSIGN_OR_RETURN(saga.seq, in.ReadVarint64());
  KEEL_ASSIGN_OR_RETURN(saga.id, ReadString(in));
  KEEL_ASSIGN_OR_RETURN(saga.definition, ReadString(in));
  KEEL_ASSIGN_OR_RETURN(saga.input, ReadString(in));
  KEEL_ASSIGN_OR_RETURN(saga.steps, in.ReadVarint32());
  KEEL_ASSIGN_OR_RETURN(uint8_t outcome, in.ReadByte());
  if (outcome > static_cast<uint8_t>(Outcome::kStuck)) {
    return absl::DataLossError(base::Cat("bad saga outcome ", outcome));
  }
  saga.outcome = static_cast<Outcome>(outcome);
  KEEL_ASSIGN_OR_RETURN(uint8_t flags, in.ReadByte());
  if ((flags & ~(kSagaDismissed | kSagaCompensating | kSagaPivotPassed)) != 0) {
    return absl::DataLossError(base::Cat("bad saga flags ", flags));
  }
  saga.dismissed = (flags & kSagaDismissed) != 0;
  saga.compensating = (flags & kSagaCompensating) != 0;
  saga.pivot_passed = (flags & kSagaPivotPassed) != 0;
  KEEL_ASSIGN_OR_RETURN(saga.step, in.ReadVarint32());
  KEEL_ASSIGN_OR_RETURN(saga.attempt, in.ReadVarint32());
  // Each step takes at least two bytes: a count beyond what is left is damage, not an allocation.
  if (saga.steps > in.remaining() / 2) {
    return absl::DataLossError(base::Cat("saga ", base::Quoted(saga.id), " claims ", saga.steps,
                                         " steps in ", in.remaining(), " bytes"));
  }
  for (uint32_t i = 0; i < saga.steps; ++i) {
    KEEL_ASSIGN_OR_RETURN(uint8_t step_flags, in.ReadByte());
    if ((step_flags & ~(kStepMaybeApplied | kStepCompensated)) != 0) {
      return absl::DataLossError(base::Cat("bad step flags ", step_flags));
    }
    saga.step_flags.push_back(step_flags);
    KEEL_ASSIGN_OR_RETURN(std::string output, ReadString(in));
    saga.outputs.push_back(std::move(output));
  }
  KEEL_RETURN_IF_ERROR(DecodeError(in, saga));
  KEEL_ASSIGN_OR_RETURN(uint32_t history_size, in.ReadVarint32());
  if (history_size > in.remaining() / 6) {
    return absl::DataLossError(base::Cat("saga ", base::Quoted(saga.id), " claims ", history_size,
                                         " transitions in ", in.remaining(), " bytes"));
  }
  saga.history.reserve(history_length);
  for (uint32_t i = 0; i < history_size; ++i) {
    KEEL_ASSIGN_OR_RETURN(Transition transition, DecodeTransition(in));
    // A shorter history_length than when it was written keeps the newest.
    saga.PushHistory(transition, history_length);
  }
  KEEL_RETURN_IF_ERROR(CheckConsistent(saga));
  return saga;
}

}  // namespace keel::saga::internal
