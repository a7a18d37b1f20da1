// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/mq/errors.h"

#include <optional>
#include <string>

#include "absl/strings/cord.h"

namespace keel::mq {
namespace {

// The payload's key, in the type-URL form absl::Status payloads use.
constexpr char kPayloadUrl[] = "type.keel.dev/keel.mq.Error";

constexpr Error kErrors[] = {Error::kNotEnoughReplicas, Error::kNotEnoughReplicasAfterAppend,
                             Error::kProducerFenced, Error::kOutOfOrderSequence,
                             Error::kDuplicateSequence};

}  // namespace

std::string_view ErrorName(Error error) {
  switch (error) {
    case Error::kNone:
      return "NONE";
    case Error::kNotEnoughReplicas:
      return "NOT_ENOUGH_REPLICAS";
    case Error::kNotEnoughReplicasAfterAppend:
      return "NOT_ENOUGH_REPLICAS_AFTER_APPEND";
    case Error::kProducerFenced:
      return "PRODUCER_FENCED";
    case Error::kOutOfOrderSequence:
      return "OUT_OF_ORDER_SEQUENCE_NUMBER";
    case Error::kDuplicateSequence:
      return "DUPLICATE_SEQUENCE_NUMBER";
  }
  return "UNKNOWN";
}

Error ErrorOf(const absl::Status& status) {
  if (status.ok()) return Error::kNone;
  const auto payload = status.GetPayload(kPayloadUrl);
  if (!payload) return Error::kNone;
  const std::string name(*payload);
  for (const Error e : kErrors) {
    if (ErrorName(e) == name) return e;
  }
  return Error::kNone;
}

absl::Status MakeError(absl::StatusCode code, Error error, std::string_view message) {
  absl::Status status(code, absl::string_view(message.data(), message.size()));
  const std::string_view name = ErrorName(error);
  status.SetPayload(kPayloadUrl, absl::Cord(absl::string_view(name.data(), name.size())));
  return status;
}

}  // namespace keel::mq
