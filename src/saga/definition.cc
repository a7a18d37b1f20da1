// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/saga/definition.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "inbox.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::saga {

std::string_view PhaseName(Phase phase) {
  return phase == Phase::kAction ? "action" : "compensation";
}

std::string IdempotencyKey(std::string_view saga_id, uint32_t step, Phase phase) {
  std::string key;
  internal::AppendIdempotencyKey(key, saga_id, step, phase);
  return key;
}

namespace internal {

void AppendIdempotencyKey(std::string& out, std::string_view saga_id, uint32_t step, Phase phase) {
  out.append(saga_id);
  out.push_back(':');
  absl::StrAppend(&out, step);
  out.append(phase == Phase::kAction ? ":a" : ":c");
}

}  // namespace internal

StepResult StepResult::Success(std::string output) {
  StepResult result;
  result.output = std::move(output);
  return result;
}

StepResult StepResult::Failure(std::string error_type, std::string message) {
  StepResult result;
  result.ok = false;
  result.error_type = std::move(error_type);
  result.message = std::move(message);
  return result;
}

StepResult StepResult::NonRetryableFailure(std::string error_type, std::string message) {
  StepResult result = Failure(std::move(error_type), std::move(message));
  result.non_retryable = true;
  return result;
}

void Completion::Done(StepResult result) const {
  if (inbox_ != nullptr) inbox_->Push(slot_, token_, std::move(result));
}

namespace {

absl::Status StepError(const SagaDefinition& definition, size_t index, std::string_view problem) {
  return absl::InvalidArgumentError(
      base::Cat("saga definition ", base::Quoted(definition.name), " step ", index, " (",
                base::Quoted(definition.steps[index].name), ") ", problem));
}

absl::Status PolicyError(const SagaDefinition& definition, size_t index, std::string_view which,
                         const absl::Status& status) {
  return StepError(definition, index, base::Cat(which, ": ", status.message()));
}

}  // namespace

absl::Status SagaDefinition::Validate(const DefinitionLimits& limits) const {
  if (name.empty() || name.size() > limits.max_name_bytes) {
    return absl::InvalidArgumentError(base::Cat("saga definition name ", base::Quoted(name),
                                                " is empty or longer than ", limits.max_name_bytes,
                                                " bytes"));
  }
  if (steps.empty() || steps.size() > limits.max_steps) {
    return absl::InvalidArgumentError(base::Cat("saga definition ", base::Quoted(name), " has ",
                                                steps.size(), " steps: it needs 1 to ",
                                                limits.max_steps));
  }
  std::optional<size_t> pivot;
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& step = steps[i];
    if (step.name.empty() || step.name.size() > limits.max_name_bytes) {
      return StepError(
          *this, i,
          base::Cat("has an empty name or one longer than ", limits.max_name_bytes, " bytes"));
    }
    if (!step.action) return StepError(*this, i, "has no action");
    if (step.timeout_ns <= 0) {
      return StepError(*this, i, base::Cat("has timeout_ns ", step.timeout_ns, ": it must be > 0"));
    }
    if (absl::Status status = step.retry.Validate(); !status.ok()) {
      return PolicyError(*this, i, "retry", status);
    }
    if (absl::Status status = step.compensation_retry.Validate(); !status.ok()) {
      return PolicyError(*this, i, "compensation_retry", status);
    }
    if (pivot.has_value()) {
      if (step.compensation) {
        return StepError(*this, i,
                         base::Cat("comes after the pivot (step ", *pivot,
                                   ") and has a compensation, which would never run"));
      }
      if (step.retry.maximum_attempts != 0) {
        return StepError(*this, i,
                         base::Cat("comes after the pivot (step ", *pivot, ") and has retry ",
                                   "maximum_attempts ", step.retry.maximum_attempts,
                                   ": steps after the pivot are retried until they succeed (0)"));
      }
    }
    if (step.pivot) {
      if (pivot.has_value()) {
        return StepError(*this, i, base::Cat("is a second pivot (the first is step ", *pivot, ")"));
      }
      pivot = i;
    }
  }
  return absl::OkStatus();
}

}  // namespace keel::saga
